/* dwarf_funcs.c — ds_collect_dwarf(): FILE/FUNC/line/INLINE records from
 * every compilation unit, read in parallel and merged in unit order.
 *
 * Worker threads claim units one at a time (listed up front, or streamed
 * from a compressed .debug_info) and read them with our own DIE reader
 * (dwarf_info.h); finished units are merged strictly in .debug_info order,
 * so the module is built the same way whatever the thread count, and each
 * is freed as soon as it is merged.  Workers stay at most a small window
 * ahead of the merge so memory stays flat per unit. */
#include <pthread.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect.h"
#include "dwarf_unit.h"
#include "dwp.h"
#include "dwz.h"

#define MAX_JOBS 64

typedef struct unit_ref {
    uint64_t off, end; /* the unit in .debug_info */
    uint8_t type;      /* DW_UT_* */
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
    /* FUNCs merged so far by address (index + 1; 0 = empty), to drop a
     * function another unit already described (see seen_before). */
    uint32_t *fslots;
    size_t nfslots;
    /* Names a missing dwz supplementary file cost, over all units. */
    size_t sup_funcs_lost, sup_funcs_from_symtab, sup_inlines_lost;
} merger;

static void fslot_put(merger *mg, uint64_t addr, size_t idx)
{
    size_t i = (size_t)((addr * 0x9E3779B97F4A7C15ull) >> 20) & (mg->nfslots - 1);
    while (mg->fslots[i])
        i = (i + 1) & (mg->nfslots - 1);
    mg->fslots[i] = (uint32_t)idx + 1;
}

/* True when a FUNC at addr with this name is in the module already.  An
 * inline or template function is compiled into many units and the linker
 * keeps one copy, which each of those units describes: finalize would keep
 * the first description and drop the rest, so they are dropped here,
 * before their lines and inlines take memory (15,000 functions and 360,000
 * line records for ceph-osd).  Otherwise records f (index idx). */
static bool seen_before(merger *mg, uint64_t addr, const char *name, size_t idx)
{
    sym_module *m = mg->ctx->m;
    if (mg->nfslots) {
        size_t first = (size_t)((addr * 0x9E3779B97F4A7C15ull) >> 20) & (mg->nfslots - 1);
        for (size_t i = first; mg->fslots[i]; i = (i + 1) & (mg->nfslots - 1)) {
            const sym_func *f = &m->funcs[mg->fslots[i] - 1];
            if (f->addr == addr && strcmp(f->name, name ? name : "") == 0)
                return true;
        }
    }
    if ((idx + 1) * 2 > mg->nfslots) {
        free(mg->fslots);
        mg->nfslots = mg->nfslots ? mg->nfslots * 2 : 4096;
        mg->fslots = sk_xcalloc(mg->nfslots, sizeof *mg->fslots);
        for (size_t k = 0; k < idx; k++)
            fslot_put(mg, m->funcs[k].addr, k);
    }
    fslot_put(mg, addr, idx);
    return false;
}

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
    mg->sup_funcs_lost += r->sup_funcs_lost;
    mg->sup_funcs_from_symtab += r->sup_funcs_from_symtab;
    mg->sup_inlines_lost += r->sup_inlines_lost;
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
        if (seen_before(mg, fn->lo - load, fn->name, m->nfuncs)) {
            ctx->summary->funcs_described_again++;
            continue;
        }
        sym_func *f = sym_module_add_func(m, fn->lo - load, fn->hi - fn->lo, fn->name);
        /* The unit knows how many lines and inlines each function gets:
         * size the arrays exactly rather than let them double from 8 (for
         * ceph-osd that slack was 40 MB of a model that lives until the
         * .sym is written).  Any later growth still goes through the
         * model's own doubling, which starts from whatever cap is here. */
        size_t nranges = 0;
        for (uint32_t k = 0; k < fn->ninlines; k++)
            nranges += r->inlines[fn->first_inline + k].nranges;
        sym_func_reserve(m, f, fn->nlines, fn->ninlines, nranges);
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

/* Where units come from.  Either the whole .debug_info is in memory
 * (mapped, or inflated at once) and listed up front, or a compressed
 * .debug_info is streamed: each unit is inflated into a buffer of its own
 * when a worker claims it and freed once merged, so only the units in
 * flight are ever held (ceph-osd's is 363 MB inflated). */
typedef struct source {
    ds_object *obj;
    const ds_options *opt;
    di_sections sec;  /* info: the whole section; empty when streamed */
    unit_ref *units;  /* whole: every unit, in order */
    size_t nunits;
    ds_stream *stream; /* streamed: the next unit is read from here */
    bool stream_done;
    sk_error stream_err; /* why the stream stopped early (fatal) */
    /* A compressed .debug_line beside a streamed .debug_info is streamed
     * too: each unit's line program is read into a buffer of the unit's
     * own when the unit is fetched, since compilers and linkers lay the
     * programs out in unit order.  A unit whose program lies behind the
     * stream (out of order, or shared with an earlier unit) or cannot be
     * read that way switches the walk to the whole section, inflated then
     * and kept in sec.line, so that what every unit sees and says is the
     * same as without streaming. */
    ds_stream *line_stream;
    /* A compressed DWARF 5 .debug_rnglists beside a streamed .debug_info
     * is streamed the same way: each unit is given the contribution its
     * unit DIE points into (DW_AT_ranges, DW_AT_rnglists_base), or else
     * the next one, since GCC and the linker lay them out in unit order;
     * offsets into it are rebased (di_sections.rnglists_off).  A unit
     * whose contribution lies behind the stream, or that cannot be read,
     * switches the walk to the whole section; so does a unit that reads a
     * range list outside the contribution it was given, which its worker
     * then reads again against the whole section (read_unit), so output
     * and warnings are the same as without streaming.  rng_mu guards all
     * of this, since a worker may switch to the whole section while
     * another fetches. */
    ds_stream *rng_stream;
    /* The contributions read since the last one a unit DIE pointed into,
     * that one first: units that point nowhere (some have no
     * contribution) are given the next of these in turn (rng_next), and
     * a later unit may point back into any of them. */
    struct rng_contrib *rng_keep;
    size_t rng_nkeep, rng_keep_cap, rng_keep_bytes;
    uint64_t rng_next;
    di_span rng_whole; /* once switched */
    bool rng_switched;
    pthread_mutex_t rng_mu;
    /* The pages the streamed units and line programs are read into,
     * handed from each unit to the next (made with the first). */
    sk_page_pool *pages;
    char *stop_note;     /* a unit header that ended the walk (a warning) */
    uint64_t ref_of_stop; /* where that header is */
    /* Split DWARF: the package beside the binary, if there is one. */
    ds_object dwp_obj;
    ds_dwp *dwp;
    char *dwp_path;
    /* dwz: the supplementary file (NULL when there is none or it is
     * missing: sup_missing then says which file was needed). */
    ds_sup *sup;
    char *sup_missing;
    /* Streamed units read ahead while the other sections still inflated
     * (see read_ahead), each taken whole by the worker that claims it:
     * the first nahead units, claimed in order. */
    struct job **ahead;
    size_t nahead;
} source;

