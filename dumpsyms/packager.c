/*
 * packager.c — many binaries into one symbol store (the packager mode).
 *
 * Inputs are files and directories; directories are walked recursively in
 * name order, symbolic links inside them are not followed (they would dump
 * the same code twice) and files that are not ELF are skipped without a
 * word.  A file named explicitly is always dumped, so naming a non-ELF file
 * is an error.  Files are dumped by a small pool of threads; each result is
 * reported through a callback as it completes.  Writes go through
 * ds_write_store(), which is atomic: a failed dump never leaves a partial
 * .sym behind.  Their commits (fsync, rename into the store) are done by a
 * committer thread, in turn, and a file is reported (and counted) once its
 * commit is over, failed if the commit failed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dumpsyms.h"
#include "package.h"
#include "collect.h"
#include "packager.h"

/* What a file's first bytes say it is; BIN_UNKNOWN: not looked at yet. */
enum { BIN_UNKNOWN, BIN_NONE, BIN_THIN, BIN_FAT };

typedef struct work_list {
    char **v;
    unsigned char *kind; /* BIN_*, for the files list only */
    uint64_t *cost;      /* size in bytes, for the files list only */
    size_t n, cap;
} work_list;

static void push(work_list *w, char *path)
{
    sk_grow((void **)&w->v, &w->cap, w->n + 1, sizeof *w->v);
    w->v[w->n++] = path;
}

/* A file with what its walk found it to be, so that the dump does not
 * open it once more to ask whether it is fat, and its size, the expected
 * cost of its dump. */
static void push_file(work_list *w, char *path, unsigned char kind, uint64_t size)
{
    size_t cap = w->cap;
    push(w, path);
    if (w->cap != cap) {
        w->kind = sk_xrealloc(w->kind, w->cap);
        w->cost = sk_xrealloc(w->cost, w->cap * sizeof *w->cost);
    }
    w->kind[w->n - 1] = kind;
    w->cost[w->n - 1] = size;
}

/* ELF or Mach-O (thin, either byte order), or a fat Mach-O file: a
 * 0xcafebabe with a small slice count, not a Java class file's version
 * numbers. */
static int binary_kind(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return BIN_NONE;
    unsigned char magic[8];
    ssize_t got = read(fd, magic, sizeof magic);
    close(fd);
    if (got >= 4 && memcmp(magic, "\177ELF", 4) == 0)
        return BIN_THIN;
    static const unsigned char thin[4][4] = {
        {0xfe, 0xed, 0xfa, 0xce}, {0xfe, 0xed, 0xfa, 0xcf}, {0xce, 0xfa, 0xed, 0xfe}, {0xcf, 0xfa, 0xed, 0xfe}};
    for (int i = 0; i < 4 && got >= 4; i++)
        if (memcmp(magic, thin[i], 4) == 0)
            return BIN_THIN;
    bool fat = got == 8 && magic[0] == 0xca && magic[1] == 0xfe && magic[2] == 0xba && (magic[3] & 0xfe) == 0xbe &&
               magic[4] == 0 && magic[5] == 0 && magic[6] == 0 && magic[7] > 0 && magic[7] <= 30;
    return fat ? BIN_FAT : BIN_NONE;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Separate debug files are inputs of other dumps, not modules of their
 * own: a package tree usually carries its usr/lib/debug next to the
 * binaries, and dumping those files again would put a second, name-less
 * copy of every module in the store. */
static bool is_debug_tree(const char *dir, const char *name, const ds_options *opt)
{
    if (strcmp(name, ".build-id") == 0 || strcmp(name, ".debug") == 0 || strcmp(name, ".dwz") == 0)
        return true;
    /* A dSYM bundle is read by the dump of the binary beside it. */
    size_t nl = strlen(name);
    if (nl > 5 && strcmp(name + nl - 5, ".dSYM") == 0)
        return true;
    char real[PATH_MAX], root[PATH_MAX];
    if (!realpath(dir, real))
        return false;
    for (size_t i = 0; i < opt->ndebug_dirs; i++)
        if (realpath(opt->debug_dirs[i], root) && strcmp(real, root) == 0)
            return true;
    return false;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Adds the ELF files under dir, in name order.  Unreadable directories are
 * reported as failures of their own. */
static void walk(const char *dir, const ds_options *opt, work_list *files, work_list *bad_dirs, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        push(bad_dirs, sk_xstrdup(dir));
        return;
    }
    work_list names = {0};
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        push(&names, sk_path_join(dir, e->d_name));
    }
    closedir(d);
    if (names.n)
        sk_sort(names.v, names.n, sizeof *names.v, cmp_str);
    for (size_t i = 0; i < names.n; i++) {
        struct stat st;
        char *p = names.v[i];
        if (lstat(p, &st) != 0 || S_ISLNK(st.st_mode)) {
            free(p);
        } else if (S_ISDIR(st.st_mode)) {
            if (depth < 64 && !is_debug_tree(p, sk_basename(p), opt))
                walk(p, opt, files, bad_dirs, depth + 1);
            free(p);
        } else if (S_ISREG(st.st_mode) && !has_suffix(p, ".debug") && !has_suffix(p, ".dwo")) {
            int kind = binary_kind(p);
            if (kind != BIN_NONE)
                push_file(files, p, (unsigned char)kind, (uint64_t)st.st_size);
            else
                free(p);
        } else {
            free(p);
        }
    }
    free(names.v);
}

