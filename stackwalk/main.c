/* main.c — the stackwalk command line: arguments in, report out.
 *
 * The flags are rust-minidump's minidump-stackwalk's, so that a pipeline
 * written for it (Socorro runs it as a subprocess with --evil-json,
 * --symbols-cache, --symbols-tmp, --output-file, --log-file, --json,
 * --verbose=error) can run this binary unchanged; the older symkit
 * spellings (-o, --timeout, -m/--machine, -v) still work. */
#include "stackwalk.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: stackwalk [options] DUMP [SYMBOL_PATH...]\n"
          "\n"
          "Walks every thread of a minidump and symbolizes the frames with\n"
          "Breakpad .sym files.  The flags are rust-minidump minidump-stackwalk's.\n"
          "\n"
          "output (one of; default --human):\n"
          "  --human               crash reason, threads and modules for people\n"
          "  --brief               with --human: only the crashing thread, no module list\n"
          "  --json                rust-minidump minidump-stackwalk JSON\n"
          "  --pretty              indented JSON (implies --json)\n"
          "  --cyborg FILE         --human on the output, and the JSON written to FILE\n"
          "                        (default: none)\n"
          "  --dump                a readable listing of every stream in the dump\n"
          "  -m, --machine         Breakpad minidump_stackwalk -m pipe format\n"
          "  --features SET        stable-basic (default), stable-all or unstable-all;\n"
          "                        every analysis symkit has is on in all three\n"
          "\n"
          "symbols:\n"
          "  --symbols-path PATH   a store directory (NAME/DEBUGID/NAME.sym) or a .sym\n"
          "                        file; repeatable; extra arguments after DUMP too\n"
          "  --symbols-url URL     a symbol server (http(s)://) or an S3 bucket\n"
          "                        (s3://BUCKET[/PREFIX], signed GETs, credentials from\n"
          "                        AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN);\n"
          "                        repeatable, tried in order\n"
          "  --symbols-cache DIR   keep downloaded .sym files here (store layout; safe to\n"
          "                        share between processes; default: none, in memory)\n"
          "  --symbols-tmp DIR     write downloads here, then rename them into the cache\n"
          "                        (same file system as the cache; default: the cache)\n"
          "  --symbols-download-timeout-secs N\n"
          "                        per HTTP request (default 30)\n"
          "  --timeout N           the same as --symbols-download-timeout-secs N\n"
          "                        (default 30)\n"
          "  --s3-endpoint URL     S3-compatible service for s3:// URLs (default\n"
          "                        AWS_ENDPOINT_URL, else AWS)\n"
          "  --s3-region REGION    signing region (default AWS_REGION, AWS_DEFAULT_REGION,\n"
          "                        else us-east-1)\n"
          "  --s3-addressing MODE  path, virtual or auto (default auto: path with an\n"
          "                        endpoint, virtual for AWS)\n"
          "  --evil-json FILE      Mozilla crash annotations (module signers, CPU microcode)\n"
          "                        (default: none)\n"
          "  --debuginfod URL      a debuginfod server (repeatable): for a module with\n"
          "                        an ELF build-id whose .sym none of the above has,\n"
          "                        fetch its debug file (and executable), make the .sym\n"
          "                        in-process (kept in --symbols-cache) and use it.  Off\n"
          "                        by default (it sends build-ids to the server); also\n"
          "                        on when DEBUGINFOD_URLS is set and not empty\n"
          "  --no-debuginfod       off, even when DEBUGINFOD_URLS is set (default: off\n"
          "                        unless --debuginfod or DEBUGINFOD_URLS)\n"
          "\n"
          "other:\n"
          "  -o, --output-file FILE  write the report to FILE, not created when the dump\n"
          "                        cannot be read (default: stdout); --output FILE too\n"
          "  --log-file FILE       write the log to FILE (default: stderr)\n"
          "  -v, --verbose[=LEVEL] log level: error (default), warn, info, debug, trace;\n"
          "                        bare --verbose or -v: debug\n"
          "  --no-color            accepted for compatibility (output is never coloured)\n"
          "  --max-frames N        frames per thread at most (default 1024)\n"
          "  -h, --help            this text\n"
          "      --version         print the version\n"
          "\n"
          "Exit status: 0 report written (missing symbols are not an error),\n"
          "1 the dump cannot be read (logged as \"ERROR <Name> - <message>\"), 2 bad usage.\n",
          f);
}

enum { OPT_JSON = 256, OPT_PRETTY, OPT_HUMAN, OPT_BRIEF, OPT_SYMPATH, OPT_SYMURL, OPT_CACHE, OPT_TIMEOUT,
       OPT_MAXFRAMES, OPT_VERSION, OPT_CYBORG, OPT_DUMP, OPT_FEATURES, OPT_TMP, OPT_EVIL, OPT_LOGFILE,
       OPT_NOCOLOR, OPT_VERBOSE, OPT_DLTIMEOUT, OPT_S3_ENDPOINT, OPT_S3_REGION, OPT_S3_ADDRESSING,
       OPT_DEBUGINFOD, OPT_NO_DEBUGINFOD };

