/*
 * symverify diff: what a new build's .sym lost or gained against an old
 * one, for symbol regression reviews.  Whole-file figures (counts,
 * coverage) come from the lint pass; per-function facts (has lines, has CFI
 * at its entry, inline origins used) from the loaded models, matched by
 * name because addresses move between builds.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "symfile.h"
#include "verify.h"

typedef struct fn_fact {
    const char *name;
    bool lines, cfi;
} fn_fact;

static int cmp_fact(const void *a, const void *b)
{
    const fn_fact *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    /* within one name, the better-equipped copies first, so a multiset
     * match pairs like with like */
    if (x->lines != y->lines)
        return x->lines ? -1 : 1;
    return (int)y->cfi - (int)x->cfi;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_cfi(const void *a, const void *b)
{
    const sym_cfi *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool cfi_covers(const sym_module *m, uint64_t addr)
{
    size_t lo = 0, hi = m->ncfi;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->cfi[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* lo is the first INIT above addr; CFI INITs may nest in odd files,
     * so look back a little */
    for (size_t k = lo; k-- > 0 && lo - k <= 4;)
        if (addr >= m->cfi[k].addr && addr - m->cfi[k].addr < m->cfi[k].size)
            return true;
    return false;
}

static fn_fact *facts(sym_module *m, size_t *n)
{
    if (m->ncfi)
        sk_sort(m->cfi, m->ncfi, sizeof *m->cfi, cmp_cfi);
    fn_fact *v = sk_xcalloc(m->nfuncs + 1, sizeof *v);
    for (size_t i = 0; i < m->nfuncs; i++) {
        const sym_func *f = &m->funcs[i];
        v[i].name = f->name ? f->name : "<name omitted>";
        v[i].lines = f->nlines > 0;
        v[i].cfi = cfi_covers(m, f->addr);
    }
    if (m->nfuncs)
        sk_sort(v, m->nfuncs, sizeof *v, cmp_fact);
    *n = m->nfuncs;
    return v;
}

/* Sorted, unique names of the inline origins the module's INLINEs use. */
static char **used_origins(const sym_module *m, size_t *n)
{
    char **v = NULL;
    size_t k = 0, cap = 0;
    for (size_t i = 0; i < m->nfuncs; i++) {
        const sym_func *f = &m->funcs[i];
        for (size_t j = 0; j < f->ninlines; j++) {
            uint32_t o = f->inlines[j].origin;
            if (o >= m->norigins || !m->origins[o])
                continue;
            sk_grow((void **)&v, &cap, k + 1, sizeof *v);
            v[k++] = (char *)m->origins[o];
        }
    }
    if (k)
        sk_sort(v, k, sizeof *v, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(v[u - 1], v[i]) != 0)
            v[u++] = v[i];
    *n = u;
    return v;
}

/* Sorted, unique PUBLIC and FUNC names. */
static char **sorted_names(const sym_module *m, bool publics, size_t *n)
{
    size_t k = 0, total = publics ? m->npublics : m->nfuncs;
    char **v = sk_xcalloc(total + 1, sizeof *v);
    for (size_t i = 0; i < total; i++) {
        const char *name = publics ? m->publics[i].name : m->funcs[i].name;
        if (name)
            v[k++] = (char *)name;
    }
    if (k)
        sk_sort(v, k, sizeof *v, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(v[u - 1], v[i]) != 0)
            v[u++] = v[i];
    *n = u;
    return v;
}

static bool in_sorted(char *const *v, size_t n, const char *s)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v[mid], s);
        if (c == 0)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* PUBLICs of `from` that `to` has under no name at all. */
static void publics_missing(const sym_module *from, const sym_module *to, sv_names *out)
{
    size_t np, ntp, ntf;
    char **pub = sorted_names(from, true, &np);
    char **tp = sorted_names(to, true, &ntp), **tf = sorted_names(to, false, &ntf);
    for (size_t i = 0; i < np; i++)
        if (!in_sorted(tp, ntp, pub[i]) && !in_sorted(tf, ntf, pub[i]))
            sv_names_add(out, pub[i]);
    free(pub);
    free(tp);
    free(tf);
}


int sv_diff_files(const char *old_path, const char *new_path, sv_diff_report *rep, sk_error *err)
{
    memset(rep, 0, sizeof *rep);
    rep->old_path = sk_xstrdup(old_path);
    rep->new_path = sk_xstrdup(new_path);
    sv_lint_report lo, ln;
    int rc = sv_lint_file(old_path, &lo, err);
    if (rc != SK_OK) {
        sv_lint_report_free(&lo);
        return rc;
    }
    rc = sv_lint_file(new_path, &ln, err);
    if (rc != SK_OK) {
        sv_lint_report_free(&lo);
        sv_lint_report_free(&ln);
        return rc;
    }
    rep->old_stats = lo.stats;
    rep->new_stats = ln.stats;
    sv_lint_report_free(&lo);
    sv_lint_report_free(&ln);

    sym_module mo, mn;
    rc = sym_module_read(old_path, &mo, NULL, err);
    if (rc != SK_OK)
        return rc;
    rc = sym_module_read(new_path, &mn, NULL, err);
    if (rc != SK_OK) {
        sym_module_free(&mo);
        return rc;
    }
    rep->old_id = sk_xstrdup(mo.debug_id ? mo.debug_id : "");
    rep->new_id = sk_xstrdup(mn.debug_id ? mn.debug_id : "");

    size_t no, nn;
    fn_fact *fo = facts(&mo, &no), *fnw = facts(&mn, &nn);
    size_t i = 0, j = 0;
    while (i < no || j < nn) {
        int c = i >= no ? 1 : j >= nn ? -1 : strcmp(fo[i].name, fnw[j].name);
        if (c < 0) {
            sv_names_add(&rep->funcs_lost, fo[i++].name);
        } else if (c > 0) {
            sv_names_add(&rep->funcs_gained, fnw[j++].name);
        } else {
            if (fo[i].lines && !fnw[j].lines)
                sv_names_add(&rep->lines_lost, fo[i].name);
            if (!fo[i].lines && fnw[j].lines)
                sv_names_add(&rep->lines_gained, fo[i].name);
            if (fo[i].cfi && !fnw[j].cfi)
                sv_names_add(&rep->cfi_lost, fo[i].name);
            if (!fo[i].cfi && fnw[j].cfi)
                sv_names_add(&rep->cfi_gained, fo[i].name);
            i++, j++;
        }
    }
    free(fo);
    free(fnw);

    size_t oo, on;
    char **ro = used_origins(&mo, &oo), **rn = used_origins(&mn, &on);
    i = j = 0;
    while (i < oo || j < on) {
        int c = i >= oo ? 1 : j >= on ? -1 : strcmp(ro[i], rn[j]);
        if (c < 0)
            sv_names_add(&rep->inlines_lost, ro[i++]);
        else if (c > 0)
            sv_names_add(&rep->inlines_gained, rn[j++]);
        else
            i++, j++;
    }
    free(ro);
    free(rn);
    publics_missing(&mo, &mn, &rep->publics_lost);
    publics_missing(&mn, &mo, &rep->publics_gained);
    sym_module_free(&mo);
    sym_module_free(&mn);
    return SK_OK;
}

static double share(uint64_t part, uint64_t whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

bool sv_diff_has_loss(const sv_diff_report *r)
{
    const sv_sym_stats *o = &r->old_stats, *n = &r->new_stats;
    return r->funcs_lost.n || r->lines_lost.n || r->cfi_lost.n || r->inlines_lost.n ||
           r->publics_lost.n ||
           n->line_records < o->line_records || n->inlines < o->inlines ||
           n->cfi_inits < o->cfi_inits ||
           share(n->func_bytes_with_cfi, n->func_bytes) + 1e-9 <
               share(o->func_bytes_with_cfi, o->func_bytes) ||
           share(n->func_bytes_with_lines, n->func_bytes) + 1e-9 <
               share(o->func_bytes_with_lines, o->func_bytes);
}

void sv_diff_report_free(sv_diff_report *r)
{
    free(r->old_path);
    free(r->new_path);
    free(r->old_id);
    free(r->new_id);
    sv_names_free(&r->funcs_lost);
    sv_names_free(&r->funcs_gained);
    sv_names_free(&r->lines_lost);
    sv_names_free(&r->lines_gained);
    sv_names_free(&r->cfi_lost);
    sv_names_free(&r->cfi_gained);
    sv_names_free(&r->inlines_lost);
    sv_names_free(&r->inlines_gained);
    sv_names_free(&r->publics_lost);
    sv_names_free(&r->publics_gained);
    memset(r, 0, sizeof *r);
}

static void count_line(sk_buf *out, const char *what, uint64_t o, uint64_t n)
{
    sk_buf_printf(out, "  %-20s %10llu -> %-10llu", what, (unsigned long long)o, (unsigned long long)n);
    if (n != o)
        sk_buf_printf(out, " (%+lld)", (long long)n - (long long)o);
    sk_buf_putc(out, '\n');
}

static void pct_line(sk_buf *out, const char *what, double o, double n)
{
    sk_buf_printf(out, "  %-20s %9.1f%% -> %.1f%%", what, 100 * o, 100 * n);
    if (n + 1e-9 < o)
        sk_buf_puts(out, "  LOWER");
    sk_buf_putc(out, '\n');
}

static void names_text(sk_buf *out, const char *what, const sv_names *l, size_t max)
{
    if (!l->n)
        return;
    sk_buf_printf(out, "%s (%zu):\n", what, l->n);
    size_t shown = max && max < l->n ? max : l->n;
    for (size_t i = 0; i < shown; i++)
        sk_buf_printf(out, "  %s\n", l->v[i]);
    if (shown < l->n)
        sk_buf_printf(out, "  ... and %zu more (--all lists them)\n", l->n - shown);
}

void sv_diff_format_text(const sv_diff_report *r, size_t max, sk_buf *out)
{
    const sv_sym_stats *o = &r->old_stats, *n = &r->new_stats;
    sk_buf_printf(out, "old: %s (%s)\nnew: %s (%s)\n", r->old_path, r->old_id, r->new_path, r->new_id);
    count_line(out, "funcs", o->funcs, n->funcs);
    count_line(out, "publics", o->publics, n->publics);
    count_line(out, "line_records", o->line_records, n->line_records);
    count_line(out, "inlines", o->inlines, n->inlines);
    count_line(out, "cfi_inits", o->cfi_inits, n->cfi_inits);
    count_line(out, "funcs_without_lines", o->funcs_without_lines, n->funcs_without_lines);
    pct_line(out, "cfi_coverage", share(o->func_bytes_with_cfi, o->func_bytes),
             share(n->func_bytes_with_cfi, n->func_bytes));
    pct_line(out, "line_coverage", share(o->func_bytes_with_lines, o->func_bytes),
             share(n->func_bytes_with_lines, n->func_bytes));
    names_text(out, "funcs_lost", &r->funcs_lost, max);
    names_text(out, "funcs_gained", &r->funcs_gained, max);
    names_text(out, "lines_lost", &r->lines_lost, max);
    names_text(out, "lines_gained", &r->lines_gained, max);
    names_text(out, "cfi_lost", &r->cfi_lost, max);
    names_text(out, "cfi_gained", &r->cfi_gained, max);
    names_text(out, "inlines_lost", &r->inlines_lost, max);
    names_text(out, "inlines_gained", &r->inlines_gained, max);
    names_text(out, "publics_lost", &r->publics_lost, max);
    names_text(out, "publics_gained", &r->publics_gained, max);
    sk_buf_printf(out, "%s\n", sv_diff_has_loss(r) ? "result: LOSS" : "result: no loss");
}

static void stats_json(sv_json *j, const char *key, const sv_sym_stats *s)
{
    sv_json_object(j, key);
    sv_json_uint(j, "funcs", s->funcs);
    sv_json_uint(j, "publics", s->publics);
    sv_json_uint(j, "line_records", s->line_records);
    sv_json_uint(j, "inlines", s->inlines);
    sv_json_uint(j, "cfi_inits", s->cfi_inits);
    sv_json_uint(j, "funcs_without_lines", s->funcs_without_lines);
    sv_json_num(j, "cfi_coverage", share(s->func_bytes_with_cfi, s->func_bytes));
    sv_json_num(j, "line_coverage", share(s->func_bytes_with_lines, s->func_bytes));
    sv_json_end(j, '}');
}

void sv_diff_format_json(const sv_diff_report *r, sk_buf *out)
{
    sv_json j;
    sv_json_init(&j, out);
    sv_json_object(&j, NULL);
    sv_json_str(&j, "old", r->old_path);
    sv_json_str(&j, "new", r->new_path);
    sv_json_str(&j, "old_debug_id", r->old_id);
    sv_json_str(&j, "new_debug_id", r->new_id);
    stats_json(&j, "old_stats", &r->old_stats);
    stats_json(&j, "new_stats", &r->new_stats);
    sv_json_names(&j, "funcs_lost", &r->funcs_lost);
    sv_json_names(&j, "funcs_gained", &r->funcs_gained);
    sv_json_names(&j, "lines_lost", &r->lines_lost);
    sv_json_names(&j, "lines_gained", &r->lines_gained);
    sv_json_names(&j, "cfi_lost", &r->cfi_lost);
    sv_json_names(&j, "cfi_gained", &r->cfi_gained);
    sv_json_names(&j, "inlines_lost", &r->inlines_lost);
    sv_json_names(&j, "inlines_gained", &r->inlines_gained);
    sv_json_names(&j, "publics_lost", &r->publics_lost);
    sv_json_names(&j, "publics_gained", &r->publics_gained);
    sv_json_bool(&j, "loss", sv_diff_has_loss(r));
    sv_json_end(&j, '}');
}
