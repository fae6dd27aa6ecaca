/*
 * dwarf_symnames.h (internal) — an address -> mangled function symbol
 * index, for DWARF functions that have no linkage name (see the .c file for
 * why).  Built once, read by every worker thread.
 */
#ifndef SYMKIT_DUMPSYMS_DWARF_SYMNAMES_H
#define SYMKIT_DUMPSYMS_DWARF_SYMNAMES_H

#include "demangler.h"
#include "object.h"

typedef struct dsn_sym {
    uint64_t addr;
    const char *name; /* in the object's mapped string table */
} dsn_sym;

typedef struct dsn_index {
    dsn_sym *syms; /* sorted by address */
    size_t n, cap;
} dsn_index;

/* Defined function symbols of dbg's static symbol table (else bin's). */
void dsn_index_build(dsn_index *ix, ds_object *dbg, ds_object *bin);
void dsn_index_free(dsn_index *ix);
/* A symbol at exactly addr, preferring one without a clone suffix
 * (*clone tells whether the one returned has one); NULL when none. */
const char *dsn_lookup(const dsn_index *ix, uint64_t addr, bool *clone);

#endif
