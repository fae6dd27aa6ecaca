/*
 * dumpsyms — turns the debug information of ELF binaries (and, later,
 * Mach-O) into Breakpad .sym modules.
 *
 * ds_dump() opens a binary, finds the file that holds its debug information
 * (the binary itself, a file named by the caller, or one found by build-id /
 * .gnu_debuglink), and fills a finalized sym_module: MODULE/INFO from the
 * binary's ids, FILE/FUNC/line/INLINE from DWARF, PUBLIC from the symbol
 * tables, STACK CFI from .eh_frame and .debug_frame.  Writing is the caller's
 * choice (stdout, a file, a symbol store), see ds_write_output().
 */
#ifndef SYMKIT_DUMPSYMS_H
#define SYMKIT_DUMPSYMS_H

#include "common.h"
#include "symfile.h"

/* dwz supplementary files shared by many dumps (packager mode): each is
 * opened once for every debug file that links to it.  Thread-safe. */
typedef struct ds_sup_cache ds_sup_cache;
ds_sup_cache *ds_sup_cache_new(void);
void ds_sup_cache_free(ds_sup_cache *c);

typedef struct ds_options {
    bool cfi;            /* STACK CFI records (off with -c) */
    bool cfi_only;       /* only MODULE/INFO and STACK records */
    bool synth_cfi;      /* STACK CFI from the machine code for functions
                          * without compiler CFI (off with --no-synth-cfi) */
    bool synth_cfi_everywhere; /* testing: synthesize for every function and
                                * write only that (--synth-cfi-everywhere) */
    bool header_only;    /* only MODULE and INFO (-i) */
    bool inlines;        /* INLINE_ORIGIN/INLINE records (--inlines, -d) */
    bool generator;      /* INFO GENERATOR line (off with --no-generator) */
    const char *name;    /* MODULE name override (-n) */
    const char *arch;    /* a fat Mach-O file's slice (--arch); NULL: the only one */
    const char **debug_dirs; /* roots searched for separate debug files */
    size_t ndebug_dirs;
    const char **dwo_dirs;   /* where split-DWARF .dwo files may be, besides
                              * where the compiler left them */
    size_t ndwo_dirs;
    ds_sup_cache *sup_cache; /* NULL: each dump opens its own */
    /* Last resort for a separate debug file that no --debug-dir has:
     * fetched by build-id (ds_debuginfod_new below); NULL: off. */
    struct ds_debuginfod *debuginfod;
    int jobs;            /* worker threads inside one file; 0 = all cores */
    int verbose;
} ds_options;

void ds_options_init(ds_options *opt);

/* What a dump found, for -v and packager summaries. */
typedef struct ds_summary {
    char debug_file_used[4096]; /* the file DWARF came from ("" if none) */
    char debug_file_url[2048];  /* where it was fetched from ("" if local) */
    size_t compile_units;
    size_t dwarf_errors;        /* units skipped because of corrupt DWARF */
    size_t funcs_described_again; /* by another unit: dropped at the merge */
    size_t synth_cfi_functions; /* functions given synthesized STACK CFI */
    size_t synth_cfi_inits;     /* their STACK CFI INIT records */
    /* Mach-O without a dSYM: the object files its debug map names */
    size_t debug_map_objects;    /* read */
    size_t debug_map_missing;    /* not there */
    size_t debug_map_changed;    /* modified after the link (left out) */
    size_t debug_map_unreadable; /* corrupt, not an object, other CPU (left out) */
} ds_summary;

/* Dumps binary_path (debug_path may be NULL: use the binary or search for
 * its debug file) into m, which the caller has sym_module_init()ed.
 * On success m is finalized. summary may be NULL. */
int ds_dump(const char *binary_path, const char *debug_path, const ds_options *opt, sym_module *m,
            ds_summary *summary, sk_error *err);

/* The architectures of an object file (--list-arch): every slice of a fat
 * Mach-O file, the one of a thin file or an ELF; id: the Mach-O UUID or
 * the ELF build-id in hex ("" when none).  *out malloc'd. */
typedef struct ds_arch_entry {
    char arch[32];
    char id[129];
} ds_arch_entry;
int ds_list_arches(const char *path, ds_arch_entry **out, size_t *n, sk_error *err);

/* The write options matching opt (header only, cfi only, no cfi). */
sym_write_options ds_write_options(const ds_options *opt);

/* Writes m to path atomically (a temporary file renamed into place),
 * streamed as it is formatted. */
int ds_write_file(const sym_module *m, const ds_options *opt, const char *path, sk_error *err);

/* Writes m under store_dir as NAME/DEBUGID/NAME.sym, atomically. The path
 * written is returned in *written (malloc'd) when written is not NULL. */
int ds_write_store(const sym_module *m, const ds_options *opt, const char *store_dir, char **written,
                   sk_error *err);
/* The same with the commit (fsync, rename) handed to commits: SK_OK means
 * handed over, and commits' done reports the outcome with ticket; an
 * error means the file could not be written (nothing was handed over). */
int ds_write_store_handed(const sym_module *m, const ds_options *opt, const char *store_dir,
                          sk_committer *commits, void *ticket, sk_error *err);

/* ---- packager mode ---------------------------------------------------- */

