/*
 * synth.c — stack-height analysis: STACK CFI rows from machine code.
 *
 * Three passes over one function:
 *  1. discovery: recursive descent from the entry, decoding each reachable
 *     instruction once (disasm/) and translating it into a few
 *     architecture-neutral micro-operations on the abstract state ("sp +=
 *     16", "store x19 at [sp + 8]", "fp = sp", "x30 written") plus its
 *     control flow.  Jump targets and the instructions after a block end
 *     become block leaders.
 *  2. data flow: a worklist over the blocks.  The state at a block's entry
 *     is the meet of what its predecessors deliver; states only ever move
 *     down a finite lattice (known → unknown → conflict), and the number of
 *     block visits is bounded as well, so the pass always ends.
 *  3. rows: each block is walked once more from its final entry state; an
 *     instruction whose state gives a CFA and a return address gets a row.
 *
 * The abstract state, relative to the CFA (the stack pointer's value just
 * before the call that entered the function):
 *   h  = CFA - sp        when known (sp_known)
 *   f  = CFA - fp        when the frame pointer was set from sp (fp_known)
 *   the return address:  in the link register, and/or saved at CFA + ra_off
 *   each callee-saved register: holds the caller's value / saved at CFA + off
 *   / lost (overwritten without a save).
 * The CFA rule is fp-based where the compilers put it there (x86, arm once
 * the frame pointer is set up; arm64 only when sp is unknown), else
 * sp-based.
 */
#include "synth.h"

#include <stdlib.h>
#include <string.h>

/* Bounds that keep hostile input cheap: bigger functions get nothing. */
#define SY_MAX_SPAN (4u << 20)      /* bytes over all ranges of one function */
#define SY_MAX_INSNS 400000u
#define SY_MAX_HEIGHT (1 << 28)     /* a stack frame larger than 256 MB is not believed */

enum sy_flow {
    FL_FALL,   /* on to the next instruction (calls too) */
    FL_JUMP,   /* to target only */
    FL_CJUMP,  /* to target or the next instruction */
    FL_RET,    /* leaves the function */
    FL_IJUMP,  /* indirect jump: leaves, or goes where we cannot see */
    FL_TRAP,   /* ud2, hlt, brk, int3: does not come back here */
    FL_STOP,   /* we cannot follow: nothing after it is known on this path */
};

enum sy_uop_kind {
    U_SP_ADD,      /* sp += v */
    U_SP_ADD_REG,  /* sp += v * (value of reg), when a constant is known */
    U_SP_UNKNOWN,
    U_SP_FROM_FP,  /* sp = fp + v */
    U_FP_FROM_SP,  /* fp = sp + v */
    U_FP_ADD,      /* fp += v */
    U_STORE,       /* [base + v] = reg (reg DA_REG_NONE: something else), width bytes */
    U_LOAD,        /* reg = [base + v] */
    U_WRITE,       /* reg = something we do not follow */
    U_CONST,       /* reg = v (block-local constant, for "sub sp, sp, x16" and syscall numbers) */
    U_SYSCALL,     /* a system call: is it sigreturn? */
    U_CONFLICT,    /* the state after this cannot be known */
};

enum { BASE_SP = 0, BASE_FP = 1 };

typedef struct sy_uop {
    uint8_t kind, base, width;
    int16_t reg;
    int64_t v;
} sy_uop;

typedef struct sy_insn {
    uint64_t addr, target;
    uint32_t first_uop;
    int32_t leader; /* index in blocks, -1 when not a block entry */
    uint8_t size, nuops, flow;
    bool has_target; /* target inside the function */
    bool cond;       /* arm: executes only under a condition */
} sy_insn;

/* One decoded instruction as the analysis sees it, independent of the
 * function it is analysed in, kept across functions: later discovery
 * rounds and the final pass analyse the same code again (each reachable
 * instruction was decoded about twice, Capstone being most of the cost).
 * It holds as long as the bytes and the room to decode in do: code names
 * the code buffer it came from (ds_synth.codes), len_key is the room,
 * capped at SY_LEN_KEY (an x86 instruction is at most 15 bytes, so more
 * room cannot change what decodes).  32 bytes: there is one per
 * instruction of the module's code without compiler CFI. */
typedef struct sy_decoded {
    uint64_t addr, target;   /* target: the direct one, when has_target */
    uint32_t first_uop;      /* in ds_synth.uops */
    uint8_t code;            /* index in ds_synth.codes */
    uint8_t len_key, size;   /* size 0: no instruction here */
    uint8_t nuops, flow;     /* flow before what depends on the ranges */
    bool cond, has_target, call;
    bool starts_fn;          /* padding, or a prologue storing the link register */
} sy_decoded;

#define SY_LEN_KEY 16
#define SY_MAX_CODES 255        /* code buffers told apart; more empties the cache */
#define SY_CACHE_MAX (1u << 21) /* instructions kept; more empties the cache */

enum { ST_UNSEEN = 0, ST_OK, ST_CONFLICT };
enum { CS_ORIG = 0, CS_SAVED, CS_LOST };

typedef struct sy_state {
    uint8_t kind;
    bool sp_known, fp_known;
    bool ra_in_lr, ra_saved;
    int64_t h, f, ra_off;
    uint8_t cs[DS_SYNTH_MAX_SAVED];   /* CS_* per callee-saved register */
    bool holds[DS_SYNTH_MAX_SAVED];   /* the register still holds the caller's value */
    int32_t cs_off[DS_SYNTH_MAX_SAVED];
} sy_state;

typedef struct sy_block {
    uint32_t insn;
    bool queued;
    sy_state in;
} sy_block;

struct ds_synth {
    da_arch arch;
    da_decoder *dec;
    unsigned ptr;        /* pointer size */
    int sp, fp, lr;      /* DWARF numbers (lr -1 on x86) */
    bool prefer_fp;      /* CFA through fp once it is set up */
    int ncs;
    int cs_reg[DS_SYNTH_MAX_SAVED];
    int8_t cs_index[64]; /* DWARF number → index in cs_reg, -1 */
    int sys_reg;         /* register holding the system-call number */
    int64_t sigreturn[2];

    /* per function */
    const ds_synth_input *in;
    uint64_t span_base[16];
    size_t span_start[16];
    int32_t *at;         /* per byte of the ranges: insn index, -1 unknown, -2 inside one */
    size_t at_cap;
    sy_insn *insns;
    size_t ninsns, insns_cap;
    sy_block *blocks;
    size_t nblocks, blocks_cap;
    uint32_t *work;
    size_t nwork, work_cap;
    uint64_t *todo;
    size_t ntodo, todo_cap;
    bool reject;
    const char *why;
    /* across functions: the decoded instructions by address (open
     * addressing, index + 1, 0 empty) and their micro-operations */
    sy_decoded *dec_v;
    size_t ndec, dec_cap;
    uint32_t *dec_map;
    size_t dec_map_cap; /* a power of two, or 0 */
    sy_uop *uops;
    size_t nuops, uops_cap;
    bool keep_decoded;
    struct { const uint8_t *code; uint64_t addr; } codes[SY_MAX_CODES];
    unsigned ncodes, code;  /* code: the current function's, in codes */
    /* block-local constants */
    bool cknown[64];
    int64_t cval[64];
    /* rows gathered in pass 3, with sizes */
    uint8_t *row_size;
    size_t row_size_cap;
    uint64_t *order;     /* pass 3: (address, block) pairs */
    size_t order_cap;
};

/* ---- set-up ---------------------------------------------------------------- */

int ds_synth_open(da_arch arch, ds_synth **out, sk_error *err)
{
    ds_synth *s = sk_xcalloc(1, sizeof *s);
    int rc = da_open(arch, &s->dec, err);
    if (rc != SK_OK) {
        free(s);
        return rc;
    }
    s->arch = arch;
    s->sp = da_arch_sp(arch);
    s->fp = da_arch_fp(arch);
    s->lr = da_arch_lr(arch);
    memset(s->cs_index, -1, sizeof s->cs_index);
    /* In ascending order: rows list their saved registers in this order,
     * which ds_synth_format relies on. */
    static const int amd64_cs[] = {3, 6, 12, 13, 14, 15};
    static const int x86_cs[] = {3, 5, 6, 7};
    static const int arm64_cs[] = {19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29};
    static const int arm_cs[] = {4, 5, 6, 7, 8, 9, 10, 11};
    const int *cs = NULL;
    switch (arch) {
    case DA_ARCH_AMD64:
        s->ptr = 8, cs = amd64_cs, s->ncs = 6, s->prefer_fp = true;
        s->sys_reg = 0, s->sigreturn[0] = 15, s->sigreturn[1] = 15;
        break;
    case DA_ARCH_X86:
        s->ptr = 4, cs = x86_cs, s->ncs = 4, s->prefer_fp = true;
        s->sys_reg = 0, s->sigreturn[0] = 119, s->sigreturn[1] = 173;
        break;
    case DA_ARCH_ARM64:
        s->ptr = 8, cs = arm64_cs, s->ncs = 11, s->prefer_fp = false;
        s->sys_reg = 8, s->sigreturn[0] = 139, s->sigreturn[1] = 139;
        break;
    case DA_ARCH_ARM: case DA_ARCH_THUMB:
        s->ptr = 4, cs = arm_cs, s->ncs = 8, s->prefer_fp = true;
        s->sys_reg = 7, s->sigreturn[0] = 119, s->sigreturn[1] = 173;
        break;
    }
    for (int i = 0; i < s->ncs; i++) {
        s->cs_reg[i] = cs[i];
        s->cs_index[cs[i]] = (int8_t)i;
    }
    *out = s;
    return SK_OK;
}

