/* finalize.c — puts a sym_module into the one canonical form the writer
 * walks (rules in symfile.h and docs/sym-format.md).
 *
 * Every rule is written so that a second pass finds nothing to change
 * (idempotence) and so that ties are broken by content, or failing that by
 * insertion order, never by qsort's whims (determinism).  All passes are
 * sorts plus linear walks: producers hand us 100k FUNCs and millions of
 * lines. */
#include "symfile_int.h"

#include <stdlib.h>
#include <string.h>

/* ---- strings ----------------------------------------------------------- */

/* s with CR/LF turned into spaces (a copy only when needed); empty or NULL
 * becomes `empty` (which may be NULL to keep it empty). */
static const char *clean(sym_module *m, const char *s, const char *empty)
{
    if (!s || !*s)
        return empty ? empty : s;
    size_t n = strcspn(s, "\r\n");
    if (!s[n])
        return s;
    char *c = sk_arena_strdup(m->arena, s);
    for (char *p = c + n; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    return c;
}

/* MODULE fields and the code id are single tokens: Tecken splits the MODULE
 * line on whitespace and wants exactly five, so blanks become '_' and a
 * missing field becomes "unknown" rather than an unreadable line. */
static const char *clean_token(sym_module *m, const char *s, const char *empty)
{
    static const char blanks[] = " \t\r\n\v\f";
    if (!s || !*s)
        return empty;
    size_t n = strcspn(s, blanks);
    if (!s[n])
        return s;
    char *c = sk_arena_strdup(m->arena, s);
    for (char *p = c + n; *p; p++)
        if (strchr(blanks, *p))
            *p = '_';
    return c;
}

static void clean_header(sym_module *m)
{
    m->os = clean_token(m, m->os, "unknown");
    m->arch = clean_token(m, m->arch, "unknown");
    m->debug_id = clean_token(m, m->debug_id, "unknown");
    m->name = clean_token(m, m->name, "unknown");
    m->code_id = clean_token(m, m->code_id, NULL);
    m->code_file = clean(m, m->code_file, NULL);
    m->generator = clean(m, m->generator, NULL);
    if (m->code_file && !*m->code_file)
        m->code_file = NULL;

    /* An INFO CODE_ID / GENERATOR line given verbatim is promoted to its
     * field, so the module reads back the way the writer orders it. */
    size_t out = 0;
    for (size_t i = 0; i < m->ninfo; i++) {
        const char *t = clean(m, m->info[i], NULL);
        if (!t || !*t)
            continue;
        size_t idlen;
        const char *file;
        if (!m->code_id && sym_split_code_id(t, &idlen, &file)) {
            m->code_id = sk_arena_strndup(m->arena, t + 8, idlen);
            m->code_file = file;
            continue;
        }
        if (!m->generator && strncmp(t, "GENERATOR ", 10) == 0) {
            m->generator = t + 10;
            continue;
        }
        m->info[out++] = t;
    }
    m->ninfo = out;

    out = 0;
    for (size_t i = 0; i < m->nstack_win; i++) {
        const char *t = clean(m, m->stack_win[i].text, NULL);
        if (t && *t)
            m->stack_win[out++].text = t;
    }
    m->nstack_win = out;
}

/* ---- lines and inlines ------------------------------------------------- */

static int cmp_line(const void *a, const void *b)
{
    const sym_line *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    if (x->file != y->file)
        return x->file < y->file ? -1 : 1;
    return 0;
}

static void finalize_lines(sym_func *f, size_t *dropped)
{
    uint64_t lo = f->addr, hi = sym_end(f->addr, f->size);
    size_t n = 0;
    bool sorted = true;
    for (size_t i = 0; i < f->nlines; i++) {
        sym_line l = f->lines[i];
        sym_range r = {l.addr, l.size};
        if (!sym_clip(&r, lo, hi)) {
            (*dropped)++;
            continue;
        }
        l.addr = r.addr;
        l.size = (uint32_t)r.size;
        if (n && cmp_line(&f->lines[n - 1], &l) > 0)
            sorted = false;
        f->lines[n++] = l;
    }
    if (!sorted)
        sk_sort(f->lines, n, sizeof *f->lines, cmp_line);
    /* Sorted by start: an overlap can only be with the next line, and the
     * earlier line gives way (at an equal start it vanishes). */
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        sym_line l = f->lines[i];
        if (i + 1 < n && f->lines[i + 1].addr < sym_end(l.addr, l.size))
            l.size = (uint32_t)(f->lines[i + 1].addr - l.addr);
        if (l.size == 0) {
            (*dropped)++;
            continue;
        }
        f->lines[out++] = l;
    }
    f->nlines = out;
}

