/*
 * cfi.c — STACK CFI from DWARF call frame information.
 *
 * Sources: the binary's .eh_frame (what the runtime unwinder uses, so it is
 * authoritative) and .debug_frame from the debug file (or the binary).  A
 * .debug_frame FDE is used only when no .eh_frame FDE overlaps its range, so
 * a function never gets two INITs.  ARM EHABI tables (exidx.c) fill in what
 * neither covers.
 *
 * cfi_frame.c reads the sections entry by entry and runs each FDE's CFA
 * program once, front to back; every row it closes comes here (on_row),
 * where the INIT gets every rule and each later row only the rules that
 * changed, as Breakpad writes them.  A row whose CFA or return address
 * cannot be written in postfix ends the current INIT; the next expressible
 * row starts a new one, so walkers never get a wrong rule, only a gap.
 *
 * Both sections are parsed once, up front; FDEs are then sorted by address
 * and are independent: with -j N, N threads (each with its own rule table)
 * take chunks of FDEs in turn, and chunk results are added to the module in
 * chunk order, so output does not depend on the thread count.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bytes.h"
#include "cfi_int.h"
#include "symfile.h"

#define CHUNK_FDES 64

/* ---- gathered records ---------------------------------------------------- */

void ds_cfi_out_init(ds_cfi_out *o)
{
    memset(o, 0, sizeof *o);
    sk_buf_init(&o->text);
}

void ds_cfi_out_free(ds_cfi_out *o)
{
    sk_buf_free(&o->text);
    free(o->entries);
    free(o->rows);
    memset(o, 0, sizeof *o);
}

/* Appends the n bytes at s and a NUL to the text; returns their offset. */
static size_t out_str(ds_cfi_out *o, const char *s, size_t n)
{
    size_t off = o->text.len;
    sk_buf_append(&o->text, s, n + 1);
    return off;
}

/* Ends the string the caller wrote at the end of the text from `at` on;
 * returns its length. */
static size_t out_end(ds_cfi_out *o, size_t at)
{
    char *p = sk_buf_room(&o->text, 0);
    *p = '\0';
    sk_buf_commit(&o->text, p + 1);
    return o->text.len - 1 - at;
}

static ds_cfi_entry *add_entry(ds_cfi_out *o, uint64_t addr, size_t init, size_t len)
{
    sk_grow((void **)&o->entries, &o->entries_cap, o->nentries + 1, sizeof *o->entries);
    ds_cfi_entry *e = &o->entries[o->nentries++];
    e->addr = addr;
    e->size = 0;
    e->init = init;
    e->init_len = len;
    e->first_row = o->nrows;
    e->nrows = 0;
    return e;
}

static void add_row(ds_cfi_out *o, uint64_t addr, size_t rules, size_t len)
{
    if (o->nrows == o->rows_cap)
        sk_grow((void **)&o->rows, &o->rows_cap, o->nrows + 1, sizeof *o->rows);
    if (rules > ROWREC_MAX_OFFSET)
        sk_xmalloc(SIZE_MAX); /* a terabyte of rule text: out of memory long before */
    o->rows[o->nrows++] = (ds_cfi_rowrec){addr, rules, len < ROWREC_LONG ? len : ROWREC_LONG};
    o->entries[o->nentries - 1].nrows++;
}

ds_cfi_entry *ds_cfi_out_entry(ds_cfi_out *o, uint64_t addr, const char *init_rules)
{
    size_t n = strlen(init_rules);
    return add_entry(o, addr, out_str(o, init_rules, n), n);
}

void ds_cfi_out_row(ds_cfi_out *o, uint64_t addr, const char *rules)
{
    size_t n = strlen(rules);
    add_row(o, addr, out_str(o, rules, n), n);
}

/* The rules were written at the end of o->text from `at` on: no copy. */
ds_cfi_entry *ds_cfi_out_entry_at(ds_cfi_out *o, uint64_t addr, size_t at)
{
    size_t n = out_end(o, at);
    return add_entry(o, addr, at, n);
}

void ds_cfi_out_row_at(ds_cfi_out *o, uint64_t addr, size_t at)
{
    size_t n = out_end(o, at);
    add_row(o, addr, at, n);
}

/* Rule lengths and row counts are known here, so the module neither
 * measures the strings nor grows the rows arrays a row at a time. */
void ds_cfi_out_flush(ds_cfi_out *o, sym_module *m)
{
    for (size_t i = 0; i < o->nentries; i++) {
        const ds_cfi_entry *e = &o->entries[i];
        if (!e->size)
            continue;
        sym_cfi *c = sym_module_add_cfi_n(m, e->addr, e->size, o->text.data + e->init, e->init_len, e->nrows);
        for (size_t r = e->first_row; r < e->first_row + e->nrows; r++) {
            const ds_cfi_rowrec *row = &o->rows[r];
            /* A row at or past the end of a truncated entry says nothing. */
            if (row->addr >= e->addr + e->size)
                continue;
            const char *rules = o->text.data + row->rules;
            sym_cfi_add_row_n(m, c, row->addr, rules, row->len < ROWREC_LONG ? row->len : strlen(rules));
        }
    }
}

