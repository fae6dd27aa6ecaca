/* disasm.c — Capstone behind a DWARF-numbered instruction record.
 *
 * Capstone names registers with per-architecture enums whose layout
 * differs between versions (arm64's x29/x30 are not next to x0..x28 in
 * 4.0), so the register map is built from the names Capstone prints
 * (cs_reg_name), which are stable, once per architecture for the whole
 * process: building it costs more than a small file's whole disassembly,
 * and the packager opens a decoder for every file.  Everything a consumer
 * sees goes through that map. */
#include "disasm.h"

#include <capstone/capstone.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DA_MAX_CS_REG 1024

typedef struct reg_map {
    bool built;
    da_reg map[DA_MAX_CS_REG];
} reg_map;

/* Indexed by da_arch; built under the lock by the first decoder opened
 * for the architecture, read-only after. */
static reg_map reg_maps[DA_ARCH_ARM64 + 1];
static pthread_mutex_t reg_maps_lock = PTHREAD_MUTEX_INITIALIZER;

struct da_decoder {
    da_arch arch;
    csh cs;
    cs_insn *insn;
    const da_reg *map; /* reg_maps[arch].map */
};

static const char *const arch_names[] = {"x86", "amd64", "arm", "thumb", "arm64"};

bool da_arch_from_name(const char *name, da_arch *out)
{
    static const struct { const char *name; da_arch arch; } names[] = {
        {"x86", DA_ARCH_X86}, {"i386", DA_ARCH_X86}, {"amd64", DA_ARCH_AMD64},
        {"x86_64", DA_ARCH_AMD64}, {"arm", DA_ARCH_ARM}, {"thumb", DA_ARCH_THUMB},
        {"arm64", DA_ARCH_ARM64}, {"aarch64", DA_ARCH_ARM64},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *out = names[i].arch;
            return true;
        }
    return false;
}

const char *da_arch_name(da_arch arch)
{
    return (unsigned)arch < 5 ? arch_names[arch] : "?";
}

int da_arch_sp(da_arch arch)
{
    switch (arch) {
    case DA_ARCH_X86: return 4;
    case DA_ARCH_AMD64: return 7;
    case DA_ARCH_ARM: case DA_ARCH_THUMB: return 13;
    case DA_ARCH_ARM64: return 31;
    }
    return -1;
}

int da_arch_fp(da_arch arch)
{
    switch (arch) {
    case DA_ARCH_X86: return 5;
    case DA_ARCH_AMD64: return 6;
    case DA_ARCH_ARM: return 11;
    case DA_ARCH_THUMB: return 7;
    case DA_ARCH_ARM64: return 29;
    }
    return -1;
}

int da_arch_lr(da_arch arch)
{
    switch (arch) {
    case DA_ARCH_ARM: case DA_ARCH_THUMB: return 14;
    case DA_ARCH_ARM64: return 30;
    default: return -1;
    }
}

static const char *const amd64_gpr[17] = {"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp",
                                          "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip"};
static const char *const x86_gpr[9] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip"};

const char *da_reg_name(da_arch arch, int r)
{
    static const char *const arm64[32] = {
        "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10",
        "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20",
        "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp"};
    static const char *const arm[16] = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7",
                                        "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc"};
    switch (arch) {
    case DA_ARCH_AMD64: return r >= 0 && r < 17 ? amd64_gpr[r] : NULL;
    case DA_ARCH_X86: return r >= 0 && r < 9 ? x86_gpr[r] : NULL;
    case DA_ARCH_ARM64: return r >= 0 && r < 32 ? arm64[r] : NULL;
    case DA_ARCH_ARM: case DA_ARCH_THUMB: return r >= 0 && r < 16 ? arm[r] : NULL;
    }
    return NULL;
}

/* ---- register map from Capstone's names ------------------------------- */

static da_reg mk(int num, int width)
{
    da_reg r = {(int16_t)num, (uint8_t)width, false};
    return r;
}

/* "xmm12" with prefix "xmm" → 12; -1 unless the rest is all digits. */
static int num_after(const char *name, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncmp(name, prefix, n) != 0 || name[n] == '\0')
        return -1;
    int v = 0;
    for (const char *p = name + n; *p; p++) {
        if (*p < '0' || *p > '9' || v > 1000)
            return -1;
        v = v * 10 + (*p - '0');
    }
    return v;
}

