/* dwarf_info.c — unit headers, abbreviation tables, DIEs and attribute
 * values read in place from the section bytes (see dwarf_info.h). */
#include "dwarf_info.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "common.h"

/* Nested DW_FORM_indirect is legal but never useful; the limit stops a
 * hostile chain of them. */
#define MAX_INDIRECT 4

/* ---- errors and raw reads ------------------------------------------------ */

static bool failf(di_unit *u, const char *fmt, ...)
{
    if (!u->error[0]) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(u->error, sizeof u->error, fmt, ap);
        va_end(ap);
    }
    return false;
}

/* Every read goes through the shared bounds-checked reader (bytes.h). */
static inline ds_bytes reader_of(const uint8_t *start, const uint8_t *stop, bool le)
{
    return (ds_bytes){.base = start, .p = start, .end = stop, .le = le};
}

bool di_read_fixed(const di_span *s, bool le, uint64_t off, unsigned n, uint64_t *v)
{
    if (!s->p || off > s->n || s->n - off < n)
        return false;
    ds_bytes r = reader_of(s->p + off, s->p + s->n, le);
    return ds_bytes_fixed(&r, n, v);
}

/* ---- forms ----------------------------------------------------------------- */

/* Bytes a value of this form takes when that does not depend on the value,
 * -1 when it does (LEB128, strings, blocks, indirect). */
static int form_size(const di_unit *u, uint64_t form)
{
    switch (form) {
    case DW_FORM_flag_present:
    case DW_FORM_implicit_const:
        return 0;
    case DW_FORM_data1:
    case DW_FORM_ref1:
    case DW_FORM_flag:
    case DW_FORM_strx1:
    case DW_FORM_addrx1:
        return 1;
    case DW_FORM_data2:
    case DW_FORM_ref2:
    case DW_FORM_strx2:
    case DW_FORM_addrx2:
        return 2;
    case DW_FORM_strx3:
    case DW_FORM_addrx3:
        return 3;
    case DW_FORM_data4:
    case DW_FORM_ref4:
    case DW_FORM_strx4:
    case DW_FORM_addrx4:
    case DW_FORM_ref_sup4:
        return 4;
    case DW_FORM_data8:
    case DW_FORM_ref8:
    case DW_FORM_ref_sig8:
    case DW_FORM_ref_sup8:
        return 8;
    case DW_FORM_data16:
        return 16;
    case DW_FORM_addr:
        return u->addr_size;
    case DW_FORM_ref_addr:
        return u->version <= 2 ? u->addr_size : u->offset_size;
    case DW_FORM_strp:
    case DW_FORM_line_strp:
    case DW_FORM_sec_offset:
    case DW_FORM_strp_sup:
    case DW_FORM_GNU_strp_alt:
    case DW_FORM_GNU_ref_alt:
        return u->offset_size;
    default:
        return -1;
    }
}

static bool known_form(uint64_t form)
{
    switch (form) {
    case DW_FORM_udata:
    case DW_FORM_sdata:
    case DW_FORM_ref_udata:
    case DW_FORM_strx:
    case DW_FORM_addrx:
    case DW_FORM_GNU_addr_index:
    case DW_FORM_GNU_str_index:
    case DW_FORM_loclistx:
    case DW_FORM_rnglistx:
    case DW_FORM_string:
    case DW_FORM_block1:
    case DW_FORM_block2:
    case DW_FORM_block4:
    case DW_FORM_block:
    case DW_FORM_exprloc:
    case DW_FORM_indirect:
        return true;
    default:
        return false;
    }
}

/* Decodes one value of form `form` at r into v (at and form set by the
 * caller).  The unit's end bounds every read. */
