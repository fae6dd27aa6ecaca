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
/* libdwarf keeps one rule table per FDE it has answered a row query for
 * until the FDE list is released, so a worker releases and re-reads its
 * list after this many FDEs to keep memory flat on huge binaries. */
#define FDES_PER_LIST 4096

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
        qsort(rs->r, rs->n, sizeof *rs->r, cmp_range);
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
    size_t used; /* FDEs queried since the list was read */
    char msg[256]; /* why the list could not be read */
} src_handle;

static void src_release_list(src_handle *h)
{
    if (h->fdes || h->cies)
        dwarf_fde_cie_list_dealloc(h->d->dbg, h->cies, h->ncies, h->fdes, h->nfdes);
    h->cies = NULL;
    h->fdes = NULL;
    h->ncies = h->nfdes = 0;
    h->used = 0;
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

typedef struct col_state {
    int kind;
    char *text; /* RULE_SET only, malloc'd */
} col_state;

typedef struct worker {
    const ds_context *ctx;
    const ds_cfi_arch *arch;
    const frame_src *srcs;
    src_handle handles[2];
    bool opened[2], open_failed[2];
    Dwarf_Regtable3 table;
    col_state *prev, *cur;
    col_state prev_cfa, cur_cfa;
    sk_buf scratch, line;
    unsigned addr_size;
} worker;

static void col_set(col_state *c, int kind, const char *text)
{
    free(c->text);
    c->kind = kind;
    c->text = text ? sk_xstrdup(text) : NULL;
}

static bool col_equal(const col_state *a, const col_state *b)
{
    if (a->kind != b->kind)
        return false;
    return a->kind != RULE_SET || strcmp(a->text, b->text) == 0;
}

static void col_copy(col_state *dst, const col_state *src)
{
    col_set(dst, src->kind, src->text);
}

/* The CFA rule in postfix, into w->scratch.  false: not expressible. */
static bool cfa_text(worker *w, const Dwarf_Regtable_Entry3 *r)
{
    sk_buf_reset(&w->scratch);
    if (r->dw_value_type == DW_EXPR_OFFSET || r->dw_value_type == DW_EXPR_VAL_OFFSET) {
        const char *name = ds_cfi_reg_name(w->arch, r->dw_regnum);
        if (!name)
            return false;
        long long off = r->dw_offset_relevant ? (long long)(Dwarf_Signed)r->dw_offset_or_block_len : 0;
        sk_buf_printf(&w->scratch, "%s %lld +", name, off);
        return true;
    }
    if (r->dw_value_type == DW_EXPR_EXPRESSION || r->dw_value_type == DW_EXPR_VAL_EXPRESSION) {
        if (!r->dw_block_ptr ||
            !ds_cfi_expr_postfix(w->arch, r->dw_block_ptr, r->dw_offset_or_block_len, false, w->addr_size,
                                 w->ctx->bin->little_endian, &w->scratch))
            return false;
        /* The CFA cannot be defined in terms of itself. */
        return strstr(w->scratch.data, ".cfa") == NULL;
    }
    return false;
}

/* The rule for one register column. */
static int reg_rule(worker *w, unsigned col, const Dwarf_Regtable_Entry3 *r)
{
    sk_buf_reset(&w->scratch);
    switch (r->dw_value_type) {
    case DW_EXPR_OFFSET:
        if (r->dw_offset_relevant) {
            sk_buf_printf(&w->scratch, ".cfa %lld + ^", (long long)(Dwarf_Signed)r->dw_offset_or_block_len);
            return RULE_SET;
        }
        if (r->dw_regnum == DW_FRAME_SAME_VAL || r->dw_regnum == col)
            return RULE_SAME;
        if (r->dw_regnum == DW_FRAME_UNDEFINED_VAL)
            return RULE_UNDEF;
        {
            const char *name = ds_cfi_reg_name(w->arch, r->dw_regnum);
            if (!name)
                return RULE_UNDEF;
            sk_buf_puts(&w->scratch, name);
        }
        return RULE_SET;
    case DW_EXPR_VAL_OFFSET:
        sk_buf_printf(&w->scratch, ".cfa %lld +", (long long)(Dwarf_Signed)r->dw_offset_or_block_len);
        return RULE_SET;
    case DW_EXPR_EXPRESSION:
    case DW_EXPR_VAL_EXPRESSION:
        if (!r->dw_block_ptr ||
            !ds_cfi_expr_postfix(w->arch, r->dw_block_ptr, r->dw_offset_or_block_len, true, w->addr_size,
                                 w->ctx->bin->little_endian, &w->scratch))
            return RULE_UNDEF;
        if (r->dw_value_type == DW_EXPR_EXPRESSION)
            sk_buf_puts(&w->scratch, " ^");
        return RULE_SET;
    default:
        return RULE_UNDEF;
    }
}

static void put_rule(sk_buf *b, const char *name, const char *text)
{
    if (b->len)
        sk_buf_putc(b, ' ');
    sk_buf_puts(b, name);
    sk_buf_puts(b, ": ");
    sk_buf_puts(b, text);
}

/* The text a column contributes: its rule, or (when it went back to the
 * caller's value) the register itself, as Breakpad writes it. */
static const char *col_text(const worker *w, unsigned col, const col_state *c)
{
    if (c->kind == RULE_SET)
        return c->text;
    if (c->kind == RULE_SAME)
        return ds_cfi_reg_name(w->arch, col);
    return NULL;
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
        col_set(&w->prev[c], RULE_SAME, NULL);
    col_set(&w->prev_cfa, RULE_UNDEF, NULL);

    uint64_t load = w->ctx->load_addr;
    uint64_t end = low + len;
    ds_cfi_entry *entry = NULL; /* the INIT currently open */
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
            if (entry)
                out->entries[entry_index].size = pc - load - out->entries[entry_index].addr;
            entry = NULL;
            break;
        }
        /* This row's rules. */
        bool ok = cfa_text(w, &w->table.rt3_cfa_rule);
        if (ok)
            col_set(&w->cur_cfa, RULE_SET, w->scratch.data);
        for (unsigned c = 0; c < ncols; c++) {
            if (c != ra_col && !ds_cfi_reg_name(w->arch, c)) {
                col_set(&w->cur[c], RULE_SAME, NULL);
                continue;
            }
            int kind = reg_rule(w, c, &w->table.rt3_rules[c]);
            col_set(&w->cur[c], kind, kind == RULE_SET ? w->scratch.data : NULL);
        }
        if (ra_col >= ncols || w->cur[ra_col].kind == RULE_UNDEF ||
            (w->cur[ra_col].kind == RULE_SAME && !ra_name))
            ok = false;

        uint64_t at = pc - load;
        if (!ok) {
            if (entry) {
                out->entries[entry_index].size = at - out->entries[entry_index].addr;
                entry = NULL;
            }
        } else {
            sk_buf_reset(&w->line);
            bool start = entry == NULL;
            if (start || !col_equal(&w->cur_cfa, &w->prev_cfa))
                put_rule(&w->line, ".cfa", w->cur_cfa.text);
            if (start || !col_equal(&w->cur[ra_col], &w->prev[ra_col]))
                put_rule(&w->line, ".ra", w->cur[ra_col].kind == RULE_SET ? w->cur[ra_col].text : ra_name);
            for (unsigned c = 0; c < ncols; c++) {
                if (c == ra_col)
                    continue;
                const col_state *cs = &w->cur[c];
                if (start) {
                    if (cs->kind == RULE_SET)
                        put_rule(&w->line, ds_cfi_reg_name(w->arch, c), cs->text);
                } else if (!col_equal(cs, &w->prev[c])) {
                    const char *t = col_text(w, c, cs);
                    /* Back to "same" from "undefined" needs no words. */
                    if (t && !(cs->kind == RULE_SAME && w->prev[c].kind != RULE_SET))
                        put_rule(&w->line, ds_cfi_reg_name(w->arch, c), t);
                }
            }
            if (start) {
                entry = ds_cfi_out_entry(out, at, w->line.data);
                entry_index = out->nentries - 1;
            } else if (w->line.len) {
                ds_cfi_out_row(out, at, w->line.data);
            }
            col_copy(&w->prev_cfa, &w->cur_cfa);
            for (unsigned c = 0; c < ncols; c++)
                col_copy(&w->prev[c], &w->cur[c]);
        }
        if (!more || next_pc <= pc || next_pc >= end)
            break;
        pc = next_pc;
    }
    if (entry)
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
    sk_buf_init(&w->scratch);
    sk_buf_init(&w->line);
    w->addr_size = sh->ctx->bin->elf_class == ELFCLASS64 ? 8 : 4;
}