static da_reg map_x86_name(const char *s, bool is64)
{
    /* The legacy eight, in every width; DWARF numbering differs between
     * i386 and x86_64, the letters do not. */
    static const struct { const char *q, *d, *w, *b, *h; int n64, n32; } legacy[] = {
        {"rax", "eax", "ax", "al", "ah", 0, 0}, {"rcx", "ecx", "cx", "cl", "ch", 2, 1},
        {"rdx", "edx", "dx", "dl", "dh", 1, 2}, {"rbx", "ebx", "bx", "bl", "bh", 3, 3},
        {"rsp", "esp", "sp", "spl", NULL, 7, 4}, {"rbp", "ebp", "bp", "bpl", NULL, 6, 5},
        {"rsi", "esi", "si", "sil", NULL, 4, 6}, {"rdi", "edi", "di", "dil", NULL, 5, 7},
    };
    for (size_t i = 0; i < 8; i++) {
        int n = is64 ? legacy[i].n64 : legacy[i].n32;
        if (is64 && strcmp(s, legacy[i].q) == 0) return mk(n, 8);
        if (strcmp(s, legacy[i].d) == 0) return mk(n, 4);
        if (strcmp(s, legacy[i].w) == 0) return mk(n, 2);
        if (strcmp(s, legacy[i].b) == 0) return mk(n, 1);
        if (legacy[i].h && strcmp(s, legacy[i].h) == 0) {
            da_reg r = mk(n, 1);
            r.high8 = true;
            return r;
        }
    }
    if (is64) {
        if (strcmp(s, "rip") == 0) return mk(16, 8);
        if (strcmp(s, "eip") == 0) return mk(16, 4);
        for (int n = 8; n < 16; n++) {
            char buf[8];
            snprintf(buf, sizeof buf, "r%d", n);
            size_t l = strlen(buf);
            if (strncmp(s, buf, l) == 0) {
                const char *suf = s + l;
                if (*suf == '\0') return mk(n, 8);
                if (strcmp(suf, "d") == 0) return mk(n, 4);
                if (strcmp(suf, "w") == 0) return mk(n, 2);
                if (strcmp(suf, "b") == 0) return mk(n, 1);
            }
        }
        int v;
        if ((v = num_after(s, "xmm")) >= 0 && v < 16) return mk(17 + v, 16);
        if ((v = num_after(s, "ymm")) >= 0 && v < 16) return mk(17 + v, 32);
    } else {
        if (strcmp(s, "eip") == 0) return mk(8, 4);
        int v;
        if ((v = num_after(s, "xmm")) >= 0 && v < 8) return mk(21 + v, 16);
        if ((v = num_after(s, "ymm")) >= 0 && v < 8) return mk(21 + v, 32);
    }
    return mk(DA_REG_NONE, 0);
}

static da_reg map_arm64_name(const char *s)
{
    int v;
    if (strcmp(s, "sp") == 0) return mk(31, 8);
    if (strcmp(s, "wsp") == 0) return mk(31, 4);
    if (strcmp(s, "fp") == 0) return mk(29, 8);
    if (strcmp(s, "lr") == 0) return mk(30, 8);
    if ((v = num_after(s, "x")) >= 0 && v <= 30) return mk(v, 8);
    if ((v = num_after(s, "w")) >= 0 && v <= 30) return mk(v, 4);
    static const struct { const char *p; int w; } fp[] = {
        {"b", 1}, {"h", 2}, {"s", 4}, {"d", 8}, {"q", 16}, {"v", 16}};
    for (size_t i = 0; i < 6; i++)
        if ((v = num_after(s, fp[i].p)) >= 0 && v <= 31) return mk(64 + v, fp[i].w);
    return mk(DA_REG_NONE, 0);
}

static da_reg map_arm_name(const char *s)
{
    static const struct { const char *name; int n; } alias[] = {
        {"sb", 9}, {"sl", 10}, {"fp", 11}, {"ip", 12}, {"sp", 13}, {"lr", 14}, {"pc", 15}};
    for (size_t i = 0; i < 7; i++)
        if (strcmp(s, alias[i].name) == 0) return mk(alias[i].n, 4);
    int v;
    if ((v = num_after(s, "r")) >= 0 && v <= 15) return mk(v, 4);
    if ((v = num_after(s, "s")) >= 0 && v <= 31) return mk(64 + v, 4);
    if ((v = num_after(s, "d")) >= 0 && v <= 31) return mk(256 + v, 8);
    if ((v = num_after(s, "q")) >= 0 && v <= 15) return mk(256 + 2 * v, 16);
    return mk(DA_REG_NONE, 0);
}