static bool read_value(di_unit *u, ds_bytes *r, uint64_t form, int64_t implicit, di_value *v, int depth)
{
    v->form = (uint16_t)form;
    v->u = 0;
    v->s = 0;
    v->str = NULL;
    v->block = NULL;
    v->len = 0;
    uint64_t x = 0;
    switch (form) {
    case DW_FORM_flag_present:
        v->u = 1;
        return true;
    case DW_FORM_implicit_const:
        v->s = implicit;
        v->u = (uint64_t)implicit;
        return true;
    case DW_FORM_udata:
    case DW_FORM_ref_udata:
    case DW_FORM_strx:
    case DW_FORM_addrx:
    case DW_FORM_GNU_addr_index:
    case DW_FORM_GNU_str_index:
    case DW_FORM_loclistx:
    case DW_FORM_rnglistx:
        if (!ds_bytes_uleb(r, &v->u))
            return false;
        v->s = (int64_t)v->u;
        return true;
    case DW_FORM_sdata:
        if (!ds_bytes_sleb(r, &v->s))
            return false;
        v->u = (uint64_t)v->s;
        return true;
    case DW_FORM_string: {
        const uint8_t *nul = r->p < r->end ? memchr(r->p, 0, (size_t)(r->end - r->p)) : NULL;
        if (!nul)
            return false;
        v->str = (const char *)r->p;
        r->p = nul + 1;
        return true;
    }
    case DW_FORM_block1:
    case DW_FORM_block2:
    case DW_FORM_block4:
    case DW_FORM_block:
    case DW_FORM_exprloc: {
        bool ok = form == DW_FORM_block1   ? ds_bytes_fixed(r, 1, &x)
                  : form == DW_FORM_block2 ? ds_bytes_fixed(r, 2, &x)
                  : form == DW_FORM_block4 ? ds_bytes_fixed(r, 4, &x)
                                           : ds_bytes_uleb(r, &x);
        if (!ok || x > (uint64_t)(r->end - r->p))
            return false;
        v->block = r->p;
        v->len = (size_t)x;
        r->p += x;
        return true;
    }
    case DW_FORM_data16:
        if ((size_t)(r->end - r->p) < 16)
            return false;
        v->block = r->p;
        v->len = 16;
        r->p += 16;
        return true;
    case DW_FORM_indirect:
        if (depth >= MAX_INDIRECT || !ds_bytes_uleb(r, &x) || x == DW_FORM_indirect ||
            x == DW_FORM_implicit_const)
            return false;
        return read_value(u, r, x, 0, v, depth + 1);
    default: {
        int n = form_size(u, form);
        if (n < 0)
            return false;
        if (!ds_bytes_fixed(r, (unsigned)n, &v->u))
            return false;
        v->s = (int64_t)v->u;
        return true;
    }
    }
}

/* ---- abbreviations ------------------------------------------------------- */

/* The DI_PICK_* group of an attribute the function walk (dwarf_unit.c)
 * reads, 0 for the others, which di_die_pick skips. */
static uint8_t pick_group(uint64_t at)
{
    switch (at) {
    case DW_AT_sibling:
        return DI_PICK_SIBLING;
    case DW_AT_name:
        return DI_PICK_NAME;
    case DW_AT_linkage_name:
    case DW_AT_MIPS_linkage_name:
        return DI_PICK_LINKAGE;
    case DW_AT_specification:
    case DW_AT_abstract_origin:
        return DI_PICK_REF;
    case DW_AT_declaration:
        return DI_PICK_DECL;
    case DW_AT_low_pc:
    case DW_AT_high_pc:
    case DW_AT_ranges:
        return DI_PICK_CODE;
    case DW_AT_call_file:
    case DW_AT_call_line:
        return DI_PICK_CALL;
    default:
        return 0;
    }
}

static const di_abbrev *find_abbrev(const di_unit *u, uint64_t code)
{
    const di_abbrevs *t = &u->ab;
    if (code < t->ncodes) {
        uint32_t i = t->by_code[code];
        return i ? &t->v[i - 1] : NULL;
    }
    /* Codes beyond the dense table: the list is sorted by code. */
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (t->v[mid].code < code)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n && t->v[lo].code == code ? &t->v[lo] : NULL;
}

static int cmp_abbrev(const void *a, const void *b)
{
    const di_abbrev *x = a, *y = b;
    return x->code < y->code ? -1 : x->code > y->code;
}

