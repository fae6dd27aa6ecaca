/*
 * cfi_int.h (internal) — shared pieces of the STACK CFI collector.
 *
 * cfi.c turns DWARF CFI (.eh_frame, .debug_frame) into STACK CFI records,
 * exidx.c does the same for ARM EHABI tables.  Both need the per-architecture
 * register names (cfi_regs.c), and the DWARF side needs DW_OP expressions in
 * Breakpad postfix form (cfi_expr.c).  Records are first gathered into a
 * ds_cfi_out (plain arrays, no sym_module), so worker threads can fill one
 * each and the caller can add them to the module in a fixed order: output is
 * the same whatever the thread count.
 */
#ifndef SYMKIT_DUMPSYMS_CFI_INT_H
#define SYMKIT_DUMPSYMS_CFI_INT_H

#include "collect.h"

/* How one architecture's DWARF register numbers print in STACK CFI. */
typedef struct ds_cfi_arch {
    const char *const *names; /* index = DWARF register number; NULL/"" = unnamed */
    unsigned nnames;
    unsigned table_size; /* rule-table columns: every column CFI may use */
} ds_cfi_arch;

/* NULL when we have no register names for this processor. */
const ds_cfi_arch *ds_cfi_arch_for(ds_cpu cpu);
/* Apple i386 __eh_frame's numbering (esp and ebp swapped). */
const ds_cfi_arch *ds_cfi_arch_darwin_x86_eh(void);
/* The name of a DWARF register, NULL when it has none. */
const char *ds_cfi_reg_name(const ds_cfi_arch *a, unsigned reg);

/* Appends the postfix form of a DWARF expression to out.  push_cfa: the CFA
 * is on the stack when it starts (DW_CFA_expression, val_expression).
 * false when the expression uses an operation postfix cannot express. */
bool ds_cfi_expr_postfix(const ds_cfi_arch *a, const uint8_t *p, size_t n, bool push_cfa,
                         unsigned addr_size, bool little_endian, sk_buf *out);

/* ---- frame sections and CFA programs (cfi_frame.c) ----------------------- */

typedef struct ds_cfi_cie {
    uint64_t off; /* section offset of the entry */
    const uint8_t *instr, *instr_end;
    uint64_t code_align, ra_col;
    int64_t data_align;
    uint8_t version, addr_size, fde_enc;
    bool aug_z;  /* FDEs carry augmentation data */
    bool signal; /* 'S': a signal frame */
    bool bad;    /* unreadable: its FDEs are skipped */
} ds_cfi_cie;

typedef struct ds_cfi_fde {
    uint64_t off; /* section offset of the entry */
    uint64_t low, len;
    const uint8_t *instr, *instr_end;
    uint32_t cie; /* index in ds_cfi_frames.cies */
} ds_cfi_fde;

/* One .eh_frame or .debug_frame.  The caller fills the first block; parse
 * fills cies/fdes (pointing into data), warning about each entry it skips. */
typedef struct ds_cfi_frames {
    const char *path, *what; /* for messages: file, ".eh_frame" */
    const uint8_t *data;
    size_t size;
    uint64_t sec_addr; /* address of the section (pc-relative pointers) */
    uint64_t text_base, data_base; /* DW_EH_PE_textrel/datarel bases, 0 = unknown */
    bool eh, le;
    unsigned addr_size; /* of the ELF class; a version 4 CIE may say otherwise */
    /* DW_EH_PE_indirect: reads a size-byte pointer at an address. */
    bool (*read_ptr)(void *ctx, uint64_t addr, unsigned size, uint64_t *v);
    void *read_ctx;
    /* .eh_frame_hdr, if any: where damage hides the rest of .eh_frame, the
     * FDEs past it are found through its search table. */
    const uint8_t *hdr;
    size_t hdr_size;
    uint64_t hdr_addr;

    ds_cfi_cie *cies; /* in section order, so sorted by off */
    size_t ncies;
    ds_cfi_fde *fdes; /* in section order */
    size_t nfdes;
} ds_cfi_frames;

void ds_cfi_frames_parse(ds_cfi_frames *f);
void ds_cfi_frames_free(ds_cfi_frames *f);

/* A register rule (kind DS_RULE_*) or the CFA rule (kind DS_CFA_*). */
enum {
    DS_RULE_SAME = 0, /* also: a column no instruction touched */
    DS_RULE_UNDEF,
    DS_RULE_OFFSET,     /* saved at CFA + off */
    DS_RULE_VAL_OFFSET, /* value is CFA + off */
    DS_RULE_REG,        /* in register reg */
    DS_RULE_EXPR,       /* saved at the address expr computes */
    DS_RULE_VAL_EXPR,   /* value is what expr computes */
};
enum { DS_CFA_NONE = 0, DS_CFA_REGOFF, DS_CFA_EXPR };

typedef struct ds_cfi_rule {
    uint8_t kind;
    uint32_t reg;        /* DS_RULE_REG, DS_CFA_REGOFF (UINT32_MAX: none) */
    int64_t off;         /* DS_RULE_OFFSET, VAL_OFFSET, DS_CFA_REGOFF */
    const uint8_t *expr; /* expressions: bytes in the section */
    uint64_t len;
} ds_cfi_rule;

typedef struct ds_cfi_saved {
    ds_cfi_rule *rules, cfa;
    unsigned hi;
} ds_cfi_saved;

