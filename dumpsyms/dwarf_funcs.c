/* dwarf_funcs.c — ds_collect_dwarf(): FILE/FUNC/line/INLINE records from
 * every compilation unit, read in parallel and merged in unit order.
 *
 * Each worker thread opens its own Dwarf_Debug over the shared section
 * bytes, walks the unit headers itself (cheap) and claims units one at a
 * time; the calling thread merges finished units strictly in .debug_info
 * order, so the module is built the same way whatever the thread count,
 * and frees each unit as soon as it is merged.  Workers stay at most a
 * small window ahead of the merge so memory stays flat per unit. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "dwarf_unit.h"

#define MAX_JOBS 64

typedef struct unit_ref {
    Dwarf_Off off;   /* unit header offset in .debug_info */
    Dwarf_Half type; /* DW_UT_* */
} unit_ref;

/* ---- string interning for FILE paths and INLINE_ORIGIN names ---------- */

typedef struct intern {
    const char **keys; /* the module's own copies */
    uint32_t *ids;
    size_t nslots, n;
} intern;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void intern_free(intern *t)
{
    free(t->keys);
    free(t->ids);
    memset(t, 0, sizeof *t);
}

static void intern_put(intern *t, const char *key, uint32_t id)
{
    size_t i = (size_t)hash_str(key) & (t->nslots - 1);
    while (t->keys[i])
        i = (i + 1) & (t->nslots - 1);
    t->keys[i] = key;
    t->ids[i] = id;
}

typedef uint32_t (*add_fn)(sym_module *m, const char *s);

static uint32_t intern_get(intern *t, sym_module *m, const char *key, add_fn add,
                           const char **(*stored)(sym_module *m, uint32_t id))
{
    if (t->nslots) {
        size_t i = (size_t)hash_str(key) & (t->nslots - 1);
        while (t->keys[i]) {
            if (strcmp(t->keys[i], key) == 0)
                return t->ids[i];
            i = (i + 1) & (t->nslots - 1);
        }
    }
    uint32_t id = add(m, key);
    if ((t->n + 1) * 2 > t->nslots) {
        intern old = *t;
        t->nslots = t->nslots ? t->nslots * 2 : 256;
        t->keys = sk_xcalloc(t->nslots, sizeof *t->keys);
        t->ids = sk_xcalloc(t->nslots, sizeof *t->ids);
        for (size_t i = 0; i < old.nslots; i++)
            if (old.keys[i])
                intern_put(t, old.keys[i], old.ids[i]);
        free(old.keys);
        free(old.ids);
    }
    intern_put(t, *stored(m, id), id);
    t->n++;
    return id;
}

static const char **stored_file(sym_module *m, uint32_t id)
{
    return &m->files[id];
}

static const char **stored_origin(sym_module *m, uint32_t id)
{
    return &m->origins[id];
}

/* ---- merging one unit into the module ---------------------------------- */

typedef struct merger {
    ds_context *ctx;
    intern files, origins;
    sym_range *tmp;
    size_t tmp_cap;
    /* A unit hands out one pointer per distinct inline origin name (it
     * resolves each declaration once), so within a unit the pointer finds
     * the origin id without hashing the (long, C++) name again: over a
     * million INLINE records for ceph-osd.  Slots whose gen is not the
     * current unit's are empty, so nothing is cleared between units. */
    const char **okeys;
    uint32_t *oids, *ogen;
    size_t oslots;
    uint32_t gen;
} merger;

static uint32_t origin_id(merger *mg, const char *name)
{
    if (!name)
        return intern_get(&mg->origins, mg->ctx->m, "", sym_module_add_origin, stored_origin);
    size_t i = (size_t)(((uintptr_t)name >> 3) * 0x9E3779B97F4A7C15ull) & (mg->oslots - 1);
    while (mg->ogen[i] == mg->gen) {
        if (mg->okeys[i] == name)
            return mg->oids[i];
        i = (i + 1) & (mg->oslots - 1);
    }
    uint32_t id = intern_get(&mg->origins, mg->ctx->m, name, sym_module_add_origin, stored_origin);
    mg->okeys[i] = name;
    mg->oids[i] = id;
    mg->ogen[i] = mg->gen;
    return id;
}

/* Readies the pointer cache for a unit of n inline records: at least 2n
 * slots, so probing always ends at an empty one. */
static void origin_cache_begin(merger *mg, size_t n)
{
    size_t want = 64;
    while (want < 2 * n + 2)
        want *= 2;
    if (want > mg->oslots) {
        free(mg->okeys);
        free(mg->oids);
        free(mg->ogen);
        mg->okeys = sk_xcalloc(want, sizeof *mg->okeys);
        mg->oids = sk_xcalloc(want, sizeof *mg->oids);
        mg->ogen = sk_xcalloc(want, sizeof *mg->ogen);
        mg->oslots = want;
        mg->gen = 0;
    }
    if (++mg->gen == 0) { /* wrapped: every stamp is stale, start over */
        memset(mg->ogen, 0, mg->oslots * sizeof *mg->ogen);
        mg->gen = 1;
    }
}

