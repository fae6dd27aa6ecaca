/* analysis.c — crash analysis from the faulting instruction (analysis.h).
 *
 * The rules follow rust-minidump's (minidump-processor op_analysis and its
 * bit-flip heuristics), which is what Socorro shows: see docs/stackwalk.md
 * "Crash analysis" for each rule and why. */
#include "analysis.h"

#include "disasm.h"

#include <string.h>

static bool reg_value(const sw_cpu *cpu, const sw_regs *regs, const da_insn *in, int num, uint64_t *out)
{
    if (num == DA_REG_NONE)
        return false;
    /* pc-relative: the pc reads as the next instruction on x86, +8/+4 on
     * ARM/Thumb, the instruction itself on arm64 */
    if (num == cpu->pc) {
        if (cpu == &sw_cpu_amd64 || cpu == &sw_cpu_x86)
            *out = in->address + in->size;
        else if (cpu == &sw_cpu_arm)
            *out = in->address + (in->size == 2 || (regs->r[cpu->pc] & 1) ? 4 : 8);
        else
            *out = in->address;
        return true;
    }
    if (num < 0 || num >= SW_MAX_REGS || !sw_reg_ok(regs, num))
        return false;
    *out = regs->r[num];
    return true;
}

static bool is_non_canonical(const sw_cpu *cpu, uint64_t a)
{
    if (cpu != &sw_cpu_amd64)
        return false;
    uint64_t top = a >> 47;
    return top != 0 && top != 0x1ffff;
}

static bool valid_address(const md_info *info, uint64_t a)
{
    for (size_t i = 0; i < info->nmodules; i++)
        if (a >= info->modules[i].base && a - info->modules[i].base < info->modules[i].size)
            return true;
    return md_memory_at(&info->memory, a, 1) != NULL;
}

static bool access_violation(const sw_report *r)
{
    const char *t = r->crash_type;
    return t && (strncmp(t, "SIGSEGV", 7) == 0 || strncmp(t, "SIGBUS", 6) == 0 ||
                 strncmp(t, "EXCEPTION_ACCESS_VIOLATION", 26) == 0 || strncmp(t, "EXC_BAD_ACCESS", 14) == 0 ||
                 strncmp(t, "EXCEPTION_IN_PAGE_ERROR", 23) == 0);
}

/* A register holding a repeated-byte pattern allocators use to poison
 * freed memory: a bit flip is then less likely than a use-after-free. */
static bool poison(uint64_t v, unsigned ptr_size)
{
    uint64_t b = v & 0xff;
    uint64_t rep = ptr_size == 4 ? b * 0x01010101u : b * 0x0101010101010101ull;
    if ((ptr_size == 4 ? (v & 0xffffffffu) : v) != rep)
        return false;
    static const uint8_t pats[] = {0x2b, 0x2d, 0x2f, 0x49, 0x4b, 0x4d, 0x4f, 0x6b, 0x8b,
                                   0x9b, 0x9f, 0xa5, 0xbb, 0xcc, 0xcd, 0xce, 0xdb, 0xe5};
    for (size_t i = 0; i < sizeof pats; i++)
        if (b == pats[i])
            return true;
    return false;
}

#define NEARBY 4096u
#define LOW_CUTOFF (2u * NEARBY)

static double combine(const double *v, size_t n)
{
    double prod = 1.0;
    for (size_t i = 0; i < n; i++)
        prod *= 1.0 - v[i];
    return 1.0 - prod;
}

static void bit_flips(sw_report *r, const md_info *info, const sw_cpu *cpu, const sw_regs *regs, uint64_t addr)
{
    unsigned bits = cpu->ptr_size * 8;
    bool non_canonical = is_non_canonical(cpu, addr);
    sw_bit_flip *out = sk_arena_alloc(r->arena, bits * sizeof *out);
    size_t n = 0;
    for (unsigned b = 0; b < bits; b++) {
        uint64_t c = addr ^ (1ull << b);
        if (c != 0 && !valid_address(info, c))
            continue;
        sw_bit_flip *f = &out[n++];
        memset(f, 0, sizeof *f);
        f->address = c;
        f->is_null = c == 0;
        f->was_low = f->is_null && addr <= LOW_CUTOFF;
        f->was_non_canonical = non_canonical;
        for (unsigned k = 0; k < cpu->nregs; k++) {
            if (!sw_reg_ok(regs, (int)k))
                continue;
            uint64_t v = regs->r[k];
            uint64_t d = v > c ? v - c : c - v;
            if (c > LOW_CUTOFF && d <= NEARBY)
                f->nearby_registers++;
            if (poison(v, cpu->ptr_size))
                f->poison_registers = true;
        }
        double vals[4];
        size_t nv = 0;
        vals[nv++] = 0.25;
        if (f->was_non_canonical)
            vals[nv++] = 0.90;
        if (f->is_null)
            vals[nv++] = f->was_low ? 0.50 * 0.50 : 0.50;
        if (f->nearby_registers) {
            static const double near[4] = {0.50, 0.55, 0.60, 0.65};
            vals[nv++] = near[(f->nearby_registers < 4 ? f->nearby_registers : 4) - 1];
        }
        f->confidence = combine(vals, nv);
        if (f->poison_registers)
            f->confidence *= 0.50;
    }
    r->bit_flips = out;
    r->nbit_flips = n;
}