void ds_synth_keep_decoded(ds_synth *s)
{
    s->keep_decoded = true;
}

void ds_synth_close(ds_synth *s)
{
    if (!s)
        return;
    da_close(s->dec);
    free(s->at);
    free(s->insns);
    free(s->uops);
    free(s->dec_v);
    free(s->dec_map);
    free(s->blocks);
    free(s->work);
    free(s->todo);
    free(s->row_size);
    free(s->order);
    free(s);
}

void ds_synth_result_init(ds_synth_result *r)
{
    memset(r, 0, sizeof *r);
}

void ds_synth_result_free(ds_synth_result *r)
{
    free(r->inits);
    free(r->rows);
    free(r->exits);
    memset(r, 0, sizeof *r);
}

/* ---- address bookkeeping --------------------------------------------------- */

/* Index of the range holding addr, or -1. */
static int range_of(const ds_synth *s, uint64_t addr)
{
    for (size_t i = 0; i < s->in->nranges && i < 16; i++) {
        const ds_synth_range *r = &s->in->ranges[i];
        if (addr >= r->addr && addr - r->addr < r->size)
            return (int)i;
    }
    return -1;
}

static int32_t *at_slot(ds_synth *s, uint64_t addr)
{
    int r = range_of(s, addr);
    if (r < 0)
        return NULL;
    return &s->at[s->span_start[r] + (addr - s->in->ranges[r].addr)];
}

static int32_t insn_at(ds_synth *s, uint64_t addr)
{
    int32_t *p = at_slot(s, addr);
    return p && *p >= 0 ? *p : -1;
}

/* ---- translation into micro-operations -------------------------------------- */

static sy_uop *uop(ds_synth *s, sy_decoded *ins, uint8_t kind)
{
    if (s->nuops == s->uops_cap)
        sk_grow((void **)&s->uops, &s->uops_cap, s->nuops + 1, sizeof *s->uops);
    sy_uop *u = &s->uops[s->nuops++];
    memset(u, 0, sizeof *u);
    u->kind = kind;
    u->reg = DA_REG_NONE;
    ins->nuops++;
    return u;
}

static void u_simple(ds_synth *s, sy_decoded *ins, uint8_t kind, int reg, int64_t v)
{
    sy_uop *u = uop(s, ins, kind);
    u->reg = (int16_t)reg;
    u->v = v;
}

static void u_mem(ds_synth *s, sy_decoded *ins, uint8_t kind, int reg, int base, int64_t off, unsigned width)
{
    sy_uop *u = uop(s, ins, kind);
    u->reg = (int16_t)reg;
    u->base = (uint8_t)base;
    u->v = off;
    u->width = (uint8_t)(width ? width : 1);
}

/* The base of a memory operand we can place relative to the CFA: sp or fp,
 * no index, no segment.  -1 otherwise. */
static int mem_base(const ds_synth *s, const da_mem *m)
{
    if (m->index.num != DA_REG_NONE || m->segment)
        return -1;
    if (m->base.num == s->sp)
        return BASE_SP;
    if (m->base.num == s->fp)
        return BASE_FP;
    return -1;
}

/* What every instruction we do not model specially does: each register
 * written is "written", each memory operand written is a store of
 * something unknown; sp written is "sp unknown". */
static void generic(ds_synth *s, sy_decoded *ins, const da_insn *d, bool skip_sp)
{
    for (unsigned i = 0; i < d->op_count; i++) {
        const da_operand *o = &d->ops[i];
        if (o->type == DA_OP_MEM && (o->access & DA_ACCESS_WRITE)) {
            int b = mem_base(s, &o->mem);
            if (b >= 0)
                u_mem(s, ins, U_STORE, DA_REG_NONE, b, o->mem.disp, o->size ? o->size : s->ptr);
        }
    }
    for (unsigned i = 0; i < d->n_written; i++) {
        int r = d->written[i].num;
        if (r == s->sp) {
            if (!skip_sp)
                u_simple(s, ins, U_SP_UNKNOWN, r, 0);
        } else {
            u_simple(s, ins, U_WRITE, r, 0);
        }
    }
}

static bool is_reg(const da_operand *o, int r)
{
    return o->type == DA_OP_REG && o->reg.num == r;
}

static void translate_x86(ds_synth *s, sy_decoded *ins, const da_insn *d)
{
    const unsigned w = s->ptr;
    const da_operand *o0 = d->op_count > 0 ? &d->ops[0] : NULL;
    const da_operand *o1 = d->op_count > 1 ? &d->ops[1] : NULL;
    /* A 32-bit write to esp in 64-bit mode (zero-extending) is not a move
     * of the stack pointer we can follow. */
    bool o0_full = o0 && o0->type == DA_OP_REG && o0->reg.width == w;

    if (strncmp(d->mnemonic, "pushf", 5) == 0) {
        unsigned size = d->mnemonic[5] == 'w' ? 2 : w;
        u_simple(s, ins, U_SP_ADD, DA_REG_NONE, -(int64_t)size);
        u_mem(s, ins, U_STORE, DA_REG_NONE, BASE_SP, 0, size);
        return;
    }
    if (strncmp(d->mnemonic, "popf", 4) == 0) {
        u_simple(s, ins, U_SP_ADD, DA_REG_NONE, d->mnemonic[4] == 'w' ? 2 : w);
        return;
    }
    switch (d->kind) {
    case DA_I_PUSH: {
        unsigned size = o0 && o0->size ? o0->size : w;
        u_simple(s, ins, U_SP_ADD, DA_REG_NONE, -(int64_t)size);
        int reg = o0 && o0->type == DA_OP_REG && o0->reg.width == w ? o0->reg.num : DA_REG_NONE;
        if (reg == s->sp)
            reg = DA_REG_NONE;
        u_mem(s, ins, U_STORE, reg, BASE_SP, 0, size);
        return;
    }
    case DA_I_POP: {
        unsigned size = o0 && o0->size ? o0->size : w;
        if (o0 && o0->type == DA_OP_REG) {
            if (o0->reg.num == s->sp) {
                u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0);
                return;
            }
            u_mem(s, ins, U_LOAD, o0->reg.num, BASE_SP, 0, size);
            u_simple(s, ins, U_SP_ADD, DA_REG_NONE, size);
            return;
        }
        if (o0 && o0->type == DA_OP_MEM && o0->mem.base.num != s->sp && o0->mem.index.num != s->sp) {
            u_simple(s, ins, U_SP_ADD, DA_REG_NONE, size);
            int b = mem_base(s, &o0->mem);
            if (b >= 0)
                u_mem(s, ins, U_STORE, DA_REG_NONE, b, o0->mem.disp, size);
            return;
        }
        u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0);
        return;
    }
    case DA_I_LEAVE:
        u_simple(s, ins, U_SP_FROM_FP, DA_REG_NONE, 0);
        u_mem(s, ins, U_LOAD, s->fp, BASE_SP, 0, w);
        u_simple(s, ins, U_SP_ADD, DA_REG_NONE, w);
        return;
    case DA_I_ENTER:
        if (d->op_count == 2 && o0->type == DA_OP_IMM && o1->type == DA_OP_IMM && o1->imm == 0) {
            u_simple(s, ins, U_SP_ADD, DA_REG_NONE, -(int64_t)w);
            u_mem(s, ins, U_STORE, s->fp, BASE_SP, 0, w);
            u_simple(s, ins, U_FP_FROM_SP, DA_REG_NONE, 0);
            u_simple(s, ins, U_SP_ADD, DA_REG_NONE, -o0->imm);
            return;
        }
        u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0);
        return;
    case DA_I_MOV:
        if (o0 && o1 && o0->type == DA_OP_REG && o1->type == DA_OP_REG) {
            if (is_reg(o0, s->sp) && is_reg(o1, s->fp) && o0_full) {
                u_simple(s, ins, U_SP_FROM_FP, DA_REG_NONE, 0);
                return;
            }
            if (is_reg(o0, s->fp) && is_reg(o1, s->sp) && o0_full) {
                u_simple(s, ins, U_FP_FROM_SP, DA_REG_NONE, 0);
                return;
            }
        }
        if (o0 && o1 && o0->type == DA_OP_MEM && o1->type == DA_OP_REG) {
            int b = mem_base(s, &o0->mem);
            if (b >= 0) {
                u_mem(s, ins, U_STORE, o1->reg.width == w ? o1->reg.num : DA_REG_NONE, b, o0->mem.disp,
                      o0->size ? o0->size : w);
                return;
            }
            return; /* a store to somewhere else */
        }
        if (o0 && o1 && o0->type == DA_OP_REG && o1->type == DA_OP_MEM) {
            int b = mem_base(s, &o1->mem);
            if (o0->reg.num == s->sp) {
                u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0); /* sp loaded from memory */
                return;
            }
            if (b >= 0 && o0->reg.width == w) {
                u_mem(s, ins, U_LOAD, o0->reg.num, b, o1->mem.disp, w);
                return;
            }
            u_simple(s, ins, U_WRITE, o0->reg.num, 0);
            return;
        }
        if (o0 && o1 && o0->type == DA_OP_REG && o1->type == DA_OP_IMM && o0->reg.width >= 4 &&
            !o0->reg.high8) {
            if (o0->reg.num == s->sp) {
                u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0);
                return;
            }
            u_simple(s, ins, U_CONST, o0->reg.num, o1->imm);
            return;
        }
        break;
    case DA_I_ADD: case DA_I_SUB:
        if (o0 && o1 && o0->type == DA_OP_REG && o1->type == DA_OP_IMM && o0_full &&
            (o0->reg.num == s->sp || o0->reg.num == s->fp)) {
            int64_t v = d->kind == DA_I_ADD ? o1->imm : -o1->imm;
            u_simple(s, ins, o0->reg.num == s->sp ? U_SP_ADD : U_FP_ADD, DA_REG_NONE, v);
            return;
        }
        if (o0 && o1 && o0->type == DA_OP_REG && o1->type == DA_OP_REG && o0_full && o0->reg.num == s->sp &&
            o1->reg.width == w) {
            u_simple(s, ins, U_SP_ADD_REG, o1->reg.num, d->kind == DA_I_ADD ? 1 : -1);
            return;
        }
        break;
    case DA_I_LEA:
        if (o0 && o1 && o0->type == DA_OP_REG && o1->type == DA_OP_MEM && o0_full) {
            int b = mem_base(s, &o1->mem);
            if (o0->reg.num == s->sp) {
                if (b == BASE_SP)
                    u_simple(s, ins, U_SP_ADD, DA_REG_NONE, o1->mem.disp);
                else if (b == BASE_FP)
                    u_simple(s, ins, U_SP_FROM_FP, DA_REG_NONE, o1->mem.disp);
                else
                    u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0);
                return;
            }
            if (o0->reg.num == s->fp) {
                if (b == BASE_SP)
                    u_simple(s, ins, U_FP_FROM_SP, DA_REG_NONE, o1->mem.disp);
                else if (b == BASE_FP)
                    u_simple(s, ins, U_FP_ADD, DA_REG_NONE, o1->mem.disp);
                else
                    u_simple(s, ins, U_WRITE, s->fp, 0);
                return;
            }
        }
        break;
    case DA_I_CALL:
        /* "call next; pop ebx": i386 PIC reads its own address. */
        if (d->has_target && d->target == d->address + d->size) {
            u_simple(s, ins, U_SP_ADD, DA_REG_NONE, -(int64_t)w);
            u_mem(s, ins, U_STORE, DA_REG_NONE, BASE_SP, 0, w);
            return;
        }
        /* The callee returns with sp where it was (its own return address
         * popped); callee-saved registers survive, others do not matter. */
        return;
    default:
        break;
    }
    if (strcmp(d->mnemonic, "syscall") == 0 || (strcmp(d->mnemonic, "int") == 0 && o0 &&
                                                 o0->type == DA_OP_IMM && o0->imm == 0x80)) {
        u_simple(s, ins, U_SYSCALL, DA_REG_NONE, 0);
        u_simple(s, ins, U_WRITE, 0, 0);
        return;
    }
    generic(s, ins, d, d->branch != DA_BR_NONE);
}

