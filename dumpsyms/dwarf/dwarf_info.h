/*
 * dwarf_info.h (internal) — our own reader of DWARF debugging entries.
 *
 * libdwarf allocates an object per DIE and per attribute list; on a large
 * C++ binary that was half of dumpsyms' time.  This reader works directly
 * on the (mapped or inflated) section bytes: a unit header, its abbreviation
 * table, then DIEs read in place, with attribute values decoded into a
 * caller's array.  Nothing is allocated per DIE, every read is bounds
 * checked, and all state lives in a di_unit, so any number of threads can
 * read units of the same sections at once.
 *
 * It reads DWARF 2 to 5 in 32- and 64-bit format and either byte order,
 * including the split-DWARF forms (DWARF 5 strx/addrx/rnglistx and GCC's
 * DWARF 4 GNU_str_index / GNU_addr_index), so a .dwo or a .dwp
 * contribution is read the same way as ordinary .debug_info.
 */
#ifndef SYMKIT_DUMPSYMS_DWARF_INFO_H
#define SYMKIT_DUMPSYMS_DWARF_INFO_H

#include <dwarf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bytes of one section (or of one unit's contribution in a .dwp). */
typedef struct di_span {
    const uint8_t *p;
    size_t n;
} di_span;

/* Everything a unit's attributes may point into.  For a split unit, info,
 * abbrev, str, str_offsets, rnglists and line are the .dwo's (or the .dwp
 * contribution's) and addr / ranges are the skeleton's file's. */
typedef struct di_sections di_sections;
struct di_sections {
    di_span info, abbrev, str, line_str, str_offsets, addr, ranges, rnglists, line;
    uint64_t info_off; /* section offset of info.p[0]: non-zero when info holds
                        * one unit read from a stream rather than the section */
    uint64_t line_off; /* the same for line: one unit's line program */
    /* rnglists_part: rnglists holds one unit's contribution, read from a
     * stream, at section offset rnglists_off.  A range list outside it (or
     * not readable within it) sets the unit's rnglists_missed: the caller
     * reads the unit again against the whole section. */
    uint64_t rnglists_off;
    bool rnglists_part;
    bool le;          /* little-endian */
    bool dwo;         /* these are .dwo sections (bases are implicit) */
    /* dwz: the supplementary file's sections (DW_FORM_GNU_ref_alt,
     * GNU_strp_alt, ref_sup4/8, strp_sup point there), or NULL when it
     * could not be found; is_sup marks the supplementary file's own. */
    const di_sections *sup;
    bool is_sup;
};

/* Set in a DIE offset from di_value_die_ref() that lies in the dwz
 * supplementary file's .debug_info (the rest is its section offset). */
#define DI_SUP_REF (UINT64_C(1) << 63)

typedef struct di_attr_spec {
    uint16_t at, form;
    int8_t size;      /* bytes of a fixed-size form, -1 when the value says */
    bool plain;       /* a fixed-size unsigned integer of `size` bytes */
    uint8_t pick;     /* its DI_PICK_* group when di_die_pick may decode it, else 0 */
    int32_t offset;   /* of the value from the DIE's first value when all values
                       * before it have fixed sizes, else -1 */
    int64_t implicit; /* DW_FORM_implicit_const's value */
} di_attr_spec;

/* The most picked attributes of an abbreviation read without a walk over
 * all its values (the walk's set has twelve). */
#define DI_DIRECT_PICKS 12

typedef struct di_abbrev {
    uint64_t code;
    uint16_t tag;
    bool children;
    uint16_t nattrs;
    int16_t sibling;     /* index of DW_AT_sibling among the attributes, -1: none */
    int16_t sibling_pick; /* ... and among those di_die_pick decodes */
    /* DW_AT_declaration (the last one) as the abbreviation gives it: 1 set
     * (flag_present, a non-zero implicit_const), 0 absent or implicit 0,
     * -1 in the DIE. */
    int8_t declared;
    int32_t fixed_size;  /* bytes of all values when every form has a fixed size, else -1 */
    uint32_t first_attr; /* into di_abbrevs.attrs */
    /* When every value has a fixed size and few are picked: the indexes of
     * those di_die_pick decodes, which it then reads at their offsets. */
    bool direct;
    uint8_t npick;
    uint8_t picks[DI_DIRECT_PICKS];
} di_abbrev;

typedef struct di_abbrevs {
    di_abbrev *v;
    size_t n;
    di_attr_spec *attrs;
    size_t nattrs;
    uint32_t *by_code; /* dense: code -> index + 1 for codes below ncodes */
    size_t ncodes;
} di_abbrevs;

/* The most attributes one DIE may have; more is treated as corruption. */
#define DI_MAX_ATTRS 96

