/*
 * dwp.c — the .debug_cu_index of a DWARF package file.
 *
 * Layout (DWARF 5 section 7.3.5.3; the GNU version-2 layout differs only
 * in the header's version field and in the section ids):
 *
 *   header    version (GNU: 4 bytes = 2; DWARF 5: 2 bytes = 5 + 2 padding),
 *             column count N, unit count U, slot count S (4 bytes each)
 *   hash      S 8-byte unit signatures (DWO ids)
 *   index     S 4-byte row numbers, 1-based; 0 marks an empty slot
 *   offsets   N 4-byte section ids, then U rows of N 4-byte offsets
 *   sizes     U rows of N 4-byte sizes
 *
 * Rather than probing the file's hash table on every look-up, the slots
 * are checked once and copied into an array sorted by DWO id, so a corrupt
 * table can never send a look-up round in circles and a duplicate id is
 * caught at open.
 */
#include "dwp.h"

#include <stdlib.h>
#include <string.h>

#include "bytes.h"

/* What a column of the index means to us. */
enum { F_INFO, F_ABBREV, F_LINE, F_STR_OFFSETS, F_RNGLISTS, F_LOCLISTS, F_OTHER };

typedef struct column_kind {
    unsigned id;
    int field;       /* F_* */
    const char *sec; /* the .dwo section the column's offsets point into */
} column_kind;

static const column_kind V2_COLUMNS[] = {
    {1, F_INFO, ".debug_info.dwo"},
    {2, F_OTHER, ".debug_types.dwo"},
    {3, F_ABBREV, ".debug_abbrev.dwo"},
    {4, F_LINE, ".debug_line.dwo"},
    {5, F_LOCLISTS, ".debug_loc.dwo"},
    {6, F_STR_OFFSETS, ".debug_str_offsets.dwo"},
    {7, F_OTHER, ".debug_macinfo.dwo"},
    {8, F_OTHER, ".debug_macro.dwo"},
};

static const column_kind V5_COLUMNS[] = {
    {1, F_INFO, ".debug_info.dwo"},
    {3, F_ABBREV, ".debug_abbrev.dwo"},
    {4, F_LINE, ".debug_line.dwo"},
    {5, F_LOCLISTS, ".debug_loclists.dwo"},
    {6, F_STR_OFFSETS, ".debug_str_offsets.dwo"},
    {7, F_OTHER, ".debug_macro.dwo"},
    {8, F_RNGLISTS, ".debug_rnglists.dwo"},
};

typedef struct dwp_entry {
    uint64_t id;
    uint32_t row; /* 0-based */
} dwp_entry;

struct ds_dwp {
    dwp_entry *entries; /* sorted by id, no duplicates */
    size_t nentries;
    ds_dwp_unit *rows;
    size_t nrows;
};

static int cmp_entry(const void *a, const void *b)
{
    uint64_t x = ((const dwp_entry *)a)->id, y = ((const dwp_entry *)b)->id;
    return x < y ? -1 : x > y;
}

static ds_dwp_contrib *unit_field(ds_dwp_unit *u, int field)
{
    switch (field) {
    case F_INFO: return &u->info;
    case F_ABBREV: return &u->abbrev;
    case F_LINE: return &u->line;
    case F_STR_OFFSETS: return &u->str_offsets;
    case F_RNGLISTS: return &u->rnglists;
    case F_LOCLISTS: return &u->loclists;
    default: return NULL;
    }
}

/* One column of the table as we resolved it at open. */
typedef struct column {
    const column_kind *kind; /* NULL: an id we do not know, ignored */
    uint64_t sec_size;       /* size of kind->sec, 0 when absent */
    bool sec_present;
} column;

static bool read_u32(ds_bytes *r, uint32_t *v)
{
    uint64_t x;
    if (!ds_bytes_fixed(r, 4, &x))
        return false;
    *v = (uint32_t)x;
    return true;
}