static void merge(merger *mg, const unit_ref *ref, dsu_result *r)
{
    ds_context *ctx = mg->ctx;
    sym_module *m = ctx->m;
    if (r->note)
        sk_log(SK_LOG_WARN, "%s: compilation unit at offset 0x%llx: %s", ctx->dbg->path,
               (unsigned long long)ref->off, r->note);
    if (r->error) {
        sk_log(SK_LOG_WARN, "%s: compilation unit at offset 0x%llx: %s; skipped", ctx->dbg->path,
               (unsigned long long)ref->off, r->error);
        ctx->summary->dwarf_errors++;
        return;
    }
    uint32_t *fmap = sk_xmalloc((r->nfiles + 1) * sizeof *fmap);
    for (size_t i = 0; i < r->nfiles + 1; i++)
        fmap[i] = UINT32_MAX;
    uint64_t load = ctx->load_addr;
#define MAP_FILE(fi)                                                                              \
    ((fi) >= r->nfiles || !r->files[fi]                                                           \
         ? UINT32_MAX                                                                             \
         : (fmap[fi] != UINT32_MAX                                                                \
                ? fmap[fi]                                                                        \
                : (fmap[fi] = intern_get(&mg->files, m, r->files[fi], sym_module_add_file,        \
                                         stored_file))))
    if (r->ninlines)
        origin_cache_begin(mg, r->ninlines);
    for (size_t i = 0; i < r->nfuncs; i++) {
        const dsu_func *fn = &r->funcs[i];
        sym_func *f = sym_module_add_func(m, fn->lo - load, fn->hi - fn->lo, fn->name);
        /* The unit knows how many lines and inlines each function gets:
         * size the arrays exactly rather than let them double from 8 (for
         * ceph-osd that slack was 40 MB of a model that lives until the
         * .sym is written).  Any later growth still goes through the
         * model's own doubling, which starts from whatever cap is here. */
        if (fn->nlines) {
            f->lines = sk_xmalloc((size_t)fn->nlines * sizeof *f->lines);
            f->lines_cap = fn->nlines;
        }
        if (fn->ninlines) {
            f->inlines = sk_xmalloc((size_t)fn->ninlines * sizeof *f->inlines);
            f->inlines_cap = fn->ninlines;
        }
        for (uint32_t k = 0; k < fn->nlines; k++) {
            const dsu_line *l = &r->lines[fn->first_line + k];
            sym_func_add_line(m, f, l->addr - load, l->size, l->line, MAP_FILE(l->file));
        }
        for (uint32_t k = 0; k < fn->ninlines; k++) {
            const dsu_inline *in = &r->inlines[fn->first_inline + k];
            sk_grow((void **)&mg->tmp, &mg->tmp_cap, in->nranges, sizeof *mg->tmp);
            for (uint32_t j = 0; j < in->nranges; j++) {
                const dsu_range *rg = &r->ranges[in->first_range + j];
                mg->tmp[j] = (sym_range){rg->lo - load, rg->hi - rg->lo};
            }
            uint32_t origin = origin_id(mg, in->origin);
            sym_func_add_inline(m, f, in->depth, in->call_line, MAP_FILE(in->call_file), origin,
                                mg->tmp, in->nranges);
        }
    }
#undef MAP_FILE
    free(fmap);
}

/* ---- reading units ----------------------------------------------------- */

/* The .dwo name of a split-DWARF skeleton unit (DWARF 5 DW_AT_dwo_name or
 * GCC's DWARF 4 DW_AT_GNU_dwo_name), NULL otherwise; malloc'd. */
static char *dwo_name(ds_dwarf *d, Dwarf_Die cu_die)
{
    static const Dwarf_Half ats[] = {DW_AT_dwo_name, DW_AT_GNU_dwo_name};
    for (size_t i = 0; i < 2; i++) {
        Dwarf_Attribute a = NULL;
        Dwarf_Error e = NULL;
        int res = dwarf_attr(cu_die, ats[i], &a, &e);
        if (res == DW_DLV_ERROR)
            dwarf_dealloc(d->dbg, e, DW_DLA_ERROR);
        if (res != DW_DLV_OK)
            continue;
        char *str = NULL;
        res = dwarf_formstring(a, &str, &e);
        if (res == DW_DLV_ERROR)
            dwarf_dealloc(d->dbg, e, DW_DLA_ERROR);
        dwarf_dealloc_attribute(a);
        if (res == DW_DLV_OK && str)
            return sk_xstrdup(str);
    }
    return NULL;
}

/* Advances d's unit iterator (which has passed *pos units) to unit idx and
 * reads it into out. */
