/* --expect chains: parsing and matching (see expect.h). */
#include "expect.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CHAIN 256

typedef struct pattern {
    char *module, *function;
} pattern;

typedef struct chain {
    char *dump; /* NULL: every dump */
    bool used;
    pattern *frames;
    size_t n, cap;
    char *text;
} chain;

struct sv_expect {
    chain *v;
    size_t n, cap;
};

void sv_expect_free(sv_expect *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n; i++) {
        chain *c = &e->v[i];
        for (size_t k = 0; k < c->n; k++) {
            free(c->frames[k].module);
            free(c->frames[k].function);
        }
        free(c->frames);
        free(c->dump);
        free(c->text);
    }
    free(e->v);
    free(e);
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = 0;
    return s;
}

static void finish_chain(sv_expect *e)
{
    if (!e->n)
        return;
    chain *c = &e->v[e->n - 1];
    sk_buf b;
    sk_buf_init(&b);
    for (size_t k = 0; k < c->n; k++)
        sk_buf_printf(&b, "%s%s!%s", k ? " > " : "", c->frames[k].module, c->frames[k].function);
    free(c->text);
    c->text = b.data ? b.data : sk_xstrdup("");
}

int sv_expect_parse(const char *name, const char *text, size_t len, sv_expect **out, sk_error *err)
{
    sv_expect *e = sk_xcalloc(1, sizeof *e);
    char *copy = sk_xstrndup(text, len);
    if (strlen(copy) != len) {
        free(copy);
        sv_expect_free(e);
        return sk_fail(err, SK_EFORMAT, "%s: NUL byte in expect file", name);
    }
    bool open = false; /* a chain is being read */
    size_t line_no = 0;
    int rc = SK_OK;
    for (char *p = copy, *nl; p && rc == SK_OK; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (nl)
            *nl = 0;
        line_no++;
        char *l = trim(p);
        if (*l == '#')
            continue;
        if (!*l) {
            if (open)
                finish_chain(e);
            open = false;
            continue;
        }
        if (!open) {
            sk_grow((void **)&e->v, &e->cap, e->n + 1, sizeof *e->v);
            memset(&e->v[e->n++], 0, sizeof e->v[0]);
            open = true;
        }
        chain *c = &e->v[e->n - 1];
        if (strncmp(l, "dump:", 5) == 0) {
            if (c->n || c->dump) {
                rc = sk_fail(err, SK_EFORMAT, "%s:%zu: 'dump:' must open its chain", name, line_no);
                break;
            }
            char *d = trim(l + 5);
            if (!*d) {
                rc = sk_fail(err, SK_EFORMAT, "%s:%zu: 'dump:' without a dump name", name, line_no);
                break;
            }
            c->dump = sk_xstrdup(d);
            continue;
        }
        char *bang = strchr(l, '!');
        if (!bang || !bang[1]) {
            rc = sk_fail(err, SK_EFORMAT, "%s:%zu: expected module!function, found \"%.60s\"", name,
                         line_no, l);
            break;
        }
        if (c->n >= MAX_CHAIN) {
            rc = sk_fail(err, SK_EFORMAT, "%s:%zu: chain longer than %d frames", name, line_no, MAX_CHAIN);
            break;
        }
        sk_grow((void **)&c->frames, &c->cap, c->n + 1, sizeof *c->frames);
        c->frames[c->n].module = sk_xstrndup(l, (size_t)(bang - l));
        c->frames[c->n].function = sk_xstrdup(trim(bang + 1));
        c->n++;
    }
    free(copy);
    if (rc == SK_OK && open)
        finish_chain(e);
    for (size_t i = 0; rc == SK_OK && i < e->n; i++)
        if (e->v[i].n == 0)
            rc = sk_fail(err, SK_EFORMAT, "%s: a 'dump: %s' line without frames", name,
                         e->v[i].dump ? e->v[i].dump : "");
    if (rc == SK_OK && e->n == 0)
        rc = sk_fail(err, SK_EFORMAT, "%s: no chains (expected module!function lines)", name);
    if (rc) {
        sv_expect_free(e);
        return rc;
    }
    *out = e;
    return SK_OK;
}

int sv_expect_load(const char *path, sv_expect **out, sk_error *err)
{
    char *text;
    size_t len;
    int rc = sk_read_file(path, &text, &len, err);
    if (rc)
        return rc;
    rc = sv_expect_parse(path, text, len, out, err);
    free(text);
    return rc;
}

/* ---- matching ---- */

typedef struct lframe {
    const char *module, *debug_file, *function;
} lframe;

