/*
 * crash_reason.h — internal: the crash type and address as rust-minidump
 * names them, per OS (Windows exception codes with the access kind, Mach
 * exception types with their codes, Linux signals with their si_code), and
 * Windows error names for a thread's last error value.
 *
 * Names follow rust-minidump's minidump-common tables because Socorro
 * builds signatures and search facets from these exact strings.
 */
#ifndef SYMKIT_STACKWALK_CRASH_REASON_H
#define SYMKIT_STACKWALK_CRASH_REASON_H

#include "minidump.h"

/* The crash_info "type" string (arena), e.g. "EXCEPTION_ACCESS_VIOLATION_READ",
 * "EXC_BAD_ACCESS / KERN_INVALID_ADDRESS", "SIGSEGV / SEGV_MAPERR". */
const char *sw_crash_type(const md_info *info, sk_arena *a);
/* The crash_info "address": the accessed address for a Windows access
 * violation or in-page error, otherwise the exception address; masked to
 * 32 bits on 32-bit CPUs. */
uint64_t sw_crash_address(const md_info *info, unsigned pointer_size);
/* A GetLastError() value as rust-minidump prints it ("ERROR_SUCCESS", ...,
 * or "0x%08x" when unnamed). */
const char *sw_win_error_name(uint32_t code, sk_arena *a);

#endif