/* arm64 and arm loads and stores: each transferred register at its slot,
 * relative to the base before any writeback, then the writeback. */
static void translate_ldst(ds_synth *s, sy_decoded *ins, const da_insn *d, bool store, unsigned nregs_max)
{
    int mi = -1;
    for (unsigned i = 0; i < d->op_count; i++)
        if (d->ops[i].type == DA_OP_MEM) {
            mi = (int)i;
            break;
        }
    if (mi < 0) { /* a literal load: only the registers change */
        generic(s, ins, d, false);
        return;
    }
    const da_mem *m = &d->ops[mi].mem;
    int b = mem_base(s, m);
    /* Pre-indexed through sp: the stack grows first, so the slots are
     * stored above the new sp, not below the old one. */
    bool sp_pre = m->writeback == DA_WB_PRE && m->base.num == s->sp && m->wb_reg.num == DA_REG_NONE;
    if (sp_pre)
        u_simple(s, ins, U_SP_ADD, DA_REG_NONE, m->wb_offset);
    int64_t slot = sp_pre || m->writeback == DA_WB_POST ? 0 : m->disp;
    for (int i = 0; i < mi && (unsigned)i < nregs_max; i++) {
        const da_operand *o = &d->ops[i];
        unsigned width = o->type == DA_OP_REG && o->reg.width ? o->reg.width : s->ptr;
        int reg = o->type == DA_OP_REG ? o->reg.num : DA_REG_NONE;
        /* Only full-width general registers are saved/restored values we
         * track; others still overwrite (store) or clobber (load). */
        bool tracked = reg != DA_REG_NONE && reg < 64 && width == s->ptr;
        if (store) {
            if (b >= 0)
                u_mem(s, ins, U_STORE, tracked ? reg : DA_REG_NONE, b, slot, width);
        } else if (reg == s->sp) {
            u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0);
        } else if (reg != DA_REG_NONE) {
            if (b >= 0 && tracked)
                u_mem(s, ins, U_LOAD, reg, b, slot, width);
            else
                u_simple(s, ins, U_WRITE, reg, 0);
        }
        slot += width;
    }
    if (m->writeback != DA_WB_NONE && !sp_pre) {
        if (m->base.num == s->sp) {
            if (m->wb_reg.num != DA_REG_NONE)
                u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0);
            else
                u_simple(s, ins, U_SP_ADD, DA_REG_NONE, m->wb_offset);
        } else if (m->base.num != DA_REG_NONE) {
            u_simple(s, ins, U_WRITE, m->base.num, 0);
        }
    }
}

static void translate_arm64(ds_synth *s, sy_decoded *ins, const da_insn *d)
{
    const da_operand *o0 = d->op_count > 0 ? &d->ops[0] : NULL;
    const da_operand *o1 = d->op_count > 1 ? &d->ops[1] : NULL;
    const da_operand *o2 = d->op_count > 2 ? &d->ops[2] : NULL;
    switch (d->kind) {
    case DA_I_STORE: case DA_I_STORE_PAIR:
        translate_ldst(s, ins, d, true, d->kind == DA_I_STORE_PAIR ? 2 : 1);
        return;
    case DA_I_LOAD: case DA_I_LOAD_PAIR:
        translate_ldst(s, ins, d, false, d->kind == DA_I_LOAD_PAIR ? 2 : 1);
        return;
    case DA_I_ADD: case DA_I_SUB:
        if (o0 && o1 && o2 && o0->type == DA_OP_REG && o1->type == DA_OP_REG && o0->reg.width == 8 &&
            o1->reg.width == 8 && (o0->reg.num == s->sp || o0->reg.num == s->fp)) {
            int sign = d->kind == DA_I_ADD ? 1 : -1;
            bool dst_sp = o0->reg.num == s->sp;
            if (o2->type == DA_OP_IMM && (o1->reg.num == s->sp || o1->reg.num == s->fp)) {
                int64_t v = sign * o2->imm;
                bool src_sp = o1->reg.num == s->sp;
                if (dst_sp)
                    u_simple(s, ins, src_sp ? U_SP_ADD : U_SP_FROM_FP, DA_REG_NONE, v);
                else
                    u_simple(s, ins, src_sp ? U_FP_FROM_SP : U_FP_ADD, DA_REG_NONE, v);
                return;
            }
            if (o2->type == DA_OP_REG && dst_sp && o1->reg.num == s->sp && o2->reg.width == 8) {
                u_simple(s, ins, U_SP_ADD_REG, o2->reg.num, sign);
                return;
            }
        }
        break;
    case DA_I_MOV:
        if (o0 && o1 && o0->type == DA_OP_REG && o1->type == DA_OP_REG && o0->reg.width == 8) {
            if (o0->reg.num == s->fp && o1->reg.num == s->sp) {
                u_simple(s, ins, U_FP_FROM_SP, DA_REG_NONE, 0);
                return;
            }
            if (o0->reg.num == s->sp && o1->reg.num == s->fp) {
                u_simple(s, ins, U_SP_FROM_FP, DA_REG_NONE, 0);
                return;
            }
        }
        if (o0 && o1 && o0->type == DA_OP_REG && o1->type == DA_OP_IMM && o0->reg.num != s->sp &&
            strcmp(d->mnemonic, "movk") != 0) {
            int64_t v = strcmp(d->mnemonic, "movn") == 0 ? ~o1->imm : o1->imm;
            if (o0->reg.width == 4)
                v = (int64_t)(uint32_t)v;
            u_simple(s, ins, U_CONST, o0->reg.num, v);
            return;
        }
        break;
    case DA_I_CALL:
        u_simple(s, ins, U_WRITE, s->lr, 0);
        return;
    case DA_I_PAC: case DA_I_BTI: case DA_I_NOP:
        return;
    default:
        break;
    }
    if (strcmp(d->mnemonic, "svc") == 0) {
        u_simple(s, ins, U_SYSCALL, DA_REG_NONE, 0);
        u_simple(s, ins, U_WRITE, 0, 0);
        return;
    }
    /* Other loads/stores (ldrb, ldrsw, stur with writeback, ...): writeback
     * to sp must still be seen. */
    for (unsigned i = 0; i < d->op_count; i++)
        if (d->ops[i].type == DA_OP_MEM && d->ops[i].mem.writeback != DA_WB_NONE &&
            d->ops[i].mem.base.num == s->sp) {
            u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0);
            return;
        }
    generic(s, ins, d, d->branch != DA_BR_NONE && d->branch != DA_BR_INTERRUPT);
}

