/* unwind_amd64.c — x86-64: registers in DWARF order, the %rbp chain. */
#include "unwind.h"

#include <string.h>

enum { RAX, RDX, RCX, RBX, RSI, RDI, RBP, RSP, R8, R9, R10, R11, R12, R13, R14, R15, RIP, NREGS };

static const char *const names[NREGS] = {"rax", "rdx", "rcx", "rbx", "rsi", "rdi", "rbp", "rsp", "r8",
                                         "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip"};

int sw_x86_is_call_before(const sw_walker *w, uint64_t ret);

static int reg_by_name(const char *s, size_t n)
{
    return sw_reg_by_name(names, NREGS, s, n);
}

static bool frame_pointer(const sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller)
{
    (void)first;
    const sw_regs *r = &callee->regs;
    if (!sw_reg_ok(r, RBP) || !sw_reg_ok(r, RSP))
        return false;
    /* rust-minidump's checks on a frame record: the caller's frame must
     * lie above this one (saved rbp at or above the caller's rsp, and
     * itself in captured memory), the return address must be canonical,
     * and the caller's rsp must be above ours and in captured memory.  An
     * outermost frame (saved rbp 0) therefore fails here and is left to
     * the scan, as rust-minidump does. */
    uint64_t rbp = r->r[RBP];
    if (rbp >= UINT64_MAX - 16)
        return false;
    uint64_t saved_rbp, ret, probe;
    if (!sw_read_word(w, rbp, &saved_rbp) || !sw_read_word(w, rbp + 8, &ret))
        return false;
    uint64_t caller_sp = rbp + 16;
    if (saved_rbp < caller_sp || !sw_read_word(w, saved_rbp, &probe))
        return false;
    if (ret > 0x7fffffffffffull && ret < 0xffff800000000000ull)
        return false;
    if (caller_sp <= r->r[RSP] || !sw_read_word(w, caller_sp, &probe))
        return false;
    memset(caller, 0, sizeof *caller);
    sw_reg_set(caller, RIP, ret);
    sw_reg_set(caller, RSP, rbp + 16);
    sw_reg_set(caller, RBP, saved_rbp);
    static const int kept[] = {RBX, R12, R13, R14, R15};
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++)
        if (sw_reg_ok(r, kept[i]))
            sw_reg_set(caller, kept[i], r->r[kept[i]]);
    return true;
}

const sw_cpu sw_cpu_amd64 = {
    .name = "amd64",
    .ptr_size = 8,
    .nregs = NREGS,
    .names = names,
    .pc = RIP,
    .sp = RSP,
    .fp = RBP,
    .lr = -1,
    .callee_saved = 1u << RBX | 1u << RBP | 1u << R12 | 1u << R13 | 1u << R14 | 1u << R15,
    .lookup_adjust = 1,
    .reg_by_name = reg_by_name,
    .frame_pointer = frame_pointer,
    .is_call_before = sw_x86_is_call_before,
    .stack_win = NULL,
};