typedef enum ds_pack_status {
    DS_PACK_WRITTEN, /* a .sym was written */
    DS_PACK_EMPTY,   /* valid ELF with nothing to write (reported, not a failure) */
    DS_PACK_FAILED,  /* could not be dumped (message says why) */
    /* Progress events, not outcomes (a callback that only logs outcomes
     * ignores them): */
    DS_PACK_PLAN,         /* once, before the first dump: planned_files and
                             planned_packages are what will be done */
    DS_PACK_PACKAGE_DONE, /* a package (input) has been read to its end or
                             its damage; members = its ELF members */
} ds_pack_status;

/* One file's outcome; strings are valid during the callback only. */
typedef struct ds_pack_result {
    const char *input;
    ds_pack_status status;
    const char *written;    /* store path, when written */
    const char *debug_file; /* where DWARF came from, or NULL */
    const char *debug_file_url; /* the debuginfod URL it was fetched from, or NULL */
    const char *message;    /* why it failed / was empty */
    size_t funcs, publics, cfi;
    size_t cfi_synth_functions; /* functions whose CFI was synthesized */
    const char *package;    /* the package a member came from, else NULL */
    size_t planned_files, planned_packages; /* DS_PACK_PLAN */
    size_t members;                         /* DS_PACK_PACKAGE_DONE */
} ds_pack_result;

typedef void (*ds_pack_report_fn)(const ds_pack_result *r, void *ctx);

typedef struct ds_pack_totals {
    size_t written, empty, failed; /* outcomes, files and package members */
    size_t packages;               /* packages given */
    size_t packages_failed;        /* of those, unreadable or damaged */
    size_t members;                /* ELF members read from packages */
    size_t paired;                 /* binaries dumped with a debug file from the packages */
} ds_pack_totals;

/* Dumps every input (files, and directories walked recursively for ELF
 * files) into store_dir, file_jobs files at a time (0 = all cores).  report
 * is called once per file, serialized, as files complete (and for the
 * progress events above).  Returns SK_OK
 * when no file failed. */
int ds_package(const char *const *inputs, size_t ninputs, const char *store_dir, const ds_options *opt,
               int file_jobs, ds_pack_report_fn report, void *report_ctx, ds_pack_totals *totals);

/* ---- debuginfod ---------------------------------------------------------
 * Debug files and executables by build-id from debuginfod servers, through
 * elfutils' libdebuginfod (debuginfod.c).  ds_debuginfod_new() configures
 * libdebuginfod through its environment variables (DEBUGINFOD_URLS,
 * DEBUGINFOD_CACHE_PATH, DEBUGINFOD_TIMEOUT, DEBUGINFOD_MAXTIME) for the
 * whole process, so call it before starting threads; fetches may then run
 * from any number of threads. */

typedef struct ds_debuginfod ds_debuginfod;

typedef struct ds_debuginfod_config {
    const char *const *urls; /* servers; none: DEBUGINFOD_URLS */
    size_t nurls;
    /* Where libdebuginfod keeps downloads.  NULL: its own choice
     * (DEBUGINFOD_CACHE_PATH, else ~/.cache/debuginfod_client). */
    const char *cache_dir;
    /* A fresh directory inside cache_dir (NULL: $TMPDIR), removed with all
     * downloads by ds_debuginfod_free(): for callers that keep what they
     * made of the files (.sym), not the files. */
    bool private_cache;
    unsigned timeout_secs; /* a whole download at most; 0: libdebuginfod's defaults */
} ds_debuginfod_config;

/* SK_ENOTFOUND when there is no server at all (no URL and DEBUGINFOD_URLS
 * unset or empty), SK_EUSAGE for an entry with a space in it. */
int ds_debuginfod_new(const ds_debuginfod_config *cfg, ds_debuginfod **out, sk_error *err);
void ds_debuginfod_free(ds_debuginfod *d);
/* The servers, space-separated, for messages. */
const char *ds_debuginfod_urls(const ds_debuginfod *d);

typedef enum ds_debuginfod_kind { DS_DEBUGINFOD_DEBUGINFO, DS_DEBUGINFOD_EXECUTABLE } ds_debuginfod_kind;

typedef struct ds_fetch {
    char *path;     /* the downloaded file (in the cache) */
    char *url;      /* where it came from: .../buildid/<hex>/debuginfo */
    uint64_t bytes;
    double seconds; /* spent fetching (0.00 when the cache had it) */
} ds_fetch;

/* Build-ids libdebuginfod looks up are shorter than this (in bytes). */
#define DS_DEBUGINFOD_MAX_BUILD_ID 64

/* Fetches /buildid/<hex>/debuginfo or /executable.  Fails with
 * SK_ENOTFOUND when no server has it, SK_ENET for an unreachable, failing
 * or too slow server (past timeout_secs), SK_EUSAGE for a build-id it
 * cannot look up; the message names the servers,
 * the build-id and the problem.  The file is not checked: that is the
 * caller's job (it is a separate debug file like any other). */
int ds_debuginfod_fetch(ds_debuginfod *d, const uint8_t *build_id, size_t n, ds_debuginfod_kind kind,
                        ds_fetch *out, sk_error *err);
void ds_fetch_free(ds_fetch *f);

/* True when the ELF at path carries its own unwind tables (.eh_frame or
 * .ARM.exidx with their bytes): a whole binary rather than an
 * objcopy --only-keep-debug file, whose allocated sections are empty
 * (NOBITS).  A served debug file like that needs no executable for STACK
 * CFI and PUBLIC records.  False when it cannot be read. */
bool ds_has_own_unwind_tables(const char *path);

#endif
