/*
 * demangler.h (internal) — symbol names as users read them.
 *
 * C++ (Itanium) names are demangled with libiberty, with parameter lists, as
 * c++filt prints them; Rust names (legacy "_ZN...17h<hash>E" and v0 "_R...")
 * as rustfilt prints them: legacy hashes and v0 crate disambiguators left
 * out, generic arguments kept.
 *
 * Compiler clone suffixes (".cold", ".isra.0", ".part.0", ".constprop.0",
 * ".lto_priv.0", ".localalias", ".llvm.123", ".__uniq.123", ...) are folded
 * into the parent: "_Z3fooi.cold" and "foo.part.0" become "foo(int)" and
 * "foo", the name DWARF gives the same code, so FUNC and PUBLIC records and
 * llvm-symbolizer all name a cold or cloned part after the function a user
 * wrote.  Both collectors go through ds_symbol_name() for that reason.
 */
#ifndef SYMKIT_DUMPSYMS_DEMANGLE_H
#define SYMKIT_DUMPSYMS_DEMANGLE_H

#include "common.h"

/* The demangled form of name in the arena, or NULL when name is not a
 * mangled name (the caller keeps the original).  No suffix folding. */
char *ds_demangle(const char *name, sk_arena *arena);

/* ds_demangle() through a small cache of recent names, for one thread:
 * DWARF units repeat the same inline functions' names over and over.
 * A NULL cache just demangles. */
typedef struct ds_demangle_cache ds_demangle_cache;
ds_demangle_cache *ds_demangle_cache_new(void);
void ds_demangle_cache_free(ds_demangle_cache *c);
char *ds_demangle_cached(ds_demangle_cache *c, const char *name, sk_arena *arena);

/* Length of name without its trailing compiler clone suffixes (strlen(name)
 * when there are none; never 0 for a non-empty name). */
size_t ds_clone_suffix_start(const char *name);

/* The display name of a symbol or linkage name: clone suffixes folded,
 * demangled when mangled, a symbol version ("@@GLIBC_2.2.5") kept after the
 * demangled name.  Always returns an arena string (a copy of name when there
 * is nothing to do). */
const char *ds_symbol_name(const char *name, sk_arena *arena);

#endif
