/*
 * symverify: the command line over verify/.  Parses arguments, calls the
 * library, prints, and maps results to exit codes (see docs/symverify.md).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "verify.h"

static const char usage_text[] =
    "usage: symverify COMMAND [OPTIONS] ...\n"
    "\n"
    "commands:\n"
    "  capture [-o DUMP] [--max-stack BYTES] [--first-chance] -- COMMAND [ARGS...]\n"
    "      run COMMAND under ptrace; write a minidump if it dies of SIGSEGV,\n"
    "      SIGBUS, SIGILL, SIGFPE, SIGABRT or SIGTRAP.  Exits with COMMAND's\n"
    "      status (128 + signal when a signal killed it).\n"
    "\n"
    "  --help, -h     this text\n"
    "  --version      print the version\n"
    "\n"
    "exit codes: capture mirrors the command; 2 usage or input error.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "symverify: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, " (see symverify --help)\n");
    return 2;
}

static bool parse_size(const char *s, size_t *out)
{
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s)
        return false;
    if (*end == 'k' || *end == 'K')
        v <<= 10, end++;
    else if (*end == 'm' || *end == 'M')
        v <<= 20, end++;
    if (*end || v == 0 || v > (1ull << 30))
        return false;
    *out = (size_t)v;
    return true;
}

static int cmd_capture(int argc, char **argv)
{
    sv_capture_options opt;
    memset(&opt, 0, sizeof opt);
    bool quiet = false;
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (++i >= argc)
                return usage_error("%s needs a file name", a);
            opt.dump_path = argv[i];
        } else if (strcmp(a, "--max-stack") == 0) {
            if (++i >= argc || !parse_size(argv[i], &opt.max_stack))
                return usage_error("%s needs a size in bytes (e.g. 256k)", a);
        } else if (strcmp(a, "--first-chance") == 0) {
            opt.first_chance = true;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            quiet = true;
        } else if (a[0] == '-') {
            return usage_error("capture: unknown option '%s'", a);
        } else {
            break; /* the command, without "--" */
        }
    }
    if (i >= argc)
        return usage_error("%s", "capture: no command to run");
    char *def = NULL;
    if (!opt.dump_path) {
        size_t n = strlen(sk_basename(argv[i])) + 8;
        def = sk_xmalloc(n);
        snprintf(def, n, "%s.dmp", sk_basename(argv[i]));
        opt.dump_path = def;
    }
    opt.argv = argv + i;
    sv_capture_result res;
    sk_error err;
    sk_error_clear(&err);
    int rc = sv_capture(&opt, &res, &err);
    if (rc != SK_OK) {
        fprintf(stderr, "symverify: %s\n", err.msg);
        free(def);
        /* a command that cannot be started: the shell's 127 */
        return res.exited || res.dumped ? 2 : (rc == SK_EIO && !res.exited ? 127 : 2);
    }
    if (!quiet) {
        if (res.dumped)
            fprintf(stderr, "symverify: SIG%s in thread %d: wrote %s (%zu threads, %zu modules, %zu bytes)\n",
                    sigabbrev_np(res.dump_signal) ? sigabbrev_np(res.dump_signal) : "?",
                    res.dump_tid, opt.dump_path, res.threads, res.modules, res.dump_bytes);
        else if (res.term_signal)
            fprintf(stderr, "symverify: %s killed by SIG%s, no dump written\n", opt.argv[0],
                    sigabbrev_np(res.term_signal) ? sigabbrev_np(res.term_signal) : "?");
    }
    free(def);
    return res.exit_status;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("%s", "missing command");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("symverify (symkit) %s\n", SK_VERSION);
        return 0;
    }
    if (strcmp(cmd, "capture") == 0)
        return cmd_capture(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return usage_error("unknown option '%s'", cmd);
    return usage_error("unknown command '%s'", cmd);
}