static di_span section_span(ds_object *obj, const char *name);

/* A .debug_rnglists contribution read off the stream. */
typedef struct rng_contrib {
    sk_pages bytes;
    uint64_t off; /* its section offset */
} rng_contrib;

/* One unit in flight. */
typedef struct job {
    unit_ref ref;
    const di_sections *sec; /* &src->sec, or &own below */
    di_sections own;        /* streamed: src->sec with info = this unit */
    /* Streamed: the unit, in pages from src->pages rather than malloc's:
     * units run to megabytes, and big blocks freed one after another
     * raise malloc's mmap threshold, after which they are carved from the
     * worker's heap and leave it fragmented (over 100 MB held for
     * ceph-osd).  The pool hands the pages on warm: fresh ones for each
     * unit cost a page fault per 4 KB (over 100,000 for ceph-osd). */
    sk_pages bytes;
    sk_pages line_bytes; /* streamed: its line program, the same way */
    sk_pages rng_bytes;  /* streamed: its .debug_rnglists contribution */
    sk_page_pool *pages; /* where they go back to */
    /* Streamed: the unit as opened (bases read) to find its line program,
     * handed to its reader rather than opened twice. */
    di_unit cu;
    bool cu_open;
    ds_object *dwo;         /* split DWARF: the .dwo the result's strings live in */
    dsu_result result;
} job;

static void job_clear(job *j)
{
    dsu_result_free(&j->result);
    if (j->pages) {
        sk_page_pool_give(j->pages, &j->bytes);
        sk_page_pool_give(j->pages, &j->line_bytes);
        sk_page_pool_give(j->pages, &j->rng_bytes);
    }
    if (j->cu_open)
        di_unit_close(&j->cu);
    if (j->dwo) {
        ds_object_close(j->dwo);
        free(j->dwo);
    }
    memset(j, 0, sizeof *j);
}

/* What a streamed unit's DIE says of where its line program and range
 * lists are. */
typedef struct root_refs {
    uint64_t stmt_list;
    bool has_stmt_list;
    uint64_t rng_at; /* a section offset in its .debug_rnglists contribution */
    bool has_rng_at;
} root_refs;

/* Reads the root DIE of the streamed unit in j, which is left open in
 * j->cu, into *refs: 1, or 0 for a type unit (which is not read), -1 when
 * its root DIE cannot be read here (the unit's own reader will say why;
 * j->cu is then closed). */
static int unit_root_refs(job *j, root_refs *refs)
{
    di_unit *cu = &j->cu;
    uint64_t next = 0, end = 0;
    di_die root;
    di_value vals[DI_MAX_ATTRS];
    if (!di_unit_open(cu, &j->own, j->ref.off, &next) || !di_unit_read_bases(cu)) {
        di_unit_close(cu);
        return -1;
    }
    j->cu_open = true;
    if (cu->type == DW_UT_type || cu->type == DW_UT_split_type)
        return 0;
    /* The reader reads the root's attributes again: what this reading
     * counts must not count twice. */
    uint32_t sup_missing = cu->sup_missing;
    bool ok = di_die_at(cu, cu->first_die, &root) && root.ab && di_die_values(cu, &root, vals, &end);
    cu->sup_missing = sup_missing;
    if (!ok) {
        di_unit_close(cu);
        j->cu_open = false;
        return -1;
    }
    *refs = (root_refs){0};
    for (unsigned i = 0; i < root.ab->nattrs; i++)
        if (vals[i].at == DW_AT_stmt_list) {
            refs->stmt_list = vals[i].u;
            refs->has_stmt_list = true;
        } else if (vals[i].at == DW_AT_ranges && vals[i].form != DW_FORM_rnglistx) {
            refs->rng_at = vals[i].u;
            refs->has_rng_at = true;
        }
    /* The base points just past its contribution's header. */
    if (!refs->has_rng_at && cu->rnglists_base > 0) {
        refs->rng_at = cu->rnglists_base - 1;
        refs->has_rng_at = true;
    }
    return 1;
}

/* One length-prefixed contribution (a unit, a line program) read from a
 * stream, its DWARF initial length included, into pages from the pool:
 * units and line programs run to megabytes (see job.bytes). */
typedef enum contrib_status {
    CONTRIB_OK,
    CONTRIB_CUT,      /* the header is truncated, or the stream failed (err says) */
    CONTRIB_TOO_LONG, /* the length runs past the section */
} contrib_status;

typedef struct contrib {
    sk_pages bytes; /* from the pool; bytes.p is NULL unless CONTRIB_OK */
    uint64_t len;   /* the initial length */
    size_t hlen;    /* its size: 4, or 12 for 64-bit DWARF */
} contrib;

static contrib_status read_contrib(ds_stream *st, bool le, sk_page_pool *pool, contrib *c,
                                   sk_error *err)
{
    uint64_t off = ds_stream_offset(st), size = ds_stream_size(st);
    uint8_t hdr[12];
    di_span hs = {hdr, sizeof hdr};
    *c = (contrib){.hlen = 4};
    if (size - off < 4 || ds_stream_read(st, hdr, 4, err))
        return CONTRIB_CUT;
    di_read_fixed(&hs, le, 0, 4, &c->len);
    if (c->len == 0xffffffffu) {
        c->hlen = 12;
        if (size - off < 12 || ds_stream_read(st, hdr + 4, 8, err))
            return CONTRIB_CUT;
        di_read_fixed(&hs, le, 4, 8, &c->len);
    }
    if (c->len > size - off - c->hlen)
        return CONTRIB_TOO_LONG;
    c->bytes = sk_page_pool_take(pool, (size_t)(c->hlen + c->len));
    memcpy(c->bytes.p, hdr, c->hlen);
    if (ds_stream_read(st, c->bytes.p + c->hlen, (size_t)c->len, err)) {
        sk_page_pool_give(pool, &c->bytes);
        return CONTRIB_CUT;
    }
    return CONTRIB_OK;
}

