/*
 * cfi_frame.c — our own reader of .eh_frame / .debug_frame and interpreter
 * of the DW_CFA_* instructions.
 *
 * Reading (ds_cfi_frames_parse) walks the section once, entry by entry:
 * CIEs are decoded into ds_cfi_cie, FDEs into ds_cfi_fde (address range and
 * instruction bytes, pointing into the section).  Both section flavours,
 * both byte orders, 32- and 64-bit DWARF, CIE versions 1, 3 and 4, and the
 * .eh_frame augmentations (z, L, P, R, S, B, G) with every pointer encoding
 * GCC, LLVM and the LSB define.  An entry that cannot be read is skipped
 * with a warning naming the file, the section and its offset; only a length
 * running past the end of the section stops the walk, since nothing after
 * it can be found.
 *
 * Running (ds_cfi_run) executes one FDE's CIE instructions, then its own,
 * once, front to back, and hands each row to the caller as soon as the next
 * advance closes it: linear in the FDE's size, no allocation per row.  The
 * rule table holds `ncols` columns; only columns below `hi` can differ from
 * "same value", so copies (remember_state, the CIE's initial rules) and the
 * caller's scans stop there.  Rules for columns beyond the table are
 * ignored (no architecture names them).  The machine also notes which
 * columns were written since the last row, so that the caller compares
 * only those with the row before instead of every column.  A bad
 * instruction stops the FDE: the rows before the row being built stand.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cfi_int.h"

/* DW_CFA_* (DWARF 5 section 6.4.2, plus the GNU extensions). */
enum {
    CFA_advance_loc = 0x40,
    CFA_offset = 0x80,
    CFA_restore = 0xc0,
    CFA_nop = 0x00,
    CFA_set_loc = 0x01,
    CFA_advance_loc1 = 0x02,
    CFA_advance_loc2 = 0x03,
    CFA_advance_loc4 = 0x04,
    CFA_offset_extended = 0x05,
    CFA_restore_extended = 0x06,
    CFA_undefined = 0x07,
    CFA_same_value = 0x08,
    CFA_register = 0x09,
    CFA_remember_state = 0x0a,
    CFA_restore_state = 0x0b,
    CFA_def_cfa = 0x0c,
    CFA_def_cfa_register = 0x0d,
    CFA_def_cfa_offset = 0x0e,
    CFA_def_cfa_expression = 0x0f,
    CFA_expression = 0x10,
    CFA_offset_extended_sf = 0x11,
    CFA_def_cfa_sf = 0x12,
    CFA_def_cfa_offset_sf = 0x13,
    CFA_val_offset = 0x14,
    CFA_val_offset_sf = 0x15,
    CFA_val_expression = 0x16,
    CFA_GNU_window_save = 0x2d, /* also AARCH64_negate_ra_state */
    CFA_GNU_args_size = 0x2e,
    CFA_GNU_negative_offset_extended = 0x2f,
};

/* DW_EH_PE_* pointer encodings (LSB 5.0, .eh_frame). */
enum {
    PE_absptr = 0x00,
    PE_uleb128 = 0x01,
    PE_udata2 = 0x02,
    PE_udata4 = 0x03,
    PE_udata8 = 0x04,
    PE_signed = 0x08,
    PE_sleb128 = 0x09,
    PE_sdata2 = 0x0a,
    PE_sdata4 = 0x0b,
    PE_sdata8 = 0x0c,
    PE_pcrel = 0x10,
    PE_textrel = 0x20,
    PE_datarel = 0x30,
    PE_funcrel = 0x40,
    PE_aligned = 0x50,
    PE_indirect = 0x80,
    PE_omit = 0xff,
};

/* Bounds against hostile input: remember_state nesting and instructions
 * per FDE (CIE included). */
#define MAX_DEPTH 64
#define MAX_INSTR (1u << 20)

/* ---- encoded pointers ---------------------------------------------------- */

/* Reads a pointer in encoding enc.  apply: add the base the encoding names
 * and follow DW_EH_PE_indirect (needed for addresses, not for values that
 * are only skipped).  false when it cannot be read or resolved. */