static int cmp_range(const void *a, const void *b)
{
    const sym_range *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return 0;
}

/* Clips the ranges to [lo, hi), sorts them and merges overlapping ones. */
static void clip_ranges(sym_inline *in, sym_range *ranges, uint64_t lo, uint64_t hi)
{
    uint32_t n = 0;
    bool sorted = true;
    for (uint32_t i = 0; i < in->nranges; i++) {
        sym_range r = ranges[i];
        if (!sym_clip(&r, lo, hi))
            continue;
        if (n && cmp_range(&ranges[n - 1], &r) > 0)
            sorted = false;
        ranges[n++] = r;
    }
    if (!sorted)
        sk_sort(ranges, n, sizeof *ranges, cmp_range);
    uint32_t out = 0;
    for (uint32_t i = 0; i < n; i++) {
        sym_range r = ranges[i];
        if (out) {
            sym_range *prev = &ranges[out - 1];
            uint64_t pe = sym_end(prev->addr, prev->size);
            if (r.addr < pe) {
                uint64_t e = sym_end(r.addr, r.size);
                if (e > pe)
                    prev->size = e - prev->addr;
                continue;
            }
        }
        ranges[out++] = r;
    }
    in->nranges = out;
}

/* True when clip_ranges would leave the n ranges from entry k of the
 * function's array as they are: inside the function (they were clipped to
 * it when added, and only its end can have moved since), sorted and apart.
 * The usual case: it saves copying them out and back. */
static bool ranges_canonical(const sym_func *f, size_t k, uint32_t n, uint64_t lo, uint64_t hi)
{
    uint64_t prev_end = lo;
    for (uint32_t i = 0; i < n; i++) {
        sym_range r = sym_range_at(f, k + i);
        uint64_t e = sym_end(r.addr, r.size);
        if (r.addr < prev_end || e > hi || r.size == 0)
            return false;
        prev_end = e;
    }
    return true;
}

static void set_range(sym_func *f, size_t k, sym_range r)
{
    if (f->ranges_wide)
        f->wide_ranges[k] = r;
    else
        f->ranges[k] = (sym_func_range){(uint32_t)(r.addr - f->addr), (uint32_t)r.size};
}

/* Clips, sorts and merges one INLINE record's ranges, found from entry
 * `from` of the function's array, and puts them at entry `to` (to <= from:
 * finalize packs the array as it drops ranges and records).  They are
 * worked on as sym_ranges in buf (the array holds them relative to the
 * function, or wide): fewer, and each inside the ones they came from, so
 * they fit wherever those fitted. */
static void finalize_ranges(sym_func *f, sym_inline *in, size_t from, size_t to, uint64_t lo,
                            uint64_t hi, sym_range **buf, size_t *cap)
{
    if (ranges_canonical(f, from, in->nranges, lo, hi)) {
        if (to != from)
            for (uint32_t k = 0; k < in->nranges; k++)
                set_range(f, to + k, sym_range_at(f, from + k));
        return;
    }
    sym_grow((void **)buf, cap, 0, in->nranges, sizeof **buf);
    sym_range *rs = *buf;
    for (uint32_t k = 0; k < in->nranges; k++)
        rs[k] = sym_range_at(f, from + k);
    clip_ranges(in, rs, lo, hi);
    for (uint32_t k = 0; k < in->nranges; k++)
        set_range(f, to + k, rs[k]);
}

/* Keeps depth-first order; an inline left without ranges takes its subtree
 * with it, and depths are made consistent (each at most one deeper than the
 * one before it) so that the nesting reads back unambiguously.  The ranges
 * that remain are packed so that each record's still follow the ones
 * before it. */
static void finalize_inlines(sym_func *f, sym_range **buf, size_t *cap)
{
    uint64_t lo = f->addr, hi = sym_end(f->addr, f->size);
    size_t out = 0, from = 0, to = 0;
    int64_t prev_depth = -1;
    bool skipping = false;
    uint32_t skip_depth = 0;
    for (size_t i = 0; i < f->ninlines; i++) {
        sym_inline in = f->inlines[i];
        size_t at = from;
        from += in.nranges;
        if (skipping && in.depth > skip_depth)
            continue;
        skipping = false;
        finalize_ranges(f, &in, at, to, lo, hi, buf, cap);
        if (in.nranges == 0) {
            skipping = true;
            skip_depth = in.depth;
            continue;
        }
        to += in.nranges;
        if ((int64_t)in.depth > prev_depth + 1)
            in.depth = (uint32_t)(prev_depth + 1);
        prev_depth = in.depth;
        f->inlines[out++] = in;
    }
    f->ninlines = out;
    f->nranges = to;
}