static void worker_free(worker *w)
{
    for (int i = 0; i < 2; i++)
        src_close(&w->handles[i]);
    unsigned n = w->arch->table_size;
    for (unsigned c = 0; c < n; c++) {
        free(w->prev[c].text);
        free(w->cur[c].text);
    }
    free(w->prev_cfa.text);
    free(w->cur_cfa.text);
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
    src_handle *h = &w->handles[s];
    if (h->used >= FDES_PER_LIST) {
        src_release_list(h);
        if (!src_read_list(&w->srcs[s], h, false)) {
            w->open_failed[s] = true;
            return NULL;
        }
    }
    return h;
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
        h->used++;
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

static synth_obj *synth_from_eh(ds_object *bin)
{
    ds_section *eh = ds_object_section(bin, ".eh_frame");
    const uint8_t *data;
    size_t size;
    sk_error err = {0};
    if (!eh || ds_section_data(bin, eh, &data, &size, &err) || !data)
        return NULL;
    synth_obj *s = sk_xcalloc(1, sizeof *s);
    sk_buf_init(&s->buf);
    for (int i = 0; i < 2; i++)
        pthread_mutex_init(&s->secs[i].lock, NULL);
    if (ds_cfi_eh_to_debug_frame(bin, data, size, eh->shdr.sh_addr, &s->buf) <= 0) {
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
    synth_obj *eh_synth = NULL;
    for (int s = 0; s < 2; s++) {
        if (!srcs[s].obj || (s == 0 && !have_eh))
            continue;
        src_handle h;
        if (!src_open(&srcs[s], arch, &h, s != 0)) {
            if (s != 0 || !h.msg[0])
                continue; /* no error: simply no entries */
            /* libdwarf drops a whole .eh_frame for one bad entry, and cannot
             * read big-endian ones at all: rewrite it entry by entry. */
            if (ctx->bin->little_endian)
                sk_log(SK_LOG_WARN, "%s: .eh_frame: cannot read call frame information: %s; reading it entry by entry",
                       ctx->bin->path, h.msg[0] ? h.msg : "unknown error");
            else
                sk_log(SK_LOG_INFO, "%s: .eh_frame: libdwarf cannot read it (%s); reading it entry by entry",
                       ctx->bin->path, h.msg[0] ? h.msg : "unknown error");
            eh_synth = synth_from_eh(ctx->bin);
            if (!eh_synth)
                continue;
            srcs[0].obj = &eh_synth->obj;
            srcs[0].eh = false;
            if (!src_open(&srcs[0], arch, &h, true))
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
    synth_free(eh_synth);
    return SK_OK;
}