/* Reads the line program at off from the line stream into j; false when
 * it lies behind the stream, runs past the section or the stream fails. */
static bool read_line_program(source *src, job *j, uint64_t off)
{
    ds_stream *st = src->line_stream;
    uint64_t at = ds_stream_offset(st);
    sk_error err = {0};
    contrib c;
    if (off < at || off >= ds_stream_size(st) || ds_stream_skip(st, off - at, &err) ||
        read_contrib(st, src->sec.le, src->pages, &c, &err) != CONTRIB_OK)
        return false;
    j->line_bytes = c.bytes;
    j->own.line = (di_span){c.bytes.p, c.bytes.n};
    j->own.line_off = off;
    return true;
}

/* Gives a streamed unit its line program (see source.line_stream). */
static void stream_line(source *src, job *j, int found, const root_refs *refs)
{
    if (!src->line_stream)
        return; /* j->own.line is src->sec.line: mapped, or whole */
    if (found == 0 || (found > 0 && !refs->has_stmt_list) ||
        (found > 0 && read_line_program(src, j, refs->stmt_list)))
        return;
    ds_stream_close(src->line_stream);
    src->line_stream = NULL;
    src->sec.line = section_span(src->obj, ".debug_line");
    j->own.line = src->sec.line;
}

/* Drops the first n contributions source.rng_keep holds. */
static void rnglists_drop(source *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        src->rng_keep_bytes -= src->rng_keep[i].bytes.n;
        sk_page_pool_give(src->pages, &src->rng_keep[i].bytes);
    }
    src->rng_nkeep -= n;
    if (src->rng_nkeep) /* (memmove from a NULL array, even of 0 bytes, is undefined) */
        memmove(src->rng_keep, src->rng_keep + n, src->rng_nkeep * sizeof *src->rng_keep);
}

/* The whole .debug_rnglists, from now on (see source.rng_stream); called
 * with rng_mu held. */
static di_span rnglists_whole_locked(source *src)
{
    if (!src->rng_switched) {
        src->rng_switched = true;
        ds_stream_close(src->rng_stream);
        src->rng_stream = NULL;
        rnglists_drop(src, src->rng_nkeep);
        src->rng_whole = section_span(src->obj, ".debug_rnglists");
    }
    return src->rng_whole;
}

/* The most bytes of contributions kept for units that may point back
 * into them: units that point nowhere come in short runs. */
#define RNG_KEEP_MAX ((size_t)4 << 20)

/* The index in source.rng_keep of the contribution holding section offset
 * off, read off the stream up to it; SIZE_MAX when off lies behind what
 * is kept or past the section, or a contribution cannot be read. */
static size_t rnglists_find(source *src, uint64_t off)
{
    ds_stream *st = src->rng_stream;
    for (size_t i = 0; i < src->rng_nkeep; i++) {
        const rng_contrib *c = &src->rng_keep[i];
        if (off >= c->off && off - c->off < c->bytes.n)
            return i;
    }
    for (;;) {
        uint64_t at = ds_stream_offset(st);
        if (off < at || at >= ds_stream_size(st))
            return SIZE_MAX;
        sk_error err = {0};
        contrib c;
        if (read_contrib(st, src->sec.le, src->pages, &c, &err) != CONTRIB_OK)
            return SIZE_MAX;
        if (src->rng_nkeep > 0 && src->rng_keep_bytes + c.bytes.n > RNG_KEEP_MAX)
            rnglists_drop(src, 1);
        sk_grow((void **)&src->rng_keep, &src->rng_keep_cap, src->rng_nkeep + 1, sizeof *src->rng_keep);
        src->rng_keep[src->rng_nkeep++] = (rng_contrib){c.bytes, at};
        src->rng_keep_bytes += c.bytes.n;
        if (off - at < c.bytes.n)
            return src->rng_nkeep - 1;
    }
}

/* Gives a streamed DWARF 5 unit its .debug_rnglists contribution (see
 * source.rng_stream): the one its root DIE points into, else the next. */
static void stream_rnglists(source *src, job *j, int found, const root_refs *refs)
{
    if (!src->rng_stream && !src->rng_switched)
        return; /* j->own.rnglists is src->sec.rnglists: mapped, or whole */
    pthread_mutex_lock(&src->rng_mu);
    /* (A root that cannot be read here gets no contribution: whatever
     * its reader makes of it is read again whole.) */
    bool reads = found < 0 || (found > 0 && j->cu.version >= 5);
    if (src->rng_switched || !reads) {
        j->own.rnglists = src->rng_whole;
        pthread_mutex_unlock(&src->rng_mu);
        return;
    }
    j->own.rnglists_part = true;
    uint64_t at = refs->has_rng_at ? refs->rng_at : src->rng_next;
    if (found < 0 || (!refs->has_rng_at && at >= ds_stream_size(src->rng_stream))) {
        pthread_mutex_unlock(&src->rng_mu);
        return;
    }
    size_t i = rnglists_find(src, at);
    if (i != SIZE_MAX) {
        if (refs->has_rng_at) {
            rnglists_drop(src, i);
            i = 0;
        }
        const rng_contrib *c = &src->rng_keep[i];
        j->rng_bytes = sk_page_pool_take(src->pages, c->bytes.n);
        memcpy(j->rng_bytes.p, c->bytes.p, c->bytes.n);
        j->own.rnglists = (di_span){j->rng_bytes.p, c->bytes.n};
        j->own.rnglists_off = c->off;
        src->rng_next = c->off + c->bytes.n;
    } else if (refs->has_rng_at) {
        j->own.rnglists_part = false;
        j->own.rnglists = rnglists_whole_locked(src);
    }
    pthread_mutex_unlock(&src->rng_mu);
}

/* Reads the next unit of a streamed .debug_info into j.  False at the
 * end, or when the stream stopped (src->stream_err / stop_note say why). */
