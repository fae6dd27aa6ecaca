/*
 * debuginfod.c — the last symbol supplier: a module's .sym made on demand
 * from its debug file and executable, fetched by ELF build-id from
 * debuginfod servers (what Linux distributions publish for every package).
 *
 * Only asked when the local paths, the cache and the symbol servers have
 * nothing, and only for a module whose code id is an ELF build-id (its
 * debug id must be the one derived from it).  The two files are fetched
 * through dumpsyms' libdebuginfod client into a private download directory,
 * converted in-process with the dumpsyms library exactly as
 * `dumpsyms --inlines EXECUTABLE DEBUGFILE` would, and the .sym is written
 * into the symbols cache in store layout (atomically), where the next walk
 * finds it without any download.  The downloads themselves are dropped: the
 * .sym is what is kept.  A failure is a warning for that module; after a
 * server did not answer (unreachable, too slow) it is not asked again during
 * this walk, so a dump with fifty system libraries costs one timeout, not
 * fifty.
 */
#include "debuginfod.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dumpsyms.h"

struct sw_debuginfod {
    const sw_options *opt;
    ds_debuginfod *client; /* made at the first module that needs it */
    bool down;             /* set up failed, or a server did not answer */
};

sw_debuginfod *sw_debuginfod_new(const sw_options *opt)
{
    if (!opt->debuginfod)
        return NULL;
    sw_debuginfod *d = sk_xcalloc(1, sizeof *d);
    d->opt = opt;
    return d;
}

void sw_debuginfod_free(sw_debuginfod *d)
{
    if (!d)
        return;
    ds_debuginfod_free(d->client);
    free(d);
}

/* The module's ELF build-id, when its code id is one: hex whose derived
 * debug id (either byte order) is the module's debug id. */
static size_t elf_build_id(const md_module *m, uint8_t *id, size_t cap)
{
    if (!m->code_id || !m->debug_id)
        return 0;
    size_t len = strlen(m->code_id);
    if (len < 2 || len % 2 || len / 2 > cap)
        return 0;
    for (size_t i = 0; i < len / 2; i++) {
        uint64_t v;
        if (!sk_parse_hex(m->code_id + 2 * i, 2, &v))
            return 0;
        id[i] = (uint8_t)v;
    }
    char le[34], be[34];
    sk_debug_id_from_build_id(id, len / 2, true, le);
    sk_debug_id_from_build_id(id, len / 2, false, be);
    if (strcasecmp(le, m->debug_id) != 0 && strcasecmp(be, m->debug_id) != 0)
        return 0;
    return len / 2;
}

static bool client_ready(sw_debuginfod *d)
{
    if (d->down)
        return false;
    if (d->client)
        return true;
    ds_debuginfod_config cfg = {
        .urls = d->opt->debuginfod_urls,
        .nurls = d->opt->ndebuginfod_urls,
        .cache_dir = d->opt->symbols_tmp,
        .private_cache = true,
        /* --symbols-download-timeout-secs, as for every other download */
        .timeout_secs = d->opt->http_timeout ? d->opt->http_timeout : 30,
    };
    sk_error err;
    if (ds_debuginfod_new(&cfg, &d->client, &err)) {
        sk_log(SK_LOG_WARN, "%s", err.msg);
        d->down = true;
        return false;
    }
    return true;
}

/* Drops a download from the private directory once it is converted. */
static void drop(ds_fetch *f)
{
    if (f->path)
        unlink(f->path);
    ds_fetch_free(f);
}

