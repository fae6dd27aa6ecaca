/* unwind.c — the stack-walking loop shared by every CPU.
 *
 * Per frame: STACK CFI, STACK WIN (x86), frame pointer, then a bounded scan
 * of the stack for a plausible return address.  Each method's answer is
 * sanity-checked (pc at or above 4096, stack pointer increasing, and for the
 * guessing methods a pc inside a module's known code) before it is taken,
 * so a broken or looping stack ends the walk instead of hanging it. */
#include "unwind.h"

#include <stdlib.h>
#include <string.h>

#define SCAN_WORDS 40
#define SCAN_WORDS_CONTEXT 160 /* right after the context frame: leaf frames
                                  can have big locals before their ra */

const uint8_t *sw_read_bytes(const sw_walker *w, uint64_t addr, uint64_t n)
{
    const md_region *s = &w->stack;
    if (s->data) {
        uint64_t off = addr - s->start;
        if (addr >= s->start && off <= s->size && n <= s->size - off)
            return s->data + off;
    }
    return md_memory_at(w->memory, addr, n);
}

bool sw_read_word(const sw_walker *w, uint64_t addr, uint64_t *out)
{
    const uint8_t *p = sw_read_bytes(w, addr, w->cpu->ptr_size);
    if (!p)
        return false;
    *out = w->cpu->ptr_size == 4 ? md_u32(p) : md_u64(p);
    return true;
}

bool sw_read_u32(const sw_walker *w, uint64_t addr, uint32_t *out)
{
    const uint8_t *p = sw_read_bytes(w, addr, 4);
    if (!p)
        return false;
    *out = md_u32(p);
    return true;
}

bool sw_plausible_code(const sw_walker *w, uint64_t addr)
{
    sw_module_view m = w->find_module(w->ctx, addr);
    if (!m.found)
        return false;
    if (m.symbols)
        return sym_index_covers(m.symbols, addr - m.base);
    return true;
}

const sw_cpu *sw_cpu_for_arch(uint16_t arch)
{
    switch (arch) {
    case MD_CPU_ARCHITECTURE_X86:
    case MD_CPU_ARCHITECTURE_X86_WIN64:
        return &sw_cpu_x86;
    case MD_CPU_ARCHITECTURE_AMD64:
        return &sw_cpu_amd64;
    case MD_CPU_ARCHITECTURE_ARM:
        return &sw_cpu_arm;
    case MD_CPU_ARCHITECTURE_ARM64:
    case MD_CPU_ARCHITECTURE_ARM64_OLD:
        return &sw_cpu_arm64;
    default:
        return NULL;
    }
}

static uint64_t lookup_address(const sw_walker *w, const sw_walk_frame *f, bool first)
{
    uint64_t pc = f->regs.r[w->cpu->pc];
    return first ? pc : pc - w->cpu->lookup_adjust;
}

/* Is caller a sane next frame after callee? */
static bool acceptable(const sw_walker *w, const sw_walk_frame *callee, const sw_regs *caller, bool first,
                       bool guessed)
{
    const sw_cpu *cpu = w->cpu;
    if (!sw_reg_ok(caller, cpu->pc) || !sw_reg_ok(caller, cpu->sp))
        return false;
    uint64_t pc = caller->r[cpu->pc], sp = caller->r[cpu->sp], old_sp = callee->regs.r[cpu->sp];
    if (pc < 4096)
        return false;
    /* A leaf frame on a CPU with a link register returns without touching
     * the stack; anywhere else the stack must grow towards the caller. */
    if (sp < old_sp || (sp == old_sp && !(first && cpu->lr >= 0)))
        return false;
    if (guessed && !sw_plausible_code(w, pc - cpu->lookup_adjust))
        return false;
    /* Even rules from CFI only give garbage when the callee's registers
     * were guesses: a return address outside every module ends the walk
     * (unless the dump lists no modules at all). */
    if (!guessed && w->have_modules && !w->find_module(w->ctx, pc - cpu->lookup_adjust).found)
        return false;
    if (!guessed && (callee->trust == SW_TRUST_SCAN || callee->trust == SW_TRUST_FRAME_POINTER) &&
        !sw_plausible_code(w, pc - cpu->lookup_adjust))
        return false;
    return true;
}

/* rust-minidump's end-of-walk test on any method's result. */
static bool cfi_result_sane(const sw_walker *w, const sw_walk_frame *callee, const sw_regs *caller, bool first)
{
    const sw_cpu *cpu = w->cpu;
    if (!sw_reg_ok(caller, cpu->pc) || !sw_reg_ok(caller, cpu->sp))
        return true; /* no answer at all: the other methods may have one */
    uint64_t sp = caller->r[cpu->sp], old_sp = callee->regs.r[cpu->sp];
    if (caller->r[cpu->pc] < 4096)
        return false;
    return sp > old_sp || (sp == old_sp && first && cpu->lr >= 0);
}

