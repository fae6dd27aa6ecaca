/* main.c — the stackwalk command line: arguments in, report out. */
#include "stackwalk.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: stackwalk [options] DUMP [SYMBOL_PATH...]\n"
          "\n"
          "Walks every thread of a minidump and symbolizes the frames with\n"
          "Breakpad .sym files.\n"
          "\n"
          "output (one of):\n"
          "  --human               crash reason, threads and modules for people (default)\n"
          "  --brief               like --human, only the crashing thread\n"
          "  --json                rust-minidump minidump-stackwalk JSON\n"
          "  --pretty              indented JSON (implies --json)\n"
          "  -m, --machine         Breakpad minidump_stackwalk -m pipe format\n"
          "\n"
          "symbols:\n"
          "  --symbols-path PATH   a store directory (NAME/DEBUGID/NAME.sym) or a .sym\n"
          "                        file; repeatable; extra arguments after DUMP too\n"
          "  --symbols-url URL     a symbol server; repeatable, tried in order\n"
          "  --symbols-cache DIR   keep downloaded .sym files here (store layout)\n"
          "  --timeout SECONDS     per HTTP request (default 30)\n"
          "  --symbols-tmp DIR     scratch space for downloads (default $TMPDIR, else /tmp)\n"
          "  --symbols-download-timeout-secs N\n"
          "                        a whole debuginfod download at most (default 1000)\n"
          "  --debuginfod URL      a debuginfod server (repeatable): for a module with\n"
          "                        an ELF build-id whose .sym none of the above has,\n"
          "                        fetch its debug file and executable, make the .sym\n"
          "                        (kept in --symbols-cache) and use it.  Off by\n"
          "                        default (it sends build-ids to the server); also on\n"
          "                        when DEBUGINFOD_URLS is set and not empty\n"
          "  --no-debuginfod       off, even when DEBUGINFOD_URLS is set\n"
          "\n"
          "other:\n"
          "  --max-frames N        frames per thread at most (default 1024)\n"
          "  -o, --output FILE     write the report to FILE instead of stdout\n"
          "  -v, --verbose         log symbol lookups and download problems\n"
          "  -h, --help            this text\n"
          "      --version         print the version\n"
          "\n"
          "Exit status: 0 report written (missing symbols are not an error),\n"
          "1 the dump cannot be read, 2 bad usage.\n",
          f);
}

enum { OPT_JSON = 256, OPT_PRETTY, OPT_HUMAN, OPT_BRIEF, OPT_SYMPATH, OPT_SYMURL, OPT_CACHE, OPT_TIMEOUT,
       OPT_MAXFRAMES, OPT_VERSION, OPT_SYMTMP, OPT_DLTIMEOUT, OPT_DEBUGINFOD, OPT_NO_DEBUGINFOD };

