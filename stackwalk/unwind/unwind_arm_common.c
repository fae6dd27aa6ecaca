/* unwind_arm_common.c — frame-record unwinding shared by arm and arm64.
 *
 * Both keep the return address in a link register.  rust-minidump never
 * guesses from lr whether the context frame is a leaf: only CFI may say
 * ".ra: lr".  Without CFI, the frame pointer is taken to point at a {fp, lr}
 * record of the function itself; for a leaf, whose fp is still its caller's,
 * that skips the caller but lands on the right frames after it (a guess
 * from a possibly stale lr could invent frames instead). */
#include "unwind_arm_common.h"

#include <string.h>

bool sw_arm_frame_record(const sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller)
{
    (void)first;
    const sw_cpu *cpu = w->cpu;
    const sw_regs *r = &callee->regs;
    unsigned p = cpu->ptr_size;
    uint64_t pmax = p == 4 ? 0xffffffffu : UINT64_MAX;
    /* 32-bit ARM: rust-minidump trusts frame pointers on iOS only, where
     * the ABI guarantees them (elsewhere r11 is often a scratch register) */
    if (p == 4 && !w->ios)
        return false;
    if (!sw_reg_ok(r, cpu->fp) || !sw_reg_ok(r, cpu->sp))
        return false;
    uint64_t fp = r->r[cpu->fp];
    if (fp >= pmax - 2 * p)
        return false;
    uint64_t saved_fp = 0, saved_ra = 0, sp = r->r[cpu->sp];
    if (fp) {
        if (!sw_read_word(w, fp, &saved_fp) || !sw_read_word(w, fp + p, &saved_ra))
            return false;
        sp = fp + 2 * p;
    }
    saved_fp = sw_strip(w, saved_fp);
    saved_ra = sw_strip(w, saved_ra);
    /* arm64: a return address must be a user-space address past the first
     * page (else this was no frame record, and the scan gets its turn — also
     * for a zero frame pointer, which on 32-bit ARM ends the walk) */
    if (p == 8 && (saved_ra < 0x1000 || saved_ra > 0x000fffffffffffffull))
        return false;
    memset(caller, 0, sizeof *caller);
    sw_reg_set(caller, cpu->fp, saved_fp);
    sw_reg_set(caller, cpu->pc, saved_ra);
    sw_reg_set(caller, cpu->sp, sp);
    return true;
}

bool sw_arm64_seems_code(const sw_walker *w, uint64_t ret)
{
    return ret >= 0x1000 && ret <= 0x000fffffffffffffull && sw_seems_code(w, ret);
}