/* The log as rust-minidump's tracing output reads without time or target:
 * the level right-aligned in five columns, then the message. */
static void log_sink(sk_log_level level, const char *msg, void *ctx)
{
    static const char *const names[] = {"ERROR", " WARN", " INFO", "DEBUG"};
    fprintf((FILE *)ctx, "%s %s\n", names[level], msg);
    fflush((FILE *)ctx);
}

static int parse_level(const char *s, sk_log_level *out)
{
    static const char *const names[] = {"error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 5; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = i == 4 ? SK_LOG_DEBUG : (sk_log_level)i;
            return 0;
        }
    return -1;
}

static int write_mode(int mode, const sw_report *report, FILE *out, sk_error *err);

enum { HUMAN, BRIEF, JSON, PRETTY, MACHINE, DUMP };

static int run(int argc, char **argv, const char **paths, const char **urls, const char **dbgi)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, OPT_JSON},
        {"pretty", no_argument, NULL, OPT_PRETTY},
        {"human", no_argument, NULL, OPT_HUMAN},
        {"brief", no_argument, NULL, OPT_BRIEF},
        {"machine", no_argument, NULL, 'm'},
        {"cyborg", required_argument, NULL, OPT_CYBORG},
        {"dump", no_argument, NULL, OPT_DUMP},
        {"features", required_argument, NULL, OPT_FEATURES},
        {"symbols-path", required_argument, NULL, OPT_SYMPATH},
        {"symbols-url", required_argument, NULL, OPT_SYMURL},
        {"symbols-cache", required_argument, NULL, OPT_CACHE},
        {"symbols-tmp", required_argument, NULL, OPT_TMP},
        {"symbols-download-timeout-secs", required_argument, NULL, OPT_DLTIMEOUT},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT},
        {"s3-region", required_argument, NULL, OPT_S3_REGION},
        {"s3-addressing", required_argument, NULL, OPT_S3_ADDRESSING},
        {"evil-json", required_argument, NULL, OPT_EVIL},
        {"debuginfod", required_argument, NULL, OPT_DEBUGINFOD},
        {"no-debuginfod", no_argument, NULL, OPT_NO_DEBUGINFOD},
        {"max-frames", required_argument, NULL, OPT_MAXFRAMES},
        {"output-file", required_argument, NULL, 'o'},
        {"output", required_argument, NULL, 'o'},
        {"log-file", required_argument, NULL, OPT_LOGFILE},
        {"no-color", no_argument, NULL, OPT_NOCOLOR},
        {"verbose", optional_argument, NULL, OPT_VERBOSE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    int mode = HUMAN;
    bool brief = false, json = false, pretty = false;
    size_t npaths = 0, nurls = 0, ndbgi = 0;
    bool no_debuginfod = false;
    sw_options opt = {0};
    const char *output = NULL, *cyborg = NULL, *log_file = NULL;
    sk_log_level level = SK_LOG_ERROR;
    int c;
    opterr = 0; /* one line of our own instead of getopt's message */
    while ((c = getopt_long(argc, argv, ":mo:vh", longopts, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case OPT_JSON: json = true; break;
        case OPT_PRETTY: pretty = json = true; break;
        case OPT_HUMAN: mode = HUMAN; json = false; break;
        case OPT_BRIEF: brief = true; break;
        case 'm': mode = MACHINE; break;
        case OPT_DUMP: mode = DUMP; break;
        case OPT_CYBORG: cyborg = optarg; break;
        case OPT_FEATURES:
            if (strcmp(optarg, "stable-basic") && strcmp(optarg, "stable-all") && strcmp(optarg, "unstable-all")) {
                fprintf(stderr, "stackwalk: --features: expected stable-basic, stable-all or unstable-all, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_SYMPATH: paths[npaths++] = optarg; break;
        case OPT_SYMURL: urls[nurls++] = optarg; break;
        case OPT_CACHE: opt.symbols_cache = optarg; break;
        case OPT_S3_ENDPOINT: opt.s3_endpoint = optarg; break;
        case OPT_S3_REGION: opt.s3_region = optarg; break;
        case OPT_S3_ADDRESSING:
            if (strcmp(optarg, "path") && strcmp(optarg, "virtual") && strcmp(optarg, "auto")) {
                fprintf(stderr, "stackwalk: --s3-addressing wants path, virtual or auto, not '%s'\n",
                        optarg);
                return 2;
            }
            opt.s3_addressing = strcmp(optarg, "auto") ? optarg : NULL;
            break;
        case OPT_TMP: opt.symbols_tmp = optarg; break;
        case OPT_DEBUGINFOD: dbgi[ndbgi++] = optarg; break;
        case OPT_NO_DEBUGINFOD: no_debuginfod = true; break;
        case OPT_EVIL: opt.evil_json = optarg; break;
        case OPT_LOGFILE: log_file = optarg; break;
        case OPT_NOCOLOR: break;
        case 'v': level = SK_LOG_DEBUG; break;
        case OPT_VERBOSE:
            if (!optarg)
                level = SK_LOG_DEBUG;
            else if (parse_level(optarg, &level)) {
                fprintf(stderr, "stackwalk: --verbose: expected error, warn, info, debug or trace, got '%s'\n",
                        optarg);
                return 2;
            }
            break;
        case OPT_TIMEOUT:
        case OPT_DLTIMEOUT:
        case OPT_MAXFRAMES:
            if (!sk_parse_dec(optarg, strlen(optarg), &v) || v == 0 || v > 1000000) {
                fprintf(stderr, "stackwalk: %s: expected a positive number, got '%s'\n",
                        c == OPT_MAXFRAMES ? "--max-frames"
                        : c == OPT_TIMEOUT ? "--timeout"
                                           : "--symbols-download-timeout-secs",
                        optarg);
                return 2;
            }
            if (c == OPT_MAXFRAMES)
                opt.max_frames = (unsigned)v;
            else
                opt.http_timeout = (unsigned)v;
            break;
        case 'o': output = optarg; break;
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
    if (mode == HUMAN && json)
        mode = pretty ? PRETTY : JSON;
    if (mode == HUMAN && brief)
        mode = BRIEF;
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
    opt.crashing_thread_only = mode == BRIEF && !cyborg;
    /* debuginfod: --debuginfod URL, or DEBUGINFOD_URLS (the variable every
     * debuginfod client reads); --no-debuginfod overrides both. */
    const char *env_urls = getenv("DEBUGINFOD_URLS");
    bool env_on = env_urls && env_urls[strspn(env_urls, " \t\n")] != '\0';
    opt.debuginfod = !no_debuginfod && (ndbgi > 0 || env_on);
    opt.debuginfod_urls = dbgi;
    opt.ndebuginfod_urls = ndbgi;

    FILE *log = stderr;
    if (log_file && !(log = fopen(log_file, "a"))) {
        fprintf(stderr, "stackwalk: %s: cannot open the log file\n", log_file);
        return 2;
    }
    sk_log_set_sink(log_sink, log, level);
    int rc = 0;
    sk_error err = {0};
    sw_minidump *dump = NULL;
    sw_report *report = NULL;
    const char *err_name = "IoError";
    if (sw_minidump_open_named(dump_path, &dump, &err_name, &err)) {
        sk_log(SK_LOG_ERROR, "%s - %s", err_name ? err_name : "IoError", err.msg);
        rc = 1;
        goto done;
    }
    if (mode != DUMP && sw_process(dump, &opt, &report, &err)) {
        sk_log(SK_LOG_ERROR, "MinidumpReadError - %s", err.msg);
        rc = 1;
        goto done;
    }
    FILE *out = stdout;
    if (output && !(out = fopen(output, "w"))) {
        sk_log(SK_LOG_ERROR, "%s: cannot create the output file", output);
        rc = 2;
        goto done;
    }
    if (mode == DUMP)
        rc = sw_minidump_write_dump(dump, out, &err);
    else
        rc = write_mode(mode, report, out, &err);
    if (!rc && cyborg && mode != DUMP) {
        FILE *cj = fopen(cyborg, "w");
        if (!cj)
            rc = sk_fail(&err, SK_EIO, "%s: cannot create the --cyborg file", cyborg);
        else {
            rc = sw_report_write_json(report, pretty, cj, &err);
            if (fclose(cj) != 0 && !rc)
                rc = sk_fail(&err, SK_EIO, "%s: write failed", cyborg);
        }
    }
    if (out != stdout && fclose(out) != 0 && !rc)
        rc = sk_fail(&err, SK_EIO, "%s: write failed", output);
    if (rc) {
        sk_log(SK_LOG_ERROR, "%s", err.msg);
        rc = 2;
    }
done:
    sw_report_free(report);
    sw_minidump_close(dump);
    sk_log_set_sink(NULL, NULL, SK_LOG_ERROR);
    if (log != stderr)
        fclose(log);
    return rc;
}

static int write_mode(int mode, const sw_report *report, FILE *out, sk_error *err)
{
    switch (mode) {
    case JSON:
    case PRETTY: return sw_report_write_json(report, mode == PRETTY, out, err);
    case MACHINE: return sw_report_write_machine(report, out, err);
    default: return sw_report_write_human(report, mode == BRIEF, out, err);
    }
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