static void build_map(da_decoder *d, da_reg *map)
{
    for (int id = 0; id < DA_MAX_CS_REG; id++) {
        map[id] = mk(DA_REG_NONE, 0);
        const char *name = id ? cs_reg_name(d->cs, (unsigned)id) : NULL;
        if (!name)
            continue;
        switch (d->arch) {
        case DA_ARCH_X86: map[id] = map_x86_name(name, false); break;
        case DA_ARCH_AMD64: map[id] = map_x86_name(name, true); break;
        case DA_ARCH_ARM64: map[id] = map_arm64_name(name); break;
        case DA_ARCH_ARM: case DA_ARCH_THUMB: map[id] = map_arm_name(name); break;
        }
    }
}

static void use_map(da_decoder *d)
{
    reg_map *rm = &reg_maps[d->arch];
    pthread_mutex_lock(&reg_maps_lock);
    if (!rm->built) {
        build_map(d, rm->map);
        rm->built = true;
    }
    pthread_mutex_unlock(&reg_maps_lock);
    d->map = rm->map;
}

static da_reg reg_of(const da_decoder *d, unsigned id)
{
    return id < DA_MAX_CS_REG ? d->map[id] : mk(DA_REG_NONE, 0);
}

/* ---- open / close ------------------------------------------------------ */

int da_open(da_arch arch, da_decoder **out, sk_error *err)
{
    cs_arch ca;
    cs_mode mode;
    switch (arch) {
    case DA_ARCH_X86: ca = CS_ARCH_X86; mode = CS_MODE_32; break;
    case DA_ARCH_AMD64: ca = CS_ARCH_X86; mode = CS_MODE_64; break;
    case DA_ARCH_ARM: ca = CS_ARCH_ARM; mode = CS_MODE_ARM; break;
    case DA_ARCH_THUMB: ca = CS_ARCH_ARM; mode = CS_MODE_THUMB; break;
    case DA_ARCH_ARM64: ca = CS_ARCH_ARM64; mode = CS_MODE_LITTLE_ENDIAN; break;
    default: return sk_fail(err, SK_EUSAGE, "disassembler: unknown architecture %d", (int)arch);
    }
    da_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return sk_fail(err, SK_ENOMEM, "disassembler: out of memory");
    d->arch = arch;
    cs_err e = cs_open(ca, mode, &d->cs);
    if (e != CS_ERR_OK) {
        free(d);
        return sk_fail(err, SK_EUNSUPPORTED, "disassembler: Capstone cannot open %s: %s",
                       da_arch_name(arch), cs_strerror(e));
    }
    cs_option(d->cs, CS_OPT_DETAIL, CS_OPT_ON);
    d->insn = cs_malloc(d->cs);
    if (!d->insn) {
        cs_close(&d->cs);
        free(d);
        return sk_fail(err, SK_ENOMEM, "disassembler: out of memory");
    }
    use_map(d);
    *out = d;
    return SK_OK;
}

void da_close(da_decoder *d)
{
    if (!d)
        return;
    cs_free(d->insn, 1);
    cs_close(&d->cs);
    free(d);
}

da_arch da_decoder_arch(const da_decoder *d)
{
    return d->arch;
}

/* ---- register lists ---------------------------------------------------- */

static void add_reg(da_reg *list, uint8_t *n, da_reg r)
{
    if (r.num == DA_REG_NONE)
        return;
    for (unsigned i = 0; i < *n; i++)
        if (list[i].num == r.num) {
            if (r.width > list[i].width) {
                list[i].width = r.width;
                list[i].high8 = false;
            }
            return;
        }
    if (*n < DA_MAX_REGS)
        list[(*n)++] = r;
}

bool da_writes(const da_insn *in, int reg)
{
    for (unsigned i = 0; i < in->n_written; i++)
        if (in->written[i].num == reg)
            return true;
    return false;
}

bool da_reads(const da_insn *in, int reg)
{
    for (unsigned i = 0; i < in->n_read; i++)
        if (in->read[i].num == reg)
            return true;
    return false;
}

/* ---- per-architecture detail ------------------------------------------- */

static uint8_t access_of(uint8_t cs_access)
{
    uint8_t a = 0;
    if (cs_access & CS_AC_READ) a |= DA_ACCESS_READ;
    if (cs_access & CS_AC_WRITE) a |= DA_ACCESS_WRITE;
    return a;
}