typedef struct di_unit {
    const di_sections *sec;
    uint64_t off, end;     /* [off, end) of the unit in sec->info */
    uint64_t first_die;    /* section offset of the unit DIE */
    uint16_t version;
    uint8_t type;          /* DW_UT_* (DWARF 2-4 units: DW_UT_compile or DW_UT_type) */
    uint8_t addr_size, offset_size;
    uint64_t abbrev_off;
    uint64_t dwo_id;       /* skeleton / split units */
    bool has_dwo_id;
    di_abbrevs ab;
    /* From the unit DIE (di_unit_read_bases), or implicit for .dwo units: */
    uint64_t str_offsets_base, addr_base, rnglists_base, ranges_base;
    uint64_t low_pc;       /* the base of range lists and location lists */
    bool has_low_pc;
    char error[160];       /* first problem found; sticky */
    bool rnglists_missed;  /* see di_sections.rnglists_part */
    /* Strings and references into a dwz supplementary file that is not
     * there: not corruption, but names that cannot be shown. */
    uint32_t sup_missing;
} di_unit;

/* One decoded attribute value.  What the form carries is in u (constants,
 * addresses and indexes before resolution, section offsets, references made
 * section-relative), s (signed constants), or str / block. */
typedef struct di_value {
    uint16_t at, form;
    uint64_t u;
    int64_t s;
    const char *str;      /* DW_FORM_string only; others need di_value_str */
    const uint8_t *block;
    size_t len;
} di_value;

typedef struct di_die {
    uint64_t off;          /* section offset */
    const di_abbrev *ab;   /* NULL: a null entry (end of a sibling list) */
    const uint8_t *values; /* first attribute value */
} di_die;

/* Reads the unit header at off (sets u->error and returns false when it is
 * corrupt; *next is where the next unit would start when the length field
 * itself was readable, else 0).  Parses the abbreviation table too. */
bool di_unit_open(di_unit *u, const di_sections *sec, uint64_t off, uint64_t *next);
/* The header only (no abbreviations): for listing units. */
bool di_unit_header(di_unit *u, const di_sections *sec, uint64_t off, uint64_t *next);
void di_unit_close(di_unit *u);
/* Reads the unit DIE's bases (str_offsets, addr, rnglists, GNU ranges) and
 * low_pc; a split unit takes addr_base, ranges_base and low_pc from its
 * skeleton with di_unit_adopt_skeleton() afterwards. */
bool di_unit_read_bases(di_unit *u);
void di_unit_adopt_skeleton(di_unit *split, const di_unit *skeleton);

/* Reads the DIE at section offset off (which must lie inside the unit);
 * di_die_at is its fast path for the codes of one or two bytes that the
 * dense table holds. */
bool di_die_read(di_unit *u, uint64_t off, di_die *die);
static inline bool di_die_at(di_unit *u, uint64_t off, di_die *die);
/* Decodes the DIE's attributes into vals (room for DI_MAX_ATTRS); *next is
 * the offset just past them: the first child, or the next sibling. */
bool di_die_values(di_unit *u, const di_die *die, di_value *vals, uint64_t *next);
/* The groups of attributes the function walk reads. */
enum {
    DI_PICK_SIBLING = 1,  /* DW_AT_sibling */
    DI_PICK_NAME = 2,     /* DW_AT_name */
    DI_PICK_LINKAGE = 4,  /* DW_AT_linkage_name, DW_AT_MIPS_linkage_name */
    DI_PICK_REF = 8,      /* DW_AT_specification, DW_AT_abstract_origin */
    DI_PICK_DECL = 16,    /* DW_AT_declaration */
    DI_PICK_CODE = 32,    /* DW_AT_low_pc, DW_AT_high_pc, DW_AT_ranges */
    DI_PICK_CALL = 64,    /* DW_AT_call_file, DW_AT_call_line */
    DI_PICK_ALL = 127
};
/* Decodes only the attributes of the groups in want, in the DIE's order,
 * and skips the rest undecoded.  vals[0..*n) holds one slot per attribute
 * of any group, so the abbreviation's sibling_pick indexes DW_AT_sibling;
 * a slot of a group not wanted has at 0.  It fails where di_die_values
 * fails, with the same message: every value is still bounds checked. */
bool di_die_pick(di_unit *u, const di_die *die, unsigned want, di_value *vals, unsigned *n,
                 uint64_t *next);
/* Decodes only DW_AT_sibling (into vals[ab->sibling_pick], when the DIE
 * has one): what skipping the children of a DIE needs.  Fails as
 * di_die_values does. */
bool di_die_sibling(di_unit *u, const di_die *die, di_value *vals, uint64_t *next);
/* The offset past the DIE's attributes, without decoding them (inline
 * when every value has a fixed size). */
bool di_die_skip_values(di_unit *u, const di_die *die, uint64_t *next);
static inline bool di_die_skip(di_unit *u, const di_die *die, uint64_t *next);
/* The offset past the DIE and all its descendants, using DW_AT_sibling when
 * present.  di_skip_siblings skips the DIEs from pos to the null entry that
 * ends their list and gives the offset past it. */
