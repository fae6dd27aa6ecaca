/* main.c — the dumpsyms command line: parse flags, call ds_dump, write. */
#include <getopt.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "dumpsyms.h"

static void usage(FILE *out)
{
    fputs("usage: dumpsyms [options] BINARY [DEBUGFILE]\n"
          "       dumpsyms --store DIR [options] FILE|DIR|PACKAGE...\n"
          "       dumpsyms --list-arch FILE\n"
          "Writes the Breakpad .sym file of an ELF or Mach-O binary (to stdout by\n"
          "default).  The debug information comes from DEBUGFILE, the binary itself,\n"
          "or a separate debug file found by build-id or .gnu_debuglink.  Split DWARF\n"
          "is read from BINARY.dwp when there is one, else from the .dwo files where\n"
          "the compiler left them (DW_AT_comp_dir) or under a --dwo-dir.  For Mach-O,\n"
          "DEBUGFILE is a dSYM bundle (or the DWARF file inside it) with the binary's\n"
          "UUID, and without it BINARY.dSYM beside the binary is used.\n"
          "\n"
          "  -o, --output FILE     write to FILE (atomically) (default: stdout)\n"
          "      --store DIR       packager mode: dump every FILE, and every ELF file\n"
          "                        under each DIR, to DIR/NAME/DEBUGID/NAME.sym\n"
          "                        (atomically), one summary line per file; a .deb,\n"
          "                        .ddeb or .rpm PACKAGE is read in place, its\n"
          "                        binaries paired with the debug packages' files\n"
          "                        (default: one file, to --output)\n"
          "      --arch ARCH       the slice of a fat Mach-O file to dump (x86, x86_64,\n"
          "                        armv7, arm64, arm64e, ...) (default: the only one;\n"
          "                        a fat file with several needs it, except with\n"
          "                        --store, which writes every slice)\n"
          "      --list-arch       print the architectures of FILE (or of a dSYM\n"
          "                        bundle), one per line with its UUID (or\n"
          "                        build-id), and exit\n"
          "  -c, --no-cfi          leave out STACK CFI records\n"
          "      --cfi-only        only MODULE, INFO and STACK CFI records\n"
          "      --no-synth-cfi    no STACK CFI derived from the machine code for\n"
          "                        functions without compiler CFI (default: derived)\n"
          "      --synth-cfi-everywhere\n"
          "                        testing: derive STACK CFI for every function, also\n"
          "                        those with compiler CFI, and write only that\n"
          "  -i, --header-only     only the MODULE and INFO records\n"
          "  -d, --inlines         write INLINE_ORIGIN and INLINE records\n"
          "  -n, --name NAME       module name in the MODULE record (default: DT_SONAME,\n"
          "                        else the file name; for a dSYM, the binary's)\n"
          "      --debug-dir DIR   where to look for separate debug files\n"
          "                        (repeatable; default /usr/lib/debug)\n"
          "      --dwo-dir DIR     where else to look for split-DWARF .dwo files, by\n"
          "                        their name and their base name (repeatable)\n"
          "      --debuginfod [URL] when no --debug-dir has a stripped binary's separate\n"
          "                        debug file, fetch it by build-id from debuginfod\n"
          "                        server URL (repeatable; without URL: the servers in\n"
          "                        DEBUGINFOD_URLS); checked by build-id and CRC like\n"
          "                        any debug file.  Off by default\n"
          "  -j, --jobs N          worker threads (default: all cores); with --store,\n"
          "                        the number of files dumped at once, and of\n"
          "                        packages read at once\n"
          "      --no-generator    leave out the INFO GENERATOR record\n"
          "  -v, --verbose         say what is being done on stderr\n"
          "  -h, --help            show this help\n"
          "  -V, --version         show the version\n"
          "\n"
          "With --store, a progress bar on stderr when it is a terminal (not with -v).\n"
          "\n"
          "Exit status: 0 on success, 1 when the input cannot be dumped, 2 on usage errors.\n",
          out);
}

/* The progress bar: on stderr, only when stderr is a terminal (a log or a
 * CI run gets the result lines on stdout and nothing else), not with -v
 * (whose lines would tear it).  It is one line redrawn in place (files and
 * packages done of total, the current rate) and cleared before anything
 * else is written to the terminal — a result line when stdout is the same
 * terminal, a warning — and at the end, so nothing of it is left. */
