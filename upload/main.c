/*
 * symupload — command line over the upload library: parse flags, find the
 * token and the S3 credentials (file or environment, never a flag), show
 * progress, print the summary, and exit 0 only when every file arrived.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upload.h"

static const char usage[] =
    "usage: symupload [options] PATH...\n"
    "\n"
    "Ships Breakpad .sym files (files, directories walked recursively, symbol\n"
    "store trees) to a Tecken-compatible symbol server, an S3-compatible bucket\n"
    "and/or a local store, in any combination.\n"
    "Each file's key <debug_file>/<DEBUGID>/<name>.sym comes from its MODULE line.\n"
    "\n"
    "destinations (at least one):\n"
    "  --url URL             POST zips to URL/upload/ (Tecken v1 API) (default: none)\n"
    "  --store DIR           write a plain symbol store DIR/<key> (atomic writes;\n"
    "                        identical files left alone, different ones reported)\n"
    "                        (default: none)\n"
    "  --s3 URL              s3://BUCKET[/PREFIX]: PUT each file as the object\n"
    "                        PREFIX/<key>, signed with AWS Signature V4; credentials\n"
    "                        from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and\n"
    "                        AWS_SESSION_TOKEN only (default: none)\n"
    "S3:\n"
    "  --s3-endpoint URL     an S3-compatible service (MinIO, Ceph RGW, R2, ...);\n"
    "                        default AWS_ENDPOINT_URL, else AWS's regional endpoint\n"
    "  --s3-region REGION    signing region (default AWS_REGION, AWS_DEFAULT_REGION,\n"
    "                        else us-east-1)\n"
    "  --s3-addressing MODE  path (ENDPOINT/BUCKET/KEY), virtual (BUCKET.HOST/KEY) or\n"
    "                        auto (default: path with an endpoint, virtual for AWS)\n"
    "  --s3-part-size SIZE   multipart upload past SIZE body bytes, parts of SIZE\n"
    "                        (at least 5M; default 64M)\n"
    "  --no-compress         store objects plain (default: gzip, Content-Encoding: gzip)\n"
    "upload:\n"
    "  --token-file FILE     read the Auth-Token from FILE; otherwise from the\n"
    "                        SYMKIT_UPLOAD_TOKEN environment variable (default)\n"
    "  --try                 mark the upload as a try upload\n"
    "  --skip-existing       HEAD each key on --symbols-url (and in the bucket) first,\n"
    "                        send only the missing\n"
    "  --symbols-url URL     symbol download base for --skip-existing with --url\n"
    "                        (required with both; default: none)\n"
    "  --jobs N              concurrent posts, and S3 objects in progress (default 3)\n"
    "  --retries N           retries after the first attempt (default 6)\n"
    "  --retry-delay SECONDS first backoff delay, growing x1.5 (default 10)\n"
    "  --timeout SECONDS     per request (default 300)\n"
    "  --zip-size SIZE       start a new zip past SIZE bytes of .sym (K, M, G\n"
    "                        suffixes; default 64M)\n"
    "  --symbols-txt PREFIX  add a PREFIX-symbols.txt listing to each zip\n"
    "                        (default: no listing)\n"
    "general:\n"
    "  -n, --dry-run         lint and zip, list what would be sent; send and write nothing\n"
    "  -q, --quiet           only problems\n"
    "  -v, --verbose         more detail, including HTTP headers (token and credentials\n"
    "                        redacted)\n"
    "  -h, --help            this text\n"
    "      --version         print the version\n"
    "\n"
    "Exit status: 0 when every file arrived everywhere asked, 1 when any file\n"
    "was invalid or failed or no .sym file was found, 2 on usage errors.\n";

enum {
    OPT_URL = 256, OPT_STORE, OPT_TOKEN_FILE, OPT_TOKEN, OPT_TRY, OPT_SKIP, OPT_SYMURL, OPT_JOBS,
    OPT_RETRIES, OPT_DELAY, OPT_TIMEOUT, OPT_ZIPSIZE, OPT_SYMTXT, OPT_VERSION, OPT_S3,
    OPT_S3_ENDPOINT, OPT_S3_REGION, OPT_S3_ADDRESSING, OPT_S3_PART, OPT_NO_COMPRESS,
};

static const struct option longopts[] = {
    {"url", required_argument, NULL, OPT_URL},
    {"store", required_argument, NULL, OPT_STORE},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"try", no_argument, NULL, OPT_TRY},
    {"skip-existing", no_argument, NULL, OPT_SKIP},
    {"symbols-url", required_argument, NULL, OPT_SYMURL},
    {"jobs", required_argument, NULL, OPT_JOBS},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"retry-delay", required_argument, NULL, OPT_DELAY},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {"zip-size", required_argument, NULL, OPT_ZIPSIZE},
    {"symbols-txt", required_argument, NULL, OPT_SYMTXT},
    {"s3", required_argument, NULL, OPT_S3},
    {"s3-endpoint", required_argument, NULL, OPT_S3_ENDPOINT},
    {"s3-region", required_argument, NULL, OPT_S3_REGION},
    {"s3-addressing", required_argument, NULL, OPT_S3_ADDRESSING},
    {"s3-part-size", required_argument, NULL, OPT_S3_PART},
    {"no-compress", no_argument, NULL, OPT_NO_COMPRESS},
    {"dry-run", no_argument, NULL, 'n'},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static const char *env_value(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "symupload: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see symupload --help)\n");
    return 2;
}

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
    uint64_t v;
    if (!sk_parse_dec(s, strlen(s), &v) || v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

static bool parse_seconds(const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !(v >= 0) || v > 86400)
        return false;
    *out = v;
    return true;
}

static bool parse_size(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    uint64_t mult = 1;
    if (n > 0) {
        switch (toupper((unsigned char)s[n - 1])) {
        case 'K': mult = 1ull << 10; n--; break;
        case 'M': mult = 1ull << 20; n--; break;
        case 'G': mult = 1ull << 30; n--; break;
        }
    }
    uint64_t v;
    if (!sk_parse_dec(s, n, &v) || v == 0 || v > (UINT64_MAX / mult))
        return false;
    *out = v * mult;
    return true;
}

/* The token comes from a file or the environment, never argv (visible in
 * ps).  Trailing whitespace (the newline editors add) is dropped. */
