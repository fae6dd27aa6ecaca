/* dump.c — ds_dump(): one binary in, one finalized sym_module out. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
/* malloc_trim is glibc's; under AddressSanitizer the heap is ASan's, and
 * glibc's trim walks arenas that were never set up (a SEGV). */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DS_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define DS_ASAN 1
#endif
#if defined(__GLIBC__) && !defined(DS_ASAN)
#define DS_MALLOC_TRIM 1
#include <malloc.h> /* malloc_trim */
#endif

#include <pthread.h>

#include "collect.h"

/* The threads one dump may use: opt->jobs, 0 for one a core.  With more
 * than one, sections are inflated side by side and ds_collect_dwarf()
 * reads the units on worker threads. */
static long dump_jobs(const ds_options *opt)
{
    return opt->jobs > 0 ? opt->jobs : sysconf(_SC_NPROCESSORS_ONLN);
}

void ds_options_init(ds_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->cfi = true;
    opt->synth_cfi = true;
    opt->generator = true;
    static const char *default_dirs[] = {"/usr/lib/debug"};
    opt->debug_dirs = default_dirs;
    opt->ndebug_dirs = 1;
}

sym_write_options ds_write_options(const ds_options *opt)
{
    sym_write_options w = {0};
    w.header_only = opt->header_only;
    w.cfi_only = opt->cfi_only;
    w.no_cfi = !opt->cfi;
    return w;
}

/* An explicitly named debug file must belong to the binary: same build-id
 * when both have one, else the CRC its .gnu_debuglink records. */
