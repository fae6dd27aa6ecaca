/*
 * pkgdump.c — packager mode over .deb/.rpm packages (ds_package_archives,
 * package.h).
 *
 * Packages are read one after the other, binary packages before debug
 * packages (names with -dbg, -dbgsym, -debuginfo, or .ddeb), so that only
 * the binaries (small) wait in memory for their debug files, and each debug
 * file is dumped with its binary as soon as it has been read and then
 * freed.  Binaries are matched to debug files by build-id, else by
 * .gnu_debuglink name and CRC.  A debug file that links to a dwz
 * supplementary file not read yet waits for it (Debian's .dwz/ comes after
 * .build-id/ in the tar).  What is left at the end is dumped with what the
 * disk offers (--debug-dir), like an installed binary.  Dumps run on a pool
 * of threads, fed through a small queue so memory stays bounded.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "collect.h"
#include "dwz.h"
#include "package.h"

typedef struct pkg_obj {
    char *name;   /* "PACKAGE:MEMBER" */
    char *member; /* MEMBER */
    ds_object obj;
} pkg_obj;

typedef struct job {
    pkg_obj *bin, *dbg; /* dbg may be NULL */
} job;

typedef struct run {
    const char *store;
    ds_options opt;
    ds_pack_report_fn report;
    void *report_ctx;
    ds_pack_totals totals;
    pthread_mutex_t lock; /* totals, report, queue */
    pthread_cond_t cv;
    job *queue;
    size_t qhead, qlen, qcap;
    bool closing;
    int nworkers;         /* 0: jobs run on the reading thread */
    /* Reader-thread state. */
    pkg_obj **waiting; /* binaries waiting for their debug file */
    size_t nwaiting, waiting_cap;
    pkg_obj **deferred; /* debug files waiting for their dwz file: [2k] bin, [2k+1] dbg */
    size_t ndeferred, deferred_cap;
    const char *pkg;    /* the package being read */
} run;

static void pkg_obj_free(pkg_obj *o)
{
    if (!o)
        return;
    ds_object_close(&o->obj);
    free(o->name);
    free(o->member);
    free(o);
}

static void count_and_report(run *r, const ds_pack_result *res)
{
    pthread_mutex_lock(&r->lock);
    if (res->status == DS_PACK_WRITTEN)
        r->totals.written++;
    else if (res->status == DS_PACK_EMPTY)
        r->totals.empty++;
    else
        r->totals.failed++;
    if (r->report)
        r->report(res, r->report_ctx);
    pthread_mutex_unlock(&r->lock);
}

static void report_failure(run *r, const char *input, const char *msg)
{
    ds_pack_result res = {.input = input, .status = DS_PACK_FAILED, .message = msg};
    count_and_report(r, &res);
}

static void dump_job(run *r, job *j)
{
    sym_module m;
    sym_module_init(&m);
    sk_error err = {0};
    ds_summary summary;
    char *written = NULL;
    ds_pack_result res = {.input = j->bin->name};
    int rc = ds_dump_object(&j->bin->obj, j->dbg ? &j->dbg->obj : NULL, j->bin->member, &r->opt, &m,
                            &summary, &err);
    if (rc == SK_OK) {
        res.funcs = m.nfuncs;
        res.publics = m.npublics;
        res.cfi = m.ncfi;
        res.debug_file = j->dbg ? j->dbg->name
                         : summary.debug_file_used[0] && strcmp(summary.debug_file_used, j->bin->obj.path)
                             ? summary.debug_file_used
                             : NULL;
        if (!r->opt.header_only && m.nfuncs == 0 && m.npublics == 0 && m.ncfi == 0) {
            res.status = DS_PACK_EMPTY;
            res.message = "no symbols and no CFI: nothing written";
        } else {
            rc = ds_write_store(&m, &r->opt, r->store, &written, &err);
            res.status = DS_PACK_WRITTEN;
            res.written = written;
        }
    }
    if (rc != SK_OK) {
        res.status = DS_PACK_FAILED;
        res.message = err.msg;
        res.written = NULL;
    }
    count_and_report(r, &res);
    free(written);
    sym_module_free(&m);
    pkg_obj_free(j->bin);
    pkg_obj_free(j->dbg);
}

