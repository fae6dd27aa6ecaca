/*
 * verify — proof that symbols are good enough to read a crash.
 *
 * symverify is the CI gate of the pipeline.  It captures real crashes of a
 * program as minidumps (ptrace, no cooperation from the program needed), lints
 * and compares .sym files, and walks dumps against a symbol store to measure
 * how readable the stacks are (frames by trust, functions, file:line), so a
 * build turns red when its symbols get worse than an earlier build's.
 *
 * The capture half writes the minidump format that Breakpad's and
 * rust-minidump's processors read (streams listed in docs/symverify.md); the
 * check half is a thin layer over stackwalk/; lint and diff sit on symfile/.
 * Like every symkit library it never prints or exits: results come back in
 * structures, failures as an sk_status with an sk_error message.
 */
#ifndef SYMKIT_VERIFY_H
#define SYMKIT_VERIFY_H

#include "common.h"

/* ---- capture ------------------------------------------------------------ */

typedef struct sv_capture_options {
    const char *dump_path;    /* where the minidump goes (required) */
    char *const *argv;        /* command and its arguments, NULL-terminated */
    size_t max_stack;         /* bytes of stack kept per thread; 0: 256 KiB */
    bool first_chance;        /* dump even when the program catches the signal */
} sv_capture_options;

typedef struct sv_capture_result {
    int exit_status;   /* shell style: the exit code, or 128 + signal */
    bool exited;       /* the child ran to its end (normally or by a signal) */
    int term_signal;   /* the signal that killed the child, or 0 */
    bool dumped;       /* a minidump was written */
    int dump_signal;   /* the signal that triggered the dump */
    int dump_tid;      /* the thread that received it */
    size_t threads;    /* threads in the dump */
    size_t modules;    /* modules in the dump */
    size_t dump_bytes; /* size of the dump */
} sv_capture_result;

/* Runs argv[0] (PATH search) under ptrace until it ends.  When a thread is
 * about to die of SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT or SIGTRAP, every
 * thread is stopped and a minidump is written before the signal is let
 * through, so the program still dies the way it would have.  Other signals
 * pass through untouched.  Fails (SK_EIO) when the command cannot be started
 * or traced, or the dump cannot be written; a program that does not crash is
 * a success without a dump. */
int sv_capture(const sv_capture_options *opt, sv_capture_result *res, sk_error *err);

/* ---- lint ---------------------------------------------------------------- */

typedef enum sv_severity { SV_ERROR, SV_WARNING } sv_severity;

/* One problem found in a .sym file.  code is a stable short name
 * ("overlapping-func", "dangling-file", ...: docs/symverify.md lists them)
 * shared by the human and JSON outputs. */
typedef struct sv_finding {
    sv_severity severity;
    const char *code;
    size_t line_no; /* 1-based, 0 when the finding is about the whole file */
    char *msg;
} sv_finding;

/* Quality figures of one .sym file. */
typedef struct sv_sym_stats {
    size_t lines, records, bad_lines;
    size_t funcs, publics, line_records, inlines, files, origins;
    size_t cfi_inits, cfi_rows, stack_win;
    size_t cfi_synthesized; /* INITs dumpsyms derived from machine code
                             * (its "INFO CFI_SYNTHESIZED N" line) */
    size_t funcs_without_lines;
    uint64_t func_bytes;           /* bytes covered by FUNC records */
    uint64_t func_bytes_with_cfi;  /* ... of which a STACK CFI INIT covers */
    uint64_t func_bytes_with_lines; /* ... of which line records cover */
    bool public_only;              /* PUBLICs but no FUNC: no lines, no inlines */
} sv_sym_stats;

typedef struct sv_lint_report {
    char *path;
    sv_sym_stats stats;
    sv_finding *findings; /* at most SV_LINT_MAX_FINDINGS kept, in file order */
    size_t nfindings, findings_cap;
    size_t errors, warnings; /* all of them, kept or not */
} sv_lint_report;

#define SV_LINT_MAX_FINDINGS 200

/* Lints .sym text.  Fails only when the text is not a .sym file at all (no
 * MODULE first line) or cannot be read; everything else is a finding. */
int sv_lint_mem(const char *name, const char *data, size_t len, sv_lint_report *rep, sk_error *err);
int sv_lint_file(const char *path, sv_lint_report *rep, sk_error *err);
void sv_lint_report_free(sv_lint_report *rep);
/* Human text and JSON forms of a set of reports. */
void sv_lint_format_text(const sv_lint_report *reps, size_t n, sk_buf *out);
void sv_lint_format_json(const sv_lint_report *reps, size_t n, sk_buf *out);

/* ---- diff ---------------------------------------------------------------- */

typedef struct sv_names {
    char **v;
    size_t n, cap;
} sv_names;
void sv_names_add(sv_names *l, const char *s); /* copies s */
void sv_names_free(sv_names *l);

