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
    const char **debug_dirs; /* roots searched for separate debug files */
    size_t ndebug_dirs;
    const char **dwo_dirs;   /* where split-DWARF .dwo files may be, besides
                              * where the compiler left them */
    size_t ndwo_dirs;
    int jobs;            /* worker threads inside one file; 0 = all cores */
    int verbose;
} ds_options;

void ds_options_init(ds_options *opt);

/* What a dump found, for -v and packager summaries. */
typedef struct ds_summary {
    char debug_file_used[4096]; /* the file DWARF came from ("" if none) */
    size_t compile_units;
    size_t dwarf_errors;        /* units skipped because of corrupt DWARF */
    size_t funcs_described_again; /* by another unit: dropped at the merge */
    size_t synth_cfi_functions; /* functions given synthesized STACK CFI */
    size_t synth_cfi_inits;     /* their STACK CFI INIT records */
} ds_summary;

/* Dumps binary_path (debug_path may be NULL: use the binary or search for
 * its debug file) into m, which the caller has sym_module_init()ed.
 * On success m is finalized. summary may be NULL. */
int ds_dump(const char *binary_path, const char *debug_path, const ds_options *opt, sym_module *m,
            ds_summary *summary, sk_error *err);

/* The write options matching opt (header only, cfi only, no cfi). */
sym_write_options ds_write_options(const ds_options *opt);

/* Writes m under store_dir as NAME/DEBUGID/NAME.sym, atomically. The path
 * written is returned in *written (malloc'd) when written is not NULL. */
int ds_write_store(const sym_module *m, const ds_options *opt, const char *store_dir, char **written,
                   sk_error *err);

/* ---- packager mode ---------------------------------------------------- */

typedef enum ds_pack_status {
    DS_PACK_WRITTEN, /* a .sym was written */
    DS_PACK_EMPTY,   /* valid ELF with nothing to write (reported, not a failure) */
    DS_PACK_FAILED,  /* could not be dumped (message says why) */
} ds_pack_status;

/* One file's outcome; strings are valid during the callback only. */
typedef struct ds_pack_result {
    const char *input;
    ds_pack_status status;
    const char *written;    /* store path, when written */
    const char *debug_file; /* where DWARF came from, or NULL */
    const char *message;    /* why it failed / was empty */
    size_t funcs, publics, cfi;
    size_t cfi_synth_functions; /* functions whose CFI was synthesized */
} ds_pack_result;

typedef void (*ds_pack_report_fn)(const ds_pack_result *r, void *ctx);

typedef struct ds_pack_totals {
    size_t written, empty, failed;
} ds_pack_totals;

/* Dumps every input (files, and directories walked recursively for ELF
 * files) into store_dir, file_jobs files at a time (0 = all cores).  report
 * is called once per file, serialized, as files complete.  Returns SK_OK
 * when no file failed. */
int ds_package(const char *const *inputs, size_t ninputs, const char *store_dir, const ds_options *opt,
               int file_jobs, ds_pack_report_fn report, void *report_ctx, ds_pack_totals *totals);

#endif