typedef struct progress {
    bool bar;
    bool stdout_tty;     /* result lines land on the same terminal */
    bool shown;          /* the bar is on the screen */
    pthread_mutex_t lock; /* the bar against warnings from worker threads */
    size_t files_total, packages_total, files_done, packages_done, members;
    size_t results;      /* outcomes so far (files and members) */
    double start, last_draw, rate_since, rate;
    size_t rate_base;
} progress;

static void progress_clear(progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->shown = false;
    }
}

static void progress_draw(progress *p, bool force)
{
    double t = sk_now();
    if (!force && p->shown && t - p->last_draw < 0.1)
        return; /* ten redraws a second are plenty */
    /* The current rate: outcomes per second over the last second or so
     * (over the whole run until a second has passed). */
    if (t - p->rate_since >= 1.0) {
        p->rate = (double)(p->results - p->rate_base) / (t - p->rate_since);
        p->rate_base = p->results;
        p->rate_since = t;
    } else if (p->rate_base == 0 && t > p->start) {
        p->rate = (double)p->results / (t - p->start);
    }
    p->last_draw = t;
    size_t total = p->files_total + p->packages_total;
    size_t done = p->files_done + p->packages_done;
    if (done > total)
        done = total;
    char text[256];
    int len = 0;
    if (p->files_total)
        len += snprintf(text + len, sizeof text - (size_t)len, " %zu/%zu files",
                        p->files_done < p->files_total ? p->files_done : p->files_total, p->files_total);
    if (p->packages_total)
        len += snprintf(text + len, sizeof text - (size_t)len, "%s %zu/%zu packages (%zu members)",
                        p->files_total ? "," : "", p->packages_done, p->packages_total, p->members);
    snprintf(text + len, sizeof text - (size_t)len, ", %.1f/s", p->rate);
    struct winsize ws;
    int cols = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 ? ws.ws_col : 80;
    /* Never as wide as the terminal: a wrapped line cannot be cleared. */
    int room = cols - 1 - (int)strlen("dumpsyms: [] ") - (int)strlen(text);
    int width = room > 40 ? 40 : room;
    char bar[48] = "";
    if (width >= 10) {
        int fill = total ? (int)((double)done / (double)total * width) : 0;
        bar[0] = '[';
        for (int i = 0; i < width; i++)
            bar[1 + i] = i < fill ? '#' : '.';
        bar[1 + width] = ']';
        bar[2 + width] = '\0';
    }
    char line[512];
    snprintf(line, sizeof line, "dumpsyms: %s%s", bar, text);
    if ((int)strlen(line) > cols - 1)
        line[cols > 1 ? cols - 1 : 0] = '\0';
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    p->shown = true;
}

/* Warnings go through the bar: cleared, the line, the bar again. */
static void progress_log_sink(sk_log_level level, const char *msg, void *ctx)
{
    progress *p = ctx;
    pthread_mutex_lock(&p->lock);
    bool was = p->shown;
    progress_clear(p);
    sk_log_stderr_sink(level, msg, "dumpsyms");
    if (was)
        progress_draw(p, true);
    pthread_mutex_unlock(&p->lock);
}

/* Progress events: the bar's totals. */
static void progress_event(progress *pg, const ds_pack_result *r)
{
    if (r->status == DS_PACK_PLAN) {
        pg->files_total += r->planned_files;
        pg->packages_total += r->planned_packages;
    } else {
        pg->packages_done++;
        pg->members += r->members;
    }
}