static bool read_abbrevs(di_unit *u)
{
    const di_span *s = &u->sec->abbrev;
    if (!s->p || u->abbrev_off >= s->n)
        return failf(u, "abbreviation offset 0x%llx is outside .debug_abbrev",
                     (unsigned long long)u->abbrev_off);
    ds_bytes r = reader_of(s->p + u->abbrev_off, s->p + s->n, u->sec->le);
    di_abbrevs *t = &u->ab;
    size_t vcap = 0, acap = 0;
    uint64_t maxcode = 0;
    bool sorted = true;
    for (;;) {
        uint64_t code = 0, tag = 0, children = 0;
        if (!ds_bytes_uleb(&r, &code))
            return failf(u, "abbreviation table at 0x%llx is truncated",
                         (unsigned long long)u->abbrev_off);
        if (code == 0)
            break;
        if (!ds_bytes_uleb(&r, &tag) || !ds_bytes_fixed(&r, 1, &children) || tag > 0xffff)
            return failf(u, "abbreviation %llu is corrupt", (unsigned long long)code);
        if (t->n == vcap)
            sk_grow((void **)&t->v, &vcap, t->n + 1, sizeof *t->v);
        di_abbrev *a = &t->v[t->n];
        *a = (di_abbrev){.code = code, .tag = (uint16_t)tag, .children = children != 0,
                         .sibling = -1, .sibling_pick = -1, .declared = 0,
                         .first_attr = (uint32_t)t->nattrs};
        int16_t npick = 0;
        if (t->n && t->v[t->n - 1].code >= code)
            sorted = false;
        if (code > maxcode)
            maxcode = code;
        int32_t fixed = 0;
        for (;;) {
            uint64_t at = 0, form = 0;
            int64_t implicit = 0;
            if (!ds_bytes_uleb(&r, &at) || !ds_bytes_uleb(&r, &form))
                return failf(u, "abbreviation %llu is truncated", (unsigned long long)code);
            if (at == 0 && form == 0)
                break;
            if (form == DW_FORM_implicit_const && !ds_bytes_sleb(&r, &implicit))
                return failf(u, "abbreviation %llu is truncated", (unsigned long long)code);
            int n = form_size(u, form);
            if (at > 0xffff || form > 0xffff || (n < 0 && !known_form(form)))
                return failf(u, "abbreviation %llu uses unknown form 0x%llx", (unsigned long long)code,
                             (unsigned long long)form);
            if (a->nattrs >= DI_MAX_ATTRS)
                return failf(u, "abbreviation %llu has too many attributes", (unsigned long long)code);
            uint8_t pick = pick_group(at);
            if (at == DW_AT_sibling) {
                a->sibling = (int16_t)a->nattrs;
                a->sibling_pick = npick;
            }
            if (at == DW_AT_declaration)
                a->declared = form == DW_FORM_flag_present      ? 1
                              : form == DW_FORM_implicit_const ? implicit != 0
                                                               : -1;
            if (pick && npick < DI_DIRECT_PICKS)
                a->picks[npick] = (uint8_t)a->nattrs;
            npick += pick != 0;
            int32_t offset = fixed;
            if (n < 0 || fixed < 0)
                fixed = -1;
            else
                fixed += n;
            if (t->nattrs == acap)
                sk_grow((void **)&t->attrs, &acap, t->nattrs + 1, sizeof *t->attrs);
            /* Every fixed-size form but data16 is one unsigned integer. */
            t->attrs[t->nattrs++] = (di_attr_spec){(uint16_t)at, (uint16_t)form, (int8_t)n,
                                                   n > 0 && form != DW_FORM_data16, pick, offset,
                                                   implicit};
            a->nattrs++;
        }
        a->fixed_size = fixed;
        a->direct = fixed >= 0 && npick <= DI_DIRECT_PICKS;
        a->npick = a->direct ? (uint8_t)npick : 0;
        t->n++;
    }
    if (!sorted) {
        sk_sort(t->v, t->n, sizeof *t->v, cmp_abbrev);
        for (size_t i = 1; i < t->n; i++)
            if (t->v[i].code == t->v[i - 1].code)
                return failf(u, "abbreviation code %llu is defined twice",
                             (unsigned long long)t->v[i].code);
    }
    /* Compilers number abbreviations 1..n: a dense table makes the lookup
     * for every DIE one index. */
    if (maxcode < 4 * (uint64_t)t->n + 256) {
        t->ncodes = (size_t)maxcode + 1;
        t->by_code = sk_xcalloc(t->ncodes, sizeof *t->by_code);
        for (size_t i = 0; i < t->n; i++)
            t->by_code[t->v[i].code] = (uint32_t)i + 1;
    }
    return true;
}

bool di_abbrevs_cross_units(const di_span *abbrev)
{
    if (!abbrev->p)
        return false;
    ds_bytes r = reader_of(abbrev->p, abbrev->p + abbrev->n, true);
    while (r.p < r.end) {
        uint64_t code = 0, tag = 0, children = 0;
        if (!ds_bytes_uleb(&r, &code))
            return true;
        if (code == 0)
            continue; /* the end of one unit's table */
        if (!ds_bytes_uleb(&r, &tag) || !ds_bytes_fixed(&r, 1, &children))
            return true;
        for (;;) {
            uint64_t at = 0, form = 0;
            int64_t implicit = 0;
            if (!ds_bytes_uleb(&r, &at) || !ds_bytes_uleb(&r, &form))
                return true;
            if (at == 0 && form == 0)
                break;
            if (form == DW_FORM_ref_addr || form == DW_FORM_indirect)
                return true;
            if (form == DW_FORM_implicit_const && !ds_bytes_sleb(&r, &implicit))
                return true;
        }
    }
    return false;
}

/* ---- units ----------------------------------------------------------------- */