static bool read_encoded(const ds_cfi_frames *f, ds_bytes *r, uint8_t enc, unsigned addr_size, bool apply,
                         uint64_t *v)
{
    if (enc == PE_omit)
        return false;
    uint64_t place = f->sec_addr + (uint64_t)(r->p - r->base);
    if ((enc & 0x70) == PE_aligned) {
        /* The value sits at the next addr_size boundary of memory. */
        uint64_t pad = (addr_size - place % addr_size) % addr_size;
        if ((uint64_t)(r->end - r->p) < pad)
            return false;
        r->p += pad;
        place += pad;
    }
    uint64_t x;
    int64_t s;
    switch (enc & 0x0f) {
    case PE_absptr:
        if (!ds_bytes_fixed(r, addr_size, &x))
            return false;
        break;
    case PE_signed:
        if (!ds_bytes_fixed(r, addr_size, &x))
            return false;
        if (addr_size == 4)
            x = (uint64_t)(int64_t)(int32_t)(uint32_t)x;
        break;
    case PE_uleb128:
        if (!ds_bytes_uleb(r, &x))
            return false;
        break;
    case PE_udata2:
        if (!ds_bytes_fixed(r, 2, &x))
            return false;
        break;
    case PE_udata4:
        if (!ds_bytes_fixed(r, 4, &x))
            return false;
        break;
    case PE_udata8:
        if (!ds_bytes_fixed(r, 8, &x))
            return false;
        break;
    case PE_sleb128:
        if (!ds_bytes_sleb(r, &s))
            return false;
        x = (uint64_t)s;
        break;
    case PE_sdata2:
        if (!ds_bytes_fixed(r, 2, &x))
            return false;
        x = (uint64_t)(int64_t)(int16_t)(uint16_t)x;
        break;
    case PE_sdata4:
        if (!ds_bytes_fixed(r, 4, &x))
            return false;
        x = (uint64_t)(int64_t)(int32_t)(uint32_t)x;
        break;
    case PE_sdata8:
        if (!ds_bytes_fixed(r, 8, &x))
            return false;
        break;
    default:
        return false;
    }
    if (apply) {
        switch (enc & 0x70) {
        case PE_absptr:
        case PE_aligned: break;
        case PE_pcrel: x += place; break;
        case PE_textrel:
            if (!f->text_base)
                return false;
            x += f->text_base;
            break;
        case PE_datarel:
            if (!f->data_base)
                return false;
            x += f->data_base;
            break;
        default: return false; /* funcrel: no function to be relative to */
        }
        if (addr_size == 4)
            x &= 0xffffffffu;
        if (enc & PE_indirect) {
            if (!f->read_ptr || !f->read_ptr(f->read_ctx, x, addr_size, &x))
                return false;
        }
    }
    if (addr_size == 4)
        x &= 0xffffffffu;
    *v = x;
    return true;
}

/* ---- entries ------------------------------------------------------------- */

static void warn_entry(const ds_cfi_frames *f, uint64_t off, const char *why)
{
    sk_log(SK_LOG_WARN, "%s: %s: entry at offset 0x%llx: %s; skipped", f->path, f->what,
           (unsigned long long)off, why);
}

/* Decodes a CIE body (after the id).  NULL, or why it cannot be used. */
static const char *parse_cie(const ds_cfi_frames *f, ds_bytes *r, ds_cfi_cie *c)
{
    uint64_t v;
    if (!ds_bytes_fixed(r, 1, &v))
        return "truncated CIE";
    c->version = (uint8_t)v;
    if (v != 1 && v != 3 && v != 4)
        return "unknown CIE version";
    const uint8_t *aug = r->p;
    while (r->p < r->end && *r->p)
        r->p++;
    if (r->p >= r->end)
        return "unterminated augmentation string";
    size_t aug_len = (size_t)(r->p - aug);
    r->p++;
    c->addr_size = (uint8_t)f->addr_size;
    if (c->version == 4) {
        uint64_t asz, ssz;
        if (!ds_bytes_fixed(r, 1, &asz) || !ds_bytes_fixed(r, 1, &ssz))
            return "truncated CIE";
        if ((asz != 4 && asz != 8) || ssz != 0)
            return "unsupported address or segment selector size";
        c->addr_size = (uint8_t)asz;
    }
    int64_t daf;
    if (!ds_bytes_uleb(r, &c->code_align) || !ds_bytes_sleb(r, &daf))
        return "truncated CIE";
    c->data_align = daf;
    if (!(c->version == 1 ? ds_bytes_fixed(r, 1, &c->ra_col) : ds_bytes_uleb(r, &c->ra_col)))
        return "truncated CIE";
    c->fde_enc = PE_absptr;
    c->aug_z = aug_len && aug[0] == 'z';
    if (aug_len && !c->aug_z)
        return "unsupported augmentation";
    if (c->aug_z) {
        uint64_t len;
        if (!ds_bytes_uleb(r, &len) || len > (uint64_t)(r->end - r->p))
            return "bad augmentation length";
        ds_bytes a = {r->base, r->p, r->p + len, r->le};
        r->p += len;
        for (size_t i = 1; i < aug_len; i++) {
            uint64_t enc, skip;
            if (aug[i] == 'R') {
                if (!ds_bytes_fixed(&a, 1, &enc))
                    return "bad augmentation data";
                c->fde_enc = (uint8_t)enc;
            } else if (aug[i] == 'P') {
                if (!ds_bytes_fixed(&a, 1, &enc) || !read_encoded(f, &a, (uint8_t)enc, c->addr_size, false, &skip))
                    return "bad personality pointer";
            } else if (aug[i] == 'L') {
                if (!ds_bytes_fixed(&a, 1, &enc))
                    return "bad augmentation data";
            } else if (aug[i] == 'S') {
                c->signal = true;
            } else if (aug[i] != 'B' && aug[i] != 'G') {
                break; /* the length lets us skip what we do not know */
            }
        }
    }
    c->instr = r->p;
    c->instr_end = r->end;
    return NULL;
}

