/*
 * macho_object.h (internal) — the Mach-O backend of the object layer
 * (object.h), over our own reader (macho.h).  The only place, with
 * macho.c, that knows load commands: the readers see sections (by their
 * DWARF role: __DWARF,__debug_info is ".debug_info", __TEXT,__eh_frame is
 * ".eh_frame"), segments, nlist symbols and the UUID through ds_object.
 *
 * Besides the file's own sections the backend adds one that is not a
 * section in the file: "__function_starts", LC_FUNCTION_STARTS' data, which
 * the compact-unwind reader (cfi/) uses to split an entry into functions.
 */
#ifndef SYMKIT_DUMPSYMS_MACHO_OBJECT_H
#define SYMKIT_DUMPSYMS_MACHO_OBJECT_H

#include "object.h"

/* True when the bytes start like a thin or fat Mach-O file. */
bool ds_macho_probe_bytes(const uint8_t *data, size_t size);

/* Parses obj->map (path and map already set by object.c) as Mach-O and
 * fills the neutral fields and ops.  arch picks a fat file's slice by its
 * Breakpad name (x86, x86_64, armv7, arm64, arm64e, ...); NULL takes the
 * only slice and refuses (SK_EUSAGE, listing the slices) a fat file with
 * several.  SK_ENOTFOUND when the file has no slice for arch (listing the
 * ones it has); SK_EFORMAT naming the file for anything corrupt. */
int ds_macho_open(ds_object *obj, const char *arch, sk_error *err);

/* The parsed image behind a Mach-O ds_object (for macho/ only), NULL for
 * another container. */
struct ds_macho;
const struct ds_macho *ds_macho_of(const ds_object *obj);

/* One slice of a thin or fat file, for --list-arch and packager mode. */
typedef struct ds_macho_arch_info {
    char arch[32];
    char uuid[33]; /* upper-case hex, "" without LC_UUID */
} ds_macho_arch_info;

/* The slices of the Mach-O file in [data, size); *out malloc'd. */
int ds_macho_arches(const char *path, const uint8_t *data, size_t size, ds_macho_arch_info **out, size_t *n,
                    sk_error *err);

#endif
