/* symbols.c — symbol suppliers: local store directories and single .sym
 * files, an on-disk cache filled atomically, and HTTP symbol servers (gzip
 * accepted, redirects followed, ?code_file=&code_id= appended), with the
 * code-file/code-id lookup for modules that have no debug id; last,
 * debuginfod (debuginfod.c) when it is on. */
#include "symbols.h"
#include "s3_source.h"

#include "cache.h"

#include "debuginfod.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A .sym bigger than this is not something we want in memory. */
#define MAX_DOWNLOAD ((size_t)4 << 30)

typedef struct sym_file {
    char *path;
    sym_index *ix; /* NULL if it could not be opened */
} sym_file;

struct sw_symbols {
    const sw_options *opt;
    sym_file *files; /* --symbols-path entries that are files, opened lazily */
    size_t nfiles;
    bool files_opened;
    sym_index **owned;
    size_t nowned, owned_cap;
    CURL *curl;
    bool curl_inited;
    sw_debuginfod *debuginfod; /* NULL when off */
};

sw_symbols *sw_symbols_new(const sw_options *opt)
{
    sw_symbols *s = sk_xcalloc(1, sizeof *s);
    s->opt = opt;
    s->debuginfod = sw_debuginfod_new(opt);
    return s;
}

void sw_symbols_free(sw_symbols *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nowned; i++)
        sym_index_close(s->owned[i]);
    free(s->owned);
    for (size_t i = 0; i < s->nfiles; i++) {
        sym_index_close(s->files[i].ix);
        free(s->files[i].path);
    }
    free(s->files);
    sw_debuginfod_free(s->debuginfod);
    if (s->curl)
        curl_easy_cleanup(s->curl);
    if (s->curl_inited)
        curl_global_cleanup();
    free(s);
}

static void own(sw_symbols *s, sym_index *ix)
{
    sk_grow((void **)&s->owned, &s->owned_cap, s->nowned + 1, sizeof *s->owned);
    s->owned[s->nowned++] = ix;
}

char *sw_code_id_key(const char *code_file, const char *code_id)
{
    const char *name = code_file;
    for (const char *p = code_file; *p; p++)
        if (*p == '/' || *p == '\\')
            name = p + 1;
    if (!sk_is_safe_key_component(name) || !code_id || !*code_id)
        return NULL;
    char id[256];
    size_t n = strlen(code_id);
    if (n >= sizeof id)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        id[i] = (char)toupper((unsigned char)code_id[i]);
    if (!sk_is_safe_key_component(id))
        return NULL;
    size_t len = strlen(name), stem = len;
    static const char *const exts[] = {".dll", ".exe", ".pdb"};
    for (size_t i = 0; i < 3; i++)
        if (len > 4 && strcasecmp(name + len - 4, exts[i]) == 0)
            stem = len - 4;
    size_t cap = len + n + stem + 8;
    char *key = sk_xmalloc(cap);
    snprintf(key, cap, "%s/%s/%.*s.sym", name, id, (int)stem, name);
    return key;
}

#define MAX_KEYS 6

/* The names a library's .sym may be stored under when the dump names it by
 * a versioned file name (libpng16.so.16.39.0): dumpsyms writes the SONAME
 * (libpng16.so.16), so the version is shortened one component at a time,
 * longest first, down to one component after ".so".  Puts up to max
 * malloc'd names in out. */
static int soname_candidates(const char *file, char **out, int max)
{
    const char *so = strstr(file, ".so.");
    if (!so)
        return 0;
    size_t base = (size_t)(so - file) + 3; /* through ".so" */
    size_t len = strlen(file);
    /* Only digits and dots after ".so.": a version, not "libfoo.so.debug". */
    for (size_t i = base + 1; i < len; i++)
        if (!isdigit((unsigned char)file[i]) && file[i] != '.')
            return 0;
    int n = 0;
    size_t end = len;
    while (n < max) {
        while (end > base && file[end - 1] != '.')
            end--;
        if (end <= base + 1)
            break;
        end--; /* drop ".N" */
        size_t dots = 0;
        for (size_t i = base; i < end; i++)
            dots += file[i] == '.';
        if (dots == 0)
            break; /* "libfoo.so" itself is no SONAME with a version */
        out[n++] = sk_xstrndup(file, end);
    }
    return n;
}

/* The store keys to try for m, most specific first. */
static int module_keys(const md_module *m, char *keys[MAX_KEYS])
{
    int n = 0;
    if (m->debug_id && m->debug_file) {
        char id[SK_DEBUG_ID_LEN + 1];
        size_t len = strlen(m->debug_id);
        if (len == SK_DEBUG_ID_LEN) {
            for (size_t i = 0; i <= len; i++)
                id[i] = (char)toupper((unsigned char)m->debug_id[i]);
            char *k = sk_store_key(m->debug_file, id, NULL);
            if (k)
                keys[n++] = k;
            /* A dump that names the library by its file name (an older
             * client, or a handler that does not read the SONAME): the
             * .sym is stored under the SONAME. */
            char *names[MAX_KEYS - 2];
            int nn = soname_candidates(m->debug_file, names, MAX_KEYS - 2);
            for (int i = 0; i < nn; i++) {
                k = sk_store_key(names[i], id, NULL);
                if (k)
                    keys[n++] = k;
                free(names[i]);
            }
        }
    }
    if (!n && m->code_id && m->code_file) {
        char *k = sw_code_id_key(m->code_file, m->code_id);
        if (k)
            keys[n++] = k;
    }
    return n;
}