static int check_explicit_debug_file(ds_object *bin, ds_object *dbg, sk_error *err)
{
    if (bin->build_id_len && dbg->build_id_len) {
        if (bin->build_id_len != dbg->build_id_len ||
            memcmp(bin->build_id, dbg->build_id, bin->build_id_len) != 0) {
            char a[129], b[129];
            sk_hex_upper(bin->build_id, bin->build_id_len, a);
            sk_hex_upper(dbg->build_id, dbg->build_id_len, b);
            return sk_fail(err, SK_EMISMATCH,
                           "%s: build-id %s does not match the binary %s (build-id %s)", dbg->path, b,
                           bin->path, a);
        }
        return SK_OK;
    }
    ds_section *link = ds_object_section(bin, ".gnu_debuglink");
    if (link && link->raw && link->raw_size >= 8) {
        size_t n = strnlen((const char *)link->raw, link->raw_size);
        size_t off = (n + 1 + 3) & ~(size_t)3;
        if (off + 4 <= link->raw_size) {
            const uint8_t *c = link->raw + off;
            uint32_t want = bin->little_endian ? (uint32_t)c[0] | (uint32_t)c[1] << 8 |
                                                     (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24
                                               : (uint32_t)c[3] | (uint32_t)c[2] << 8 |
                                                     (uint32_t)c[1] << 16 | (uint32_t)c[0] << 24;
            uint32_t got = (uint32_t)crc32_z(0, dbg->map.data, dbg->map.size);
            if (got != want)
                return sk_fail(err, SK_EMISMATCH,
                               "%s: CRC32 %08x does not match the %08x recorded in the .gnu_debuglink "
                               "of %s",
                               dbg->path, got, want, bin->path);
        }
    }
    return SK_OK;
}

/* Opens the file DWARF should come from: the one the caller named, else the
 * binary itself when it has DWARF, else a separate debug file found by
 * build-id or .gnu_debuglink.  *dbg stays NULL when there is none. */
/* A dSYM companion belongs to the binary when their UUIDs are equal. */
static int check_dsym_uuid(ds_object *bin, ds_object *dbg, sk_error *err)
{
    char a[129] = "none", b[129] = "none";
    if (bin->build_id_len)
        sk_hex_upper(bin->build_id, bin->build_id_len, a);
    if (dbg->build_id_len)
        sk_hex_upper(dbg->build_id, dbg->build_id_len, b);
    if (bin->build_id_len && bin->build_id_len == dbg->build_id_len &&
        memcmp(bin->build_id, dbg->build_id, bin->build_id_len) == 0)
        return SK_OK;
    return sk_fail(err, SK_EMISMATCH, "%s: UUID %s does not match the binary %s (UUID %s)", dbg->path, b, bin->path,
                   a);
}

/* The DWARF of a Mach-O binary: the dSYM named by the caller (a bundle
 * or its companion file; a UUID mismatch is refused), the binary itself
 * when it has DWARF (an object file), else BINARY.dSYM beside it. */
static int open_dsym(ds_object *bin, const char *debug_path, ds_object *storage, ds_object **dbg,
                     sk_error *err)
{
    char *path = NULL;
    bool explicit = debug_path != NULL;
    if (explicit) {
        int rc = ds_dsym_resolve(debug_path, bin->path, &path, err);
        if (rc)
            return rc;
    } else if (ds_object_has_dwarf(bin)) {
        *dbg = bin;
        return SK_OK;
    } else if (!(path = ds_dsym_beside(bin->path))) {
        return SK_OK;
    }
    /* The companion of a fat binary is fat too: the same slice. */
    sk_error e = {0};
    int rc = ds_object_open_arch(storage, path, bin->arch, &e);
    free(path);
    if (rc == SK_OK && storage->format != DS_FORMAT_MACHO)
        rc = sk_fail(&e, SK_EFORMAT, "%s: not a Mach-O dSYM companion", storage->path);
    if (rc == SK_OK)
        rc = check_dsym_uuid(bin, storage, &e);
    if (rc) {
        ds_object_close(storage);
        if (explicit) {
            *err = e;
            return rc;
        }
        /* A stale bundle beside the binary: say so, dump without it. */
        sk_log(SK_LOG_WARN, "%s", e.msg);
        return SK_OK;
    }
    *dbg = storage;
    return SK_OK;
}

static int open_debug_object(ds_object *bin, const char *debug_path, const ds_options *opt,
                             ds_object *storage, ds_object **dbg, ds_summary *summary, sk_error *err)
{
    *dbg = NULL;
    if (bin->format == DS_FORMAT_MACHO)
        return open_dsym(bin, debug_path, storage, dbg, err);
    if (debug_path) {
        int rc = ds_object_open(storage, debug_path, err);
        if (rc == SK_OK)
            rc = check_explicit_debug_file(bin, storage, err);
        if (rc) {
            ds_object_close(storage);
            return rc;
        }
        *dbg = storage;
        return SK_OK;
    }
    if (ds_object_has_dwarf(bin)) {
        *dbg = bin;
        return SK_OK;
    }
    char *url = NULL;
    sk_error search_err = {0};
    int rc = ds_find_debug_file(bin, opt, storage, &url, &search_err);
    if (url)
        snprintf(summary->debug_file_url, sizeof summary->debug_file_url, "%s", url);
    free(url);
    if (rc == SK_OK) {
        *dbg = storage;
        return SK_OK;
    }
    if (rc == SK_EMISMATCH) {
        /* A refused candidate is worth telling: the user may expect it to be used. */
        sk_log(SK_LOG_WARN, "%s", search_err.msg);
    }
    return SK_OK;
}

/* Inflated side by side, beside the DWARF walk's setup.  Not .debug_info,
 * .debug_line nor .debug_rnglists: the walk streams them when they are
 * compressed (see dwarf_funcs.c), and otherwise inflates them itself while
 * these inflate. */
static const char *const dwarf_sections[] = {
    ".debug_str", ".debug_abbrev", ".debug_ranges",
    ".debug_line_str", ".debug_str_offsets", ".debug_addr", ".debug_frame", NULL,
};
/* What only ds_collect_dwarf() reads (CFI still needs .debug_frame). */
static const char *const dwarf_only_sections[] = {
    ".debug_info", ".debug_line", ".debug_str", ".debug_abbrev", ".debug_rnglists",
    ".debug_ranges", ".debug_line_str", ".debug_str_offsets", ".debug_addr", ".debug_loclists",
    ".debug_loc", ".debug_types", ".debug_aranges", ".debug_names", ".debug_macro", NULL,
};

static int dump_objects(ds_object *bin, ds_object *dbg, const char *binary_path,
                        const ds_options *opt, sym_module *m, ds_summary *summary, sk_error *err);

/* ---- STACK CFI beside finalizing --------------------------------------- */

/* STACK CFI is collected into a module of its own, on a thread of its own,
 * while this thread finalizes the rest (ceph-osd: about 0.1 s each, which
 * were one after the other on one core).  That gives the same records:
 * CFI reads the DWARF walk's result only through synthesized CFI, which
 * takes the FUNCs' addresses, sizes and names (lent to the side module
 * below, since finalize rewrites m->funcs meanwhile), and finalize treats
 * CFI apart from everything else, so finalizing the two modules apart and
 * then adding the finalized CFI to m in its order is finalizing them
 * together.  The symfile model is not thread-safe: each thread touches
 * only its own module (the lent names are m's pool strings, which finalize
 * leaves in place). */
typedef struct cfi_side {
    ds_context ctx; /* the dump's, with m = &own */
    sym_module own;
    sym_finalize_stats st;
    sk_error err;
    int rc;
    double seconds;
    pthread_t tid;
} cfi_side;

static void *cfi_side_main(void *arg)
{
    cfi_side *c = arg;
    double t = sk_now();
    c->rc = ds_collect_cfi(&c->ctx, &c->err);
    /* The lent FUNCs go back before finalize would sort them. */
    free(c->own.funcs);
    c->own.funcs = NULL;
    c->own.nfuncs = c->own.funcs_cap = 0;
    if (c->rc == SK_OK)
        sym_module_finalize(&c->own, &c->st);
    c->seconds = sk_now() - t;
    return NULL;
}

/* Starts ds_collect_cfi() for ctx on a thread of its own; false (nothing
 * started) when there is no thread to be had. */
static bool cfi_side_start(cfi_side *c, const ds_context *ctx)
{
    memset(c, 0, sizeof *c);
    sym_module_init(&c->own);
    c->ctx = *ctx;
    c->ctx.m = &c->own;
    /* Only what synthesis reads: address, size and name (the rest zero,
     * so nothing of m's is owned twice). */
    const sym_module *m = ctx->m;
    if (m->nfuncs) {
        c->own.funcs = sk_xcalloc(m->nfuncs, sizeof *c->own.funcs);
        for (size_t i = 0; i < m->nfuncs; i++) {
            c->own.funcs[i].addr = m->funcs[i].addr;
            c->own.funcs[i].size = m->funcs[i].size;
            c->own.funcs[i].name = m->funcs[i].name;
        }
        c->own.nfuncs = c->own.funcs_cap = m->nfuncs;
    }
    if (pthread_create(&c->tid, NULL, cfi_side_main, c) == 0)
        return true;
    free(c->own.funcs);
    c->own.funcs = NULL;
    sym_module_free(&c->own);
    return false;
}

/* Waits for the side thread and adds its finalized CFI, and the INFO line
 * synthesis may have added, to the finalized m. */
static int cfi_side_finish(cfi_side *c, sym_module *m, sym_finalize_stats *st, sk_error *err)
{
    pthread_join(c->tid, NULL);
    int rc = c->rc;
    if (rc) {
        *err = c->err;
    } else {
        for (size_t i = 0; i < c->own.ncfi; i++) {
            const sym_cfi *from = &c->own.cfi[i];
            /* (Finalized: every INIT has its rules, pool strings.) */
            sym_cfi *to = sym_module_add_cfi_n(m, from->addr, from->size, from->init_rules,
                                               strlen(from->init_rules), from->nrows);
            for (size_t r = 0; r < from->nrows; r++)
                sym_cfi_add_row(m, to, from->rows[r].addr, from->rows[r].rules);
        }
        for (size_t i = 0; i < c->own.ninfo; i++)
            sym_module_add_info(m, c->own.info[i]);
        st->cfi_dropped += c->st.cfi_dropped;
    }
    sym_module_free(&c->own);
    return rc;
}

int ds_dump(const char *binary_path, const char *debug_path, const ds_options *opt, sym_module *m,
            ds_summary *summary, sk_error *err)
{
    ds_summary local_summary;
    if (!summary)
        summary = &local_summary;
    memset(summary, 0, sizeof *summary);

    ds_object bin, dbg_storage;
    /* A dSYM bundle named as the binary: dump its companion. */
    char *companion = NULL;
    if (sk_is_dir(binary_path)) {
        int rc = ds_dsym_resolve(binary_path, NULL, &companion, err);
        if (rc)
            return rc;
        binary_path = companion;
    }
    ds_object *dbg = NULL;
    int rc = ds_object_open_arch(&bin, binary_path, opt->arch, err);
    if (rc)
        goto out;
    if (!bin.arch) {
        rc = sk_fail(err, SK_EUNSUPPORTED, "%s: unsupported %s", binary_path, bin.machine_desc);
        goto out;
    }
    rc = open_debug_object(&bin, debug_path, opt, &dbg_storage, &dbg, summary, err);
    if (rc)
        goto out;
    rc = dump_objects(&bin, dbg, binary_path, opt, m, summary, err);
    if (dbg && dbg != &bin)
        ds_object_close(dbg);
out:
    ds_object_close(&bin);
    free(companion);
    return rc;
}

int ds_dump_object(ds_object *bin, ds_object *dbg, const char *name, const ds_options *opt,
                   sym_module *m, ds_summary *summary, sk_error *err)
{
    ds_summary local_summary;
    if (!summary)
        summary = &local_summary;
    memset(summary, 0, sizeof *summary);
    if (!bin->arch)
        return sk_fail(err, SK_EUNSUPPORTED, "%s: unsupported %s", bin->path, bin->machine_desc);
    ds_object dbg_storage;
    ds_object *found = NULL;
    if (!dbg) {
        int rc = open_debug_object(bin, NULL, opt, &dbg_storage, &found, summary, err);
        if (rc)
            return rc;
        dbg = found;
    }
    int rc = dump_objects(bin, dbg, name, opt, m, summary, err);
    if (found && found != bin)
        ds_object_close(found);
    return rc;
}

/* ds_dump() once the objects are open; binary_path gives the module name
 * (its last component) and names the binary in messages. */
static int dump_objects(ds_object *bin, ds_object *dbg, const char *binary_path,
                        const ds_options *opt, sym_module *m, ds_summary *summary, sk_error *err)
{
    int rc;
    ds_prefetch *prefetch = NULL; /* sections inflating in the background */
    cfi_side side;
    bool side_started = false;
    char debug_id[34];
    rc = ds_object_debug_id(bin, debug_id, err);
    if (rc)
        goto out;
    m->os = bin->os;
    m->arch = bin->arch;
    m->debug_id = sk_arena_strdup(m->arena, debug_id);
    /* Breakpad's Linux client names a library by its SONAME in the
     * minidump (libpng16.so.16, not libpng16.so.16.39.0): the MODULE name
     * and the store path must say the same for the lookup to match. */
    char soname[1024];
    const char *name = opt->name ? opt->name
                       : ds_object_soname(bin, soname, sizeof soname) &&
                               sk_is_safe_path_component(soname)
                           ? soname
                           : sk_basename(binary_path);
    m->name = sk_arena_strdup(m->arena, name);
    char code_id[129];
    if (ds_object_code_id(bin, code_id, sizeof code_id))
        m->code_id = sk_arena_strdup(m->arena, code_id);
    if (opt->generator)
        m->generator = "symkit " SK_VERSION;
    if (dbg)
        snprintf(summary->debug_file_used, sizeof summary->debug_file_used, "%s", dbg->path);

    ds_context ctx = {
        .bin = bin, .dbg = dbg, .load_addr = bin->load_addr, .opt = opt, .m = m, .summary = summary,
    };
    /* Phase times for -v: where a slow dump spends its time. */
    double t_dwarf = 0, t_publics = 0, t_cfi = 0, t = sk_now();
    if (!opt->header_only && dbg) {
        /* Distribution debug files are zlib-compressed section by section:
         * inflate the ones we will read side by side rather than one after
         * the other on first touch, and in the background: the DWARF walk
         * sets up what needs none of them meanwhile, and waits for each
         * only where it first reads it (so the inflating is part of the
         * DWARF time). */
        static const char *const cfi_sections[] = {".debug_frame", NULL};
        int jobs = (int)dump_jobs(opt);
        if (jobs > 1)
            prefetch = ds_object_prefetch_start(dbg, opt->cfi_only ? cfi_sections : dwarf_sections, jobs);
        ctx.prefetch = prefetch;
    }
    if (!opt->header_only) {
        if (!opt->cfi_only) {
            if (dbg && ds_object_has_dwarf(dbg)) {
                rc = ds_collect_dwarf(&ctx, err);
                /* Before the sections are released (or the objects
                 * closed): no inflating thread may outlive them. */
                ds_object_prefetch_finish(prefetch);
                prefetch = ctx.prefetch = NULL;
                if (rc)
                    goto out;
                t_dwarf = sk_now() - t;
                /* The model holds copies of everything it took from
                 * DWARF and every unit is closed: hand the inflated
                 * sections (over 500 MB for a big C++ program) back before
                 * CFI, finalizing and writing add to the heap. */
                ds_object_release(dbg, dwarf_only_sections);
#ifdef DS_MALLOC_TRIM
                /* The units were read and merged on worker threads, whose
                 * heaps now hold little but free pages (over 100 MB for
                 * ceph-osd --inlines) that glibc keeps resident through
                 * CFI, finalize and writing unless asked.  A walk on this
                 * thread alone (the packager's -j N: one file a thread)
                 * left no such heaps, and trimming its own only cost the
                 * page faults of taking the pages back. */
                if (dump_jobs(opt) > 1)
                    malloc_trim(0);
#endif
            } else if (bin->format == DS_FORMAT_MACHO && !dbg) {
                /* No dSYM: the DWARF is in the object files the debug
                 * map names (macho/debugmap.c). */
                sk_error dm_err = {0};
                rc = ds_collect_debug_map(&ctx, &dm_err);
                if (rc == SK_ENOTFOUND) {
                    rc = SK_OK;
                } else if (rc) {
                    *err = dm_err;
                    goto out;
                }
                t_dwarf = sk_now() - t;
            } else {
                sk_log(SK_LOG_WARN, "%s: no DWARF debug information found; writing PUBLIC%s records only",
                       binary_path, opt->cfi ? " and STACK CFI" : "");
            }
            t = sk_now();
            rc = ds_collect_publics(&ctx, err);
            if (rc)
                goto out;
            t_publics = sk_now() - t;
        }
        /* (With --cfi-only there is nothing else to finalize.) */
        if (opt->cfi && !opt->cfi_only && dump_jobs(opt) > 1)
            side_started = cfi_side_start(&side, &ctx);
        if ((opt->cfi || opt->cfi_only) && !side_started) {
            t = sk_now();
            rc = ds_collect_cfi(&ctx, err);
            if (rc)
                goto out;
            t_cfi = sk_now() - t;
        }
    }
    sym_finalize_stats st = {0};
    t = sk_now();
    sym_module_finalize(m, &st);
    ds_name_publics(m);
    if (side_started) {
        side_started = false;
        rc = cfi_side_finish(&side, m, &st, err);
        if (rc)
            goto out;
        t_cfi = side.seconds;
    }
    if (opt->verbose) {
        sk_log(SK_LOG_INFO,
               "%s: seconds spent: %.2f DWARF, %.2f PUBLIC, %.2f CFI, %.2f finalizing", binary_path,
               t_dwarf, t_publics, t_cfi, sk_now() - t);
        sk_log(SK_LOG_INFO,
               "%s: %zu FUNC, %zu PUBLIC, %zu STACK CFI INIT (%zu synthesized, for %zu functions); "
               "finalize folded %zu FUNC, merged %zu "
               "described twice, trimmed %zu, dropped %zu line records, %zu PUBLIC (covered by a "
               "FUNC or duplicate), %zu CFI",
               binary_path, m->nfuncs, m->npublics, m->ncfi, summary->synth_cfi_inits,
               summary->synth_cfi_functions, st.funcs_folded,
               st.funcs_deduplicated + summary->funcs_described_again,
               st.funcs_trimmed,
               st.lines_dropped, st.publics_dropped, st.cfi_dropped);
    }
out:
    ds_object_prefetch_finish(prefetch);
    return rc;
}

static bool to_atomic_file(const char *data, size_t len, void *ctx)
{
    return sk_atomic_write(ctx, data, len);
}

/* Writes m to path and commits it, here or (commits not NULL) on the
 * committer's thread.  Streamed to the temporary file as it is formatted:
 * holding ceph-osd's whole .sym (165 MB) first would be the largest
 * allocation of the run. */
static int write_file(const sym_module *m, const ds_options *opt, const char *path,
                      sk_committer *commits, void *ticket, sk_error *err)
{
    sk_atomic_file f;
    int rc = sk_atomic_open(&f, path, err);
    if (rc)
        return rc;
    sym_write_options wo = ds_write_options(opt);
    sym_write_to(m, &wo, to_atomic_file, &f);
    if (!commits)
        return sk_atomic_commit(&f, err);
    sk_committer_hand(commits, &f, ticket);
    return SK_OK;
}

int ds_write_file(const sym_module *m, const ds_options *opt, const char *path, sk_error *err)
{
    return write_file(m, opt, path, NULL, NULL, err);
}

/* m's path in the store (*path, malloc'd), its folders made. */
static int store_path(const sym_module *m, const char *store_dir, char **path, sk_error *err)
{
    *path = NULL;
    char *key = sk_store_key(m->name, m->debug_id, err);
    if (!key)
        return SK_EFORMAT;
    char *p = sk_path_join(store_dir, key);
    free(key);
    char *dir = sk_xstrdup(p);
    *strrchr(dir, '/') = '\0';
    int rc = sk_mkdir_p(dir, err);
    free(dir);
    if (rc) {
        free(p);
        return rc;
    }
    *path = p;
    return SK_OK;
}

int ds_write_store(const sym_module *m, const ds_options *opt, const char *store_dir, char **written,
                   sk_error *err)
{
    if (written)
        *written = NULL;
    char *path = NULL;
    int rc = store_path(m, store_dir, &path, err);
    if (rc)
        return rc;
    rc = write_file(m, opt, path, NULL, NULL, err);
    if (rc == SK_OK && written)
        *written = path;
    else
        free(path);
    return rc;
}

int ds_write_store_handed(const sym_module *m, const ds_options *opt, const char *store_dir,
                          sk_committer *commits, void *ticket, sk_error *err)
{
    char *path = NULL;
    int rc = store_path(m, store_dir, &path, err);
    if (rc)
        return rc;
    rc = write_file(m, opt, path, commits, ticket, err);
    free(path);
    return rc;
}


int ds_list_arches(const char *path, ds_arch_entry **out, size_t *n, sk_error *err)
{
    *out = NULL;
    *n = 0;
    /* A dSYM bundle: its companion's slices. */
    char *companion = NULL;
    if (sk_is_dir(path)) {
        int rc = ds_dsym_resolve(path, NULL, &companion, err);
        if (rc)
            return rc;
        path = companion;
    }
    ds_object_slice *v = NULL;
    int rc = ds_object_slices(path, &v, n, err);
    free(companion);
    if (rc)
        return rc;
    *out = sk_xcalloc(*n ? *n : 1, sizeof **out);
    for (size_t i = 0; i < *n; i++) {
        snprintf((*out)[i].arch, sizeof (*out)[i].arch, "%s", v[i].arch);
        snprintf((*out)[i].id, sizeof (*out)[i].id, "%s", v[i].id);
    }
    free(v);
    return SK_OK;
}

