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
    "usage: symverify capture [options] [--] COMMAND [ARGS...]\n"
    "       symverify lint [options] FILE.sym...\n"
    "       symverify diff [options] OLD.sym NEW.sym\n"
    "       symverify check --symbols DIR|URL [options] DUMP...\n"
    "\n"
    "Captures crashes into minidumps, checks .sym files, and walks dumps against\n"
    "the symbols to measure what a crash report will show.  Details:\n"
    "docs/symverify.md\n"
    "\n"
    "capture: run COMMAND under ptrace; write a minidump if it dies of SIGSEGV,\n"
    "SIGBUS, SIGILL, SIGFPE, SIGABRT or SIGTRAP.  The environment is never\n"
    "recorded.  Exits with COMMAND's status (128 + signal when a signal killed it,\n"
    "127 when it cannot be started).\n"
    "  -o, --output DUMP     where to write the dump (default: COMMAND.dmp)\n"
    "      --max-stack BYTES stack bytes saved per thread, k/M suffixes\n"
    "                        (default: 256k)\n"
    "      --first-chance    dump even when the program handles the signal\n"
    "                        (default: only when the signal would kill it)\n"
    "  -q, --quiet           no summary line on stderr\n"
    "\n"
    "lint: check .sym files for format errors (order, syntax, overlaps, lines\n"
    "outside their FUNC, INLINE depth, dangling FILE/ORIGIN ids, ...) and print\n"
    "quality figures (CFI and line coverage).\n"
    "      --json            print JSON instead of text (default: text)\n"
    "      --strict          fail on warnings too (default: errors only)\n"
    "\n"
    "diff: what NEW lost or gained against OLD: functions, line records, CFI,\n"
    "inlines, coverage.\n"
    "      --json            print JSON instead of text (default: text)\n"
    "      --all             list every difference (default: a summary and the\n"
    "                        first few of each kind)\n"
    "\n"
    "check: walk each dump against the symbols and report frames by trust, frames\n"
    "with function and file:line, and modules without symbols.\n"
    "      --symbols DIR|URL a symbol store directory or server (required)\n"
    "      --symbols-cache DIR  keep downloaded .sym files here (default: none)\n"
    "      --expect FILE     call chains to find, module!function per line\n"
    "                        (default: none)\n"
    "      --baseline REPORT fail on any regression against an earlier --json\n"
    "                        report (default: no baseline)\n"
    "      --json OUT        write the JSON report to OUT, '-' for stdout\n"
    "                        (default: text on stdout)\n"
    "      --min-cfi F       least share of frames found by CFI (F: 0.8 or 80%;\n"
    "                        default: no threshold)\n"
    "      --min-symbolicated F  least share of frames with a function\n"
    "                        (default: no threshold)\n"
    "      --min-lines F     least share of frames with file:line\n"
    "                        (default: no threshold)\n"
    "      --max-scanned N   most frames found by stack scanning\n"
    "                        (default: no limit)\n"
    "      --max-missing N   most modules without symbols (default: no limit)\n"
    "      --debuginfod URL  a debuginfod server (repeatable): symbols of modules no\n"
    "                        store has are made from the debug files it has for\n"
    "                        their build-ids, as stackwalk --debuginfod does; then\n"
    "                        --symbols may be left out (default: off, on when\n"
    "                        DEBUGINFOD_URLS is set and not empty)\n"
    "      --no-debuginfod   off, even when DEBUGINFOD_URLS is set\n"
    "      --symbols-download-timeout-secs N  a debuginfod download at most\n"
    "                        (default 30)\n"
    "\n"
    "general:\n"
    "  -h, --help            this text (also: symverify COMMAND --help)\n"
    "      --version         print the version\n"
    "\n"
    "Exit status: capture mirrors the command; otherwise 0 pass, 1 quality\n"
    "failure (lint errors, diff loss, check failure), 2 usage or input error.\n";

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

static int print_buf(sk_buf *b)
{
    if (b->len)
        fwrite(b->data, 1, b->len, stdout);
    sk_buf_free(b);
    return fflush(stdout) == 0 ? 0 : 2;
}

