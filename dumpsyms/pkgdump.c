/*
 * pkgdump.c — packager mode over .deb/.rpm packages (ds_package_archives,
 * package.h).
 *
 * Packages are read several at a time (-j N: up to N reader threads, each
 * reading one package with libarchive) in two phases, so that pairing does
 * not depend on the order the packages are given in or finish in:
 *
 *   1. the binary packages (any name but -dbg, -dbgsym, -debuginfo, .ddeb):
 *      a member with its own DWARF, or with nothing to pair by, is dumped at
 *      once; a stripped one waits in memory (binaries are small) for its
 *      debug file.  Debug files met here (usr/lib/debug/, *.debug) are not
 *      looked at: their package is read again in phase 2.
 *   2. once every binary is known, the debug packages (and those binary
 *      packages that carry debug files): each debug file is paired with its
 *      waiting binary by build-id, else by .gnu_debuglink name and CRC,
 *      handed to the dump pool and freed after the dump; one nobody waits
 *      for is freed at once.  Binaries in a debug package are dumped as
 *      they are (with --debug-dir's help), not paired.
 *
 * A debug file that links to a dwz supplementary file not read yet waits
 * for it (Debian's .dwz/ comes after .build-id/ in the tar, Fedora's may be
 * in another -debuginfo package): that is what a reader holds beyond the
 * member in hand, about one package's debug files.  What is left at the end
 * is dumped with what the disk offers (--debug-dir), like an installed
 * binary.  Dumps run on a pool of N threads fed through a queue of N, so
 * at most about N packages' debug files, N queued and N dumping are in
 * memory at once (and each reader's xz blocks, package.c: <= 128 MiB a
 * decoder thread).  The .sym files' commits (fsync, rename into the store)
 * are a committer thread's, which reports each member once its file is in
 * place (or failed there).
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
    const char *pkg;
    ds_object obj;
} pkg_obj;

typedef struct job {
    pkg_obj *bin, *dbg; /* dbg may be NULL */
} job;

typedef struct pkg_ent {
    const char *path;
    bool debug;      /* a debug package by its name */
    bool has_debug;  /* phase 1 met debug files in it */
    bool failed;
    size_t members;  /* ELF members read */
} pkg_ent;

typedef struct run {
    const char *store;
    ds_options opt;
    ds_pack_report_fn report;
    void *report_ctx;
    ds_pack_totals totals;
    sk_committer *commits; /* the .sym files' commits, and every report of a dump */
    pthread_mutex_t lock; /* totals, report, queue */
    pthread_cond_t cv;
    job *queue;
    size_t qhead, qlen, qcap;
    bool closing;
    int nworkers;         /* 0: jobs run on the reading thread */
    /* Readers' shared state, under rlock. */
    pthread_mutex_t rlock;
    pkg_obj **waiting; /* binaries waiting for their debug file */
    size_t nwaiting, waiting_cap;
    pkg_obj **deferred; /* debug files waiting for their dwz file: [2k] bin, [2k+1] dbg */
    size_t ndeferred, deferred_cap;
    pkg_ent **phase_pkgs; /* the packages of the current phase */
    size_t nphase, next_pkg;
    int phase;            /* 1 or 2 */
    int xz_threads;       /* liblzma threads per data.tar.xz */
} run;

typedef struct reader {
    run *r;
    pkg_ent *pkg; /* the package being read */
} reader;

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

static void report_failure(run *r, const char *input, const char *pkg, const char *msg)
{
    ds_pack_result res = {.input = input, .status = DS_PACK_FAILED, .message = msg, .package = pkg};
    count_and_report(r, &res);
}

/* A member's result on its way to the report, made by the committer once
 * its .sym is in place: the objects (a debug file can be hundreds of MB)
 * are freed before, only what the line says is kept. */
typedef struct outcome {
    ds_pack_result res;
    char *input, *debug_file, *message;
} outcome;

/* The committer's done: a commit that failed fails the member. */
static void on_done(void *ticket, const char *path, int rc, const sk_error *err, void *ctx)
{
    outcome *o = ticket;
    o->res.input = o->input;
    o->res.debug_file = o->debug_file;
    o->res.message = rc == SK_OK ? o->message : err->msg;
    if (rc != SK_OK)
        o->res.status = DS_PACK_FAILED;
    o->res.written = o->res.status == DS_PACK_WRITTEN ? path : NULL;
    count_and_report(ctx, &o->res);
    free(o->input);
    free(o->debug_file);
    free(o->message);
    free(o);
}