static void x86_detail(const da_decoder *d, const cs_insn *ci, da_insn *out)
{
    const cs_x86 *x = &ci->detail->x86;
    for (unsigned i = 0; i < x->op_count && out->op_count < DA_MAX_OPERANDS; i++) {
        const cs_x86_op *o = &x->operands[i];
        da_operand *op = &out->ops[out->op_count++];
        op->access = access_of(o->access);
        op->size = o->size;
        switch (o->type) {
        case X86_OP_REG: op->type = DA_OP_REG; op->reg = reg_of(d, o->reg); break;
        case X86_OP_IMM: op->type = DA_OP_IMM; op->imm = o->imm; break;
        case X86_OP_MEM:
            op->type = DA_OP_MEM;
            op->mem.base = reg_of(d, o->mem.base);
            op->mem.index = reg_of(d, o->mem.index);
            op->mem.scale = o->mem.index ? o->mem.scale : 1;
            op->mem.disp = o->mem.disp;
            op->mem.segment = o->mem.segment == X86_REG_FS || o->mem.segment == X86_REG_GS;
            op->mem.wb_reg = mk(DA_REG_NONE, 0);
            /* lea computes an address, it does not touch memory. */
            if (ci->id == X86_INS_LEA)
                op->access = 0;
            break;
        default: op->type = DA_OP_OTHER; break;
        }
    }

    switch (ci->id) {
    case X86_INS_PUSH: out->kind = DA_I_PUSH; break;
    case X86_INS_POP: out->kind = DA_I_POP; break;
    case X86_INS_MOV: case X86_INS_MOVABS: out->kind = DA_I_MOV; break;
    case X86_INS_ADD: out->kind = DA_I_ADD; break;
    case X86_INS_SUB: out->kind = DA_I_SUB; break;
    case X86_INS_AND: out->kind = DA_I_AND; break;
    case X86_INS_LEA: out->kind = DA_I_LEA; break;
    case X86_INS_LEAVE: out->kind = DA_I_LEAVE; break;
    case X86_INS_ENTER: out->kind = DA_I_ENTER; break;
    case X86_INS_NOP: case X86_INS_FNOP: out->kind = DA_I_NOP; break;
    case X86_INS_ENDBR64: case X86_INS_ENDBR32: out->kind = DA_I_BTI; break;
    case X86_INS_CALL: case X86_INS_LCALL: out->kind = DA_I_CALL; out->branch = DA_BR_CALL; break;
    case X86_INS_JMP: case X86_INS_LJMP: out->kind = DA_I_JUMP; out->branch = DA_BR_JUMP; break;
    case X86_INS_RET: case X86_INS_RETF: case X86_INS_RETFQ: case X86_INS_IRET:
    case X86_INS_IRETD: case X86_INS_IRETQ:
        out->kind = DA_I_RET; out->branch = DA_BR_RET; break;
    case X86_INS_INT: case X86_INS_INT1: case X86_INS_INT3: case X86_INS_INTO:
    case X86_INS_SYSCALL: case X86_INS_SYSENTER: case X86_INS_UD2: case X86_INS_HLT:
    case X86_INS_UD0:
        out->branch = DA_BR_INTERRUPT; break;
    case X86_INS_JAE: case X86_INS_JA: case X86_INS_JBE: case X86_INS_JB: case X86_INS_JCXZ:
    case X86_INS_JECXZ: case X86_INS_JE: case X86_INS_JGE: case X86_INS_JG: case X86_INS_JLE:
    case X86_INS_JL: case X86_INS_JNE: case X86_INS_JNO: case X86_INS_JNP: case X86_INS_JNS:
    case X86_INS_JO: case X86_INS_JP: case X86_INS_JRCXZ: case X86_INS_JS: case X86_INS_LOOP:
    case X86_INS_LOOPE: case X86_INS_LOOPNE: case X86_INS_XBEGIN:
        out->kind = DA_I_JUMP; out->branch = DA_BR_COND_JUMP; break;
    default:
        if (ci->id >= X86_INS_CMOVA && ci->id <= X86_INS_CMOVS)
            out->conditional = true;
        break;
    }
    if (out->branch == DA_BR_CALL || out->branch == DA_BR_JUMP || out->branch == DA_BR_COND_JUMP) {
        if (out->op_count >= 1 && out->ops[0].type == DA_OP_IMM) {
            out->has_target = true;
            out->target = (uint64_t)out->ops[0].imm;
            if (d->arch == DA_ARCH_X86)
                out->target &= 0xffffffffu;
        } else {
            out->indirect = true;
        }
    }
}