static bool stream_unit(source *src, job *j)
{
    if (src->stream_done)
        return false;
    ds_stream *st = src->stream;
    uint64_t off = ds_stream_offset(st), size = ds_stream_size(st);
    if (off >= size) {
        src->stream_done = true;
        return false;
    }
    if (!src->pages)
        src->pages = sk_page_pool_new();
    contrib c;
    contrib_status status = read_contrib(st, src->sec.le, src->pages, &c, &src->stream_err);
    if (status == CONTRIB_TOO_LONG) {
        /* The same words as the whole-section walk uses. */
        src->stop_note = sk_xstrdup(c.len >= 0xfffffff0u && c.hlen == 4
                                        ? "unit length is reserved"
                                        : "unit length runs past the end of .debug_info");
        src->ref_of_stop = off;
        src->stream_done = true;
        return false;
    }
    if (status != CONTRIB_OK)
        goto cut;
    j->pages = src->pages;
    j->bytes = c.bytes;
    j->own = src->sec;
    j->own.info = (di_span){c.bytes.p, c.bytes.n};
    j->own.info_off = off;
    j->sec = &j->own;
    j->ref = (unit_ref){off, off + c.bytes.n, 0};
    root_refs refs = {0};
    int found = src->line_stream || src->rng_stream || src->rng_switched ? unit_root_refs(j, &refs) : 0;
    stream_line(src, j, found, &refs);
    stream_rnglists(src, j, found, &refs);
    return true;
cut:
    if (!src->stream_err.code) {
        src->stop_note = sk_xstrdup("unit header is truncated");
        src->ref_of_stop = off;
    }
    src->stream_done = true;
    return false;
}

/* The unit with index idx (claimed in order), or false past the last. */
static bool fetch_unit(source *src, size_t idx, job *j)
{
    if (idx < src->nahead) {
        *j = *src->ahead[idx];
        free(src->ahead[idx]);
        src->ahead[idx] = NULL;
        /* Its sections moved with it. */
        j->sec = &j->own;
        if (j->cu_open)
            j->cu.sec = &j->own;
        return true;
    }
    if (src->stream)
        return stream_unit(src, j);
    if (idx >= src->nunits)
        return false;
    j->ref = src->units[idx];
    j->sec = &src->sec;
    return true;
}

/* A worker's state: the last unit a cross-unit reference led to, kept open
 * because LTO units refer to the same few units over and over. */
typedef struct reader {
    source *src;
    ds_demangle_cache *demangle;
    di_unit foreign;
    size_t foreign_idx; /* + 1; 0: none open */
    di_unit sup_unit;   /* the same for the dwz supplementary file */
    size_t sup_idx;
} reader;

static di_unit *sup_unit(reader *rd, uint64_t off)
{
    const ds_sup *sup = rd->src->sup;
    if (!sup)
        return NULL;
    size_t i = ds_sup_unit_of(sup, off);
    if (i == SIZE_MAX)
        return NULL;
    if (rd->sup_idx == i + 1)
        return &rd->sup_unit;
    di_unit_close(&rd->sup_unit);
    rd->sup_idx = 0;
    uint64_t next = 0;
    if (!di_unit_open(&rd->sup_unit, &sup->sec, sup->unit_off[i], &next) ||
        !di_unit_read_bases(&rd->sup_unit)) {
        di_unit_close(&rd->sup_unit);
        return NULL;
    }
    rd->sup_idx = i + 1;
    return &rd->sup_unit;
}

static di_unit *foreign_unit(void *ctx, uint64_t off)
{
    reader *rd = ctx;
    const source *src = rd->src;
    if (off & DI_SUP_REF)
        return sup_unit(rd, off & ~DI_SUP_REF);
    size_t lo = 0, hi = src->nunits;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (src->units[mid].end <= off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= src->nunits || off < src->units[lo].off)
        return NULL;
    if (rd->foreign_idx == lo + 1)
        return &rd->foreign;
    di_unit_close(&rd->foreign);
    rd->foreign_idx = 0;
    uint64_t next = 0;
    if (!di_unit_open(&rd->foreign, &src->sec, src->units[lo].off, &next) ||
        !di_unit_read_bases(&rd->foreign)) {
        di_unit_close(&rd->foreign);
        return NULL;
    }
    rd->foreign_idx = lo + 1;
    return &rd->foreign;
}

/* ---- split DWARF -------------------------------------------------------- */

/* The skeleton's DW_AT_dwo_name (DWARF 5) or DW_AT_GNU_dwo_name (GCC's
 * DWARF 4) and DW_AT_comp_dir; false when the unit is not a skeleton. */
static bool skeleton_names(di_unit *cu, const char **dwo, const char **comp_dir)
{
    *dwo = *comp_dir = NULL;
    if (cu->type != DW_UT_skeleton && !cu->has_dwo_id)
        return false;
    di_die root;
    di_value vals[DI_MAX_ATTRS];
    uint64_t end = 0;
    if (!di_die_at(cu, cu->first_die, &root) || !root.ab || !di_die_values(cu, &root, vals, &end))
        return false;
    for (unsigned i = 0; i < root.ab->nattrs; i++) {
        const char *str = NULL;
        if ((vals[i].at == DW_AT_dwo_name || vals[i].at == DW_AT_GNU_dwo_name) &&
            di_value_str(cu, &vals[i], &str))
            *dwo = str;
        else if (vals[i].at == DW_AT_comp_dir && di_value_str(cu, &vals[i], &str))
            *comp_dir = str;
    }
    return *dwo != NULL && cu->has_dwo_id;
}

/* Every section a unit may read, named with suffix (".dwo" for split
 * units); absent ones are empty. */
static void fill_sections(ds_object *obj, di_sections *sec, const char *suffix)
{
    static const char *const base[] = {".debug_info", ".debug_abbrev", ".debug_str",
                                       ".debug_line_str", ".debug_str_offsets", ".debug_addr",
                                       ".debug_ranges", ".debug_rnglists", ".debug_line"};
    di_span *dst[] = {&sec->info, &sec->abbrev, &sec->str, &sec->line_str, &sec->str_offsets,
                      &sec->addr, &sec->ranges, &sec->rnglists, &sec->line};
    memset(sec, 0, sizeof *sec);
    sec->le = obj->little_endian;
    for (size_t i = 0; i < sizeof base / sizeof *base; i++) {
        char name[64];
        snprintf(name, sizeof name, "%s%s", base[i], suffix);
        /* The file's own .debug_info, .debug_line and .debug_rnglists
         * are the caller's: they may be streamed. */
        if (suffix[0] || (i > 0 && dst[i] != &sec->line && dst[i] != &sec->rnglists))
            *dst[i] = section_span(obj, name);
    }
}

static di_span span_part(di_span whole, const ds_dwp_contrib *c)
{
    if (!whole.p || c->size == 0 || c->off > whole.n || c->size > whole.n - c->off)
        return (di_span){0};
    return (di_span){whole.p + c->off, (size_t)c->size};
}