static int run(int argc, char **argv, const char **paths, const char **urls, const char **dbgi)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"pretty", no_argument, NULL, OPT_PRETTY},
        {"human", no_argument, NULL, OPT_HUMAN},
        {"brief", no_argument, NULL, OPT_BRIEF},
        {"machine", no_argument, NULL, 'm'},
        {"symbols-path", required_argument, NULL, OPT_SYMPATH},
        {"symbols-url", required_argument, NULL, OPT_SYMURL},
        {"symbols-cache", required_argument, NULL, OPT_CACHE},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"symbols-tmp", required_argument, NULL, OPT_SYMTMP},
        {"symbols-download-timeout-secs", required_argument, NULL, OPT_DLTIMEOUT},
        {"debuginfod", required_argument, NULL, OPT_DEBUGINFOD},
        {"no-debuginfod", no_argument, NULL, OPT_NO_DEBUGINFOD},
        {"max-frames", required_argument, NULL, OPT_MAXFRAMES},
        {"output", required_argument, NULL, 'o'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    enum { HUMAN, BRIEF, JSON, PRETTY, MACHINE } mode = HUMAN;
    size_t npaths = 0, nurls = 0, ndbgi = 0;
    bool no_debuginfod = false;
    sw_options opt = {0};
    const char *output = NULL;
    bool verbose = false;
    int c;
    opterr = 0; /* one line of our own instead of getopt's message */
    while ((c = getopt_long(argc, argv, ":mo:vh", longopts, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case OPT_JSON: mode = mode == PRETTY ? PRETTY : JSON; break;
        case OPT_PRETTY: mode = PRETTY; break;
        case OPT_HUMAN: mode = HUMAN; break;
        case OPT_BRIEF: mode = BRIEF; break;
        case 'm': mode = MACHINE; break;
        case OPT_SYMPATH: paths[npaths++] = optarg; break;
        case OPT_SYMURL: urls[nurls++] = optarg; break;
        case OPT_CACHE: opt.symbols_cache = optarg; break;
        case OPT_SYMTMP: opt.symbols_tmp = optarg; break;
        case OPT_DEBUGINFOD: dbgi[ndbgi++] = optarg; break;
        case OPT_NO_DEBUGINFOD: no_debuginfod = true; break;
        case OPT_TIMEOUT:
        case OPT_MAXFRAMES:
        case OPT_DLTIMEOUT:
            if (!sk_parse_dec(optarg, strlen(optarg), &v) || v == 0 || v > 1000000) {
                fprintf(stderr, "stackwalk: %s: expected a positive number, got '%s'\n",
                        c == OPT_TIMEOUT     ? "--timeout"
                        : c == OPT_DLTIMEOUT ? "--symbols-download-timeout-secs"
                                             : "--max-frames",
                        optarg);
                return 2;
            }
            if (c == OPT_TIMEOUT)
                opt.http_timeout = (unsigned)v;
            else if (c == OPT_DLTIMEOUT)
                opt.symbols_download_timeout_secs = (unsigned)v;
            else
                opt.max_frames = (unsigned)v;
            break;
        case 'o': output = optarg; break;
        case 'v': verbose = true; break;
        case 'h': usage(stdout); return 0;
        case OPT_VERSION: printf("stackwalk (symkit) %s\n", SK_VERSION); return 0;
        case ':':
            fprintf(stderr, "stackwalk: option '%s' needs a value (see --help)\n", argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "stackwalk: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind >= argc) {
        fputs("stackwalk: no minidump given (see --help)\n", stderr);
        return 2;
    }
    const char *dump_path = argv[optind++];
    while (optind < argc)
        paths[npaths++] = argv[optind++];
    opt.symbol_paths = paths;
    opt.nsymbol_paths = npaths;
    opt.symbol_urls = urls;
    opt.nsymbol_urls = nurls;
    opt.crashing_thread_only = mode == BRIEF;
    /* debuginfod: --debuginfod URL, or DEBUGINFOD_URLS (the variable every
     * debuginfod client reads); --no-debuginfod overrides both. */
    const char *env_urls = getenv("DEBUGINFOD_URLS");
    bool env_on = env_urls && env_urls[strspn(env_urls, " \t\n")] != '\0';
    opt.debuginfod = !no_debuginfod && (ndbgi > 0 || env_on);
    opt.debuginfod_urls = dbgi;
    opt.ndebuginfod_urls = ndbgi;
    sk_log_set_sink(sk_log_stderr_sink, (void *)"stackwalk", verbose ? SK_LOG_DEBUG : SK_LOG_ERROR);

    sk_error err = {0};
    sw_minidump *dump;
    if (sw_minidump_open(dump_path, &dump, &err)) {
        fprintf(stderr, "stackwalk: %s\n", err.msg);
        return 1;
    }
    sw_report *report;
    if (sw_process(dump, &opt, &report, &err)) {
        fprintf(stderr, "stackwalk: %s\n", err.msg);
        sw_minidump_close(dump);
        return 1;
    }
    FILE *out = stdout;
    if (output && !(out = fopen(output, "w"))) {
        fprintf(stderr, "stackwalk: %s: cannot create\n", output);
        sw_report_free(report);
        sw_minidump_close(dump);
        return 2;
    }
    int rc;
    switch (mode) {
    case JSON:
    case PRETTY: rc = sw_report_write_json(report, mode == PRETTY, out, &err); break;
    case MACHINE: rc = sw_report_write_machine(report, out, &err); break;
    default: rc = sw_report_write_human(report, mode == BRIEF, out, &err); break;
    }
    if (out != stdout && fclose(out) != 0 && !rc)
        rc = sk_fail(&err, SK_EIO, "%s: write failed", output);
    if (rc)
        fprintf(stderr, "stackwalk: %s\n", err.msg);
    sw_report_free(report);
    sw_minidump_close(dump);
    return rc ? 2 : 0;
}

int main(int argc, char **argv)
{
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    const char **urls = calloc((size_t)argc + 1, sizeof *urls);
    const char **dbgi = calloc((size_t)argc + 1, sizeof *dbgi);
    if (!paths || !urls || !dbgi) {
        fputs("stackwalk: out of memory\n", stderr);
        return 2;
    }
    int rc = run(argc, argv, paths, urls, dbgi);
    free(paths);
    free(urls);
    free(dbgi);
    return rc;
}
