/*
 * stackwalk — turns a minidump plus Breakpad .sym files into a symbolicated
 * report of every thread.
 *
 * A minidump is untrusted input: the reader maps the file and bounds-checks
 * every read, and a damaged dump gives an error (nothing readable at all) or
 * a partial report (whatever streams and frames could be recovered).  The
 * unwinder walks each thread with, per frame, STACK CFI rules, STACK WIN
 * (32-bit Windows), the frame pointer, then bounded stack scanning, and
 * looks every frame up in the module's .sym (lazily indexed, see
 * symfile.h).  Symbols come from local stores/files and HTTP symbol servers
 * with an on-disk cache.  The report mirrors rust-minidump's
 * minidump-stackwalk JSON (field names in ../shared/reference.md section 5)
 * and can also be printed for people (--human, --brief) or in Breakpad's
 * pipe-separated --machine format.
 *
 * symverify builds on this: sw_process() gives a plain struct to compute
 * quality metrics from.  The on-disk format is in minidump_format.h.
 */
#ifndef SYMKIT_STACKWALK_H
#define SYMKIT_STACKWALK_H

#include "common.h"

/* ---- minidump reader ---------------------------------------------------- */

typedef struct sw_minidump sw_minidump;

/* Maps and validates the header and stream directory.  Fails (SK_EIO,
 * SK_EFORMAT) only when the file cannot be read as a minidump at all;
 * damaged individual streams are noticed later and reported per stream. */
int sw_minidump_open(const char *path, sw_minidump **out, sk_error *err);
/* The same, also giving rust-minidump's name for the failure
 * ("FileNotFound", "HeaderMismatch", ...), for the log line Socorro reads. */
int sw_minidump_open_named(const char *path, sw_minidump **out, const char **error_name, sk_error *err);
/* The same over caller-owned memory that must outlive the dump (tests,
 * fuzzing). */
int sw_minidump_open_mem(const void *data, size_t size, sw_minidump **out, sk_error *err);
void sw_minidump_close(sw_minidump *dump);

/* ---- options -------------------------------------------------------------- */

typedef struct sw_options {
    /* Local symbols: directories in store layout NAME/DEBUGID/NAME.sym, or
     * single .sym files (matched on their MODULE line). */
    const char *const *symbol_paths;
    size_t nsymbol_paths;
    /* Symbol servers, tried in order after the local paths. */
    const char *const *symbol_urls;
    size_t nsymbol_urls;
    /* Where downloaded .sym files are kept (store layout); NULL: a cache is
     * not kept and downloads live in memory only. */
    const char *symbols_cache;
    /* HTTP timeout per request in seconds (0: 30). */
    unsigned http_timeout;
    /* debuginfod: for a module with an ELF build-id whose .sym none of the
     * above has, fetch its debug file and executable by build-id and make
     * the .sym in-process (cached in symbols_cache).  Off unless set: it
     * sends build-ids to the servers.  The servers are debuginfod_urls, or
     * DEBUGINFOD_URLS when there are none. */
    bool debuginfod;
    const char *const *debuginfod_urls;
    size_t ndebuginfod_urls;
    /* For s3://BUCKET[/PREFIX] symbol URLs (NULL: AWS_ENDPOINT_URL,
     * AWS_REGION/AWS_DEFAULT_REGION, "auto").  Credentials come from the
     * AWS_* environment only; see symbols/s3_source.h. */
    const char *s3_endpoint;
    const char *s3_region;
    const char *s3_addressing; /* "path", "virtual" or NULL for auto */
    /* Frames per thread at most (0: 1024).  Bounds work on looping stacks. */
    unsigned max_frames;
    /* Only unwind the crashing (or requesting) thread; the others are
     * listed with no frames.  Used by --brief. */
    bool crashing_thread_only;
    /* Mozilla's crash-annotation side file (--evil-json): module
     * certificate subjects and the CPU microcode version.  NULL: none. */
    const char *evil_json;
    /* Where downloads are written before they are renamed into the cache
     * (--symbols-tmp); NULL: a temporary name inside the cache itself. */
    const char *symbols_tmp;
} sw_options;

/* ---- report --------------------------------------------------------------- */

/* How a frame was found, best first; names as in rust-minidump's JSON. */
typedef enum sw_trust {
    SW_TRUST_NONE = 0,
    SW_TRUST_SCAN,          /* "scan": stack scanning */
    SW_TRUST_CFI_SCAN,      /* "cfi_scan": scanning validated by CFI */
    SW_TRUST_FRAME_POINTER, /* "frame_pointer" */
    SW_TRUST_CFI,           /* "cfi": STACK CFI or STACK WIN rules */
    SW_TRUST_PREWALKED,     /* "prewalked": given by the dump */
    SW_TRUST_CONTEXT,       /* "context": frame 0, from the thread context */
} sw_trust;
const char *sw_trust_name(sw_trust t);

