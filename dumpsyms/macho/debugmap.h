/*
 * debugmap.h (internal) — functions, lines and inlines of a Mach-O image
 * that has no dSYM, read the way dsymutil reads them: through the image's
 * debug map.
 *
 * A linked Mach-O image keeps no DWARF.  Its symbol table holds stabs
 * instead: one N_OSO per object file the linker used (path and
 * modification time; "lib.a(member.o)" for an archive member), followed
 * by N_FUN / N_STSYM entries giving each of its functions and statics its
 * final address.  The DWARF is still in those object files, at the
 * addresses the object had before linking.  Each object file is checked
 * (present, same modification time as the stab says), rebased so that no
 * function sits at address 0 (which the DWARF reader takes for code the
 * linker dropped), read by the ordinary DWARF collector into a scratch
 * model, and every function is moved, with its lines and inline ranges,
 * by the distance between its address in the object (its own symbol
 * table) and its address in the image (the debug map).  A function the map
 * does not have was dead-stripped and is left out.
 *
 * A missing or modified object file is one warning naming it (its
 * functions then have PUBLIC records only, from the image's symbol table);
 * reading the others goes on.
 */
#ifndef SYMKIT_DUMPSYMS_DEBUGMAP_H
#define SYMKIT_DUMPSYMS_DEBUGMAP_H

#include "collect.h"

/* FILE/FUNC/line (and INLINE with opt->inlines) of ctx->bin from the
 * object files its debug map names, into ctx->m with addresses relative to
 * ctx->load_addr.  dump.c calls it for a Mach-O image without a dSYM (it
 * is declared in collect.h, beside the other collectors, too).
 * SK_ENOTFOUND when bin has no debug map (after a warning saying so); an
 * object file
 * that is missing, modified, unreadable or of another architecture is a
 * warning (counted in ctx->summary), not an error. */
int ds_collect_debug_map(ds_context *ctx, sk_error *err);

#endif