static bool ids_match(const md_module *m, sym_index *ix)
{
    if (m->debug_id)
        return strcasecmp(sym_index_debug_id(ix), m->debug_id) == 0;
    /* no debug id in the dump: the name is all we can compare */
    const char *name = m->debug_file ? m->debug_file : m->code_file;
    const char *base = name;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    return strcmp(sym_index_name(ix), base) == 0;
}

static sym_index *open_local(sw_symbols *s, const char *path, const md_module *m)
{
    if (!sk_is_file(path))
        return NULL;
    sk_error err;
    sym_index *ix;
    if (sym_index_open(path, &ix, &err)) {
        sk_log(SK_LOG_WARN, "%s", err.msg);
        return NULL;
    }
    if (m->debug_id && !ids_match(m, ix)) {
        sk_log(SK_LOG_WARN, "%s: debug id %s does not match the module's %s", path, sym_index_debug_id(ix),
               m->debug_id);
        sym_index_close(ix);
        return NULL;
    }
    own(s, ix);
    return ix;
}

/* ---- HTTP ---------------------------------------------------------------- */

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    sk_buf *b = ctx;
    size_t len = size * n;
    if (b->len + len > MAX_DOWNLOAD)
        return 0; /* aborts the transfer */
    sk_buf_append(b, p, len);
    return len;
}

static bool curl_ready(sw_symbols *s)
{
    if (!s->curl_inited) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return false;
        s->curl_inited = true;
    }
    if (!s->curl)
        s->curl = curl_easy_init();
    return s->curl != NULL;
}

static char *escaped(CURL *c, const char *s)
{
    char *e = curl_easy_escape(c, s, 0);
    char *out = sk_xstrdup(e ? e : "");
    curl_free(e);
    return out;
}

/* GET base/key?code_file=..&code_id=..; returns 1 found (body in b), 0
 * absent, -1 error. */
static int http_get(sw_symbols *s, const char *base, const char *key, const md_module *m, sk_buf *b,
                    char **url_out)
{
    if (!curl_ready(s))
        return -1;
    CURL *c = s->curl;
    sk_buf url;
    sk_buf_init(&url);
    size_t bl = strlen(base);
    while (bl && base[bl - 1] == '/')
        bl--;
    sk_buf_append(&url, base, bl);
    /* each key component was checked safe; escape for the URL anyway */
    const char *p = key;
    while (*p) {
        const char *q = strchr(p, '/');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        char *part = sk_xstrndup(p, n);
        char *e = escaped(c, part);
        sk_buf_putc(&url, '/');
        sk_buf_puts(&url, e);
        free(e);
        free(part);
        p += n;
        if (*p == '/')
            p++;
    }
    bool q_started = false;
    if (m->code_file && *m->code_file) {
        const char *name = m->code_file;
        for (const char *t = m->code_file; *t; t++)
            if (*t == '/' || *t == '\\')
                name = t + 1;
        char *e = escaped(c, name);
        sk_buf_printf(&url, "?code_file=%s", e);
        free(e);
        q_started = true;
    }
    if (m->code_id && *m->code_id) {
        char *e = escaped(c, m->code_id);
        sk_buf_printf(&url, "%scode_id=%s", q_started ? "&" : "?", e);
        free(e);
    }
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url.data);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip, deflate, ... decoded by curl */
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(s->opt->http_timeout ? s->opt->http_timeout : 30));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "symkit-stackwalk/" SK_VERSION);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    sk_buf_reset(b);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    int result;
    if (rc != CURLE_OK) {
        sk_log(SK_LOG_WARN, "%s: %s", url.data, curl_easy_strerror(rc));
        result = -1;
    } else if (status == 200) {
        result = 1;
    } else {
        if (status != 404)
            sk_log(SK_LOG_WARN, "%s: HTTP %ld", url.data, status);
        result = status == 404 ? 0 : -1;
    }
    *url_out = sk_xstrdup(url.data);
    sk_buf_free(&url);
    return result;
}