/* The sections of a .dwo (or of one unit's part of a .dwp) as the split
 * unit sees them: its own, plus the skeleton file's .debug_addr and
 * .debug_ranges. */
static void dwo_sections(ds_object *obj, const ds_dwp_unit *part, const di_sections *main,
                         di_sections *sec)
{
    fill_sections(obj, sec, ".dwo");
    sec->dwo = true;
    if (part) {
        sec->info = span_part(sec->info, &part->info);
        sec->abbrev = span_part(sec->abbrev, &part->abbrev);
        sec->str_offsets = span_part(sec->str_offsets, &part->str_offsets);
        sec->rnglists = span_part(sec->rnglists, &part->rnglists);
        sec->line = span_part(sec->line, &part->line);
    }
    sec->addr = main->addr;
    sec->ranges = main->ranges;
}

/* Finds the split unit with the skeleton's DWO id among the units of sec
 * and opens it; false (with why) when there is none or it is corrupt. */
static bool open_split_unit(const di_sections *sec, const di_unit *skel, di_unit *split, char *why,
                            size_t cap)
{
    uint64_t off = 0, seen_id = 0;
    bool seen = false;
    while (off < sec->info.n) {
        uint64_t next = 0;
        if (!di_unit_open(split, sec, off, &next) || !di_unit_read_bases(split)) {
            snprintf(why, cap, "%s", split->error);
            di_unit_close(split);
            return false;
        }
        if (split->type != DW_UT_type && split->type != DW_UT_split_type && split->has_dwo_id) {
            if (split->dwo_id == skel->dwo_id) {
                di_unit_adopt_skeleton(split, skel);
                return true;
            }
            seen = true;
            seen_id = split->dwo_id;
        }
        di_unit_close(split);
        off = next;
    }
    if (seen)
        snprintf(why, cap, "DWO id 0x%016llx does not match the skeleton's 0x%016llx",
                 (unsigned long long)seen_id, (unsigned long long)skel->dwo_id);
    else
        snprintf(why, cap, "it holds no split compilation unit");
    return false;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Where the .dwo is: where the compiler left it (named: DW_AT_dwo_name
 * joined with DW_AT_comp_dir), else under each --dwo-dir by that name and
 * then by its base name (a build tree moved or unpacked elsewhere).  NULL
 * when none of them is a file; malloc'd. */
static char *find_dwo(const ds_options *opt, const char *named, const char *dwo)
{
    if (is_file(named))
        return sk_xstrdup(named);
    for (size_t i = 0; opt && i < opt->ndwo_dirs; i++) {
        const char *tries[2] = {dwo[0] == '/' ? NULL : dwo, sk_basename(dwo)};
        for (int k = 0; k < 2; k++) {
            if (!tries[k])
                continue;
            char *p = sk_path_join(opt->dwo_dirs[i], tries[k]);
            if (is_file(p))
                return p;
            free(p);
        }
    }
    return NULL;
}

/* Reads the split unit of skeleton cu (from the .dwp, else its .dwo file)
 * into j.  NULL on success; otherwise the warning saying why it could not
 * (malloc'd), and j's result is untouched. */
static char *read_split(reader *rd, job *j, di_unit *cu, const char *dwo, const char *comp_dir,
                        const dsu_env *env)
{
    char *note = NULL;
    const source *src = rd->src;
    dsu_result *out = &j->result;
    char why[400];
    di_sections sec;
    di_unit split;
    const char *where = NULL;
    char *path = NULL;
    ds_dwp_unit part;
    if (src->dwp && ds_dwp_find(src->dwp, cu->dwo_id, &part)) {
        dwo_sections((ds_object *)&src->dwp_obj, &part, &src->sec, &sec);
        where = src->dwp_path;
    } else {
        char *named = dwo[0] == '/' || !comp_dir ? sk_xstrdup(dwo) : sk_path_join(comp_dir, dwo);
        path = find_dwo(src->opt, named, dwo);
        if (!path) {
            size_t n = strlen(dwo) + strlen(named) + 200;
            note = sk_xmalloc(n);
            snprintf(note, n,
                     "split DWARF unit %s: cannot find %s (nor under a --dwo-dir, nor a .dwp); its "
                     "functions are missing",
                     dwo, named);
            free(named);
            return note;
        }
        free(named);
        ds_object *obj = sk_xcalloc(1, sizeof *obj);
        sk_error err = {0};
        if (ds_object_open(obj, path, &err)) {
            ds_object_close(obj);
            free(obj);
            size_t n = strlen(dwo) + strlen(err.msg) + 100;
            note = sk_xmalloc(n);
            snprintf(note, n, "split DWARF unit %s: %s; its functions are missing", dwo, err.msg);
            free(path);
            return note;
        }
        j->dwo = obj;
        dwo_sections(obj, NULL, &src->sec, &sec);
        where = path;
    }
    if (!open_split_unit(&sec, cu, &split, why, sizeof why)) {
        size_t n = strlen(where) + strlen(why) + 100;
        note = sk_xmalloc(n);
        snprintf(note, n, "split DWARF unit %s: %s; skipped", where, why);
        free(path);
        return note;
    }
    dsu_input in = {.cu = &split, .skeleton = cu, .demangle = rd->demangle};
    dsu_process(&in, env, out);
    if (out->error) {
        /* Say which file the problem is in. */
        size_t n = strlen(where) + strlen(out->error) + 40;
        char *msg = sk_xmalloc(n);
        snprintf(msg, n, "split DWARF unit %s: %s", where, out->error);
        free(out->error);
        out->error = msg;
    }
    di_unit_close(&split);
    free(path);
    return NULL;
}

/* Reads the unit in j into j->result; true when it read a range list
 * outside the .debug_rnglists contribution it was given (see
 * source.rng_stream), which leaves the result to be thrown away. */
static bool read_unit_once(reader *rd, job *j, const dsu_env *env)
{
    dsu_result *out = &j->result;
    di_unit cu;
    uint64_t next = 0;
    if (j->cu_open) {
        cu = j->cu; /* opened by stream_line: the reader's now */
        j->cu_open = false;
    } else if (!di_unit_open(&cu, j->sec, j->ref.off, &next) || !di_unit_read_bases(&cu)) {
        out->error = sk_xstrdup(cu.error);
        di_unit_close(&cu);
        return false;
    }
    if (cu.type == DW_UT_type || cu.type == DW_UT_split_type) {
        di_unit_close(&cu); /* types only, no code */
        return false;
    }
    /* A skeleton is read through its split unit; only when that cannot be
     * had is the skeleton itself read (its line table, no functions). */
    const char *dwo = NULL, *comp_dir = NULL;
    char *note = NULL;
    if (skeleton_names(&cu, &dwo, &comp_dir)) {
        note = read_split(rd, j, &cu, dwo, comp_dir, env);
        if (!note) {
            di_unit_close(&cu);
            return cu.rnglists_missed;
        }
    }
    /* (A streamed unit has no other units of its file to refer to, but
     * may refer into a dwz supplementary file.) */
    dsu_input in = {.cu = &cu, .foreign = foreign_unit, .foreign_ctx = rd, .demangle = rd->demangle};
    dsu_process(&in, env, out);
    if (note && !out->error) {
        /* Why the functions are missing says more than a note on the
         * skeleton's own records. */
        free(out->note);
        out->note = note;
    } else {
        free(note);
    }
    di_unit_close(&cu);
    return cu.rnglists_missed;
}

static void read_unit(reader *rd, job *j, const dsu_env *env)
{
    if (!read_unit_once(rd, j, env))
        return;
    /* What the unit says is what it says against the whole section. */
    dsu_result_free(&j->result);
    memset(&j->result, 0, sizeof j->result);
    if (j->dwo) {
        ds_object_close(j->dwo);
        free(j->dwo);
        j->dwo = NULL;
    }
    pthread_mutex_lock(&rd->src->rng_mu);
    j->own.rnglists = rnglists_whole_locked(rd->src);
    pthread_mutex_unlock(&rd->src->rng_mu);
    j->own.rnglists_off = 0;
    j->own.rnglists_part = false;
    read_unit_once(rd, j, env);
}

/* Workers claim units in order (fetching a streamed unit while they hold
 * `feed`, so the stream is read front to back) and may run at most
 * `window` units ahead of the merge, which bounds the memory in flight;
 * results sit in a ring of window slots.  The worker that finishes the
 * unit next in line merges it, and any after it that are ready, so no
 * third thread competes for the cores and results wait as little as
 * possible; `merging` keeps it to one merger at a time, in unit order. */
typedef struct shared {
    source *src;
    const dsu_env *env;
    merger *mg;
    bool merging;
    size_t window;
    pthread_mutex_t feed;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    size_t next_claim, merged;
    size_t total; /* units in all, once the last has been fetched; SIZE_MAX before */
    job *jobs;
    bool *ready;
} shared;

static void *worker(void *arg)
{
    shared *s = arg;
    reader rd = {.src = s->src, .demangle = ds_demangle_cache_new()};
    for (;;) {
        pthread_mutex_lock(&s->feed);
        pthread_mutex_lock(&s->mu);
        while (s->total == SIZE_MAX && s->next_claim >= s->merged + s->window)
            pthread_cond_wait(&s->cv, &s->mu);
        size_t idx = s->next_claim;
        bool more = s->total == SIZE_MAX;
        pthread_mutex_unlock(&s->mu);
        job *j = &s->jobs[idx % s->window];
        if (more)
            more = fetch_unit(s->src, idx, j);
        pthread_mutex_lock(&s->mu);
        if (more)
            s->next_claim++;
        else if (s->total == SIZE_MAX)
            s->total = idx;
        pthread_cond_broadcast(&s->cv);
        pthread_mutex_unlock(&s->mu);
        pthread_mutex_unlock(&s->feed);
        if (!more)
            break;
        read_unit(&rd, j, s->env);
        pthread_mutex_lock(&s->mu);
        s->ready[idx % s->window] = true;
        if (!s->merging) {
            s->merging = true;
            while (s->ready[s->merged % s->window]) {
                job *m = &s->jobs[s->merged % s->window];
                pthread_mutex_unlock(&s->mu);
                merge(s->mg, &m->ref, &m->result);
                job_clear(m);
                pthread_mutex_lock(&s->mu);
                s->ready[s->merged % s->window] = false;
                s->merged++;
                pthread_cond_broadcast(&s->cv);
            }
            s->merging = false;
        }
        pthread_mutex_unlock(&s->mu);
    }
    di_unit_close(&rd.foreign);
    di_unit_close(&rd.sup_unit);
    ds_demangle_cache_free(rd.demangle);
    return NULL;
}

/* The bytes of a section for the reader; an absent section is empty.  A
 * section that fails to inflate is reported once and read as absent (the
 * units that need it then fail with their own message). */
/* The bytes of section name (empty when there is none or it does not
 * inflate); warn says whether that failure is reported here. */
static di_span read_span(ds_object *obj, const char *name, bool warn)
{
    ds_section *sec = ds_object_section(obj, name);
    const uint8_t *data = NULL;
    size_t size = 0;
    sk_error err = {0};
    if (!sec)
        return (di_span){0};
    if (ds_section_data(obj, sec, &data, &size, &err)) {
        if (warn)
            sk_log(SK_LOG_WARN, "%s", err.msg);
        return (di_span){0};
    }
    return (di_span){data, data ? size : 0};
}

static di_span section_span(ds_object *obj, const char *name)
{
    return read_span(obj, name, true);
}

/* Unit headers in order; fails only when not even the first can be read. */
static int list_units(ds_context *ctx, source *src, sk_error *err)
{
    const di_sections *sec = &src->sec;
    unit_ref *units = NULL;
    size_t n = 0, cap = 0;
    uint64_t cur = 0;
    while (cur < sec->info.n) {
        di_unit u;
        uint64_t next = 0;
        if (!di_unit_header(&u, sec, cur, &next)) {
            if (n == 0 && next == 0) {
                free(units);
                return sk_fail(err, SK_EFORMAT, "%s: .debug_info is unreadable: %s", ctx->dbg->path,
                               u.error);
            }
            if (next == 0) {
                /* A unit length we cannot read hides where the next one
                 * starts. */
                src->stop_note = sk_xstrdup(u.error);
                src->ref_of_stop = cur;
                break;
            }
            /* The length is sound, so the unit's own reader will say what
             * is wrong with the rest of its header. */
        }
        sk_grow((void **)&units, &cap, n + 1, sizeof *units);
        units[n++] = (unit_ref){cur, next, u.type};
        cur = next;
    }
    src->units = units;
    src->nunits = n;
    return SK_OK;
}

/* A DWARF package beside the binary (or its debug file): "<file>.dwp", as
 * gdb and lldb look for it.  A corrupt one is reported and ignored. */
static void open_package(ds_context *ctx, source *src)
{
    const char *bases[2] = {ctx->bin->path, ctx->dbg->path};
    for (int i = 0; i < 2; i++) {
        if (i == 1 && strcmp(bases[0], bases[1]) == 0)
            break;
        size_t n = strlen(bases[i]) + 5;
        char *path = sk_xmalloc(n);
        snprintf(path, n, "%s.dwp", bases[i]);
        struct stat st;
        sk_error err = {0};
        if (stat(path, &st) != 0) {
            free(path);
            continue;
        }
        if (ds_object_open(&src->dwp_obj, path, &err) || ds_dwp_open(&src->dwp_obj, &src->dwp, &err)) {
            sk_log(SK_LOG_WARN, "%s (the DWARF package is not used)", err.msg);
            ds_object_close(&src->dwp_obj);
            memset(&src->dwp_obj, 0, sizeof src->dwp_obj);
            src->dwp = NULL;
            free(path);
            continue;
        }
        src->dwp_path = path;
        return;
    }
}

/* section_span() without the warning, for a look before fill_sections()
 * (which reports a section that does not inflate, once). */
static di_span quiet_span(ds_object *obj, const char *name)
{
    return read_span(obj, name, false);
}

/* The most bytes of units read ahead.  How far the read-ahead gets depends
 * on how long the other sections take to inflate, so this is its memory:
 * 128 MB let one ceph-osd run (no --inlines) peak at 311 MB instead of
 * 230 MB; 32 MB (a few units) keeps the overlap and not the spike. */
#define READ_AHEAD_MAX ((size_t)32 << 20)

/* While the sections the units need whole (.debug_str above all: 102 MB
 * inflated for ceph-osd, a quarter of a second on one core) still inflate,
 * this thread reads the first units of the streamed .debug_info, and their
 * line programs, off the streams: the workers could not start anyway, and
 * each unit read now is inflating the walk need not do later.  Finding a
 * unit's line program opens the unit, which needs only .debug_abbrev and
 * .debug_addr (a low_pc may be an addrx), both small: those are read first;
 * rebase_ahead() gives the units the rest once it is in. */
static void read_ahead(ds_context *ctx, source *src)
{
    if (!ds_object_prefetch_busy(ctx->prefetch))
        return;
    di_sections *sec = &src->sec;
    memset(sec, 0, sizeof *sec);
    sec->le = src->obj->little_endian;
    sec->abbrev = quiet_span(src->obj, ".debug_abbrev");
    sec->addr = quiet_span(src->obj, ".debug_addr");
    if (src->sup)
        sec->sup = &src->sup->sec;
    size_t bytes = 0, cap = 0;
    while (bytes < READ_AHEAD_MAX && ds_object_prefetch_busy(ctx->prefetch)) {
        job *j = sk_xcalloc(1, sizeof *j);
        if (!stream_unit(src, j)) {
            free(j);
            break;
        }
        bytes += j->bytes.n + j->line_bytes.n + j->rng_bytes.n;
        sk_grow((void **)&src->ahead, &cap, src->nahead + 1, sizeof *src->ahead);
        src->ahead[src->nahead++] = j;
    }
}

/* The units read ahead get every section, as if read now: their own unit
 * and line program, the rest the source's. */
static void rebase_ahead(source *src)
{
    for (size_t i = 0; i < src->nahead; i++) {
        job *j = src->ahead[i];
        di_sections own = src->sec;
        own.info = j->own.info;
        own.info_off = j->own.info_off;
        if (j->line_bytes.p) {
            own.line = j->own.line;
            own.line_off = j->own.line_off;
        }
        if (src->rng_stream || src->rng_switched) {
            own.rnglists = j->own.rnglists;
            own.rnglists_off = j->own.rnglists_off;
            own.rnglists_part = j->own.rnglists_part;
        }
        j->own = own;
    }
}

/* Opens the sections and decides how .debug_info is read: streamed when it
 * is compressed and no DIE can refer into another unit (no
 * DW_FORM_ref_addr anywhere in .debug_abbrev), whole otherwise.  The
 * sections may still be inflating on other threads (ds_collect_dwarf's
 * caller starts them, ds_object_prefetch_start): each is waited for only
 * where it is first needed, .debug_abbrev (small, and what decides) first,
 * the rest (.debug_str, the biggest) last. */
static int open_source(ds_context *ctx, source *src, sk_error *err)
{
    ds_object *obj = ctx->dbg;
    memset(src, 0, sizeof *src);
    pthread_mutex_init(&src->rng_mu, NULL);
    src->obj = obj;
    src->opt = ctx->opt;
    di_sections *sec = &src->sec;
    ds_section *info = ds_object_section(obj, ".debug_info");
    if (!info)
        return sk_fail(err, SK_ENOTFOUND, "%s: no .debug_info", obj->path);
    di_span abbrev = quiet_span(obj, ".debug_abbrev");
    bool streams = ds_section_compressed(info) && !di_abbrevs_cross_units(&abbrev);
    open_package(ctx, src);
    sk_error sup_err = {0};
    if (ds_sup_open(obj, ctx->opt, &src->sup, &sup_err) != SK_OK)
        src->sup_missing = sk_xstrdup(sup_err.msg);
    int rc = SK_OK;
    if (streams) {
        rc = ds_stream_open(obj, info, &src->stream, err);
        if (rc == SK_OK && ds_stream_size(src->stream) == 0)
            rc = sk_fail(err, SK_EFORMAT, "%s: .debug_info is empty", obj->path);
        if (rc) {
            ds_stream_close(src->stream);
            src->stream = NULL;
            return rc;
        }
        ds_section *line = ds_object_section(obj, ".debug_line");
        sk_error line_err = {0};
        /* (A stream that cannot be opened is reported by the whole
         * section's reader.) */
        if (!line || !ds_section_compressed(line) ||
            ds_stream_open(obj, line, &src->line_stream, &line_err) != SK_OK)
            src->line_stream = NULL;
        ds_section *rng = ds_object_section(obj, ".debug_rnglists");
        if (!rng || !ds_section_compressed(rng) ||
            ds_stream_open(obj, rng, &src->rng_stream, &line_err) != SK_OK)
            src->rng_stream = NULL;
        read_ahead(ctx, src);
    }
    fill_sections(obj, sec, "");
    sec->info = (di_span){0}; /* streamed, or read whole below */
    if (src->sup)
        sec->sup = &src->sup->sec;
    if (!src->line_stream)
        sec->line = section_span(obj, ".debug_line");
    if (!src->rng_stream && !src->rng_switched)
        sec->rnglists = section_span(obj, ".debug_rnglists");
    if (streams) {
        rebase_ahead(src);
        return SK_OK;
    }
    const uint8_t *data = NULL;
    size_t size = 0;
    rc = ds_section_data(obj, info, &data, &size, err);
    if (rc)
        return rc;
    sec->info = (di_span){data, data ? size : 0};
    return list_units(ctx, src, err);
}

static void close_source(source *src)
{
    for (size_t i = 0; i < src->nahead; i++)
        if (src->ahead[i]) {
            job_clear(src->ahead[i]);
            free(src->ahead[i]);
        }
    free(src->ahead);
    ds_sup_release(src->sup);
    free(src->sup_missing);
    ds_dwp_close(src->dwp);
    if (src->dwp_path)
        ds_object_close(&src->dwp_obj);
    free(src->dwp_path);
    ds_stream_close(src->stream);
    ds_stream_close(src->line_stream);
    ds_stream_close(src->rng_stream);
    if (src->pages)
        rnglists_drop(src, src->rng_nkeep);
    free(src->rng_keep);
    pthread_mutex_destroy(&src->rng_mu);
    sk_page_pool_free(src->pages);
    free(src->units);
    free(src->stop_note);
}

/* Executable segments of the binary: code outside them was discarded by
 * the linker (its DWARF keeps address 0 or a tombstone). */
static dsu_range *load_ranges(ds_object *obj, size_t *n)
{
    *n = 0;
    if (obj->nsegments == 0)
        return NULL;
    dsu_range *r = sk_xcalloc(obj->nsegments, sizeof *r);
    for (size_t i = 0; i < obj->nsegments; i++) {
        const ds_segment *sg = &obj->segments[i];
        if (sg->memsz == 0 || !sg->exec)
            continue;
        r[(*n)++] = (dsu_range){sg->vaddr, sg->vaddr + sg->memsz};
    }
    return r;
}

static int job_count(const ds_options *opt)
{
    long jobs = opt->jobs;
    if (jobs <= 0)
        jobs = sysconf(_SC_NPROCESSORS_ONLN);
    if (jobs < 1)
        jobs = 1;
    if (jobs > MAX_JOBS)
        jobs = MAX_JOBS;
    return (int)jobs;
}

int ds_collect_dwarf(ds_context *ctx, sk_error *err)
{
    /* What needs no DWARF section first, while they may be inflating. */
    size_t nloads = 0;
    dsu_range *loads = load_ranges(ctx->bin, &nloads);
    dsn_index syms;
    dsn_index_build(&syms, ctx->dbg, ctx->bin);
    source src;
    int rc = open_source(ctx, &src, err);
    if (rc) {
        close_source(&src);
        dsn_index_free(&syms);
        free(loads);
        return rc;
    }
    dsu_env env = {.path = ctx->dbg->path, .loads = loads, .nloads = nloads,
                   .inlines = ctx->opt->inlines, .syms = &syms};
    merger mg = {.ctx = ctx};
    int jobs = job_count(ctx->opt);
    size_t total = 0;

    shared s = {.src = &src, .env = &env, .mg = &mg, .window = (size_t)jobs * 8, .total = SIZE_MAX};
    s.jobs = sk_xcalloc(s.window, sizeof *s.jobs);
    s.ready = sk_xcalloc(s.window, sizeof *s.ready);
    pthread_mutex_init(&s.feed, NULL);
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    pthread_t threads[MAX_JOBS];
    int started = 0;
    if (jobs > 1)
        for (int t = 0; t < jobs; t++)
            if (pthread_create(&threads[started], NULL, worker, &s) == 0)
                started++;
    if (started == 0) {
        /* One job (or no threads to be had): read and merge each unit in
         * turn on this thread. */
        reader rd = {.src = &src, .demangle = ds_demangle_cache_new()};
        job j = {0};
        for (; fetch_unit(&src, total, &j); total++) {
            read_unit(&rd, &j, &env);
            merge(&mg, &j.ref, &j.result);
            job_clear(&j);
        }
        di_unit_close(&rd.foreign);
        di_unit_close(&rd.sup_unit);
        ds_demangle_cache_free(rd.demangle);
    } else {
        /* Every unit is merged by the time the last worker is done: the
         * one that finishes the last unit in line merges it. */
        for (int t = 0; t < started; t++)
            pthread_join(threads[t], NULL);
        total = s.total;
    }
    pthread_mutex_destroy(&s.feed);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.cv);
    free(s.jobs);
    free(s.ready);
    ctx->summary->compile_units = total;
    if (src.stream_err.code) {
        rc = sk_fail(err, (sk_status)src.stream_err.code, "%s", src.stream_err.msg);
    } else if (src.stop_note) {
        sk_log(SK_LOG_WARN, "%s: compilation unit at offset 0x%llx: %s; skipped with all units after it",
               ctx->dbg->path, (unsigned long long)src.ref_of_stop, src.stop_note);
        ctx->summary->dwarf_errors++;
    }
    if (src.sup_missing || mg.sup_funcs_lost || mg.sup_inlines_lost) {
        /* One line for the whole file: what is needed, and what its
         * absence cost. */
        sk_buf b;
        sk_buf_init(&b);
        sk_buf_printf(&b, "%s; %zu function names could not be resolved (%zu taken from the symbol "
                          "table, %zu written as <name omitted>)",
                      src.sup_missing ? src.sup_missing : "dwz supplementary file unreadable",
                      mg.sup_funcs_lost, mg.sup_funcs_from_symtab,
                      mg.sup_funcs_lost - mg.sup_funcs_from_symtab);
        if (ctx->opt->inlines)
            sk_buf_printf(&b, ", %zu inline origins unnamed", mg.sup_inlines_lost);
        sk_log(SK_LOG_WARN, "%s", b.data);
        sk_buf_free(&b);
    }
    intern_free(&mg.files);
    intern_free(&mg.origins);
    free(mg.okeys);
    free(mg.oids);
    free(mg.ogen);
    free(mg.fslots);
    free(mg.tmp);
    dsn_index_free(&syms);
    free(loads);
    close_source(&src);
    return rc;
}
