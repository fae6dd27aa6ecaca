/* unwind_x86.c — 32-bit x86: registers, frame pointer (%ebp chain), STACK
 * WIN (FPO and FrameData programs from PDB-derived symbols), the scan's
 * frame-pointer recovery. */
#include "unwind.h"

#include <string.h>

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, EIP, EFL, NREGS };

static const char *const names[NREGS] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags"};

static int reg_by_name(const char *s, size_t n)
{
    return sw_reg_by_name(names, EFL, s, n);
}

/* rust-minidump's x86 rule: the %ebp chain is taken as it is, without
 * checking where the saved %ebp or the return address point (doing so made
 * its scanner invent frames on its test dumps that Breakpad does not show);
 * the loop's stop rules catch a chain that goes nowhere. */
static bool frame_pointer(const sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller)
{
    (void)first;
    const sw_regs *r = &callee->regs;
    if (!sw_reg_ok(r, EBP))
        return false;
    uint64_t ebp = r->r[EBP];
    if (ebp >= 0xffffffffu - 8)
        return false;
    uint64_t saved_ebp, ret;
    if (!sw_read_word(w, ebp, &saved_ebp) || !sw_read_word(w, ebp + 4, &ret))
        return false;
    memset(caller, 0, sizeof *caller);
    sw_reg_set(caller, EIP, ret);
    sw_reg_set(caller, ESP, ebp + 8);
    sw_reg_set(caller, EBP, saved_ebp);
    return true;
}

static bool seems_code(const sw_walker *w, uint64_t ret)
{
    return ret != 0 && sw_seems_code(w, ret);
}

/* Shared with amd64: after a scan hit, the caller's frame pointer is the
 * word just below the return address when that looks like a pushed frame
 * pointer (above the hit, at most 128 KiB away, in captured memory), or
 * else the callee's own when it lies above the caller's stack pointer (a
 * function that never touched it).  On amd64 the first case also needs the
 * callee's frame pointer to point at that word (rust-minidump keeps this
 * quirk of Breakpad's x64 tests). */
void sw_x86_scan_fp(const sw_walker *w, const sw_walk_frame *callee, unsigned i, uint64_t slot, sw_regs *caller)
{
    const sw_cpu *cpu = w->cpu;
    const sw_regs *r = &callee->regs;
    unsigned p = cpu->ptr_size;
    bool have_bp = sw_reg_ok(r, cpu->fp);
    uint64_t last_bp = r->r[cpu->fp], caller_sp = slot + p, bp, probe;
    if (i == 0 || (p == 8 && !have_bp))
        return;
    uint64_t at = slot - p;
    if (!sw_read_word(w, at, &bp))
        return;
    bool pushed = bp > slot && bp - at <= 128 * 1024 && (p == 4 || last_bp == at);
    if (pushed) {
        if (sw_read_word(w, bp, &probe))
            sw_reg_set(caller, cpu->fp, bp);
    } else if (have_bp && last_bp >= caller_sp) {
        if (p == 8 || sw_read_word(w, last_bp, &probe))
            sw_reg_set(caller, cpu->fp, last_bp);
    }
}

static bool stack_win(const sw_walker *w, const sw_walk_frame *callee, const sym_win_frame *win,
                      uint32_t grand_callee_params, sw_regs *caller)
{
    const sw_regs *r = &callee->regs;
    if (!sw_reg_ok(r, ESP) || !sw_reg_ok(r, EIP))
        return false;
    sw_pf_env env;
    memset(&env, 0, sizeof env);
    env.w = w;
    env.regs = r;
    /* the return address lies above this function's locals and saved
     * registers and the parameters it pushed for the function it called */
    uint64_t ra_search =
        (r->r[ESP] + grand_callee_params + win->locals_size + win->saved_regs_size) & 0xffffffffu;
    sw_pf_set(&env, ".cbCalleeParams", 15, grand_callee_params);
    sw_pf_set(&env, ".cbSavedRegs", 12, win->saved_regs_size);
    sw_pf_set(&env, ".cbLocals", 9, win->locals_size);
    sw_pf_set(&env, ".cbParams", 9, win->param_size);
    sw_pf_set(&env, ".raSearchStart", 14, ra_search);
    sw_pf_set(&env, ".raSearch", 9, ra_search);
    const char *prog = win->program;
    if (!prog)
        prog = win->allocates_base_pointer
                   ? "$eip .raSearchStart ^ = $ebp $esp .cbCalleeParams + .cbSavedRegs + 8 - ^ = "
                     "$esp .raSearchStart 4 + ="
                   : "$eip .raSearchStart ^ = $esp .raSearchStart 4 + =";
    if (!sw_pf_run(&env, prog, strlen(prog)))
        return false;
    uint64_t eip, esp;
    if (!sw_pf_get(&env, "$eip", &eip) || !sw_pf_get(&env, "$esp", &esp))
        return false;
    memset(caller, 0, sizeof *caller);
    sw_reg_set(caller, EIP, eip);
    sw_reg_set(caller, ESP, esp);
    static const char *const kept[] = {"$ebp", "$ebx", "$esi", "$edi"};
    static const int kept_reg[] = {EBP, EBX, ESI, EDI};
    for (int i = 0; i < 4; i++) {
        uint64_t v;
        if (sw_pf_get(&env, kept[i], &v))
            sw_reg_set(caller, kept_reg[i], v);
        else if (sw_reg_ok(r, kept_reg[i]))
            sw_reg_set(caller, kept_reg[i], r->r[kept_reg[i]]);
    }
    return true;
}

const sw_cpu sw_cpu_x86 = {
    .name = "x86",
    .ptr_size = 4,
    .nregs = NREGS,
    .names = names,
    .pc = EIP,
    .sp = ESP,
    .fp = EBP,
    .lr = -1,
    .callee_saved = 1u << EBX | 1u << EBP | 1u << ESI | 1u << EDI,
    .lookup_adjust = 1,
    .reg_by_name = reg_by_name,
    .frame_pointer = frame_pointer,
    .seems_code = seems_code,
    .scan_fp = sw_x86_scan_fp,
    .stack_win = stack_win,
};