/* Size of a named file; 0 when it cannot be read (its dump will say why). */
static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

typedef struct ranked {
    uint64_t cost;
    size_t index;
} ranked;

/* Costlier first; equal costs in list (name) order, so the order does not
 * depend on the sort's stability. */
static int cmp_ranked(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    if (x->cost != y->cost)
        return x->cost < y->cost ? 1 : -1;
    return (x->index > y->index) - (x->index < y->index);
}

void ds_pack_order(const uint64_t *cost, size_t n, size_t *order)
{
    ranked *r = sk_xcalloc(n ? n : 1, sizeof *r);
    for (size_t i = 0; i < n; i++)
        r[i] = (ranked){cost[i], i};
    sk_sort(r, n, sizeof *r, cmp_ranked);
    for (size_t i = 0; i < n; i++)
        order[i] = r[i].index;
    free(r);
}

bool ds_pack_pick(size_t *front, size_t *back, bool front_busy, size_t *picked, bool *from_front)
{
    if (*front >= *back)
        return false;
    *from_front = !front_busy;
    *picked = front_busy ? --*back : (*front)++;
    return true;
}

/* The size of the debug file a dump of path finds by its build-id, 0 when
 * there is none: most of a dump's cost when there is one (ceph-osd: 26 MB,
 * its debug file 230 MB).  The whole search (debuglink, debuginfod) is
 * left to the dump: this is an estimate. */
static uint64_t debug_size(const char *path, const ds_options *opt)
{
    ds_object o;
    memset(&o, 0, sizeof o);
    sk_error err = {0};
    uint64_t size = 0;
    sk_buf dbg;
    sk_buf_init(&dbg);
    if (ds_object_open(&o, path, &err) == SK_OK)
        for (size_t i = 0; i < opt->ndebug_dirs && !size; i++) {
            struct stat st;
            if (ds_build_id_debug_path(&o, opt->debug_dirs[i], &dbg) && stat(dbg.data, &st) == 0 &&
                S_ISREG(st.st_mode))
                size = (uint64_t)st.st_size;
        }
    sk_buf_free(&dbg);
    ds_object_close(&o);
    return size;
}

/* Puts the files list in ds_pack_order()'s order, by the size of each
 * file and of the debug file its build-id names (0.14 s for the 2,935
 * files of a whole system, before the threads start). */
static void order_files(work_list *w, const ds_options *opt)
{
    for (size_t i = 0; i < w->n; i++)
        if (w->kind[i] != BIN_FAT) /* a fat file's slices: each its own */
            w->cost[i] += debug_size(w->v[i], opt);
    size_t *order = sk_xcalloc(w->n ? w->n : 1, sizeof *order);
    char **v = sk_xcalloc(w->n ? w->n : 1, sizeof *v);
    unsigned char *kind = sk_xcalloc(w->n ? w->n : 1, 1);
    uint64_t *cost = sk_xcalloc(w->n ? w->n : 1, sizeof *cost);
    ds_pack_order(w->cost, w->n, order);
    for (size_t i = 0; i < w->n; i++) {
        v[i] = w->v[order[i]];
        kind[i] = w->kind[order[i]];
        cost[i] = w->cost[order[i]];
    }
    memcpy(w->v, v, w->n * sizeof *v);
    memcpy(w->kind, kind, w->n);
    memcpy(w->cost, cost, w->n * sizeof *cost);
    free(cost);
    free(kind);
    free(v);
    free(order);
}