static int load_token(const char *file, char **token)
{
    *token = NULL;
    if (file) {
        char *data = NULL;
        size_t len = 0;
        sk_error err;
        sk_error_clear(&err);
        if (sk_read_file(file, &data, &len, &err) != SK_OK) {
            fprintf(stderr, "symupload: token file: %s\n", err.msg);
            return 2;
        }
        while (len > 0 && isspace((unsigned char)data[len - 1]))
            data[--len] = '\0';
        if (len == 0 || memchr(data, '\n', len) || memchr(data, '\r', len)) {
            fprintf(stderr, "symupload: token file %s must hold one non-empty line\n", file);
            free(data);
            return 2;
        }
        *token = data;
        return 0;
    }
    const char *env = getenv("SYMKIT_UPLOAD_TOKEN");
    if (env && *env)
        *token = sk_xstrdup(env);
    return 0;
}

/* ---- progress ------------------------------------------------------------ */

typedef struct ui {
    bool bar;        /* a terminal: redraw one line */
    bool bar_shown;
    double last_draw;
} ui;

static ui g_ui;

static void clear_bar(void)
{
    if (g_ui.bar_shown) {
        fputs("\r\033[K", stderr);
        g_ui.bar_shown = false;
    }
}

static void log_sink(sk_log_level level, const char *msg, void *ctx)
{
    (void)ctx;
    clear_bar();
    static const char *names[] = {"error", "warning", "info", "debug"};
    if (level == SK_LOG_INFO)
        fprintf(stderr, "symupload: %s\n", msg);
    else
        fprintf(stderr, "symupload: %s: %s\n", names[level], msg);
}