typedef struct sw_inline_frame {
    const char *function;
    const char *file; /* NULL when unknown */
    uint32_t line;    /* 0 when unknown */
} sw_inline_frame;

typedef struct sw_register {
    const char *name; /* "rip", "x29", ... */
    uint64_t value;
} sw_register;

/* Unloaded modules that cover a frame's address (rust-minidump lists them
 * when no loaded module does), offsets deduplicated and sorted. */
typedef struct sw_unloaded_hit {
    const char *module;
    uint64_t *offsets;
    size_t noffsets;
} sw_unloaded_hit;

typedef struct sw_frame {
    /* The instruction address: the pc for frame 0, the return address for
     * callers (lookups use it minus 1 on x86/amd64, 4 on arm64, 2 on arm). */
    uint64_t instruction;
    /* The address rust-minidump reports (offset, module_offset,
     * function_offset): the pc for frame 0, the call instruction (the
     * return address minus the adjustment above) for callers. */
    uint64_t address;
    sw_unloaded_hit *unloaded; /* only when module < 0 */
    size_t nunloaded;
    int module;             /* index into sw_report.modules, -1: none */
    const char *function;   /* NULL when unknown */
    uint64_t function_base; /* valid when function != NULL */
    const char *file;       /* NULL when unknown */
    uint32_t line;          /* 0 when unknown */
    uint64_t line_base;     /* where the innermost line record starts */
    sw_trust trust;
    /* Inlined calls at this address, innermost first; the frame's own
     * function/file/line are then the outermost (the FUNC) function and the
     * call site of the outermost inline, as in rust-minidump. */
    sw_inline_frame *inlines;
    size_t ninlines;
    /* Registers known in this frame (all of them for frame 0, the ones the
     * unwinder recovered for callers). */
    sw_register *registers;
    size_t nregisters;
} sw_frame;

typedef struct sw_thread {
    uint32_t thread_id;
    const char *name; /* NULL when the dump has no name for it */
    /* Windows GetLastError() from the thread's TEB as rust-minidump names
     * it ("ERROR_SUCCESS", "0x..."), NULL when not in the dump. */
    const char *last_error_value;
    /* The thread that wrote the dump (Breakpad info stream): not walked,
     * as rust-minidump does (its stack is the dumper's, not the crash's). */
    bool dump_thread;
    sw_frame *frames;
    size_t nframes;
    /* Set when the walk stopped early for a reason worth telling (no stack
     * memory, frame limit, unreadable context); NULL otherwise. */
    const char *walk_note;
} sw_thread;

typedef struct sw_module {
    uint64_t base, size;
    const char *code_file;  /* full path as in the dump */
    const char *filename;   /* basename of code_file */
    const char *code_id;    /* NULL when the dump has none */
    const char *debug_file; /* NULL when none */
    const char *debug_id;   /* 33 hex or NULL */
    const char *version;    /* "a.b.c.d" or NULL */
    bool loaded_symbols;
    bool missing_symbols;   /* symbols were looked for and not found */
    bool corrupt_symbols;   /* symbols found, with bad lines skipped */
    size_t bad_sym_lines;
    const char *symbol_url; /* where symbols came from (path or URL), or NULL */
    uint32_t dump_index;      /* position in the dump's module list (JSON order) */
    const char *cert_subject; /* signer from --evil-json, or NULL */
} sw_module;

typedef struct sw_unloaded_module {
    uint64_t base, size;
    const char *code_file;
    const char *code_id;      /* lower-case, NULL when unknown */
    const char *cert_subject; /* from --evil-json, or NULL */
} sw_unloaded_module;

typedef struct sw_handle {
    uint64_t handle;
    const char *type_name;   /* NULL when the dump has none */
    const char *object_name;
} sw_handle;

/* One record of Mozilla's macOS __crash_info stream (strings NULL when
 * absent, numbers only when has_*). */
typedef struct sw_mac_crash_record {
    bool has_thread, has_dialog_mode, has_abort_cause;
    uint64_t thread, dialog_mode, abort_cause;
    const char *module, *message, *signature_string, *backtrace, *message2;
} sw_mac_crash_record;

typedef struct sw_proc_limit {
    const char *name, *soft, *hard, *unit; /* unit NULL when none */
} sw_proc_limit;