static void arm64_detail(const da_decoder *d, const cs_insn *ci, da_insn *out)
{
    const cs_arm64 *a = &ci->detail->arm64;
    for (unsigned i = 0; i < a->op_count && out->op_count < DA_MAX_OPERANDS; i++) {
        const cs_arm64_op *o = &a->operands[i];
        /* Capstone 4 gives a post-indexed access as [base] followed by the
         * increment as one more immediate operand; fold it into the memory
         * operand so consumers see one shape for both forms. */
        if (o->type == ARM64_OP_IMM && a->writeback && out->op_count > 0 &&
            out->ops[out->op_count - 1].type == DA_OP_MEM && i == (unsigned)a->op_count - 1) {
            da_mem *m = &out->ops[out->op_count - 1].mem;
            m->writeback = DA_WB_POST;
            m->wb_offset = o->imm;
            continue;
        }
        da_operand *op = &out->ops[out->op_count++];
        op->access = access_of(o->access);
        switch (o->type) {
        case ARM64_OP_REG: op->type = DA_OP_REG; op->reg = reg_of(d, o->reg); op->size = op->reg.width; break;
        case ARM64_OP_IMM: case ARM64_OP_CIMM:
            op->type = DA_OP_IMM;
            op->imm = o->imm;
            /* "sub sp, sp, #1, lsl #12": Capstone keeps the shift apart. */
            if (o->shift.type == ARM64_SFT_LSL && o->shift.value < 64)
                op->imm = (int64_t)((uint64_t)o->imm << o->shift.value);
            break;
        case ARM64_OP_MEM:
            op->type = DA_OP_MEM;
            op->mem.base = reg_of(d, o->mem.base);
            op->mem.index = reg_of(d, o->mem.index);
            op->mem.scale = 1;
            if (o->mem.index && o->shift.type == ARM64_SFT_LSL && o->shift.value < 8)
                op->mem.scale = 1 << o->shift.value;
            op->mem.disp = o->mem.disp;
            op->mem.wb_reg = mk(DA_REG_NONE, 0);
            if (a->writeback) {
                op->mem.writeback = DA_WB_PRE;
                op->mem.wb_offset = o->mem.disp;
            }
            break;
        default: op->type = DA_OP_OTHER; break;
        }
    }
    /* Capstone 4 leaves access empty for many arm64 register operands;
     * the written list (cs_regs_access) is the reliable source. */

    switch (ci->id) {
    case ARM64_INS_NOP: out->kind = DA_I_NOP; break;
    case ARM64_INS_MOV: case ARM64_INS_MOVZ: case ARM64_INS_MOVN: out->kind = DA_I_MOV; break;
    case ARM64_INS_ADD: out->kind = DA_I_ADD; break;
    case ARM64_INS_SUB: out->kind = DA_I_SUB; break;
    case ARM64_INS_AND: out->kind = DA_I_AND; break;
    case ARM64_INS_STP: out->kind = DA_I_STORE_PAIR; break;
    case ARM64_INS_LDP: out->kind = DA_I_LOAD_PAIR; break;
    case ARM64_INS_STR: case ARM64_INS_STUR: out->kind = DA_I_STORE; break;
    case ARM64_INS_LDR: case ARM64_INS_LDUR: out->kind = DA_I_LOAD; break;
    case ARM64_INS_BL: out->kind = DA_I_CALL; out->branch = DA_BR_CALL; break;
    case ARM64_INS_BLR: out->kind = DA_I_CALL; out->branch = DA_BR_CALL; out->indirect = true; break;
    case ARM64_INS_BR: out->kind = DA_I_JUMP; out->branch = DA_BR_JUMP; out->indirect = true; break;
    case ARM64_INS_RET: out->kind = DA_I_RET; out->branch = DA_BR_RET; break;
    case ARM64_INS_ERET: out->branch = DA_BR_RET; break;
    case ARM64_INS_B:
        out->kind = DA_I_JUMP;
        out->branch = (a->cc == ARM64_CC_INVALID || a->cc == ARM64_CC_AL || a->cc == ARM64_CC_NV)
                          ? DA_BR_JUMP : DA_BR_COND_JUMP;
        break;
    case ARM64_INS_CBZ: case ARM64_INS_CBNZ: case ARM64_INS_TBZ: case ARM64_INS_TBNZ:
        out->kind = DA_I_JUMP; out->branch = DA_BR_COND_JUMP; break;
    case ARM64_INS_SVC: case ARM64_INS_HVC: case ARM64_INS_SMC: case ARM64_INS_BRK:
    case ARM64_INS_HLT:
        out->branch = DA_BR_INTERRUPT; break;
    default: break;
    }
    /* Pointer authentication and BTI are hints to Capstone 4 ("hint #25"). */
    if (ci->id == ARM64_INS_HINT && out->op_count == 1 && out->ops[0].type == DA_OP_IMM) {
        int64_t h = out->ops[0].imm;
        if (h == 25 || h == 27 || h == 29 || h == 31 || h == 24 || h == 26 || h == 28 || h == 30 ||
            h == 8 || h == 10 || h == 12 || h == 14 || h == 7)
            out->kind = DA_I_PAC;
        else if (h == 32 || h == 34 || h == 36 || h == 38)
            out->kind = DA_I_BTI;
        else if (h == 0)
            out->kind = DA_I_NOP;
    }
    if (out->branch == DA_BR_CALL || out->branch == DA_BR_JUMP || out->branch == DA_BR_COND_JUMP) {
        /* The target is the last immediate operand (tbz x0, #3, label). */
        if (!out->indirect && out->op_count >= 1 && out->ops[out->op_count - 1].type == DA_OP_IMM) {
            out->has_target = true;
            out->target = (uint64_t)out->ops[out->op_count - 1].imm;
        } else {
            out->indirect = true;
        }
    }
}

