/* dwz.c — finding, checking and sharing dwz supplementary files (dwz.h). */
#include "dwz.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct ds_sup_cache {
    pthread_mutex_t lock;
    ds_sup **v;
    size_t n, cap;
};

ds_sup_cache *ds_sup_cache_new(void)
{
    ds_sup_cache *c = sk_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

static void sup_free(ds_sup *s)
{
    if (!s)
        return;
    ds_object_close(&s->obj);
    free(s->unit_off);
    free(s->unit_end);
    free(s);
}

void ds_sup_cache_free(ds_sup_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        sup_free(c->v[i]);
    free(c->v);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

void ds_sup_release(ds_sup *sup)
{
    if (sup && !sup->cached)
        sup_free(sup);
}

static uint64_t uleb(const uint8_t *p, size_t n, size_t *pos, bool *ok)
{
    uint64_t v = 0;
    for (unsigned shift = 0; *pos < n; shift += 7) {
        uint8_t b = p[(*pos)++];
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    *ok = false;
    return 0;
}

bool ds_sup_link_read(ds_object *dbg, ds_sup_link *link)
{
    memset(link, 0, sizeof *link);
    const uint8_t *d = NULL;
    size_t n = 0;
    ds_section *alt = ds_object_section(dbg, ".gnu_debugaltlink");
    if (alt && alt->raw && alt->raw_size) {
        d = alt->raw;
        n = alt->raw_size;
        size_t len = strnlen((const char *)d, n);
        if (len == 0 || len == n || len >= sizeof link->path)
            return false;
        memcpy(link->path, d, len);
        size_t id = n - len - 1;
        if (id > sizeof link->build_id)
            id = sizeof link->build_id;
        memcpy(link->build_id, d + len + 1, id);
        link->build_id_len = id;
        return true;
    }
    /* DWARF 5: version (2), is_supplementary (1), file name, checksum
     * length (ULEB128), checksum (dwz writes the build-id). */
    ds_section *sup = ds_object_section(dbg, ".debug_sup");
    const uint8_t *data = NULL;
    if (!sup || ds_section_data(dbg, sup, &data, &n, NULL) != SK_OK || !data || n < 4)
        return false;
    if (data[2] != 0) /* this file is a supplementary file itself */
        return false;
    size_t len = strnlen((const char *)data + 3, n - 3);
    if (len == 0 || 3 + len >= n || len >= sizeof link->path)
        return false;
    memcpy(link->path, data + 3, len);
    size_t pos = 3 + len + 1;
    bool ok = true;
    uint64_t clen = uleb(data, n, &pos, &ok);
    if (!ok || clen > n - pos)
        return false;
    if (clen > sizeof link->build_id)
        clen = sizeof link->build_id;
    memcpy(link->build_id, data + pos, (size_t)clen);
    link->build_id_len = (size_t)clen;
    return true;
}

static di_span span_of(ds_object *obj, const char *name)
{
    ds_section *s = ds_object_section(obj, name);
    const uint8_t *data = NULL;
    size_t size = 0;
    if (!s || ds_section_data(obj, s, &data, &size, NULL) != SK_OK || !data)
        return (di_span){0};
    return (di_span){data, size};
}

/* Readies a supplementary file's sections and lists its units. */
static int sup_prepare(ds_sup *s, sk_error *err)
{
    di_sections *sec = &s->sec;
    sec->le = s->obj.little_endian;
    sec->is_sup = true;
    sec->info = span_of(&s->obj, ".debug_info");
    sec->abbrev = span_of(&s->obj, ".debug_abbrev");
    sec->str = span_of(&s->obj, ".debug_str");
    sec->line_str = span_of(&s->obj, ".debug_line_str");
    sec->str_offsets = span_of(&s->obj, ".debug_str_offsets");
    sec->line = span_of(&s->obj, ".debug_line");
    if (!sec->info.p)
        return sk_fail(err, SK_EFORMAT, "%s: dwz supplementary file without .debug_info", s->obj.path);
    size_t cap = 0;
    uint64_t off = 0;
    while (off < sec->info.n) {
        di_unit u;
        uint64_t next = 0;
        if (!di_unit_header(&u, sec, off, &next) && next == 0)
            break; /* what follows cannot be found; the units before it can */
        if (s->nunits == cap) {
            cap = cap ? cap * 2 : 64;
            s->unit_off = sk_xrealloc(s->unit_off, cap * sizeof *s->unit_off);
            s->unit_end = sk_xrealloc(s->unit_end, cap * sizeof *s->unit_end);
        }
        s->unit_off[s->nunits] = off;
        s->unit_end[s->nunits] = next;
        s->nunits++;
        off = next;
    }
    return SK_OK;
}

size_t ds_sup_unit_of(const ds_sup *sup, uint64_t off)
{
    size_t lo = 0, hi = sup->nunits;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (sup->unit_end[mid] <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= sup->nunits || off < sup->unit_off[lo])
        return SIZE_MAX;
    return lo;
}

/* The checksum a supplementary file's own .debug_sup records (version,
 * is_supplementary = 1, an empty name, the checksum): what DWARF 5 links
 * name it by when it has no build-id note. */
static bool own_sup_checksum(ds_object *o, const uint8_t **sum, size_t *len)
{
    ds_section *sec = ds_object_section(o, ".debug_sup");
    const uint8_t *d = NULL;
    size_t n = 0;
    if (!sec || ds_section_data(o, sec, &d, &n, NULL) != SK_OK || !d || n < 4 || d[2] != 1)
        return false;
    size_t pos = 3 + strnlen((const char *)d + 3, n - 3) + 1;
    bool ok = pos <= n;
    uint64_t clen = ok ? uleb(d, n, &pos, &ok) : 0;
    if (!ok || clen > n - pos)
        return false;
    *sum = d + pos;
    *len = (size_t)clen;
    return true;
}

static bool same_id(ds_object *o, const ds_sup_link *link)
{
    if (!link->build_id_len)
        return true;
    if (o->build_id_len == link->build_id_len &&
        memcmp(o->build_id, link->build_id, link->build_id_len) == 0)
        return true;
    const uint8_t *sum;
    size_t len;
    return own_sup_checksum(o, &sum, &len) && len == link->build_id_len &&
           memcmp(sum, link->build_id, len) == 0;
}

static void add_candidate(char ***v, size_t *n, size_t *cap, char *path)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp((*v)[i], path) == 0) {
            free(path);
            return;
        }
    sk_grow((void **)v, cap, *n + 1, sizeof **v);
    (*v)[(*n)++] = path;
}

/* Where the file may be, most specific first. */
static char **candidates(const ds_object *dbg, const ds_sup_link *link, const ds_options *opt,
                         size_t *count)
{
    char **v = NULL;
    size_t n = 0, cap = 0;
    if (link->path[0] == '/') {
        add_candidate(&v, &n, &cap, sk_xstrdup(link->path));
    } else {
        char *dir = sk_xstrdup(dbg->path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        add_candidate(&v, &n, &cap, slash ? sk_path_join(dir, link->path) : sk_xstrdup(link->path));
        free(dir);
    }
    char hex[129] = "";
    if (link->build_id_len >= 2) {
        sk_hex_upper(link->build_id, link->build_id_len, hex);
        for (char *p = hex; *p; p++)
            if (*p >= 'A' && *p <= 'F')
                *p = (char)(*p - 'A' + 'a');
    }
    static const char root[] = "/usr/lib/debug/";
    const char *dwz = strstr(link->path, "/.dwz/");
    for (size_t i = 0; i < opt->ndebug_dirs; i++) {
        const char *d = opt->debug_dirs[i];
        sk_buf b;
        sk_buf_init(&b);
        /* A debug tree unpacked somewhere else: the same place under it. */
        if (strncmp(link->path, root, sizeof root - 1) == 0) {
            sk_buf_printf(&b, "%s/%s", d, link->path + sizeof root - 1);
            add_candidate(&v, &n, &cap, sk_xstrdup(b.data));
        }
        if (dwz) {
            sk_buf_reset(&b);
            sk_buf_printf(&b, "%s%s", d, dwz);
            add_candidate(&v, &n, &cap, sk_xstrdup(b.data));
        }
        if (hex[0]) {
            sk_buf_reset(&b);
            sk_buf_printf(&b, "%s/.build-id/%.2s/%s.debug", d, hex, hex + 2);
            add_candidate(&v, &n, &cap, sk_xstrdup(b.data));
        }
        sk_buf_free(&b);
    }
    *count = n;
    return v;
}

int ds_sup_cache_add(ds_sup_cache *cache, ds_object *obj, sk_error *err)
{
    ds_sup *s = sk_xcalloc(1, sizeof *s);
    s->obj = *obj;
    memset(obj, 0, sizeof *obj);
    int rc = sup_prepare(s, err);
    if (rc) {
        sup_free(s);
        return rc;
    }
    s->cached = true;
    pthread_mutex_lock(&cache->lock);
    sk_grow((void **)&cache->v, &cache->cap, cache->n + 1, sizeof *cache->v);
    cache->v[cache->n++] = s;
    pthread_mutex_unlock(&cache->lock);
    return SK_OK;
}

bool ds_sup_cache_has(ds_sup_cache *cache, const ds_sup_link *link)
{
    if (!cache)
        return false;
    bool found = false;
    pthread_mutex_lock(&cache->lock);
    for (size_t i = 0; i < cache->n && !found; i++)
        found = link->build_id_len ? same_id(&cache->v[i]->obj, link)
                                   : strcmp(cache->v[i]->obj.path, link->path) == 0;
    pthread_mutex_unlock(&cache->lock);
    return found;
}

int ds_sup_open(ds_object *dbg, const ds_options *opt, ds_sup **out, sk_error *err)
{
    *out = NULL;
    ds_sup_link link;
    if (!ds_sup_link_read(dbg, &link))
        return SK_OK;
    ds_sup_cache *cache = opt->sup_cache;
    if (cache) {
        pthread_mutex_lock(&cache->lock);
        for (size_t i = 0; i < cache->n; i++) {
            ds_sup *s = cache->v[i];
            if (link.build_id_len ? same_id(&s->obj, &link) : strcmp(s->obj.path, link.path) == 0) {
                *out = s;
                break;
            }
        }
        if (*out) {
            pthread_mutex_unlock(&cache->lock);
            return SK_OK;
        }
    }
    size_t n = 0;
    char **cand = candidates(dbg, &link, opt, &n);
    sk_buf refused;
    sk_buf_init(&refused);
    ds_sup *found = NULL;
    int rc = SK_OK;
    for (size_t i = 0; i < n && !found; i++) {
        if (!sk_is_file(cand[i]))
            continue;
        ds_sup *s = sk_xcalloc(1, sizeof *s);
        sk_error oerr = {0};
        if (ds_object_open(&s->obj, cand[i], &oerr) != SK_OK) {
            sk_buf_printf(&refused, "; %s", oerr.msg);
        } else if (!same_id(&s->obj, &link)) {
            sk_buf_printf(&refused, "; %s: its id differs from the one the link records", cand[i]);
        } else if ((rc = sup_prepare(s, &oerr)) != SK_OK) {
            sk_buf_printf(&refused, "; %s", oerr.msg);
            rc = SK_OK;
        } else {
            found = s;
            continue;
        }
        sup_free(s);
    }
    if (found) {
        sk_log(SK_LOG_DEBUG, "%s: dwz supplementary file %s opened", dbg->path, found->obj.path);
        if (cache) {
            found->cached = true;
            sk_grow((void **)&cache->v, &cache->cap, cache->n + 1, sizeof *cache->v);
            cache->v[cache->n++] = found;
        }
        *out = found;
    } else {
        char hex[129] = "";
        sk_hex_upper(link.build_id, link.build_id_len, hex);
        rc = sk_fail(err, SK_ENOTFOUND,
                     "%s: dwz supplementary file %s (id %s) not found%s%s", dbg->path, link.path,
                     hex[0] ? hex : "none", refused.len ? ": refused " : "",
                     refused.len ? refused.data + 2 : "");
    }
    if (cache)
        pthread_mutex_unlock(&cache->lock);
    for (size_t i = 0; i < n; i++)
        free(cand[i]);
    free(cand);
    sk_buf_free(&refused);
    return rc;
}
