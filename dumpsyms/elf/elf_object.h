/*
 * elf_object.h (internal) — the ELF backend of the object layer (object.h),
 * through elfutils' libelf.  The only place, with minidebuginfo.c, that
 * knows ELF headers: the readers see sections, segments, symbols and ids
 * through ds_object.
 */
#ifndef SYMKIT_DUMPSYMS_ELF_OBJECT_H
#define SYMKIT_DUMPSYMS_ELF_OBJECT_H

#include "object.h"

/* True when the bytes start like an ELF file. */
bool ds_elf_probe(const uint8_t *data, size_t size);
/* Parses obj->map (path and map already set by object.c) as ELF and fills
 * the neutral fields and ops.  SK_EFORMAT naming the file when it is not
 * ELF, truncated or inconsistent. */
int ds_elf_open(ds_object *obj, sk_error *err);

/* The ELF embedded in bin's .gnu_debugdata (MiniDebugInfo: xz-compressed),
 * opened in memory.  SK_ENOTFOUND when there is none. */
int ds_open_minidebuginfo(ds_object *bin, ds_object *out, sk_error *err);

#endif