static void add_inconsistency(sw_report *r, const char *what)
{
    const char **v = sk_arena_alloc(r->arena, (r->ncrash_inconsistencies + 1) * sizeof *v);
    if (r->ncrash_inconsistencies)
        memcpy(v, r->crash_inconsistencies, r->ncrash_inconsistencies * sizeof *v);
    v[r->ncrash_inconsistencies++] = what;
    r->crash_inconsistencies = v;
}

static bool has_prefix(const char *s, const char *p)
{
    return s && strncmp(s, p, strlen(p)) == 0;
}

void sw_analyze_crash(sw_report *r, const md_info *info, const sw_cpu *cpu, const sw_regs *regs, bool thumb)
{
    if (!r->has_exception || !sw_reg_ok(regs, cpu->pc))
        return;
    da_arch arch;
    if (cpu == &sw_cpu_amd64)
        arch = DA_ARCH_AMD64;
    else if (cpu == &sw_cpu_x86)
        arch = DA_ARCH_X86;
    else if (cpu == &sw_cpu_arm64)
        arch = DA_ARCH_ARM64;
    else if (cpu == &sw_cpu_arm)
        arch = thumb ? DA_ARCH_THUMB : DA_ARCH_ARM;
    else
        return;
    uint64_t pc = regs->r[cpu->pc];
    if (arch == DA_ARCH_THUMB)
        pc &= ~1ull;
    /* as many bytes as the dump has, up to the longest instruction */
    const uint8_t *code = NULL;
    size_t len = 16;
    while (len && !(code = md_memory_at(&info->memory, pc, len)))
        len--;
    if (!code)
        return;
    sk_error err;
    da_decoder *d;
    if (da_open(arch, &d, &err)) {
        sk_log(SK_LOG_WARN, "crash analysis: %s", err.msg);
        return;
    }
    da_insn in;
    bool ok = da_decode(d, code, len, pc, &in);
    da_close(d);
    if (!ok)
        return;
    r->instruction = sk_arena_strdup(r->arena, in.text);

    /* memory accesses, with their effective addresses */
    r->has_memory_accesses = true;
    r->memory_accesses = sk_arena_alloc(r->arena, (in.op_count ? in.op_count : 1) * sizeof *r->memory_accesses);
    bool null_base = false;
    int64_t null_disp = 0;
    for (unsigned i = 0; i < in.op_count; i++) {
        const da_operand *op = &in.ops[i];
        if (op->type != DA_OP_MEM || op->mem.segment)
            continue;
        uint64_t base = 0, index = 0;
        bool have_base = op->mem.base.num == DA_REG_NONE || reg_value(cpu, regs, &in, op->mem.base.num, &base);
        bool have_index = op->mem.index.num == DA_REG_NONE || reg_value(cpu, regs, &in, op->mem.index.num, &index);
        if (!have_base || !have_index)
            continue;
        uint64_t ea = base + index * (uint64_t)op->mem.scale;
        if (op->mem.writeback != DA_WB_POST)
            ea += (uint64_t)op->mem.disp;
        if (cpu->ptr_size == 4)
            ea &= 0xffffffffu;
        sw_memory_access *m = &r->memory_accesses[r->nmemory_accesses++];
        memset(m, 0, sizeof *m);
        m->address = ea;
        m->size = op->size;
        /* Capstone gives ARM memory operands no size: the access is as wide
         * as the register loaded or stored (twice that for a pair) */
        if (!m->size)
            for (unsigned k = 0; k < in.op_count; k++)
                if (in.ops[k].type == DA_OP_REG && in.ops[k].reg.width) {
                    m->size = in.ops[k].reg.width *
                              (in.kind == DA_I_LOAD_PAIR || in.kind == DA_I_STORE_PAIR ? 2u : 1u);
                    break;
                }
        m->has_size = m->size != 0;
        /* an access into memory the process may not touch at all, which
         * allocators put around big blocks: likely an overflow */
        for (size_t k = 0; k < info->nno_access; k++)
            if (ea >= info->no_access[k].start && ea - info->no_access[k].start < info->no_access[k].size)
                m->is_likely_guard_page = true;
        if (op->mem.base.num != DA_REG_NONE && base == 0 && op->mem.index.num == DA_REG_NONE) {
            null_base = true;
            null_disp = op->mem.disp;
        }
    }

    /* where the pc goes next */
    if (in.branch == DA_BR_CALL || in.branch == DA_BR_JUMP || in.branch == DA_BR_RET ||
        in.branch == DA_BR_COND_JUMP) {
        uint64_t target = 0;
        bool known = false;
        if (in.has_target) {
            target = in.target;
            known = true;
        } else if (in.branch == DA_BR_RET && (cpu == &sw_cpu_amd64 || cpu == &sw_cpu_x86)) {
            const uint8_t *p = md_memory_at(&info->memory, regs->r[cpu->sp], cpu->ptr_size);
            if (p) {
                target = cpu->ptr_size == 8 ? md_u64(p) : md_u32(p);
                known = true;
            }
        } else if (in.branch == DA_BR_RET && cpu->lr >= 0 && sw_reg_ok(regs, cpu->lr)) {
            target = regs->r[cpu->lr];
            known = true;
        } else if (in.indirect) {
            for (unsigned i = 0; i < in.op_count && !known; i++) {
                if (in.ops[i].type == DA_OP_REG)
                    known = reg_value(cpu, regs, &in, in.ops[i].reg.num, &target);
                else if (in.ops[i].type == DA_OP_MEM && r->nmemory_accesses) {
                    const uint8_t *p = md_memory_at(&info->memory, r->memory_accesses[0].address, cpu->ptr_size);
                    if (p) {
                        target = cpu->ptr_size == 8 ? md_u64(p) : md_u32(p);
                        known = true;
                    }
                }
            }
        }
        if (known) {
            r->has_ip_update = true;
            r->ip_update_updated = true;
            r->ip_update_address = target;
        }
    } else {
        r->has_ip_update = true;
        r->ip_update_updated = false;
    }

    /* the address as the crash means it */
    uint64_t addr = r->crash_address;
    bool gp_fault = cpu == &sw_cpu_amd64 && (addr == 0 || addr == UINT64_MAX);
    if (gp_fault) {
        /* the kernel reports 0 for a general-protection fault: the real
         * address is the non-canonical one the instruction used */
        for (size_t i = 0; i < r->nmemory_accesses; i++)
            if (is_non_canonical(cpu, r->memory_accesses[i].address)) {
                r->adjusted_kind = "non-canonical";
                r->adjusted_value = r->memory_accesses[i].address;
            }
        if (!r->adjusted_kind && r->has_ip_update && r->ip_update_updated &&
            is_non_canonical(cpu, r->ip_update_address)) {
            r->adjusted_kind = "non-canonical";
            r->adjusted_value = r->ip_update_address;
        }
    }
    if (!r->adjusted_kind && null_base && access_violation(r) && addr < 0x10000) {
        r->adjusted_kind = "null-pointer";
        r->adjusted_value = (uint64_t)null_disp;
    }

    if (access_violation(r)) {
        uint64_t a = r->adjusted_kind && strcmp(r->adjusted_kind, "non-canonical") == 0 ? r->adjusted_value : addr;
        bit_flips(r, info, cpu, regs, a);
        bool found = false;
        for (size_t i = 0; i < r->nmemory_accesses; i++) {
            uint64_t lo = r->memory_accesses[i].address;
            uint64_t sz = r->memory_accesses[i].has_size ? r->memory_accesses[i].size : 1;
            if (a >= lo && a - lo < (sz ? sz : 1))
                found = true;
            /* a fault can land anywhere in a page the access spans */
            if ((a >> 12) == (lo >> 12) || (a >> 12) == ((lo + sz - 1) >> 12))
                found = true;
        }
        bool jumped = r->has_ip_update && r->ip_update_updated && r->ip_update_address == a;
        if (!found && !jumped && !gp_fault && pc != a)
            add_inconsistency(r, "crashing_access_not_found_in_memory_accesses");
        if (gp_fault && !r->adjusted_kind)
            add_inconsistency(r, "non_canonical_address_falsely_reported");
    }
    bool div_crash = (has_prefix(r->crash_type, "SIGFPE / FPE_INTDIV") ||
                      has_prefix(r->crash_type, "EXCEPTION_INT_DIVIDE_BY_ZERO"));
    if (div_crash && strstr(in.mnemonic, "div") == NULL)
        add_inconsistency(r, "int_div_by_zero_not_possible");
}