/* ---- covered ranges ------------------------------------------------------ */

void ds_cfi_ranges_add(ds_cfi_ranges *rs, uint64_t addr, uint64_t size)
{
    sk_grow((void **)&rs->r, &rs->cap, rs->n + 1, sizeof *rs->r);
    rs->r[rs->n++] = (sym_range){addr, size};
}

static int cmp_range(const void *a, const void *b)
{
    const sym_range *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return x->size < y->size ? -1 : x->size > y->size;
}

/* Merges the sorted runs [a, a+na) and [b, b+nb) into out; stable. */
static void merge_runs(const char *a, size_t na, const char *b, size_t nb, char *out, size_t size,
                       int (*cmp)(const void *, const void *))
{
    const char *ae = a + na * size, *be = b + nb * size;
    while (a < ae && b < be) {
        const char **from = cmp(b, a) < 0 ? &b : &a;
        memcpy(out, *from, size);
        *from += size;
        out += size;
    }
    memcpy(out, a, (size_t)(ae - a));
    memcpy(out + (ae - a), b, (size_t)(be - b));
}

/* A stable sort that merges the array's ascending runs: .eh_frame lists
 * FDEs in link order, address-ordered runs (hot, cold and startup code
 * interleaved), so the FDE jobs and the ranges made from them take
 * log(runs) passes where qsort took log(n) (those sorts were 5% of a
 * whole-system run).  Arrays of mostly short runs go to sk_sort. */
static void sort_runs(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    char *p = base;
    size_t runs = 1;
    for (size_t i = 1; i < n; i++)
        runs += cmp(p + (i - 1) * size, p + i * size) > 0;
    if (runs == 1)
        return;
    if (runs > n / 4) {
        sk_sort(base, n, size, cmp);
        return;
    }
    char *tmp = sk_xmalloc(n * size), *from = p, *to = tmp;
    while (runs > 1) {
        /* One pass: each pair of adjacent runs into one. */
        size_t i = 0;
        runs = 0;
        while (i < n) {
            size_t a = i, b = a + 1;
            while (b < n && cmp(from + (b - 1) * size, from + b * size) <= 0)
                b++;
            size_t e = b < n ? b + 1 : n;
            while (e < n && cmp(from + (e - 1) * size, from + e * size) <= 0)
                e++;
            merge_runs(from + a * size, b - a, from + b * size, e - b, to + a * size, size, cmp);
            runs++;
            i = e;
        }
        char *t = from;
        from = to;
        to = t;
    }
    if (from != p)
        memcpy(p, from, n * size);
    free(tmp);
}

void ds_cfi_ranges_sort(ds_cfi_ranges *rs)
{
    sort_runs(rs->r, rs->n, sizeof *rs->r, cmp_range);
    /* Merge overlaps so that a binary search on start addresses works. */
    size_t out = 0;
    for (size_t i = 0; i < rs->n; i++) {
        if (out && rs->r[i].addr <= rs->r[out - 1].addr + rs->r[out - 1].size) {
            uint64_t end = rs->r[i].addr + rs->r[i].size;
            if (end > rs->r[out - 1].addr + rs->r[out - 1].size)
                rs->r[out - 1].size = end - rs->r[out - 1].addr;
            continue;
        }
        rs->r[out++] = rs->r[i];
    }
    rs->n = out;
}