static bool match_module(const char *pat, const lframe *f)
{
    if (!*pat || strcmp(pat, "*") == 0)
        return true;
    return (f->module && fnmatch(pat, f->module, FNM_NOESCAPE) == 0) ||
           (f->debug_file && fnmatch(pat, f->debug_file, FNM_NOESCAPE) == 0);
}

static bool match_function(const char *pat, const char *fn)
{
    if (strcmp(pat, "*") == 0)
        return true;
    if (!fn)
        return false;
    if (fnmatch(pat, fn, FNM_NOESCAPE) == 0)
        return true;
    /* "foo" matches "foo(int)": C++ names carry their parameters */
    const char *paren = strchr(fn, '(');
    if (paren && paren > fn) {
        char *head = sk_xstrndup(fn, (size_t)(paren - fn));
        bool ok = fnmatch(pat, head, FNM_NOESCAPE) == 0;
        free(head);
        return ok;
    }
    return false;
}

static bool match(const pattern *p, const lframe *f)
{
    return match_module(p->module, f) && match_function(p->function, f->function);
}

static void describe(sk_buf *b, const lframe *f)
{
    sk_buf_printf(b, "%s!%s", f->module ? f->module : "?", f->function ? f->function : "?");
}

static void run_chain(const chain *c, const lframe *lf, size_t n, sv_chain_result *res)
{
    size_t best = 0, best_at = 0;
    for (size_t s = 0; s < n; s++) {
        size_t k = 0;
        while (k < c->n && s + k < n && match(&c->frames[k], &lf[s + k]))
            k++;
        if (k == c->n) {
            res->passed = true;
            return;
        }
        if (k > best)
            best = k, best_at = s;
    }
    sk_buf b;
    sk_buf_init(&b);
    if (best == 0) {
        sk_buf_printf(&b, "no frame matches %s!%s; the crashing thread has", c->frames[0].module,
                      c->frames[0].function);
        for (size_t i = 0; i < n && i < 8; i++) {
            sk_buf_putc(&b, ' ');
            describe(&b, &lf[i]);
        }
        if (n > 8)
            sk_buf_puts(&b, " ...");
        if (n == 0)
            sk_buf_puts(&b, " no frames");
    } else {
        sk_buf_printf(&b, "frames %zu-%zu match the first %zu, then expected %s!%s, found ", best_at,
                      best_at + best - 1, best, c->frames[best].module, c->frames[best].function);
        if (best_at + best < n)
            describe(&b, &lf[best_at + best]);
        else
            sk_buf_puts(&b, "the end of the stack");
    }
    res->message = b.data;
}

void sv_expect_apply(sv_expect *e, const sw_report *r, sv_dump_metrics *dm)
{
    const sw_thread *t = r->crashing_thread >= 0 && (size_t)r->crashing_thread < r->nthreads
                             ? &r->threads[r->crashing_thread]
                             : NULL;
    lframe *lf = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; t && i < t->nframes; i++) {
        const sw_frame *f = &t->frames[i];
        const sw_module *m = f->module >= 0 && (size_t)f->module < r->nmodules ? &r->modules[f->module] : NULL;
        const char *mod = m ? m->filename : NULL, *dbg = m ? m->debug_file : NULL;
        for (size_t k = 0; k < f->ninlines; k++) {
            sk_grow((void **)&lf, &cap, n + 1, sizeof *lf);
            lf[n++] = (lframe){mod, dbg, f->inlines[k].function};
        }
        sk_grow((void **)&lf, &cap, n + 1, sizeof *lf);
        lf[n++] = (lframe){mod, dbg, f->function};
    }
    for (size_t i = 0; i < e->n; i++) {
        chain *c = &e->v[i];
        if (c->dump && strcmp(c->dump, dm->name) != 0)
            continue;
        c->used = true;
        sk_grow((void **)&dm->chains, &(size_t){dm->nchains}, dm->nchains + 1, sizeof *dm->chains);
        sv_chain_result *res = &dm->chains[dm->nchains++];
        memset(res, 0, sizeof *res);
        res->chain = sk_xstrdup(c->text);
        if (!t)
            res->message = sk_xstrdup("the dump has no crashing thread");
        else
            run_chain(c, lf, n, res);
    }
    free(lf);
}

const char *sv_expect_unmatched(const sv_expect *e)
{
    for (size_t i = 0; e && i < e->n; i++)
        if (e->v[i].dump && !e->v[i].used)
            return e->v[i].dump;
    return NULL;
}