static void *worker(void *arg)
{
    run *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (!r->qlen && !r->closing)
            pthread_cond_wait(&r->cv, &r->lock);
        if (!r->qlen) {
            pthread_mutex_unlock(&r->lock);
            return NULL;
        }
        job j = r->queue[r->qhead];
        r->qhead = (r->qhead + 1) % r->qcap;
        r->qlen--;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->lock);
        dump_job(r, &j);
    }
}

/* Hands a job to the pool, waiting while the queue is full. */
static void submit(run *r, pkg_obj *bin, pkg_obj *dbg)
{
    if (r->nworkers == 0) {
        job j = {bin, dbg};
        dump_job(r, &j);
        return;
    }
    pthread_mutex_lock(&r->lock);
    while (r->qlen == r->qcap)
        pthread_cond_wait(&r->cv, &r->lock);
    r->queue[(r->qhead + r->qlen) % r->qcap] = (job){bin, dbg};
    r->qlen++;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->lock);
}

static bool is_debug_member(const char *m)
{
    return strncmp(m, "usr/lib/debug/", 14) == 0;
}

static bool is_sup_member(const char *m)
{
    return strncmp(m, "usr/lib/debug/.dwz/", 19) == 0;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* .gnu_debuglink's name and CRC. */
static bool debuglink(ds_object *o, const char **name, uint32_t *crc)
{
    ds_section *sec = ds_object_section(o, ".gnu_debuglink");
    if (!sec || !sec->raw || sec->raw_size < 8)
        return false;
    size_t n = strnlen((const char *)sec->raw, sec->raw_size);
    size_t off = (n + 1 + 3) & ~(size_t)3;
    if (n == 0 || off + 4 > sec->raw_size)
        return false;
    const uint8_t *c = sec->raw + off;
    *crc = o->little_endian ? (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 |
                                  (uint32_t)c[3] << 24
                            : (uint32_t)c[3] | (uint32_t)c[2] << 8 | (uint32_t)c[1] << 16 |
                                  (uint32_t)c[0] << 24;
    *name = (const char *)sec->raw;
    return true;
}

static bool pairs_with(pkg_obj *bin, pkg_obj *dbg)
{
    ds_object *b = &bin->obj, *d = &dbg->obj;
    if (b->build_id_len)
        return b->build_id_len == d->build_id_len &&
               memcmp(b->build_id, d->build_id, b->build_id_len) == 0;
    const char *link;
    uint32_t crc;
    return debuglink(b, &link, &crc) && strcmp(sk_basename(dbg->member), link) == 0 &&
           (uint32_t)crc32_z(0, d->map.data, d->map.size) == crc;
}

/* A debug file that needs a dwz supplementary file the cache does not hold
 * yet waits for it; ds_sup_open() consults the cache before the disk. */
static bool needs_unseen_sup(run *r, pkg_obj *dbg)
{
    ds_sup_link link;
    if (!ds_sup_link_read(&dbg->obj, &link))
        return false;
    return !ds_sup_cache_has(r->opt.sup_cache, &link);
}

static void dispatch_debug(run *r, pkg_obj *bin, pkg_obj *dbg)
{
    if (needs_unseen_sup(r, dbg)) {
        sk_grow((void **)&r->deferred, &r->deferred_cap, r->ndeferred + 2, sizeof *r->deferred);
        r->deferred[r->ndeferred++] = bin;
        r->deferred[r->ndeferred++] = dbg;
        return;
    }
    submit(r, bin, dbg);
}

/* Deferred pairs whose supplementary file is now there (all of them at the
 * end: the disk may still have it, else the dump says what is missing). */
static void release_deferred(run *r, bool all)
{
    size_t k = 0;
    for (size_t i = 0; i < r->ndeferred; i += 2) {
        if (all || !needs_unseen_sup(r, r->deferred[i + 1])) {
            submit(r, r->deferred[i], r->deferred[i + 1]);
        } else {
            r->deferred[k++] = r->deferred[i];
            r->deferred[k++] = r->deferred[i + 1];
        }
    }
    r->ndeferred = k;
}

static int on_member(void *ctx, const char *member, uint8_t *data, size_t size)
{
    run *r = ctx;
    if (has_suffix(member, ".dwo")) {
        free(data);
        return 0;
    }
    pkg_obj *o = sk_xcalloc(1, sizeof *o);
    size_t n = strlen(r->pkg) + strlen(member) + 2;
    o->name = sk_xmalloc(n);
    snprintf(o->name, n, "%s:%s", r->pkg, member);
    o->member = sk_xstrdup(member);
    sk_error err = {0};
    if (ds_object_open_mem(&o->obj, o->name, data, size, &err) != SK_OK) {
        report_failure(r, o->name, err.msg);
        pkg_obj_free(o);
        return 0;
    }
    if (is_sup_member(member)) {
        ds_sup_cache_add(r->opt.sup_cache, &o->obj, &err); /* takes the object */
        o->obj = (ds_object){0};
        pkg_obj_free(o);
        release_deferred(r, false);
        return 0;
    }
    if (is_debug_member(member) || has_suffix(member, ".debug")) {
        for (size_t i = 0; i < r->nwaiting; i++) {
            if (pairs_with(r->waiting[i], o)) {
                pkg_obj *bin = r->waiting[i];
                r->waiting[i] = r->waiting[--r->nwaiting];
                dispatch_debug(r, bin, o);
                return 0;
            }
        }
        /* No binary wants it (yet): a debug file is not a module. */
        pkg_obj_free(o);
        return 0;
    }
    const char *link;
    uint32_t crc;
    if (ds_object_has_dwarf(&o->obj) || (!o->obj.build_id_len && !debuglink(&o->obj, &link, &crc))) {
        submit(r, o, NULL);
        return 0;
    }
    sk_grow((void **)&r->waiting, &r->waiting_cap, r->nwaiting + 1, sizeof *r->waiting);
    r->waiting[r->nwaiting++] = o;
    return 0;
}

static bool is_debug_package(const char *path)
{
    const char *b = sk_basename(path);
    return strstr(b, "-dbg") || strstr(b, "-dbgsym") || strstr(b, "-debuginfo") ||
           has_suffix(b, ".ddeb");
}

int ds_package_archives(const char *const *pkgs, size_t npkgs, const char *store_dir,
                        const ds_options *opt, int file_jobs, ds_pack_report_fn report,
                        void *report_ctx, ds_pack_totals *totals)
{
    run r = {.store = store_dir, .opt = *opt, .report = report, .report_ctx = report_ctx};
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.cv, NULL);
    ds_sup_cache *sups = NULL;
    if (!r.opt.sup_cache)
        r.opt.sup_cache = sups = ds_sup_cache_new();
    int nthreads = file_jobs > 0 ? file_jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads < 1)
        nthreads = 1;
    if (nthreads > 64)
        nthreads = 64;
    /* Threads over binaries; inside one binary only with a single thread
     * (a big program's DWARF then still uses every core). */
    r.opt.jobs = nthreads > 1 ? 1 : 0;
    r.qcap = (size_t)nthreads;
    r.queue = sk_xcalloc(r.qcap, sizeof *r.queue);
    pthread_t tids[64];
    int started = 0;
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&tids[started], NULL, worker, &r) == 0)
            started++;
    r.nworkers = started;

    /* Binary packages first, then debug packages, each group in the order
     * given. */
    const char **order = sk_xcalloc(npkgs ? npkgs : 1, sizeof *order);
    size_t k = 0;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < npkgs; i++)
            if (is_debug_package(pkgs[i]) == (pass == 1))
                order[k++] = pkgs[i];
    for (size_t i = 0; i < npkgs; i++) {
        r.pkg = order[i];
        sk_error err = {0};
        if (ds_pkg_read(order[i], on_member, &r, &err) != SK_OK)
            report_failure(&r, order[i], err.msg);
    }
    release_deferred(&r, true);
    for (size_t i = 0; i < r.nwaiting; i++)
        submit(&r, r.waiting[i], NULL);
    r.nwaiting = 0;
    pthread_mutex_lock(&r.lock);
    r.closing = true;
    pthread_cond_broadcast(&r.cv);
    pthread_mutex_unlock(&r.lock);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    free(order);
    free(r.queue);
    free(r.waiting);
    free(r.deferred);
    ds_sup_cache_free(sups);
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.cv);
    if (totals) {
        totals->written += r.totals.written;
        totals->empty += r.totals.empty;
        totals->failed += r.totals.failed;
    }
    return r.totals.failed ? SK_EFORMAT : SK_OK;
}
