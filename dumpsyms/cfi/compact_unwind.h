/*
 * compact_unwind.h (internal) — Apple's compact unwind (__TEXT,__unwind_info,
 * version 1) decoded into STACK CFI rules for x86_64 and arm64.
 *
 * The decoder sees only bytes: the section, the code it describes (for
 * x86_64's "indirect" stack sizes, read from the function's own
 * `sub $n, %rsp`), the image base the section's offsets count from and the
 * function starts that split one entry into its functions.  Which load
 * command those came from is macho/'s business; cfi.c hands them over
 * through the object layer (see ds_collect_compact_unwind in cfi_int.h).
 *
 * Written here because no packaged library decodes the format (LLVM's
 * libunwind does it at run time for the current process only), and the
 * section is untrusted: every array (common encodings, index, pages, page
 * encodings) is checked to lie inside it, entry counts cannot exceed what
 * the section holds, and function offsets must increase across pages, so a
 * hostile file cannot make us loop, read outside it or emit overlapping
 * records.
 */
#ifndef SYMKIT_DUMPSYMS_COMPACT_UNWIND_H
#define SYMKIT_DUMPSYMS_COMPACT_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef enum ds_cu_arch { DS_CU_ARCH_OTHER = 0, DS_CU_ARCH_X86_64, DS_CU_ARCH_ARM64 } ds_cu_arch;

/* What one function's encoding says. */
enum { DS_CU_NONE = 0, DS_CU_RULES, DS_CU_DWARF, DS_CU_UNSUPPORTED };

typedef struct ds_cu_input {
    const char *path;              /* for messages */
    ds_cu_arch arch;
    const uint8_t *info;           /* __unwind_info */
    size_t info_size;
    uint64_t base;                 /* the image base its function offsets count from (__TEXT vmaddr) */
    const uint8_t *code;           /* the instructions at code_addr (NULL: not available) */
    size_t code_size;
    uint64_t code_addr;
    const uint64_t *func_starts;   /* increasing absolute addresses; may be NULL */
    size_t nfunc_starts;
} ds_cu_input;

typedef struct ds_cu_func {
    uint64_t addr, size;  /* absolute */
    uint32_t encoding;
    uint8_t kind;         /* DS_CU_RULES or DS_CU_DWARF (NONE/UNSUPPORTED are not kept) */
    uint32_t fde_off;     /* DS_CU_DWARF: offset of the FDE in __eh_frame */
    size_t init;          /* DS_CU_RULES: offset of the INIT rules in text */
    /* Rows for the prologue, when its instructions were recognised: INIT
     * is then the entry state and the last row the encoding's rules. */
    size_t first_row, nrows; /* in ds_cu_table.rows */
} ds_cu_func;

typedef struct ds_cu_row {
    uint64_t addr;
    size_t rules; /* offset in text */
} ds_cu_row;

typedef struct ds_cu_table {
    ds_cu_func *funcs;  /* increasing, non-overlapping */
    size_t nfuncs;
    ds_cu_row *rows;
    size_t nrows, rows_cap;
    sk_buf text;        /* NUL-separated rule strings */
    size_t unsupported; /* encodings we could not express (counted, not fatal) */
    size_t none;        /* ranges the table says have no unwind info */
    size_t prologues;   /* functions whose prologue got rows of their own */
} ds_cu_table;

/* Reads the section, splits its entries at the function starts and turns
 * each function's encoding into rules.  SK_EUNSUPPORTED for another CPU;
 * SK_EFORMAT ("path: __unwind_info: problem") for a corrupt section. */
int ds_cu_read(const ds_cu_input *in, ds_cu_table *out, sk_error *err);
void ds_cu_free(ds_cu_table *t);

/* The STACK CFI rules of one encoding (exposed for tests and the fuzzer):
 * appends INIT rules to out and returns DS_CU_RULES, or returns
 * DS_CU_DWARF / DS_CU_NONE / DS_CU_UNSUPPORTED.  code/code_size: the
 * function's bytes (for x86_64's indirect stack size), may be NULL. */
int ds_cu_encoding_rules(ds_cu_arch arch, uint32_t encoding, const uint8_t *code, size_t code_size,
                         sk_buf *out);

/* LC_FUNCTION_STARTS' data (ULEB128 deltas from base, ending at a 0 or at
 * the end) as absolute addresses; *out malloc'd.  SK_EFORMAT when a delta
 * runs past the data or the addresses wrap. */
int ds_cu_function_starts(const char *path, const uint8_t *data, size_t size, uint64_t base, uint64_t **out,
                          size_t *n, sk_error *err);

#endif