static void progress(uint64_t files_done, uint64_t files_total, uint64_t bytes_done,
                     uint64_t bytes_total, void *ctx)
{
    (void)ctx;
    if (!g_ui.bar)
        return;
    double now = sk_now();
    if (files_done < files_total && now - g_ui.last_draw < 0.1)
        return;
    g_ui.last_draw = now;
    enum { WIDTH = 30 };
    unsigned fill = bytes_total ? (unsigned)(bytes_done * WIDTH / bytes_total) : WIDTH;
    char bar[WIDTH + 1];
    for (unsigned i = 0; i < WIDTH; i++)
        bar[i] = i < fill ? '#' : '-';
    bar[WIDTH] = '\0';
    /* KiB for small runs, so the numbers visibly move. */
    bool mib = bytes_total >= (1u << 20);
    double unit = mib ? (double)(1u << 20) : 1024.0;
    fprintf(stderr, "\r\033[K[%s] %llu/%llu files, %.1f/%.1f %s", bar,
            (unsigned long long)files_done, (unsigned long long)files_total,
            (double)bytes_done / unit, (double)bytes_total / unit, mib ? "MiB" : "KiB");
    g_ui.bar_shown = true;
    if (files_done == files_total)
        clear_bar();
    fflush(stderr);
}

static volatile int g_cancel;

static void on_signal(int sig)
{
    (void)sig;
    g_cancel = 1;
}