/* The rule table of a running CFA program.  Columns >= hi are "same
 * value"; rules naming columns >= ncols are ignored.  `changed` has a bit
 * for each column an instruction wrote (set, restore, restore_state) since
 * the last row was delivered (read them with ds_cfi_next_changed): a row's
 * reader that kept the previous row need look at only those.  A written
 * column may still hold the rule it had. */
typedef struct ds_cfi_machine {
    unsigned ncols, hi, cie_hi;
    ds_cfi_rule *rules, *cie_rules, cfa;
    ds_cfi_saved *stack; /* remember_state, bounded */
    unsigned depth, stack_cap;
    uint64_t *changed; /* bit c % 64 of word c / 64 */
} ds_cfi_machine;

void ds_cfi_machine_init(ds_cfi_machine *m, unsigned ncols);
void ds_cfi_machine_free(ds_cfi_machine *m);

/* The first column >= from written since the last row, or m->ncols when
 * there is none. */
static inline unsigned ds_cfi_next_changed(const ds_cfi_machine *m, unsigned from)
{
    for (unsigned w = from / 64; w * 64 < m->hi; w++) {
        uint64_t bits = m->changed[w];
        if (w == from / 64)
            bits &= ~(uint64_t)0 << (from % 64);
        if (bits) {
            unsigned c = w * 64 + (unsigned)__builtin_ctzll(bits);
            return c < m->hi ? c : m->ncols;
        }
    }
    return m->ncols;
}

/* Called for each row, in address order, loc inside the FDE's range. */
typedef void (*ds_cfi_row_fn)(void *ctx, uint64_t loc, const ds_cfi_machine *m);

/* Runs an FDE (its CIE's instructions first).  NULL when it ran to the end;
 * else why it stopped, with *stop_loc the address of the row it was
 * building: rows before it were delivered, none from it on. */
const char *ds_cfi_run(const ds_cfi_frames *f, const ds_cfi_fde *fde, ds_cfi_machine *m, ds_cfi_row_fn row,
                       void *ctx, uint64_t *stop_loc);

/* ---- gathered records ---------------------------------------------------- */

typedef struct ds_cfi_entry {
    uint64_t addr, size;
    size_t init;            /* offset of the INIT rules in text */
    size_t init_len;
    size_t first_row, nrows;
} ds_cfi_entry;

/* 16 bytes: every row of a file's CFI is held here until the last chunk is
 * done (millions for libLLVM), and a third word cost 7 MB there.  The
 * length (without the NUL) is kept only when it fits its 24 bits; a row
 * with ROWREC_LONG is measured when flushed. */
typedef struct ds_cfi_rowrec {
    uint64_t addr;
    uint64_t rules : 40; /* offset in text */
    uint64_t len : 24;
} ds_cfi_rowrec;
#define ROWREC_LONG ((UINT64_C(1) << 24) - 1)
#define ROWREC_MAX_OFFSET ((UINT64_C(1) << 40) - 1)

typedef struct ds_cfi_out {
    sk_buf text; /* NUL-separated rule strings */
    ds_cfi_entry *entries;
    size_t nentries, entries_cap;
    ds_cfi_rowrec *rows;
    size_t nrows, rows_cap;
} ds_cfi_out;

void ds_cfi_out_init(ds_cfi_out *o);
void ds_cfi_out_free(ds_cfi_out *o);
/* Starts an entry (its size is set by the caller once known). */
ds_cfi_entry *ds_cfi_out_entry(ds_cfi_out *o, uint64_t addr, const char *init_rules);
void ds_cfi_out_row(ds_cfi_out *o, uint64_t addr, const char *rules);
/* The same for rules the caller wrote at the end of o->text, from offset
 * `at` on (no copy); the text is ended here. */
ds_cfi_entry *ds_cfi_out_entry_at(ds_cfi_out *o, uint64_t addr, size_t at);
void ds_cfi_out_row_at(ds_cfi_out *o, uint64_t addr, size_t at);
/* Adds everything gathered to the module, in gathering order. */
void ds_cfi_out_flush(ds_cfi_out *o, sym_module *m);

/* Address ranges already covered by DWARF CFI, sorted, for EXIDX. */
typedef struct ds_cfi_ranges {
    sym_range *r;
    size_t n, cap;
} ds_cfi_ranges;
void ds_cfi_ranges_add(ds_cfi_ranges *rs, uint64_t addr, uint64_t size);
void ds_cfi_ranges_sort(ds_cfi_ranges *rs);
bool ds_cfi_ranges_overlap(const ds_cfi_ranges *rs, uint64_t addr, uint64_t size);

/* STACK CFI from .ARM.exidx/.ARM.extab for functions no range in `covered`
 * touches (absolute addresses).  Problems are warnings. */
void ds_collect_exidx(ds_context *ctx, const ds_cfi_ranges *covered, ds_cfi_out *out);

/* STACK CFI from a Mach-O binary's __unwind_info (compact_unwind_collect.c)
 * for the functions no range in `covered` touches; SK_EFORMAT for a
 * corrupt section. */
int ds_collect_compact_unwind(ds_context *ctx, const ds_cfi_ranges *covered, ds_cfi_out *out, sk_error *err);

/* Synthesized STACK CFI (cfi/synth_collect.c) for the functions no range in
 * `covered` touches (all of them with everywhere); *nfunctions: how many
 * got rules. */
int ds_collect_synth_cfi(ds_context *ctx, const ds_cfi_ranges *covered, bool everywhere, ds_cfi_out *out,
                         size_t *nfunctions);

#endif