bool di_unit_header(di_unit *u, const di_sections *sec, uint64_t off, uint64_t *next)
{
    memset(u, 0, sizeof *u);
    u->sec = sec;
    u->off = off;
    *next = 0;
    const di_span *s = &sec->info;
    if (!s->p || off < sec->info_off || off - sec->info_off >= s->n)
        return failf(u, "unit offset is past the end of .debug_info");
    ds_bytes r = reader_of(s->p + (off - sec->info_off), s->p + s->n, sec->le);
    uint64_t len = 0, x = 0;
    if (!ds_bytes_fixed(&r, 4, &len))
        return failf(u, "unit header is truncated");
    u->offset_size = 4;
    if (len == 0xffffffffu) {
        if (!ds_bytes_fixed(&r, 8, &len))
            return failf(u, "unit header is truncated");
        u->offset_size = 8;
    } else if (len >= 0xfffffff0u) {
        return failf(u, "unit length 0x%llx is reserved", (unsigned long long)len);
    }
    if (len > (uint64_t)(r.end - r.p))
        return failf(u, "unit length 0x%llx runs past the end of .debug_info", (unsigned long long)len);
    u->end = (uint64_t)(r.p - s->p) + sec->info_off + len;
    *next = u->end;
    r.end = r.p + len;
    if (!ds_bytes_fixed(&r, 2, &x))
        return failf(u, "unit header is truncated");
    u->version = (uint16_t)x;
    if (u->version < 2 || u->version > 5)
        return failf(u, "unit has unsupported DWARF version %u", u->version);
    uint64_t asz = 0;
    if (u->version >= 5) {
        uint64_t type = 0;
        if (!ds_bytes_fixed(&r, 1, &type) || !ds_bytes_fixed(&r, 1, &asz) ||
            !ds_bytes_fixed(&r, u->offset_size, &u->abbrev_off))
            return failf(u, "unit header is truncated");
        u->type = (uint8_t)type;
        switch (type) {
        case DW_UT_compile:
        case DW_UT_partial:
            break;
        case DW_UT_skeleton:
        case DW_UT_split_compile:
            if (!ds_bytes_fixed(&r, 8, &u->dwo_id))
                return failf(u, "unit header is truncated");
            u->has_dwo_id = true;
            break;
        case DW_UT_type:
        case DW_UT_split_type:
            if (!ds_bytes_fixed(&r, 8, &x) || !ds_bytes_fixed(&r, u->offset_size, &x))
                return failf(u, "unit header is truncated");
            break;
        default:
            return failf(u, "unit has unknown type 0x%llx", (unsigned long long)type);
        }
    } else {
        u->type = DW_UT_compile;
        if (!ds_bytes_fixed(&r, u->offset_size, &u->abbrev_off) || !ds_bytes_fixed(&r, 1, &asz))
            return failf(u, "unit header is truncated");
    }
    if (asz != 1 && asz != 2 && asz != 4 && asz != 8)
        return failf(u, "unit has unsupported address size %llu", (unsigned long long)asz);
    u->addr_size = (uint8_t)asz;
    u->first_die = (uint64_t)(r.p - s->p) + sec->info_off;
    if (u->first_die >= u->end)
        return failf(u, "unit has no DIE");
    return true;
}

bool di_unit_open(di_unit *u, const di_sections *sec, uint64_t off, uint64_t *next)
{
    return di_unit_header(u, sec, off, next) && read_abbrevs(u);
}

void di_unit_close(di_unit *u)
{
    if (!u)
        return;
    free(u->ab.v);
    free(u->ab.attrs);
    free(u->ab.by_code);
    memset(&u->ab, 0, sizeof u->ab);
}

bool di_unit_read_bases(di_unit *u)
{
    if (u->sec->dwo) {
        /* A .dwo unit's tables start right after their headers. */
        if (u->version >= 5) {
            u->str_offsets_base = u->offset_size == 8 ? 16 : 8;
            u->rnglists_base = u->offset_size == 8 ? 20 : 12;
        }
    }
    di_die die;
    di_value vals[DI_MAX_ATTRS];
    uint64_t next = 0;
    if (!di_die_at(u, u->first_die, &die) || !die.ab)
        return failf(u, "unit DIE is missing");
    if (!di_die_values(u, &die, vals, &next))
        return false;
    const di_value *low = NULL;
    for (unsigned i = 0; i < die.ab->nattrs; i++) {
        const di_value *v = &vals[i];
        switch (v->at) {
        case DW_AT_str_offsets_base:
            u->str_offsets_base = v->u;
            break;
        case DW_AT_addr_base:
        case DW_AT_GNU_addr_base:
            u->addr_base = v->u;
            break;
        case DW_AT_rnglists_base:
            u->rnglists_base = v->u;
            break;
        case DW_AT_GNU_ranges_base:
            u->ranges_base = v->u;
            break;
        case DW_AT_GNU_dwo_id:
            u->dwo_id = v->u;
            u->has_dwo_id = true;
            break;
        case DW_AT_low_pc:
            low = v;
            break;
        default:
            break;
        }
    }
    /* low_pc last: as an addrx it needs addr_base, which may come after it. */
    if (low && di_value_addr(u, low, &u->low_pc))
        u->has_low_pc = true;
    return !u->error[0];
}

void di_unit_adopt_skeleton(di_unit *split, const di_unit *skeleton)
{
    split->addr_base = skeleton->addr_base;
    split->ranges_base = skeleton->ranges_base;
    if (!split->has_low_pc && skeleton->has_low_pc) {
        split->low_pc = skeleton->low_pc;
        split->has_low_pc = true;
    }
}

