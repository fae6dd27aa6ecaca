/* unwind_x86.c — 32-bit x86: registers, frame pointer (%ebp chain), STACK
 * WIN (FPO and FrameData programs from PDB-derived symbols), call sites. */
#include "unwind.h"

#include <string.h>

enum { EAX, ECX, EDX, EBX, ESP, EBP, ESI, EDI, EIP, EFL, NREGS };

static const char *const names[NREGS] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip", "eflags"};

static int reg_by_name(const char *s, size_t n)
{
    return sw_reg_by_name(names, EFL, s, n);
}

static bool frame_pointer(const sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller)
{
    (void)first;
    const sw_regs *r = &callee->regs;
    if (!sw_reg_ok(r, EBP) || !sw_reg_ok(r, ESP))
        return false;
    /* rust-minidump's checks (as on amd64): the caller's frame lies above
     * this one and in captured memory, and so does the caller's esp */
    uint64_t ebp = r->r[EBP];
    if (ebp >= 0xffffffffu - 8)
        return false;
    uint64_t saved_ebp, ret, probe;
    if (!sw_read_word(w, ebp, &saved_ebp) || !sw_read_word(w, ebp + 4, &ret))
        return false;
    uint64_t caller_sp = ebp + 8;
    if (saved_ebp < caller_sp || !sw_read_word(w, saved_ebp, &probe))
        return false;
    if (caller_sp <= r->r[ESP] || !sw_read_word(w, caller_sp, &probe))
        return false;
    memset(caller, 0, sizeof *caller);
    sw_reg_set(caller, EIP, ret);
    sw_reg_set(caller, ESP, ebp + 8);
    sw_reg_set(caller, EBP, saved_ebp);
    for (int i = EBX; i <= EDI; i++)
        if (i != ESP && i != EBP && sw_reg_ok(r, i))
            sw_reg_set(caller, i, r->r[i]);
    return true;
}

/* Shared with amd64: call rel32 (E8), and the FF /2 indirect call forms. */
int sw_x86_is_call_before(const sw_walker *w, uint64_t ret)
{
    const uint8_t *p = sw_read_bytes(w, ret - 7, 7);
    if (!p)
        return -1;
    if (p[2] == 0xe8)
        return 1;
    static const int ff_at[] = {5, 4, 3, 1, 0}; /* FF at ret-2, -3, -4, -6, -7 */
    for (size_t i = 0; i < sizeof ff_at / sizeof ff_at[0]; i++)
        if (p[ff_at[i]] == 0xff && ((p[ff_at[i] + 1] >> 3) & 7) == 2)
            return 1;
    return 0;
}

static bool stack_win(const sw_walker *w, const sw_walk_frame *callee, const sym_win_frame *win, sw_regs *caller)
{
    const sw_regs *r = &callee->regs;
    if (!sw_reg_ok(r, ESP) || !sw_reg_ok(r, EIP))
        return false;
    sw_pf_env env;
    memset(&env, 0, sizeof env);
    env.w = w;
    env.regs = r;
    uint64_t ra_search = (r->r[ESP] + win->locals_size + win->saved_regs_size) & 0xffffffffu;
    sw_pf_set(&env, ".cbCalleeParams", 15, 0);
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
    .is_call_before = sw_x86_is_call_before,
    .stack_win = stack_win,
};