static void arm_detail(const da_decoder *d, const cs_insn *ci, da_insn *out)
{
    const cs_arm *a = &ci->detail->arm;
    for (unsigned i = 0; i < a->op_count && out->op_count < DA_MAX_OPERANDS; i++) {
        const cs_arm_op *o = &a->operands[i];
        /* Post-indexed: [base] then the offset (immediate or register) as a
         * separate operand, like arm64 above. */
        if ((o->type == ARM_OP_IMM || o->type == ARM_OP_REG) && a->writeback && i >= 1 &&
            out->op_count > 0 && out->ops[out->op_count - 1].type == DA_OP_MEM &&
            i == (unsigned)a->op_count - 1) {
            da_mem *m = &out->ops[out->op_count - 1].mem;
            m->writeback = DA_WB_POST;
            if (o->type == ARM_OP_IMM)
                m->wb_offset = o->subtracted ? -(int64_t)o->imm : o->imm;
            else
                m->wb_reg = reg_of(d, (unsigned)o->reg);
            continue;
        }
        da_operand *op = &out->ops[out->op_count++];
        op->access = access_of(o->access);
        switch (o->type) {
        case ARM_OP_REG: op->type = DA_OP_REG; op->reg = reg_of(d, (unsigned)o->reg); op->size = op->reg.width; break;
        case ARM_OP_IMM: case ARM_OP_PIMM: case ARM_OP_CIMM: op->type = DA_OP_IMM; op->imm = o->imm; break;
        case ARM_OP_MEM:
            op->type = DA_OP_MEM;
            op->mem.base = reg_of(d, (unsigned)o->mem.base);
            op->mem.index = reg_of(d, (unsigned)o->mem.index);
            op->mem.scale = o->mem.index ? o->mem.scale : 1;
            op->mem.disp = o->mem.disp;
            if (o->subtracted && op->mem.disp > 0)
                op->mem.disp = -op->mem.disp;
            op->mem.wb_reg = mk(DA_REG_NONE, 0);
            if (a->writeback) {
                op->mem.writeback = DA_WB_PRE;
                op->mem.wb_offset = op->mem.disp;
            }
            break;
        default: op->type = DA_OP_OTHER; break;
        }
    }
    out->conditional = a->cc != ARM_CC_AL && a->cc != ARM_CC_INVALID;

    bool writes_pc = false;
    for (unsigned i = 0; i < out->n_written; i++)
        if (out->written[i].num == 15)
            writes_pc = true;
    bool sp_wb = a->writeback && a->op_count >= 1 && a->operands[0].type == ARM_OP_REG &&
                 a->operands[0].reg == ARM_REG_SP;

    switch (ci->id) {
    case ARM_INS_NOP: out->kind = DA_I_NOP; break;
    case ARM_INS_PUSH: out->kind = DA_I_PUSH; break;
    case ARM_INS_POP: out->kind = DA_I_POP; break;
    case ARM_INS_STMDB: out->kind = sp_wb ? DA_I_PUSH : DA_I_STORE_MULTI; break;
    case ARM_INS_LDM: out->kind = sp_wb ? DA_I_POP : DA_I_LOAD_MULTI; break;
    case ARM_INS_STM: case ARM_INS_STMDA: case ARM_INS_STMIB: out->kind = DA_I_STORE_MULTI; break;
    case ARM_INS_LDMDA: case ARM_INS_LDMDB: case ARM_INS_LDMIB: out->kind = DA_I_LOAD_MULTI; break;
    case ARM_INS_VPUSH: out->kind = DA_I_VPUSH; break;
    case ARM_INS_VPOP: out->kind = DA_I_VPOP; break;
    case ARM_INS_MOV: case ARM_INS_MOVW: out->kind = DA_I_MOV; break;
    case ARM_INS_ADD: case ARM_INS_ADDW: out->kind = DA_I_ADD; break;
    case ARM_INS_SUB: case ARM_INS_SUBW: out->kind = DA_I_SUB; break;
    case ARM_INS_AND: out->kind = DA_I_AND; break;
    case ARM_INS_LDR: case ARM_INS_LDRB: case ARM_INS_LDRH: case ARM_INS_LDRSB:
    case ARM_INS_LDRSH: case ARM_INS_LDRD:
        out->kind = DA_I_LOAD; break;
    case ARM_INS_STR: case ARM_INS_STRB: case ARM_INS_STRH: case ARM_INS_STRD:
        out->kind = DA_I_STORE; break;
    default: break;
    }

    switch (ci->id) {
    case ARM_INS_BL: case ARM_INS_BLX:
        out->kind = DA_I_CALL;
        out->branch = DA_BR_CALL;
        break;
    case ARM_INS_B:
        out->kind = DA_I_JUMP;
        out->branch = out->conditional ? DA_BR_COND_JUMP : DA_BR_JUMP;
        break;
    case ARM_INS_CBZ: case ARM_INS_CBNZ:
        out->kind = DA_I_JUMP;
        out->branch = DA_BR_COND_JUMP;
        break;
    case ARM_INS_TBB: case ARM_INS_TBH:
        out->kind = DA_I_JUMP;
        out->branch = DA_BR_JUMP;
        out->indirect = true;
        break;
    case ARM_INS_BX:
        if (a->op_count == 1 && a->operands[0].type == ARM_OP_REG && a->operands[0].reg == ARM_REG_LR) {
            out->kind = DA_I_RET;
            out->branch = DA_BR_RET;
        } else {
            out->kind = DA_I_JUMP;
            out->branch = DA_BR_JUMP;
            out->indirect = true;
        }
        break;
    case ARM_INS_SVC: case ARM_INS_BKPT: case ARM_INS_UDF: case ARM_INS_HVC: case ARM_INS_SMC:
        out->branch = DA_BR_INTERRUPT;
        break;
    default:
        if (writes_pc) {
            /* pop {..., pc} and ldm sp!, {..., pc} return; "mov pc, lr"
             * too; any other write to pc is a jump through a register. */
            bool from_lr = out->kind == DA_I_MOV && a->op_count == 2 &&
                           a->operands[1].type == ARM_OP_REG && a->operands[1].reg == ARM_REG_LR;
            if (out->kind == DA_I_POP || from_lr) {
                out->kind = DA_I_RET;
                out->branch = DA_BR_RET;
            } else {
                out->branch = DA_BR_JUMP;
                out->indirect = true;
            }
        }
        break;
    }
    if (out->branch == DA_BR_COND_JUMP && !out->conditional && ci->id != ARM_INS_CBZ &&
        ci->id != ARM_INS_CBNZ)
        out->branch = DA_BR_JUMP;
    if (out->conditional && out->branch == DA_BR_JUMP)
        out->branch = DA_BR_COND_JUMP;
    if (out->branch == DA_BR_CALL || out->branch == DA_BR_JUMP || out->branch == DA_BR_COND_JUMP) {
        if (!out->indirect && out->op_count >= 1 && out->ops[out->op_count - 1].type == DA_OP_IMM) {
            out->has_target = true;
            out->target = (uint64_t)out->ops[out->op_count - 1].imm & 0xffffffffu;
        } else {
            out->indirect = true;
        }
    }
}