/* ---- DIEs ------------------------------------------------------------------ */

bool di_die_read(di_unit *u, uint64_t off, di_die *die)
{
    if (off < u->first_die || off >= u->end)
        return failf(u, "DIE offset 0x%llx is outside its unit", (unsigned long long)off);
    ds_bytes r = reader_of(di_info_at(u, off), di_info_at(u, u->end), u->sec->le);
    uint64_t code = 0;
    if (!ds_bytes_uleb(&r, &code))
        return failf(u, "DIE at 0x%llx is truncated", (unsigned long long)off);
    die->off = off;
    die->values = r.p;
    if (code == 0) {
        die->ab = NULL;
        return true;
    }
    die->ab = find_abbrev(u, code);
    if (!die->ab)
        return failf(u, "DIE at 0x%llx uses undefined abbreviation %llu", (unsigned long long)off,
                     (unsigned long long)code);
    return true;
}

/* Decodes a plain value (spec->plain) at p, whose bytes the caller has
 * bounds checked, into v. */
static inline void decode_plain(const di_attr_spec *spec, const uint8_t *p, bool le, di_value *v)
{
    v->at = spec->at;
    v->form = spec->form;
    v->u = ds_load_uint(p, (unsigned)spec->size, le);
    v->s = (int64_t)v->u;
    v->str = NULL;
    v->block = NULL;
    v->len = 0;
}

/* Decodes the value of attribute spec at r into v. */
static inline bool decode_attr(di_unit *u, ds_bytes *r, const di_attr_spec *spec, di_value *v)
{
    v->at = spec->at;
    if (spec->size == 0) {
        /* flag_present and implicit_const: the abbreviation holds the value. */
        bool implicit = spec->form == DW_FORM_implicit_const;
        v->form = spec->form;
        v->u = implicit ? (uint64_t)spec->implicit : 1;
        v->s = implicit ? spec->implicit : 0;
        v->str = NULL;
        v->block = NULL;
        v->len = 0;
        return true;
    }
    if (!spec->plain)
        return read_value(u, r, spec->form, spec->implicit, v, 0);
    /* The common case, without read_value's dispatch. */
    unsigned n = (unsigned)spec->size;
    if ((size_t)(r->end - r->p) < n)
        return false;
    decode_plain(spec, r->p, r->le, v);
    r->p += n;
    return true;
}

/* Steps over the value of attribute spec at r without decoding it. */
static inline bool pass_attr(di_unit *u, ds_bytes *r, const di_attr_spec *spec)
{
    if (spec->size >= 0) {
        if ((size_t)(r->end - r->p) < (size_t)spec->size)
            return false;
        r->p += spec->size;
        return true;
    }
    di_value v;
    return read_value(u, r, spec->form, spec->implicit, &v, 0);
}

bool di_die_values(di_unit *u, const di_die *die, di_value *vals, uint64_t *next)
{
    ds_bytes r = reader_of(die->values, di_info_at(u, u->end), u->sec->le);
    if (die->ab) {
        const di_attr_spec *spec = &u->ab.attrs[die->ab->first_attr];
        for (unsigned i = 0; i < die->ab->nattrs; i++)
            if (!decode_attr(u, &r, &spec[i], &vals[i]))
                return failf(u, "DIE at 0x%llx: attribute 0x%x runs past its unit",
                             (unsigned long long)die->off, spec[i].at);
    }
    *next = di_info_offset(u, r.p);
    return true;
}

/* A partial read of the DIE failed.  It reads the same bytes with the same
 * checks as the full decode, which then fails too and sets its message. */
static bool fail_as_values(di_unit *u, const di_die *die, di_value *vals, uint64_t *next)
{
    if (di_die_values(u, die, vals, next))
        failf(u, "DIE at 0x%llx is corrupt", (unsigned long long)die->off);
    return false;
}

bool di_die_pick(di_unit *u, const di_die *die, unsigned want, di_value *vals, unsigned *n,
                 uint64_t *next)
{
    ds_bytes r = reader_of(die->values, di_info_at(u, u->end), u->sec->le);
    unsigned k = 0;
    const di_abbrev *ab = die->ab;
    if (ab && ab->direct && (size_t)(r.end - r.p) >= (size_t)ab->fixed_size) {
        /* Every value is in the unit: read the picked ones where they are. */
        const di_attr_spec *spec = &u->ab.attrs[ab->first_attr];
        for (; k < ab->npick; k++) {
            const di_attr_spec *s = &spec[ab->picks[k]];
            if (!(s->pick & want)) {
                vals[k].at = 0;
                continue;
            }
            ds_bytes at = reader_of(r.p + s->offset, r.end, r.le);
            if (!decode_attr(u, &at, s, &vals[k]))
                goto corrupt;
        }
        *n = k;
        *next = di_info_offset(u, r.p + ab->fixed_size);
        return true;
    }
    if (ab) {
        const di_attr_spec *spec = &u->ab.attrs[ab->first_attr];
        for (unsigned i = 0; i < die->ab->nattrs; i++) {
            bool ok;
            if (spec[i].pick & want) {
                ok = decode_attr(u, &r, &spec[i], &vals[k++]);
            } else {
                if (spec[i].pick)
                    vals[k++].at = 0;
                ok = pass_attr(u, &r, &spec[i]);
            }
            if (!ok)
                goto corrupt;
        }
    }
    *n = k;
    *next = di_info_offset(u, r.p);
    return true;
corrupt:
    return fail_as_values(u, die, vals, next);
}