static sym_index *from_download(sw_symbols *s, const char *key, const md_module *m, sk_buf *body,
                                char **path_out)
{
    *path_out = NULL;
    if (body->len < 7 || memcmp(body->data, "MODULE ", 7) != 0) {
        sk_log(SK_LOG_WARN, "%s: the server's answer is not a .sym file", key);
        return NULL;
    }
    sk_error err;
    sym_index *ix;
    if (s->opt->symbols_cache) {
        char *path;
        if (!sw_cache_store(s->opt->symbols_cache, s->opt->symbols_tmp, key, body->data, body->len, &path, &err)) {
            ix = open_local(s, path, m);
            if (ix) {
                *path_out = path;
                return ix;
            }
            free(path);
        } else {
            sk_log(SK_LOG_WARN, "symbols cache: %s", err.msg);
        }
    }
    /* no cache (or it failed): keep the download in memory */
    char *data = body->data;
    size_t len = body->len;
    body->data = NULL;
    body->len = body->cap = 0;
    if (sym_index_open_owned(data, len, &ix, &err)) {
        sk_log(SK_LOG_WARN, "%s: %s", key, err.msg);
        return NULL;
    }
    if (m->debug_id && !ids_match(m, ix)) {
        sym_index_close(ix);
        return NULL;
    }
    own(s, ix);
    return ix;
}

/* ---- lookup ---------------------------------------------------------- */

static void open_files(sw_symbols *s)
{
    if (s->files_opened)
        return;
    s->files_opened = true;
    for (size_t i = 0; i < s->opt->nsymbol_paths; i++) {
        const char *p = s->opt->symbol_paths[i];
        if (!sk_is_file(p))
            continue;
        s->files = sk_xrealloc(s->files, (s->nfiles + 1) * sizeof *s->files);
        sym_file *f = &s->files[s->nfiles++];
        f->path = sk_xstrdup(p);
        sk_error err;
        if (sym_index_open(p, &f->ix, &err)) {
            f->ix = NULL;
            sk_log(SK_LOG_WARN, "%s", err.msg);
        }
    }
}

sw_symbol_result sw_symbols_find(sw_symbols *s, const md_module *m, sk_arena *a)
{
    sw_symbol_result r = {0};
    char *keys[MAX_KEYS] = {0};
    int nkeys = module_keys(m, keys);
    const sw_options *o = s->opt;

    /* single files named on the command line */
    open_files(s);
    for (size_t i = 0; i < s->nfiles && !r.index; i++)
        if (s->files[i].ix && ids_match(m, s->files[i].ix)) {
            r.index = s->files[i].ix;
            r.path = sk_arena_strdup(a, s->files[i].path);
        }
    /* store directories, then the cache */
    for (size_t i = 0; i < o->nsymbol_paths + 1 && !r.index; i++) {
        const char *dir = i < o->nsymbol_paths ? o->symbol_paths[i] : o->symbols_cache;
        if (!dir || !sk_is_dir(dir))
            continue;
        for (int k = 0; k < nkeys && !r.index; k++) {
            char *path = sk_path_join(dir, keys[k]);
            r.index = open_local(s, path, m);
            if (r.index) {
                r.path = sk_arena_strdup(a, path);
                /* a cache hit names the cached file as its symbol_url */
                if (i == o->nsymbol_paths)
                    r.url = r.path;
            }
            free(path);
        }
    }
    /* servers */
    if (!r.index && o->nsymbol_urls) {
        sk_buf body;
        sk_buf_init(&body);
        for (size_t i = 0; i < o->nsymbol_urls && !r.index; i++) {
            for (int k = 0; k < nkeys && !r.index; k++) {
                char *url = NULL, *path = NULL;
                /* one process downloads a key at a time; the others wait,
                 * then find it in the cache */
                int lock = o->symbols_cache ? sw_cache_lock(o->symbols_cache, keys[k]) : -1;
                if (lock >= 0) {
                    char *cached = sk_path_join(o->symbols_cache, keys[k]);
                    r.index = open_local(s, cached, m);
                    if (r.index) /* another process filled it meanwhile */
                        r.url = r.path = sk_arena_strdup(a, cached);
                    free(cached);
                }
                int got = 0;
                if (!r.index)
                    got = sw_s3_is_url(o->symbol_urls[i])
                              ? (curl_ready(s) ? sw_s3_get(s->curl, o, o->symbol_urls[i], keys[k],
                                                           &body, MAX_DOWNLOAD, &url)
                                               : -1)
                              : http_get(s, o->symbol_urls[i], keys[k], m, &body, &url);
                if (got == 1) {
                    r.index = from_download(s, keys[k], m, &body, &path);
                    if (r.index) {
                        r.url = sk_arena_strdup(a, url);
                        if (path)
                            r.path = sk_arena_strdup(a, path);
                    }
                }
                sw_cache_unlock(lock);
                free(url);
                free(path);
            }
        }
        sk_buf_free(&body);
    }
    /* last: made from the debug file a debuginfod server has */
    if (!r.index && s->debuginfod) {
        r.index = sw_debuginfod_find(s->debuginfod, m, a, &r.url, &r.path);
        if (r.index)
            own(s, r.index);
    }
    for (int k = 0; k < nkeys; k++)
        free(keys[k]);
    return r;
}
