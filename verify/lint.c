/*
 * symverify lint: is a .sym file well formed, and how good is it?
 *
 * One streaming pass over symfile's tolerant parser, so every finding has a
 * line number: syntax (the parser's own complaints), record order, FUNC
 * overlaps, lines outside their FUNC or overlapping each other, INLINE depth
 * order and containment, FILE / INLINE_ORIGIN ids used but never defined,
 * names with control characters (or a newline, which shows up as a broken
 * line right after a named record), STACK CFI rows outside their INIT.
 * Whole-file checks (overlaps, dangling ids, coverage) run at the end over
 * compact arrays of ranges, so memory stays proportional to the number of
 * records, never to the text.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "symfile.h"
#include "verify.h"

typedef struct span {
    uint64_t addr, size;
    size_t line_no;
    bool multiple;
} span;

typedef struct id_ref {
    uint32_t id;
    size_t line_no;
    bool origin; /* an INLINE_ORIGIN id, else a FILE id */
} id_ref;

typedef struct idset {
    bool *v;
    size_t cap;
} idset;

/* ids beyond this are not tracked (and reported once) */
#define MAX_TRACKED_ID (1u << 24)

typedef struct lint {
    sv_lint_report *rep;
    int max_rank;
    uint64_t last_fp_addr; /* FUNC / PUBLIC address order */
    bool have_fp;
    bool unsorted_reported;

    bool in_func;
    span func;
    size_t func_nlines;
    span *flines; /* the current FUNC's lines */
    size_t nflines, flines_cap;
    /* ranges of the last INLINE at each depth, for containment */
    sym_range **depth_ranges;
    uint32_t *depth_nranges;
    size_t depth_cap;
    long last_depth; /* -1: none yet in this FUNC */

    span *funcs;
    size_t nfuncs, funcs_cap;
    span *cfis;
    size_t ncfis, cfis_cap;
    bool in_cfi;
    span cfi;

    idset files, origins;
    id_ref *refs; /* uses of ids not defined at the time */
    size_t nrefs, refs_cap;
    bool huge_id_reported;

    size_t last_named_line; /* line of the last record ending in a name */
} lint;

static void finding(lint *L, sv_severity sev, const char *code, size_t line_no, const char *fmt, ...)
    SK_PRINTF(5, 6);

static void finding(lint *L, sv_severity sev, const char *code, size_t line_no, const char *fmt, ...)
{
    sv_lint_report *r = L->rep;
    if (sev == SV_ERROR)
        r->errors++;
    else
        r->warnings++;
    if (r->nfindings >= SV_LINT_MAX_FINDINGS)
        return;
    sk_buf b;
    sk_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    sk_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    sk_grow((void **)&r->findings, &r->findings_cap, r->nfindings + 1, sizeof *r->findings);
    r->findings[r->nfindings++] = (sv_finding){sev, code, line_no, b.data ? b.data : sk_xstrdup("")};
}

static void idset_add(idset *s, uint32_t id)
{
    if (id >= MAX_TRACKED_ID)
        return;
    if (id >= s->cap) {
        size_t ncap = s->cap ? s->cap : 64;
        while (ncap <= id)
            ncap *= 2;
        s->v = sk_xrealloc(s->v, ncap);
        memset(s->v + s->cap, 0, ncap - s->cap);
        s->cap = ncap;
    }
    s->v[id] = true;
}

static bool idset_has(const idset *s, uint32_t id)
{
    return id < s->cap && s->v[id];
}

static void use_id(lint *L, uint32_t id, bool origin, size_t line_no)
{
    if (id >= MAX_TRACKED_ID) {
        if (!L->huge_id_reported)
            finding(L, SV_WARNING, "huge-id", line_no, "%s id %u is implausibly large (ids should be dense)",
                    origin ? "INLINE_ORIGIN" : "FILE", id);
        L->huge_id_reported = true;
        return;
    }
    if (idset_has(origin ? &L->origins : &L->files, id))
        return;
    sk_grow((void **)&L->refs, &L->refs_cap, L->nrefs + 1, sizeof *L->refs);
    L->refs[L->nrefs++] = (id_ref){id, line_no, origin};
}