static int cmd_lint(int argc, char **argv)
{
    bool json = false, strict = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        if (strcmp(argv[i], "--") == 0) {
            i++;
            break;
        }
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--strict") == 0)
            strict = true;
        else
            return usage_error("lint: unknown option '%s'", argv[i]);
    }
    if (i >= argc)
        return usage_error("%s", "lint: no .sym file given");
    size_t n = (size_t)(argc - i);
    sv_lint_report *reps = sk_xcalloc(n, sizeof *reps);
    int status = 0;
    for (size_t k = 0; k < n; k++) {
        sk_error err;
        sk_error_clear(&err);
        if (sv_lint_file(argv[i + (int)k], &reps[k], &err) != SK_OK) {
            fprintf(stderr, "symverify: %s\n", err.msg);
            status = 2;
        } else if (reps[k].errors || (strict && reps[k].warnings)) {
            if (status == 0)
                status = 1;
        }
    }
    sk_buf out;
    sk_buf_init(&out);
    if (json)
        sv_lint_format_json(reps, n, &out);
    else
        sv_lint_format_text(reps, n, &out);
    if (print_buf(&out))
        status = 2;
    for (size_t k = 0; k < n; k++)
        sv_lint_report_free(&reps[k]);
    free(reps);
    return status;
}

static int cmd_diff(int argc, char **argv)
{
    bool json = false, all = false;
    const char *files[2];
    int nfiles = 0;
    bool opts = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (opts && strcmp(a, "--") == 0) {
            opts = false;
        } else if (opts && strcmp(a, "--json") == 0) {
            json = true;
        } else if (opts && strcmp(a, "--all") == 0) {
            all = true;
        } else if (opts && a[0] == '-' && a[1]) {
            return usage_error("diff: unknown option '%s'", a);
        } else {
            if (nfiles == 2)
                return usage_error("diff: unexpected argument '%s' (diff takes OLD.sym NEW.sym)", a);
            files[nfiles++] = a;
        }
    }
    if (nfiles != 2)
        return usage_error("%s", "diff: needs OLD.sym and NEW.sym");
    sv_diff_report rep;
    sk_error err;
    sk_error_clear(&err);
    if (sv_diff_files(files[0], files[1], &rep, &err) != SK_OK) {
        fprintf(stderr, "symverify: %s\n", err.msg);
        sv_diff_report_free(&rep);
        return 2;
    }
    sk_buf out;
    sk_buf_init(&out);
    if (json)
        sv_diff_format_json(&rep, &out);
    else
        sv_diff_format_text(&rep, all ? 0 : 20, &out);
    int status = sv_diff_has_loss(&rep) ? 1 : 0;
    if (print_buf(&out))
        status = 2;
    sv_diff_report_free(&rep);
    return status;
}

static bool parse_fraction(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s)
        return false;
    if (*end == '%')
        v /= 100, end++;
    if (*end || !(v >= 0 && v <= 1))
        return false;
    *out = v;
    return true;
}

static bool parse_count(const char *s, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0)
        return false;
    *out = v;
    return true;
}