bool di_die_skip_subtree(di_unit *u, const di_die *die, uint64_t *next); /* die has children */
static inline bool di_die_skip_tree(di_unit *u, const di_die *die, uint64_t *next);
bool di_skip_siblings(di_unit *u, uint64_t pos, uint64_t *next);

/* Resolutions of a decoded value.  Each returns false when the value does
 * not resolve (a form of another kind, an index past the table, a string
 * in a dwz supplementary file that is missing: u->sup_missing counts
 * those); u->error is set only for real corruption. */
bool di_value_str(di_unit *u, const di_value *v, const char **s);
bool di_value_addr(di_unit *u, const di_value *v, uint64_t *addr);
/* A reference to a DIE in the same .debug_info (section offset); false for
 * type signatures and references into supplementary files.  (Inline: the
 * walk resolves a DW_AT_sibling for most DIEs with children.) */
static inline bool di_value_ref(const di_unit *u, const di_value *v, uint64_t *off);
/* A reference to a DIE in this file's .debug_info or (with DI_SUP_REF set
 * in *off) in the dwz supplementary file's: DW_FORM_GNU_ref_alt and
 * ref_sup4/8, and any reference made from inside the supplementary file.
 * A reference into a supplementary file that is missing still resolves
 * (the caller finds no unit there and counts a lost name). */
bool di_value_die_ref(di_unit *u, const di_value *v, uint64_t *off);
bool di_value_udata(const di_value *v, uint64_t *x);

/* The address ranges of a DW_AT_ranges value (any DWARF version): calls
 * add(ctx, lo, hi) for each non-empty [lo, hi).  False on corruption. */
bool di_ranges(di_unit *u, const di_value *v, void (*add)(void *ctx, uint64_t lo, uint64_t hi),
               void *ctx);

/* True when some abbreviation in the whole .debug_abbrev could refer from
 * one unit into another (DW_FORM_ref_addr, or DW_FORM_indirect, which may
 * hide one), or when the section cannot be parsed: then units cannot be
 * read in isolation. */
bool di_abbrevs_cross_units(const di_span *abbrev);

/* The bytes at section offset off of the unit's .debug_info, and back. */
static inline const uint8_t *di_info_at(const di_unit *u, uint64_t off)
{
    return u->sec->info.p + (off - u->sec->info_off);
}
static inline uint64_t di_info_offset(const di_unit *u, const uint8_t *p)
{
    return (uint64_t)(p - u->sec->info.p) + u->sec->info_off;
}

static inline bool di_die_at(di_unit *u, uint64_t off, di_die *die)
{
    if (off >= u->first_die && off < u->end) {
        const uint8_t *p = di_info_at(u, off);
        uint64_t code = p[0];
        unsigned len = 1;
        if ((code & 0x80) && u->end - off > 1 && !(p[1] & 0x80)) {
            code = (code & 0x7f) | (uint64_t)p[1] << 7;
            len = 2;
        }
        if (!(p[len - 1] & 0x80) && code < u->ab.ncodes && (code == 0 || u->ab.by_code[code])) {
            die->off = off;
            die->values = p + len;
            die->ab = code ? &u->ab.v[u->ab.by_code[code] - 1] : NULL;
            return true;
        }
    }
    return di_die_read(u, off, die);
}

static inline bool di_die_skip(di_unit *u, const di_die *die, uint64_t *next)
{
    if (die->ab && die->ab->fixed_size >= 0) {
        uint64_t at = di_info_offset(u, die->values);
        if (u->end - at >= (uint64_t)die->ab->fixed_size) {
            *next = at + (uint64_t)die->ab->fixed_size;
            return true;
        }
    }
    return di_die_skip_values(u, die, next);
}

static inline bool di_die_skip_tree(di_unit *u, const di_die *die, uint64_t *next)
{
    if (!die->ab || !die->ab->children)
        return di_die_skip(u, die, next);
    return di_die_skip_subtree(u, die, next);
}

static inline bool di_value_ref(const di_unit *u, const di_value *v, uint64_t *off)
{
    switch (v->form) {
    case DW_FORM_ref1:
    case DW_FORM_ref2:
    case DW_FORM_ref4:
    case DW_FORM_ref8:
    case DW_FORM_ref_udata:
        if (v->u >= u->end - u->off)
            return false;
        *off = u->off + v->u;
        return true;
    case DW_FORM_ref_addr:
        /* (A streamed unit has no other units to refer to.) */
        if (v->u < u->sec->info_off || v->u - u->sec->info_off >= u->sec->info.n)
            return false;
        *off = v->u;
        return true;
    default:
        return false;
    }
}

/* Bounds-checked fixed-width read from a span; false when past the end. */
bool di_read_fixed(const di_span *s, bool le, uint64_t off, unsigned n, uint64_t *v);

#endif
