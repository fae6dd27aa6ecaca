/* unwind_arm_common.h — internal: helpers shared by the arm and arm64 walkers. */
#ifndef SYMKIT_STACKWALK_UNWIND_ARM_COMMON_H
#define SYMKIT_STACKWALK_UNWIND_ARM_COMMON_H

#include "unwind.h"

/* Frame pointer unwinding through {saved fp, saved lr} records. */
/* arm64 scan test: a user-space address past the first page, in code. */
bool sw_arm64_seems_code(const sw_walker *w, uint64_t ret);
bool sw_arm_frame_record(const sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller);

#endif