static void translate_arm(ds_synth *s, sy_decoded *ins, const da_insn *d)
{
    const da_operand *o0 = d->op_count > 0 ? &d->ops[0] : NULL;
    const da_operand *o1 = d->op_count > 1 ? &d->ops[1] : NULL;
    const da_operand *o2 = d->op_count > 2 ? &d->ops[2] : NULL;
    if (strcmp(d->mnemonic, "it") == 0 || strncmp(d->mnemonic, "it", 2) == 0) {
        /* Thumb IT blocks make the next instructions conditional; we do not
         * follow them. */
        u_simple(s, ins, U_CONFLICT, DA_REG_NONE, 0);
        return;
    }
    switch (d->kind) {
    case DA_I_PUSH: {
        /* push {r4, lr}, or stmdb sp!, {r4, lr} whose first operand is sp:
         * the lowest register at the lowest address. */
        unsigned n = d->op_count, first = 0;
        if (n && is_reg(&d->ops[0], s->sp) && strncmp(d->mnemonic, "stm", 3) == 0)
            first = 1;
        u_simple(s, ins, U_SP_ADD, DA_REG_NONE, -4 * (int64_t)(n - first));
        for (unsigned i = first; i < n; i++)
            u_mem(s, ins, U_STORE, d->ops[i].type == DA_OP_REG ? d->ops[i].reg.num : DA_REG_NONE, BASE_SP,
                  4 * (int64_t)(i - first), 4);
        return;
    }
    case DA_I_POP: case DA_I_RET:
        if (d->kind == DA_I_RET && strcmp(d->mnemonic, "pop") != 0 && strncmp(d->mnemonic, "ldm", 3) != 0)
            return; /* bx lr, mov pc, lr */
        {
            unsigned n = d->op_count, first = 0;
            /* ldm sp!, {...}: the first operand is sp itself. */
            if (n && is_reg(&d->ops[0], s->sp) && strncmp(d->mnemonic, "ldm", 3) == 0)
                first = 1;
            for (unsigned i = first; i < n; i++) {
                int reg = d->ops[i].type == DA_OP_REG ? d->ops[i].reg.num : DA_REG_NONE;
                if (reg == s->sp) {
                    u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0);
                    return;
                }
                if (reg != 15 && reg != DA_REG_NONE)
                    u_mem(s, ins, U_LOAD, reg, BASE_SP, 4 * (int64_t)(i - first), 4);
            }
            u_simple(s, ins, U_SP_ADD, DA_REG_NONE, 4 * (int64_t)(n - first));
        }
        return;
    case DA_I_VPUSH: case DA_I_VPOP: {
        int64_t bytes = 0;
        for (unsigned i = 0; i < d->op_count; i++)
            bytes += d->ops[i].type == DA_OP_REG && d->ops[i].reg.width ? d->ops[i].reg.width : 8;
        u_simple(s, ins, U_SP_ADD, DA_REG_NONE, d->kind == DA_I_VPUSH ? -bytes : bytes);
        if (d->kind == DA_I_VPUSH)
            u_mem(s, ins, U_STORE, DA_REG_NONE, BASE_SP, 0, (unsigned)(bytes > 255 ? 255 : bytes));
        return;
    }
    case DA_I_STORE: case DA_I_LOAD:
        translate_ldst(s, ins, d, d->kind == DA_I_STORE,
                       strcmp(d->mnemonic, "strd") == 0 || strcmp(d->mnemonic, "ldrd") == 0 ? 2 : 1);
        return;
    case DA_I_ADD: case DA_I_SUB: {
        /* "sub sp, sp, #8" or Thumb's two-operand "sub sp, #8". */
        const da_operand *dst = o0, *src = o1, *val = o2;
        if (d->op_count == 2) {
            src = o0;
            val = o1;
        }
        if (dst && src && val && dst->type == DA_OP_REG && src->type == DA_OP_REG &&
            (dst->reg.num == s->sp || dst->reg.num == s->fp)) {
            int sign = d->kind == DA_I_ADD ? 1 : -1;
            bool dst_sp = dst->reg.num == s->sp;
            if (val->type == DA_OP_IMM && (src->reg.num == s->sp || src->reg.num == s->fp)) {
                int64_t v = sign * val->imm;
                bool src_sp = src->reg.num == s->sp;
                if (dst_sp)
                    u_simple(s, ins, src_sp ? U_SP_ADD : U_SP_FROM_FP, DA_REG_NONE, v);
                else
                    u_simple(s, ins, src_sp ? U_FP_FROM_SP : U_FP_ADD, DA_REG_NONE, v);
                return;
            }
            if (val->type == DA_OP_REG && dst_sp && src->reg.num == s->sp) {
                u_simple(s, ins, U_SP_ADD_REG, val->reg.num, sign);
                return;
            }
        }
        break;
    }
    case DA_I_MOV:
        if (o0 && o1 && o0->type == DA_OP_REG && o1->type == DA_OP_REG && d->op_count == 2) {
            if (o0->reg.num == s->fp && o1->reg.num == s->sp) {
                u_simple(s, ins, U_FP_FROM_SP, DA_REG_NONE, 0);
                return;
            }
            if (o0->reg.num == s->sp && o1->reg.num == s->fp) {
                u_simple(s, ins, U_SP_FROM_FP, DA_REG_NONE, 0);
                return;
            }
        }
        if (o0 && o1 && o0->type == DA_OP_REG && o1->type == DA_OP_IMM && d->op_count == 2 &&
            o0->reg.num != s->sp && strcmp(d->mnemonic, "movt") != 0) {
            u_simple(s, ins, U_CONST, o0->reg.num, (int64_t)(uint32_t)o1->imm);
            return;
        }
        break;
    case DA_I_CALL:
        u_simple(s, ins, U_WRITE, s->lr, 0);
        return;
    case DA_I_NOP:
        return;
    default:
        break;
    }
    if (strcmp(d->mnemonic, "svc") == 0) {
        u_simple(s, ins, U_SYSCALL, DA_REG_NONE, 0);
        u_simple(s, ins, U_WRITE, 0, 0);
        return;
    }
    for (unsigned i = 0; i < d->op_count; i++)
        if (d->ops[i].type == DA_OP_MEM && d->ops[i].mem.writeback != DA_WB_NONE &&
            d->ops[i].mem.base.num == s->sp) {
            u_simple(s, ins, U_SP_UNKNOWN, s->sp, 0);
            return;
        }
    /* ldm/stm through other registers with sp in the list, and the rest. */
    generic(s, ins, d, false);
}

static void translate(ds_synth *s, sy_decoded *ins, const da_insn *d)
{
    ins->first_uop = (uint32_t)s->nuops;
    ins->nuops = 0;
    ins->cond = d->conditional && (s->arch == DA_ARCH_ARM || s->arch == DA_ARCH_THUMB);
    switch (d->branch) {
    case DA_BR_NONE: case DA_BR_CALL: ins->flow = FL_FALL; break;
    case DA_BR_JUMP: ins->flow = d->indirect ? FL_IJUMP : FL_JUMP; break;
    case DA_BR_COND_JUMP: ins->flow = d->indirect ? FL_IJUMP : FL_CJUMP; break;
    case DA_BR_RET: ins->flow = FL_RET; break;
    case DA_BR_INTERRUPT:
        /* System calls come back; traps and halts do not. */
        if (strcmp(d->mnemonic, "syscall") == 0 || strcmp(d->mnemonic, "sysenter") == 0 ||
            strcmp(d->mnemonic, "svc") == 0 || (strcmp(d->mnemonic, "int") == 0 && d->op_count == 1 &&
                                                d->ops[0].type == DA_OP_IMM && d->ops[0].imm == 0x80))
            ins->flow = FL_FALL;
        else
            ins->flow = FL_TRAP;
        break;
    }
    /* A conditional arm return or indirect jump may also fall through. */
    if (ins->cond && (ins->flow == FL_RET || ins->flow == FL_IJUMP))
        ins->flow = FL_CJUMP;
    ins->has_target = d->has_target;
    ins->target = d->has_target ? d->target : 0;
    ins->call = d->branch == DA_BR_CALL;
    switch (s->arch) {
    case DA_ARCH_X86: case DA_ARCH_AMD64: translate_x86(s, ins, d); break;
    case DA_ARCH_ARM64: translate_arm64(s, ins, d); break;
    case DA_ARCH_ARM: case DA_ARCH_THUMB: translate_arm(s, ins, d); break;
    }
}