bool di_die_sibling(di_unit *u, const di_die *die, di_value *vals, uint64_t *next)
{
    const di_abbrev *ab = die->ab;
    const uint8_t *end = di_info_at(u, u->end);
    const di_attr_spec *s = NULL;
    if (ab && ab->sibling >= 0)
        s = &u->ab.attrs[ab->first_attr + (uint32_t)ab->sibling];
    if (!ab || !ab->direct || (size_t)(end - die->values) < (size_t)ab->fixed_size ||
        (s && !s->plain)) {
        unsigned n = 0;
        return di_die_pick(u, die, DI_PICK_SIBLING, vals, &n, next);
    }
    /* All values are in the unit, so the sibling's bytes are too. */
    if (s)
        decode_plain(s, die->values + s->offset, u->sec->le, &vals[ab->sibling_pick]);
    *next = di_info_offset(u, die->values + ab->fixed_size);
    return true;
}

bool di_die_skip_values(di_unit *u, const di_die *die, uint64_t *next)
{
    uint64_t at = di_info_offset(u, die->values);
    if (!die->ab) {
        *next = at;
        return true;
    }
    if (die->ab->fixed_size >= 0) {
        if (at + (uint64_t)die->ab->fixed_size > u->end)
            return failf(u, "DIE at 0x%llx runs past its unit", (unsigned long long)die->off);
        *next = at + (uint64_t)die->ab->fixed_size;
        return true;
    }
    ds_bytes r = reader_of(die->values, di_info_at(u, u->end), u->sec->le);
    const di_attr_spec *spec = &u->ab.attrs[die->ab->first_attr];
    for (unsigned i = 0; i < die->ab->nattrs; i++)
        if (!pass_attr(u, &r, &spec[i]))
            return failf(u, "DIE at 0x%llx: attribute 0x%x runs past its unit",
                         (unsigned long long)die->off, spec[i].at);
    *next = di_info_offset(u, r.p);
    return true;
}

/* The DW_AT_sibling of a DIE when it is usable (forward, inside the unit). */
static bool sibling_of(di_unit *u, const di_die *die, uint64_t *out)
{
    if (die->ab->sibling < 0)
        return false;
    di_value vals[DI_MAX_ATTRS];
    uint64_t next = 0, sib = 0;
    if (!di_die_sibling(u, die, vals, &next))
        return false;
    if (!di_value_ref(u, &vals[die->ab->sibling_pick], &sib) || sib <= next || sib > u->end)
        return false;
    *out = sib;
    return true;
}

bool di_skip_siblings(di_unit *u, uint64_t pos, uint64_t *next)
{
    /* Iterative, so hostile nesting cannot exhaust the stack. */
    size_t depth = 1;
    uint64_t start = pos;
    while (depth > 0) {
        di_die d;
        if (pos >= u->end)
            return failf(u, "DIEs from 0x%llx run past their unit", (unsigned long long)start);
        if (!di_die_at(u, pos, &d))
            return false;
        if (!d.ab) {
            depth--;
            pos = di_info_offset(u, d.values);
            continue;
        }
        if (d.ab->children && sibling_of(u, &d, &pos))
            continue;
        if (u->error[0] || !di_die_skip(u, &d, &pos))
            return false;
        if (d.ab->children)
            depth++;
    }
    *next = pos;
    return true;
}

bool di_die_skip_subtree(di_unit *u, const di_die *die, uint64_t *next)
{
    if (sibling_of(u, die, next))
        return true;
    uint64_t pos = 0;
    if (u->error[0] || !di_die_skip(u, die, &pos))
        return false;
    return di_skip_siblings(u, pos, next);
}

/* ---- values ---------------------------------------------------------------- */

static bool span_str(di_unit *u, const di_span *s, uint64_t off, const char **out, const char *what)
{
    if (!s->p || off >= s->n || !memchr(s->p + off, 0, s->n - off)) {
        failf(u, "string offset 0x%llx is outside %s", (unsigned long long)off, what);
        return false;
    }
    *out = (const char *)s->p + off;
    return true;
}