/* ---- functions --------------------------------------------------------- */

typedef struct func_key {
    uint64_t addr;
    const char *name;
    size_t idx;
} func_key;

static int cmp_func_key(const void *a, const void *b)
{
    const func_key *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void drop_func(sym_func *f)
{
    sym_func_release(f);
}

static void finalize_funcs(sym_module *m, sym_finalize_stats *st)
{
    size_t n = 0;
    bool sorted = true;
    for (size_t i = 0; i < m->nfuncs; i++) {
        sym_func f = m->funcs[i];
        f.name = clean(m, f.name, SYM_NAME_OMITTED);
        if (f.size > UINT64_MAX - f.addr)
            f.size = UINT64_MAX - f.addr;
        if (f.size == 0) {
            st->funcs_trimmed++;
            drop_func(&f);
            continue;
        }
        if (n) {
            const sym_func *p = &m->funcs[n - 1];
            if (p->addr > f.addr || (p->addr == f.addr && strcmp(p->name, f.name) > 0))
                sorted = false;
        }
        m->funcs[n++] = f;
    }
    if (!sorted) {
        func_key *keys = sk_xmalloc(n * sizeof *keys);
        for (size_t i = 0; i < n; i++)
            keys[i] = (func_key){m->funcs[i].addr, m->funcs[i].name, i};
        sk_sort(keys, n, sizeof *keys, cmp_func_key);
        sym_func *fs = sk_xmalloc((n ? n : 1) * sizeof *fs);
        for (size_t i = 0; i < n; i++)
            fs[i] = m->funcs[keys[i].idx];
        free(keys);
        free(m->funcs);
        m->funcs = fs;
        m->funcs_cap = n ? n : 1;
    }
    /* One FUNC per address.  Different names there mean identical code
     * folding: flagged 'm'.  The same name again is one function described
     * by several units (a COMDAT copy the linker kept once), not folding. */
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out && m->funcs[out - 1].addr == m->funcs[i].addr) {
            if (m->funcs[i].multiple || strcmp(m->funcs[out - 1].name, m->funcs[i].name) != 0) {
                m->funcs[out - 1].multiple = true;
                st->funcs_folded++;
            } else {
                st->funcs_deduplicated++;
            }
            drop_func(&m->funcs[i]);
            continue;
        }
        m->funcs[out++] = m->funcs[i];
    }
    m->nfuncs = out;
    /* Breakpad's processor drops a FUNC that overlaps another: the earlier
     * one gives way.  Starts are distinct now, so the size stays > 0. */
    for (size_t i = 0; i + 1 < m->nfuncs; i++) {
        sym_func *f = &m->funcs[i];
        if (sym_end(f->addr, f->size) > m->funcs[i + 1].addr) {
            f->size = m->funcs[i + 1].addr - f->addr;
            st->funcs_trimmed++;
        }
    }
    sym_range *buf = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < m->nfuncs; i++) {
        finalize_lines(&m->funcs[i], &st->lines_dropped);
        finalize_inlines(&m->funcs[i], &buf, &cap);
    }
    free(buf);
}

/* ---- publics ----------------------------------------------------------- */

static int cmp_public(const void *a, const void *b)
{
    const sym_public *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    if (x->param_size != y->param_size)
        return x->param_size < y->param_size ? -1 : 1;
    return (int)x->multiple - (int)y->multiple;
}

static void finalize_publics(sym_module *m, sym_finalize_stats *st)
{
    bool sorted = true;
    for (size_t i = 0; i < m->npublics; i++) {
        m->publics[i].name = clean(m, m->publics[i].name, SYM_NAME_OMITTED);
        if (i && cmp_public(&m->publics[i - 1], &m->publics[i]) > 0)
            sorted = false;
    }
    if (!sorted)
        sk_sort(m->publics, m->npublics, sizeof *m->publics, cmp_public);
    size_t out = 0, j = 0;
    for (size_t i = 0; i < m->npublics; i++) {
        sym_public p = m->publics[i];
        if (out && m->publics[out - 1].addr == p.addr) {
            m->publics[out - 1].multiple = true;
            st->publics_dropped++;
            continue;
        }
        m->publics[out++] = p;
    }
    m->npublics = out;
    /* FUNCs are sorted and disjoint: one merge walk finds the covering one. */
    out = 0;
    for (size_t i = 0; i < m->npublics; i++) {
        sym_public p = m->publics[i];
        while (j < m->nfuncs && sym_end(m->funcs[j].addr, m->funcs[j].size) <= p.addr)
            j++;
        if (j < m->nfuncs && m->funcs[j].addr <= p.addr) {
            st->publics_dropped++;
            continue;
        }
        m->publics[out++] = p;
    }
    m->npublics = out;
}

