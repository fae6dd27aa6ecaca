/* unwind_arm.c — 32-bit ARM: r0..r15, frame records through r11 (ARM
 * mode, {fp, lr} pairs as clang and Breakpad lay them out), lr for leaves. */
#include "unwind_arm_common.h"

#include <string.h>

static const char *const names[16] = {"r0", "r1", "r2",  "r3",  "r4",  "r5", "r6", "r7",
                                      "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc"};
static const char *const aliases[16] = {"r0", "r1", "r2",  "r3",  "r4",  "r5",  "r6",  "r7",
                                        "r8", "r9", "r10", "fp",  "ip",  "r13", "r14", "r15"};

static int reg_by_name(const char *s, size_t n)
{
    int r = sw_reg_by_name(names, 16, s, n);
    return r >= 0 ? r : sw_reg_by_name(aliases, 16, s, n);
}

const sw_cpu sw_cpu_arm = {
    .name = "arm",
    .ptr_size = 4,
    .nregs = 16,
    .names = names,
    .pc = 15,
    .sp = 13,
    .fp = 11,
    .lr = 14,
    .callee_saved = 0xff0u, /* r4..r11 */
    .lookup_adjust = 2,
    .reg_by_name = reg_by_name,
    .frame_pointer = sw_arm_frame_record,
    .is_call_before = NULL, /* Thumb/ARM call encodings vary too much to judge */
    .stack_win = NULL,
};
