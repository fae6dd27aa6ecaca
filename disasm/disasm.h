/* disasm — one instruction at a time, through Capstone, in terms of DWARF.
 *
 * Two parts of symkit read machine code: stackwalk's crash analysis (what
 * did the faulting instruction touch?) and dumpsyms' CFI synthesis (how
 * does this function move the stack pointer?).  Both want the same small
 * facts about one instruction — its size and text, whether and where it
 * branches, its operands and the registers it reads and writes — and
 * neither wants Capstone's per-architecture types.  This wrapper decodes
 * with Capstone (libcapstone-dev, 4.0.2 on Debian 12) and hands back a
 * plain struct in which every register is a DWARF register number of the
 * architecture, plus the width of the access:
 *
 *   x86_64  rax=0 rdx=1 rcx=2 rbx=3 rsi=4 rdi=5 rbp=6 rsp=7 r8..r15=8..15
 *           rip=16 xmm0..15=17..32
 *   i386    eax=0 ecx=1 edx=2 ebx=3 esp=4 ebp=5 esi=6 edi=7 eip=8
 *           xmm0..7=21..28
 *   arm64   x0..x30=0..30 (w regs too) sp=31 v0..v31=64..95 (b/h/s/d/q)
 *   arm     r0..r15=0..15 (sp=13 lr=14 pc=15) s0..s31=64..95
 *           d0..d31=256..287 (q regs as the even d register, width 16)
 *
 * Registers without a DWARF number here (flags, segment and system
 * registers, xzr) are left out of the read/written lists; an operand naming
 * one has reg == DA_REG_NONE.
 *
 * A decoder is not thread-safe: open one per thread.  Decoding never reads
 * outside the buffer given; bytes that are not an instruction (or an
 * instruction cut off by the end of the buffer) give 0, not an error.
 */
#ifndef SYMKIT_DISASM_H
#define SYMKIT_DISASM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

typedef enum da_arch {
    DA_ARCH_X86,    /* i386, 32-bit */
    DA_ARCH_AMD64,  /* x86_64 */
    DA_ARCH_ARM,    /* A32 */
    DA_ARCH_THUMB,  /* T32 (Thumb-2) */
    DA_ARCH_ARM64,  /* AArch64 */
} da_arch;

/* Parses "x86", "amd64"/"x86_64", "arm", "thumb", "arm64"/"aarch64". */
bool da_arch_from_name(const char *name, da_arch *out);
const char *da_arch_name(da_arch arch);
/* DWARF number of the stack pointer / return-address register (-1 on x86,
 * where the return address lives on the stack) / frame pointer. */
int da_arch_sp(da_arch arch);
int da_arch_fp(da_arch arch);
int da_arch_lr(da_arch arch);
/* Plain name of a DWARF register ("rsp", "ebp", "x29", "sp", "r11"),
 * or NULL for numbers this module does not map. */
const char *da_reg_name(da_arch arch, int dwarf_reg);

#define DA_REG_NONE (-1)

typedef struct da_reg {
    int16_t num;    /* DWARF register number, or DA_REG_NONE */
    uint8_t width;  /* bytes accessed: 1, 2, 4, 8, 16, 32 */
    bool high8;     /* x86 ah/bh/ch/dh: bits 8..15 of the register */
} da_reg;

typedef enum da_branch {
    DA_BR_NONE = 0,
    DA_BR_CALL,
    DA_BR_JUMP,
    DA_BR_COND_JUMP,
    DA_BR_RET,
    DA_BR_INTERRUPT,  /* int, syscall, svc, brk, ud2, hlt, ... */
} da_branch;

typedef enum da_op_type { DA_OP_REG, DA_OP_IMM, DA_OP_MEM, DA_OP_OTHER } da_op_type;

typedef enum da_writeback {
    DA_WB_NONE = 0,
    DA_WB_PRE,   /* base += disp, then access [base]  (arm64 [sp, #-16]!) */
    DA_WB_POST,  /* access [base], then base += wb_offset  ([sp], #16) */
} da_writeback;