sym_index *sw_debuginfod_find(sw_debuginfod *d, const md_module *m, sk_arena *a, const char **url,
                              const char **path)
{
    *url = *path = NULL;
    uint8_t id[DS_DEBUGINFOD_MAX_BUILD_ID - 1];
    size_t n = elf_build_id(m, id, sizeof id);
    const char *name = sk_basename(m->debug_file ? m->debug_file : m->code_file ? m->code_file : "");
    if (!n || !sk_is_safe_key_component(name) || !client_ready(d))
        return NULL;

    sk_error err;
    ds_fetch dbg = {0}, exe = {0};
    double t0 = sk_now();
    int rc = ds_debuginfod_fetch(d->client, id, n, DS_DEBUGINFOD_DEBUGINFO, &dbg, &err);
    /* A served debug file that is a whole binary (a server indexing
     * unstripped files) has the unwind tables itself. */
    bool need_exe = rc != SK_OK || !ds_has_own_unwind_tables(dbg.path);
    if (need_exe && (rc == SK_OK || rc == SK_ENOTFOUND)) {
        /* .eh_frame (CFI) and .dynsym (PUBLIC) are only in the executable;
         * without a debug file it still gives those. */
        sk_error exe_err;
        int erc = ds_debuginfod_fetch(d->client, id, n, DS_DEBUGINFOD_EXECUTABLE, &exe, &exe_err);
        if (rc == SK_OK && erc)
            sk_log(SK_LOG_INFO, "%s: %s; STACK CFI and PUBLIC from the debug file only", name, exe_err.msg);
        if (rc == SK_ENOTFOUND && erc == SK_OK)
            rc = SK_OK;
    }
    double t_fetch = sk_now() - t0;
    if (rc) {
        if (rc == SK_ENET)
            d->down = true;
        sk_log(SK_LOG_WARN, "%s: %s%s", name, err.msg, d->down ? " (not asked again for this dump)" : "");
        drop(&dbg);
        drop(&exe);
        return NULL;
    }

    ds_options o;
    ds_options_init(&o);
    o.inlines = true; /* as dumpsyms --inlines */
    o.name = name;
    o.ndebug_dirs = 0; /* the two files are all there is */
    sym_module mod;
    sym_module_init(&mod);
    double t1 = sk_now();
    const char *from = dbg.url ? dbg.url : exe.url;
    rc = exe.path ? ds_dump(exe.path, dbg.path, &o, &mod, NULL, &err)
                  : ds_dump(dbg.path, NULL, &o, &mod, NULL, &err);
    double t_convert = sk_now() - t1;
    sym_index *ix = NULL;
    if (rc) {
        /* Name the download by its URL, not by its place in the scratch
         * directory. */
        const char *msg = err.msg, *where = from;
        const ds_fetch *files[2] = {&dbg, &exe};
        for (int i = 0; i < 2; i++) {
            size_t len = files[i]->path ? strlen(files[i]->path) : 0;
            if (len && strncmp(msg, files[i]->path, len) == 0 && msg[len] == ':' && msg[len + 1] == ' ') {
                msg += len + 2;
                where = files[i]->url;
                break;
            }
        }
        sk_log(SK_LOG_WARN, "%s: %s: %s", name, where, msg);
    } else if (strcasecmp(mod.debug_id, m->debug_id) != 0) {
        sk_log(SK_LOG_WARN, "%s: %s: served a file with debug id %s, the module's is %s", name, from,
               mod.debug_id, m->debug_id);
    } else {
        char *written = NULL;
        if (d->opt->symbols_cache &&
            ds_write_store(&mod, &o, d->opt->symbols_cache, &written, &err) == SK_OK) {
            if (sym_index_open(written, &ix, &err) == SK_OK)
                *path = sk_arena_strdup(a, written);
            else
                sk_log(SK_LOG_WARN, "%s", err.msg);
            free(written);
        } else {
            if (d->opt->symbols_cache)
                sk_log(SK_LOG_WARN, "symbols cache: %s", err.msg);
            sk_buf b;
            sk_buf_init(&b);
            sym_write_options wo = ds_write_options(&o);
            sym_write_buf(&mod, &wo, &b);
            if (sym_index_open_owned(b.data, b.len, &ix, &err)) {
                sk_log(SK_LOG_WARN, "%s: %s", name, err.msg);
                ix = NULL;
            }
        }
        if (ix) {
            *url = sk_arena_strdup(a, from);
            sk_buf what;
            sk_buf_init(&what);
            if (dbg.url)
                sk_buf_printf(&what, "%s (%llu bytes)", dbg.url, (unsigned long long)dbg.bytes);
            if (exe.url)
                sk_buf_printf(&what, "%s%s (%llu bytes)", dbg.url ? " and " : "", exe.url,
                              (unsigned long long)exe.bytes);
            sk_log(SK_LOG_INFO, "%s: debuginfod: fetched %s in %.2f s, converted in %.2f s", name, what.data,
                   t_fetch, t_convert);
            sk_buf_free(&what);
        }
    }
    sym_module_free(&mod);
    drop(&dbg);
    drop(&exe);
    return ix;
}