bool di_value_str(di_unit *u, const di_value *v, const char **s)
{
    const di_sections *sec = u->sec;
    switch (v->form) {
    case DW_FORM_string:
        *s = v->str;
        return v->str != NULL;
    case DW_FORM_strp:
        return span_str(u, &sec->str, v->u, s, ".debug_str");
    case DW_FORM_line_strp:
        return span_str(u, &sec->line_str, v->u, s, ".debug_line_str");
    case DW_FORM_strx:
    case DW_FORM_strx1:
    case DW_FORM_strx2:
    case DW_FORM_strx3:
    case DW_FORM_strx4:
    case DW_FORM_GNU_str_index: {
        uint64_t off = 0;
        if (v->u > (UINT64_MAX - u->str_offsets_base) / u->offset_size ||
            !di_read_fixed(&sec->str_offsets, sec->le, u->str_offsets_base + v->u * u->offset_size,
                           u->offset_size, &off)) {
            failf(u, "string index %llu is outside .debug_str_offsets", (unsigned long long)v->u);
            return false;
        }
        return span_str(u, &sec->str, off, s, ".debug_str");
    }
    case DW_FORM_strp_sup:
    case DW_FORM_GNU_strp_alt:
        /* In the dwz supplementary file.  When we do not have it, that is
         * not corruption, just a name we cannot show. */
        if (sec->is_sup)
            return span_str(u, &sec->str, v->u, s, ".debug_str");
        if (!sec->sup) {
            u->sup_missing++;
            return false;
        }
        return span_str(u, &sec->sup->str, v->u, s, "the supplementary file's .debug_str");
    default:
        return false;
    }
}

static bool addr_at(di_unit *u, uint64_t index, uint64_t *addr)
{
    if (index > (UINT64_MAX - u->addr_base) / u->addr_size ||
        !di_read_fixed(&u->sec->addr, u->sec->le, u->addr_base + index * u->addr_size, u->addr_size,
                       addr))
        return failf(u, "address index %llu is outside .debug_addr", (unsigned long long)index);
    return true;
}

bool di_value_addr(di_unit *u, const di_value *v, uint64_t *addr)
{
    switch (v->form) {
    case DW_FORM_addr:
        *addr = v->u;
        return true;
    case DW_FORM_addrx:
    case DW_FORM_addrx1:
    case DW_FORM_addrx2:
    case DW_FORM_addrx3:
    case DW_FORM_addrx4:
    case DW_FORM_GNU_addr_index:
        return addr_at(u, v->u, addr);
    default:
        return false;
    }
}

bool di_value_die_ref(di_unit *u, const di_value *v, uint64_t *off)
{
    const di_sections *sec = u->sec;
    switch (v->form) {
    case DW_FORM_GNU_ref_alt:
    case DW_FORM_ref_sup4:
    case DW_FORM_ref_sup8:
        if (sec->is_sup || (v->u & DI_SUP_REF))
            return false;
        if (sec->sup && v->u >= sec->sup->info.n)
            return false;
        *off = v->u | DI_SUP_REF;
        return true;
    default:
        if (!di_value_ref(u, v, off))
            return false;
        if (sec->is_sup)
            *off |= DI_SUP_REF;
        return true;
    }
}

bool di_value_udata(const di_value *v, uint64_t *x)
{
    switch (v->form) {
    case DW_FORM_data1:
    case DW_FORM_data2:
    case DW_FORM_data4:
    case DW_FORM_data8:
    case DW_FORM_udata:
        *x = v->u;
        return true;
    case DW_FORM_sdata:
    case DW_FORM_implicit_const:
        if (v->s < 0)
            return false;
        *x = (uint64_t)v->s;
        return true;
    default:
        return false;
    }
}

/* ---- range lists -------------------------------------------------------------- */

