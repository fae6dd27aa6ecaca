/* unwind.c — the stack-walking loop shared by every CPU.
 *
 * Per frame, the first of STACK WIN (x86), STACK CFI, the CPU's frame-pointer
 * rule and a bounded scan of the stack that gives an answer decides, and the
 * walk ends when that answer has a pc in the first page or a stack pointer
 * that did not grow — rust-minidump's walk, rule for rule (docs/stackwalk.md
 * lists each rule with its reason), so a broken or looping stack ends the
 * walk instead of hanging it. */
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

bool sw_seems_code(const sw_walker *w, uint64_t ret)
{
    /* rust-minidump looks one byte before the return address: after a call
     * to a noreturn function the return address may already lie past the
     * end of the caller */
    if (ret <= 1)
        return false;
    return sw_plausible_code(w, ret - 1);
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

/* The end-of-walk test rust-minidump applies to every method's answer: a pc
 * in the first page, or a stack pointer that did not grow (it may stay
 * equal once, for an arm/arm64 leaf returning through lr without touching
 * the stack). */
static bool walk_goes_on(const sw_walker *w, const sw_walk_frame *callee, const sw_regs *caller, bool first)
{
    const sw_cpu *cpu = w->cpu;
    uint64_t sp = caller->r[cpu->sp], old_sp = callee->regs.r[cpu->sp];
    if (caller->r[cpu->pc] < 4096)
        return false;
    return sp > old_sp || (sp == old_sp && first && cpu->lr >= 0);
}

uint64_t sw_strip(const sw_walker *w, uint64_t v)
{
    return w->address_mask ? v & w->address_mask : v;
}

static bool by_cfi(sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller)
{
    uint64_t addr = lookup_address(w, callee, first);
    sw_module_view m = w->find_module(w->ctx, addr);
    if (!m.found || !m.symbols)
        return false;
    if (!sym_index_cfi(m.symbols, addr - m.base, &w->scratch))
        return false;
    if (!sw_cfi_unwind(w, w->scratch.data ? w->scratch.data : "", &callee->regs, caller))
        return false;
    /* arm64: return addresses and saved frame pointers may carry
     * pointer-authentication bits */
    const sw_cpu *cpu = w->cpu;
    caller->r[cpu->pc] = sw_strip(w, caller->r[cpu->pc]);
    if (cpu->lr >= 0 && sw_reg_ok(caller, cpu->lr))
        caller->r[cpu->lr] = sw_strip(w, caller->r[cpu->lr]);
    if (sw_reg_ok(caller, cpu->fp))
        caller->r[cpu->fp] = sw_strip(w, caller->r[cpu->fp]);
    return true;
}

/* The size of the stack parameters of the function a frame is in (STACK
 * WIN's, else its FUNC record's; 0 when unknown): STACK WIN programs of its
 * caller's caller need it to find their return address. */
static uint32_t param_size(sw_walker *w, const sw_walk_frame *f, bool first)
{
    uint64_t addr = lookup_address(w, f, first);
    sw_module_view m = w->find_module(w->ctx, addr);
    if (!m.found || !m.symbols)
        return 0;
    sym_win_frame win;
    if (sym_index_stack_win(m.symbols, addr - m.base, &win))
        return win.param_size;
    sym_lookup l;
    return sym_index_lookup(m.symbols, addr - m.base, &l) && l.function ? l.param_size : 0;
}

static bool by_stack_win(sw_walker *w, const sw_walk_frame *frames, size_t n, sw_regs *caller)
{
    if (!w->cpu->stack_win)
        return false;
    const sw_walk_frame *callee = &frames[n - 1];
    uint64_t addr = lookup_address(w, callee, n == 1);
    sw_module_view m = w->find_module(w->ctx, addr);
    sym_win_frame win;
    if (!m.found || !m.symbols || !sym_index_stack_win(m.symbols, addr - m.base, &win))
        return false;
    uint32_t grand = n >= 2 ? param_size(w, &frames[n - 2], n == 2) : 0;
    return w->cpu->stack_win(w, callee, &win, grand, caller);
}

/* Scans up the stack for a word that looks like a return address
 * (rust-minidump's scan: 40 words, 160 right after the context frame; the
 * first word the CPU's validity test accepts wins). */
static bool by_scan(const sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller)
{
    const sw_cpu *cpu = w->cpu;
    uint64_t sp = callee->regs.r[cpu->sp];
    uint64_t pmax = cpu->ptr_size == 4 ? 0xffffffffu : UINT64_MAX;
    unsigned words = first ? SCAN_WORDS_CONTEXT : SCAN_WORDS;
    for (unsigned i = 0; i < words; i++) {
        uint64_t off = (uint64_t)i * cpu->ptr_size, slot = sp + off, v;
        if (slot < sp || slot > pmax - cpu->ptr_size) /* wraps: the stack ends here */
            return false;
        if (!sw_read_word(w, slot, &v))
            return false;
        if (!cpu->seems_code(w, v))
            continue;
        memset(caller, 0, sizeof *caller);
        sw_reg_set(caller, cpu->pc, v);
        sw_reg_set(caller, cpu->sp, slot + cpu->ptr_size);
        if (cpu->scan_fp)
            cpu->scan_fp(w, callee, i, slot, caller);
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
        /* The first method with an answer decides; its answer is not
         * second-guessed by the next method (rust-minidump's order: CFI,
         * which on x86 includes STACK WIN, then frame pointer, then scan). */
        if (by_stack_win(w, f, n, &caller) || by_cfi(w, callee, first, &caller))
            trust = SW_TRUST_CFI;
        else if (w->cpu->frame_pointer(w, callee, first, &caller))
            trust = SW_TRUST_FRAME_POINTER;
        else if (by_scan(w, callee, first, &caller))
            trust = SW_TRUST_SCAN;
        if (!trust || !sw_reg_ok(&caller, w->cpu->pc) || !sw_reg_ok(&caller, w->cpu->sp) ||
            !walk_goes_on(w, callee, &caller, first))
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