static void strip_pc(const sw_walker *w, sw_regs *r)
{
    if (w->address_mask && sw_reg_ok(r, w->cpu->pc))
        r->r[w->cpu->pc] &= w->address_mask;
    if (w->address_mask && w->cpu->lr >= 0 && sw_reg_ok(r, w->cpu->lr))
        r->r[w->cpu->lr] &= w->address_mask;
}

static bool by_cfi(sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller)
{
    uint64_t addr = lookup_address(w, callee, first);
    sw_module_view m = w->find_module(w->ctx, addr);
    if (!m.found || !m.symbols)
        return false;
    if (!sym_index_cfi(m.symbols, addr - m.base, &w->scratch))
        return false;
    return sw_cfi_unwind(w, w->scratch.data ? w->scratch.data : "", &callee->regs, caller);
}

static bool by_stack_win(sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller)
{
    if (!w->cpu->stack_win)
        return false;
    uint64_t addr = lookup_address(w, callee, first);
    sw_module_view m = w->find_module(w->ctx, addr);
    sym_win_frame win;
    if (!m.found || !m.symbols || !sym_index_stack_win(m.symbols, addr - m.base, &win))
        return false;
    return w->cpu->stack_win(w, callee, &win, caller);
}

/* Scans up the stack for a word that looks like a return address. */
static bool by_scan(const sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller)
{
    const sw_cpu *cpu = w->cpu;
    uint64_t sp = callee->regs.r[cpu->sp];
    unsigned words = first ? SCAN_WORDS_CONTEXT : SCAN_WORDS;
    for (unsigned i = 0; i < words; i++) {
        uint64_t slot = sp + (uint64_t)i * cpu->ptr_size, v;
        if (!sw_read_word(w, slot, &v))
            return false;
        if (w->address_mask)
            v &= w->address_mask;
        if (v < 4096 || !sw_plausible_code(w, v - cpu->lookup_adjust))
            continue;
        if (cpu->is_call_before && cpu->is_call_before(w, v) == 0)
            continue;
        memset(caller, 0, sizeof *caller);
        for (unsigned r = 0; r < cpu->nregs; r++)
            if ((cpu->callee_saved >> r & 1) && sw_reg_ok(&callee->regs, (int)r))
                sw_reg_set(caller, (int)r, callee->regs.r[r]);
        sw_reg_set(caller, cpu->pc, v);
        sw_reg_set(caller, cpu->sp, slot + cpu->ptr_size);
        /* On x86 a standard frame keeps the caller's frame pointer right
         * below the return address. */
        if (cpu->lr < 0 && sw_reg_ok(&callee->regs, cpu->fp) && callee->regs.r[cpu->fp] == slot - cpu->ptr_size) {
            uint64_t fp;
            if (sw_read_word(w, slot - cpu->ptr_size, &fp))
                sw_reg_set(caller, cpu->fp, fp);
        }
        return true;
    }
    return false;
}

void sw_walk(sw_walker *w, const sw_regs *context, sw_walk_frame **frames, size_t *nframes)
{
    size_t n = 0, cap = 0;
    sw_walk_frame *f = NULL;
    unsigned max = w->max_frames ? w->max_frames : 1024;
    sk_grow((void **)&f, &cap, 1, sizeof *f);
    f[n].regs = *context;
    f[n].trust = SW_TRUST_CONTEXT;
    strip_pc(w, &f[n].regs);
    n++;
    if (!sw_reg_ok(&f[0].regs, w->cpu->pc) || !sw_reg_ok(&f[0].regs, w->cpu->sp)) {
        *frames = f;
        *nframes = n;
        return;
    }
    while (n < max) {
        const sw_walk_frame *callee = &f[n - 1];
        bool first = n == 1;
        sw_regs caller;
        sw_trust trust = SW_TRUST_NONE;
        if (by_cfi(w, callee, first, &caller)) {
            strip_pc(w, &caller);
            if (acceptable(w, callee, &caller, first, false))
                trust = SW_TRUST_CFI;
            /* rust-minidump takes what CFI gives and ends the walk when it
             * is nonsense (pc in the first page, stack not growing) rather
             * than guessing on with the frame pointer or a scan */
            else if (!cfi_result_sane(w, callee, &caller, first))
                break;
        }
        if (!trust && by_stack_win(w, callee, first, &caller)) {
            strip_pc(w, &caller);
            if (acceptable(w, callee, &caller, first, false))
                trust = SW_TRUST_CFI;
        }
        if (!trust && w->cpu->frame_pointer(w, callee, first, &caller)) {
            strip_pc(w, &caller);
            if (acceptable(w, callee, &caller, first, true))
                trust = SW_TRUST_FRAME_POINTER;
        }
        if (!trust && by_scan(w, callee, first, &caller)) {
            strip_pc(w, &caller);
            if (acceptable(w, callee, &caller, first, true))
                trust = SW_TRUST_SCAN;
        }
        if (!trust)
            break;
        sk_grow((void **)&f, &cap, n + 1, sizeof *f);
        f[n].regs = caller;
        f[n].trust = trust;
        n++;
    }
    *frames = f;
    *nframes = n;
}