/* What the crashing instruction did (crash analysis, needs disasm/). */
typedef struct sw_memory_access {
    uint64_t address;
    bool has_size;
    uint32_t size;
    bool is_likely_guard_page;
} sw_memory_access;

typedef struct sw_bit_flip {
    uint64_t address;
    const char *source_register; /* NULL: the crash address itself */
    bool was_non_canonical, is_null, was_low, poison_registers;
    uint32_t nearby_registers;
    double confidence;
} sw_bit_flip;

typedef struct sw_annotation {
    const char *module; /* NULL: process-wide */
    const char *key;
    const char *value;
} sw_annotation;

typedef struct sw_report {
    sk_arena *arena; /* owns everything below */

    const char *status; /* "OK" (damaged streams: see stream_errors) */

    /* system_info */
    const char *os;       /* "Linux", "Windows NT", "Mac OS X", ... */
    const char *os_ver;   /* "0.0.0 Linux 6.1.0 ..." */
    const char *cpu_arch; /* "amd64", "x86", "arm", "arm64", ... */
    const char *cpu_info; /* may be NULL */
    uint32_t cpu_count;
    unsigned pointer_size; /* 4 or 8 */

    const char *cpu_microcode_version; /* "0x..." or NULL */

    /* crash_info */
    bool has_exception;
    const char *crash_type;  /* "SIGSEGV / SEGV_MAPERR", ... or NULL */
    uint64_t crash_address;
    int crashing_thread;     /* index into threads, -1: none */
    const char *assertion;   /* NULL when none */
    /* crash analysis (all absent until the instruction was decoded) */
    const char *instruction; /* disassembled crashing instruction */
    bool has_memory_accesses;
    sw_memory_access *memory_accesses;
    size_t nmemory_accesses;
    sw_bit_flip *bit_flips;
    size_t nbit_flips;
    const char *adjusted_kind; /* "non-canonical" | "null-pointer" | NULL */
    uint64_t adjusted_value;   /* the address, or the offset from null */
    bool has_ip_update;        /* instruction_pointer_update */
    bool ip_update_updated;    /* the pc changed (a jump/call/ret) */
    uint64_t ip_update_address;
    const char **crash_inconsistencies;
    size_t ncrash_inconsistencies;

    /* process times (time_t) */
    uint32_t dump_time;
    bool has_create_time;
    uint32_t process_create_time;

    bool has_pid;
    uint32_t pid;

    sw_thread *threads;
    size_t nthreads;
    sw_module *modules; /* sorted by base address */
    size_t nmodules;
    int main_module;    /* index, -1 when unknown */
    sw_unloaded_module *unloaded_modules;
    size_t nunloaded_modules;
    sw_annotation *annotations; /* Crashpad annotations */
    size_t nannotations;
    bool modules_contains_cert_info;
    bool has_handles;
    sw_handle *handles;
    size_t nhandles;
    bool has_mac_crash_info;
    sw_mac_crash_record *mac_crash;
    size_t nmac_crash;
    bool has_mac_boot_args;
    const char *mac_boot_args;
    bool has_proc_limits;
    sw_proc_limit *proc_limits;
    size_t nproc_limits;
    bool has_memory_map_count;
    size_t memory_map_count; /* Linux maps lines or memory info entries */

    /* Linux streams, raw text (NULL when absent). */
    const char *lsb_release;
    bool has_lsb; /* the parsed form: DISTRIB_* or os-release keys */
    const char *lsb_id, *lsb_release_ver, *lsb_codename, *lsb_description;
    const char *cmdline; /* NULs replaced by spaces */

    /* Streams that could not be read, one per line (NULL when none). */
    const char *stream_errors;
} sw_report;

/* Walks every thread of dump and symbolizes the frames.  Missing symbols are
 * not an error; damaged streams give a partial report (see status,
 * stream_errors).  Fails only on a dump with nothing usable (no thread,
 * module or exception stream could be read) or on bad options. */
int sw_process(const sw_minidump *dump, const sw_options *opt, sw_report **out, sk_error *err);
void sw_report_free(sw_report *report);

/* Output.  JSON follows rust-minidump's field names; pretty adds indentation. */
/* A readable listing of every stream (--dump). */
int sw_minidump_write_dump(const sw_minidump *dump, FILE *out, sk_error *err);
int sw_report_write_json(const sw_report *report, bool pretty, FILE *out, sk_error *err);
/* The human form: crash reason, then each thread's frames (brief: only the
 * crashing thread, and no module list). */
int sw_report_write_human(const sw_report *report, bool brief, FILE *out, sk_error *err);
/* Breakpad minidump_stackwalk -m format. */
int sw_report_write_machine(const sw_report *report, FILE *out, sk_error *err);

#endif
