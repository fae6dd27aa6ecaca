/*
 * cfi.c — STACK CFI from DWARF call frame information.
 *
 * Sources: the binary's .eh_frame (what the runtime unwinder uses, so it is
 * authoritative) and .debug_frame from the debug file (or the binary).  A
 * .debug_frame FDE is used only when no .eh_frame FDE overlaps its range, so
 * a function never gets two INITs.  ARM EHABI tables (exidx.c) fill in what
 * neither covers.
 *
 * libdwarf parses CIEs/FDEs and runs the CFA instructions: for each row we
 * ask it for the whole register table (dwarf_get_fde_info_for_all_regs3)
 * and for the next row's address (dwarf_get_fde_info_for_cfa_reg3_b), then
 * write the INIT with every rule and each later row with only the rules
 * that changed, as Breakpad does.  A row whose CFA or return address cannot
 * be written in postfix ends the current INIT; the next expressible row
 * starts a new one, so walkers never get a wrong rule, only a gap.
 *
 * FDEs are independent: with -j N, N threads each open their own Dwarf_Debug
 * (libdwarf handles are not shareable) and take chunks of FDEs in turn;
 * chunk results are added to the module in chunk order, so output does not
 * depend on the thread count.
 */
#include <dwarf.h>
#include <libdwarf.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfi_int.h"
#include "dwarf_access.h"

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

static size_t out_str(ds_cfi_out *o, const char *s)
{
    size_t off = o->text.len;
    sk_buf_append(&o->text, s, strlen(s) + 1);
    return off;
}

ds_cfi_entry *ds_cfi_out_entry(ds_cfi_out *o, uint64_t addr, const char *init_rules)
{
    sk_grow((void **)&o->entries, &o->entries_cap, o->nentries + 1, sizeof *o->entries);
    ds_cfi_entry *e = &o->entries[o->nentries++];
    e->addr = addr;
    e->size = 0;
    e->init = out_str(o, init_rules);
    e->first_row = o->nrows;
    e->nrows = 0;
    return e;
}

void ds_cfi_out_row(ds_cfi_out *o, uint64_t addr, const char *rules)
{
    sk_grow((void **)&o->rows, &o->rows_cap, o->nrows + 1, sizeof *o->rows);
    o->rows[o->nrows++] = (ds_cfi_rowrec){addr, out_str(o, rules)};
    o->entries[o->nentries - 1].nrows++;
}