bool ds_cfi_ranges_overlap(const ds_cfi_ranges *rs, uint64_t addr, uint64_t size)
{
    size_t lo = 0, hi = rs->n;
    /* First range starting at or after addr + size. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rs->r[mid].addr < addr + size)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    const sym_range *r = &rs->r[lo - 1];
    return r->addr + r->size > addr;
}

/* ---- one frame section --------------------------------------------------- */

typedef struct frame_src {
    ds_object *obj;
    ds_cfi_frames f;
    bool loaded;
    const ds_cfi_arch *arch; /* its own register numbering, NULL: the CPU's */
} frame_src;

/* DW_EH_PE_indirect: a pointer stored in the binary's own bytes. */
static bool read_bin_ptr(void *ctx, uint64_t addr, unsigned size, uint64_t *v)
{
    ds_object *bin = ctx;
    ds_section *sec = ds_object_section_at(bin, addr, size);
    if (!sec)
        return false;
    const uint8_t *data;
    size_t n;
    sk_error err = {0};
    if (ds_section_data(bin, sec, &data, &n, &err) || !data || addr - sec->addr + size > n)
        return false;
    ds_bytes r = {data, data + (addr - sec->addr), data + n, bin->little_endian};
    return ds_bytes_fixed(&r, size, v);
}

static uint64_t section_addr(ds_object *obj, const char *name)
{
    ds_section *s = ds_object_section(obj, name);
    return s ? s->addr : 0;
}

/* Reads and parses one frame section of obj; false when there is none. */
static bool src_load(frame_src *src, ds_object *obj, bool eh, ds_object *bin)
{
    memset(src, 0, sizeof *src);
    src->obj = obj;
    const char *name = eh ? ".eh_frame" : ".debug_frame";
    ds_section *sec = obj ? ds_object_section(obj, name) : NULL;
    if (!sec)
        return false;
    const uint8_t *data = NULL;
    size_t size = 0;
    sk_error err = {0};
    if (ds_section_data(obj, sec, &data, &size, &err)) {
        sk_log(SK_LOG_WARN, "%s: %s: cannot read call frame information: %s", obj->path, name, err.msg);
        return false;
    }
    if (!data || !size)
        return false;
    ds_cfi_frames *f = &src->f;
    f->path = obj->path;
    f->what = name;
    f->data = data;
    f->size = size;
    f->sec_addr = sec->addr;
    f->eh = eh;
    f->le = obj->little_endian;
    f->addr_size = obj->addr_size;
    if (eh) {
        /* The bases libgcc's unwinder uses: .text for textrel, the GOT
         * (DT_PLTGOT: .got.plt, else .got) for datarel on i386. */
        f->text_base = section_addr(bin, ".text");
        f->data_base = section_addr(bin, ".got.plt");
        if (!f->data_base)
            f->data_base = section_addr(bin, ".got");
        f->read_ptr = read_bin_ptr;
        f->read_ctx = bin;
        ds_section *hdr = ds_object_section(obj, ".eh_frame_hdr");
        const uint8_t *hdata = NULL;
        size_t hsize = 0;
        sk_error herr = {0};
        if (hdr && !ds_section_data(obj, hdr, &hdata, &hsize, &herr) && hdata) {
            f->hdr = hdata;
            f->hdr_size = hsize;
            f->hdr_addr = hdr->addr;
        }
    }
    ds_cfi_frames_parse(f);
    src->loaded = true;
    return true;
}

/* ---- rules --------------------------------------------------------------- */

enum { RULE_SAME = 0, RULE_UNDEF, RULE_SET };

/* How a SET rule is written. */
enum { FORM_CFA_REG, FORM_CFA_EXPR, FORM_OFFSET, FORM_VAL_OFFSET, FORM_REG, FORM_EXPR, FORM_VAL_EXPR };

/* One column's rule, normalised so that two rules compare equal exactly
 * when they print the same.  Text is made only for the rules a record
 * actually writes: most columns of most rows are unchanged. */
typedef struct col_state {
    uint8_t kind;
    uint8_t form;
    uint32_t reg;
    int64_t off;
    const uint8_t *block; /* expressions: bytes in the section */
    uint64_t len;
} col_state;

/* Register names are a few bytes: copied as one fixed-size move from a
 * padded table (no memcpy call), which writes up to NAME_PAD bytes. */
#define NAME_PAD 16

typedef struct worker {
    const ds_context *ctx;
    const ds_cfi_arch *arch, *cpu_arch;
    ds_cfi_machine m;
    bool *named; /* per column: has a register name */
    unsigned *visit; /* the columns a row looks at (visit_cols) */
    /* The names of arch's registers and their lengths, per column (NULL
     * and 0: unnamed), resolved once per architecture; name_max: longest.
     * pads: each name NUL-padded to NAME_PAD bytes, when all fit. */
    const ds_cfi_arch *names_arch;
    const char **names;
    size_t *name_lens, name_max;
    char (*pads)[NAME_PAD];
    col_state *prev, *cur;
    unsigned dirty; /* prev/cur columns below this may be other than SAME */
    col_state prev_cfa, cur_cfa;
    sk_buf scratch;
    unsigned addr_size;
} worker;

static const col_state same_state = {.kind = RULE_SAME};

static bool col_equal(const col_state *a, const col_state *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind != RULE_SET)
        return true;
    if (a->form != b->form || a->reg != b->reg || a->off != b->off || a->len != b->len)
        return false;
    return a->block == b->block || (a->block && b->block && memcmp(a->block, b->block, (size_t)a->len) == 0);
}

/* Appends an expression rule's postfix text.  false: not expressible. */
static bool expr_format(worker *w, const col_state *cs, sk_buf *b)
{
    bool cfa = cs->form == FORM_CFA_EXPR;
    size_t mark = b->len;
    if (!ds_cfi_expr_postfix(w->arch, cs->block, (size_t)cs->len, !cfa, w->addr_size, w->ctx->bin->little_endian,
                             b))
        return false;
    /* The CFA cannot be defined in terms of itself. */
    if (cfa && strstr(b->data + mark, ".cfa"))
        return false;
    if (cs->form == FORM_EXPR)
        sk_buf_puts(b, " ^");
    return true;
}

