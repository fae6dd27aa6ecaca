/*
 * demangler.h (internal) — symbol names as users read them.
 *
 * C++ (Itanium) and Rust (legacy and v0) names are demangled with
 * libiberty, with parameter lists, the way c++filt and rustfilt print them.
 */
#ifndef SYMKIT_DUMPSYMS_DEMANGLE_H
#define SYMKIT_DUMPSYMS_DEMANGLE_H

#include "common.h"

/* The demangled form of name in the arena, or NULL when name is not a
 * mangled name (the caller keeps the original). */
char *ds_demangle(const char *name, sk_arena *arena);

#endif