void ds_cfi_out_flush(ds_cfi_out *o, sym_module *m)
{
    for (size_t i = 0; i < o->nentries; i++) {
        const ds_cfi_entry *e = &o->entries[i];
        if (!e->size)
            continue;
        sym_cfi *c = sym_module_add_cfi(m, e->addr, e->size, o->text.data + e->init);
        for (size_t r = e->first_row; r < e->first_row + e->nrows; r++) {
            /* A row at or past the end of a truncated entry says nothing. */
            if (o->rows[r].addr < e->addr + e->size)
                sym_cfi_add_row(m, c, o->rows[r].addr, o->text.data + o->rows[r].rules);
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

void ds_cfi_ranges_sort(ds_cfi_ranges *rs)
{
    if (rs->n > 1)
        sk_sort(rs->r, rs->n, sizeof *rs->r, cmp_range);
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
    bool eh;
    const char *what; /* ".eh_frame" or ".debug_frame" */
} frame_src;

typedef struct src_handle {
    ds_dwarf *d;
    Dwarf_Cie *cies;
    Dwarf_Signed ncies;
    Dwarf_Fde *fdes;
    Dwarf_Signed nfdes;
    char msg[256]; /* why the list could not be read */
} src_handle;

static void src_release_list(src_handle *h)
{
    if (h->fdes || h->cies)
        dwarf_fde_cie_list_dealloc(h->d->dbg, h->cies, h->ncies, h->fdes, h->nfdes);
    h->cies = NULL;
    h->fdes = NULL;
    h->ncies = h->nfdes = 0;
}

static bool src_read_list(const frame_src *src, src_handle *h, bool warn)
{
    Dwarf_Error e = NULL;
    int res = src->eh ? dwarf_get_fde_list_eh(h->d->dbg, &h->cies, &h->ncies, &h->fdes, &h->nfdes, &e)
                      : dwarf_get_fde_list(h->d->dbg, &h->cies, &h->ncies, &h->fdes, &h->nfdes, &e);
    if (res == DW_DLV_OK)
        return true;
    h->cies = NULL;
    h->fdes = NULL;
    h->ncies = h->nfdes = 0;
    if (res == DW_DLV_ERROR) {
        ds_dwarf_errmsg(h->d, e, h->msg, sizeof h->msg);
        if (warn)
            sk_log(SK_LOG_WARN, "%s: %s: cannot read call frame information: %s", src->obj->path,
                   src->what, h->msg);
    }
    return false;
}

static void src_close(src_handle *h)
{
    if (!h->d)
        return;
    src_release_list(h);
    ds_dwarf_close(h->d);
    h->d = NULL;
}

static bool src_open(const frame_src *src, const ds_cfi_arch *arch, src_handle *h, bool warn)
{
    memset(h, 0, sizeof *h);
    sk_error err = {0};
    if (ds_dwarf_open(src->obj, &h->d, &err)) {
        snprintf(h->msg, sizeof h->msg, "%.200s", err.msg);
        if (warn && err.code != SK_ENOTFOUND)
            sk_log(SK_LOG_WARN, "%s", err.msg);
        return false;
    }
    Dwarf_Debug dbg = h->d->dbg;
    /* The rule table must cover every column the architecture's CFI uses;
     * "same value" as the initial rule matches what compilers assume for
     * registers a CIE does not mention. */
    dwarf_set_frame_rule_table_size(dbg, (Dwarf_Half)arch->table_size);
    dwarf_set_frame_rule_initial_value(dbg, DW_FRAME_SAME_VAL);
    dwarf_set_frame_cfa_value(dbg, DW_FRAME_CFA_COL3);
    dwarf_set_frame_same_value(dbg, DW_FRAME_SAME_VAL);
    dwarf_set_frame_undefined_value(dbg, DW_FRAME_UNDEFINED_VAL);
    if (!src_read_list(src, h, warn)) {
        src_close(h);
        return false;
    }
    return true;
}

/* ---- rules --------------------------------------------------------------- */

enum { RULE_SAME = 0, RULE_UNDEF, RULE_SET };

/* One column's rule as libdwarf states it, normalised so that two rules
 * compare equal exactly when they print the same.  Text is made only for
 * the rules a record actually writes: most columns of most rows are
 * unchanged, and formatting them all was most of the cost. */
typedef struct col_state {
    uint8_t kind;
    uint8_t vt;       /* DW_EXPR_* */
    bool deref;       /* DW_EXPR_OFFSET: saved at CFA+off, else in register reg */
    uint16_t reg;
    int64_t off;
    const uint8_t *block; /* expressions: bytes in the section, off = length */
} col_state;

typedef struct worker {
    const ds_context *ctx;
    const ds_cfi_arch *arch;
    const frame_src *srcs;
    src_handle handles[2];
    bool opened[2], open_failed[2];
    Dwarf_Regtable3 table;
    bool *named; /* per column: has a register name */
    col_state *prev, *cur;
    col_state prev_cfa, cur_cfa;
    sk_buf scratch, line;
    unsigned addr_size;
} worker;

static const col_state same_state = {.kind = RULE_SAME};

static bool col_equal(const col_state *a, const col_state *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind != RULE_SET)
        return true;
    if (a->vt != b->vt || a->deref != b->deref || a->reg != b->reg || a->off != b->off)
        return false;
    return a->block == b->block || (a->block && b->block && memcmp(a->block, b->block, (size_t)a->off) == 0);
}

static bool is_expr(uint8_t vt)
{
    return vt == DW_EXPR_EXPRESSION || vt == DW_EXPR_VAL_EXPRESSION;
}

/* Appends a SET rule's postfix text.  false: not expressible. */
static bool col_format(worker *w, const col_state *cs, bool cfa, sk_buf *b)
{
    if (is_expr(cs->vt)) {
        size_t mark = b->len;
        if (!ds_cfi_expr_postfix(w->arch, cs->block, (size_t)cs->off, !cfa, w->addr_size,
                                 w->ctx->bin->little_endian, b))
            return false;
        /* The CFA cannot be defined in terms of itself. */
        if (cfa && strstr(b->data + mark, ".cfa"))
            return false;
        if (!cfa && cs->vt == DW_EXPR_EXPRESSION)
            sk_buf_puts(b, " ^");
        return true;
    }
    if (cfa) {
        sk_buf_puts(b, ds_cfi_reg_name(w->arch, cs->reg));
        sk_buf_printf(b, " %lld +", (long long)cs->off);
    } else if (cs->vt == DW_EXPR_VAL_OFFSET) {
        sk_buf_printf(b, ".cfa %lld +", (long long)cs->off);
    } else if (cs->deref) {
        sk_buf_printf(b, ".cfa %lld + ^", (long long)cs->off);
    } else {
        sk_buf_puts(b, ds_cfi_reg_name(w->arch, cs->reg));
    }
    return true;
}

/* Expressions are rare: whether one translates is decided once, here. */
static bool expr_ok(worker *w, const col_state *cs, bool cfa)
{
    sk_buf_reset(&w->scratch);
    return col_format(w, cs, cfa, &w->scratch);
}

/* The CFA rule.  false: not expressible. */
static bool cfa_capture(worker *w, const Dwarf_Regtable_Entry3 *r, col_state *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->kind = RULE_SET;
    if (r->dw_value_type == DW_EXPR_OFFSET || r->dw_value_type == DW_EXPR_VAL_OFFSET) {
        if (!ds_cfi_reg_name(w->arch, r->dw_regnum))
            return false;
        cs->vt = DW_EXPR_OFFSET;
        cs->reg = r->dw_regnum;
        cs->off = r->dw_offset_relevant ? (Dwarf_Signed)r->dw_offset_or_block_len : 0;
        return true;
    }
    if (is_expr(r->dw_value_type) && r->dw_block_ptr) {
        cs->vt = r->dw_value_type;
        cs->block = r->dw_block_ptr;
        cs->off = (int64_t)r->dw_offset_or_block_len;
        return expr_ok(w, cs, true);
    }
    return false;
}

/* The rule for one register column. */
static void reg_capture(worker *w, unsigned col, const Dwarf_Regtable_Entry3 *r, col_state *cs)
{
    memset(cs, 0, sizeof *cs);
    cs->kind = RULE_SET;
    cs->vt = r->dw_value_type;
    switch (r->dw_value_type) {
    case DW_EXPR_OFFSET:
        if (r->dw_offset_relevant) {
            cs->deref = true;
            cs->off = (Dwarf_Signed)r->dw_offset_or_block_len;
            return;
        }
        if (r->dw_regnum == DW_FRAME_SAME_VAL || r->dw_regnum == col)
            cs->kind = RULE_SAME;
        else if (r->dw_regnum == DW_FRAME_UNDEFINED_VAL || !ds_cfi_reg_name(w->arch, r->dw_regnum))
            cs->kind = RULE_UNDEF;
        else
            cs->reg = r->dw_regnum;
        return;
    case DW_EXPR_VAL_OFFSET:
        cs->off = (Dwarf_Signed)r->dw_offset_or_block_len;
        return;
    case DW_EXPR_EXPRESSION:
    case DW_EXPR_VAL_EXPRESSION:
        cs->block = r->dw_block_ptr;
        cs->off = (int64_t)r->dw_offset_or_block_len;
        if (!cs->block || !expr_ok(w, cs, false))
            cs->kind = RULE_UNDEF;
        return;
    default:
        cs->kind = RULE_UNDEF;
        return;
    }
}

/* Appends "name: rule"; a SAME column prints as its own register, the way
 * Breakpad says a register got its caller's value back. */
static void put_col(worker *w, sk_buf *b, const char *name, const col_state *cs, bool cfa,
                    const char *same_text)
{
    if (b->len)
        sk_buf_putc(b, ' ');
    sk_buf_puts(b, name);
    sk_buf_puts(b, ": ");
    if (cs->kind == RULE_SAME)
        sk_buf_puts(b, same_text);
    else
        col_format(w, cs, cfa, b);
}

/* ---- one FDE ------------------------------------------------------------- */

static void fde_warn(const frame_src *src, Dwarf_Off off, ds_dwarf *d, Dwarf_Error e,
                     const char *what)
{
    char buf[512];
    ds_dwarf_errmsg(d, e, buf, sizeof buf);
    sk_log(SK_LOG_WARN, "%s: %s: FDE at offset 0x%llx: %s: %s; rest of the FDE skipped", src->obj->path,
           src->what, (unsigned long long)off, what, buf);
}

static void process_fde(worker *w, const frame_src *src, src_handle *h, Dwarf_Fde fde, ds_cfi_out *out)
{
    Dwarf_Error e = NULL;
    Dwarf_Addr low = 0;
    Dwarf_Unsigned len = 0, fde_bytes_len = 0;
    Dwarf_Ptr fde_bytes = NULL;
    Dwarf_Off cie_off = 0, fde_off = 0;
    Dwarf_Signed cie_index = 0;
    if (dwarf_get_fde_range(fde, &low, &len, &fde_bytes, &fde_bytes_len, &cie_off, &cie_index, &fde_off,
                            &e) != DW_DLV_OK) {
        fde_warn(src, 0, h->d, e, "unreadable range");
        return;
    }
    Dwarf_Cie cie = NULL;
    Dwarf_Unsigned cie_bytes = 0, code_align = 0, init_len = 0;
    Dwarf_Small version = 0;
    char *augmenter = NULL;
    Dwarf_Signed data_align = 0;
    Dwarf_Half ra_col = 0, offset_size = 0;
    Dwarf_Ptr init_instr = NULL;
    if (dwarf_get_cie_of_fde(fde, &cie, &e) != DW_DLV_OK ||
        dwarf_get_cie_info_b(cie, &cie_bytes, &version, &augmenter, &code_align, &data_align, &ra_col,
                             &init_instr, &init_len, &offset_size, &e) != DW_DLV_OK) {
        fde_warn(src, fde_off, h->d, e, "unreadable CIE");
        return;
    }
    const char *ra_name = ds_cfi_reg_name(w->arch, ra_col);
    unsigned ncols = w->arch->table_size;
    for (unsigned c = 0; c < ncols; c++)
        w->prev[c] = same_state;
    memset(&w->prev_cfa, 0, sizeof w->prev_cfa);
    w->prev_cfa.kind = RULE_UNDEF;

    uint64_t load = w->ctx->load_addr;
    uint64_t end = low + len;
    bool open = false; /* an INIT is open: out->entries[entry_index] */
    size_t entry_index = 0;
    Dwarf_Addr pc = low;
    for (;;) {
        Dwarf_Small vt = 0;
        Dwarf_Signed offrel = 0, reg = 0, off = 0;
        Dwarf_Ptr block = NULL;
        Dwarf_Addr row_pc = 0, next_pc = 0;
        Dwarf_Bool more = 0;
        int res = dwarf_get_fde_info_for_cfa_reg3_b(fde, pc, &vt, &offrel, &reg, &off, &block, &row_pc,
                                                    &more, &next_pc, &e);
        if (res == DW_DLV_OK) {
            w->table.rt3_reg_table_size = (Dwarf_Half)ncols;
            res = dwarf_get_fde_info_for_all_regs3(fde, pc, &w->table, &row_pc, &e);
        }
        if (res != DW_DLV_OK) {
            if (res == DW_DLV_ERROR)
                fde_warn(src, fde_off, h->d, e, "bad instructions");
            /* Rows before the bad instruction stand; nothing after it. */
            if (open)
                out->entries[entry_index].size = pc - load - out->entries[entry_index].addr;
            open = false;
            break;
        }
        /* This row's rules. */
        bool ok = cfa_capture(w, &w->table.rt3_cfa_rule, &w->cur_cfa);
        for (unsigned c = 0; c < ncols; c++) {
            if (c != ra_col && !w->named[c])
                w->cur[c] = same_state;
            else
                reg_capture(w, c, &w->table.rt3_rules[c], &w->cur[c]);
        }
        if (ra_col >= ncols || w->cur[ra_col].kind == RULE_UNDEF ||
            (w->cur[ra_col].kind == RULE_SAME && !ra_name))
            ok = false;

        uint64_t at = pc - load;
        if (!ok) {
            if (open)
                out->entries[entry_index].size = at - out->entries[entry_index].addr;
            open = false;
        } else {
            sk_buf *line = &w->line;
            sk_buf_reset(line);
            bool start = !open;
            if (start || !col_equal(&w->cur_cfa, &w->prev_cfa))
                put_col(w, line, ".cfa", &w->cur_cfa, true, NULL);
            if (start || !col_equal(&w->cur[ra_col], &w->prev[ra_col]))
                put_col(w, line, ".ra", &w->cur[ra_col], false, ra_name);
            for (unsigned c = 0; c < ncols; c++) {
                const col_state *cs = &w->cur[c];
                if (c == ra_col || cs->kind == RULE_UNDEF)
                    continue; /* "undefined" cannot be written */
                if (start ? cs->kind == RULE_SET
                          : !col_equal(cs, &w->prev[c]) &&
                                /* back to "same" from "undefined" needs no words */
                                (cs->kind == RULE_SET || w->prev[c].kind == RULE_SET))
                    put_col(w, line, ds_cfi_reg_name(w->arch, c), cs, false, ds_cfi_reg_name(w->arch, c));
            }
            if (start) {
                ds_cfi_out_entry(out, at, line->data);
                entry_index = out->nentries - 1;
                open = true;
            } else if (line->len) {
                ds_cfi_out_row(out, at, line->data);
            }
            w->prev_cfa = w->cur_cfa;
            col_state *t = w->prev;
            w->prev = w->cur;
            w->cur = t;
        }
        if (!more || next_pc <= pc || next_pc >= end)
            break;
        pc = next_pc;
    }
    if (open)
        out->entries[entry_index].size = end - load - out->entries[entry_index].addr;
}

/* ---- jobs and workers ---------------------------------------------------- */

typedef struct job {
    uint8_t src;
    Dwarf_Signed index;
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
    w->arch = sh->arch;
    w->srcs = sh->srcs;
    unsigned n = sh->arch->table_size;
    w->table.rt3_rules = sk_xcalloc(n, sizeof *w->table.rt3_rules);
    w->table.rt3_reg_table_size = (Dwarf_Half)n;
    w->prev = sk_xcalloc(n, sizeof *w->prev);
    w->cur = sk_xcalloc(n, sizeof *w->cur);
    w->named = sk_xcalloc(n, sizeof *w->named);
    for (unsigned c = 0; c < n; c++)
        w->named[c] = ds_cfi_reg_name(sh->arch, c) != NULL;
    sk_buf_init(&w->scratch);
    sk_buf_init(&w->line);
    w->addr_size = sh->ctx->bin->elf_class == ELFCLASS64 ? 8 : 4;
}

static void worker_free(worker *w)
{
    for (int i = 0; i < 2; i++)
        src_close(&w->handles[i]);
    free(w->named);
    free(w->prev);
    free(w->cur);
    free(w->table.rt3_rules);
    sk_buf_free(&w->scratch);
    sk_buf_free(&w->line);
}

static src_handle *worker_source(worker *w, int s)
{
    if (w->open_failed[s])
        return NULL;
    if (!w->opened[s]) {
        if (!src_open(&w->srcs[s], w->arch, &w->handles[s], false)) {
            w->open_failed[s] = true;
            return NULL;
        }
        w->opened[s] = true;
    }
    return &w->handles[s];
}

static void run_chunk(worker *w, const shared *sh, size_t chunk)
{
    ds_cfi_out *out = &sh->outs[chunk];
    size_t first = chunk * CHUNK_FDES;
    size_t last = first + CHUNK_FDES < sh->njobs ? first + CHUNK_FDES : sh->njobs;
    for (size_t i = first; i < last; i++) {
        const job *j = &sh->jobs[i];
        src_handle *h = worker_source(w, j->src);
        if (!h || j->index >= h->nfdes)
            continue;
        process_fde(w, &sh->srcs[j->src], h, h->fdes[j->index], out);
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

/* ---- .eh_frame libdwarf refuses ------------------------------------------ */

/* An in-memory object holding .eh_frame rewritten as .debug_frame
 * (cfi_ehconv.c), for libdwarf to read like any other object. */
typedef struct synth_obj {
    ds_object obj;
    ds_section secs[2];
    sk_buf buf;
} synth_obj;

static void synth_free(synth_obj *s)
{
    if (!s)
        return;
    for (int i = 0; i < 2; i++)
        pthread_mutex_destroy(&s->secs[i].lock);
    sk_buf_free(&s->buf);
    free(s);
}

static synth_obj *synth_rewrite(ds_object *bin, bool eh_frame)
{
    ds_section *eh = ds_object_section(bin, eh_frame ? ".eh_frame" : ".debug_frame");
    const uint8_t *data;
    size_t size;
    sk_error err = {0};
    if (!eh || ds_section_data(bin, eh, &data, &size, &err) || !data)
        return NULL;
    synth_obj *s = sk_xcalloc(1, sizeof *s);
    sk_buf_init(&s->buf);
    for (int i = 0; i < 2; i++)
        pthread_mutex_init(&s->secs[i].lock, NULL);
    if (ds_cfi_rewrite_frames(bin, data, size, eh->shdr.sh_addr, eh_frame, &s->buf) <= 0) {
        synth_free(s);
        return NULL;
    }
    s->obj.path = bin->path;
    s->obj.elf_class = bin->elf_class;
    s->obj.little_endian = bin->little_endian;
    s->obj.machine = bin->machine;
    s->obj.type = bin->type;
    s->obj.arch = bin->arch;
    s->obj.load_addr = bin->load_addr;
    s->obj.has_load_addr = bin->has_load_addr;
    s->obj.sections = s->secs;
    s->obj.nsections = 2;
    s->secs[0].name = s->secs[0].dwarf_name = "";
    s->secs[1].name = s->secs[1].dwarf_name = ".debug_frame";
    s->secs[1].shdr.sh_type = SHT_PROGBITS;
    s->secs[1].shdr.sh_size = s->buf.len;
    s->secs[1].raw = (const uint8_t *)s->buf.data;
    s->secs[1].raw_size = s->buf.len;
    return s;
}

/* ---- driver -------------------------------------------------------------- */

/* Executable address ranges of the binary: an FDE elsewhere describes code
 * the linker dropped (its .debug_frame address is then 0 or stale). */
static void exec_ranges(ds_object *bin, ds_cfi_ranges *rs)
{
    for (size_t i = 1; i < bin->nsections; i++) {
        const GElf_Shdr *sh = &bin->sections[i].shdr;
        if ((sh->sh_flags & SHF_ALLOC) && (sh->sh_flags & SHF_EXECINSTR) && sh->sh_size)
            ds_cfi_ranges_add(rs, sh->sh_addr, sh->sh_size);
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

int ds_collect_cfi(ds_context *ctx, sk_error *err)
{
    (void)err;
    const ds_cfi_arch *arch = ds_cfi_arch_for(ctx->bin->machine);
    if (!arch) {
        sk_log(SK_LOG_WARN, "%s: no register names for ELF machine %u; no STACK CFI written", ctx->bin->path,
               ctx->bin->machine);
        return SK_OK;
    }
    frame_src srcs[2] = {
        {ctx->bin, true, ".eh_frame"},
        {NULL, false, ".debug_frame"},
    };
    if (ctx->dbg && ds_object_section(ctx->dbg, ".debug_frame"))
        srcs[1].obj = ctx->dbg;
    else if (ds_object_section(ctx->bin, ".debug_frame"))
        srcs[1].obj = ctx->bin;
    bool have_eh = ds_object_section(ctx->bin, ".eh_frame") != NULL;

    ds_cfi_ranges exec = {0}, covered = {0};
    bool filter = ctx->bin->type != ET_REL;
    if (filter)
        exec_ranges(ctx->bin, &exec);

    /* The job list: every usable .eh_frame FDE, then the .debug_frame FDEs
     * for code .eh_frame does not describe. */
    job *jobs = NULL;
    size_t njobs = 0, jobs_cap = 0;
    synth_obj *synth[2] = {NULL, NULL};
    for (int s = 0; s < 2; s++) {
        if (!srcs[s].obj || (s == 0 && !have_eh))
            continue;
        src_handle h;
        if (!src_open(&srcs[s], arch, &h, false)) {
            if (!h.msg[0])
                continue; /* no error: simply no entries */
            /* libdwarf drops a whole section for one bad entry, and cannot
             * read big-endian .eh_frame at all: rewrite it entry by entry. */
            sk_log(s == 0 && !ctx->bin->little_endian ? SK_LOG_INFO : SK_LOG_WARN,
                   "%s: %s: cannot read call frame information: %s; reading it entry by entry",
                   srcs[s].obj->path, srcs[s].what, h.msg);
            synth[s] = synth_rewrite(srcs[s].obj, s == 0);
            if (!synth[s])
                continue;
            srcs[s].obj = &synth[s]->obj;
            srcs[s].eh = false;
            if (!src_open(&srcs[s], arch, &h, true))
                continue;
        }
        ds_cfi_ranges mine = {0};
        for (Dwarf_Signed i = 0; i < h.nfdes; i++) {
            Dwarf_Addr low = 0;
            Dwarf_Unsigned len = 0, blen = 0;
            Dwarf_Ptr bytes = NULL;
            Dwarf_Off cie_off = 0, fde_off = 0;
            Dwarf_Signed cie_index = 0;
            Dwarf_Error e = NULL;
            if (dwarf_get_fde_range(h.fdes[i], &low, &len, &bytes, &blen, &cie_off, &cie_index, &fde_off, &e) !=
                DW_DLV_OK) {
                char buf[512];
                ds_dwarf_errmsg(h.d, e, buf, sizeof buf);
                sk_log(SK_LOG_WARN, "%s: %s: FDE %lld: %s; skipped", srcs[s].obj->path, srcs[s].what,
                       (long long)i, buf);
                continue;
            }
            if (len == 0 || low + len < low || low < ctx->load_addr)
                continue;
            if (filter && !inside(&exec, low, len))
                continue;
            if (s == 1 && ds_cfi_ranges_overlap(&covered, low, len))
                continue;
            ds_cfi_ranges_add(&mine, low, len);
            sk_grow((void **)&jobs, &jobs_cap, njobs + 1, sizeof *jobs);
            jobs[njobs++] = (job){(uint8_t)s, i};
        }
        for (size_t i = 0; i < mine.n; i++)
            ds_cfi_ranges_add(&covered, mine.r[i].addr, mine.r[i].size);
        free(mine.r);
        ds_cfi_ranges_sort(&covered);
        src_close(&h);
    }

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
    size_t from_debug = 0;
    for (size_t i = 0; i < njobs; i++)
        from_debug += jobs[i].src == 1;
    sk_log(SK_LOG_INFO, "%s: STACK CFI: %zu FDEs from .eh_frame, %zu from .debug_frame on %d thread(s), %zu INIT records",
           ctx->bin->path, njobs - from_debug, from_debug, nthreads, ninit);
    free(sh.outs);
    free(jobs);

    if (ctx->bin->machine == EM_ARM) {
        ds_cfi_out ex;
        ds_cfi_out_init(&ex);
        ds_collect_exidx(ctx, &covered, &ex);
        sk_log(SK_LOG_INFO, "%s: STACK CFI: %zu functions from .ARM.exidx", ctx->bin->path, ex.nentries);
        ds_cfi_out_flush(&ex, ctx->m);
        ds_cfi_out_free(&ex);
    }
    free(covered.r);
    free(exec.r);
    synth_free(synth[0]);
    synth_free(synth[1]);
    return SK_OK;
}