/* One line per file on stdout: what a packager's log wants to keep. */
static void report(const ds_pack_result *r, void *ctx)
{
    progress *pg = ctx;
    if (r->status == DS_PACK_PLAN || r->status == DS_PACK_PACKAGE_DONE) {
        if (pg->bar) {
            pthread_mutex_lock(&pg->lock);
            progress_event(pg, r);
            progress_draw(pg, true); /* few: each one shown */
            pthread_mutex_unlock(&pg->lock);
        }
        return;
    }
    if (pg->bar) {
        pthread_mutex_lock(&pg->lock);
        if (pg->stdout_tty)
            progress_clear(pg);
    }
    switch (r->status) {
    case DS_PACK_WRITTEN: {
        bool separate = r->debug_file && strcmp(r->debug_file, r->input) != 0;
        char synth[64] = "";
        if (r->cfi_synth_functions)
            snprintf(synth, sizeof synth, " (synthesized for %zu functions)", r->cfi_synth_functions);
        printf("ok      %s -> %s (%zu FUNC, %zu PUBLIC, %zu STACK CFI%s%s%s)\n", r->input, r->written,
               r->funcs, r->publics, r->cfi, synth, separate ? ", debug info from " : "",
               !separate ? "" : r->debug_file_url ? r->debug_file_url : r->debug_file);
        break;
    }
    case DS_PACK_EMPTY:
        printf("empty   %s: %s\n", r->input, r->message);
        break;
    case DS_PACK_FAILED: {
        /* Messages usually start with the file name already. */
        const char *msg = r->message;
        size_t n = strlen(r->input);
        if (strncmp(msg, r->input, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
            msg += n + 2;
        printf("FAILED  %s: %s\n", r->input, msg);
        break;
    }
    case DS_PACK_PLAN:
    case DS_PACK_PACKAGE_DONE:
        break;
    }
    fflush(stdout);
    if (pg->bar) {
        pg->results++;
        /* A package's own failure is counted by its PACKAGE_DONE. */
        if (!r->package)
            pg->files_done++;
        progress_draw(pg, pg->stdout_tty);
        pthread_mutex_unlock(&pg->lock);
    }
}

/* The final count on stdout; with packages, what was read from them. */
static void final_count(const ds_pack_totals *t)
{
    printf("dumpsyms: %zu written, %zu empty, %zu failed", t->written, t->empty, t->failed);
    if (t->packages) {
        printf("; %zu package%s", t->packages, t->packages == 1 ? "" : "s");
        if (t->packages_failed)
            printf(" (%zu damaged or unreadable)", t->packages_failed);
        printf(", %zu ELF member%s, %zu paired with a debug file", t->members, t->members == 1 ? "" : "s",
               t->paired);
    }
    putchar('\n');
}

static int package(char **inputs, int ninputs, const char *store, const ds_options *opt)
{
    ds_pack_totals t;
    progress pg = {.bar = !opt->verbose && isatty(STDERR_FILENO), .stdout_tty = isatty(STDOUT_FILENO)};
    pthread_mutex_init(&pg.lock, NULL);
    pg.start = pg.rate_since = sk_now();
    if (pg.bar)
        sk_log_set_sink(progress_log_sink, &pg, SK_LOG_WARN);
    int rc = ds_package((const char *const *)inputs, (size_t)ninputs, store, opt, opt->jobs, report, &pg,
                        &t);
    if (pg.bar) {
        sk_log_set_sink(sk_log_stderr_sink, "dumpsyms", SK_LOG_WARN);
        progress_clear(&pg);
    }
    pthread_mutex_destroy(&pg.lock);
    final_count(&t);
    return rc == SK_OK ? 0 : 1;
}

/* --list-arch: "ARCH ID" per slice. */
static int list_arches(const char *path)
{
    ds_arch_entry *v;
    size_t n;
    sk_error err = {0};
    if (ds_list_arches(path, &v, &n, &err)) {
        fprintf(stderr, "dumpsyms: %s\n", err.msg);
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        printf("%s %s\n", v[i].arch, v[i].id[0] ? v[i].id : "-");
    free(v);
    return fflush(stdout) == 0 ? 0 : 1;
}

enum { OPT_STORE = 256, OPT_NO_SYNTH_CFI, OPT_SYNTH_EVERYWHERE, OPT_CFI_ONLY, OPT_NO_GENERATOR, OPT_DEBUG_DIR, OPT_DWO_DIR,
       OPT_DEBUGINFOD, OPT_ARCH, OPT_LIST_ARCH };

/* "--debuginfod URL" as well as "--debuginfod=URL": the next argument is
 * taken as the URL when it looks like one (a file to dump never does). */
static bool looks_like_url(const char *s)
{
    const char *colon = strstr(s, "://");
    if (!colon || colon == s)
        return false;
    for (const char *p = s; p < colon; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '+' ||
              *p == '-' || *p == '.'))
            return false;
    return true;
}

/* Sets up opt->debuginfod for --debuginfod (libdebuginfod reads its
 * environment, so before any thread starts).  Its downloads go to its own
 * cache: DEBUGINFOD_CACHE_PATH, else ~/.cache/debuginfod_client. */
static int start_debuginfod(ds_options *opt, const char **urls, size_t nurls)
{
    ds_debuginfod_config cfg = {.urls = urls, .nurls = nurls};
    sk_error err;
    if (ds_debuginfod_new(&cfg, &opt->debuginfod, &err)) {
        fprintf(stderr, "dumpsyms: --debuginfod: %s\n", err.msg);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"store", required_argument, NULL, OPT_STORE},
        {"no-cfi", no_argument, NULL, 'c'},
        {"cfi-only", no_argument, NULL, OPT_CFI_ONLY},
        {"no-synth-cfi", no_argument, NULL, OPT_NO_SYNTH_CFI},
        {"synth-cfi-everywhere", no_argument, NULL, OPT_SYNTH_EVERYWHERE},
        {"header-only", no_argument, NULL, 'i'},
        {"inlines", no_argument, NULL, 'd'},
        {"name", required_argument, NULL, 'n'},
        {"arch", required_argument, NULL, OPT_ARCH},
        {"list-arch", no_argument, NULL, OPT_LIST_ARCH},
        {"debug-dir", required_argument, NULL, OPT_DEBUG_DIR},
        {"dwo-dir", required_argument, NULL, OPT_DWO_DIR},
        {"debuginfod", optional_argument, NULL, OPT_DEBUGINFOD},
        {"jobs", required_argument, NULL, 'j'},
        {"no-generator", no_argument, NULL, OPT_NO_GENERATOR},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    ds_options opt;
    ds_options_init(&opt);
    const char *output = NULL, *store = NULL;
    /* Static so that early exits do not count as leaks. */
    static const char **debug_dirs = NULL, **dwo_dirs = NULL;
    static size_t ndebug_dirs = 0, debug_dirs_cap = 0, ndwo_dirs = 0, dwo_dirs_cap = 0;
    static const char **dbgi_urls = NULL;
    static size_t ndbgi_urls = 0, dbgi_urls_cap = 0;
    bool debuginfod = false, list_arch = false;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":o:cidn:j:vhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': output = optarg; break;
        case OPT_STORE: store = optarg; break;
        case 'c': opt.cfi = false; break;
        case OPT_CFI_ONLY: opt.cfi_only = true; break;
        case OPT_NO_SYNTH_CFI: opt.synth_cfi = false; break;
        case OPT_SYNTH_EVERYWHERE: opt.synth_cfi_everywhere = true; break;
        case 'i': opt.header_only = true; break;
        case 'd': opt.inlines = true; break;
        case 'n': opt.name = optarg; break;
        case OPT_ARCH: opt.arch = optarg; break;
        case OPT_LIST_ARCH: list_arch = true; break;
        case OPT_DEBUG_DIR:
            sk_grow((void **)&debug_dirs, &debug_dirs_cap, ndebug_dirs + 1, sizeof *debug_dirs);
            debug_dirs[ndebug_dirs++] = optarg;
            break;
        case OPT_DWO_DIR:
            sk_grow((void **)&dwo_dirs, &dwo_dirs_cap, ndwo_dirs + 1, sizeof *dwo_dirs);
            dwo_dirs[ndwo_dirs++] = optarg;
            break;
        case OPT_DEBUGINFOD: {
            debuginfod = true;
            const char *url = optarg;
            if (!url && optind < argc && looks_like_url(argv[optind]))
                url = argv[optind++];
            if (url) {
                sk_grow((void **)&dbgi_urls, &dbgi_urls_cap, ndbgi_urls + 1, sizeof *dbgi_urls);
                dbgi_urls[ndbgi_urls++] = url;
            }
            break;
        }
        case 'j': {
            char *end;
            long n = strtol(optarg, &end, 10);
            if (*end || n < 1 || n > 1024) {
                fprintf(stderr, "dumpsyms: --jobs wants a number from 1 to 1024, not '%s'\n", optarg);
                return 2;
            }
            opt.jobs = (int)n;
            break;
        }
        case OPT_NO_GENERATOR: opt.generator = false; break;
        case 'v': opt.verbose++; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("dumpsyms (symkit) %s\n", SK_VERSION); return 0;
        case ':':
            if (optopt > 0 && optopt < 256)
                fprintf(stderr, "dumpsyms: option '-%c' needs a value (see --help)\n", optopt);
            else
                fprintf(stderr, "dumpsyms: option '%s' needs a value (see --help)\n", argv[optind - 1]);
            return 2;
        default:
            if (optopt > 0 && optopt < 256)
                fprintf(stderr, "dumpsyms: unknown option '-%c' (see --help)\n", optopt);
            else
                fprintf(stderr, "dumpsyms: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    if (debug_dirs) {
        opt.debug_dirs = debug_dirs;
        opt.ndebug_dirs = ndebug_dirs;
    }
    opt.dwo_dirs = dwo_dirs;
    opt.ndwo_dirs = ndwo_dirs;
    int nargs = argc - optind;
    if (opt.cfi_only && (!opt.cfi || opt.header_only)) {
        fprintf(stderr, "dumpsyms: --cfi-only cannot be combined with --no-cfi or --header-only\n");
        return 2;
    }
    if (list_arch) {
        free(debug_dirs);
        if (nargs != 1) {
            fprintf(stderr, "dumpsyms: --list-arch wants one FILE (see --help)\n");
            return 2;
        }
        return list_arches(argv[optind]);
    }
    if (output && store) {
        fprintf(stderr, "dumpsyms: --output and --store cannot be used together\n");
        return 2;
    }
    if (store) {
        if (nargs < 1) {
            fprintf(stderr, "dumpsyms: --store wants at least one FILE or DIR (see --help)\n");
            free(debug_dirs);
            return 2;
        }
        if (opt.name && nargs > 1) {
            fprintf(stderr, "dumpsyms: --name applies to one file only\n");
            free(debug_dirs);
            return 2;
        }
        if (debuginfod && start_debuginfod(&opt, dbgi_urls, ndbgi_urls)) {
            free(debug_dirs);
            return 2;
        }
        sk_log_set_sink(sk_log_stderr_sink, "dumpsyms", opt.verbose ? SK_LOG_DEBUG : SK_LOG_WARN);
        int st = package(argv + optind, nargs, store, &opt);
        free(debug_dirs);
        ds_debuginfod_free(opt.debuginfod);
        return st;
    }
    if (nargs < 1 || nargs > 2) {
        fprintf(stderr, "dumpsyms: expected BINARY [DEBUGFILE] (see --help)\n");
        free(debug_dirs);
        return 2;
    }
    if (debuginfod && start_debuginfod(&opt, dbgi_urls, ndbgi_urls)) {
        free(debug_dirs);
        return 2;
    }
    sk_log_set_sink(sk_log_stderr_sink, "dumpsyms", opt.verbose ? SK_LOG_DEBUG : SK_LOG_WARN);

    const char *binary = argv[optind];
    const char *debug_file = nargs == 2 ? argv[optind + 1] : NULL;
    sym_module m;
    sym_module_init(&m);
    sk_error err = {0};
    ds_summary summary;
    int rc = ds_dump(binary, debug_file, &opt, &m, &summary, &err);
    if (rc == SK_OK) {
        if (opt.verbose && summary.debug_file_used[0])
            sk_log(SK_LOG_INFO, "%s: debug information from %s", binary,
                   summary.debug_file_url[0] ? summary.debug_file_url : summary.debug_file_used);
        if (output) {
            rc = ds_write_file(&m, &opt, output, &err);
        } else {
            sym_write_options wo = ds_write_options(&opt);
            rc = sym_write(&m, &wo, stdout, &err);
            if (rc == SK_OK && fflush(stdout) != 0)
                rc = sk_fail(&err, SK_EIO, "cannot write to standard output");
        }
    }
    sym_module_free(&m);
    free(debug_dirs);
    ds_debuginfod_free(opt.debuginfod);
    if (rc) {
        fprintf(stderr, "dumpsyms: %s\n", err.msg);
        return 1;
    }
    return 0;
}