int main(int argc, char **argv)
{
    su_options opt;
    su_options_init(&opt);
    const char *token_file = NULL;
    bool quiet = false;
    int c;
    opterr = 0; /* one line of our own instead of getopt's message */
    while ((c = getopt_long(argc, argv, ":nqvh", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_URL: opt.url = optarg; break;
        case OPT_STORE: opt.store_dir = optarg; break;
        case OPT_TOKEN_FILE: token_file = optarg; break;
        case OPT_TOKEN:
            return usage_error("--token is not accepted: a token on the command line shows in ps%s; "
                               "use --token-file FILE or SYMKIT_UPLOAD_TOKEN",
                               "");
        case OPT_TRY: opt.try_upload = true; break;
        case OPT_SKIP: opt.skip_existing = true; break;
        case OPT_SYMURL: opt.symbols_url = optarg; break;
        case OPT_JOBS:
            if (!parse_uint(optarg, 64, &opt.jobs) || opt.jobs == 0)
                return usage_error("--jobs wants a number from 1 to 64, not '%s'", optarg);
            break;
        case OPT_RETRIES:
            if (!parse_uint(optarg, 100, &opt.retries))
                return usage_error("--retries wants a number from 0 to 100, not '%s'", optarg);
            break;
        case OPT_DELAY:
            if (!parse_seconds(optarg, &opt.retry_delay))
                return usage_error("--retry-delay wants seconds, not '%s'", optarg);
            break;
        case OPT_TIMEOUT:
            if (!parse_seconds(optarg, &opt.timeout) || opt.timeout <= 0)
                return usage_error("--timeout wants positive seconds, not '%s'", optarg);
            break;
        case OPT_ZIPSIZE:
            if (!parse_size(optarg, &opt.zip_size))
                return usage_error("--zip-size wants a size such as 64M, not '%s'", optarg);
            break;
        case OPT_SYMTXT: opt.symbols_txt = optarg; break;
        case OPT_S3:
            if (strncmp(optarg, "s3://", 5) != 0)
                return usage_error("--s3 wants s3://BUCKET[/PREFIX], not '%s'", optarg);
            opt.s3_url = optarg;
            break;
        case OPT_S3_ENDPOINT: opt.s3_endpoint = optarg; break;
        case OPT_S3_REGION: opt.s3_region = optarg; break;
        case OPT_S3_ADDRESSING:
            if (strcmp(optarg, "path") == 0)
                opt.s3_addressing = SU_S3_PATH;
            else if (strcmp(optarg, "virtual") == 0)
                opt.s3_addressing = SU_S3_VIRTUAL;
            else if (strcmp(optarg, "auto") == 0)
                opt.s3_addressing = SU_S3_AUTO;
            else
                return usage_error("--s3-addressing wants path, virtual or auto, not '%s'", optarg);
            break;
        case OPT_S3_PART:
            if (!parse_size(optarg, &opt.s3_part_size) || opt.s3_part_size < (5ull << 20))
                return usage_error("--s3-part-size wants a size of at least 5M, not '%s'", optarg);
            break;
        case OPT_NO_COMPRESS: opt.s3_no_compress = true; break;
        case 'n': opt.dry_run = true; break;
        case 'q': quiet = true; break;
        case 'v': opt.verbose = true; break;
        case 'h': fputs(usage, stdout); return 0;
        case OPT_VERSION: printf("symupload (symkit) %s\n", SK_VERSION); return 0;
        case ':':
            fprintf(stderr, "symupload: option '%s' needs a value (see symupload --help)\n",
                    argv[optind - 1]);
            return 2;
        default:
            fprintf(stderr, "symupload: unknown option '%s' (see symupload --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (optind >= argc)
        return usage_error("no .sym files or directories given%s", "");
    if (!opt.url && !opt.store_dir && !opt.s3_url)
        return usage_error("nowhere to send symbols: give --url, --s3 and/or --store%s", "");
    if (opt.skip_existing && opt.url && !opt.symbols_url)
        return usage_error("--skip-existing needs --symbols-url%s", "");
    if (opt.skip_existing && !opt.url && !opt.s3_url)
        return usage_error("--skip-existing needs --url or --s3%s", "");
    if (!opt.s3_url && (opt.s3_endpoint || opt.s3_region || opt.s3_no_compress))
        return usage_error("S3 options without --s3%s", "");
    if (opt.s3_url) {
        /* Credentials only from the environment: a command line shows in ps. */
        opt.s3_access_key = env_value("AWS_ACCESS_KEY_ID");
        opt.s3_secret_key = env_value("AWS_SECRET_ACCESS_KEY");
        opt.s3_session_token = env_value("AWS_SESSION_TOKEN");
        if (!opt.s3_endpoint)
            opt.s3_endpoint = env_value("AWS_ENDPOINT_URL");
        if (!opt.s3_region)
            opt.s3_region = env_value("AWS_REGION");
        if (!opt.s3_region)
            opt.s3_region = env_value("AWS_DEFAULT_REGION");
        if (!opt.dry_run && (!opt.s3_access_key || !opt.s3_secret_key)) {
            fprintf(stderr, "symupload: no S3 credentials: set AWS_ACCESS_KEY_ID and "
                            "AWS_SECRET_ACCESS_KEY\n");
            return 2;
        }
    }
    if (token_file && !opt.url)
        return usage_error("--token-file without --url%s", "");

    char *token = NULL;
    int trc = load_token(token_file, &token);
    if (trc)
        return trc;
    if (opt.url && !opt.dry_run && !token) {
        fprintf(stderr, "symupload: no token: give --token-file FILE or set SYMKIT_UPLOAD_TOKEN\n");
        return 2;
    }
    opt.token = token;

    g_ui.bar = !quiet && !opt.verbose && isatty(STDERR_FILENO);
    sk_log_set_sink(log_sink, NULL, quiet ? SK_LOG_ERROR : opt.verbose ? SK_LOG_DEBUG : SK_LOG_INFO);
    opt.progress = progress;
    /* A first Ctrl-C (or a CI job's SIGTERM) stops cleanly with a summary
     * of what did and did not arrive; a second one kills. */
    opt.cancel = &g_cancel;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    su_set set;
    su_set_init(&set);
    int status = 0;
    for (int i = optind; i < argc; i++) {
        sk_error err;
        sk_error_clear(&err);
        if (su_collect(&set, argv[i], &err) != SK_OK) {
            fprintf(stderr, "symupload: %s\n", err.msg);
            status = 1;
        }
    }
    if (set.n == 0 && status == 0) {
        /* Nothing to send is almost always a wrong path in a CI script. */
        fprintf(stderr, "symupload: no .sym files found\n");
        su_set_free(&set);
        if (token) {
            memset(token, 0, strlen(token));
            free(token);
        }
        return 1;
    }

    sk_error err;
    sk_error_clear(&err);
    int rc = su_run(&set, &opt, &err);
    clear_bar();
    if (rc != SK_OK) {
        fprintf(stderr, "symupload: %s\n", err.msg);
        status = rc == SK_EUSAGE ? 2 : 1;
    } else {
        su_write_summary(&set, &opt, quiet, stdout);
        if (!su_all_ok(&set))
            status = 1;
    }
    su_set_free(&set);
    if (token) {
        memset(token, 0, strlen(token));
        free(token);
    }
    return status;
}