/* DWARF 5 .debug_rnglists entries starting at off. */
static bool rnglist(di_unit *u, uint64_t off, void (*add)(void *, uint64_t, uint64_t), void *ctx)
{
    const di_span *s = &u->sec->rnglists;
    if (!s->p || off >= s->n)
        return failf(u, "range list offset 0x%llx is outside .debug_rnglists",
                     (unsigned long long)off);
    ds_bytes r = reader_of(s->p + off, s->p + s->n, u->sec->le);
    uint64_t base = u->low_pc;
    unsigned asz = u->addr_size;
    for (;;) {
        uint64_t kind = 0, a = 0, b = 0;
        if (!ds_bytes_fixed(&r, 1, &kind))
            return failf(u, "range list at 0x%llx is truncated", (unsigned long long)off);
        bool ok = true;
        switch (kind) {
        case DW_RLE_end_of_list:
            return true;
        case DW_RLE_base_addressx:
            ok = ds_bytes_uleb(&r, &a) && addr_at(u, a, &base);
            break;
        case DW_RLE_startx_endx:
            ok = ds_bytes_uleb(&r, &a) && ds_bytes_uleb(&r, &b) && addr_at(u, a, &a) && addr_at(u, b, &b);
            if (ok)
                add(ctx, a, b);
            break;
        case DW_RLE_startx_length:
            ok = ds_bytes_uleb(&r, &a) && ds_bytes_uleb(&r, &b) && addr_at(u, a, &a);
            if (ok)
                add(ctx, a, a + b);
            break;
        case DW_RLE_offset_pair:
            ok = ds_bytes_uleb(&r, &a) && ds_bytes_uleb(&r, &b);
            if (ok)
                add(ctx, base + a, base + b);
            break;
        case DW_RLE_base_address:
            ok = ds_bytes_fixed(&r, asz, &base);
            break;
        case DW_RLE_start_end:
            ok = ds_bytes_fixed(&r, asz, &a) && ds_bytes_fixed(&r, asz, &b);
            if (ok)
                add(ctx, a, b);
            break;
        case DW_RLE_start_length:
            ok = ds_bytes_fixed(&r, asz, &a) && ds_bytes_uleb(&r, &b);
            if (ok)
                add(ctx, a, a + b);
            break;
        default:
            return failf(u, "range list at 0x%llx has unknown entry kind %llu",
                         (unsigned long long)off, (unsigned long long)kind);
        }
        if (!ok)
            return failf(u, "range list at 0x%llx is truncated or corrupt", (unsigned long long)off);
    }
}

/* DWARF 2-4 .debug_ranges: address pairs relative to the base, which an
 * entry starting with the largest address replaces. */
static bool debug_ranges(di_unit *u, uint64_t off, void (*add)(void *, uint64_t, uint64_t), void *ctx)
{
    const di_span *s = &u->sec->ranges;
    if (!s->p || off >= s->n)
        return failf(u, "range list offset 0x%llx is outside .debug_ranges", (unsigned long long)off);
    ds_bytes r = reader_of(s->p + off, s->p + s->n, u->sec->le);
    unsigned asz = u->addr_size;
    uint64_t maxaddr = asz == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * asz)) - 1;
    uint64_t base = u->low_pc;
    for (;;) {
        uint64_t a = 0, b = 0;
        if (!ds_bytes_fixed(&r, asz, &a) || !ds_bytes_fixed(&r, asz, &b))
            return failf(u, "range list at 0x%llx is truncated", (unsigned long long)off);
        if (a == 0 && b == 0)
            return true;
        if (a == maxaddr) {
            base = b;
            continue;
        }
        add(ctx, base + a, base + b);
    }
}

/* A DWARF 5 range list: offsets are section offsets, made relative to
 * u->sec->rnglists (one contribution when streamed) where they are read. */
static bool rnglists_ranges(di_unit *u, const di_value *v, void (*add)(void *, uint64_t, uint64_t),
                            void *ctx)
{
    uint64_t base = u->sec->rnglists_off;
    uint64_t off = v->u;
    if (v->form == DW_FORM_rnglistx) {
        uint64_t rel = 0;
        if (v->u > (UINT64_MAX - u->rnglists_base) / u->offset_size || u->rnglists_base < base ||
            !di_read_fixed(&u->sec->rnglists, u->sec->le,
                           u->rnglists_base - base + v->u * u->offset_size, u->offset_size, &rel))
            return failf(u, "range list index %llu is outside .debug_rnglists",
                         (unsigned long long)v->u);
        off = u->rnglists_base + rel;
    } else if (v->form != DW_FORM_sec_offset && v->form != DW_FORM_data4 &&
               v->form != DW_FORM_data8) {
        return failf(u, "DW_AT_ranges has unexpected form 0x%x", v->form);
    }
    if (off < base)
        return failf(u, "range list offset 0x%llx is outside .debug_rnglists",
                     (unsigned long long)off);
    return rnglist(u, off - base, add, ctx);
}

bool di_ranges(di_unit *u, const di_value *v, void (*add)(void *ctx, uint64_t lo, uint64_t hi),
               void *ctx)
{
    if (u->version >= 5) {
        /* A streamed unit's failure may only be the list lying outside
         * its contribution: the whole section decides (see
         * di_sections.rnglists_part). */
        if (!rnglists_ranges(u, v, add, ctx)) {
            if (u->sec->rnglists_part)
                u->rnglists_missed = true;
            return false;
        }
        return true;
    }
    if (v->form != DW_FORM_sec_offset && v->form != DW_FORM_data4 && v->form != DW_FORM_data8)
        return failf(u, "DW_AT_ranges has unexpected form 0x%x", v->form);
    /* In a GCC DWARF 4 .dwo, offsets are relative to the skeleton's
     * DW_AT_GNU_ranges_base. */
    return debug_ranges(u, v->u + (u->sec->dwo ? u->ranges_base : 0), add, ctx);
}