static void read_unit(ds_dwarf *d, size_t *pos, size_t idx, const unit_ref *ref, const dsu_env *env,
                      dsu_result *out)
{
    Dwarf_Error e = NULL;
    char buf[400];
    while (*pos <= idx) {
        Dwarf_Unsigned len = 0, typeoff = 0, next = 0;
        Dwarf_Half ver = 0, asz = 0, lsz = 0, esz = 0, type = 0;
        Dwarf_Off abbrev = 0;
        Dwarf_Sig8 sig;
        int res = dwarf_next_cu_header_d(d->dbg, true, &len, &ver, &abbrev, &asz, &lsz, &esz, &sig,
                                         &typeoff, &next, &type, &e);
        if (res != DW_DLV_OK) {
            out->error = sk_xstrdup(res == DW_DLV_ERROR ? ds_dwarf_errmsg(d, e, buf, sizeof buf)
                                                        : "unit header vanished");
            return;
        }
        ++*pos;
    }
    if (ref->type == DW_UT_type || ref->type == DW_UT_split_type)
        return; /* types only, no code */
    Dwarf_Die cu_die = NULL;
    int res = dwarf_siblingof_b(d->dbg, NULL, true, &cu_die, &e);
    if (res != DW_DLV_OK) {
        out->error = sk_xstrdup(res == DW_DLV_ERROR ? ds_dwarf_errmsg(d, e, buf, sizeof buf)
                                                    : "unit has no DIE");
        return;
    }
    dsu_process(d, cu_die, ref->off, env, out);
    char *dwo = dwo_name(d, cu_die);
    if (dwo) {
        /* Split DWARF: the skeleton gives lines but no functions.  Reading
         * the .dwo through libdwarf 20210528's tied-file support proved
         * unreliable (range lists, skeleton lookup), so say what is
         * missing rather than write a .sym that looks complete. */
        size_t n = strlen(dwo) + 100;
        out->note = sk_xmalloc(n);
        snprintf(out->note, n, "split DWARF (%s) is not supported; its functions are missing", dwo);
        free(dwo);
    }
    dwarf_dealloc_die(cu_die);
}

typedef struct shared {
    ds_object *obj;
    const dsu_env *env;
    const unit_ref *units;
    size_t nunits;
    size_t window; /* how far claims may run ahead of the merge */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next_claim, merged;
    dsu_result *results;
    bool *ready;
} shared;

static void *worker(void *arg)
{
    shared *s = arg;
    ds_dwarf *d = NULL;
    sk_error err = {0};
    bool opened = ds_dwarf_open(s->obj, &d, &err) == SK_OK;
    size_t pos = 0;
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (s->next_claim < s->nunits && s->next_claim >= s->merged + s->window)
            pthread_cond_wait(&s->cv, &s->mu);
        size_t idx = s->next_claim++;
        pthread_mutex_unlock(&s->mu);
        if (idx >= s->nunits)
            break;
        dsu_result *r = &s->results[idx];
        if (opened)
            read_unit(d, &pos, idx, &s->units[idx], s->env, r);
        else
            r->error = sk_xstrdup(err.msg);
        pthread_mutex_lock(&s->mu);
        s->ready[idx] = true;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
    }
    ds_dwarf_close(d);
    return NULL;
}

/* ---- entry point ------------------------------------------------------- */

/* Unit headers in order; fails only when not even the first can be read. */
static int list_units(ds_context *ctx, unit_ref **out, size_t *nout, sk_error *err)
{
    *out = NULL;
    *nout = 0;
    ds_dwarf *d = NULL;
    int rc = ds_dwarf_open(ctx->dbg, &d, err);
    if (rc)
        return rc;
    unit_ref *units = NULL;
    size_t n = 0, cap = 0;
    Dwarf_Off cur = 0;
    for (;;) {
        Dwarf_Unsigned len = 0, typeoff = 0, next = 0;
        Dwarf_Half ver = 0, asz = 0, lsz = 0, esz = 0, type = 0;
        Dwarf_Off abbrev = 0;
        Dwarf_Sig8 sig;
        Dwarf_Error e = NULL;
        int res = dwarf_next_cu_header_d(d->dbg, true, &len, &ver, &abbrev, &asz, &lsz, &esz, &sig,
                                         &typeoff, &next, &type, &e);
        if (res == DW_DLV_NO_ENTRY)
            break;
        if (res != DW_DLV_OK) {
            char buf[sizeof d->load_error.msg];
            ds_dwarf_errmsg(d, e, buf, sizeof buf);
            if (d->load_error.code)
                snprintf(buf, sizeof buf, "%s", d->load_error.msg);
            if (n == 0) {
                free(units);
                ds_dwarf_close(d);
                return sk_fail(err, SK_EFORMAT, "%s: .debug_info is unreadable: %s", ctx->dbg->path,
                               buf);
            }
            /* A unit header we cannot read hides where the next one starts. */
            sk_log(SK_LOG_WARN,
                   "%s: compilation unit at offset 0x%llx: %s; skipped with all units after it",
                   ctx->dbg->path, (unsigned long long)cur, buf);
            ctx->summary->dwarf_errors++;
            break;
        }
        sk_grow((void **)&units, &cap, n + 1, sizeof *units);
        units[n++] = (unit_ref){cur, type};
        cur = next;
    }
    ds_dwarf_close(d);
    *out = units;
    *nout = n;
    return SK_OK;
}