typedef struct raw_fde {
    uint64_t off, cie_off;
    const uint8_t *body, *end; /* after the CIE pointer */
    uint64_t hdr_loc;          /* found through .eh_frame_hdr: its initial location there */
} raw_fde;

static int cmp_cie_off(const void *key, const void *elem)
{
    uint64_t k = *(const uint64_t *)key, o = ((const ds_cfi_cie *)elem)->off;
    return k < o ? -1 : k > o;
}

/* Decodes an FDE body.  NULL, or why it cannot be used. */
static const char *parse_fde(const ds_cfi_frames *f, const raw_fde *rf, const ds_cfi_cie *c, ds_cfi_fde *d)
{
    ds_bytes r = {f->data, rf->body, rf->end, f->le};
    uint64_t low, len;
    if (f->eh) {
        if (!read_encoded(f, &r, c->fde_enc, c->addr_size, true, &low) ||
            !read_encoded(f, &r, c->fde_enc & 0x0f, c->addr_size, false, &len))
            return "unreadable or unsupported address encoding";
    } else {
        if (!ds_bytes_fixed(&r, c->addr_size, &low) || !ds_bytes_fixed(&r, c->addr_size, &len))
            return "truncated FDE";
    }
    if (c->aug_z) {
        uint64_t alen;
        if (!ds_bytes_uleb(&r, &alen) || alen > (uint64_t)(r.end - r.p))
            return "bad augmentation length";
        r.p += alen;
    }
    d->off = rf->off;
    d->low = low;
    d->len = len;
    d->instr = r.p;
    d->instr_end = r.end;
    return NULL;
}

typedef struct walk {
    ds_cfi_frames *f;
    raw_fde *raw;
    size_t nraw, raw_cap, cies_cap;
    uint64_t want_cie; /* expect a CIE here (UINT64_MAX: any entry) */
    bool want_fde;     /* expect an FDE here */
    uint64_t hdr_loc;  /* .eh_frame_hdr's initial location for the FDE read, or UINT64_MAX */
} walk;

enum { ENTRY_NEXT, ENTRY_END, ENTRY_STOP };

/* Reads the entry at pos: a CIE is decoded at once, an FDE kept raw until
 * every CIE is known.  *next: the entry after it. */