/* What changed between two builds' .sym files of one module.  Functions are
 * matched by name (a multiset: static functions may share one). */
typedef struct sv_diff_report {
    char *old_path, *new_path;
    char *old_id, *new_id;      /* debug ids, for the header line */
    sv_sym_stats old_stats, new_stats;
    sv_names funcs_lost, funcs_gained;
    sv_names lines_lost;        /* had line records, has none now */
    sv_names lines_gained;
    sv_names cfi_lost;          /* its entry had STACK CFI, has none now */
    sv_names cfi_gained;
    sv_names inlines_lost, inlines_gained; /* inline origins in use */
    /* PUBLIC names that are no symbol (PUBLIC or FUNC) at all on the other
     * side: what a stripped symbol table loses */
    sv_names publics_lost, publics_gained;
} sv_diff_report;

int sv_diff_files(const char *old_path, const char *new_path, sv_diff_report *rep, sk_error *err);
/* Anything lost: functions, lines, CFI, inlines, or a lower coverage. */
bool sv_diff_has_loss(const sv_diff_report *rep);
void sv_diff_report_free(sv_diff_report *rep);
/* max_names: how many names to list per category (0: all). */
void sv_diff_format_text(const sv_diff_report *rep, size_t max_names, sk_buf *out);
void sv_diff_format_json(const sv_diff_report *rep, sk_buf *out);

/* ---- check ---------------------------------------------------------------- */

/* Frame counts of one thread or a set of threads.  Trust names as in
 * stackwalk (context, prewalked, cfi, frame_pointer, cfi_scan, scan). */
typedef struct sv_frame_counts {
    size_t frames;
    size_t context, prewalked, cfi, frame_pointer, cfi_scan, scan;
    size_t with_function; /* a function name (FUNC, PUBLIC or inline) */
    size_t with_line;     /* a file and line */
} sv_frame_counts;

typedef struct sv_chain_result {
    char *chain;   /* "module!function > module!function ..." */
    bool passed;
    char *message; /* why it failed, NULL when it passed */
} sv_chain_result;

typedef struct sv_dump_metrics {
    char *path, *name;      /* name: the dump's file name, the baseline key */
    char *crash_type;       /* "SIGSEGV /SEGV_MAPERR" or NULL */
    uint64_t crash_address;
    size_t threads;
    sv_frame_counts crashing; /* the crashing thread */
    sv_frame_counts all;      /* every thread */
    size_t frames_before_scan; /* crashing thread: frames before the first scanned one */
    sv_names on_stack;        /* modules some frame is in */
    sv_names missing, mismatched, corrupt; /* ... without good symbols */
    sv_chain_result *chains;
    size_t nchains;
} sv_dump_metrics;

typedef struct sv_check_options {
    const char *const *symbol_paths; /* local stores or .sym files */
    size_t nsymbol_paths;
    const char *const *symbol_urls;  /* symbol servers */
    size_t nsymbol_urls;
    const char *symbols_cache;       /* NULL: downloads kept in memory */
    /* debuginfod, as stackwalk's sw_options: on when set; the servers are
     * debuginfod_urls, or DEBUGINFOD_URLS when there are none */
    bool debuginfod;
    const char *const *debuginfod_urls;
    size_t ndebuginfod_urls;
    unsigned download_timeout_secs;  /* 0: stackwalk's default */
    const char *expect_path;         /* --expect FILE, or NULL */
    const char *baseline_path;       /* --baseline REPORT (our JSON), or NULL */
    /* thresholds over each dump's crashing thread; < 0: not set */
    double min_cfi;          /* share of caller frames found by CFI */
    double min_symbolicated; /* share of frames with a function */
    double min_lines;        /* share of frames with file:line */
    long max_scanned;        /* frames found by scanning */
    long max_missing;        /* modules on the stack without symbols */
} sv_check_options;

void sv_check_options_init(sv_check_options *opt);

typedef struct sv_check_report {
    sv_dump_metrics *dumps;
    size_t ndumps;
    sv_dump_metrics total; /* sums (names lists stay empty) */
    sv_names failures;     /* one readable line per failed check */
} sv_check_report;

/* Walks every dump with stackwalk and measures it, then applies --expect,
 * the baseline and the thresholds.  Quality failures are listed in
 * rep->failures (status SK_OK); an unreadable dump, expect file or baseline
 * is an error. */
int sv_check(const sv_check_options *opt, const char *const *dumps, size_t ndumps,
             sv_check_report *rep, sk_error *err);
void sv_check_report_free(sv_check_report *rep);
void sv_check_format_text(const sv_check_report *rep, sk_buf *out);
void sv_check_format_json(const sv_check_report *rep, sk_buf *out);

#endif