/* Executable segments of the binary: code outside them was discarded by
 * the linker (its DWARF keeps address 0 or a tombstone). */
static dsu_range *load_ranges(ds_object *obj, size_t *n)
{
    *n = 0;
    size_t phnum = 0;
    if (elf_getphdrnum(obj->elf, &phnum) != 0 || phnum == 0)
        return NULL;
    dsu_range *r = sk_xcalloc(phnum, sizeof *r);
    for (size_t i = 0; i < phnum; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(obj->elf, (int)i, &ph) || ph.p_type != PT_LOAD || ph.p_memsz == 0 ||
            !(ph.p_flags & PF_X))
            continue;
        r[(*n)++] = (dsu_range){ph.p_vaddr, ph.p_vaddr + ph.p_memsz};
    }
    return r;
}

static int job_count(const ds_options *opt, size_t nunits)
{
    long jobs = opt->jobs;
    if (jobs <= 0)
        jobs = sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1)
        jobs = 1;
    if (jobs > MAX_JOBS)
        jobs = MAX_JOBS;
    if ((size_t)jobs > nunits)
        jobs = nunits ? (long)nunits : 1;
    return (int)jobs;
}

int ds_collect_dwarf(ds_context *ctx, sk_error *err)
{
    unit_ref *units = NULL;
    size_t nunits = 0;
    int rc = list_units(ctx, &units, &nunits, err);
    if (rc)
        return rc;
    ctx->summary->compile_units = nunits;

    size_t nloads = 0;
    dsu_range *loads = load_ranges(ctx->bin, &nloads);
    dsn_index syms;
    dsn_index_build(&syms, ctx->dbg, ctx->bin);
    dsu_env env = {.path = ctx->dbg->path, .loads = loads, .nloads = nloads,
                   .inlines = ctx->opt->inlines, .syms = &syms};
    merger mg = {.ctx = ctx};
    int jobs = job_count(ctx->opt, nunits);

    if (jobs == 1) {
        ds_dwarf *d = NULL;
        rc = ds_dwarf_open(ctx->dbg, &d, err);
        if (rc == SK_OK) {
            size_t pos = 0;
            for (size_t i = 0; i < nunits; i++) {
                dsu_result r = {0};
                read_unit(d, &pos, i, &units[i], &env, &r);
                merge(&mg, &units[i], &r);
                dsu_result_free(&r);
            }
            ds_dwarf_close(d);
        }
    } else {
        shared s = {.obj = ctx->dbg, .env = &env, .units = units, .nunits = nunits,
                    .window = (size_t)jobs * 8};
        s.results = sk_xcalloc(nunits, sizeof *s.results);
        s.ready = sk_xcalloc(nunits, sizeof *s.ready);
        pthread_mutex_init(&s.mu, NULL);
        pthread_cond_init(&s.cv, NULL);
        pthread_t threads[MAX_JOBS];
        int started = 0;
        for (int t = 0; t < jobs; t++)
            if (pthread_create(&threads[started], NULL, worker, &s) == 0)
                started++;
        if (started == 0) {
            /* No threads to be had: read everything here. */
            s.window = SIZE_MAX / 2;
            worker(&s);
        }
        for (size_t i = 0; i < nunits; i++) {
            pthread_mutex_lock(&s.mu);
            while (!s.ready[i])
                pthread_cond_wait(&s.cv, &s.mu);
            pthread_mutex_unlock(&s.mu);
            merge(&mg, &units[i], &s.results[i]);
            dsu_result_free(&s.results[i]);
            pthread_mutex_lock(&s.mu);
            s.merged = i + 1;
            pthread_cond_broadcast(&s.cv);
            pthread_mutex_unlock(&s.mu);
        }
        for (int t = 0; t < started; t++)
            pthread_join(threads[t], NULL);
        pthread_mutex_destroy(&s.mu);
        pthread_cond_destroy(&s.cv);
        free(s.results);
        free(s.ready);
    }
    intern_free(&mg.files);
    intern_free(&mg.origins);
    free(mg.okeys);
    free(mg.oids);
    free(mg.ogen);
    free(mg.tmp);
    dsn_index_free(&syms);
    free(loads);
    free(units);
    return rc;
}