/* ---- pass 1: discovery -------------------------------------------------------- */

static void todo_push(ds_synth *s, uint64_t a)
{
    if (s->ntodo == s->todo_cap)
        sk_grow((void **)&s->todo, &s->todo_cap, s->ntodo + 1, sizeof *s->todo);
    s->todo[s->ntodo++] = a;
}

static void exit_push(ds_synth_result *res, uint64_t a, bool entry)
{
    if (res->nexits == res->exits_cap)
        sk_grow((void **)&res->exits, &res->exits_cap, res->nexits + 1, sizeof *res->exits);
    res->exits[res->nexits].addr = a;
    res->exits[res->nexits].entry = entry;
    res->nexits++;
}

/* Could d be where another function starts: padding (nop, int3, ud2),
 * an entry marker (endbr64, bti, paciasp), or a store of the link
 * register?  Right after a call that just overwrote it, storing it makes
 * sense only as the next function's prologue (arm64 "stp x29, x30, [sp,
 * #-96]!" right after "bl __stack_chk_fail", arm "push {r4, lr}"). */
static bool looks_like_start(const ds_synth *s, const da_insn *d)
{
    if (d->kind == DA_I_NOP || d->kind == DA_I_BTI || d->kind == DA_I_PAC)
        return true;
    if (strcmp(d->mnemonic, "int3") == 0 || strcmp(d->mnemonic, "ud2") == 0)
        return true;
    if (s->lr >= 0 && (d->kind == DA_I_STORE || d->kind == DA_I_STORE_PAIR || d->kind == DA_I_PUSH))
        for (unsigned i = 0; i < d->op_count; i++)
            if (d->ops[i].type == DA_OP_REG && d->ops[i].reg.num == s->lr)
                return true;
    return false;
}

static uint32_t *dec_slot(ds_synth *s, uint64_t a)
{
    size_t mask = s->dec_map_cap - 1;
    size_t h = (size_t)((a * 0x9e3779b97f4a7c15ull) >> 32) & mask;
    while (s->dec_map[h] && s->dec_v[s->dec_map[h] - 1].addr != a)
        h = (h + 1) & mask;
    return &s->dec_map[h];
}

static void dec_rehash(ds_synth *s, size_t cap)
{
    free(s->dec_map);
    s->dec_map = sk_xcalloc(cap, sizeof *s->dec_map);
    s->dec_map_cap = cap;
    for (size_t i = 0; i < s->ndec; i++)
        *dec_slot(s, s->dec_v[i].addr) = (uint32_t)(i + 1);
}

/* Empties the decode cache unless the caller keeps its code unchanged
 * (ds_synth_keep_decoded), or when it has grown past its bounds; only
 * between functions, whose instructions point into it.  Then finds the
 * function's code buffer among those the entries came from. */
static void dec_prepare(ds_synth *s)
{
    const ds_synth_input *in = s->in;
    unsigned c = 0;
    while (c < s->ncodes && (s->codes[c].code != in->code || s->codes[c].addr != in->code_addr))
        c++;
    if (!s->keep_decoded || s->ndec >= SY_CACHE_MAX || c == SY_MAX_CODES) {
        s->ndec = s->nuops = 0;
        if (s->dec_map_cap)
            memset(s->dec_map, 0, s->dec_map_cap * sizeof *s->dec_map);
        s->ncodes = c = 0;
    }
    if (c == s->ncodes) {
        s->codes[c].code = in->code;
        s->codes[c].addr = in->code_addr;
        s->ncodes++;
    }
    s->code = c;
}

/* The instruction at a with len bytes of room (a is inside the code), from
 * the cache or decoded now.  The pointer holds until the next call. */
static const sy_decoded *decoded_at(ds_synth *s, uint64_t a, size_t len)
{
    uint8_t key = (uint8_t)(len < SY_LEN_KEY ? len : SY_LEN_KEY);
    if ((s->ndec + 1) * 2 > s->dec_map_cap)
        dec_rehash(s, s->dec_map_cap ? 2 * s->dec_map_cap : 1024);
    uint32_t *slot = dec_slot(s, a);
    sy_decoded *e;
    if (*slot) {
        e = &s->dec_v[*slot - 1];
        if (e->code == s->code && e->len_key == key)
            return e;
    } else {
        if (s->ndec == s->dec_cap)
            sk_grow((void **)&s->dec_v, &s->dec_cap, s->ndec + 1, sizeof *s->dec_v);
        e = &s->dec_v[s->ndec++];
        *slot = (uint32_t)s->ndec;
    }
    /* New, or decoded from other bytes or room: (re)decode. */
    memset(e, 0, sizeof *e);
    e->addr = a;
    e->code = (uint8_t)s->code;
    e->len_key = key;
    da_insn d;
    if (!da_decode(s->dec, s->in->code + (size_t)(a - s->in->code_addr), len, a, &d))
        return e; /* size 0 */
    e->size = d.size;
    translate(s, e, &d);
    e->starts_fn = looks_like_start(s, &d);
    return e;
}

/* Room to decode at a, inside range rg and the code; 0 when a is outside
 * either. */
static size_t room_at(const ds_synth *s, uint64_t a, const ds_synth_range *rg)
{
    const ds_synth_input *in = s->in;
    if (a < in->code_addr || a - in->code_addr >= in->code_size || a < rg->addr || a - rg->addr >= rg->size)
        return 0;
    size_t len = in->code_size - (size_t)(a - in->code_addr);
    uint64_t room = rg->addr + rg->size - a;
    return len > room ? (size_t)room : len;
}

/* After a call: does what follows look like padding or another function's
 * entry?  Then the call did not return (abort, __stack_chk_fail,
 * __cxa_throw): following the bytes after it would run this frame's state
 * into a function we have no symbol for.  Only costs rows where a real
 * fall-through starts with such an instruction. */
static bool starts_new_function(ds_synth *s, uint64_t a, const ds_synth_range *rg)
{
    size_t len = room_at(s, a, rg);
    if (!len)
        return false;
    const sy_decoded *e = decoded_at(s, a, len);
    return e->size && e->starts_fn;
}

/* false: give up on the whole function (s->why says why). */
static bool discover(ds_synth *s, ds_synth_result *res)
{
    const ds_synth_input *in = s->in;
    todo_push(s, in->ranges[0].addr);
    while (s->ntodo) {
        uint64_t a = s->todo[--s->ntodo];
        for (;;) {
            int r = range_of(s, a);
            if (r < 0)
                break;
            int32_t *slot = at_slot(s, a);
            if (*slot >= 0)
                break; /* decoded already */
            if (*slot == -2) {
                s->why = "branches into the middle of an instruction";
                return false;
            }
            const ds_synth_range *rg = &in->ranges[r];
            size_t len = room_at(s, a, rg);
            if (!len)
                break;
            const sy_decoded *e = decoded_at(s, a, len);
            if (!e->size)
                break; /* undecodable or cut off at the end: the path ends */
            for (unsigned k = 1; k < e->size; k++)
                if (slot[k] != -1) {
                    s->why = "instructions overlap";
                    return false;
                }
            if (s->ninsns >= SY_MAX_INSNS) {
                s->why = "too many instructions";
                return false;
            }
            if (s->ninsns == s->insns_cap)
                sk_grow((void **)&s->insns, &s->insns_cap, s->ninsns + 1, sizeof *s->insns);
            sy_insn *ins = &s->insns[s->ninsns];
            memset(ins, 0, sizeof *ins);
            ins->addr = a;
            ins->size = e->size;
            ins->leader = -1;
            ins->first_uop = e->first_uop;
            ins->nuops = e->nuops;
            ins->flow = e->flow;
            ins->cond = e->cond;
            if ((e->flow == FL_JUMP || e->flow == FL_CJUMP) && e->has_target) {
                ins->target = e->target;
                ins->has_target = range_of(s, e->target) >= 0;
            }
            /* e is not valid past the next decoded_at */
            bool call = e->call, direct = e->has_target;
            uint64_t target = e->target;
            slot[0] = (int32_t)s->ninsns;
            for (unsigned k = 1; k < ins->size; k++)
                slot[k] = -2;
            s->ninsns++;
            if (call && ins->flow == FL_FALL && starts_new_function(s, a + ins->size, rg))
                ins->flow = FL_TRAP; /* a call that does not return, then padding or the next function */
            if (ins->has_target)
                todo_push(s, ins->target);
            else if (direct && call && target != a + ins->size)
                exit_push(res, target, true);
            if (ins->flow != FL_FALL && ins->flow != FL_CJUMP)
                break;
            a += ins->size;
        }
    }
    return true;
}