/* ---- contexts ----------------------------------------------------------- */

bool sw_read_context(uint16_t arch, const uint8_t *ctx, size_t size, const sw_cpu **cpu, sw_regs *regs)
{
    memset(regs, 0, sizeof *regs);
    *cpu = NULL;
    if (!ctx || size < 4)
        return false;
    uint32_t flags = md_u32(ctx);
    uint32_t amd64_flags = size >= 52 ? md_u32(ctx + 48) : 0;
    uint64_t flags64 = size >= 8 ? md_u64(ctx) : 0;
    enum { C_NONE, C_X86, C_AMD64, C_ARM, C_ARM64, C_ARM64_OLD } kind = C_NONE;
    /* The flags' CPU bits are authoritative when they agree with the size;
     * the system info breaks ties. */
    if (size >= sizeof(MDRawContextAMD64) && (amd64_flags & MD_CONTEXT_AMD64) &&
        (arch == MD_CPU_ARCHITECTURE_AMD64 || arch == MD_CPU_ARCHITECTURE_UNKNOWN || !sw_cpu_for_arch(arch)))
        kind = C_AMD64;
    else if (size >= sizeof(MDRawContextARM64) && (flags & 0xffffff00u) == MD_CONTEXT_ARM64)
        kind = C_ARM64;
    else if (size >= sizeof(MDRawContextARM64Old) && (flags64 & MD_CONTEXT_ARM64_OLD) &&
             (arch == MD_CPU_ARCHITECTURE_ARM64_OLD || arch == MD_CPU_ARCHITECTURE_ARM64 || !sw_cpu_for_arch(arch)))
        kind = C_ARM64_OLD;
    else if (size >= sizeof(MDRawContextX86) && (flags & 0xffffff00u) == MD_CONTEXT_X86)
        kind = C_X86;
    else if (size >= sizeof(MDRawContextARM) &&
             ((flags & 0xffffff00u) == MD_CONTEXT_ARM || (flags & 0xffffff00u) == 0) &&
             (arch == MD_CPU_ARCHITECTURE_ARM || ((flags & 0xffffff00u) == MD_CONTEXT_ARM && !sw_cpu_for_arch(arch))))
        kind = C_ARM;
    switch (kind) {
    case C_X86: {
        *cpu = &sw_cpu_x86;
        /* our numbering: eax ecx edx ebx esp ebp esi edi eip eflags */
        static const int off[] = {176, 172, 168, 164, 196, 180, 160, 156, 184, 192};
        for (int i = 0; i < 10; i++)
            sw_reg_set(regs, i, md_u32(ctx + off[i]));
        return true;
    }
    case C_AMD64: {
        *cpu = &sw_cpu_amd64;
        /* DWARF order: rax rdx rcx rbx rsi rdi rbp rsp r8..r15 rip */
        static const int off[] = {120, 136, 128, 144, 168, 176, 160, 152};
        for (int i = 0; i < 8; i++)
            sw_reg_set(regs, i, md_u64(ctx + off[i]));
        for (int i = 0; i < 8; i++)
            sw_reg_set(regs, 8 + i, md_u64(ctx + 184 + 8 * i));
        sw_reg_set(regs, 16, md_u64(ctx + 248));
        return true;
    }
    case C_ARM:
        *cpu = &sw_cpu_arm;
        for (int i = 0; i < 16; i++)
            sw_reg_set(regs, i, md_u32(ctx + 4 + 4 * i));
        return true;
    case C_ARM64:
        *cpu = &sw_cpu_arm64;
        for (int i = 0; i < 33; i++)
            sw_reg_set(regs, i, md_u64(ctx + 8 + 8 * i));
        return true;
    case C_ARM64_OLD:
        *cpu = &sw_cpu_arm64;
        for (int i = 0; i < 33; i++)
            sw_reg_set(regs, i, md_u64(ctx + 8 + 8 * i));
        return true;
    default:
        return false;
    }
}

int sw_reg_by_name(const char *const *names, unsigned nregs, const char *s, size_t n)
{
    if (n && *s == '$') {
        s++;
        n--;
    }
    for (unsigned i = 0; i < nregs; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
            return (int)i;
    return -1;
}