static bool bad_name(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

static void check_name(lint *L, const char *what, const char *name, size_t line_no)
{
    if (bad_name(name))
        finding(L, SV_ERROR, "name-control", line_no, "%s name contains a control character", what);
    L->last_named_line = line_no;
}

static int rank_of(sym_record_kind k)
{
    switch (k) {
    case SYM_REC_MODULE: return 0;
    case SYM_REC_INFO: return 1;
    case SYM_REC_FILE: return 2;
    case SYM_REC_INLINE_ORIGIN: return 3;
    case SYM_REC_FUNC:
    case SYM_REC_LINE:
    case SYM_REC_INLINE:
    case SYM_REC_PUBLIC: return 4;
    default: return 5;
    }
}

static const char *rank_name(int r)
{
    static const char *names[] = {"MODULE", "INFO", "FILE", "INLINE_ORIGIN", "FUNC/PUBLIC", "STACK"};
    return names[r];
}

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return x->line_no < y->line_no ? -1 : x->line_no > y->line_no;
}

static uint64_t span_end(const span *s)
{
    return s->addr + s->size < s->addr ? UINT64_MAX : s->addr + s->size;
}

/* The end of the current FUNC: its lines may not overlap each other. */
static void close_func(lint *L)
{
    if (!L->in_func)
        return;
    sv_sym_stats *st = &L->rep->stats;
    if (L->func_nlines == 0)
        st->funcs_without_lines++;
    if (L->nflines)
        sk_sort(L->flines, L->nflines, sizeof *L->flines, cmp_span);
    uint64_t covered = 0, reach = 0;
    bool reported = false;
    for (size_t i = 0; i < L->nflines; i++) {
        const span *l = &L->flines[i];
        uint64_t s = l->addr > reach ? l->addr : reach, e = span_end(l);
        if (i > 0 && l->addr < reach && !reported) {
            finding(L, SV_ERROR, "overlapping-lines", l->line_no,
                    "line record at %llx overlaps the one before it in the FUNC at line %zu",
                    (unsigned long long)l->addr, L->func.line_no);
            reported = true;
        }
        if (e > s)
            covered += e - s;
        if (e > reach)
            reach = e;
    }
    st->func_bytes_with_lines += covered > L->func.size ? L->func.size : covered;
    L->nflines = 0;
    L->in_func = false;
}

static bool inside(uint64_t a, uint64_t size, uint64_t lo, uint64_t hi)
{
    return a >= lo && a <= hi && size <= hi - a;
}

static void on_inline(lint *L, const sym_record *r)
{
    uint32_t d = r->u.inl.depth;
    size_t ln = r->line_no;
    L->rep->stats.inlines++;
    use_id(L, r->u.inl.call_file, false, ln);
    use_id(L, r->u.inl.origin, true, ln);
    if ((long)d > L->last_depth + 1) {
        finding(L, SV_ERROR, "inline-depth", ln,
                "INLINE at depth %u has no parent at depth %u before it (depth-first order)", d,
                d - 1);
    }
    /* containment in the parent (the FUNC for depth 0) */
    for (uint32_t i = 0; i < r->u.inl.nranges; i++) {
        const sym_range *x = &r->u.inl.ranges[i];
        bool ok = false;
        if (d == 0) {
            ok = inside(x->addr, x->size, L->func.addr, span_end(&L->func));
        } else if ((long)d > L->last_depth + 1 || d - 1 >= L->depth_cap) {
            ok = true; /* no parent: already reported as a depth error */
        } else {
            for (uint32_t k = 0; k < L->depth_nranges[d - 1] && !ok; k++) {
                const sym_range *p = &L->depth_ranges[d - 1][k];
                ok = inside(x->addr, x->size, p->addr, p->addr + p->size);
            }
        }
        if (!ok) {
            finding(L, SV_ERROR, "inline-outside-parent", ln,
                    "INLINE range %llx+%llx lies outside its %s", (unsigned long long)x->addr,
                    (unsigned long long)x->size, d == 0 ? "FUNC" : "parent INLINE");
            break;
        }
    }
    if (d < 1024) {
        if (d >= L->depth_cap) {
            size_t ncap = d + 8;
            L->depth_ranges = sk_xrealloc(L->depth_ranges, ncap * sizeof *L->depth_ranges);
            L->depth_nranges = sk_xrealloc(L->depth_nranges, ncap * sizeof *L->depth_nranges);
            for (size_t i = L->depth_cap; i < ncap; i++)
                L->depth_ranges[i] = NULL, L->depth_nranges[i] = 0;
            L->depth_cap = ncap;
        }
        free(L->depth_ranges[d]);
        L->depth_ranges[d] = sk_xmalloc((r->u.inl.nranges + 1) * sizeof(sym_range));
        memcpy(L->depth_ranges[d], r->u.inl.ranges, r->u.inl.nranges * sizeof(sym_range));
        L->depth_nranges[d] = r->u.inl.nranges;
        L->last_depth = d;
    }
}

