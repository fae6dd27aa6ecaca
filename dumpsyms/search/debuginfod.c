/*
 * debuginfod.c — fetching a debug file or an executable by build-id from
 * debuginfod servers, through elfutils' libdebuginfod.
 *
 * libdebuginfod is the client made for this protocol (server lists,
 * parallel queries, its own cache with negative entries, retries), so we do
 * not speak HTTP here.  It is configured only through its documented
 * environment variables, read at every query: DEBUGINFOD_URLS (which
 * servers), DEBUGINFOD_CACHE_PATH (where downloads go), DEBUGINFOD_TIMEOUT
 * (no data for that long: give up) and DEBUGINFOD_MAXTIME (a download that
 * takes longer: give up).  ds_debuginfod_new() sets them once; the progress
 * callback adds a hard deadline of our own, because a server that sends a
 * trickle of bytes satisfies both variables and still never ends.
 *
 * One libdebuginfod client handle per fetch: a handle must not be shared by
 * threads, and dumpsyms' packager mode fetches from several at once.
 */
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dumpsyms.h"
#include "object.h"

/* libdebuginfod's DEBUGINFOD_TIMEOUT when the variable is unset
 * (debuginfod_find_debuginfo(3)). */
#define DEFAULT_COMMENCE_TIMEOUT 90

struct ds_debuginfod {
    char *urls;      /* what DEBUGINFOD_URLS holds, for messages */
    char *cache;     /* libdebuginfod's cache directory (NULL: its default) */
    bool own_cache;  /* cache is a directory we made: removed by free */
    unsigned timeout;
};

const char *ds_debuginfod_urls(const ds_debuginfod *d)
{
    return d->urls;
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n')
            return false;
    return true;
}

static int set_env(const char *name, const char *value, sk_error *err)
{
    const char *old = getenv(name);
    if (old && strcmp(old, value) == 0)
        return SK_OK;
    if (setenv(name, value, 1) != 0)
        return sk_fail(err, SK_ENOMEM, "debuginfod: cannot set %s: %s", name, strerror(errno));
    return SK_OK;
}

