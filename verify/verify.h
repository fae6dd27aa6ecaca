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

#endif
