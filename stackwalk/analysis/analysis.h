/*
 * analysis.h — internal: what the crashing instruction tells about the
 * crash (rust-minidump's crash_info analysis fields): the instruction as
 * text, the memory it accessed, where it would have sent the pc, a
 * non-canonical or null-pointer-plus-offset reading of the address, the
 * valid addresses one flipped bit away from it, and inconsistencies
 * between the reported crash and the instruction.
 *
 * The instruction is decoded with Capstone through disasm/ (the shared
 * wrapper), whose register numbers are the DWARF ones — the same numbering
 * our CPU contexts use — so operands read straight from sw_regs.
 */
#ifndef SYMKIT_STACKWALK_ANALYSIS_H
#define SYMKIT_STACKWALK_ANALYSIS_H

#include "minidump.h"
#include "unwind.h"

/* Fills r's analysis fields from the crashing thread's context; leaves
 * them empty when the instruction's bytes are not in the dump or do not
 * decode.  thumb: an ARM context in Thumb state. */
void sw_analyze_crash(sw_report *r, const md_info *info, const sw_cpu *cpu, const sw_regs *regs, bool thumb);

#endif
