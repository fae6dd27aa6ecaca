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
    unsigned table_size; /* libdwarf rule-table columns: every column CFI may use */
} ds_cfi_arch;

/* NULL when we have no register names for this machine. */
const ds_cfi_arch *ds_cfi_arch_for(uint16_t machine);
/* The name of a DWARF register, NULL when it has none. */
const char *ds_cfi_reg_name(const ds_cfi_arch *a, unsigned reg);

/* Appends the postfix form of a DWARF expression to out.  push_cfa: the CFA
 * is on the stack when it starts (DW_CFA_expression, val_expression).
 * false when the expression uses an operation postfix cannot express. */
bool ds_cfi_expr_postfix(const ds_cfi_arch *a, const uint8_t *p, size_t n, bool push_cfa,
                         unsigned addr_size, bool little_endian, sk_buf *out);

/* Rewrites an .eh_frame (is_eh, at sec_addr) or .debug_frame as a clean
 * .debug_frame into out, skipping and naming (sk_log) entries it cannot
 * read.  Returns the FDEs written. */
int ds_cfi_rewrite_frames(ds_object *obj, const uint8_t *data, size_t n, uint64_t sec_addr, bool is_eh,
                          sk_buf *out);

/* ---- gathered records ---------------------------------------------------- */

typedef struct ds_cfi_entry {
    uint64_t addr, size;
    size_t init;            /* offset of the INIT rules in text */
    size_t first_row, nrows;
} ds_cfi_entry;

typedef struct ds_cfi_rowrec {
    uint64_t addr;
    size_t rules; /* offset in text */
} ds_cfi_rowrec;

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

#endif