typedef struct pool {
    char **files;
    unsigned char *kinds; /* BIN_* of each file */
    size_t nfiles;
    size_t front, back; /* the files not handed out yet (ds_pack_pick) */
    bool front_busy;    /* a thread is on a file from the front */
    const char *store;
    ds_options opt;
    ds_pack_report_fn report;
    void *report_ctx;
    ds_pack_totals totals; /* counted by the committer's done */
    sk_committer *commits;
    pthread_mutex_t lock;
} pool;

/* One file's result on its way to the report, which the committer makes
 * after the dumping thread has moved on: it owns copies of its strings. */
typedef struct outcome {
    ds_pack_result r;
    char *input, *message, *debug_file, *debug_file_url;
} outcome;

/* A copy of a summary's text field, NULL when it is empty. */
static char *dup_if_set(const char *s)
{
    return s[0] ? sk_xstrdup(s) : NULL;
}

static void outcome_fail(outcome *o, const char *msg)
{
    o->r.status = DS_PACK_FAILED;
    free(o->message);
    o->message = sk_xstrdup(msg);
}

/* The committer's done: every result comes here in turn, a .sym once its
 * commit is over (a failed commit fails the file), and is counted and
 * reported. */
static void on_done(void *ticket, const char *path, int rc, const sk_error *err, void *ctx)
{
    pool *p = ctx;
    outcome *o = ticket;
    if (rc != SK_OK)
        outcome_fail(o, err->msg);
    o->r.input = o->input;
    o->r.message = o->message;
    o->r.debug_file = o->debug_file;
    o->r.debug_file_url = o->debug_file_url;
    o->r.written = o->r.status == DS_PACK_WRITTEN ? path : NULL;
    if (o->r.status == DS_PACK_WRITTEN)
        p->totals.written++;
    else if (o->r.status == DS_PACK_EMPTY)
        p->totals.empty++;
    else
        p->totals.failed++;
    if (p->report)
        p->report(&o->r, p->report_ctx);
    free(o->input);
    free(o->message);
    free(o->debug_file);
    free(o->debug_file_url);
    free(o);
}

/* Writes m into the store, its commit handed to the committer; false when
 * the write failed before that (err says why). */
static bool store_write(pool *p, const ds_options *opt, const sym_module *m, outcome *o, sk_error *err)
{
    o->r.status = DS_PACK_WRITTEN;
    return ds_write_store_handed(m, opt, p->store, p->commits, o, err) == SK_OK;
}

static void dump_one(pool *p, const ds_options *opt, const char *path, const char *input)
{
    sym_module m;
    sym_module_init(&m);
    sk_error err = {0};
    ds_summary summary;
    outcome *o = sk_xcalloc(1, sizeof *o);
    o->input = sk_xstrdup(input);
    int rc = ds_dump(path, NULL, opt, &m, &summary, &err);
    if (rc == SK_OK) {
        o->r.funcs = m.nfuncs;
        o->r.publics = m.npublics;
        o->r.cfi = m.ncfi;
        o->r.cfi_synth_functions = summary.synth_cfi_functions;
        o->debug_file = dup_if_set(summary.debug_file_used);
        o->debug_file_url = dup_if_set(summary.debug_file_url);
        if (!opt->header_only && m.nfuncs == 0 && m.npublics == 0 && m.ncfi == 0) {
            o->r.status = DS_PACK_EMPTY;
            o->message = sk_xstrdup("no symbols and no CFI: nothing written");
        } else if (store_write(p, opt, &m, o, &err)) {
            o = NULL; /* the committer's now */
        } else {
            rc = SK_EIO;
        }
    }
    if (rc != SK_OK)
        outcome_fail(o, err.msg);
    if (o)
        sk_committer_post(p->commits, o);
    sym_module_free(&m);
}

static void *worker(void *arg)
{
    pool *p = arg;
    for (;;) {
        size_t i;
        pthread_mutex_lock(&p->lock);
        bool from_front = false;
        bool more = ds_pack_pick(&p->front, &p->back, p->front_busy, &i, &from_front);
        p->front_busy |= from_front;
        pthread_mutex_unlock(&p->lock);
        if (!more)
            break;
        /* A fat Mach-O file is one module per slice. */
        ds_arch_entry *arches = NULL;
        size_t narches = 0;
        sk_error aerr = {0};
        int kind = p->kinds[i] != BIN_UNKNOWN ? p->kinds[i] : binary_kind(p->files[i]);
        if (p->opt.arch || kind != BIN_FAT ||
            ds_list_arches(p->files[i], &arches, &narches, &aerr) != SK_OK || narches < 2)
            narches = 0;
        for (size_t a = 0; a < (narches ? narches : 1); a++) {
            ds_options opt = p->opt;
            char input[4200];
            if (narches) {
                opt.arch = arches[a].arch;
                snprintf(input, sizeof input, "%s (%s)", p->files[i], arches[a].arch);
            } else {
                snprintf(input, sizeof input, "%s", p->files[i]);
            }
            dump_one(p, &opt, p->files[i], input);
        }
        free(arches);
        if (from_front) {
            pthread_mutex_lock(&p->lock);
            p->front_busy = false;
            pthread_mutex_unlock(&p->lock);
        }
    }
    return NULL;
}

