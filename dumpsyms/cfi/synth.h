/*
 * synth.h (internal) — STACK CFI for code the compiler wrote none for.
 *
 * musl's libc.so, hand-written assembly and -fno-asynchronous-unwind-tables
 * builds have no FDE for most functions, so every walker stops inside them.
 * This analysis derives the rules from the machine code: it decodes the
 * function (disasm/, Capstone), follows the stack pointer, the frame
 * pointer, the return address and the callee-saved registers through every
 * path from the entry, merges the states where paths meet, and gives a row
 * only where every path agrees.  It is our own code because no maintained
 * library does stack-height analysis for CFI (angr/BAP-style frameworks are
 * not C, not in Debian, or do far more than this and are slower).
 *
 * Conservative by construction: anything it cannot follow (an unknown or
 * undecodable instruction, the stack pointer loaded from memory or moved by
 * a register amount with no frame pointer to fall back on, an indirect jump
 * whose targets it cannot see, a return address it lost track of) ends the
 * path there, and states that disagree at a join give no rows from there
 * on.  A function that branches into the middle of one of its own
 * instructions, or that is a signal-return trampoline, gets nothing.
 *
 * Input: the bytes of a code section, the address ranges of one function
 * (the first holds the entry), the architecture.  Output: one full row per
 * covered instruction, grouped into INIT ranges of contiguous covered
 * instructions; ds_synth_format() turns a range into Breakpad STACK CFI
 * text.  Nothing here knows about ELF, sym_module or threads: callers give
 * each thread its own ds_synth.
 */
#ifndef SYMKIT_DUMPSYMS_CFI_SYNTH_H
#define SYMKIT_DUMPSYMS_CFI_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"
#include "disasm.h"

#define DS_SYNTH_MAX_SAVED 12

typedef struct ds_synth_range {
    uint64_t addr, size;
} ds_synth_range;

typedef struct ds_synth_input {
    da_arch arch;
    const uint8_t *code; /* bytes of the section holding the ranges */
    uint64_t code_addr;  /* address of code[0] */
    size_t code_size;
    const ds_synth_range *ranges; /* ranges[0].addr is the entry point */
    size_t nranges;
} ds_synth_input;

/* The rules in effect at one instruction boundary (before it runs). */
typedef struct ds_synth_row {
    uint64_t addr;
    int16_t cfa_reg;   /* DWARF number: CFA = cfa_reg + cfa_off */
    int32_t cfa_off;
    int16_t ra_reg;    /* >= 0: the return address is in this register */
    int32_t ra_off;    /* ra_reg < 0: saved at CFA + ra_off */
    uint8_t nsaved;    /* callee-saved registers saved at CFA + off, in
                        * ascending register order (the text is in it) */
    struct { int16_t reg; int32_t off; } saved[DS_SYNTH_MAX_SAVED];
    /* When both sp and fp are known: the CFA through the other one
     * (alt_reg -1 otherwise).  Only for tests that compare with compilers,
     * which choose either. */
    int16_t alt_reg;
    int32_t alt_off;
} ds_synth_row;

typedef struct ds_synth_init {
    uint64_t addr, size;
    size_t first_row, nrows; /* rows[first_row].addr == addr */
} ds_synth_init;

typedef struct ds_synth_result {
    ds_synth_init *inits;
    size_t ninits, inits_cap;
    ds_synth_row *rows;      /* sorted by address, one per covered instruction */
    size_t nrows, rows_cap;
    size_t ninsns;           /* instructions the analysis reached */
    /* Direct call targets and jumps out of the ranges: where other code
     * starts (for callers that have no symbol for it).  entry: a call, or a
     * jump made with the stack as it was at the entry (a tail call); other
     * jumps go to code that continues this frame (a cold part), which
     * bounds functions but must not be analysed as one. */
    struct ds_synth_exit { uint64_t addr; bool entry; } *exits;
    size_t nexits, exits_cap;
    const char *gave_up;     /* why the function got nothing at all, or NULL */
} ds_synth_result;

typedef struct ds_synth ds_synth;

int ds_synth_open(da_arch arch, ds_synth **out, sk_error *err);
void ds_synth_close(ds_synth *s);
/* The caller promises that code bytes at an address stay the same in every
 * later call (its section buffers live as long as s): instructions decoded
 * for one function are then kept for the next (the same code is analysed
 * again in later rounds).  Without it nothing is kept across calls. */
void ds_synth_keep_decoded(ds_synth *s);

/* Analyses one function.  Fills *res (emptied first; reused across
 * calls); true when at least one row was given. */
bool ds_synth_function(ds_synth *s, const ds_synth_input *in, ds_synth_result *res);
void ds_synth_result_init(ds_synth_result *r);
void ds_synth_result_free(ds_synth_result *r);

/* Register names for the text form, resolved once per architecture (with
 * their lengths, for the text written per row): names[dwarf] ("$rsp",
 * "x29"), NULL when unnamed.  Rows only name registers below
 * DS_SYNTH_NAMED (sp, fp, the return-address and callee-saved ones). */
#define DS_SYNTH_NAMED 64
typedef struct ds_synth_names {
    const char *names[DS_SYNTH_NAMED];
    uint16_t len[DS_SYNTH_NAMED];
} ds_synth_names;

/* From a table indexed by DWARF number (NULL or "" when unnamed). */
void ds_synth_names_init(ds_synth_names *n, const char *const *names, unsigned nnames);

/* Rules of `row` as STACK CFI text: every rule when prev is NULL (an INIT),
 * else only those that changed since prev (a delta row; "" when none):
 * the CFA, the return address, and the saved registers that are new, moved
 * or restored (the two saved lists are merged, not searched per register).
 * Appends to out; false when a register has no name (then nothing is
 * usable: the caller drops the range). */
bool ds_synth_format(const ds_synth_names *n, const ds_synth_row *prev, const ds_synth_row *row,
                     sk_buf *out);
/* The alternative CFA rule of a row as text ("x29 16 +"), "" when none. */
void ds_synth_format_alt(const ds_synth_names *n, const ds_synth_row *row, sk_buf *out);

#endif
