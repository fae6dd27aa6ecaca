/*
 * debug_map.c — a Mach-O binary without a dSYM: its stabs debug map
 * (N_OSO object files, N_FUN/N_STSYM addresses) is where its DWARF is.
 *
 * ds_collect_debug_map() is called by dump.c for a Mach-O binary that has
 * neither DWARF of its own nor a dSYM.  Reading the object files' DWARF
 * relocated through the map is not written yet: for now it reports what
 * the map names, so that the user knows why the .sym has no FUNC records,
 * and returns SK_ENOTFOUND (PUBLIC and STACK CFI are still written).
 */
#include <stdlib.h>

#include "collect.h"
#include "macho.h"
#include "macho_object.h"

int ds_collect_debug_map(ds_context *ctx, sk_error *err)
{
    const ds_macho *m = ds_macho_of(ctx->bin);
    if (!m)
        return sk_fail(err, SK_ENOTFOUND, "%s: not a Mach-O file", ctx->bin->path);
    ds_macho_debugmap dm;
    int rc = ds_macho_debug_map(m, &dm, err);
    if (rc)
        return rc;
    if (dm.nobjs == 0) {
        ds_macho_debug_map_free(&dm);
        return sk_fail(err, SK_ENOTFOUND, "%s: no dSYM and no debug map", ctx->bin->path);
    }
    sk_log(SK_LOG_WARN,
           "%s: no dSYM; its debug map names %zu object file(s) (%s%s), whose DWARF this build does not read: "
           "run dsymutil, or expect PUBLIC and STACK CFI records only",
           ctx->bin->path, dm.nobjs, dm.objs[0].path, dm.nobjs > 1 ? ", ..." : "");
    ds_macho_debug_map_free(&dm);
    return sk_fail(err, SK_ENOTFOUND, "%s: the debug map is not followed", ctx->bin->path);
}