/* ---- FILE and INLINE_ORIGIN ids ----------------------------------------- */

#define UNMAPPED UINT32_MAX

typedef struct renumber {
    const char **old;
    size_t nold;
    uint32_t *map; /* old index -> new id */
    const char **fresh;
    size_t nfresh, fresh_cap;
    sym_strmap byname;
} renumber;

static void renumber_init(renumber *r, const char **old, size_t nold)
{
    memset(r, 0, sizeof *r);
    r->old = old;
    r->nold = nold;
    r->map = sk_xmalloc((nold ? nold : 1) * sizeof *r->map);
    for (size_t i = 0; i < nold; i++)
        r->map[i] = UNMAPPED;
    sym_strmap_init(&r->byname);
}

static uint32_t renumber_use(renumber *r, sym_module *m, uint32_t old)
{
    if (old < r->nold && r->map[old] != UNMAPPED)
        return r->map[old];
    /* A reference to nothing (a gap left by a file with missing records)
     * still needs a record to point at. */
    const char *s = old < r->nold ? clean(m, r->old[old], SYM_NAME_OMITTED) : SYM_NAME_OMITTED;
    bool added;
    uint32_t id = sym_strmap_intern(&r->byname, s, (uint32_t)r->nfresh, &added);
    if (added) {
        sk_grow((void **)&r->fresh, &r->fresh_cap, r->nfresh + 1, sizeof *r->fresh);
        r->fresh[r->nfresh++] = s;
    }
    if (old < r->nold)
        r->map[old] = id;
    return id;
}

static void renumber_done(renumber *r, const char ***arr, size_t *n, size_t *cap)
{
    free(*arr);
    *arr = r->fresh;
    *n = r->nfresh;
    *cap = r->fresh_cap;
    free(r->map);
    sym_strmap_free(&r->byname);
}

static void renumber_ids(sym_module *m)
{
    renumber files, origins;
    renumber_init(&files, m->files, m->nfiles);
    renumber_init(&origins, m->origins, m->norigins);
    for (size_t i = 0; i < m->nfuncs; i++) {
        sym_func *f = &m->funcs[i];
        for (size_t k = 0; k < f->nlines; k++)
            f->lines[k].file = renumber_use(&files, m, f->lines[k].file);
        for (size_t k = 0; k < f->ninlines; k++) {
            f->inlines[k].call_file = renumber_use(&files, m, f->inlines[k].call_file);
            f->inlines[k].origin = renumber_use(&origins, m, f->inlines[k].origin);
        }
    }
    renumber_done(&files, &m->files, &m->nfiles, &m->files_cap);
    renumber_done(&origins, &m->origins, &m->norigins, &m->origins_cap);
}

/* ---- CFI --------------------------------------------------------------- */

/* Walkers ignore an INIT row that does not give both the CFA and the
 * return address, so such a record is dead weight. */
static bool has_token(const char *rules, const char *tok)
{
    size_t tl = strlen(tok);
    const char *p = rules;
    while ((p = strstr(p, tok)) != NULL) {
        bool start = p == rules || p[-1] == ' ' || p[-1] == '\t';
        bool end = p[tl] == '\0' || p[tl] == ' ' || p[tl] == '\t';
        if (start && end)
            return true;
        p += tl;
    }
    return false;
}

/* Rule strings are the module's interned copies (sym_pool_rule): a big
 * module has millions of rows but a few hundred distinct strings, so what
 * clean() and the INIT check make of one is remembered by its address
 * instead of being scanned again for every row (strcspn and strstr over
 * 17 million rows were a twelfth of a whole-system run).  A string not
 * interned still gets the right answer, just without the reuse. */
#define RULE_MEMO_SLOTS 1024