#define DA_ACCESS_READ 1u
#define DA_ACCESS_WRITE 2u

typedef struct da_mem {
    da_reg base;       /* num DA_REG_NONE when absent */
    da_reg index;      /* num DA_REG_NONE when absent */
    int scale;         /* 1 when there is no index */
    int64_t disp;
    bool segment;      /* x86 fs:/gs: (thread-local), not a plain address */
    da_writeback writeback;
    int64_t wb_offset; /* what the base register gains: disp for PRE, the
                        * post-index amount for POST; 0 for an index
                        * register post-index (wb_reg set instead) */
    da_reg wb_reg;     /* post-index by a register (arm), else NONE */
} da_mem;

typedef struct da_operand {
    da_op_type type;
    uint8_t access;    /* DA_ACCESS_READ | DA_ACCESS_WRITE */
    uint8_t size;      /* bytes, 0 when Capstone does not say */
    union {
        da_reg reg;
        int64_t imm;
        da_mem mem;
    };
} da_operand;

/* The instructions the consumers reason about by name; everything else is
 * DA_I_OTHER (use the operands and register lists). */
typedef enum da_kind {
    DA_I_OTHER = 0,
    DA_I_NOP,
    DA_I_PUSH,     /* x86 push; arm push / stmdb sp! */
    DA_I_POP,      /* x86 pop; arm pop / ldmia sp! */
    DA_I_MOV,      /* register or immediate move, incl. arm64 "mov x29, sp" */
    DA_I_ADD,
    DA_I_SUB,
    DA_I_AND,
    DA_I_LEA,
    DA_I_LEAVE,
    DA_I_ENTER,
    DA_I_LOAD,     /* arm ldr*, arm64 ldr/ldur */
    DA_I_STORE,    /* arm str*, arm64 str/stur */
    DA_I_LOAD_PAIR,   /* arm64 ldp */
    DA_I_STORE_PAIR,  /* arm64 stp */
    DA_I_LOAD_MULTI,  /* arm ldm (not through sp!) */
    DA_I_STORE_MULTI, /* arm stm (not through sp!) */
    DA_I_VPUSH,    /* arm vpush */
    DA_I_VPOP,     /* arm vpop */
    DA_I_CALL,
    DA_I_JUMP,
    DA_I_RET,
    DA_I_PAC,      /* arm64 paciasp/autiasp/... */
    DA_I_BTI,      /* endbr64/endbr32, arm64 bti */
} da_kind;

#define DA_MAX_OPERANDS 8
#define DA_MAX_REGS 24

typedef struct da_insn {
    uint64_t address;
    uint8_t size;
    da_kind kind;
    char mnemonic[32];
    char operands[160];
    char text[196];         /* "mnemonic operands", as Capstone prints them */

    da_branch branch;
    bool indirect;          /* target in a register or memory */
    bool has_target;        /* a direct target (call/jump/cond) */
    uint64_t target;
    bool conditional;       /* executes only under a condition (arm cc, cmov,
                             * arm64 csel is not: it always writes) */

    uint8_t op_count;
    da_operand ops[DA_MAX_OPERANDS];
    /* Every register read / written, explicit or implicit (push reads and
     * writes rsp), merged per DWARF number with the widest access. */
    uint8_t n_read, n_written;
    da_reg read[DA_MAX_REGS];
    da_reg written[DA_MAX_REGS];
} da_insn;

typedef struct da_decoder da_decoder;

int da_open(da_arch arch, da_decoder **out, sk_error *err);
void da_close(da_decoder *d);
da_arch da_decoder_arch(const da_decoder *d);

/* Decodes the instruction at code[0..len) that lives at `address`.
 * Returns true and fills *out; false when the bytes are no instruction
 * this architecture knows or the instruction runs past `len` (out->size is
 * then 0). */
bool da_decode(da_decoder *d, const uint8_t *code, size_t len, uint64_t address, da_insn *out);

/* Convenience: does the instruction write / read DWARF register r? */
bool da_writes(const da_insn *in, int reg);
bool da_reads(const da_insn *in, int reg);

#endif