int ds_dwp_open(ds_object *obj, ds_dwp **out, sk_error *err)
{
    *out = NULL;
    const char *path = obj->path ? obj->path : "(unnamed)";
    ds_section *sec = ds_object_section(obj, ".debug_cu_index");
    if (!sec || (sec->flags & DS_SEC_NOBITS))
        return sk_fail(err, SK_ENOTFOUND, "%s: no .debug_cu_index", path);
    const uint8_t *data;
    size_t size;
    int lrc = ds_section_data(obj, sec, &data, &size, err); /* its message names the file */
    if (lrc)
        return lrc;
    if (!data)
        return sk_fail(err, SK_ENOTFOUND, "%s: .debug_cu_index has no contents", path);
    ds_bytes r = {data, data, data + size, obj->little_endian};

    /* GNU version 2 has a 4-byte version; DWARF 5 a 2-byte one and 2 bytes
     * of padding.  Read 4, and if that is not 2, the first 2 again. */
    uint32_t version, ncols, nunits, nslots;
    uint64_t v16 = 0;
    if (!read_u32(&r, &version))
        return sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: header cut short (%zu bytes)", path, size);
    if (version != 2) {
        r.p = data;
        if (!ds_bytes_fixed(&r, 2, &v16) || v16 != 5)
            return sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: unknown version %u", path,
                           v16 ? (unsigned)v16 : version); /* as 2 or as 4 bytes */
        version = 5;
        r.p += 2;
    }
    if (!read_u32(&r, &ncols) || !read_u32(&r, &nunits) || !read_u32(&r, &nslots))
        return sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: header cut short (%zu bytes)", path, size);

    /* Counts against the bytes they need, in 64 bits so nothing wraps. */
    uint64_t left = (uint64_t)(r.end - r.p);
    uint64_t need_slots = (uint64_t)nslots * 12;
    if (need_slots > left)
        return sk_fail(err, SK_EFORMAT,
                       "%s: .debug_cu_index: %u hash slots need %llu bytes, %llu are left",
                       path, nslots, (unsigned long long)need_slots, (unsigned long long)left);
    left -= need_slots;
    if (nunits > 0 && ncols == 0)
        return sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: %u units but no section columns",
                       path, nunits);
    /* Column ids, then two tables of nunits x ncols. */
    uint64_t need_tables = (uint64_t)ncols * 4 * (1 + 2 * (uint64_t)nunits);
    if (need_tables > left)
        return sk_fail(err, SK_EFORMAT,
                       "%s: .debug_cu_index: %u units x %u sections need %llu bytes, %llu are left",
                       path, nunits, ncols, (unsigned long long)need_tables,
                       (unsigned long long)left);
    if (nslots & (nslots - 1))
        return sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: slot count %u is not a power of two",
                       path, nslots);
    if (nunits > nslots)
        return sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: %u units do not fit %u hash slots",
                       path, nunits, nslots);

    const uint8_t *hash = r.p;
    const uint8_t *index = hash + (size_t)nslots * 8;
    const uint8_t *ids = index + (size_t)nslots * 4;
    const uint8_t *offs = ids + (size_t)ncols * 4;
    const uint8_t *sizes = offs + (size_t)ncols * 4 * nunits;

    const column_kind *known = version == 2 ? V2_COLUMNS : V5_COLUMNS;
    size_t nknown = version == 2 ? sizeof V2_COLUMNS / sizeof *V2_COLUMNS
                                 : sizeof V5_COLUMNS / sizeof *V5_COLUMNS;
    column *cols = sk_xcalloc(ncols ? ncols : 1, sizeof *cols);
    ds_dwp *dwp = sk_xcalloc(1, sizeof *dwp);
    int rc = SK_OK;
    bool have_info = false;

    ds_bytes cr = {data, ids, offs, obj->little_endian};
    for (uint32_t c = 0; c < ncols; c++) {
        uint32_t id = 0;
        read_u32(&cr, &id); /* inside the checked table */
        for (size_t k = 0; k < nknown; k++)
            if (known[k].id == id)
                cols[c].kind = &known[k];
        if (!cols[c].kind)
            continue; /* a section we have no use for (vendor extension) */
        for (uint32_t d = 0; d < c; d++)
            if (cols[d].kind == cols[c].kind) {
                rc = sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: section id %u appears twice",
                             path, id);
                goto out;
            }
        if (cols[c].kind->field == F_INFO)
            have_info = true;
        ds_section *s = ds_object_section(obj, cols[c].kind->sec);
        if (s) {
            cols[c].sec_present = true;
            cols[c].sec_size = ds_section_size(obj, s);
        }
    }
    if (nunits > 0 && !have_info) {
        rc = sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: no .debug_info.dwo column", path);
        goto out;
    }

    dwp->nrows = nunits;
    dwp->rows = sk_xcalloc(nunits ? nunits : 1, sizeof *dwp->rows);
    ds_bytes orr = {data, offs, sizes, obj->little_endian};
    ds_bytes sr = {data, sizes, sizes + (size_t)ncols * 4 * nunits, obj->little_endian};
    for (uint32_t u = 0; u < nunits; u++) {
        for (uint32_t c = 0; c < ncols; c++) {
            uint32_t off = 0, sz = 0;
            read_u32(&orr, &off);
            read_u32(&sr, &sz);
            if (!cols[c].kind)
                continue;
            const char *sname = cols[c].kind->sec;
            if (sz > 0 && !cols[c].sec_present) {
                rc = sk_fail(err, SK_EFORMAT,
                             "%s: .debug_cu_index: row %u has %u bytes of %s, which the file lacks",
                             path, u + 1, sz, sname);
                goto out;
            }
            if ((uint64_t)off + sz > cols[c].sec_size && sz > 0) {
                rc = sk_fail(err, SK_EFORMAT,
                             "%s: .debug_cu_index: row %u: %s [0x%x, +0x%x) is beyond its size 0x%llx",
                             path, u + 1, sname, off, sz, (unsigned long long)cols[c].sec_size);
                goto out;
            }
            ds_dwp_contrib *f = unit_field(&dwp->rows[u], cols[c].kind->field);
            if (f) {
                f->off = off;
                f->size = sz;
            }
        }
    }

    dwp->entries = sk_xcalloc(nunits ? nunits : 1, sizeof *dwp->entries);
    ds_bytes hr = {data, hash, index, obj->little_endian};
    ds_bytes ir = {data, index, ids, obj->little_endian};
    for (uint32_t s = 0; s < nslots; s++) {
        uint64_t id = 0;
        uint32_t row = 0;
        ds_bytes_fixed(&hr, 8, &id);
        read_u32(&ir, &row);
        if (row == 0)
            continue;
        if (row > nunits) {
            rc = sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: slot %u names row %u of %u",
                         path, s, row, nunits);
            goto out;
        }
        if (dwp->nentries == nunits) {
            rc = sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: more used slots than its %u units",
                         path, nunits);
            goto out;
        }
        dwp->entries[dwp->nentries].id = id;
        dwp->entries[dwp->nentries].row = row - 1;
        dwp->nentries++;
    }
    qsort(dwp->entries, dwp->nentries, sizeof *dwp->entries, cmp_entry);
    for (size_t i = 1; i < dwp->nentries; i++)
        if (dwp->entries[i].id == dwp->entries[i - 1].id) {
            rc = sk_fail(err, SK_EFORMAT, "%s: .debug_cu_index: DWO id 0x%016llx appears twice",
                         path, (unsigned long long)dwp->entries[i].id);
            goto out;
        }

out:
    free(cols);
    if (rc) {
        ds_dwp_close(dwp);
        return rc;
    }
    *out = dwp;
    return SK_OK;
}

bool ds_dwp_find(const ds_dwp *dwp, uint64_t dwo_id, ds_dwp_unit *out)
{
    size_t lo = 0, hi = dwp ? dwp->nentries : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        uint64_t id = dwp->entries[mid].id;
        if (id == dwo_id) {
            *out = dwp->rows[dwp->entries[mid].row];
            return true;
        }
        if (id < dwo_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

void ds_dwp_close(ds_dwp *dwp)
{
    if (!dwp)
        return;
    free(dwp->entries);
    free(dwp->rows);
    free(dwp);
}
