/*
 * minidump.h — internal: a bounds-checked view of a mapped minidump.
 *
 * Every accessor takes offsets and sizes straight from the (untrusted)
 * file, so each one checks them against the mapping before touching a
 * byte; nothing here trusts a count or an RVA.  Parsed results live in the
 * caller's arena and point into the mapping for bulk data (stack memory,
 * contexts), which therefore must stay mapped while they are used.
 */
#ifndef SYMKIT_STACKWALK_MINIDUMP_H
#define SYMKIT_STACKWALK_MINIDUMP_H

#include "minidump_format.h"
#include "stackwalk.h"

struct sw_minidump {
    sk_mapped map;       /* when opened from a file */
    const uint8_t *data; /* the whole file */
    size_t size;
    char *path;          /* for messages ("<memory>" for open_mem) */
    MDRawDirectory *dirs; /* copied out of the file, bounds-checked */
    uint32_t ndirs;
};

/* Pointer to [off, off+len) of the file, or NULL when it is not all inside. */
const uint8_t *md_ptr(const sw_minidump *d, uint64_t off, uint64_t len);
/* Little-endian loads from memory already bounds-checked by the caller. */
static inline uint16_t md_u16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t md_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t md_u64(const uint8_t *p) { return md_u32(p) | (uint64_t)md_u32(p + 4) << 32; }

/* The first stream of type; false when absent or out of bounds (then *why
 * says which, for messages). */
bool md_stream(const sw_minidump *d, uint32_t type, const uint8_t **p, uint32_t *len, const char **why);
/* An MDString (UTF-16LE) as UTF-8 in arena, or NULL when out of bounds. */
char *md_string(const sw_minidump *d, uint64_t rva, sk_arena *a);
/* A Crashpad MDRawUTF8String, or NULL. */
char *md_utf8_string(const sw_minidump *d, uint64_t rva, sk_arena *a);

typedef struct md_region {
    uint64_t start, size;
    const uint8_t *data;
} md_region;

typedef struct md_memory {
    md_region *regions; /* sorted by start */
    size_t nregions;
} md_memory;

/* Bytes [addr, addr+n) of process memory, or NULL when not captured. */
const uint8_t *md_memory_at(const md_memory *m, uint64_t addr, uint64_t n);

typedef struct md_thread {
    uint32_t id;
    const char *name;
    md_region stack;        /* data NULL when the stack is not in the file */
    const uint8_t *context; /* NULL when out of bounds */
    uint32_t context_size;
    uint64_t teb;           /* Windows thread environment block (0: none) */
} md_thread;

typedef struct md_module {
    uint64_t base, size;
    const char *code_file;
    const char *code_id;    /* lower-case hex (ELF build id / PE stamp+size) */
    const char *debug_file;
    const char *debug_id;   /* 33 upper-case hex or NULL */
    const char *version;
    uint32_t dump_index;    /* position in the dump's own module list */
    uint32_t time_date_stamp;
} md_module;

typedef struct md_exception {
    bool present;
    uint32_t thread_id;
    uint32_t code, flags;
    uint64_t address;
    uint32_t nparams;       /* at most MD_EXCEPTION_MAXIMUM_PARAMETERS */
    uint64_t params[MD_EXCEPTION_MAXIMUM_PARAMETERS];
    const uint8_t *context;
    uint32_t context_size;
} md_exception;



typedef struct md_system_info {
    bool present;
    uint16_t arch;      /* MD_CPU_ARCHITECTURE_* */
    uint32_t platform;  /* MD_OS_* */
    uint32_t major, minor, build;
    const char *csd;    /* service pack / kernel version, or NULL */
    uint32_t cpu_count;
    uint16_t level, revision;
    char vendor[13];    /* x86 cpuid vendor, "" otherwise */
} md_system_info;

typedef struct md_info {
    md_thread *threads;
    size_t nthreads;
    md_module *modules; /* sorted by base */
    size_t nmodules;
    bool has_main_module; /* the first module in the dump's own order */
    uint64_t main_module_base;
    md_module *unloaded;
    size_t nunloaded;
    md_memory memory;
    md_exception exception;
    md_system_info sys;
    bool has_pid;
    uint32_t pid;
    bool has_requesting_thread, has_dump_thread;
    uint32_t requesting_thread, dump_thread;
    uint32_t dump_time;         /* header time_date_stamp (time_t) */
    bool has_create_time;
    uint32_t process_create_time; /* misc info (time_t) */
    sw_handle *handles;
    size_t nhandles;
    bool has_handles;
    sw_mac_crash_record *mac_crash;
    size_t nmac_crash;
    bool has_mac_crash_info;
    bool has_mac_boot_args;
    const char *mac_boot_args;  /* NULL inside a present stream: unreadable */
    const char *linux_limits;   /* Mozilla's /proc/self/limits copy */
    bool has_memory_info;
    size_t memory_info_count;   /* entries of the memory info list */
    /* Ranges the process could not touch at all (Windows PAGE_NOACCESS or
     * PAGE_GUARD, Linux "---" mappings): where guard pages live. */
    md_region *no_access;       /* data unused */
    size_t nno_access;
    const char *assertion;
    /* Linux text streams (NUL-terminated copies), NULL when absent */
    const char *linux_cpuinfo, *linux_status, *linux_lsb_release, *linux_cmdline, *linux_maps,
        *linux_environ;
    size_t auxv_entries;
    size_t dso_count;
    sw_annotation *annotations;
    size_t nannotations;
    sk_buf errors; /* one line per stream that could not be read */
} md_info;

/* Reads every known stream into info (allocations in a).  Never fails:
 * damaged streams are skipped and described in info->errors. */
void md_read_all(const sw_minidump *d, sk_arena *a, md_info *info);
void md_info_free(md_info *info);

#endif