static void check_fp_order(lint *L, uint64_t addr, size_t ln)
{
    if (L->have_fp && addr < L->last_fp_addr && !L->unsorted_reported) {
        finding(L, SV_WARNING, "unsorted", ln,
                "FUNC/PUBLIC records are not in address order (%llx after %llx); symkit writes them sorted",
                (unsigned long long)addr, (unsigned long long)L->last_fp_addr);
        L->unsorted_reported = true;
    }
    L->have_fp = true;
    L->last_fp_addr = addr;
}

static const char *const known_os[] = {"Linux", "mac", "windows", "android", "ios", "fuchsia", "solaris", NULL};
static const char *const known_arch[] = {"x86", "x86_64", "arm", "arm64", "arm64e", "mips", "mips64",
                                         "ppc", "ppc64", "s390", "s390x", "riscv", "riscv64",
                                         "sparc", "sparcv9", NULL};

static bool in_list(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static int on_record(const sym_record *r, void *ctx)
{
    lint *L = ctx;
    sv_sym_stats *st = &L->rep->stats;
    size_t ln = r->line_no;
    int rank = rank_of(r->kind);
    if (rank < L->max_rank) {
        finding(L, SV_ERROR, "order", ln, "%s record after %s records", rank_name(rank),
                rank_name(L->max_rank));
    } else {
        L->max_rank = rank;
    }
    if (r->kind != SYM_REC_LINE && r->kind != SYM_REC_INLINE)
        close_func(L);
    if (r->kind != SYM_REC_STACK_CFI)
        L->in_cfi = false;

    switch (r->kind) {
    case SYM_REC_MODULE:
        if (!sk_is_debug_id(r->u.module.debug_id))
            finding(L, SV_ERROR, "debug-id", ln,
                    "debug id '%s' is not 33 upper-case hex digits: symbol servers will not find it",
                    r->u.module.debug_id);
        if (!in_list(known_os, r->u.module.os))
            finding(L, SV_WARNING, "unknown-os", ln, "unknown os '%s'", r->u.module.os);
        if (!in_list(known_arch, r->u.module.arch))
            finding(L, SV_WARNING, "unknown-arch", ln, "unknown arch '%s'", r->u.module.arch);
        check_name(L, "MODULE", r->u.module.name, ln);
        break;
    case SYM_REC_INFO: {
        /* dumpsyms counts the STACK CFI INITs it synthesized from the
         * machine code (docs/sym-format.md); other parsers skip the line. */
        const char *t = r->u.info.text;
        if (strncmp(t, "CFI_SYNTHESIZED ", 16) == 0) {
            char *end;
            unsigned long long n = strtoull(t + 16, &end, 10);
            if (end == t + 16 || *end)
                finding(L, SV_WARNING, "bad-info", ln, "INFO CFI_SYNTHESIZED wants a count: '%s'", t);
            else
                st->cfi_synthesized += (size_t)n;
        }
        break;
    }
    case SYM_REC_FILE:
        st->files++;
        if (idset_has(&L->files, r->u.file.id))
            finding(L, SV_ERROR, "duplicate-id", ln, "FILE id %u defined twice", r->u.file.id);
        idset_add(&L->files, r->u.file.id);
        check_name(L, "FILE", r->u.file.path, ln);
        break;
    case SYM_REC_INLINE_ORIGIN:
        st->origins++;
        if (idset_has(&L->origins, r->u.origin.id))
            finding(L, SV_ERROR, "duplicate-id", ln, "INLINE_ORIGIN id %u defined twice",
                    r->u.origin.id);
        idset_add(&L->origins, r->u.origin.id);
        check_name(L, "INLINE_ORIGIN", r->u.origin.name, ln);
        break;
    case SYM_REC_FUNC:
        st->funcs++;
        check_fp_order(L, r->u.func.addr, ln);
        check_name(L, "FUNC", r->u.func.name, ln);
        if (r->u.func.size == 0)
            finding(L, SV_WARNING, "empty-func", ln, "FUNC %s has size 0", r->u.func.name);
        L->in_func = true;
        L->func = (span){r->u.func.addr, r->u.func.size, ln, r->u.func.multiple};
        L->func_nlines = 0;
        L->last_depth = -1;
        sk_grow((void **)&L->funcs, &L->funcs_cap, L->nfuncs + 1, sizeof *L->funcs);
        L->funcs[L->nfuncs++] = L->func;
        break;
    case SYM_REC_LINE:
        st->line_records++;
        if (!L->in_func)
            break; /* the parser reports it */
        L->func_nlines++;
        use_id(L, r->u.line.file, false, ln);
        if (!inside(r->u.line.addr, r->u.line.size, L->func.addr, span_end(&L->func)))
            finding(L, SV_ERROR, "line-outside-func", ln,
                    "line record %llx+%llx lies outside its FUNC %llx+%llx (line %zu)",
                    (unsigned long long)r->u.line.addr, (unsigned long long)r->u.line.size,
                    (unsigned long long)L->func.addr, (unsigned long long)L->func.size,
                    L->func.line_no);
        sk_grow((void **)&L->flines, &L->flines_cap, L->nflines + 1, sizeof *L->flines);
        L->flines[L->nflines++] = (span){r->u.line.addr, r->u.line.size, ln, false};
        break;
    case SYM_REC_INLINE:
        if (L->in_func)
            on_inline(L, r);
        break;
    case SYM_REC_PUBLIC:
        st->publics++;
        check_fp_order(L, r->u.pub.addr, ln);
        check_name(L, "PUBLIC", r->u.pub.name, ln);
        break;
    case SYM_REC_STACK_CFI_INIT: {
        st->cfi_inits++;
        const char *rules = r->u.cfi_init.rules;
        if (!strstr(rules, ".cfa:") || !strstr(rules, ".ra:"))
            finding(L, SV_ERROR, "cfi-incomplete", ln,
                    "STACK CFI INIT does not define both .cfa and .ra: walkers ignore it");
        L->in_cfi = true;
        L->cfi = (span){r->u.cfi_init.addr, r->u.cfi_init.size, ln, false};
        sk_grow((void **)&L->cfis, &L->cfis_cap, L->ncfis + 1, sizeof *L->cfis);
        L->cfis[L->ncfis++] = L->cfi;
        break;
    }
    case SYM_REC_STACK_CFI:
        st->cfi_rows++;
        if (L->in_cfi && !inside(r->u.cfi.addr, 0, L->cfi.addr, span_end(&L->cfi) - 1))
            finding(L, SV_ERROR, "cfi-outside-init", ln,
                    "STACK CFI row at %llx lies outside its INIT %llx+%llx (line %zu)",
                    (unsigned long long)r->u.cfi.addr, (unsigned long long)L->cfi.addr,
                    (unsigned long long)L->cfi.size, L->cfi.line_no);
        break;
    case SYM_REC_STACK_WIN:
        st->stack_win++;
        break;
    }
    return 0;
}

static void on_bad_line(size_t line_no, const char *reason, void *ctx)
{
    lint *L = ctx;
    /* the rest of a name split by a newline is rarely a known record */
    if (L->last_named_line && L->last_named_line + 1 == line_no && strstr(reason, "unknown record")) {
        finding(L, SV_ERROR, "name-newline", line_no,
                "%s (the name on line %zu seems to contain a newline)", reason, line_no - 1);
    } else {
        finding(L, SV_ERROR, "syntax", line_no, "%s", reason);
    }
    L->last_named_line = 0;
}

/* Bytes of the merged FUNC ranges, and how many of them the merged CFI
 * ranges cover. */
static void coverage(lint *L)
{
    sv_sym_stats *st = &L->rep->stats;
    if (L->nfuncs)
        sk_sort(L->funcs, L->nfuncs, sizeof *L->funcs, cmp_span);
    if (L->ncfis)
        sk_sort(L->cfis, L->ncfis, sizeof *L->cfis, cmp_span);
    /* overlapping FUNCs: Breakpad's processor silently drops one of them */
    uint64_t reach = 0;
    size_t reach_line = 0;
    for (size_t i = 0; i < L->nfuncs; i++) {
        const span *f = &L->funcs[i];
        if (i > 0 && f->addr < reach) {
            bool folded = f->addr == L->funcs[i - 1].addr && f->multiple;
            if (!folded)
                finding(L, SV_ERROR, "overlapping-func", f->line_no,
                        "FUNC at %llx overlaps the FUNC at line %zu%s", (unsigned long long)f->addr,
                        reach_line,
                        f->addr == L->funcs[i - 1].addr ? " (same address without the m flag)" : "");
        }
        if (span_end(f) > reach)
            reach = span_end(f), reach_line = f->line_no;
    }
    /* merge both lists in place, then intersect */
    size_t nf = 0, nc = 0;
    for (size_t i = 0; i < L->nfuncs; i++) {
        span s = L->funcs[i];
        if (nf && s.addr <= span_end(&L->funcs[nf - 1])) {
            uint64_t e = span_end(&s) > span_end(&L->funcs[nf - 1]) ? span_end(&s) : span_end(&L->funcs[nf - 1]);
            L->funcs[nf - 1].size = e - L->funcs[nf - 1].addr;
        } else {
            L->funcs[nf++] = s;
        }
    }
    for (size_t i = 0; i < L->ncfis; i++) {
        span s = L->cfis[i];
        if (nc && s.addr <= span_end(&L->cfis[nc - 1])) {
            uint64_t e = span_end(&s) > span_end(&L->cfis[nc - 1]) ? span_end(&s) : span_end(&L->cfis[nc - 1]);
            L->cfis[nc - 1].size = e - L->cfis[nc - 1].addr;
        } else {
            L->cfis[nc++] = s;
        }
    }
    size_t j = 0;
    for (size_t i = 0; i < nf; i++) {
        const span *f = &L->funcs[i];
        st->func_bytes += f->size;
        while (j < nc && span_end(&L->cfis[j]) <= f->addr)
            j++;
        for (size_t k = j; k < nc && L->cfis[k].addr < span_end(f); k++) {
            uint64_t s = L->cfis[k].addr > f->addr ? L->cfis[k].addr : f->addr;
            uint64_t e = span_end(&L->cfis[k]) < span_end(f) ? span_end(&L->cfis[k]) : span_end(f);
            if (e > s)
                st->func_bytes_with_cfi += e - s;
        }
    }
}

static void dangling(lint *L)
{
    /* report each undefined id once, at its first use */
    size_t reported = 0;
    for (size_t i = 0; i < L->nrefs; i++) {
        const id_ref *u = &L->refs[i];
        const idset *s = u->origin ? &L->origins : &L->files;
        if (idset_has(s, u->id))
            continue;
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = L->refs[k].id == u->id && L->refs[k].origin == u->origin;
        if (seen)
            continue;
        finding(L, SV_ERROR, u->origin ? "dangling-origin" : "dangling-file", u->line_no,
                "%s id %u is used but never defined", u->origin ? "INLINE_ORIGIN" : "FILE", u->id);
        /* quadratic in the number of distinct dangling ids: stop early */
        if (++reported >= 50)
            break;
    }
}

int sv_lint_mem(const char *name, const char *data, size_t len, sv_lint_report *rep, sk_error *err)
{
    memset(rep, 0, sizeof *rep);
    rep->path = sk_xstrdup(name);
    lint L;
    memset(&L, 0, sizeof L);
    L.rep = rep;
    L.last_depth = -1;
    sym_parse_stats ps;
    int rc = sym_parse(data, len, on_record, on_bad_line, &L, &ps, err);
    if (rc == SK_OK) {
        close_func(&L);
        rep->stats.lines = ps.lines;
        rep->stats.records = ps.records;
        rep->stats.bad_lines = ps.bad_lines;
        coverage(&L);
        dangling(&L);
        sv_sym_stats *st = &rep->stats;
        if (st->funcs == 0 && st->publics > 0) {
            st->public_only = true;
            finding(&L, SV_WARNING, "public-only", 0,
                    "only PUBLIC records: no function sizes, no lines, no inlines (stripped binary or no debug info?)");
        }
        if (st->cfi_synthesized > st->cfi_inits)
            finding(&L, SV_WARNING, "cfi-synthesized-count", 0,
                    "INFO CFI_SYNTHESIZED says %zu INIT records, the file has %zu", st->cfi_synthesized,
                    st->cfi_inits);
        if (st->funcs > 0 && st->cfi_inits == 0 && st->stack_win == 0)
            finding(&L, SV_WARNING, "no-cfi", 0, "no STACK CFI records: walkers must scan the stack");
        /* file order for people; whole-file findings (line 0) last */
        for (size_t i = 1; i < rep->nfindings; i++) {
            sv_finding f = rep->findings[i];
            size_t key = f.line_no ? f.line_no : SIZE_MAX, k = i;
            for (; k > 0; k--) {
                size_t prev = rep->findings[k - 1].line_no ? rep->findings[k - 1].line_no : SIZE_MAX;
                if (prev <= key)
                    break;
                rep->findings[k] = rep->findings[k - 1];
            }
            rep->findings[k] = f;
        }
    } else {
        sk_error_prefix(err, "%s", name);
    }
    free(L.flines);
    for (size_t i = 0; i < L.depth_cap; i++)
        free(L.depth_ranges[i]);
    free(L.depth_ranges);
    free(L.depth_nranges);
    free(L.funcs);
    free(L.cfis);
    free(L.files.v);
    free(L.origins.v);
    free(L.refs);
    return rc;
}

int sv_lint_file(const char *path, sv_lint_report *rep, sk_error *err)
{
    sk_mapped m;
    int rc = sk_map_file(path, &m, err);
    if (rc != SK_OK) {
        memset(rep, 0, sizeof *rep);
        rep->path = sk_xstrdup(path);
        return rc;
    }
    rc = sv_lint_mem(path, (const char *)m.data, m.size, rep, err);
    sk_unmap(&m);
    return rc;
}

void sv_lint_report_free(sv_lint_report *rep)
{
    for (size_t i = 0; i < rep->nfindings; i++)
        free(rep->findings[i].msg);
    free(rep->findings);
    free(rep->path);
    memset(rep, 0, sizeof *rep);
}

static double share(uint64_t part, uint64_t whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

void sv_lint_format_text(const sv_lint_report *reps, size_t n, sk_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        const sv_lint_report *r = &reps[i];
        for (size_t k = 0; k < r->nfindings; k++) {
            const sv_finding *f = &r->findings[k];
            if (f->line_no)
                sk_buf_printf(out, "%s:%zu: ", r->path, f->line_no);
            else
                sk_buf_printf(out, "%s: ", r->path);
            sk_buf_printf(out, "%s: %s [%s]\n", f->severity == SV_ERROR ? "error" : "warning", f->msg,
                          f->code);
        }
        size_t shown = r->nfindings, all = r->errors + r->warnings;
        if (all > shown)
            sk_buf_printf(out, "%s: ... %zu more findings not shown\n", r->path, all - shown);
        const sv_sym_stats *s = &r->stats;
        sk_buf_printf(out,
                      "%s: %zu errors, %zu warnings; funcs %zu, publics %zu, lines %zu, inlines %zu, "
                      "cfi_inits %zu; cfi_coverage %.1f%%, line_coverage %.1f%%, "
                      "funcs_without_lines %zu\n",
                      r->path, r->errors, r->warnings, s->funcs, s->publics, s->line_records,
                      s->inlines, s->cfi_inits, 100 * share(s->func_bytes_with_cfi, s->func_bytes),
                      100 * share(s->func_bytes_with_lines, s->func_bytes), s->funcs_without_lines);
        if (s->cfi_synthesized)
            sk_buf_printf(out, "%s: cfi_synthesized %zu of %zu INIT records (%.1f%%), derived from machine code\n",
                          r->path, s->cfi_synthesized, s->cfi_inits,
                          100 * share(s->cfi_synthesized, s->cfi_inits));
    }
}

void sv_lint_format_json(const sv_lint_report *reps, size_t n, sk_buf *out)
{
    sv_json j;
    sv_json_init(&j, out);
    sv_json_object(&j, NULL);
    sv_json_array(&j, "files");
    for (size_t i = 0; i < n; i++) {
        const sv_lint_report *r = &reps[i];
        const sv_sym_stats *s = &r->stats;
        sv_json_object(&j, NULL);
        sv_json_str(&j, "path", r->path);
        sv_json_uint(&j, "errors", r->errors);
        sv_json_uint(&j, "warnings", r->warnings);
        sv_json_object(&j, "stats");
        sv_json_uint(&j, "lines", s->lines);
        sv_json_uint(&j, "bad_lines", s->bad_lines);
        sv_json_uint(&j, "funcs", s->funcs);
        sv_json_uint(&j, "publics", s->publics);
        sv_json_uint(&j, "line_records", s->line_records);
        sv_json_uint(&j, "inlines", s->inlines);
        sv_json_uint(&j, "files", s->files);
        sv_json_uint(&j, "origins", s->origins);
        sv_json_uint(&j, "cfi_inits", s->cfi_inits);
        sv_json_uint(&j, "cfi_rows", s->cfi_rows);
        sv_json_uint(&j, "cfi_synthesized", s->cfi_synthesized);
        sv_json_num(&j, "cfi_synthesized_share", share(s->cfi_synthesized, s->cfi_inits));
        sv_json_uint(&j, "stack_win", s->stack_win);
        sv_json_uint(&j, "funcs_without_lines", s->funcs_without_lines);
        sv_json_uint(&j, "func_bytes", s->func_bytes);
        sv_json_num(&j, "cfi_coverage", share(s->func_bytes_with_cfi, s->func_bytes));
        sv_json_num(&j, "line_coverage", share(s->func_bytes_with_lines, s->func_bytes));
        sv_json_bool(&j, "public_only", s->public_only);
        sv_json_end(&j, '}');
        sv_json_array(&j, "findings");
        for (size_t k = 0; k < r->nfindings; k++) {
            const sv_finding *f = &r->findings[k];
            sv_json_object(&j, NULL);
            sv_json_str(&j, "severity", f->severity == SV_ERROR ? "error" : "warning");
            sv_json_str(&j, "code", f->code);
            sv_json_uint(&j, "line", f->line_no);
            sv_json_str(&j, "message", f->msg);
            sv_json_end(&j, '}');
        }
        sv_json_end(&j, ']');
        sv_json_end(&j, '}');
    }
    sv_json_end(&j, ']');
    sv_json_end(&j, '}');
}