static int cmd_check(int argc, char **argv)
{
    sv_check_options opt;
    sv_check_options_init(&opt);
    const char **paths = sk_xcalloc((size_t)argc + 1, sizeof *paths);
    const char **urls = sk_xcalloc((size_t)argc + 1, sizeof *urls);
    const char **dumps = sk_xcalloc((size_t)argc + 1, sizeof *dumps);
    const char **dbgi = sk_xcalloc((size_t)argc + 1, sizeof *dbgi);
    size_t npaths = 0, nurls = 0, ndumps = 0, ndbgi = 0;
    bool no_debuginfod = false;
    const char *json_out = NULL;
    int status = 0;
    bool opts = true;
    for (int i = 1; i < argc && status == 0; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!opts || a[0] != '-' || !a[1]) {
            dumps[ndumps++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            opts = false;
            continue;
        }
        if (strcmp(a, "--no-debuginfod") == 0) {
            no_debuginfod = true;
            continue;
        }
        bool takes = strcmp(a, "--symbols") == 0 || strcmp(a, "--symbols-cache") == 0 ||
                     strcmp(a, "--expect") == 0 || strcmp(a, "--baseline") == 0 ||
                     strcmp(a, "--json") == 0 || strcmp(a, "--min-cfi") == 0 ||
                     strcmp(a, "--min-symbolicated") == 0 || strcmp(a, "--min-lines") == 0 ||
                     strcmp(a, "--max-scanned") == 0 || strcmp(a, "--max-missing") == 0 ||
                     strcmp(a, "--debuginfod") == 0 || strcmp(a, "--symbols-download-timeout-secs") == 0;
        if (!takes) {
            status = usage_error("check: unknown option '%s'", a);
            break;
        }
        if (!v) {
            status = usage_error("check: %s needs a value", a);
            break;
        }
        i++;
        if (strcmp(a, "--symbols") == 0) {
            if (strncmp(v, "http://", 7) == 0 || strncmp(v, "https://", 8) == 0 ||
                strncmp(v, "s3://", 5) == 0) /* a bucket: stackwalk's S3 source reads it */
                urls[nurls++] = v;
            else
                paths[npaths++] = v;
        } else if (strcmp(a, "--symbols-cache") == 0) {
            opt.symbols_cache = v;
        } else if (strcmp(a, "--debuginfod") == 0) {
            dbgi[ndbgi++] = v;
        } else if (strcmp(a, "--symbols-download-timeout-secs") == 0) {
            long secs;
            if (!parse_count(v, &secs) || secs < 1 || secs > 1000000)
                status = usage_error("check: %s needs a number of seconds (1 or more)", a);
            else
                opt.download_timeout_secs = (unsigned)secs;
        } else if (strcmp(a, "--expect") == 0) {
            opt.expect_path = v;
        } else if (strcmp(a, "--baseline") == 0) {
            opt.baseline_path = v;
        } else if (strcmp(a, "--json") == 0) {
            json_out = v;
        } else if (strcmp(a, "--min-cfi") == 0 || strcmp(a, "--min-symbolicated") == 0 ||
                   strcmp(a, "--min-lines") == 0) {
            double *dst = strcmp(a, "--min-cfi") == 0            ? &opt.min_cfi
                          : strcmp(a, "--min-symbolicated") == 0 ? &opt.min_symbolicated
                                                                 : &opt.min_lines;
            if (!parse_fraction(v, dst))
                status = usage_error("check: %s needs a fraction between 0 and 1 (or a percentage)", a);
        } else {
            long *dst = strcmp(a, "--max-scanned") == 0 ? &opt.max_scanned : &opt.max_missing;
            if (!parse_count(v, dst))
                status = usage_error("check: %s needs a count", a);
        }
    }
    const char *env_urls = getenv("DEBUGINFOD_URLS");
    bool env_on = env_urls && env_urls[strspn(env_urls, " \t\n")] != '\0';
    opt.debuginfod = !no_debuginfod && (ndbgi > 0 || env_on);
    /* debuginfod alone is a symbol source too */
    if (status == 0 && npaths + nurls == 0 && !opt.debuginfod)
        status = usage_error("%s", "check: no --symbols DIR|URL (or --debuginfod URL) given");
    if (status == 0 && ndumps == 0)
        status = usage_error("%s", "check: no dump given");
    if (status) {
        free(paths), free(urls), free(dumps), free(dbgi);
        return status;
    }
    opt.debuginfod_urls = dbgi;
    opt.ndebuginfod_urls = ndbgi;
    /* a module whose download failed is a warning line, not a failed check */
    if (opt.debuginfod)
        sk_log_set_sink(sk_log_stderr_sink, (void *)"symverify", SK_LOG_WARN);
    opt.symbol_paths = paths;
    opt.nsymbol_paths = npaths;
    opt.symbol_urls = urls;
    opt.nsymbol_urls = nurls;

    sv_check_report rep;
    sk_error err;
    sk_error_clear(&err);
    if (sv_check(&opt, dumps, ndumps, &rep, &err) != SK_OK) {
        fprintf(stderr, "symverify: %s\n", err.msg);
        status = 2;
    } else {
        status = rep.failures.n ? 1 : 0;
        bool json_stdout = json_out && strcmp(json_out, "-") == 0;
        if (json_out) {
            sk_buf j;
            sk_buf_init(&j);
            sv_check_format_json(&rep, &j);
            if (json_stdout) {
                if (print_buf(&j))
                    status = 2;
            } else {
                if (sk_write_file_atomic(json_out, j.data, j.len, &err) != SK_OK) {
                    fprintf(stderr, "symverify: %s\n", err.msg);
                    status = 2;
                }
                sk_buf_free(&j);
            }
        }
        if (!json_stdout) {
            sk_buf t;
            sk_buf_init(&t);
            sv_check_format_text(&rep, &t);
            if (print_buf(&t))
                status = 2;
        }
    }
    sv_check_report_free(&rep);
    free(paths), free(urls), free(dumps), free(dbgi);
    return status;
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
    /* "symverify check --help" and friends: the one usage text covers all. */
    if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(cmd, "capture") == 0)
        return cmd_capture(argc - 1, argv + 1);
    if (strcmp(cmd, "lint") == 0)
        return cmd_lint(argc - 1, argv + 1);
    if (strcmp(cmd, "diff") == 0)
        return cmd_diff(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check(argc - 1, argv + 1);
    if (cmd[0] == '-')
        return usage_error("unknown option '%s'", cmd);
    return usage_error("unknown command '%s'", cmd);
}
