/*
 * dwz.h (internal) — dwz supplementary files.
 *
 * `dwz -m` moves the DIEs and strings that several debug files share into
 * one supplementary file, named by the .gnu_debugaltlink section (a path,
 * NUL, the supplementary file's build-id) or by DWARF 5's .debug_sup (a
 * path and a checksum, the build-id again).  The forms DW_FORM_GNU_ref_alt,
 * ref_sup4/8, GNU_strp_alt and strp_sup point into it.
 *
 * ds_sup_open() finds it where the link says (relative to the debug file),
 * then under every --debug-dir (the .dwz/ tree Debian installs, and
 * .build-id/xx/<rest>.debug by its build-id), accepts it only when its
 * build-id is the one the link records, and readies its sections for the
 * DWARF reader.  With a ds_sup_cache (packager mode) a file is opened once
 * for every debug file that shares it.
 */
#ifndef SYMKIT_DUMPSYMS_DWZ_H
#define SYMKIT_DUMPSYMS_DWZ_H

#include "dumpsyms.h"
#include "dwarf_info.h"
#include "object.h"

typedef struct ds_sup {
    ds_object obj;
    di_sections sec; /* is_sup; info is the whole .debug_info */
    uint64_t *unit_off, *unit_end; /* its units, in order */
    size_t nunits;
    bool cached; /* owned by a ds_sup_cache */
} ds_sup;

/* What a debug file's link asks for; false when it has none. */
typedef struct ds_sup_link {
    char path[4096];
    uint8_t build_id[64];
    size_t build_id_len;
} ds_sup_link;
bool ds_sup_link_read(ds_object *dbg, ds_sup_link *link);

/* Opens dbg's supplementary file.  SK_OK with *sup NULL when dbg has no
 * link; SK_ENOTFOUND (err names the file needed and what was refused) when
 * it cannot be found; then DWARF is read without it. */
int ds_sup_open(ds_object *dbg, const ds_options *opt, ds_sup **sup, sk_error *err);
/* Done with it (closed unless a cache holds it). */
void ds_sup_release(ds_sup *sup);

/* A supplementary file read from a package (its object is taken, whatever
 * the outcome), and whether the cache holds the one a link names. */
int ds_sup_cache_add(ds_sup_cache *cache, ds_object *obj, sk_error *err);
bool ds_sup_cache_has(ds_sup_cache *cache, const ds_sup_link *link);

/* The unit of sup holding section offset off (without DI_SUP_REF), as an
 * index, or SIZE_MAX. */
size_t ds_sup_unit_of(const ds_sup *sup, uint64_t off);

#endif
