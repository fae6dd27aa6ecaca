/* unwind_arm64.c — AArch64: x0..x30, sp, pc; frame records through x29;
 * lr for leaves; BL/BLR call-site checks.  Return addresses may carry
 * pointer-authentication bits, which the walker masks off. */
#include "unwind_arm_common.h"

#include <string.h>

static const char *const names[33] = {"x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",
                                      "x9",  "x10", "x11", "x12", "x13", "x14", "x15", "x16", "x17",
                                      "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26",
                                      "x27", "x28", "fp",  "lr",  "sp",  "pc"};

static int reg_by_name(const char *s, size_t n)
{
    int r = sw_reg_by_name(names, 33, s, n);
    if (r >= 0)
        return r;
    if (n && *s == '$') {
        s++;
        n--;
    }
    if (n == 3 && memcmp(s, "x29", 3) == 0)
        return 29;
    if (n == 3 && memcmp(s, "x30", 3) == 0)
        return 30;
    if (n == 3 && memcmp(s, "x31", 3) == 0)
        return 31;
    return -1;
}

static int is_call_before(const sw_walker *w, uint64_t ret)
{
    uint32_t i;
    if (!sw_read_u32(w, ret - 4, &i))
        return -1;
    if ((i & 0xfc000000u) == 0x94000000u) /* BL */
        return 1;
    if ((i & 0xfffffc1fu) == 0xd63f0000u) /* BLR */
        return 1;
    if ((i & 0xfefff800u) == 0xd63f0800u) /* BLRAA/BLRAB(Z) */
        return 1;
    return 0;
}

const sw_cpu sw_cpu_arm64 = {
    .name = "arm64",
    .ptr_size = 8,
    .nregs = 33,
    .names = names,
    .pc = 32,
    .sp = 31,
    .fp = 29,
    .lr = 30,
    .callee_saved = 0x3ff80000ull, /* x19..x29 */
    .lookup_adjust = 4,
    .reg_by_name = reg_by_name,
    .frame_pointer = sw_arm_frame_record,
    .is_call_before = is_call_before,
    .stack_win = NULL,
};