static int32_t make_leader(ds_synth *s, uint32_t i)
{
    if (s->insns[i].leader >= 0)
        return s->insns[i].leader;
    if (s->nblocks == s->blocks_cap)
        sk_grow((void **)&s->blocks, &s->blocks_cap, s->nblocks + 1, sizeof *s->blocks);
    sy_block *b = &s->blocks[s->nblocks];
    memset(b, 0, sizeof *b);
    b->insn = i;
    s->insns[i].leader = (int32_t)s->nblocks;
    return (int32_t)s->nblocks++;
}

static void find_leaders(ds_synth *s)
{
    make_leader(s, 0); /* the entry is decoded first */
    for (uint32_t i = 0; i < s->ninsns; i++) {
        const sy_insn *ins = &s->insns[i];
        if (ins->has_target) {
            int32_t t = insn_at(s, ins->target);
            if (t >= 0)
                make_leader(s, (uint32_t)t);
        }
        if (ins->flow != FL_FALL || ins->cond) {
            int32_t n = insn_at(s, ins->addr + ins->size);
            if (n >= 0)
                make_leader(s, (uint32_t)n);
        }
    }
}

/* ---- pass 2: the abstract state ------------------------------------------------- */

static void conflict(sy_state *st)
{
    st->kind = ST_CONFLICT;
}

static void entry_state(const ds_synth *s, sy_state *st)
{
    memset(st, 0, sizeof *st);
    st->kind = ST_OK;
    st->sp_known = true;
    if (s->lr >= 0) {
        st->h = 0;
        st->ra_in_lr = true;
    } else {
        st->h = s->ptr; /* the call pushed the return address */
        st->ra_saved = true;
        st->ra_off = -(int64_t)s->ptr;
    }
    for (int i = 0; i < s->ncs; i++) {
        st->cs[i] = CS_ORIG;
        st->holds[i] = true;
    }
}

/* The CFA offset of [base + off], false when the base is not known. */
static bool slot_of(const sy_state *st, int base, int64_t off, int64_t *cfa_off)
{
    if (base == BASE_SP && st->sp_known) {
        *cfa_off = off - st->h;
        return true;
    }
    if (base == BASE_FP && st->fp_known) {
        *cfa_off = off - st->f;
        return true;
    }
    return false;
}

/* A value of `reg` changed (not restored from its save slot). */
static void reg_written(const ds_synth *s, sy_state *st, int reg)
{
    if (reg == s->sp) {
        st->sp_known = false;
        return;
    }
    if (reg == s->fp)
        st->fp_known = false;
    if (reg == s->lr && s->lr >= 0)
        st->ra_in_lr = false;
    if (reg >= 0 && reg < 64 && s->cs_index[reg] >= 0) {
        int i = s->cs_index[reg];
        st->holds[i] = false;
        if (st->cs[i] == CS_ORIG)
            st->cs[i] = CS_LOST;
    }
}

/* Slots at or below CFA + below (exclusive) no longer exist once sp rose
 * above them (a signal could overwrite them). */
static void drop_dead_slots(const ds_synth *s, sy_state *st)
{
    if (!st->sp_known)
        return;
    int64_t sp_off = -st->h;
    for (int i = 0; i < s->ncs; i++)
        if (st->cs[i] == CS_SAVED && st->cs_off[i] < sp_off)
            st->cs[i] = st->holds[i] ? CS_ORIG : CS_LOST;
    if (st->ra_saved && st->ra_off < sp_off)
        st->ra_saved = false;
}

static void apply_store(const ds_synth *s, sy_state *st, const sy_uop *u)
{
    int64_t at;
    if (!slot_of(st, u->base, u->v, &at))
        return; /* relative to a base we lost: cannot be one of our slots */
    int64_t end = at + u->width;
    /* Whatever it overwrites is no longer a save. */
    for (int i = 0; i < s->ncs; i++)
        if (st->cs[i] == CS_SAVED && st->cs_off[i] < end && at < st->cs_off[i] + (int64_t)s->ptr)
            st->cs[i] = st->holds[i] ? CS_ORIG : CS_LOST;
    if (st->ra_saved && st->ra_off < end && at < st->ra_off + (int64_t)s->ptr)
        st->ra_saved = false;
    /* A save: the register still holds the caller's value, the slot is on
     * the stack (not below sp), the store is full width. */
    if (u->reg == DA_REG_NONE || u->width != s->ptr)
        return;
    if (st->sp_known && at < -st->h)
        return;
    if (u->reg == s->lr && s->lr >= 0 && st->ra_in_lr && !st->ra_saved) {
        st->ra_saved = true;
        st->ra_off = at;
        return;
    }
    if (u->reg < 64 && s->cs_index[u->reg] >= 0) {
        int i = s->cs_index[u->reg];
        if (st->holds[i] && st->cs[i] == CS_ORIG) {
            st->cs[i] = CS_SAVED;
            st->cs_off[i] = (int32_t)at;
        }
    }
}

static void apply_load(const ds_synth *s, sy_state *st, const sy_uop *u)
{
    int reg = u->reg;
    int64_t at;
    bool placed = slot_of(st, u->base, u->v, &at);
    if (reg == s->sp) {
        st->sp_known = false;
        return;
    }
    if (reg == s->lr && s->lr >= 0) {
        if (placed && st->ra_saved && st->ra_off == at) {
            /* Back in lr; the slot stays the rule (as GCC keeps it) until
             * sp rises above it. */
            st->ra_in_lr = true;
        } else {
            st->ra_in_lr = false;
        }
        return;
    }
    if (reg >= 0 && reg < 64 && s->cs_index[reg] >= 0) {
        int i = s->cs_index[reg];
        if (placed && st->cs[i] == CS_SAVED && st->cs_off[i] == at) {
            st->holds[i] = true; /* CS_ORIG once the slot is popped */
            if (reg == s->fp)
                st->fp_known = false;
            return;
        }
    }
    reg_written(s, st, reg);
}

/* The value of the system-call register is sigreturn's number. */
static bool is_sigreturn(const ds_synth *s)
{
    int r = s->sys_reg;
    return s->cknown[r] && (s->cval[r] == s->sigreturn[0] || s->cval[r] == s->sigreturn[1]);
}

static void apply(ds_synth *s, const sy_insn *ins, sy_state *st)
{
    if (st->kind != ST_OK)
        return;
    for (unsigned k = 0; k < ins->nuops; k++) {
        const sy_uop *u = &s->uops[ins->first_uop + k];
        switch (u->kind) {
        case U_SP_ADD:
            if (st->sp_known)
                st->h -= u->v;
            if (st->sp_known)
                drop_dead_slots(s, st);
            break;
        case U_SP_ADD_REG:
            if (u->reg >= 0 && u->reg < 64 && s->cknown[u->reg] && st->sp_known) {
                st->h -= u->v * s->cval[u->reg];
                drop_dead_slots(s, st);
            } else {
                st->sp_known = false;
            }
            break;
        case U_SP_UNKNOWN:
            st->sp_known = false;
            break;
        case U_SP_FROM_FP:
            st->sp_known = st->fp_known;
            st->h = st->f - u->v;
            drop_dead_slots(s, st);
            break;
        case U_FP_FROM_SP:
            reg_written(s, st, s->fp);
            st->fp_known = st->sp_known;
            st->f = st->h - u->v;
            break;
        case U_FP_ADD:
            if (st->fp_known) {
                int64_t f = st->f - u->v;
                reg_written(s, st, s->fp);
                st->fp_known = true;
                st->f = f;
            } else {
                reg_written(s, st, s->fp);
            }
            break;
        case U_STORE:
            apply_store(s, st, u);
            break;
        case U_LOAD:
            apply_load(s, st, u);
            if (u->reg >= 0 && u->reg < 64)
                s->cknown[u->reg] = false;
            break;
        case U_WRITE:
            reg_written(s, st, u->reg);
            if (u->reg >= 0 && u->reg < 64)
                s->cknown[u->reg] = false;
            break;
        case U_CONST:
            reg_written(s, st, u->reg);
            if (u->reg >= 0 && u->reg < 64) {
                s->cknown[u->reg] = true;
                s->cval[u->reg] = u->v;
            }
            break;
        case U_SYSCALL:
            if (is_sigreturn(s))
                s->reject = true;
            break;
        case U_CONFLICT:
            conflict(st);
            return;
        }
    }
    if (st->sp_known && (st->h < 0 || st->h > SY_MAX_HEIGHT))
        conflict(st);
    else if (st->fp_known && (st->f < -SY_MAX_HEIGHT || st->f > SY_MAX_HEIGHT))
        st->fp_known = false;
    if (st->kind == ST_OK && !st->sp_known && !st->fp_known)
        conflict(st);
}

