/* dwarf_access.c — libdwarf's object-access callbacks over ds_object. */
#include "dwarf_access.h"

#include <stdlib.h>
#include <string.h>

static int get_section_info(void *obj_, Dwarf_Half index, Dwarf_Obj_Access_Section *ret, int *error)
{
    ds_dwarf *d = obj_;
    (void)error;
    if (index >= d->obj->nsections)
        return DW_DLV_NO_ENTRY;
    ds_section *s = &d->obj->sections[index];
    memset(ret, 0, sizeof *ret);
    ret->addr = s->shdr.sh_addr;
    ret->type = s->shdr.sh_type;
    ret->size = ds_section_size(d->obj, s);
    ret->name = s->dwarf_name;
    ret->link = s->shdr.sh_link;
    ret->info = s->shdr.sh_info;
    ret->entrysize = s->shdr.sh_entsize;
    return DW_DLV_OK;
}

static Dwarf_Endianness get_byte_order(void *obj_)
{
    ds_dwarf *d = obj_;
    return d->obj->little_endian ? DW_OBJECT_LSB : DW_OBJECT_MSB;
}

static Dwarf_Small get_length_size(void *obj_)
{
    ds_dwarf *d = obj_;
    return d->obj->elf_class == ELFCLASS64 ? 8 : 4;
}

static Dwarf_Small get_pointer_size(void *obj_)
{
    ds_dwarf *d = obj_;
    return d->obj->elf_class == ELFCLASS64 ? 8 : 4;
}

static Dwarf_Unsigned get_section_count(void *obj_)
{
    ds_dwarf *d = obj_;
    return d->obj->nsections;
}

static int load_section(void *obj_, Dwarf_Half index, Dwarf_Small **data, int *error)
{
    ds_dwarf *d = obj_;
    if (index >= d->obj->nsections)
        return DW_DLV_NO_ENTRY;
    const uint8_t *bytes;
    size_t size;
    if (ds_section_data(d->obj, &d->obj->sections[index], &bytes, &size, &d->load_error)) {
        *error = DW_DLE_SECTION_ERROR;
        return DW_DLV_ERROR;
    }
    if (!bytes)
        return DW_DLV_NO_ENTRY;
    /* libdwarf never writes to section data when it has no relocation
     * callback, so handing out the read-only mapping is safe. */
    *data = (Dwarf_Small *)bytes;
    return DW_DLV_OK;
}

static const Dwarf_Obj_Access_Methods methods = {
    .get_section_info = get_section_info,
    .get_byte_order = get_byte_order,
    .get_length_size = get_length_size,
    .get_pointer_size = get_pointer_size,
    .get_section_count = get_section_count,
    .load_section = load_section,
    .relocate_a_section = NULL,
};

int ds_dwarf_open(ds_object *obj, ds_dwarf **out, sk_error *err)
{
    *out = NULL;
    ds_dwarf *d = sk_xcalloc(1, sizeof *d);
    d->obj = obj;
    d->iface.object = d;
    d->iface.methods = &methods;
    Dwarf_Error de = NULL;
    int res = dwarf_object_init_b(&d->iface, NULL, NULL, DW_GROUPNUMBER_ANY, &d->dbg, &de);
    if (res == DW_DLV_NO_ENTRY) {
        free(d);
        return sk_fail(err, SK_ENOTFOUND, "%s: no DWARF sections", obj->path);
    }
    if (res != DW_DLV_OK) {
        const char *msg = de ? dwarf_errmsg(de) : "unknown error";
        sk_fail(err, SK_EFORMAT, "%s: cannot read DWARF: %s", obj->path, msg);
        /* No Dwarf_Debug exists yet: libdwarf releases such errors with a NULL one. */
        if (de)
            dwarf_dealloc(NULL, de, DW_DLA_ERROR);
        free(d);
        return SK_EFORMAT;
    }
    *out = d;
    return SK_OK;
}

void ds_dwarf_close(ds_dwarf *d)
{
    if (!d)
        return;
    if (d->dbg)
        dwarf_object_finish(d->dbg, NULL);
    free(d);
}

const char *ds_dwarf_errmsg(ds_dwarf *d, Dwarf_Error e, char *buf, size_t cap)
{
    if (!e) {
        snprintf(buf, cap, "unknown DWARF error");
        return buf;
    }
    snprintf(buf, cap, "%s", dwarf_errmsg(e));
    if (d && d->dbg)
        dwarf_dealloc(d->dbg, e, DW_DLA_ERROR);
    return buf;
}
