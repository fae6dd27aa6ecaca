/*
 * minidump_format.h — the on-disk layout of minidump files.
 *
 * Minidumps are Microsoft's crash-dump container (MINIDUMP_* in
 * minidumpapiset.h) extended by Breakpad (Linux streams, ELF build-id
 * CodeView records, the old arm64 context) and Crashpad (annotations).
 * This header describes the bytes only: it is shared by the stackwalk
 * reader and by the symverify writer, so it depends on nothing but the C
 * standard headers and every structure's size is checked at compile time.
 *
 * All fields are little-endian.  Minidump structures are laid out with
 * 4-byte packing; wherever natural alignment would already give the same
 * offsets we leave the structure unpacked, and the few that genuinely
 * depend on 4-byte packing (MDRawModule, MDRawThreadName, the old arm64
 * context) are wrapped in pack(4).  Readers must never cast file bytes to
 * these types without first checking the size (and should memcpy, since a
 * stream's RVA need not be aligned).
 *
 * Variable-length lists ("count, then entries") are described by their
 * fixed header only; entries follow directly after it.  Some writers put 4
 * bytes of padding after the 32-bit count of the thread, module and memory
 * lists; a reader recognises that from the stream size
 * (4 + 4 + n * entry_size).
 */
#ifndef SYMKIT_MINIDUMP_FORMAT_H
#define SYMKIT_MINIDUMP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define MD_STATIC_SIZE(type, n) _Static_assert(sizeof(type) == (n), #type " must be " #n " bytes")
#define MD_STATIC_OFFSET(type, field, n) \
    _Static_assert(offsetof(type, field) == (n), #type "." #field " must be at offset " #n)

/* ---- file header and directory ---------------------------------------- */

#define MD_HEADER_SIGNATURE 0x504d444du /* "MDMP" read as little-endian u32 */
#define MD_HEADER_VERSION 0x0000a793u   /* low 16 bits of version; the high
                                           16 bits are implementation-specific */

typedef uint32_t MDRVA;   /* offset from the start of the file */
typedef uint64_t MDRVA64;

typedef struct MDLocationDescriptor {
    uint32_t data_size;
    MDRVA rva;
} MDLocationDescriptor;
MD_STATIC_SIZE(MDLocationDescriptor, 8);

typedef struct MDMemoryDescriptor {
    uint64_t start_of_memory_range;
    MDLocationDescriptor memory;
} MDMemoryDescriptor;
MD_STATIC_SIZE(MDMemoryDescriptor, 16);

typedef struct MDRawHeader {
    uint32_t signature;
    uint32_t version;
    uint32_t stream_count;
    MDRVA stream_directory_rva;
    uint32_t checksum;
    uint32_t time_date_stamp; /* time_t */
    uint64_t flags;           /* MINIDUMP_TYPE bits */
} MDRawHeader;
MD_STATIC_SIZE(MDRawHeader, 32);

typedef struct MDRawDirectory {
    uint32_t stream_type;
    MDLocationDescriptor location;
} MDRawDirectory;
MD_STATIC_SIZE(MDRawDirectory, 12);

/* Stream types: Microsoft's, then Breakpad's ("Gg"), Crashpad's ("CP") and
 * Mozilla's ("Mz") extensions. */
enum {
    MD_UNUSED_STREAM = 0,
    MD_RESERVED_STREAM_0 = 1,
    MD_RESERVED_STREAM_1 = 2,
    MD_THREAD_LIST_STREAM = 3,
    MD_MODULE_LIST_STREAM = 4,
    MD_MEMORY_LIST_STREAM = 5,
    MD_EXCEPTION_STREAM = 6,
    MD_SYSTEM_INFO_STREAM = 7,
    MD_THREAD_EX_LIST_STREAM = 8,
    MD_MEMORY_64_LIST_STREAM = 9,
    MD_COMMENT_STREAM_A = 10,
    MD_COMMENT_STREAM_W = 11,
    MD_HANDLE_DATA_STREAM = 12,
    MD_FUNCTION_TABLE_STREAM = 13,
    MD_UNLOADED_MODULE_LIST_STREAM = 14,
    MD_MISC_INFO_STREAM = 15,
    MD_MEMORY_INFO_LIST_STREAM = 16,
    MD_THREAD_INFO_LIST_STREAM = 17,
    MD_HANDLE_OPERATION_LIST_STREAM = 18,
    MD_TOKEN_STREAM = 19,
    MD_JAVASCRIPT_DATA_STREAM = 20,
    MD_SYSTEM_MEMORY_INFO_STREAM = 21,
    MD_PROCESS_VM_COUNTERS_STREAM = 22,
    MD_IPT_TRACE_STREAM = 23,
    MD_THREAD_NAME_LIST_STREAM = 24,
    MD_LAST_RESERVED_STREAM = 0x0000ffff,

    MD_BREAKPAD_INFO_STREAM = 0x47670001,
    MD_ASSERTION_INFO_STREAM = 0x47670002,
    MD_LINUX_CPU_INFO = 0x47670003,    /* /proc/cpuinfo text */
    MD_LINUX_PROC_STATUS = 0x47670004, /* /proc/self/status text */
    MD_LINUX_LSB_RELEASE = 0x47670005, /* /etc/lsb-release (or os-release) text */
    MD_LINUX_CMD_LINE = 0x47670006,    /* /proc/self/cmdline, NUL-separated */
    MD_LINUX_ENVIRON = 0x47670007,     /* /proc/self/environ, NUL-separated */
    MD_LINUX_AUXV = 0x47670008,        /* /proc/self/auxv, (type, value) words */
    MD_LINUX_MAPS = 0x47670009,        /* /proc/self/maps text */
    MD_LINUX_DSO_DEBUG = 0x4767000a,   /* MDRawDebug64 + MDRawLinkMap64[] */

    MD_CRASHPAD_INFO_STREAM = 0x43500001,

    MD_MOZ_MACOS_CRASH_INFO_STREAM = 0x4d7a0001,
    MD_MOZ_MACOS_BOOTARGS_STREAM = 0x4d7a0002,
    MD_MOZ_LINUX_LIMITS_STREAM = 0x4d7a0003,
    MD_MOZ_SOFT_ERRORS_STREAM = 0x4d7a0004,
};

/* A length-prefixed UTF-16LE string (module names, thread names, CSD
 * version).  length is in bytes and excludes the terminating NUL. */
typedef struct MDString {
    uint32_t length;
    /* uint16_t buffer[]; */
} MDString;
MD_STATIC_SIZE(MDString, 4);

/* ---- threads ---------------------------------------------------------- */

typedef struct MDRawThread {
    uint32_t thread_id;
    uint32_t suspend_count;
    uint32_t priority_class;
    uint32_t priority;
    uint64_t teb;                      /* thread environment block / TLS base */
    MDMemoryDescriptor stack;          /* the thread's captured stack */
    MDLocationDescriptor thread_context; /* an MDRawContext* for the CPU */
} MDRawThread;
MD_STATIC_SIZE(MDRawThread, 48);
MD_STATIC_OFFSET(MDRawThread, stack, 16 + 8);

typedef struct MDRawThreadList {
    uint32_t number_of_threads;
    /* MDRawThread threads[]; at offset 4 (or 8 when padded) */
} MDRawThreadList;

/* MD_THREAD_NAME_LIST_STREAM: count, then 12-byte entries (RVA64 names). */
typedef struct MDRawThreadNameList {
    uint32_t number_of_thread_names;
    /* MDRawThreadName thread_names[]; */
} MDRawThreadNameList;

#pragma pack(push, 4)
typedef struct MDRawThreadName {
    uint32_t thread_id;
    MDRVA64 thread_name_rva; /* an MDString */
} MDRawThreadName;
#pragma pack(pop)
MD_STATIC_SIZE(MDRawThreadName, 12);

/* MD_THREAD_INFO_LIST_STREAM */
typedef struct MDRawThreadInfoList {
    uint32_t size_of_header; /* 12 */
    uint32_t size_of_entry;  /* 64 */
    uint32_t number_of_entries;
} MDRawThreadInfoList;
MD_STATIC_SIZE(MDRawThreadInfoList, 12);

typedef struct MDRawThreadInfo {
    uint32_t thread_id;
    uint32_t dump_flags;
    uint32_t dump_error;
    uint32_t exit_status;
    uint64_t create_time;
    uint64_t exit_time;
    uint64_t kernel_time;
    uint64_t user_time;
    uint64_t start_address;
    uint64_t affinity;
} MDRawThreadInfo;
MD_STATIC_SIZE(MDRawThreadInfo, 64);

/* ---- modules ---------------------------------------------------------- */

#define MD_VSFIXEDFILEINFO_SIGNATURE 0xfeef04bdu

typedef struct MDVSFixedFileInfo {
    uint32_t signature; /* MD_VSFIXEDFILEINFO_SIGNATURE when present */
    uint32_t struct_version;
    uint32_t file_version_hi;
    uint32_t file_version_lo;
    uint32_t product_version_hi;
    uint32_t product_version_lo;
    uint32_t file_flags_mask;
    uint32_t file_flags;
    uint32_t file_os;
    uint32_t file_type;
    uint32_t file_subtype;
    uint32_t file_date_hi;
    uint32_t file_date_lo;
} MDVSFixedFileInfo;
MD_STATIC_SIZE(MDVSFixedFileInfo, 52);

#pragma pack(push, 4)
typedef struct MDRawModule {
    uint64_t base_of_image;
    uint32_t size_of_image;
    uint32_t checksum;
    uint32_t time_date_stamp;
    MDRVA module_name_rva; /* an MDString: the code file path */
    MDVSFixedFileInfo version_info;
    MDLocationDescriptor cv_record;   /* MDCVInfoPDB70 / PDB20 / ELF */
    MDLocationDescriptor misc_record; /* IMAGE_DEBUG_MISC, rarely used */
    uint64_t reserved0;
    uint64_t reserved1;
} MDRawModule;
#pragma pack(pop)
MD_STATIC_SIZE(MDRawModule, 108);
MD_STATIC_OFFSET(MDRawModule, version_info, 24);
MD_STATIC_OFFSET(MDRawModule, cv_record, 76);
MD_STATIC_OFFSET(MDRawModule, misc_record, 84);

typedef struct MDRawModuleList {
    uint32_t number_of_modules;
    /* MDRawModule modules[]; at offset 4 (or 8 when padded), 108 bytes each */
} MDRawModuleList;

typedef struct MDGUID {
    uint32_t data1;
    uint16_t data2;
    uint16_t data3;
    uint8_t data4[8];
} MDGUID;
MD_STATIC_SIZE(MDGUID, 16);

#define MD_CVINFOPDB70_SIGNATURE 0x53445352u /* "RSDS" */
#define MD_CVINFOPDB20_SIGNATURE 0x3031424eu /* "NB10" */
#define MD_CVINFOELF_SIGNATURE 0x4270454cu   /* "BpEL": Breakpad ELF build id */

/* PDB 7.0 record: the debug id is the GUID (fields printed as integers,
 * i.e. byte-swapped from file order) followed by the age in hex. */
typedef struct MDCVInfoPDB70 {
    uint32_t cv_signature;
    MDGUID signature;
    uint32_t age;
    /* uint8_t pdb_file_name[]; NUL-terminated, UTF-8 */
} MDCVInfoPDB70;
MD_STATIC_SIZE(MDCVInfoPDB70, 24);

typedef struct MDCVInfoPDB20 {
    uint32_t cv_signature;
    uint32_t cv_offset; /* always 0 */
    uint32_t signature; /* time_t */
    uint32_t age;
    /* uint8_t pdb_file_name[]; */
} MDCVInfoPDB20;
MD_STATIC_SIZE(MDCVInfoPDB20, 16);

/* Breakpad's ELF record: the raw GNU build-id bytes (any length; a build
 * id of 16+ bytes is the usual case).  Linux writers that find no build id
 * use a hash of .text instead (see reference.md section 2). */
typedef struct MDCVInfoELF {
    uint32_t cv_signature;
    /* uint8_t build_id[]; */
} MDCVInfoELF;
MD_STATIC_SIZE(MDCVInfoELF, 4);

/* MD_UNLOADED_MODULE_LIST_STREAM has the "extended" header form. */
typedef struct MDRawUnloadedModuleList {
    uint32_t size_of_header; /* 12 */
    uint32_t size_of_entry;  /* 24 */
    uint32_t number_of_entries;
} MDRawUnloadedModuleList;
MD_STATIC_SIZE(MDRawUnloadedModuleList, 12);

typedef struct MDRawUnloadedModule {
    uint64_t base_of_image;
    uint32_t size_of_image;
    uint32_t checksum;
    uint32_t time_date_stamp;
    MDRVA module_name_rva;
} MDRawUnloadedModule;
MD_STATIC_SIZE(MDRawUnloadedModule, 24);

/* ---- memory ----------------------------------------------------------- */

typedef struct MDRawMemoryList {
    uint32_t number_of_memory_ranges;
    /* MDMemoryDescriptor memory_ranges[]; at offset 4 (or 8 when padded) */
} MDRawMemoryList;

/* Memory64: the ranges' bytes are stored back to back from base_rva, in
 * descriptor order. */
typedef struct MDRawMemory64List {
    uint64_t number_of_memory_ranges;
    MDRVA64 base_rva;
    /* MDMemoryDescriptor64 memory_ranges[]; */
} MDRawMemory64List;
MD_STATIC_SIZE(MDRawMemory64List, 16);

typedef struct MDMemoryDescriptor64 {
    uint64_t start_of_memory_range;
    uint64_t data_size;
} MDMemoryDescriptor64;
MD_STATIC_SIZE(MDMemoryDescriptor64, 16);

typedef struct MDRawMemoryInfoList {
    uint32_t size_of_header; /* 16 */
    uint32_t size_of_entry;  /* 48 */
    uint64_t number_of_entries;
} MDRawMemoryInfoList;
MD_STATIC_SIZE(MDRawMemoryInfoList, 16);

typedef struct MDRawMemoryInfo {
    uint64_t base_address;
    uint64_t allocation_base;
    uint32_t allocation_protection;
    uint32_t alignment1;
    uint64_t region_size;
    uint32_t state;      /* MD_MEMORY_STATE_* */
    uint32_t protection; /* MD_MEMORY_PROTECT_* */
    uint32_t type;       /* MD_MEMORY_TYPE_* */
    uint32_t alignment2;
} MDRawMemoryInfo;
MD_STATIC_SIZE(MDRawMemoryInfo, 48);

enum {
    MD_MEMORY_STATE_COMMIT = 0x1000,
    MD_MEMORY_STATE_RESERVE = 0x2000,
    MD_MEMORY_STATE_FREE = 0x10000,
    MD_MEMORY_PROTECT_NOACCESS = 0x01,
    MD_MEMORY_PROTECT_READONLY = 0x02,
    MD_MEMORY_PROTECT_READWRITE = 0x04,
    MD_MEMORY_PROTECT_WRITECOPY = 0x08,
    MD_MEMORY_PROTECT_EXECUTE = 0x10,
    MD_MEMORY_PROTECT_EXECUTE_READ = 0x20,
    MD_MEMORY_PROTECT_EXECUTE_READWRITE = 0x40,
    MD_MEMORY_PROTECT_EXECUTE_WRITECOPY = 0x80,
    MD_MEMORY_PROTECT_GUARD = 0x100,
    MD_MEMORY_TYPE_PRIVATE = 0x20000,
    MD_MEMORY_TYPE_MAPPED = 0x40000,
    MD_MEMORY_TYPE_IMAGE = 0x1000000,
};

/* ---- exception -------------------------------------------------------- */

#define MD_EXCEPTION_MAXIMUM_PARAMETERS 15

typedef struct MDException {
    uint32_t exception_code;  /* Linux: the signal number */
    uint32_t exception_flags; /* Linux: si_code */
    uint64_t exception_record; /* address of a nested record, 0 */
    uint64_t exception_address; /* Linux: si_addr (the faulting address) */
    uint32_t number_parameters;
    uint32_t unused_alignment;
    uint64_t exception_information[MD_EXCEPTION_MAXIMUM_PARAMETERS];
} MDException;
MD_STATIC_SIZE(MDException, 152);

typedef struct MDRawExceptionStream {
    uint32_t thread_id; /* the crashing thread */
    uint32_t unused_alignment;
    MDException exception_record;
    MDLocationDescriptor thread_context; /* the context at the fault */
} MDRawExceptionStream;
MD_STATIC_SIZE(MDRawExceptionStream, 168);

/* Linux writers store the signal number as the exception code. */
enum {
    MD_EXCEPTION_CODE_LIN_SIGHUP = 1,
    MD_EXCEPTION_CODE_LIN_SIGINT = 2,
    MD_EXCEPTION_CODE_LIN_SIGQUIT = 3,
    MD_EXCEPTION_CODE_LIN_SIGILL = 4,
    MD_EXCEPTION_CODE_LIN_SIGTRAP = 5,
    MD_EXCEPTION_CODE_LIN_SIGABRT = 6,
    MD_EXCEPTION_CODE_LIN_SIGBUS = 7,
    MD_EXCEPTION_CODE_LIN_SIGFPE = 8,
    MD_EXCEPTION_CODE_LIN_SIGKILL = 9,
    MD_EXCEPTION_CODE_LIN_SIGUSR1 = 10,
    MD_EXCEPTION_CODE_LIN_SIGSEGV = 11,
    MD_EXCEPTION_CODE_LIN_SIGUSR2 = 12,
    MD_EXCEPTION_CODE_LIN_SIGPIPE = 13,
    MD_EXCEPTION_CODE_LIN_SIGALRM = 14,
    MD_EXCEPTION_CODE_LIN_SIGTERM = 15,
    MD_EXCEPTION_CODE_LIN_SIGSYS = 31,
};
/* Breakpad's code for a dump requested without a crash. */
#define MD_EXCEPTION_CODE_LIN_DUMP_REQUESTED 0xffffffffu
/* Windows access violation, for Windows dumps. */
#define MD_EXCEPTION_CODE_WIN_ACCESS_VIOLATION 0xc0000005u

/* ---- system info ------------------------------------------------------ */

typedef union MDCPUInformation {
    struct {
        uint32_t vendor_id[3]; /* cpuid 0: ebx, edx, ecx */
        uint32_t version_information; /* cpuid 1: eax */
        uint32_t feature_information; /* cpuid 1: edx */
        uint32_t amd_extended_cpu_features; /* cpuid 0x80000001: ebx */
    } x86_cpu_info;
    struct {
        uint32_t cpuid;
        uint32_t elf_hwcaps; /* linux AT_HWCAP */
    } arm_cpu_info;
    struct {
        uint64_t processor_features[2];
    } other_cpu_info;
} MDCPUInformation;
MD_STATIC_SIZE(MDCPUInformation, 24);

typedef struct MDRawSystemInfo {
    uint16_t processor_architecture; /* MD_CPU_ARCHITECTURE_* */
    uint16_t processor_level;
    uint16_t processor_revision;
    uint8_t number_of_processors;
    uint8_t product_type;
    uint32_t major_version;
    uint32_t minor_version;
    uint32_t build_number;
    uint32_t platform_id; /* MD_OS_* */
    MDRVA csd_version_rva; /* an MDString: service pack / kernel version */
    uint16_t suite_mask;
    uint16_t reserved2;
    MDCPUInformation cpu;
} MDRawSystemInfo;
MD_STATIC_SIZE(MDRawSystemInfo, 56);
MD_STATIC_OFFSET(MDRawSystemInfo, cpu, 32);

enum {
    MD_CPU_ARCHITECTURE_X86 = 0,
    MD_CPU_ARCHITECTURE_MIPS = 1,
    MD_CPU_ARCHITECTURE_ALPHA = 2,
    MD_CPU_ARCHITECTURE_PPC = 3,
    MD_CPU_ARCHITECTURE_SHX = 4,
    MD_CPU_ARCHITECTURE_ARM = 5,
    MD_CPU_ARCHITECTURE_IA64 = 6,
    MD_CPU_ARCHITECTURE_ALPHA64 = 7,
    MD_CPU_ARCHITECTURE_MSIL = 8,
    MD_CPU_ARCHITECTURE_AMD64 = 9,
    MD_CPU_ARCHITECTURE_X86_WIN64 = 10,
    MD_CPU_ARCHITECTURE_ARM64 = 12,         /* Microsoft's value */
    MD_CPU_ARCHITECTURE_SPARC = 0x8001,     /* Breakpad */
    MD_CPU_ARCHITECTURE_PPC64 = 0x8002,     /* Breakpad */
    MD_CPU_ARCHITECTURE_ARM64_OLD = 0x8003, /* Breakpad, before Microsoft's */
    MD_CPU_ARCHITECTURE_MIPS64 = 0x8004,    /* Breakpad */
    MD_CPU_ARCHITECTURE_RISCV = 0x8005,     /* Breakpad */
    MD_CPU_ARCHITECTURE_RISCV64 = 0x8006,   /* Breakpad */
    MD_CPU_ARCHITECTURE_UNKNOWN = 0xffff,
};

enum {
    MD_OS_WIN32S = 0,
    MD_OS_WIN32_WINDOWS = 1,
    MD_OS_WIN32_NT = 2,
    MD_OS_WIN32_CE = 3,
    MD_OS_UNIX = 0x8000,
    MD_OS_MAC_OS_X = 0x8101,
    MD_OS_IOS = 0x8102,
    MD_OS_LINUX = 0x8201,
    MD_OS_SOLARIS = 0x8202,
    MD_OS_ANDROID = 0x8203,
    MD_OS_PS3 = 0x8204,
    MD_OS_NACL = 0x8205,
    MD_OS_FUCHSIA = 0x8206,
};

/* ---- misc info -------------------------------------------------------- */

typedef struct MDSystemTime {
    uint16_t year, month, day_of_week, day, hour, minute, second, milliseconds;
} MDSystemTime;
MD_STATIC_SIZE(MDSystemTime, 16);

typedef struct MDTimeZoneInformation {
    int32_t bias;
    uint16_t standard_name[32];
    MDSystemTime standard_date;
    int32_t standard_bias;
    uint16_t daylight_name[32];
    MDSystemTime daylight_date;
    int32_t daylight_bias;
} MDTimeZoneInformation;
MD_STATIC_SIZE(MDTimeZoneInformation, 172);

typedef struct MDXStateFeature {
    uint32_t offset;
    uint32_t size;
} MDXStateFeature;

typedef struct MDXStateConfigFeatureMscInfo {
    uint32_t size_of_info;
    uint32_t context_size;
    uint64_t enabled_features;
    MDXStateFeature features[64];
} MDXStateConfigFeatureMscInfo;
MD_STATIC_SIZE(MDXStateConfigFeatureMscInfo, 528);

/* One structure for all versions: size_of_info says how much of it is
 * present (MD_MISCINFO_SIZE ... MD_MISCINFO5_SIZE), flags1 which fields
 * are valid. */
typedef struct MDRawMiscInfo {
    uint32_t size_of_info;
    uint32_t flags1;
    uint32_t process_id;
    uint32_t process_create_time; /* time_t */
    uint32_t process_user_time;   /* seconds */
    uint32_t process_kernel_time; /* seconds */
    /* MINIDUMP_MISC_INFO_2 */
    uint32_t processor_max_mhz;
    uint32_t processor_current_mhz;
    uint32_t processor_mhz_limit;
    uint32_t processor_max_idle_state;
    uint32_t processor_current_idle_state;
    /* MINIDUMP_MISC_INFO_3 */
    uint32_t process_integrity_level;
    uint32_t process_execute_flags;
    uint32_t protected_process;
    uint32_t time_zone_id;
    MDTimeZoneInformation time_zone;
    /* MINIDUMP_MISC_INFO_4 */
    uint16_t build_string[260];
    uint16_t dbg_bld_str[40];
    /* MINIDUMP_MISC_INFO_5 */
    MDXStateConfigFeatureMscInfo xstate_data;
    uint32_t process_cookie;
} MDRawMiscInfo;

#define MD_MISCINFO_SIZE 24
#define MD_MISCINFO2_SIZE 44
#define MD_MISCINFO3_SIZE 232
#define MD_MISCINFO4_SIZE 832
#define MD_MISCINFO5_SIZE 1364
MD_STATIC_OFFSET(MDRawMiscInfo, processor_max_mhz, MD_MISCINFO_SIZE);
MD_STATIC_OFFSET(MDRawMiscInfo, process_integrity_level, MD_MISCINFO2_SIZE);
MD_STATIC_OFFSET(MDRawMiscInfo, build_string, MD_MISCINFO3_SIZE);
MD_STATIC_OFFSET(MDRawMiscInfo, xstate_data, MD_MISCINFO4_SIZE);
MD_STATIC_OFFSET(MDRawMiscInfo, process_cookie, MD_MISCINFO5_SIZE - 4);
/* sizeof(MDRawMiscInfo) has ABI-dependent tail padding: write MD_MISCINFO5_SIZE. */

enum {
    MD_MISCINFO_FLAGS1_PROCESS_ID = 0x001,
    MD_MISCINFO_FLAGS1_PROCESS_TIMES = 0x002,
    MD_MISCINFO_FLAGS1_PROCESSOR_POWER_INFO = 0x004,
    MD_MISCINFO_FLAGS1_PROCESS_INTEGRITY = 0x010,
    MD_MISCINFO_FLAGS1_PROCESS_EXECUTE_FLAGS = 0x020,
    MD_MISCINFO_FLAGS1_TIMEZONE = 0x040,
    MD_MISCINFO_FLAGS1_PROTECTED_PROCESS = 0x080,
    MD_MISCINFO_FLAGS1_BUILDSTRING = 0x100,
    MD_MISCINFO_FLAGS1_PROCESS_COOKIE = 0x200,
};

/* ---- Breakpad extensions ---------------------------------------------- */

typedef struct MDRawBreakpadInfo {
    uint32_t validity; /* MD_BREAKPAD_INFO_VALID_* */
    uint32_t dump_thread_id;       /* the thread that wrote the dump */
    uint32_t requesting_thread_id; /* the thread that crashed/asked */
} MDRawBreakpadInfo;
MD_STATIC_SIZE(MDRawBreakpadInfo, 12);

enum {
    MD_BREAKPAD_INFO_VALID_DUMP_THREAD_ID = 1u << 0,
    MD_BREAKPAD_INFO_VALID_REQUESTING_THREAD_ID = 1u << 1,
};

typedef struct MDRawAssertionInfo {
    uint16_t expression[128]; /* NUL-terminated UTF-16LE */
    uint16_t function[128];
    uint16_t file[128];
    uint32_t line;
    uint32_t type; /* MD_ASSERTION_INFO_TYPE_* */
} MDRawAssertionInfo;
MD_STATIC_SIZE(MDRawAssertionInfo, 776);

enum {
    MD_ASSERTION_INFO_TYPE_UNKNOWN = 0,
    MD_ASSERTION_INFO_TYPE_INVALID_PARAMETER = 1,
    MD_ASSERTION_INFO_TYPE_PURE_VIRTUAL_CALL = 2,
};

/* MD_LINUX_DSO_DEBUG as written by 64-bit Linux Breakpad writers (natural
 * alignment, so 4 bytes of padding follow dso_count).  32-bit writers use
 * 32-bit brk/ldbase/dynamic and addr/ld instead. */
typedef struct MDRawDebug64 {
    uint32_t version; /* r_debug.r_version */
    MDRVA map;        /* MDRawLinkMap64[dso_count] */
    uint32_t dso_count;
    uint32_t padding;
    uint64_t brk;
    uint64_t ldbase;
    uint64_t dynamic;
} MDRawDebug64;
MD_STATIC_SIZE(MDRawDebug64, 40);

typedef struct MDRawLinkMap64 {
    uint64_t addr; /* l_addr: load bias */
    MDRVA name;    /* an MDString */
    uint32_t padding;
    uint64_t ld;   /* l_ld: the DSO's dynamic section */
} MDRawLinkMap64;
MD_STATIC_SIZE(MDRawLinkMap64, 24);

/* ---- Crashpad extensions ---------------------------------------------- */

/* Strings in Crashpad structures: length in bytes (no NUL), then UTF-8. */
typedef struct MDRawUTF8String {
    uint32_t length;
    /* uint8_t buffer[]; NUL-terminated */
} MDRawUTF8String;

typedef struct MDRawCrashpadInfo {
    uint32_t version; /* 1 */
    MDGUID report_id;
    MDGUID client_id;
    MDLocationDescriptor simple_annotations; /* MDRawSimpleStringDictionary */
    MDLocationDescriptor module_list;        /* MDRawModuleCrashpadInfoList */
} MDRawCrashpadInfo;
MD_STATIC_SIZE(MDRawCrashpadInfo, 52);

typedef struct MDRawSimpleStringDictionaryEntry {
    MDRVA key;   /* MDRawUTF8String */
    MDRVA value; /* MDRawUTF8String */
} MDRawSimpleStringDictionaryEntry;
MD_STATIC_SIZE(MDRawSimpleStringDictionaryEntry, 8);

typedef struct MDRawSimpleStringDictionary {
    uint32_t count;
    /* MDRawSimpleStringDictionaryEntry entries[]; */
} MDRawSimpleStringDictionary;

typedef struct MDRawModuleCrashpadInfoLink {
    uint32_t minidump_module_list_index;
    MDLocationDescriptor location; /* MDRawModuleCrashpadInfo */
} MDRawModuleCrashpadInfoLink;
MD_STATIC_SIZE(MDRawModuleCrashpadInfoLink, 12);

typedef struct MDRawModuleCrashpadInfoList {
    uint32_t count;
    /* MDRawModuleCrashpadInfoLink modules[]; */
} MDRawModuleCrashpadInfoList;

typedef struct MDRawModuleCrashpadInfo {
    uint32_t version; /* 1 */
    MDLocationDescriptor list_annotations;   /* MDRawRVAList of UTF-8 strings */
    MDLocationDescriptor simple_annotations; /* MDRawSimpleStringDictionary */
    MDLocationDescriptor annotation_objects; /* MDRawAnnotationList */
} MDRawModuleCrashpadInfo;
MD_STATIC_SIZE(MDRawModuleCrashpadInfo, 28);

typedef struct MDRawRVAList {
    uint32_t count;
    /* MDRVA rvas[]; */
} MDRawRVAList;

typedef struct MDRawAnnotation {
    MDRVA name;        /* MDRawUTF8String */
    uint16_t type;     /* MD_ANNOTATION_TYPE_* */
    uint16_t reserved;
    MDRVA value;       /* MDRawByteArray */
} MDRawAnnotation;
MD_STATIC_SIZE(MDRawAnnotation, 12);

typedef struct MDRawAnnotationList {
    uint32_t count;
    /* MDRawAnnotation objects[]; */
} MDRawAnnotationList;

typedef struct MDRawByteArray {
    uint32_t length;
    /* uint8_t data[]; */
} MDRawByteArray;

enum {
    MD_ANNOTATION_TYPE_INVALID = 0,
    MD_ANNOTATION_TYPE_STRING = 1, /* value bytes are UTF-8 text */
    MD_ANNOTATION_TYPE_USER_DEFINED = 0x8000,
};

/* ---- CPU contexts ----------------------------------------------------- *
 * The thread_context location of a thread (and of the exception stream)
 * holds one of these.  The CPU is told by the context flags' CPU bits and
 * the record size, cross-checked with MDRawSystemInfo.processor_architecture. */

typedef struct MDUInt128 {
    uint64_t low;
    uint64_t high;
} MDUInt128;
MD_STATIC_SIZE(MDUInt128, 16);

/* -- x86 -- */

#define MD_CONTEXT_X86 0x00010000u
#define MD_CONTEXT_X86_CONTROL (MD_CONTEXT_X86 | 0x01u)  /* ebp eip cs eflags esp ss */
#define MD_CONTEXT_X86_INTEGER (MD_CONTEXT_X86 | 0x02u)  /* edi esi ebx edx ecx eax */
#define MD_CONTEXT_X86_SEGMENTS (MD_CONTEXT_X86 | 0x04u)
#define MD_CONTEXT_X86_FLOATING_POINT (MD_CONTEXT_X86 | 0x08u)
#define MD_CONTEXT_X86_DEBUG_REGISTERS (MD_CONTEXT_X86 | 0x10u)
#define MD_CONTEXT_X86_EXTENDED_REGISTERS (MD_CONTEXT_X86 | 0x20u)
#define MD_CONTEXT_X86_XSTATE (MD_CONTEXT_X86 | 0x40u)
#define MD_CONTEXT_X86_FULL (MD_CONTEXT_X86_CONTROL | MD_CONTEXT_X86_INTEGER | MD_CONTEXT_X86_SEGMENTS)
#define MD_CONTEXT_X86_ALL                                                                  \
    (MD_CONTEXT_X86_FULL | MD_CONTEXT_X86_FLOATING_POINT | MD_CONTEXT_X86_DEBUG_REGISTERS | \
     MD_CONTEXT_X86_EXTENDED_REGISTERS)

#define MD_FLOATINGSAVEAREA_X86_REGISTERAREA_SIZE 80
#define MD_CONTEXT_X86_EXTENDED_REGISTERS_SIZE 512

typedef struct MDFloatingSaveAreaX86 {
    uint32_t control_word;
    uint32_t status_word;
    uint32_t tag_word;
    uint32_t error_offset;
    uint32_t error_selector;
    uint32_t data_offset;
    uint32_t data_selector;
    uint8_t register_area[MD_FLOATINGSAVEAREA_X86_REGISTERAREA_SIZE];
    uint32_t cr0_npx_state;
} MDFloatingSaveAreaX86;
MD_STATIC_SIZE(MDFloatingSaveAreaX86, 112);

typedef struct MDRawContextX86 {
    uint32_t context_flags;
    uint32_t dr0, dr1, dr2, dr3, dr6, dr7;
    MDFloatingSaveAreaX86 float_save;
    uint32_t gs, fs, es, ds;
    uint32_t edi, esi, ebx, edx, ecx, eax;
    uint32_t ebp, eip, cs, eflags, esp, ss;
    uint8_t extended_registers[MD_CONTEXT_X86_EXTENDED_REGISTERS_SIZE]; /* fxsave */
} MDRawContextX86;
MD_STATIC_SIZE(MDRawContextX86, 716);
MD_STATIC_OFFSET(MDRawContextX86, edi, 156);
MD_STATIC_OFFSET(MDRawContextX86, eip, 184);
MD_STATIC_OFFSET(MDRawContextX86, esp, 196);

/* -- amd64 -- */

#define MD_CONTEXT_AMD64 0x00100000u
#define MD_CONTEXT_AMD64_CONTROL (MD_CONTEXT_AMD64 | 0x01u) /* ss cs eflags rsp rip */
#define MD_CONTEXT_AMD64_INTEGER (MD_CONTEXT_AMD64 | 0x02u) /* rax..r15 but rsp */
#define MD_CONTEXT_AMD64_SEGMENTS (MD_CONTEXT_AMD64 | 0x04u)
#define MD_CONTEXT_AMD64_FLOATING_POINT (MD_CONTEXT_AMD64 | 0x08u)
#define MD_CONTEXT_AMD64_DEBUG_REGISTERS (MD_CONTEXT_AMD64 | 0x10u)
#define MD_CONTEXT_AMD64_XSTATE (MD_CONTEXT_AMD64 | 0x40u)
#define MD_CONTEXT_AMD64_FULL \
    (MD_CONTEXT_AMD64_CONTROL | MD_CONTEXT_AMD64_INTEGER | MD_CONTEXT_AMD64_FLOATING_POINT)
#define MD_CONTEXT_AMD64_ALL \
    (MD_CONTEXT_AMD64_FULL | MD_CONTEXT_AMD64_SEGMENTS | MD_CONTEXT_AMD64_DEBUG_REGISTERS)

/* fxsave layout (XMM_SAVE_AREA32) */
typedef struct MDXmmSaveArea32AMD64 {
    uint16_t control_word;
    uint16_t status_word;
    uint8_t tag_word;
    uint8_t reserved1;
    uint16_t error_opcode;
    uint32_t error_offset;
    uint16_t error_selector;
    uint16_t reserved2;
    uint32_t data_offset;
    uint16_t data_selector;
    uint16_t reserved3;
    uint32_t mx_csr;
    uint32_t mx_csr_mask;
    MDUInt128 float_registers[8];
    MDUInt128 xmm_registers[16];
    uint8_t reserved4[96];
} MDXmmSaveArea32AMD64;
MD_STATIC_SIZE(MDXmmSaveArea32AMD64, 512);

typedef struct MDRawContextAMD64 {
    /* register parameter home addresses */
    uint64_t p1_home, p2_home, p3_home, p4_home, p5_home, p6_home;
    uint32_t context_flags;
    uint32_t mx_csr;
    uint16_t cs, ds, es, fs, gs, ss;
    uint32_t eflags;
    uint64_t dr0, dr1, dr2, dr3, dr6, dr7;
    /* integer registers in Windows CONTEXT order (not DWARF order) */
    uint64_t rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip;
    union {
        MDXmmSaveArea32AMD64 flt_save;
        struct {
            MDUInt128 header[2];
            MDUInt128 legacy[8];
            MDUInt128 xmm[16];
        } sse_registers;
    } u;
    MDUInt128 vector_register[26];
    uint64_t vector_control;
    uint64_t debug_control;
    uint64_t last_branch_to_rip;
    uint64_t last_branch_from_rip;
    uint64_t last_exception_to_rip;
    uint64_t last_exception_from_rip;
} MDRawContextAMD64;
MD_STATIC_SIZE(MDRawContextAMD64, 1232);
MD_STATIC_OFFSET(MDRawContextAMD64, context_flags, 48);
MD_STATIC_OFFSET(MDRawContextAMD64, rax, 120);
MD_STATIC_OFFSET(MDRawContextAMD64, rsp, 152);
MD_STATIC_OFFSET(MDRawContextAMD64, rip, 248);
MD_STATIC_OFFSET(MDRawContextAMD64, u, 256);

/* -- arm (32-bit) -- */

#define MD_CONTEXT_ARM 0x40000000u
#define MD_CONTEXT_ARM_OLD 0x00000040u /* Breakpad's first value, still read */
#define MD_CONTEXT_ARM_INTEGER (MD_CONTEXT_ARM | 0x02u)
#define MD_CONTEXT_ARM_FLOATING_POINT (MD_CONTEXT_ARM | 0x04u)
#define MD_CONTEXT_ARM_FULL (MD_CONTEXT_ARM_INTEGER | MD_CONTEXT_ARM_FLOATING_POINT)
#define MD_CONTEXT_ARM_ALL MD_CONTEXT_ARM_FULL

#define MD_CONTEXT_ARM_GPR_COUNT 16
#define MD_FLOATINGSAVEAREA_ARM_FPR_COUNT 32
#define MD_FLOATINGSAVEAREA_ARM_FPEXTRA_COUNT 8

enum {
    MD_CONTEXT_ARM_REG_IOS_FP = 7, /* Thumb frame pointer on iOS */
    MD_CONTEXT_ARM_REG_FP = 11,    /* ARM-mode frame pointer */
    MD_CONTEXT_ARM_REG_SP = 13,
    MD_CONTEXT_ARM_REG_LR = 14,
    MD_CONTEXT_ARM_REG_PC = 15,
};

typedef struct MDFloatingSaveAreaARM {
    uint64_t fpscr;
    uint64_t regs[MD_FLOATINGSAVEAREA_ARM_FPR_COUNT]; /* d0..d31 */
    uint32_t extra[MD_FLOATINGSAVEAREA_ARM_FPEXTRA_COUNT];
} MDFloatingSaveAreaARM;
MD_STATIC_SIZE(MDFloatingSaveAreaARM, 296);

typedef struct MDRawContextARM {
    uint32_t context_flags;
    uint32_t iregs[MD_CONTEXT_ARM_GPR_COUNT]; /* r0..r12, sp, lr, pc */
    uint32_t cpsr;
    MDFloatingSaveAreaARM float_save;
} MDRawContextARM;
MD_STATIC_SIZE(MDRawContextARM, 368);
MD_STATIC_OFFSET(MDRawContextARM, float_save, 72);

/* -- arm64, Microsoft's layout (CONTEXT for ARM64) -- */

#define MD_CONTEXT_ARM64 0x00400000u
#define MD_CONTEXT_ARM64_CONTROL (MD_CONTEXT_ARM64 | 0x01u)
#define MD_CONTEXT_ARM64_INTEGER (MD_CONTEXT_ARM64 | 0x02u)
#define MD_CONTEXT_ARM64_FLOATING_POINT (MD_CONTEXT_ARM64 | 0x04u)
#define MD_CONTEXT_ARM64_DEBUG (MD_CONTEXT_ARM64 | 0x08u)
#define MD_CONTEXT_ARM64_FULL \
    (MD_CONTEXT_ARM64_CONTROL | MD_CONTEXT_ARM64_INTEGER | MD_CONTEXT_ARM64_FLOATING_POINT)
#define MD_CONTEXT_ARM64_ALL (MD_CONTEXT_ARM64_FULL | MD_CONTEXT_ARM64_DEBUG)

#define MD_CONTEXT_ARM64_GPR_COUNT 33 /* x0..x28, fp, lr, sp, pc */
#define MD_FLOATINGSAVEAREA_ARM64_FPR_COUNT 32

enum {
    MD_CONTEXT_ARM64_REG_FP = 29,
    MD_CONTEXT_ARM64_REG_LR = 30,
    MD_CONTEXT_ARM64_REG_SP = 31,
    MD_CONTEXT_ARM64_REG_PC = 32,
};

typedef struct MDFloatingSaveAreaARM64 {
    MDUInt128 regs[MD_FLOATINGSAVEAREA_ARM64_FPR_COUNT]; /* v0..v31 */
    uint32_t fpcr;
    uint32_t fpsr;
} MDFloatingSaveAreaARM64;
MD_STATIC_SIZE(MDFloatingSaveAreaARM64, 520);

typedef struct MDRawContextARM64 {
    uint32_t context_flags;
    uint32_t cpsr;
    uint64_t iregs[MD_CONTEXT_ARM64_GPR_COUNT]; /* iregs[31] = sp, [32] = pc */
    MDFloatingSaveAreaARM64 float_save;
    uint32_t bcr[8];
    uint64_t bvr[8];
    uint32_t wcr[2];
    uint64_t wvr[2];
} MDRawContextARM64;
MD_STATIC_SIZE(MDRawContextARM64, 912);
MD_STATIC_OFFSET(MDRawContextARM64, iregs, 8);
MD_STATIC_OFFSET(MDRawContextARM64, float_save, 272);

/* -- arm64, Breakpad's older layout (64-bit flags, cpsr after pc) -- */

#define MD_CONTEXT_ARM64_OLD 0x80000000u
#define MD_CONTEXT_ARM64_INTEGER_OLD (MD_CONTEXT_ARM64_OLD | 0x02u)
#define MD_CONTEXT_ARM64_FLOATING_POINT_OLD (MD_CONTEXT_ARM64_OLD | 0x04u)
#define MD_CONTEXT_ARM64_FULL_OLD (MD_CONTEXT_ARM64_INTEGER_OLD | MD_CONTEXT_ARM64_FLOATING_POINT_OLD)
#define MD_CONTEXT_ARM64_ALL_OLD MD_CONTEXT_ARM64_FULL_OLD

#pragma pack(push, 4)
typedef struct MDFloatingSaveAreaARM64Old {
    uint32_t fpsr;
    uint32_t fpcr;
    MDUInt128 regs[MD_FLOATINGSAVEAREA_ARM64_FPR_COUNT];
} MDFloatingSaveAreaARM64Old;

typedef struct MDRawContextARM64Old {
    uint64_t context_flags;
    uint64_t iregs[MD_CONTEXT_ARM64_GPR_COUNT]; /* x0..x28, fp, lr, sp, pc */
    uint32_t cpsr;
    MDFloatingSaveAreaARM64Old float_save;
} MDRawContextARM64Old;
#pragma pack(pop)
MD_STATIC_SIZE(MDFloatingSaveAreaARM64Old, 520);
MD_STATIC_SIZE(MDRawContextARM64Old, 796);
MD_STATIC_OFFSET(MDRawContextARM64Old, cpsr, 272);
MD_STATIC_OFFSET(MDRawContextARM64Old, float_save, 276);

/* The CPU bits of a context_flags word (a 32-bit word; for the old arm64
 * layout, the low 32 bits of its 64-bit flags). */
#define MD_CONTEXT_CPU_MASK 0xffffff00u

#endif