int ds_debuginfod_new(const ds_debuginfod_config *cfg, ds_debuginfod **out, sk_error *err)
{
    *out = NULL;
    sk_buf urls;
    sk_buf_init(&urls);
    for (size_t i = 0; i < cfg->nurls; i++) {
        if (blank(cfg->urls[i]))
            continue;
        /* One server per entry: a space inside would silently make two. */
        if (strpbrk(cfg->urls[i], " \t\n")) {
            sk_buf_free(&urls);
            return sk_fail(err, SK_EUSAGE, "debuginfod: '%s' is not one URL (it has a space)", cfg->urls[i]);
        }
        if (urls.len)
            sk_buf_putc(&urls, ' ');
        sk_buf_puts(&urls, cfg->urls[i]);
    }
    if (!urls.len && !cfg->nurls) {
        const char *env = getenv(DEBUGINFOD_URLS_ENV_VAR);
        if (!blank(env))
            sk_buf_puts(&urls, env);
    }
    if (!urls.len) {
        sk_buf_free(&urls);
        return sk_fail(err, SK_ENOTFOUND, "debuginfod: no server URL given and " DEBUGINFOD_URLS_ENV_VAR
                                          " is empty");
    }
    ds_debuginfod *d = sk_xcalloc(1, sizeof *d);
    d->urls = sk_xstrdup(urls.data);
    d->timeout = cfg->timeout_secs;
    sk_buf_free(&urls);

    int rc = set_env(DEBUGINFOD_URLS_ENV_VAR, d->urls, err);
    if (!rc && cfg->private_cache) {
        const char *base = cfg->cache_dir;
        if (!base || !*base)
            base = getenv("TMPDIR");
        if (!base || !*base)
            base = "/tmp";
        rc = sk_mkdir_p(base, err);
        if (!rc) {
            d->cache = sk_path_join(base, "symkit-debuginfod-XXXXXX");
            if (!mkdtemp(d->cache)) {
                rc = sk_fail(err, SK_EIO, "%s: cannot create a download directory: %s", base, strerror(errno));
                free(d->cache);
                d->cache = NULL;
            } else {
                d->own_cache = true;
            }
        }
    } else if (!rc && cfg->cache_dir) {
        d->cache = sk_xstrdup(cfg->cache_dir);
        rc = sk_mkdir_p(d->cache, err);
    }
    if (!rc && d->cache)
        rc = set_env(DEBUGINFOD_CACHE_PATH_ENV_VAR, d->cache, err);
    if (!rc && d->timeout) {
        char v[32];
        snprintf(v, sizeof v, "%u", d->timeout);
        rc = set_env(DEBUGINFOD_MAXTIME_ENV_VAR, v, err);
        /* DEBUGINFOD_TIMEOUT gives up on a server that sends (almost)
         * nothing for that long; only ever shorten it to the whole limit,
         * never lengthen libdebuginfod's (or the user's) choice. */
        const char *cur = getenv(DEBUGINFOD_TIMEOUT_ENV_VAR);
        uint64_t now = DEFAULT_COMMENCE_TIMEOUT;
        if (cur && *cur && !sk_parse_dec(cur, strlen(cur), &now))
            now = DEFAULT_COMMENCE_TIMEOUT;
        if (!rc && (now == 0 || d->timeout < now))
            rc = set_env(DEBUGINFOD_TIMEOUT_ENV_VAR, v, err);
    }
    if (rc) {
        ds_debuginfod_free(d);
        return rc;
    }
    *out = d;
    return SK_OK;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void ds_debuginfod_free(ds_debuginfod *d)
{
    if (!d)
        return;
    if (d->own_cache && d->cache)
        nftw(d->cache, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(d->cache);
    free(d->urls);
    free(d);
}

void ds_fetch_free(ds_fetch *f)
{
    free(f->path);
    free(f->url);
    memset(f, 0, sizeof *f);
}

typedef struct fetch_state {
    double deadline; /* sk_now() value; 0: none */
    bool timed_out;
    long bytes;
} fetch_state;

static int on_progress(debuginfod_client *c, long done, long total)
{
    (void)total;
    fetch_state *st = debuginfod_get_user_data(c);
    if (done > st->bytes)
        st->bytes = done;
    if (st->deadline > 0 && sk_now() > st->deadline) {
        st->timed_out = true;
        return 1; /* libdebuginfod stops the transfer */
    }
    return 0;
}

/* The problem, in words a user can act on. */
static const char *describe(int e)
{
    switch (e) {
    case ENOENT: return "not found on the server";
    case ECONNREFUSED: return "connection refused";
    case ECONNRESET: return "connection reset";
    case EHOSTUNREACH: return "host unreachable or not resolvable";
    case ENETUNREACH: return "network unreachable";
    case ETIME: return "timed out";
    case EFBIG: return "file too big (DEBUGINFOD_MAXSIZE)";
    case EACCES: return "access denied";
    case EMLINK: return "too many redirects";
    case ENOSYS: return "no server configured";
    default: return NULL;
    }
}

int ds_debuginfod_fetch(ds_debuginfod *d, const uint8_t *build_id, size_t n, ds_debuginfod_kind kind,
                        ds_fetch *out, sk_error *err)
{
    memset(out, 0, sizeof *out);
    const char *what = kind == DS_DEBUGINFOD_EXECUTABLE ? "executable" : "debuginfo";
    char hex[2 * DS_DEBUGINFOD_MAX_BUILD_ID + 1];
    /* libdebuginfod 0.188 refuses (EINVAL) a build-id of 64 bytes or more. */
    if (n == 0 || n >= DS_DEBUGINFOD_MAX_BUILD_ID)
        return sk_fail(err, SK_EUSAGE, "debuginfod: a build-id of %zu bytes cannot be looked up (1 to %d)", n,
                       DS_DEBUGINFOD_MAX_BUILD_ID - 1);
    sk_hex_upper(build_id, n, hex);
    for (char *p = hex; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');

    debuginfod_client *c = debuginfod_begin();
    if (!c)
        return sk_fail(err, SK_ENOMEM, "debuginfod: cannot start a client: %s", strerror(errno));
    fetch_state st = {0};
    double start = sk_now();
    if (d->timeout)
        st.deadline = start + d->timeout;
    debuginfod_set_user_data(c, &st);
    debuginfod_set_progressfn(c, on_progress);
    char *path = NULL;
    int fd = kind == DS_DEBUGINFOD_EXECUTABLE ? debuginfod_find_executable(c, build_id, (int)n, &path)
                                              : debuginfod_find_debuginfo(c, build_id, (int)n, &path);
    out->seconds = sk_now() - start;
    const char *url = debuginfod_get_url(c);
    if (url && *url)
        out->url = sk_xstrdup(url);
    debuginfod_end(c);

    int rc = SK_OK;
    if (fd >= 0) {
        struct stat s;
        if (fstat(fd, &s) == 0)
            out->bytes = (uint64_t)s.st_size;
        close(fd);
        if (!path) {
            rc = sk_fail(err, SK_EIO, "debuginfod: %s of build-id %s: no path in the cache", what, hex);
        } else {
            out->path = path;
            path = NULL;
        }
    } else if (st.timed_out || fd == -ETIME) {
        rc = sk_fail(err, SK_ENET, "debuginfod %s: %s of build-id %s: no complete answer within %u s",
                     d->urls, what, hex, d->timeout);
    } else if (fd == -ENOENT) {
        rc = sk_fail(err, SK_ENOTFOUND, "debuginfod %s: %s of build-id %s: not found", d->urls, what, hex);
    } else if (fd == -EINVAL) {
        rc = sk_fail(err, SK_EUSAGE, "debuginfod %s: %s of build-id %s: refused by libdebuginfod as malformed",
                     d->urls, what, hex);
    } else {
        const char *why = describe(-fd);
        rc = sk_fail(err, SK_ENET, "debuginfod %s: %s of build-id %s: %s", d->urls, what, hex,
                     why ? why : strerror(-fd));
    }
    free(path);
    if (rc)
        ds_fetch_free(out);
    if (!out->url && rc == SK_OK) {
        /* libdebuginfod answered from its cache: name the first server. */
        size_t ulen = strcspn(d->urls, " ");
        sk_buf b;
        sk_buf_init(&b);
        sk_buf_printf(&b, "%.*s/buildid/%s/%s", (int)ulen, d->urls, hex, what);
        out->url = sk_xstrdup(b.data);
        sk_buf_free(&b);
    }
    return rc;
}

bool ds_has_own_unwind_tables(const char *path)
{
    ds_object o;
    sk_error err;
    bool own = false;
    if (ds_object_open(&o, path, &err) == SK_OK) {
        static const char *const tables[] = {".eh_frame", ".ARM.exidx"};
        for (size_t i = 0; i < 2 && !own; i++) {
            ds_section *sec = ds_object_section(&o, tables[i]);
            own = sec && sec->raw && sec->raw_size > 0;
        }
    }
    ds_object_close(&o);
    return own;
}
