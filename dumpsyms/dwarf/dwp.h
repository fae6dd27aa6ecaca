/*
 * dwp.h (internal) — the unit index of a DWARF package file (.dwp): which
 * part of each .debug_*.dwo section belongs to the split unit with a given
 * DWO id.  Reads .debug_cu_index in both the GNU version-2 layout (gold's
 * dwp, DWARF 4) and the DWARF 5 version-5 layout (llvm-dwp).  Everything is
 * validated once at open: the tables must fit the section, every row index
 * must name a row, and every contribution must lie inside its .dwo section.
 */
#ifndef SYMKIT_DUMPSYMS_DWP_H
#define SYMKIT_DUMPSYMS_DWP_H

#include <stdbool.h>
#include <stdint.h>

#include "object.h"

typedef struct ds_dwp_contrib {
    uint64_t off, size;
} ds_dwp_contrib;

typedef struct ds_dwp_unit {
    /* Offsets into .debug_info.dwo, .debug_abbrev.dwo, .debug_line.dwo,
     * .debug_str_offsets.dwo, .debug_rnglists.dwo and .debug_loclists.dwo
     * (.debug_loc.dwo in a version-2 index).  size 0: absent. */
    ds_dwp_contrib info, abbrev, line, str_offsets, rnglists, loclists;
} ds_dwp_unit;

typedef struct ds_dwp ds_dwp;

/* Parses obj's .debug_cu_index (obj stays owned by the caller and must
 * outlive the ds_dwp).  SK_ENOTFOUND when there is no index; SK_EFORMAT
 * with a one-line message naming obj->path when it is corrupt. */
int ds_dwp_open(ds_object *obj, ds_dwp **out, sk_error *err);
/* The contributions of the unit with this DWO id; false when none.
 * Thread-safe (read-only after open). */
bool ds_dwp_find(const ds_dwp *dwp, uint64_t dwo_id, ds_dwp_unit *out);
/* Safe on NULL. */
void ds_dwp_close(ds_dwp *dwp);

#endif
