/*
 * dwarf_unit.h (internal) — one DWARF compilation unit turned into
 * functions, line records and inline trees.
 *
 * A unit is read by exactly one worker thread (with its own di_unit) and
 * lands in a dsu_result that owns all its memory, so the collector can merge
 * results in unit order (deterministic output for any thread count) and free
 * each one as soon as it is merged (memory flat per unit, not per binary).
 * Addresses in a result are absolute (not yet relative to the load address);
 * files are indexes into the unit's own file table.
 */
#ifndef SYMKIT_DUMPSYMS_DWARF_UNIT_H
#define SYMKIT_DUMPSYMS_DWARF_UNIT_H

#include "dwarf_info.h"
#include "dwarf_symnames.h"

typedef struct dsu_range {
    uint64_t lo, hi; /* [lo, hi) */
} dsu_range;

typedef struct dsu_line {
    uint64_t addr;
    uint32_t size, line, file; /* file: index into dsu_result.files */
} dsu_line;

typedef struct dsu_inline {
    uint32_t depth, call_line, call_file; /* call_file: index into files */
    const char *origin;                   /* name of the inlined function */
    uint32_t first_range, nranges;        /* into dsu_result.ranges */
} dsu_inline;

/* One FUNC: a single contiguous range of a function. */
typedef struct dsu_func {
    uint64_t lo, hi;
    const char *name; /* NULL: no name anywhere */
    uint32_t first_line, nlines;     /* into dsu_result.lines */
    uint32_t first_inline, ninlines; /* into dsu_result.inlines, depth-first */
} dsu_func;

typedef struct dsu_result {
    sk_arena *arena;     /* names, paths */
    const char **files;  /* the unit's line-table files as full paths (NULL: unused) */
    size_t nfiles;
    dsu_func *funcs;
    size_t nfuncs, funcs_cap;
    dsu_line *lines;
    size_t nlines, lines_cap;
    dsu_inline *inlines;
    size_t ninlines, inlines_cap;
    dsu_range *ranges;
    size_t nranges, ranges_cap;
    /* Names that were in a dwz supplementary file we do not have: FUNCs
     * (and how many of them the symbol table named), INLINE records. */
    uint32_t sup_funcs_lost, sup_funcs_from_symtab, sup_inlines_lost;
    char *error;         /* set: the unit is corrupt and was skipped */
    char *note;          /* set: a warning that does not discard the unit */
} dsu_result;

/* What every unit needs to know about the module. */
typedef struct dsu_env {
    const char *path;          /* file named in messages */
    const dsu_range *loads;    /* executable segments; code outside them is dead */
    size_t nloads;
    bool inlines;              /* collect inline trees */
    const dsn_index *syms;     /* mangled names for functions DWARF leaves unmangled */
} dsu_env;

/* What one unit is read from. */
typedef struct dsu_input {
    di_unit *cu;       /* the unit whose DIEs give functions: opened, bases read */
    di_unit *skeleton; /* a split unit's skeleton (line table, comp dir); else NULL */
    /* The unit holding a DIE outside cu (DW_FORM_ref_addr), opened with its
     * bases read, or NULL; may be NULL itself. */
    di_unit *(*foreign)(void *ctx, uint64_t off);
    void *foreign_ctx;
    ds_demangle_cache *demangle; /* this thread's (may be NULL) */
} dsu_input;

/* Reads in->cu into out, which must be zeroed.  Never fails: a corrupt
 * unit sets out->error and leaves the rest empty. */
void dsu_process(const dsu_input *in, const dsu_env *env, dsu_result *out);
void dsu_result_free(dsu_result *r);

#endif
