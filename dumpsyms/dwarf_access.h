/*
 * dwarf_access.h (internal) — a libdwarf handle over a ds_object.
 *
 * libdwarf reads sections through our object layer (dwarf_object_init_b), so
 * compressed sections are decompressed once by us and the same bytes serve
 * every Dwarf_Debug opened on the object — one per worker thread, since a
 * Dwarf_Debug must not be shared between threads.
 */
#ifndef SYMKIT_DUMPSYMS_DWARF_ACCESS_H
#define SYMKIT_DUMPSYMS_DWARF_ACCESS_H

#include <dwarf.h>
#include <libdwarf.h>

#include "object.h"

typedef struct ds_dwarf {
    Dwarf_Debug dbg;
    ds_object *obj;
    Dwarf_Obj_Access_Interface iface;
    sk_error load_error; /* why a section load failed, if one did */
} ds_dwarf;

/* Opens a libdwarf handle.  SK_ENOTFOUND when the object has no DWARF at all
 * (neither debug info nor frame sections). */
int ds_dwarf_open(ds_object *obj, ds_dwarf **out, sk_error *err);
void ds_dwarf_close(ds_dwarf *d);

/* The text of a libdwarf error (and releases it). */
const char *ds_dwarf_errmsg(ds_dwarf *d, Dwarf_Error e, char *buf, size_t cap);

#endif