static bool same_state(const ds_synth *s, const sy_state *a, const sy_state *b)
{
    if (a->kind != b->kind)
        return false;
    if (a->kind != ST_OK)
        return true;
    if (a->sp_known != b->sp_known || (a->sp_known && a->h != b->h))
        return false;
    if (a->fp_known != b->fp_known || (a->fp_known && a->f != b->f))
        return false;
    if (a->ra_in_lr != b->ra_in_lr || a->ra_saved != b->ra_saved || (a->ra_saved && a->ra_off != b->ra_off))
        return false;
    for (int i = 0; i < s->ncs; i++)
        if (a->cs[i] != b->cs[i] || a->holds[i] != b->holds[i] ||
            (a->cs[i] == CS_SAVED && a->cs_off[i] != b->cs_off[i]))
            return false;
    return true;
}

/* dst = dst ⊓ src: what holds on both paths. */
static void meet(const ds_synth *s, sy_state *dst, const sy_state *src)
{
    if (src->kind == ST_UNSEEN || dst->kind == ST_CONFLICT)
        return;
    if (dst->kind == ST_UNSEEN || src->kind == ST_CONFLICT) {
        *dst = *src;
        return;
    }
    if (!(dst->sp_known && src->sp_known && dst->h == src->h))
        dst->sp_known = false;
    if (!(dst->fp_known && src->fp_known && dst->f == src->f))
        dst->fp_known = false;
    if (!dst->sp_known && !dst->fp_known) {
        conflict(dst);
        return;
    }
    if (dst->ra_in_lr != src->ra_in_lr || dst->ra_saved != src->ra_saved ||
        (dst->ra_saved && dst->ra_off != src->ra_off)) {
        conflict(dst);
        return;
    }
    for (int i = 0; i < s->ncs; i++) {
        if (dst->cs[i] != src->cs[i] || (dst->cs[i] == CS_SAVED && dst->cs_off[i] != src->cs_off[i])) {
            conflict(dst);
            return;
        }
        dst->holds[i] = dst->holds[i] && src->holds[i];
    }
}

static void flow_into(ds_synth *s, uint32_t insn, const sy_state *st)
{
    int32_t b = s->insns[insn].leader;
    if (b < 0)
        return;
    sy_block *blk = &s->blocks[b];
    sy_state old = blk->in;
    meet(s, &blk->in, st);
    if (!same_state(s, &old, &blk->in) && !blk->queued) {
        blk->queued = true;
        if (s->nwork == s->work_cap)
            sk_grow((void **)&s->work, &s->work_cap, s->nwork + 1, sizeof *s->work);
        s->work[s->nwork++] = (uint32_t)b;
    }
}

/* The state a function is entered with: a jump made in it is a tail call. */
static bool entry_like(const ds_synth *s, const sy_state *st)
{
    sy_state e;
    entry_state(s, &e);
    if (st->kind != ST_OK || !st->sp_known || st->h != e.h || st->ra_in_lr != e.ra_in_lr ||
        st->ra_saved != e.ra_saved || (st->ra_saved && st->ra_off != e.ra_off))
        return false;
    for (int i = 0; i < s->ncs; i++)
        if (st->cs[i] == CS_LOST || (st->cs[i] == CS_SAVED && !st->holds[i]))
            return false;
    return true;
}

/* Walks block b from its entry state; with rows, gathers a row per
 * instruction into res (pass 3), else hands states to successors. */
static bool row_of(const ds_synth *s, const sy_state *st, uint64_t addr, ds_synth_row *row);
static void row_push(ds_synth *s, ds_synth_result *res, const ds_synth_row *row, uint8_t size);

static void walk_block(ds_synth *s, uint32_t b, ds_synth_result *res)
{
    sy_state st = s->blocks[b].in;
    uint32_t i = s->blocks[b].insn;
    memset(s->cknown, 0, sizeof s->cknown);
    for (;;) {
        const sy_insn *ins = &s->insns[i];
        if (res) {
            ds_synth_row row;
            if (row_of(s, &st, ins->addr, &row))
                row_push(s, res, &row, ins->size);
            if ((ins->flow == FL_JUMP || ins->flow == FL_CJUMP) && !ins->has_target && ins->target)
                exit_push(res, ins->target, entry_like(s, &st));
        }
        /* arm: a conditional instruction may not run.  The state before
         * it is kept only for those (a copy per instruction otherwise). */
        sy_state before;
        if (ins->cond)
            before = st;
        apply(s, ins, &st);
        const sy_state *taken = &st, *fall = &st;
        if (ins->cond) {
            if (ins->flow != FL_CJUMP)
                meet(s, &st, &before); /* it may not have run */
            else
                fall = &before; /* a conditional return or branch not taken */
        }
        if (ins->flow == FL_STOP) {
            sy_state c;
            memset(&c, 0, sizeof c);
            c.kind = ST_CONFLICT;
            int32_t n = insn_at(s, ins->addr + ins->size);
            if (n >= 0 && !res)
                flow_into(s, (uint32_t)n, &c);
            return;
        }
        if ((ins->flow == FL_JUMP || ins->flow == FL_CJUMP) && ins->has_target && !res) {
            int32_t t = insn_at(s, ins->target);
            if (t >= 0)
                flow_into(s, (uint32_t)t, taken);
        }
        if (ins->flow != FL_FALL && ins->flow != FL_CJUMP)
            return;
        int32_t n = insn_at(s, ins->addr + ins->size);
        if (n < 0)
            return;
        if (s->insns[n].leader >= 0) {
            if (!res)
                flow_into(s, (uint32_t)n, fall);
            return;
        }
        if (fall != &st)
            st = *fall;
        i = (uint32_t)n;
    }
}

/* ---- pass 3: rows ------------------------------------------------------------------ */

/* Is fp a frame pointer in the compilers' sense (they put the CFA on it
 * then), not a copy of sp kept for addressing?  It points at its own save
 * slot (x86 "push rbp; mov rbp, rsp", Thumb "push {r7, lr}; mov r7, sp") or
 * at the saved return address next to it (ARM "add fp, sp, #4"). */
static bool is_frame_pointer(const ds_synth *s, const sy_state *st)
{
    int i = s->cs_index[s->fp];
    if (i < 0 || st->cs[i] != CS_SAVED)
        return false;
    if (st->cs_off[i] == -st->f)
        return true;
    return st->ra_saved && st->ra_off == -st->f && st->cs_off[i] == st->ra_off - (int64_t)s->ptr;
}

static bool row_of(const ds_synth *s, const sy_state *st, uint64_t addr, ds_synth_row *row)
{
    if (st->kind != ST_OK || (!st->ra_in_lr && !st->ra_saved))
        return false;
    memset(row, 0, sizeof *row);
    row->addr = addr;
    if (st->fp_known && (!st->sp_known || (s->prefer_fp && is_frame_pointer(s, st)))) {
        row->cfa_reg = (int16_t)s->fp;
        row->cfa_off = (int32_t)st->f;
    } else if (st->sp_known) {
        row->cfa_reg = (int16_t)s->sp;
        row->cfa_off = (int32_t)st->h;
    } else {
        return false;
    }
    row->alt_reg = -1;
    if (st->fp_known && st->sp_known) {
        if (row->cfa_reg == s->sp) {
            row->alt_reg = (int16_t)s->fp;
            row->alt_off = (int32_t)st->f;
        } else {
            row->alt_reg = (int16_t)s->sp;
            row->alt_off = (int32_t)st->h;
        }
    }
    if (st->ra_saved) {
        row->ra_reg = -1;
        row->ra_off = (int32_t)st->ra_off;
    } else {
        row->ra_reg = (int16_t)s->lr;
    }
    for (int i = 0; i < s->ncs; i++)
        if (st->cs[i] == CS_SAVED) {
            row->saved[row->nsaved].reg = (int16_t)s->cs_reg[i];
            row->saved[row->nsaved].off = st->cs_off[i];
            row->nsaved++;
        }
    return true;
}

static void row_push(ds_synth *s, ds_synth_result *res, const ds_synth_row *row, uint8_t size)
{
    if (res->nrows == res->rows_cap)
        sk_grow((void **)&res->rows, &res->rows_cap, res->nrows + 1, sizeof *res->rows);
    if (res->nrows >= s->row_size_cap)
        sk_grow((void **)&s->row_size, &s->row_size_cap, res->nrows + 1, 1);
    res->rows[res->nrows] = *row;
    s->row_size[res->nrows] = size;
    res->nrows++;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Rows are gathered sorted (walk_rows), so an INIT is a run of rows each
 * starting where the one before ends. */
static void build_inits(ds_synth *s, ds_synth_result *res)
{
    size_t n = res->nrows;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        uint64_t end = res->rows[i].addr + s->row_size[i];
        while (j < n && res->rows[j].addr == end) {
            end += s->row_size[j];
            j++;
        }
        if (res->ninits == res->inits_cap)
            sk_grow((void **)&res->inits, &res->inits_cap, res->ninits + 1, sizeof *res->inits);
        ds_synth_init *it = &res->inits[res->ninits++];
        it->addr = res->rows[i].addr;
        it->size = end - it->addr;
        it->first_row = i;
        it->nrows = j - i;
        i = j;
    }
}