static bool is_expr(const col_state *cs)
{
    return cs->form == FORM_CFA_EXPR || cs->form == FORM_EXPR || cs->form == FORM_VAL_EXPR;
}

static char *fmt_str(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* " N +" (and " ^") at p: integers are most of what records say, and
 * printf was most of the time spent writing them. */
static char *fmt_offset(char *p, int64_t v, bool deref)
{
    *p++ = ' ';
    if (v < 0)
        *p++ = '-';
    p = sk_fmt_dec(p, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    p = fmt_str(p, " +", 2);
    return deref ? fmt_str(p, " ^", 2) : p;
}

/* Bytes a rule without an expression takes, beyond its register name:
 * " -9223372036854775808 + ^". */
#define OFFSET_TEXT_MAX 26

/* Register col's name at p. */
static char *fmt_name(const worker *w, char *p, unsigned col)
{
    if (!w->pads)
        return fmt_str(p, w->names[col], w->name_lens[col]);
    memcpy(p, w->pads[col], NAME_PAD);
    return p + w->name_lens[col];
}

/* A SET rule without an expression at p. */
static char *fmt_simple(const worker *w, const col_state *cs, char *p)
{
    switch (cs->form) {
    case FORM_CFA_REG: p = fmt_name(w, p, cs->reg); return fmt_offset(p, cs->off, false);
    case FORM_VAL_OFFSET:
    case FORM_OFFSET: p = fmt_str(p, ".cfa", 4); return fmt_offset(p, cs->off, cs->form == FORM_OFFSET);
    default: return fmt_name(w, p, cs->reg);
    }
}

/* Expressions are rare: whether one translates is decided once, here. */
static bool expr_ok(worker *w, const col_state *cs)
{
    sk_buf_reset(&w->scratch);
    return expr_format(w, cs, &w->scratch);
}

/* Whether register reg has a name: the table resolve_names made for the
 * FDE's architecture, every row's CFA asks (no architecture names a
 * register beyond its table). */
static bool reg_named(const worker *w, uint32_t reg)
{
    return reg < w->arch->table_size ? w->names[reg] != NULL : ds_cfi_reg_name(w->arch, reg) != NULL;
}

/* The CFA rule.  false: not expressible. */
static bool cfa_capture(worker *w, const ds_cfi_rule *r, col_state *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->kind = RULE_SET;
    if (r->kind == DS_CFA_REGOFF) {
        if (!reg_named(w, r->reg))
            return false;
        cs->form = FORM_CFA_REG;
        cs->reg = r->reg;
        cs->off = r->off;
        return true;
    }
    if (r->kind == DS_CFA_EXPR) {
        cs->form = FORM_CFA_EXPR;
        cs->block = r->expr;
        cs->len = r->len;
        return expr_ok(w, cs);
    }
    return false;
}

/* The rule for one register column. */
static void reg_capture(worker *w, unsigned col, const ds_cfi_rule *r, col_state *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->kind = RULE_SET;
    switch (r->kind) {
    case DS_RULE_SAME: cs->kind = RULE_SAME; return;
    case DS_RULE_OFFSET:
        cs->form = FORM_OFFSET;
        cs->off = r->off;
        return;
    case DS_RULE_VAL_OFFSET:
        cs->form = FORM_VAL_OFFSET;
        cs->off = r->off;
        return;
    case DS_RULE_REG:
        if (r->reg == col)
            cs->kind = RULE_SAME;
        else if (!reg_named(w, r->reg))
            cs->kind = RULE_UNDEF;
        else {
            cs->form = FORM_REG;
            cs->reg = r->reg;
        }
        return;
    case DS_RULE_EXPR:
    case DS_RULE_VAL_EXPR:
        cs->form = r->kind == DS_RULE_EXPR ? FORM_EXPR : FORM_VAL_EXPR;
        cs->block = r->expr;
        cs->len = r->len;
        if (!expr_ok(w, cs))
            cs->kind = RULE_UNDEF;
        return;
    default: cs->kind = RULE_UNDEF; return;
    }
}

/* Appends "label: rule" (label: ".cfa" or ".ra", at least 4 bytes with its
 * NUL, copied as 4; NULL: register col's name) to the line that
 * starts at offset `line` of b; a SAME column prints as register col, the
 * way Breakpad says a register got its caller's value back.  Written in
 * place: most rows are a few short rules.  Inlined at its three calls,
 * where the label tests fold away for the .cfa and .ra rules nearly every
 * row writes (gcc kept one out-of-line copy; -1.7% Ir on libLLVM-14). */
__attribute__((always_inline)) static inline void put_col(worker *w, sk_buf *b, size_t line, const char *label,
                                                          size_t label_len, unsigned col, const col_state *cs)
{
    /* " ", the label, ": ", then a name or ".cfa" and an offset; names
     * may write NAME_PAD bytes. */
    char *p = sk_buf_room(b, 3 + 2 * (w->name_max + NAME_PAD + 4) + OFFSET_TEXT_MAX);
    if (b->len > line)
        *p++ = ' ';
    if (label) {
        memcpy(p, label, 4);
        p += label_len;
    } else {
        p = fmt_name(w, p, col);
    }
    p = fmt_str(p, ": ", 2);
    if (cs->kind == RULE_SAME)
        p = fmt_name(w, p, col);
    else if (!is_expr(cs))
        p = fmt_simple(w, cs, p);
    sk_buf_commit(b, p);
    if (cs->kind != RULE_SAME && is_expr(cs))
        expr_format(w, cs, b);
}

/* ---- one FDE ------------------------------------------------------------- */

typedef struct fde_run {
    worker *w;
    ds_cfi_out *out;
    unsigned ra_col;
    const char *ra_name;
    uint64_t load;
    bool open; /* an INIT is open: out->entries[entry_index] */
    /* A row went unwritten: w->prev need not hold what the rules were
     * then, so the next row looks at every column.  Until then w->prev
     * holds the rule of every column (at the FDE's start, "same value"). */
    bool gap;
    size_t entry_index;
} fde_run;

static void close_at(fde_run *fr, uint64_t at)
{
    if (fr->open)
        fr->out->entries[fr->entry_index].size = at - fr->out->entries[fr->entry_index].addr;
    fr->open = false;
}

/* The columns this row looks at, into w->visit: every one below span
 * after a gap, else only those the CFA program wrote since the last row
 * (the others hold the rule w->prev has; m->hi <= span).  Made once, for
 * the capture and the writing: rescanning the bitmap for each next column
 * was a fifth of the time rows took. */
static unsigned visit_cols(worker *w, const ds_cfi_machine *m, bool all, unsigned span)
{
    unsigned n = 0;
    if (all) {
        for (unsigned c = 0; c < span; c++)
            w->visit[n++] = c;
        return n;
    }
    for (unsigned wd = 0; wd * 64 < m->hi; wd++) {
        for (uint64_t bits = m->changed[wd]; bits; bits &= bits - 1) {
            unsigned c = wd * 64 + (unsigned)__builtin_ctzll(bits);
            if (c >= m->hi)
                return n;
            w->visit[n++] = c;
        }
    }
    return n;
}

/* Whether the CFA program wrote column c since the last row. */
static bool col_changed(const ds_cfi_machine *m, unsigned c)
{
    return c < m->hi && (m->changed[c / 64] >> (c % 64) & 1);
}

/* Captures the visited columns into w->cur. */
static void capture_cols(worker *w, const ds_cfi_machine *m, unsigned ra_col, unsigned nvisit)
{
    for (unsigned i = 0; i < nvisit; i++) {
        unsigned c = w->visit[i];
        if ((c != ra_col && !w->named[c]) || c >= m->hi)
            w->cur[c] = same_state;
        else
            reg_capture(w, c, &m->rules[c], &w->cur[c]);
    }
}

/* One row of the FDE's table: an INIT with every rule when none is open,
 * else a row with the rules that changed. */
static void on_row(void *arg, uint64_t pc, const ds_cfi_machine *m)
{
    fde_run *fr = arg;
    worker *w = fr->w;
    unsigned ra_col = fr->ra_col, ncols = m->ncols;
    if (m->hi > w->dirty)
        w->dirty = m->hi;
    unsigned span = w->dirty;
    bool start = !fr->open, all = fr->gap;
    bool ok = cfa_capture(w, &m->cfa, &w->cur_cfa);
    unsigned nvisit = visit_cols(w, m, all, span);
    capture_cols(w, m, ra_col, nvisit);
    /* An unvisited return address column is as the last row had it
     * (ra_col < span: span covers the CIE's return address column). */
    const col_state *ra = NULL;
    if (ra_col < ncols)
        ra = all || col_changed(m, ra_col) ? &w->cur[ra_col] : &w->prev[ra_col];
    if (!ra || ra->kind == RULE_UNDEF || (ra->kind == RULE_SAME && !fr->ra_name))
        ok = false;

    uint64_t at = pc - fr->load;
    if (!ok) {
        close_at(fr, at);
        fr->gap = true;
        return;
    }
    /* The record is written straight into the output's text. */
    sk_buf *text = &fr->out->text;
    size_t line = text->len;
    if (start || !col_equal(&w->cur_cfa, &w->prev_cfa))
        put_col(w, text, line, ".cfa", 4, 0, &w->cur_cfa); /* never SAME */
    if (start || !col_equal(ra, &w->prev[ra_col]))
        put_col(w, text, line, ".ra", 3, ra_col, ra);
    /* An INIT writes every SET rule: those of unvisited columns are the
     * "same value" of columns nothing wrote, unless after a gap. */
    for (unsigned i = 0; i < nvisit; i++) {
        unsigned c = w->visit[i];
        const col_state *cs = &w->cur[c];
        if (c != ra_col && cs->kind != RULE_UNDEF /* "undefined" cannot be written */ &&
            (start ? cs->kind == RULE_SET
                   : !col_equal(cs, &w->prev[c]) &&
                         /* back to "same" from "undefined" needs no words */
                         (cs->kind == RULE_SET || w->prev[c].kind == RULE_SET)))
            put_col(w, text, line, NULL, 0, c, cs);
        w->prev[c] = *cs;
    }
    if (start) {
        ds_cfi_out_entry_at(fr->out, at, line);
        fr->entry_index = fr->out->nentries - 1;
        fr->open = true;
    } else if (text->len > line) {
        ds_cfi_out_row_at(fr->out, at, line);
    }
    w->prev_cfa = w->cur_cfa;
    fr->gap = false;
}

/* The register names of w->arch, for every column of its table (no
 * architecture names a register beyond it). */
static void resolve_names(worker *w)
{
    unsigned n = w->arch->table_size;
    free(w->names);
    free(w->name_lens);
    free(w->pads);
    w->names = sk_xcalloc(n, sizeof *w->names);
    w->name_lens = sk_xcalloc(n, sizeof *w->name_lens);
    w->name_max = 0;
    for (unsigned c = 0; c < n; c++) {
        w->names[c] = ds_cfi_reg_name(w->arch, c);
        w->name_lens[c] = w->names[c] ? strlen(w->names[c]) : 0;
        if (w->name_lens[c] > w->name_max)
            w->name_max = w->name_lens[c];
    }
    w->pads = NULL;
    if (w->name_max < NAME_PAD) {
        w->pads = sk_xcalloc(n, sizeof *w->pads);
        for (unsigned c = 0; c < n; c++)
            memcpy(w->pads[c], w->names[c] ? w->names[c] : "", w->name_lens[c]);
    }
    w->names_arch = w->arch;
}

static void process_fde(worker *w, const frame_src *src, const ds_cfi_fde *fde, ds_cfi_out *out)
{
    const ds_cfi_cie *cie = &src->f.cies[fde->cie];
    w->arch = src->arch ? src->arch : w->cpu_arch;
    unsigned ncols = w->arch->table_size;
    if (w->names_arch != w->arch)
        resolve_names(w);
    /* Columns the last FDE used back to "same value". */
    for (unsigned c = 0; c < w->dirty; c++)
        w->prev[c] = w->cur[c] = same_state;
    w->dirty = cie->ra_col < ncols ? (unsigned)cie->ra_col + 1 : 0;
    memset(&w->prev_cfa, 0, sizeof w->prev_cfa);
    w->prev_cfa.kind = RULE_UNDEF;

    fde_run fr = {.w = w, .out = out, .ra_col = cie->ra_col < ncols ? (unsigned)cie->ra_col : ncols,
                  .ra_name = cie->ra_col < ncols ? w->names[cie->ra_col] : NULL,
                  .load = w->ctx->load_addr};
    uint64_t stop = 0;
    const char *why = ds_cfi_run(&src->f, fde, &w->m, on_row, &fr, &stop);
    if (why) {
        sk_log(SK_LOG_WARN, "%s: %s: FDE at offset 0x%llx: bad instructions: %s; rest of the FDE skipped",
               src->f.path, src->f.what, (unsigned long long)fde->off, why);
        /* Rows before the bad instruction stand; nothing after it. */
        close_at(&fr, stop - fr.load);
    }
    close_at(&fr, fde->low + fde->len - fr.load);
}

/* ---- jobs and workers ---------------------------------------------------- */

typedef struct job {
    uint8_t src;
    uint32_t index;
    uint64_t low; /* sort key */
} job;

typedef struct shared {
    const ds_context *ctx;
    const ds_cfi_arch *arch;
    const frame_src *srcs;
    const job *jobs;
    size_t njobs, nchunks;
    ds_cfi_out *outs; /* one per chunk */
    atomic_size_t next_chunk;
} shared;

static void worker_init(worker *w, const shared *sh)
{
    memset(w, 0, sizeof *w);
    w->ctx = sh->ctx;
    w->arch = w->cpu_arch = sh->arch;
    unsigned n = sh->arch->table_size;
    ds_cfi_machine_init(&w->m, n);
    w->prev = sk_xcalloc(n, sizeof *w->prev);
    w->cur = sk_xcalloc(n, sizeof *w->cur);
    w->named = sk_xcalloc(n, sizeof *w->named);
    w->visit = sk_xcalloc(n, sizeof *w->visit);
    for (unsigned c = 0; c < n; c++)
        w->named[c] = ds_cfi_reg_name(sh->arch, c) != NULL;
    sk_buf_init(&w->scratch);
    w->addr_size = sh->ctx->bin->addr_size;
}

static void worker_free(worker *w)
{
    ds_cfi_machine_free(&w->m);
    free(w->named);
    free(w->visit);
    free(w->names);
    free(w->name_lens);
    free(w->pads);
    free(w->prev);
    free(w->cur);
    sk_buf_free(&w->scratch);
}

static void run_chunk(worker *w, const shared *sh, size_t chunk)
{
    ds_cfi_out *out = &sh->outs[chunk];
    size_t first = chunk * CHUNK_FDES;
    size_t last = first + CHUNK_FDES < sh->njobs ? first + CHUNK_FDES : sh->njobs;
    for (size_t i = first; i < last; i++) {
        const job *j = &sh->jobs[i];
        const frame_src *src = &sh->srcs[j->src];
        process_fde(w, src, &src->f.fdes[j->index], out);
    }
}

static void *worker_main(void *arg)
{
    shared *sh = arg;
    worker w;
    worker_init(&w, sh);
    for (;;) {
        size_t chunk = atomic_fetch_add(&sh->next_chunk, 1);
        if (chunk >= sh->nchunks)
            break;
        run_chunk(&w, sh, chunk);
    }
    worker_free(&w);
    return NULL;
}

/* ---- driver -------------------------------------------------------------- */

/* Executable address ranges of the binary: an FDE elsewhere describes code
 * the linker dropped (its .debug_frame address is then 0 or stale). */
static void exec_ranges(ds_object *bin, ds_cfi_ranges *rs)
{
    for (size_t i = 1; i < bin->nsections; i++) {
        const ds_section *sec = &bin->sections[i];
        if ((sec->flags & DS_SEC_ALLOC) && (sec->flags & DS_SEC_EXEC) && sec->size)
            ds_cfi_ranges_add(rs, sec->addr, sec->size);
    }
    ds_cfi_ranges_sort(rs);
}

static bool inside(const ds_cfi_ranges *rs, uint64_t addr, uint64_t size)
{
    size_t lo = 0, hi = rs->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rs->r[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return false;
    const sym_range *r = &rs->r[lo - 1];
    return addr >= r->addr && addr + size <= r->addr + r->size;
}

static int thread_count(const ds_options *opt, size_t nchunks)
{
    long n = opt && opt->jobs > 0 ? opt->jobs : sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if ((size_t)n > nchunks)
        n = (long)(nchunks ? nchunks : 1);
    return (int)n;
}

/* FDEs in address order (then section order), as stackwalkers and the
 * module expect them; the key makes the order total. */
static int cmp_job(const void *a, const void *b)
{
    const job *x = a, *y = b;
    if (x->low != y->low)
        return x->low < y->low ? -1 : 1;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Synthesized CFI for what `covered` leaves out; counted in the summary
 * and, for symverify lint, in an INFO CFI_SYNTHESIZED line. */
static void synth(ds_context *ctx, const ds_cfi_ranges *covered, bool everywhere)
{
    ds_cfi_out so;
    ds_cfi_out_init(&so);
    size_t nfn = 0;
    ds_collect_synth_cfi(ctx, covered, everywhere, &so, &nfn);
    ctx->summary->synth_cfi_functions += nfn;
    ctx->summary->synth_cfi_inits += so.nentries;
    if (so.nentries) {
        char line[48];
        snprintf(line, sizeof line, "CFI_SYNTHESIZED %zu", so.nentries);
        sym_module_add_info(ctx->m, line);
    }
    ds_cfi_out_flush(&so, ctx->m);
    ds_cfi_out_free(&so);
}

int ds_collect_cfi(ds_context *ctx, sk_error *err)
{
    (void)err;
    if (ctx->opt->synth_cfi_everywhere) {
        ds_cfi_ranges none = {0};
        synth(ctx, &none, true);
        return SK_OK;
    }
    const ds_cfi_arch *arch = ds_cfi_arch_for(ctx->bin->cpu);
    if (!arch) {
        sk_log(SK_LOG_WARN, "%s: no register names for %s; no STACK CFI written", ctx->bin->path,
               ctx->bin->machine_desc);
        return SK_OK;
    }
    ds_object *df_obj = NULL;
    if (ctx->dbg && ds_object_section(ctx->dbg, ".debug_frame"))
        df_obj = ctx->dbg;
    else if (ds_object_section(ctx->bin, ".debug_frame"))
        df_obj = ctx->bin;
    frame_src srcs[2];
    src_load(&srcs[0], ctx->bin, true, ctx->bin);
    src_load(&srcs[1], df_obj, false, ctx->bin);
    if (ctx->bin->format == DS_FORMAT_MACHO && ctx->bin->cpu == DS_CPU_X86)
        srcs[0].arch = ds_cfi_arch_darwin_x86_eh();

    ds_cfi_ranges exec = {0}, covered = {0};
    /* A Mach-O object's sections sit at their final offsets from 0, but
     * its __eh_frame pointers wait for relocations we do not apply: keep
     * only FDEs that land in its code. */
    bool filter = ctx->bin->kind != DS_FILE_RELOC || ctx->bin->format == DS_FORMAT_MACHO;
    if (filter)
        exec_ranges(ctx->bin, &exec);

    /* The job list: every usable .eh_frame FDE, then the .debug_frame FDEs
     * for code .eh_frame does not describe. */
    job *jobs = NULL;
    size_t njobs = 0, jobs_cap = 0;
    for (int s = 0; s < 2; s++) {
        if (!srcs[s].loaded)
            continue;
        const ds_cfi_frames *f = &srcs[s].f;
        ds_cfi_ranges mine = {0};
        for (size_t i = 0; i < f->nfdes; i++) {
            uint64_t low = f->fdes[i].low, len = f->fdes[i].len;
            if (len == 0 || low + len < low || low < ctx->load_addr)
                continue;
            if (filter && !inside(&exec, low, len))
                continue;
            if (s == 1 && ds_cfi_ranges_overlap(&covered, low, len))
                continue;
            ds_cfi_ranges_add(&mine, low, len);
            sk_grow((void **)&jobs, &jobs_cap, njobs + 1, sizeof *jobs);
            jobs[njobs++] = (job){(uint8_t)s, (uint32_t)i, low};
        }
        for (size_t i = 0; i < mine.n; i++)
            ds_cfi_ranges_add(&covered, mine.r[i].addr, mine.r[i].size);
        free(mine.r);
        ds_cfi_ranges_sort(&covered);
    }
    size_t from_debug = 0;
    for (size_t i = 0; i < njobs; i++)
        from_debug += jobs[i].src == 1;
    sort_runs(jobs, njobs, sizeof *jobs, cmp_job);

    shared sh = {.ctx = ctx, .arch = arch, .srcs = srcs, .jobs = jobs, .njobs = njobs};
    sh.nchunks = (njobs + CHUNK_FDES - 1) / CHUNK_FDES;
    sh.outs = sk_xcalloc(sh.nchunks ? sh.nchunks : 1, sizeof *sh.outs);
    for (size_t i = 0; i < sh.nchunks; i++)
        ds_cfi_out_init(&sh.outs[i]);
    atomic_init(&sh.next_chunk, 0);
    int nthreads = thread_count(ctx->opt, sh.nchunks);
    if (nthreads <= 1) {
        worker_main(&sh);
    } else {
        pthread_t *tids = sk_xcalloc((size_t)nthreads, sizeof *tids);
        int started = 0;
        for (int t = 0; t < nthreads; t++) {
            if (pthread_create(&tids[t], NULL, worker_main, &sh) != 0)
                break;
            started++;
        }
        if (started == 0)
            worker_main(&sh);
        for (int t = 0; t < started; t++)
            pthread_join(tids[t], NULL);
        free(tids);
    }
    size_t ninit = 0;
    for (size_t i = 0; i < sh.nchunks; i++) {
        ninit += sh.outs[i].nentries;
        ds_cfi_out_flush(&sh.outs[i], ctx->m);
        ds_cfi_out_free(&sh.outs[i]);
    }
    sk_log(SK_LOG_INFO, "%s: STACK CFI: %zu FDEs from .eh_frame, %zu from .debug_frame on %d thread(s), %zu INIT records",
           ctx->bin->path, njobs - from_debug, from_debug, nthreads, ninit);
    free(sh.outs);
    free(jobs);
    for (int s = 0; s < 2; s++)
        ds_cfi_frames_free(&srcs[s].f);

    if (ctx->bin->format == DS_FORMAT_MACHO) {
        ds_cfi_out cu;
        ds_cfi_out_init(&cu);
        int rc = ds_collect_compact_unwind(ctx, &covered, &cu, err);
        if (rc) {
            ds_cfi_out_free(&cu);
            free(covered.r);
            free(exec.r);
            return rc;
        }
        for (size_t i = 0; i < cu.nentries; i++)
            ds_cfi_ranges_add(&covered, cu.entries[i].addr + ctx->load_addr, cu.entries[i].size);
        ds_cfi_ranges_sort(&covered);
        ds_cfi_out_flush(&cu, ctx->m);
        ds_cfi_out_free(&cu);
    }
    if (ctx->bin->cpu == DS_CPU_ARM) {
        ds_cfi_out ex;
        ds_cfi_out_init(&ex);
        ds_collect_exidx(ctx, &covered, &ex);
        sk_log(SK_LOG_INFO, "%s: STACK CFI: %zu functions from .ARM.exidx", ctx->bin->path, ex.nentries);
        for (size_t i = 0; i < ex.nentries; i++)
            ds_cfi_ranges_add(&covered, ex.entries[i].addr + ctx->load_addr, ex.entries[i].size);
        ds_cfi_ranges_sort(&covered);
        ds_cfi_out_flush(&ex, ctx->m);
        ds_cfi_out_free(&ex);
    }
    if (ctx->opt->synth_cfi)
        synth(ctx, &covered, false);
    free(covered.r);
    free(exec.r);
    return SK_OK;
}