static void dump_job(run *r, job *j)
{
    sym_module m;
    sym_module_init(&m);
    sk_error err = {0};
    ds_summary summary;
    outcome *o = sk_xcalloc(1, sizeof *o);
    o->input = sk_xstrdup(j->bin->name);
    o->res.package = j->bin->pkg;
    int rc = ds_dump_object(&j->bin->obj, j->dbg ? &j->dbg->obj : NULL, j->bin->member, &r->opt, &m,
                            &summary, &err);
    if (rc == SK_OK) {
        o->res.funcs = m.nfuncs;
        o->res.publics = m.npublics;
        o->res.cfi = m.ncfi;
        o->res.cfi_synth_functions = summary.synth_cfi_functions;
        const char *debug_file = j->dbg ? j->dbg->name
                                 : summary.debug_file_used[0] && strcmp(summary.debug_file_used, j->bin->obj.path)
                                     ? summary.debug_file_used
                                     : NULL;
        o->debug_file = debug_file ? sk_xstrdup(debug_file) : NULL;
        if (!r->opt.header_only && m.nfuncs == 0 && m.npublics == 0 && m.ncfi == 0) {
            o->res.status = DS_PACK_EMPTY;
            o->message = sk_xstrdup("no symbols and no CFI: nothing written");
        } else {
            /* The commit (fsync, rename) is the committer's: its done
             * reports the member. */
            o->res.status = DS_PACK_WRITTEN;
            rc = ds_write_store_handed(&m, &r->opt, r->store, r->commits, o, &err);
            if (rc == SK_OK)
                o = NULL; /* the committer's now */
        }
    }
    if (o && rc != SK_OK) {
        o->res.status = DS_PACK_FAILED;
        o->message = sk_xstrdup(err.msg);
    }
    if (j->dbg) {
        pthread_mutex_lock(&r->lock);
        r->totals.paired++;
        pthread_mutex_unlock(&r->lock);
    }
    if (o)
        sk_committer_post(r->commits, o);
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

/* Hands a job to the pool, waiting while the queue is full (which is what
 * keeps the readers from running ahead of the dumps). */
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

static bool pairs_with(pkg_obj *bin, pkg_obj *dbg, const uint32_t *dbg_crc)
{
    ds_object *b = &bin->obj, *d = &dbg->obj;
    if (b->build_id_len)
        return b->build_id_len == d->build_id_len &&
               memcmp(b->build_id, d->build_id, b->build_id_len) == 0;
    const char *link;
    uint32_t crc;
    return debuglink(b, &link, &crc) && strcmp(sk_basename(dbg->member), link) == 0 &&
           (dbg_crc ? *dbg_crc : (uint32_t)crc32_z(0, d->map.data, d->map.size)) == crc;
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

/* Under rlock, so that a supplementary file added by another reader at
 * the same time cannot slip between the check and the deferral (it then
 * releases the pair itself). */
static void dispatch_debug(run *r, pkg_obj *bin, pkg_obj *dbg)
{
    pthread_mutex_lock(&r->rlock);
    if (needs_unseen_sup(r, dbg)) {
        sk_grow((void **)&r->deferred, &r->deferred_cap, r->ndeferred + 2, sizeof *r->deferred);
        r->deferred[r->ndeferred++] = bin;
        r->deferred[r->ndeferred++] = dbg;
        pthread_mutex_unlock(&r->rlock);
        return;
    }
    pthread_mutex_unlock(&r->rlock);
    submit(r, bin, dbg);
}

/* Deferred pairs whose supplementary file is now there (all of them at the
 * end: the disk may still have it, else the dump says what is missing).
 * Taken out under rlock, submitted outside it: submit() may wait for the
 * pool. */
static void release_deferred(run *r, bool all)
{
    pkg_obj **ready = NULL;
    size_t nready = 0, ready_cap = 0, k = 0;
    pthread_mutex_lock(&r->rlock);
    for (size_t i = 0; i < r->ndeferred; i += 2) {
        if (all || !needs_unseen_sup(r, r->deferred[i + 1])) {
            sk_grow((void **)&ready, &ready_cap, nready + 2, sizeof *ready);
            ready[nready++] = r->deferred[i];
            ready[nready++] = r->deferred[i + 1];
        } else {
            r->deferred[k++] = r->deferred[i];
            r->deferred[k++] = r->deferred[i + 1];
        }
    }
    r->ndeferred = k;
    pthread_mutex_unlock(&r->rlock);
    for (size_t i = 0; i < nready; i += 2)
        submit(r, ready[i], ready[i + 1]);
    free(ready);
}

/* The waiting binary this debug file belongs to, taken off the list.  The
 * CRC of the whole debug file (for binaries without a build-id) is
 * computed once, and outside the lock: it reads the whole file. */
static pkg_obj *take_waiting(run *r, pkg_obj *dbg)
{
    bool want_crc = false;
    pthread_mutex_lock(&r->rlock);
    for (size_t i = 0; i < r->nwaiting && !want_crc; i++)
        want_crc = !r->waiting[i]->obj.build_id_len;
    pthread_mutex_unlock(&r->rlock);
    uint32_t crc = want_crc ? (uint32_t)crc32_z(0, dbg->obj.map.data, dbg->obj.map.size) : 0;
    pkg_obj *bin = NULL;
    pthread_mutex_lock(&r->rlock);
    for (size_t i = 0; i < r->nwaiting; i++) {
        pkg_obj *b = r->waiting[i];
        /* (A binary without build-id cannot have arrived since: phase 1,
         * which adds them, is over.) */
        if (pairs_with(b, dbg, want_crc ? &crc : NULL)) {
            bin = b;
            r->waiting[i] = r->waiting[--r->nwaiting];
            break;
        }
    }
    pthread_mutex_unlock(&r->rlock);
    return bin;
}

static int on_member(void *ctx, const char *member, uint8_t *data, size_t size)
{
    reader *rd = ctx;
    run *r = rd->r;
    pkg_ent *pkg = rd->pkg;
    bool debug_member = is_debug_member(member) || has_suffix(member, ".debug");
    if (has_suffix(member, ".dwo") || (r->phase == 1 && debug_member) ||
        (r->phase == 2 && !debug_member && !pkg->debug)) {
        /* Split DWARF is read by its binary's dump; debug files wait for
         * phase 2; a binary package's binaries were done in phase 1. */
        if (r->phase == 1 && debug_member)
            pkg->has_debug = true;
        free(data);
        return 0;
    }
    pkg->members++;
    pkg_obj *o = sk_xcalloc(1, sizeof *o);
    size_t n = strlen(pkg->path) + strlen(member) + 2;
    o->name = sk_xmalloc(n);
    snprintf(o->name, n, "%s:%s", pkg->path, member);
    o->member = sk_xstrdup(member);
    o->pkg = pkg->path;
    sk_error err = {0};
    if (ds_object_open_mem(&o->obj, o->name, data, size, &err) != SK_OK) {
        report_failure(r, o->name, pkg->path, err.msg);
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
    if (debug_member) {
        pkg_obj *bin = take_waiting(r, o);
        if (bin)
            dispatch_debug(r, bin, o);
        else
            pkg_obj_free(o); /* no binary wants it: a debug file is not a module */
        return 0;
    }
    const char *link;
    uint32_t crc;
    if (r->phase == 2 || ds_object_has_dwarf(&o->obj) ||
        (!o->obj.build_id_len && !debuglink(&o->obj, &link, &crc))) {
        submit(r, o, NULL);
        return 0;
    }
    pthread_mutex_lock(&r->rlock);
    sk_grow((void **)&r->waiting, &r->waiting_cap, r->nwaiting + 1, sizeof *r->waiting);
    r->waiting[r->nwaiting++] = o;
    pthread_mutex_unlock(&r->rlock);
    return 0;
}

static bool is_debug_package(const char *path)
{
    const char *b = sk_basename(path);
    return strstr(b, "-dbg") || strstr(b, "-dbgsym") || strstr(b, "-debuginfo") ||
           has_suffix(b, ".ddeb");
}

/* Whether a package is read to its end after this phase: the progress
 * event and the package count come then. */
static bool last_phase_of(const run *r, const pkg_ent *p)
{
    return r->phase == 2 || p->failed || !p->has_debug;
}

static void *read_packages(void *arg)
{
    run *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->rlock);
        size_t i = r->next_pkg++;
        pthread_mutex_unlock(&r->rlock);
        if (i >= r->nphase)
            return NULL;
        pkg_ent *p = r->phase_pkgs[i];
        reader rd = {.r = r, .pkg = p};
        sk_error err = {0};
        if (ds_pkg_read(p->path, r->xz_threads, on_member, &rd, &err) != SK_OK) {
            p->failed = true;
            report_failure(r, p->path, p->path, err.msg);
        }
        if (last_phase_of(r, p)) {
            ds_pack_result ev = {.input = p->path, .status = DS_PACK_PACKAGE_DONE, .package = p->path,
                                 .members = p->members};
            pthread_mutex_lock(&r->lock);
            r->totals.members += p->members;
            r->totals.packages_failed += p->failed;
            if (r->report)
                r->report(&ev, r->report_ctx);
            pthread_mutex_unlock(&r->lock);
        }
    }
}

/* One phase: its packages read by up to nreaders threads at once. */
static void run_phase(run *r, int phase, pkg_ent **pkgs, size_t n, int nreaders)
{
    r->phase = phase;
    r->phase_pkgs = pkgs;
    r->nphase = n;
    r->next_pkg = 0;
    if ((size_t)nreaders > n)
        nreaders = (int)n;
    pthread_t tids[64];
    int started = 0;
    for (int i = 1; i < nreaders; i++)
        if (pthread_create(&tids[started], NULL, read_packages, r) == 0)
            started++;
    read_packages(r); /* this thread is a reader too */
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
}

int ds_package_archives(const char *const *pkgs, size_t npkgs, const char *store_dir,
                        const ds_options *opt, int file_jobs, ds_pack_report_fn report,
                        void *report_ctx, ds_pack_totals *totals)
{
    run r = {.store = store_dir, .opt = *opt, .report = report, .report_ctx = report_ctx};
    pthread_mutex_init(&r.lock, NULL);
    pthread_mutex_init(&r.rlock, NULL);
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
    r.xz_threads = nthreads;
    r.queue = sk_xcalloc(r.qcap, sizeof *r.queue);
    r.commits = sk_committer_start(on_done, &r);
    pthread_t tids[64];
    int started = 0;
    for (int i = 0; i < nthreads; i++)
        if (pthread_create(&tids[started], NULL, worker, &r) == 0)
            started++;
    r.nworkers = started;

    /* Phase 1: the binary packages; phase 2: the debug packages and the
     * binary packages found to hold debug files, each in the order given. */
    pkg_ent *ents = sk_xcalloc(npkgs ? npkgs : 1, sizeof *ents);
    pkg_ent **list = sk_xcalloc(npkgs ? npkgs : 1, sizeof *list);
    size_t n = 0;
    for (size_t i = 0; i < npkgs; i++) {
        ents[i] = (pkg_ent){.path = pkgs[i], .debug = is_debug_package(pkgs[i])};
        if (!ents[i].debug)
            list[n++] = &ents[i];
    }
    run_phase(&r, 1, list, n, nthreads);
    n = 0;
    for (size_t i = 0; i < npkgs; i++)
        if (ents[i].debug || (ents[i].has_debug && !ents[i].failed))
            list[n++] = &ents[i];
    run_phase(&r, 2, list, n, nthreads);
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
    sk_committer_finish(r.commits); /* every dump counted and reported */
    free(ents);
    free(list);
    free(r.queue);
    free(r.waiting);
    free(r.deferred);
    ds_sup_cache_free(sups);
    pthread_mutex_destroy(&r.lock);
    pthread_mutex_destroy(&r.rlock);
    pthread_cond_destroy(&r.cv);
    if (totals) {
        totals->written += r.totals.written;
        totals->empty += r.totals.empty;
        totals->failed += r.totals.failed;
        totals->packages += npkgs;
        totals->packages_failed += r.totals.packages_failed;
        totals->members += r.totals.members;
        totals->paired += r.totals.paired;
    }
    return r.totals.failed ? SK_EFORMAT : SK_OK;
}