typedef struct rule_memo {
    const char *in[RULE_MEMO_SLOTS];
    const char *out[RULE_MEMO_SLOTS];
    int8_t usable[RULE_MEMO_SLOTS]; /* -1: not yet known, else has .cfa: and .ra: */
} rule_memo;

static size_t memo_slot(const char *s)
{
    uintptr_t x = (uintptr_t)s;
    return (size_t)((x >> 3) ^ (x >> 13)) & (RULE_MEMO_SLOTS - 1);
}

static const char *memo_clean(sym_module *m, rule_memo *memo, const char *s, size_t *slot)
{
    size_t i = memo_slot(s);
    *slot = i;
    if (!s || memo->in[i] != s) {
        memo->in[i] = s;
        memo->out[i] = clean(m, s, NULL);
        memo->usable[i] = -1;
    }
    return memo->out[i];
}

typedef struct cfi_key {
    uint64_t addr;
    size_t idx;
} cfi_key;

static int cmp_cfi_key(const void *a, const void *b)
{
    const cfi_key *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void finalize_rows(sym_module *m, rule_memo *memo, sym_cfi *c)
{
    size_t n = 0, slot;
    bool sorted = true;
    for (size_t i = 0; i < c->nrows; i++) {
        sym_cfi_row r = c->rows[i];
        r.rules = memo_clean(m, memo, r.rules, &slot);
        if (!r.rules || !*r.rules)
            continue;
        if (n && c->rows[n - 1].addr > r.addr)
            sorted = false;
        c->rows[n++] = r;
    }
    c->nrows = n;
    if (sorted)
        return;
    /* Rows at one address apply in order: sort stably. */
    cfi_key *keys = sk_xmalloc(n * sizeof *keys);
    for (size_t i = 0; i < n; i++)
        keys[i] = (cfi_key){c->rows[i].addr, i};
    sk_sort(keys, n, sizeof *keys, cmp_cfi_key);
    sym_cfi_row *rows = sk_xmalloc(n * sizeof *rows);
    for (size_t i = 0; i < n; i++)
        rows[i] = c->rows[keys[i].idx];
    free(keys);
    free(c->rows);
    c->rows = rows;
    c->rows_cap = n;
}

static void finalize_cfi(sym_module *m, sym_finalize_stats *st)
{
    rule_memo *memo = sk_xmalloc(sizeof *memo);
    memset(memo->in, 0, sizeof memo->in);
    size_t n = 0, slot;
    bool sorted = true;
    for (size_t i = 0; i < m->ncfi; i++) {
        sym_cfi c = m->cfi[i];
        c.init_rules = memo_clean(m, memo, c.init_rules, &slot);
        if (c.init_rules && memo->usable[slot] < 0)
            memo->usable[slot] =
                has_token(c.init_rules, ".cfa:") && has_token(c.init_rules, ".ra:");
        if (!c.init_rules || !memo->usable[slot]) {
            st->cfi_dropped++;
            free(c.rows);
            continue;
        }
        if (n && m->cfi[n - 1].addr > c.addr)
            sorted = false;
        m->cfi[n++] = c;
    }
    if (!sorted) {
        cfi_key *keys = sk_xmalloc(n * sizeof *keys);
        for (size_t i = 0; i < n; i++)
            keys[i] = (cfi_key){m->cfi[i].addr, i};
        sk_sort(keys, n, sizeof *keys, cmp_cfi_key);
        sym_cfi *cs = sk_xmalloc(n * sizeof *cs);
        for (size_t i = 0; i < n; i++)
            cs[i] = m->cfi[keys[i].idx];
        free(keys);
        free(m->cfi);
        m->cfi = cs;
        m->cfi_cap = n;
    }
    /* .eh_frame and .debug_frame often describe the same code: the first
     * INIT added for an address wins. */
    size_t out = 0;
    for (size_t i = 0; i < n; i++) {
        if (out && m->cfi[out - 1].addr == m->cfi[i].addr) {
            st->cfi_dropped++;
            free(m->cfi[i].rows);
            continue;
        }
        m->cfi[out++] = m->cfi[i];
    }
    m->ncfi = out;
    for (size_t i = 0; i < m->ncfi; i++)
        finalize_rows(m, memo, &m->cfi[i]);
    free(memo);
}

void sym_module_finalize(sym_module *m, sym_finalize_stats *stats)
{
    sym_finalize_stats st = {0};
    clean_header(m);
    finalize_funcs(m, &st);
    finalize_publics(m, &st);
    renumber_ids(m);
    finalize_cfi(m, &st);
    if (stats)
        *stats = st;
}