static int read_entry(walk *wk, size_t pos, size_t *next)
{
    ds_cfi_frames *f = wk->f;
    const uint8_t *base = f->data;
    size_t n = f->size, start = pos;
    ds_bytes r = {base, base + pos, base + n, f->le};
    uint64_t len = 0, id = 0;
    if (!ds_bytes_fixed(&r, 4, &len)) {
        warn_entry(f, start, "truncated entry header");
        return ENTRY_STOP;
    }
    unsigned off_size = 4;
    if (len == 0) {
        *next = pos + 4;
        return f->eh ? ENTRY_END : ENTRY_NEXT; /* terminator, or padding */
    }
    if (len == 0xffffffffu) {
        off_size = 8;
        if (!ds_bytes_fixed(&r, 8, &len)) {
            warn_entry(f, start, "truncated entry header");
            return ENTRY_STOP;
        }
    } else if (len >= 0xfffffff0u) {
        warn_entry(f, start, "reserved length value");
        return ENTRY_STOP;
    }
    if (len > (uint64_t)(r.end - r.p)) {
        warn_entry(f, start, "length runs past the end of the section");
        return ENTRY_STOP; /* no way to find the next entry */
    }
    *next = (size_t)(r.p - base) + (size_t)len;
    r.end = base + *next;
    size_t id_off = (size_t)(r.p - base);
    unsigned id_size = f->eh ? 4 : off_size;
    if (!ds_bytes_fixed(&r, id_size, &id)) {
        warn_entry(f, start, "entry too short");
        return ENTRY_NEXT;
    }
    bool is_cie = f->eh ? id == 0 : id == (id_size == 4 ? 0xffffffffu : ~(uint64_t)0);
    if (wk->want_cie != UINT64_MAX && !is_cie) {
        warn_entry(f, start, "FDE points to no readable CIE");
        return ENTRY_NEXT;
    }
    if (wk->want_fde && is_cie) {
        warn_entry(f, start, ".eh_frame_hdr lists a CIE as an FDE");
        return ENTRY_NEXT;
    }
    if (is_cie) {
        ds_cfi_cie c;
        memset(&c, 0, sizeof c);
        c.off = start;
        const char *why = parse_cie(f, &r, &c);
        c.bad = why != NULL;
        if (why)
            warn_entry(f, start, why);
        sk_grow((void **)&f->cies, &wk->cies_cap, f->ncies + 1, sizeof *f->cies);
        f->cies[f->ncies++] = c;
        return ENTRY_NEXT;
    }
    uint64_t cie_off;
    if (f->eh) {
        if (id > id_off) {
            warn_entry(f, start, "FDE points to no readable CIE");
            return ENTRY_NEXT;
        }
        cie_off = id_off - id;
    } else {
        cie_off = id;
    }
    sk_grow((void **)&wk->raw, &wk->raw_cap, wk->nraw + 1, sizeof *wk->raw);
    wk->raw[wk->nraw++] = (raw_fde){start, cie_off, r.p, r.end, wk->hdr_loc};
    return ENTRY_NEXT;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* After damage that hides the rest of an .eh_frame, the FDEs past it are
 * still listed in .eh_frame_hdr's search table (written by the linker):
 * read those one by one, with the CIEs they point to. */
static void resync_from_hdr(walk *wk, size_t stop)
{
    ds_cfi_frames *f = wk->f;
    if (!f->hdr || f->hdr_size < 4 || f->hdr[0] != 1)
        return;
    /* The header's pointers are relative to the header itself. */
    ds_cfi_frames h = *f;
    h.data = f->hdr;
    h.size = f->hdr_size;
    h.sec_addr = f->hdr_addr;
    h.data_base = f->hdr_addr;
    ds_bytes r = {f->hdr, f->hdr + 4, f->hdr + f->hdr_size, f->le};
    uint8_t ptr_enc = f->hdr[1], count_enc = f->hdr[2], table_enc = f->hdr[3];
    uint64_t eh_ptr, count;
    if (!read_encoded(&h, &r, ptr_enc, f->addr_size, true, &eh_ptr) ||
        !read_encoded(&h, &r, count_enc, f->addr_size, true, &count) || eh_ptr != f->sec_addr ||
        table_enc == PE_omit)
        return;
    typedef struct hdr_ent {
        uint64_t off, loc;
    } hdr_ent;
    hdr_ent *ents = NULL;
    size_t nents = 0, cap = 0;
    for (uint64_t i = 0; i < count && r.p < r.end; i++) {
        uint64_t loc, addr;
        if (!read_encoded(&h, &r, table_enc, f->addr_size, true, &loc) ||
            !read_encoded(&h, &r, table_enc, f->addr_size, true, &addr))
            break;
        if (addr < f->sec_addr || addr - f->sec_addr >= f->size || addr - f->sec_addr < stop)
            continue;
        sk_grow((void **)&ents, &cap, nents + 1, sizeof *ents);
        ents[nents++] = (hdr_ent){addr - f->sec_addr, loc};
    }
    if (!nents) {
        free(ents);
        return;
    }
    sk_log(SK_LOG_WARN, "%s: %s: reading the %zu FDEs past offset 0x%zx through .eh_frame_hdr", f->path, f->what,
           nents, stop);
    sk_sort(ents, nents, sizeof *ents, cmp_u64);
    size_t first_raw = wk->nraw, next;
    for (size_t i = 0; i < nents; i++) {
        if (i && ents[i].off == ents[i - 1].off)
            continue;
        wk->hdr_loc = ents[i].loc;
        wk->want_fde = true;
        read_entry(wk, (size_t)ents[i].off, &next);
    }
    wk->hdr_loc = UINT64_MAX;
    wk->want_fde = false;
    free(ents);
    /* Their CIEs, where the walk did not reach. */
    size_t ncie = 0;
    uint64_t *cie_offs = wk->nraw > first_raw ? sk_xcalloc(wk->nraw - first_raw, sizeof *cie_offs) : NULL;
    for (size_t i = first_raw; i < wk->nraw; i++) {
        if (wk->raw[i].cie_off >= stop && wk->raw[i].cie_off < f->size)
            cie_offs[ncie++] = wk->raw[i].cie_off;
    }
    sk_sort(cie_offs, ncie, sizeof *cie_offs, cmp_u64);
    for (size_t i = 0; i < ncie; i++) {
        if (i && cie_offs[i] == cie_offs[i - 1])
            continue;
        wk->want_cie = cie_offs[i];
        read_entry(wk, (size_t)cie_offs[i], &next);
    }
    wk->want_cie = UINT64_MAX;
    free(cie_offs);
}

void ds_cfi_frames_parse(ds_cfi_frames *f)
{
    walk wk = {.f = f, .want_cie = UINT64_MAX, .hdr_loc = UINT64_MAX};
    size_t pos = 0;
    int st = ENTRY_NEXT;
    while (pos < f->size && st == ENTRY_NEXT)
        st = read_entry(&wk, pos, &pos);
    if (st == ENTRY_STOP && f->eh)
        resync_from_hdr(&wk, pos);
    /* CIEs were found in section order (those found through the header
     * after the others, in order too): sorted by offset. */
    raw_fde *raw = wk.raw;
    size_t nraw = wk.nraw;
    f->fdes = nraw ? sk_xcalloc(nraw, sizeof *f->fdes) : NULL;
    for (size_t i = 0; i < nraw; i++) {
        const ds_cfi_cie *c = f->ncies ? bsearch(&raw[i].cie_off, f->cies, f->ncies, sizeof *f->cies, cmp_cie_off)
                                       : NULL;
        const char *why = NULL;
        ds_cfi_fde *d = &f->fdes[f->nfdes];
        if (!c)
            why = "FDE points to no readable CIE";
        else if (c->bad)
            why = "FDE points to an unreadable CIE";
        else
            why = parse_fde(f, &raw[i], c, d);
        if (!why && raw[i].hdr_loc != UINT64_MAX && raw[i].hdr_loc != d->low)
            why = "FDE does not start where .eh_frame_hdr says";
        if (why) {
            warn_entry(f, raw[i].off, why);
            continue;
        }
        d->cie = (uint32_t)(c - f->cies);
        f->nfdes++;
    }
    free(raw);
}

void ds_cfi_frames_free(ds_cfi_frames *f)
{
    free(f->cies);
    free(f->fdes);
    f->cies = NULL;
    f->fdes = NULL;
    f->ncies = f->nfdes = 0;
}

/* ---- the CFA program ----------------------------------------------------- */

static const ds_cfi_rule same_rule = {.kind = DS_RULE_SAME};

void ds_cfi_machine_init(ds_cfi_machine *m, unsigned ncols)
{
    memset(m, 0, sizeof *m);
    m->ncols = ncols;
    m->rules = sk_xcalloc(ncols, sizeof *m->rules);
    m->cie_rules = sk_xcalloc(ncols, sizeof *m->cie_rules);
    m->changed = sk_xcalloc(ncols / 64 + 1, sizeof *m->changed);
    /* DS_RULE_SAME is 0: calloc'd columns are "same value". */
}

void ds_cfi_machine_free(ds_cfi_machine *m)
{
    for (unsigned i = 0; i < m->stack_cap; i++)
        free(m->stack[i].rules);
    free(m->stack);
    free(m->rules);
    free(m->cie_rules);
    free(m->changed);
    memset(m, 0, sizeof *m);
}

typedef struct run {
    const ds_cfi_frames *f;
    const ds_cfi_cie *c;
    ds_cfi_machine *m;
    bool in_cie;
} run;

/* The column a rule instruction names, or NULL to ignore the rule
 * (beyond the table: no architecture has a name for it). */
static ds_cfi_rule *col(run *x, uint64_t reg)
{
    ds_cfi_machine *m = x->m;
    if (reg >= m->ncols)
        return NULL;
    if (reg >= m->hi)
        m->hi = (unsigned)reg + 1;
    m->changed[reg / 64] |= (uint64_t)1 << (reg % 64);
    return &m->rules[reg];
}

/* Every column below hi written: restore_state may change any of them. */
static void mark_all(ds_cfi_machine *m)
{
    for (unsigned w = 0; w * 64 < m->hi; w++)
        m->changed[w] = ~(uint64_t)0;
}

/* A row was delivered: nothing written since. */
static void clear_changed(ds_cfi_machine *m)
{
    for (unsigned w = 0; w * 64 < m->hi; w++)
        m->changed[w] = 0;
}

static void set_rule(run *x, uint64_t reg, uint8_t kind, uint64_t r2, int64_t off, const uint8_t *expr)
{
    ds_cfi_rule *c = col(x, reg);
    if (c)
        *c = (ds_cfi_rule){.kind = kind, .reg = (uint32_t)r2, .off = off, .expr = expr};
}

static void restore_col(run *x, uint64_t reg)
{
    ds_cfi_rule *c = col(x, reg);
    if (!c)
        return;
    const ds_cfi_machine *m = x->m;
    if (x->in_cie || reg >= m->cie_hi)
        *c = same_rule;
    else
        *c = m->cie_rules[reg];
}

static bool push_state(run *x)
{
    ds_cfi_machine *m = x->m;
    if (m->depth >= MAX_DEPTH)
        return false;
    if (m->depth == m->stack_cap) {
        size_t cap = m->stack_cap;
        sk_grow((void **)&m->stack, &cap, m->depth + 1, sizeof *m->stack);
        for (size_t i = m->stack_cap; i < cap; i++)
            memset(&m->stack[i], 0, sizeof m->stack[i]);
        m->stack_cap = (unsigned)cap;
    }
    ds_cfi_saved *s = &m->stack[m->depth++];
    if (!s->rules)
        s->rules = sk_xmalloc(m->ncols * sizeof *s->rules);
    memcpy(s->rules, m->rules, m->hi * sizeof *m->rules);
    s->hi = m->hi;
    s->cfa = m->cfa;
    return true;
}

static bool pop_state(run *x)
{
    ds_cfi_machine *m = x->m;
    if (!m->depth)
        return false;
    const ds_cfi_saved *s = &m->stack[--m->depth];
    memcpy(m->rules, s->rules, s->hi * sizeof *m->rules);
    for (unsigned c = s->hi; c < m->hi; c++)
        m->rules[c] = same_rule;
    mark_all(m);
    m->cfa = s->cfa;
    return true;
}

/* The address a CFA program advances to; false (stop) when it would wrap. */
static bool advance(uint64_t loc, uint64_t delta, uint64_t code_align, uint64_t *to)
{
    if (code_align && delta > UINT64_MAX / code_align)
        return false;
    uint64_t d = delta * code_align;
    if (loc + d < loc)
        return false;
    *to = loc + d;
    return true;
}

enum { STEP_OK, STEP_END, STEP_ERROR };

/* Runs instructions [p, end).  In an FDE, rows go to row() at each advance;
 * *loc is the address of the row being built.  STEP_END: an advance left
 * the FDE (nothing after it matters). */
static int exec(run *x, const uint8_t *p, const uint8_t *end, uint64_t *loc, uint64_t fde_end,
                ds_cfi_row_fn row, void *ctx, unsigned *count, const char **why)
{
    const ds_cfi_frames *f = x->f;
    const ds_cfi_cie *c = x->c;
    ds_cfi_machine *m = x->m;
    ds_bytes r = {f->data, p, end, f->le};
    int64_t daf = c->data_align;
    while (r.p < r.end) {
        if (++*count > MAX_INSTR) {
            *why = "too many instructions";
            return STEP_ERROR;
        }
        uint8_t op = *r.p++;
        uint64_t reg = 0, u = 0, u2 = 0;
        int64_t s = 0;
        bool adv = false;
        uint64_t to = 0;
        bool stop = false; /* the advance cannot be represented: past the end */
        switch (op & 0xc0) {
        case CFA_advance_loc:
            adv = true;
            stop = !advance(*loc, op & 0x3f, c->code_align, &to);
            break;
        case CFA_offset:
            if (!ds_bytes_uleb(&r, &u))
                goto truncated;
            set_rule(x, op & 0x3f, DS_RULE_OFFSET, 0, (int64_t)(u * (uint64_t)daf), NULL);
            break;
        case CFA_restore:
            restore_col(x, op & 0x3f);
            break;
        default:
            switch (op) {
            case CFA_nop:
            case CFA_GNU_window_save: /* SPARC windows / AArch64 RA signing: no rule change */
                break;
            case CFA_set_loc:
                if (f->eh) {
                    if (!read_encoded(f, &r, c->fde_enc, c->addr_size, true, &to))
                        goto truncated;
                } else if (!ds_bytes_fixed(&r, c->addr_size, &to)) {
                    goto truncated;
                }
                if (!x->in_cie && to < *loc) {
                    *why = "DW_CFA_set_loc moves backwards";
                    return STEP_ERROR;
                }
                adv = true;
                break;
            case CFA_advance_loc1:
            case CFA_advance_loc2:
            case CFA_advance_loc4:
                if (!ds_bytes_fixed(&r, op == CFA_advance_loc1 ? 1 : op == CFA_advance_loc2 ? 2 : 4, &u))
                    goto truncated;
                adv = true;
                stop = !advance(*loc, u, c->code_align, &to);
                break;
            case CFA_offset_extended:
                if (!ds_bytes_uleb(&r, &reg) || !ds_bytes_uleb(&r, &u))
                    goto truncated;
                set_rule(x, reg, DS_RULE_OFFSET, 0, (int64_t)(u * (uint64_t)daf), NULL);
                break;
            case CFA_offset_extended_sf:
                if (!ds_bytes_uleb(&r, &reg) || !ds_bytes_sleb(&r, &s))
                    goto truncated;
                set_rule(x, reg, DS_RULE_OFFSET, 0, (int64_t)((uint64_t)s * (uint64_t)daf), NULL);
                break;
            case CFA_GNU_negative_offset_extended:
                if (!ds_bytes_uleb(&r, &reg) || !ds_bytes_uleb(&r, &u))
                    goto truncated;
                set_rule(x, reg, DS_RULE_OFFSET, 0, (int64_t)(0 - u * (uint64_t)daf), NULL);
                break;
            case CFA_val_offset:
                if (!ds_bytes_uleb(&r, &reg) || !ds_bytes_uleb(&r, &u))
                    goto truncated;
                set_rule(x, reg, DS_RULE_VAL_OFFSET, 0, (int64_t)(u * (uint64_t)daf), NULL);
                break;
            case CFA_val_offset_sf:
                if (!ds_bytes_uleb(&r, &reg) || !ds_bytes_sleb(&r, &s))
                    goto truncated;
                set_rule(x, reg, DS_RULE_VAL_OFFSET, 0, (int64_t)((uint64_t)s * (uint64_t)daf), NULL);
                break;
            case CFA_restore_extended:
                if (!ds_bytes_uleb(&r, &reg))
                    goto truncated;
                restore_col(x, reg);
                break;
            case CFA_undefined:
                if (!ds_bytes_uleb(&r, &reg))
                    goto truncated;
                set_rule(x, reg, DS_RULE_UNDEF, 0, 0, NULL);
                break;
            case CFA_same_value:
                if (!ds_bytes_uleb(&r, &reg))
                    goto truncated;
                set_rule(x, reg, DS_RULE_SAME, 0, 0, NULL);
                break;
            case CFA_register:
                if (!ds_bytes_uleb(&r, &reg) || !ds_bytes_uleb(&r, &u))
                    goto truncated;
                /* A register beyond 32 bits names nothing: undefined. */
                if (u > UINT32_MAX)
                    set_rule(x, reg, DS_RULE_UNDEF, 0, 0, NULL);
                else
                    set_rule(x, reg, DS_RULE_REG, u, 0, NULL);
                break;
            case CFA_remember_state:
                if (!push_state(x)) {
                    *why = "DW_CFA_remember_state nested too deep";
                    return STEP_ERROR;
                }
                break;
            case CFA_restore_state:
                if (!pop_state(x)) {
                    *why = "DW_CFA_restore_state without a remembered state";
                    return STEP_ERROR;
                }
                break;
            case CFA_def_cfa:
                if (!ds_bytes_uleb(&r, &reg) || !ds_bytes_uleb(&r, &u))
                    goto truncated;
                m->cfa = (ds_cfi_rule){.kind = DS_CFA_REGOFF, .reg = reg > UINT32_MAX ? UINT32_MAX : (uint32_t)reg,
                                       .off = (int64_t)u};
                break;
            case CFA_def_cfa_sf:
                if (!ds_bytes_uleb(&r, &reg) || !ds_bytes_sleb(&r, &s))
                    goto truncated;
                m->cfa = (ds_cfi_rule){.kind = DS_CFA_REGOFF, .reg = reg > UINT32_MAX ? UINT32_MAX : (uint32_t)reg,
                                       .off = (int64_t)((uint64_t)s * (uint64_t)daf)};
                break;
            case CFA_def_cfa_register:
                if (!ds_bytes_uleb(&r, &reg))
                    goto truncated;
                /* Only the register changes; an expression CFA stays one
                 * (the instruction is not defined for it). */
                m->cfa.reg = reg > UINT32_MAX ? UINT32_MAX : (uint32_t)reg;
                if (m->cfa.kind == DS_CFA_NONE) {
                    m->cfa.kind = DS_CFA_REGOFF;
                    m->cfa.off = 0;
                }
                break;
            case CFA_def_cfa_offset:
                if (!ds_bytes_uleb(&r, &u))
                    goto truncated;
                if (m->cfa.kind == DS_CFA_NONE)
                    m->cfa.reg = UINT32_MAX;
                m->cfa.kind = DS_CFA_REGOFF;
                m->cfa.off = (int64_t)u;
                break;
            case CFA_def_cfa_offset_sf:
                if (!ds_bytes_sleb(&r, &s))
                    goto truncated;
                if (m->cfa.kind == DS_CFA_NONE)
                    m->cfa.reg = UINT32_MAX;
                m->cfa.kind = DS_CFA_REGOFF;
                m->cfa.off = (int64_t)((uint64_t)s * (uint64_t)daf);
                break;
            case CFA_def_cfa_expression:
                if (!ds_bytes_uleb(&r, &u) || u > (uint64_t)(r.end - r.p))
                    goto truncated;
                if (m->cfa.kind == DS_CFA_NONE)
                    m->cfa.reg = UINT32_MAX;
                m->cfa.kind = DS_CFA_EXPR;
                m->cfa.expr = r.p;
                m->cfa.len = u;
                r.p += u;
                break;
            case CFA_expression:
            case CFA_val_expression:
                if (!ds_bytes_uleb(&r, &reg) || !ds_bytes_uleb(&r, &u) || u > (uint64_t)(r.end - r.p))
                    goto truncated;
                {
                    ds_cfi_rule *cr = col(x, reg);
                    if (cr)
                        *cr = (ds_cfi_rule){.kind = op == CFA_expression ? DS_RULE_EXPR : DS_RULE_VAL_EXPR,
                                            .expr = r.p, .len = u};
                }
                r.p += u;
                break;
            case CFA_GNU_args_size:
                if (!ds_bytes_uleb(&r, &u2))
                    goto truncated;
                break;
            default:
                *why = "unknown DW_CFA instruction";
                return STEP_ERROR;
            }
        }
        if (!adv || x->in_cie)
            continue;
        if (!stop && to == *loc)
            continue; /* an advance by 0 adds to the same row */
        row(ctx, *loc, m);
        clear_changed(m);
        if (stop || to >= fde_end)
            return STEP_END;
        *loc = to;
    }
    return STEP_OK;
truncated:
    *why = "truncated instruction";
    return STEP_ERROR;
}

const char *ds_cfi_run(const ds_cfi_frames *f, const ds_cfi_fde *fde, ds_cfi_machine *m, ds_cfi_row_fn row,
                       void *ctx, uint64_t *stop_loc)
{
    const ds_cfi_cie *c = &f->cies[fde->cie];
    /* Every column touched by the previous FDE back to "same value". */
    for (unsigned i = 0; i < m->hi; i++)
        m->rules[i] = same_rule;
    clear_changed(m);
    m->hi = 0;
    m->depth = 0;
    m->cfa = (ds_cfi_rule){.kind = DS_CFA_NONE, .reg = UINT32_MAX};
    run x = {f, c, m, true};
    uint64_t loc = fde->low, end = fde->low + fde->len;
    unsigned count = 0;
    const char *why = NULL;
    *stop_loc = loc;
    if (exec(&x, c->instr, c->instr_end, &loc, end, row, ctx, &count, &why) == STEP_ERROR)
        return why;
    /* The CIE's rules are what DW_CFA_restore goes back to. */
    memcpy(m->cie_rules, m->rules, m->hi * sizeof *m->rules);
    m->cie_hi = m->hi;
    m->depth = 0;
    x.in_cie = false;
    int st = exec(&x, fde->instr, fde->instr_end, &loc, end, row, ctx, &count, &why);
    if (st == STEP_ERROR) {
        *stop_loc = loc;
        return why;
    }
    if (st == STEP_OK)
        row(ctx, loc, m);
    return NULL;
}