int ds_package(const char *const *inputs, size_t ninputs, const char *store_dir, const ds_options *opt,
               int file_jobs, ds_pack_report_fn report, void *report_ctx, ds_pack_totals *totals)
{
    pool p = {.store = store_dir, .opt = *opt, .report = report, .report_ctx = report_ctx};
    pthread_mutex_init(&p.lock, NULL);
    /* A dwz supplementary file is shared by the debug files of a whole
     * package: open it once for all of them. */
    ds_sup_cache *sups = NULL;
    if (!p.opt.sup_cache)
        p.opt.sup_cache = sups = ds_sup_cache_new();
    work_list files = {0}, bad = {0}, pkgs = {0};
    for (size_t i = 0; i < ninputs; i++) {
        if (sk_is_dir(inputs[i]))
            walk(inputs[i], opt, &files, &bad, 0);
        else if (ds_pkg_detect(inputs[i]) != DS_PKG_NONE)
            push(&pkgs, sk_xstrdup(inputs[i])); /* a .deb or .rpm: read in place */
        else
            push_file(&files, sk_xstrdup(inputs[i]), BIN_UNKNOWN, file_size(inputs[i])); /* named: dumped, or an error */
    }
    for (size_t i = 0; i < bad.n; i++) {
        ds_pack_result r = {.input = bad.v[i], .status = DS_PACK_FAILED,
                            .message = "cannot read directory"};
        p.totals.failed++;
        if (report)
            report(&r, report_ctx);
        free(bad.v[i]);
    }
    free(bad.v);
    p.files = files.v;
    p.kinds = files.kind;
    p.nfiles = p.back = files.n;
    if (report) { /* for a progress display: what is ahead */
        ds_pack_result plan = {.status = DS_PACK_PLAN, .planned_files = files.n, .planned_packages = pkgs.n};
        report(&plan, report_ctx);
    }

    /* Dumping threads hand their .sym files over and go on to the next
     * file; the committer's thread waits on the disk. */
    p.commits = sk_committer_start(on_done, &p);
    int nthreads = file_jobs > 0 ? file_jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (nthreads < 1)
        nthreads = 1;
    if ((size_t)nthreads > files.n)
        nthreads = files.n ? (int)files.n : 1;
    /* Parallel over files; inside one file only when there is one file.
     * Biggest first, so that no big file is left to run alone at the end,
     * and no two big ones at once (ds_pack_pick); one thread keeps the
     * name order, which its report follows. */
    if (nthreads > 1) {
        p.opt.jobs = 1;
        order_files(&files, &p.opt);
    }
    if (nthreads == 1) {
        worker(&p);
    } else {
        pthread_t *tids = sk_xcalloc((size_t)nthreads, sizeof *tids);
        int started = 0;
        for (int i = 0; i < nthreads; i++)
            if (pthread_create(&tids[i], NULL, worker, &p) == 0)
                started++;
            else
                break;
        if (started == 0)
            worker(&p);
        for (int i = 0; i < started; i++)
            pthread_join(tids[i], NULL);
        free(tids);
    }
    sk_committer_finish(p.commits); /* every result counted and reported */
    for (size_t i = 0; i < files.n; i++)
        free(files.v[i]);
    free(files.v);
    free(files.kind);
    free(files.cost);
    if (pkgs.n) {
        ds_package_archives((const char *const *)pkgs.v, pkgs.n, store_dir, &p.opt, file_jobs,
                            report, report_ctx, &p.totals);
        for (size_t i = 0; i < pkgs.n; i++)
            free(pkgs.v[i]);
    }
    free(pkgs.v);
    pthread_mutex_destroy(&p.lock);
    ds_sup_cache_free(sups);
    if (totals)
        *totals = p.totals;
    return p.totals.failed ? SK_EFORMAT : SK_OK;
}