/* Pass 3 over the blocks in address order: a block is a run of
 * consecutive instructions, so its rows come out sorted and the whole list
 * does too, with no sort of the rows afterwards. */
static void walk_rows(ds_synth *s, ds_synth_result *res)
{
    size_t n = 0;
    if (s->nblocks * 2 > s->order_cap)
        sk_grow((void **)&s->order, &s->order_cap, s->nblocks * 2, sizeof *s->order);
    for (uint32_t b = 0; b < s->nblocks; b++)
        if (s->blocks[b].in.kind == ST_OK) {
            s->order[2 * n] = s->insns[s->blocks[b].insn].addr;
            s->order[2 * n + 1] = b;
            n++;
        }
    if (n > 1)
        qsort(s->order, n, 2 * sizeof *s->order, cmp_u64);
    for (size_t i = 0; i < n; i++)
        walk_block(s, (uint32_t)s->order[2 * i + 1], res);
}

/* ---- the whole function ---------------------------------------------------------- */

bool ds_synth_function(ds_synth *s, const ds_synth_input *in, ds_synth_result *res)
{
    res->ninits = res->nrows = res->ninsns = res->nexits = 0;
    res->gave_up = NULL;
    if (!in->nranges || in->nranges > 16 || !in->code) {
        res->gave_up = "no usable address range";
        return false;
    }
    s->in = in;
    s->ninsns = s->nblocks = s->nwork = s->ntodo = 0;
    dec_prepare(s);
    s->reject = false;
    s->why = NULL;
    size_t span = 0;
    for (size_t i = 0; i < in->nranges; i++) {
        if (in->ranges[i].size > SY_MAX_SPAN || span + in->ranges[i].size > SY_MAX_SPAN) {
            res->gave_up = "function too large";
            return false;
        }
        s->span_start[i] = span;
        span += (size_t)in->ranges[i].size;
    }
    if (span > s->at_cap) {
        free(s->at);
        s->at = sk_xmalloc(span * sizeof *s->at);
        s->at_cap = span;
    }
    memset(s->at, 0xff, span * sizeof *s->at); /* -1 everywhere */
    if (range_of(s, in->ranges[0].addr) != 0) {
        res->gave_up = "entry outside its range";
        return false;
    }
    if (!discover(s, res)) {
        res->gave_up = s->why;
        return false;
    }
    if (!s->ninsns) {
        res->gave_up = "the entry does not decode";
        return false;
    }
    res->ninsns = s->ninsns;
    find_leaders(s);

    sy_state entry;
    entry_state(s, &entry);
    flow_into(s, 0, &entry);
    size_t visits = 0, limit = 64 * s->nblocks + 64;
    while (s->nwork) {
        uint32_t b = s->work[--s->nwork];
        s->blocks[b].queued = false;
        if (++visits > limit) {
            res->gave_up = "the data flow does not settle";
            return false;
        }
        walk_block(s, b, NULL);
    }
    if (s->reject) {
        res->gave_up = "a signal-return trampoline";
        return false;
    }
    walk_rows(s, res);
    build_inits(s, res);
    return res->nrows > 0;
}

/* ---- text ---------------------------------------------------------------------------- */

void ds_synth_names_init(ds_synth_names *n, const char *const *names, unsigned nnames)
{
    memset(n, 0, sizeof *n);
    for (unsigned r = 0; r < nnames && r < DS_SYNTH_NAMED; r++) {
        size_t len = names[r] ? strlen(names[r]) : 0;
        if (len && len <= UINT16_MAX) {
            n->names[r] = names[r];
            n->len[r] = (uint16_t)len;
        }
    }
}

static const char *reg_name(const ds_synth_names *n, int reg)
{
    return reg >= 0 && reg < DS_SYNTH_NAMED ? n->names[reg] : NULL;
}

/* The text is written in place (sk_buf_room), without printf: it is
 * made for every synthesized row.  A rule takes at most two names, a
 * 32-bit number and RULE_ROOM bytes of punctuation. */
#define RULE_ROOM 32

#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) + sizeof(lit) - 1)

static char *put_str(char *p, const char *str, size_t n)
{
    memcpy(p, str, n);
    return p + n;
}

static char *put_int(char *p, int32_t v)
{
    if (v < 0) {
        *p++ = '-';
        return sk_fmt_dec(p, (uint64_t)-(int64_t)v);
    }
    return sk_fmt_dec(p, (uint64_t)v);
}

/* Where the next rule goes, after a space unless it starts the text. */
static char *rule_room(sk_buf *out, size_t names_len)
{
    char *p = sk_buf_room(out, names_len + RULE_ROOM);
    if (out->len && p[-1] != ' ')
        *p++ = ' ';
    return p;
}

static char *put_reg(char *p, const ds_synth_names *n, int reg)
{
    return put_str(p, n->names[reg], n->len[reg]);
}

/* ".cfa: REG OFF +" */
static void put_cfa(sk_buf *out, const ds_synth_names *n, int reg, int32_t off)
{
    char *p = rule_room(out, n->len[reg]);
    p = PUT_LIT(p, ".cfa: ");
    p = put_reg(p, n, reg);
    *p++ = ' ';
    p = put_int(p, off);
    p = PUT_LIT(p, " +");
    sk_buf_commit(out, p);
}

/* "REG: .cfa OFF + ^" (reg < 0: ".ra"). */
static void put_saved(sk_buf *out, const ds_synth_names *n, int reg, int32_t off)
{
    char *p = rule_room(out, reg >= 0 ? n->len[reg] : 0);
    p = reg >= 0 ? put_reg(p, n, reg) : PUT_LIT(p, ".ra");
    p = PUT_LIT(p, ": .cfa ");
    p = put_int(p, off);
    p = PUT_LIT(p, " + ^");
    sk_buf_commit(out, p);
}

/* "REG: VALUE": a register (reg < 0: ".ra") held in register value. */
static void put_in_reg(sk_buf *out, const ds_synth_names *n, int reg, int value)
{
    char *p = rule_room(out, (reg >= 0 ? n->len[reg] : 0) + n->len[value]);
    p = reg >= 0 ? put_reg(p, n, reg) : PUT_LIT(p, ".ra");
    p = PUT_LIT(p, ": ");
    p = put_reg(p, n, value);
    sk_buf_commit(out, p);
}

/* The saved-register rules of a row after prev (NULL: none before): both
 * lists are in register order, so one merge walk finds the registers
 * saved anew or at another slot (their slot) and those no longer saved
 * (back in their own register), and touches nothing else. */
static bool put_saved_delta(sk_buf *out, const ds_synth_names *n, const ds_synth_row *prev,
                            const ds_synth_row *row)
{
    unsigned i = 0, j = 0, nj = prev ? prev->nsaved : 0;
    while (i < row->nsaved || j < nj) {
        int now = i < row->nsaved ? row->saved[i].reg : INT16_MAX;
        int before = j < nj ? prev->saved[j].reg : INT16_MAX;
        int reg = now < before ? now : before;
        bool same = now == before && prev->saved[j].off == row->saved[i].off;
        if (!same && !reg_name(n, reg))
            return false;
        if (now == before) {
            if (!same)
                put_saved(out, n, reg, row->saved[i].off);
            i++, j++;
        } else if (now < before) {
            put_saved(out, n, reg, row->saved[i++].off);
        } else {
            put_in_reg(out, n, reg, reg);
            j++;
        }
    }
    return true;
}

bool ds_synth_format(const ds_synth_names *n, const ds_synth_row *prev, const ds_synth_row *row, sk_buf *out)
{
    size_t start = out->len;
    if (!prev || prev->cfa_reg != row->cfa_reg || prev->cfa_off != row->cfa_off) {
        if (!reg_name(n, row->cfa_reg))
            goto bad;
        put_cfa(out, n, row->cfa_reg, row->cfa_off);
    }
    if (!prev || prev->ra_reg != row->ra_reg || (row->ra_reg < 0 && prev->ra_off != row->ra_off)) {
        if (row->ra_reg >= 0) {
            if (!reg_name(n, row->ra_reg))
                goto bad;
            put_in_reg(out, n, -1, row->ra_reg);
        } else {
            put_saved(out, n, -1, row->ra_off);
        }
    }
    if (put_saved_delta(out, n, prev, row))
        return true;
bad:
    out->len = start;
    if (out->data)
        out->data[start] = '\0';
    return false;
}

void ds_synth_format_alt(const ds_synth_names *n, const ds_synth_row *row, sk_buf *out)
{
    if (!reg_name(n, row->alt_reg))
        return;
    char *p = sk_buf_room(out, n->len[row->alt_reg] + RULE_ROOM);
    p = put_reg(p, n, row->alt_reg);
    *p++ = ' ';
    p = put_int(p, row->alt_off);
    p = PUT_LIT(p, " +");
    sk_buf_commit(out, p);
}