/* ---- decode ------------------------------------------------------------ */

/* Copies src (n bytes) into dst[0..cap) from position at, cut at cap - 1
 * bytes and NUL-terminated; returns the new end.  (snprintf did this, at
 * several times the cost, for every instruction the CFI synthesis
 * decodes.) */
static size_t put_str(char *dst, size_t cap, size_t at, const char *src, size_t n)
{
    if (n > cap - 1 - at)
        n = cap - 1 - at;
    memcpy(dst + at, src, n);
    dst[at + n] = '\0';
    return at + n;
}

/* mnemonic, operands and "mnemonic operands", each cut to its array. */
static void put_text(da_insn *out, const char *mnemonic, const char *op_str)
{
    size_t nm = strlen(mnemonic), no = strlen(op_str);
    put_str(out->mnemonic, sizeof out->mnemonic, 0, mnemonic, nm);
    put_str(out->operands, sizeof out->operands, 0, op_str, no);
    size_t at = put_str(out->text, sizeof out->text, 0, mnemonic, nm);
    if (no)
        at = put_str(out->text, sizeof out->text, at, " ", 1);
    put_str(out->text, sizeof out->text, at, op_str, no);
}

bool da_decode(da_decoder *d, const uint8_t *code, size_t len, uint64_t address, da_insn *out)
{
    memset(out, 0, sizeof *out);
    out->address = address;
    if (!code || len == 0)
        return false;
    const uint8_t *p = code;
    size_t n = len;
    uint64_t addr = address;
    if (!cs_disasm_iter(d->cs, &p, &n, &addr, d->insn))
        return false;
    const cs_insn *ci = d->insn;
    if (ci->size == 0 || ci->size > len || !ci->detail)
        return false;
    out->size = (uint8_t)ci->size;
    put_text(out, ci->mnemonic, ci->op_str);

    cs_regs rr, ww;
    uint8_t nr = 0, nw = 0;
    if (cs_regs_access(d->cs, ci, rr, &nr, ww, &nw) == CS_ERR_OK) {
        for (unsigned i = 0; i < nr; i++)
            add_reg(out->read, &out->n_read, reg_of(d, rr[i]));
        for (unsigned i = 0; i < nw; i++)
            add_reg(out->written, &out->n_written, reg_of(d, ww[i]));
    } else {
        const cs_detail *det = ci->detail;
        for (unsigned i = 0; i < det->regs_read_count; i++)
            add_reg(out->read, &out->n_read, reg_of(d, det->regs_read[i]));
        for (unsigned i = 0; i < det->regs_write_count; i++)
            add_reg(out->written, &out->n_written, reg_of(d, det->regs_write[i]));
    }

    switch (d->arch) {
    case DA_ARCH_X86: case DA_ARCH_AMD64: x86_detail(d, ci, out); break;
    case DA_ARCH_ARM64: arm64_detail(d, ci, out); break;
    case DA_ARCH_ARM: case DA_ARCH_THUMB: arm_detail(d, ci, out); break;
    }

    /* Capstone 4 marks arm/arm64 memory operands of stores read+write and
     * immediates "read"; say what the instruction does to memory. */
    for (unsigned i = 0; i < out->op_count; i++) {
        da_operand *op = &out->ops[i];
        if (op->type == DA_OP_IMM)
            op->access = 0;
        if (op->type == DA_OP_MEM && d->arch != DA_ARCH_X86 && d->arch != DA_ARCH_AMD64) {
            if (out->kind == DA_I_STORE || out->kind == DA_I_STORE_PAIR || out->kind == DA_I_STORE_MULTI)
                op->access = DA_ACCESS_WRITE;
            else if (out->kind == DA_I_LOAD || out->kind == DA_I_LOAD_PAIR || out->kind == DA_I_LOAD_MULTI)
                op->access = DA_ACCESS_READ;
        }
    }
    /* "ret" returns through x30 (arm64) without naming it. */
    if (d->arch == DA_ARCH_ARM64 && out->branch == DA_BR_RET && out->op_count == 0)
        add_reg(out->read, &out->n_read, mk(30, 8));

    /* Memory operands read their base and index; writeback writes the base.
     * Capstone's lists mostly say so already; make it certain. */
    for (unsigned i = 0; i < out->op_count; i++) {
        const da_operand *op = &out->ops[i];
        if (op->type == DA_OP_MEM) {
            add_reg(out->read, &out->n_read, op->mem.base);
            add_reg(out->read, &out->n_read, op->mem.index);
            if (op->mem.writeback != DA_WB_NONE)
                add_reg(out->written, &out->n_written, op->mem.base);
        } else if (op->type == DA_OP_REG && (op->access & DA_ACCESS_WRITE)) {
            add_reg(out->written, &out->n_written, op->reg);
        }
    }
    return true;
}
