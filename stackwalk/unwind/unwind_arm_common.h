/* unwind_arm_common.h — internal: helpers shared by the arm and arm64 walkers. */
#ifndef SYMKIT_STACKWALK_UNWIND_ARM_COMMON_H
#define SYMKIT_STACKWALK_UNWIND_ARM_COMMON_H

#include "unwind.h"

/* Frame pointer unwinding through {saved fp, saved lr} records, with the
 * leaf-function case for the context frame. */
bool sw_arm_frame_record(const sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller);

#endif
