/* dwarf_unit.c — one compilation unit: DIE walk (functions, names, inline
 * trees), address ranges of every DWARF version, and the line table. */
#include "dwarf_unit.h"

#include <stdlib.h>
#include <string.h>

#include "demangler.h"

/* Deeper nesting than this is not something a compiler writes; stopping
 * keeps a hostile file from exhausting the stack. */
#define MAX_NESTING 512
/* Specification / abstract-origin chains are at most a few links long;
 * the limit also breaks reference cycles in corrupt input. */
#define MAX_REF_HOPS 16

typedef struct decl {
    Dwarf_Off off;
    const char *name, *linkage, *scope;
    Dwarf_Off ref;
    bool has_ref;
    bool lazy; /* attributes not read yet (a member function declaration) */
    bool resolved;
    bool from_linkage; /* full came from a linkage name */
    const char *full;  /* memoized display name (NULL: none) */
    const char *plain; /* the unqualified DW_AT_name found along the chain */
} decl;

typedef struct pending_func {
    uint32_t decl;
    uint32_t first_range, nranges; /* into unit.rr */
} pending_func;

typedef struct pending_inline {
    uint32_t func; /* pending_func index */
    uint32_t depth, call_line, call_file;
    Dwarf_Off origin;
    bool has_origin;
    uint32_t first_range, nranges; /* into unit.rr */
} pending_inline;

typedef struct row {
    uint64_t addr;
    uint32_t line, file;
    bool end;
} row;

typedef struct unit {
    ds_dwarf *d;
    Dwarf_Debug dbg;
    const dsu_env *env;
    dsu_result *out;
    Dwarf_Half version;
    uint32_t addr_size;
    uint64_t cu_base;
    const char *comp_dir;
    bool failed;
    char msg[512];

    decl *decls;
    size_t ndecls, decls_cap;
    uint32_t *slots; /* open addressing: decl index + 1, 0 = empty */
    size_t nslots;

    dsu_range *rr;
    size_t nrr, rr_cap;
    pending_func *pf;
    size_t npf, pf_cap;
    pending_inline *pi;
    size_t npi, pi_cap;

    /* The line table header, parsed by us (see decode_rows). */
    unsigned line_version;
    const char **ldirs;
    size_t nldirs;
    const char **lfile_names;
    uint64_t *lfile_dirs;
    size_t nlfiles;
    uint64_t file_base; /* number of the first file: 1 before DWARF 5, 0 since */
    bool *file_done;
} unit;

/* ---- errors ------------------------------------------------------------ */

static int fail_dwarf(unit *u, const char *what, Dwarf_Error e)
{
    if (!u->failed) {
        char buf[400];
        ds_dwarf_errmsg(u->d, e, buf, sizeof buf);
        snprintf(u->msg, sizeof u->msg, "%s: %s", what, buf);
        u->failed = true;
    } else if (e) {
        dwarf_dealloc(u->dbg, e, DW_DLA_ERROR);
    }
    return -1;
}

static int fail_msg(unit *u, const char *what)
{
    if (!u->failed) {
        snprintf(u->msg, sizeof u->msg, "%s", what);
        u->failed = true;
    }
    return -1;
}

static void drop_error(unit *u, Dwarf_Error e)
{
    if (e)
        dwarf_dealloc(u->dbg, e, DW_DLA_ERROR);
}

/* ---- declarations map -------------------------------------------------- */

static size_t slot_of(Dwarf_Off off, size_t nslots)
{
    uint64_t h = (uint64_t)off * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (nslots - 1);
}

static void map_insert(unit *u, uint32_t idx)
{
    size_t i = slot_of(u->decls[idx].off, u->nslots);
    while (u->slots[i])
        i = (i + 1) & (u->nslots - 1);
    u->slots[i] = idx + 1;
}

static int32_t map_find(const unit *u, Dwarf_Off off)
{
    if (!u->nslots)
        return -1;
    size_t i = slot_of(off, u->nslots);
    while (u->slots[i]) {
        if (u->decls[u->slots[i] - 1].off == off)
            return (int32_t)(u->slots[i] - 1);
        i = (i + 1) & (u->nslots - 1);
    }
    return -1;
}

static uint32_t add_decl(unit *u, const decl *d)
{
    sk_grow((void **)&u->decls, &u->decls_cap, u->ndecls + 1, sizeof *u->decls);
    uint32_t idx = (uint32_t)u->ndecls++;
    u->decls[idx] = *d;
    if (u->ndecls * 2 > u->nslots) {
        free(u->slots);
        u->nslots = u->nslots ? u->nslots * 2 : 1024;
        u->slots = sk_xcalloc(u->nslots, sizeof *u->slots);
        for (uint32_t k = 0; k < u->ndecls; k++)
            map_insert(u, k);
    } else {
        map_insert(u, idx);
    }
    return idx;
}

/* ---- attributes and ranges --------------------------------------------- */

typedef struct dinfo {
    const char *name, *linkage;
    Dwarf_Off ref;
    bool has_ref, declaration;
    bool has_low, has_high, high_is_offset;
    uint64_t low, high;
    uint64_t call_file, call_line;
} dinfo;

static void add_range(unit *u, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return;
    sk_grow((void **)&u->rr, &u->rr_cap, u->nrr + 1, sizeof *u->rr);
    u->rr[u->nrr++] = (dsu_range){lo, hi};
}

/* DWARF 5 .debug_rnglists (DW_FORM_sec_offset or DW_FORM_rnglistx).
 * libdwarf applies base addresses itself ("cooked" values), including
 * DW_RLE_offset_pair against the unit's base when there is no
 * .debug_addr at all. */
static int read_rnglists(unit *u, Dwarf_Attribute a, Dwarf_Half form, Dwarf_Unsigned val)
{
    Dwarf_Error e = NULL;
    Dwarf_Rnglists_Head head = NULL;
    Dwarf_Unsigned count = 0, goff = 0;
    int res = dwarf_rnglists_get_rle_head(a, form, val, &head, &count, &goff, &e);
    if (res == DW_DLV_NO_ENTRY)
        return 0;
    if (res != DW_DLV_OK)
        return fail_dwarf(u, "reading .debug_rnglists", e);
    int rc = 0;
    for (Dwarf_Unsigned i = 0; i < count; i++) {
        unsigned len = 0, code = 0;
        Dwarf_Unsigned raw1 = 0, raw2 = 0, c1 = 0, c2 = 0;
        Dwarf_Bool unavailable = 0;
        res = dwarf_get_rnglists_entry_fields_a(head, i, &len, &code, &raw1, &raw2, &unavailable,
                                                &c1, &c2, &e);
        if (res != DW_DLV_OK) {
            rc = fail_dwarf(u, "reading a .debug_rnglists entry", e);
            break;
        }
        if (code == DW_RLE_end_of_list)
            break;
        switch (code) {
        case DW_RLE_startx_endx:
        case DW_RLE_startx_length:
        case DW_RLE_offset_pair:
        case DW_RLE_start_end:
        case DW_RLE_start_length:
            if (unavailable) {
                rc = fail_msg(u, "range list uses .debug_addr, which is missing");
                break;
            }
            add_range(u, c1, c2);
            break;
        default: /* base_address(x): libdwarf folds it into the cooked values */
            break;
        }
        if (rc)
            break;
    }
    dwarf_dealloc_rnglists_head(head);
    return rc;
}

/* DWARF 2-4 .debug_ranges, relative to the unit's base address unless a
 * base-address-selection entry says otherwise. */
static int read_debug_ranges(unit *u, Dwarf_Die die, Dwarf_Unsigned off)
{
    Dwarf_Error e = NULL;
    Dwarf_Ranges *buf = NULL;
    Dwarf_Signed count = 0;
    Dwarf_Unsigned bytes = 0;
    Dwarf_Off real = 0;
    int res = dwarf_get_ranges_b(u->dbg, off, die, &real, &buf, &count, &bytes, &e);
    if (res == DW_DLV_NO_ENTRY)
        return 0;
    if (res != DW_DLV_OK)
        return fail_dwarf(u, "reading .debug_ranges", e);
    uint64_t base = u->cu_base;
    for (Dwarf_Signed i = 0; i < count; i++) {
        if (buf[i].dwr_type == DW_RANGES_END)
            break;
        if (buf[i].dwr_type == DW_RANGES_ADDRESS_SELECTION) {
            base = buf[i].dwr_addr2;
            continue;
        }
        add_range(u, base + buf[i].dwr_addr1, base + buf[i].dwr_addr2);
    }
    dwarf_ranges_dealloc(u->dbg, buf, count);
    return 0;
}

static int read_ranges_attr(unit *u, Dwarf_Die die, Dwarf_Attribute a)
{
    Dwarf_Error e = NULL;
    Dwarf_Half form = 0;
    if (dwarf_whatform(a, &form, &e) != DW_DLV_OK)
        return fail_dwarf(u, "reading DW_AT_ranges", e);
    Dwarf_Unsigned val = 0;
    int res;
    if (form == DW_FORM_rnglistx || form == DW_FORM_data4 || form == DW_FORM_data8 ||
        form == DW_FORM_udata) {
        res = dwarf_formudata(a, &val, &e);
    } else {
        Dwarf_Off off = 0;
        res = dwarf_global_formref(a, &off, &e);
        val = off;
    }
    if (res != DW_DLV_OK)
        return fail_dwarf(u, "reading DW_AT_ranges", e);
    if (u->version >= 5)
        return read_rnglists(u, a, form, val);
    return read_debug_ranges(u, die, val);
}

/* A string attribute; a form we cannot read (a dwz .gnu_debugaltlink
 * string, say) is treated as absent rather than as corruption. */
static const char *form_string(unit *u, Dwarf_Attribute a)
{
    char *s = NULL;
    Dwarf_Error e = NULL;
    int res = dwarf_formstring(a, &s, &e);
    if (res == DW_DLV_ERROR)
        drop_error(u, e);
    return res == DW_DLV_OK && s && *s ? s : NULL;
}

/* Reads the attributes we care about; with want_ranges, appends the DIE's
 * code ranges to u->rr. */
static int read_info(unit *u, Dwarf_Die die, dinfo *info, bool want_ranges)
{
    memset(info, 0, sizeof *info);
    Dwarf_Error e = NULL;
    Dwarf_Attribute *attrs = NULL;
    Dwarf_Signed n = 0;
    int res = dwarf_attrlist(die, &attrs, &n, &e);
    if (res == DW_DLV_NO_ENTRY)
        return 0;
    if (res != DW_DLV_OK)
        return fail_dwarf(u, "reading attributes", e);
    int rc = 0;
    for (Dwarf_Signed i = 0; i < n && rc == 0; i++) {
        Dwarf_Attribute a = attrs[i];
        Dwarf_Half at = 0, form = 0;
        if (dwarf_whatattr(a, &at, &e) != DW_DLV_OK || dwarf_whatform(a, &form, &e) != DW_DLV_OK) {
            rc = fail_dwarf(u, "reading an attribute", e);
            break;
        }
        switch (at) {
        case DW_AT_name:
            info->name = form_string(u, a);
            break;
        case DW_AT_linkage_name:
        case DW_AT_MIPS_linkage_name:
            info->linkage = form_string(u, a);
            break;
        case DW_AT_specification:
        case DW_AT_abstract_origin: {
            /* A reference into a dwz supplementary file is not in this
             * file's .debug_info: following it would land on garbage. */
            if (form == DW_FORM_GNU_ref_alt || form == DW_FORM_ref_sup4 || form == DW_FORM_ref_sup8)
                break;
            Dwarf_Off off = 0;
            if (dwarf_global_formref(a, &off, &e) != DW_DLV_OK) {
                rc = fail_dwarf(u, "reading a DIE reference", e);
                break;
            }
            info->ref = off;
            info->has_ref = true;
            break;
        }
        case DW_AT_declaration: {
            Dwarf_Bool flag = 0;
            if (dwarf_formflag(a, &flag, &e) == DW_DLV_OK)
                info->declaration = flag != 0;
            else
                drop_error(u, e);
            break;
        }
        case DW_AT_low_pc: {
            if (!want_ranges)
                break;
            Dwarf_Addr low = 0;
            if (dwarf_formaddr(a, &low, &e) != DW_DLV_OK) {
                rc = fail_dwarf(u, "reading DW_AT_low_pc", e);
                break;
            }
            info->low = low;
            info->has_low = true;
            break;
        }
        case DW_AT_high_pc:
            if (!want_ranges)
                break;
            if (form == DW_FORM_addr || form == DW_FORM_addrx || form == DW_FORM_GNU_addr_index ||
                (form >= DW_FORM_addrx1 && form <= DW_FORM_addrx4)) {
                Dwarf_Addr high = 0;
                res = dwarf_formaddr(a, &high, &e);
                info->high = high;
            } else {
                Dwarf_Unsigned v = 0;
                res = dwarf_formudata(a, &v, &e);
                info->high = v;
                info->high_is_offset = true;
            }
            if (res != DW_DLV_OK) {
                rc = fail_dwarf(u, "reading DW_AT_high_pc", e);
                break;
            }
            info->has_high = true;
            break;
        case DW_AT_ranges:
            if (want_ranges)
                rc = read_ranges_attr(u, die, a);
            break;
        case DW_AT_call_file:
        case DW_AT_call_line: {
            Dwarf_Unsigned v = 0;
            if (dwarf_formudata(a, &v, &e) != DW_DLV_OK) {
                /* libdwarf reads DW_FORM_implicit_const (GCC 11+ puts
                 * call_file there) only as a signed constant. */
                drop_error(u, e);
                Dwarf_Signed sv = 0;
                if (dwarf_formsdata(a, &sv, &e) != DW_DLV_OK || sv < 0) {
                    drop_error(u, e);
                    break;
                }
                v = (Dwarf_Unsigned)sv;
            }
            if (at == DW_AT_call_file)
                info->call_file = v;
            else
                info->call_line = v;
            break;
        }
        default:
            break;
        }
    }
    for (Dwarf_Signed i = 0; i < n; i++)
        dwarf_dealloc_attribute(attrs[i]);
    dwarf_dealloc(u->dbg, attrs, DW_DLA_LIST);
    if (rc == 0 && want_ranges && info->has_low && info->has_high) {
        uint64_t hi = info->high_is_offset ? info->low + info->high : info->high;
        add_range(u, info->low, hi);
    }
    return rc;
}

/* ---- names --------------------------------------------------------------- */

/* A referenced DIE outside this unit (DW_FORM_ref_addr, LTO): read it
 * directly.  Its enclosing scopes are unknown, which only matters when it
 * has no linkage name. */
static int32_t load_external(unit *u, Dwarf_Off off)
{
    Dwarf_Die die = NULL;
    Dwarf_Error e = NULL;
    int res = dwarf_offdie_b(u->dbg, off, true, &die, &e);
    if (res != DW_DLV_OK) {
        if (res == DW_DLV_ERROR)
            drop_error(u, e);
        return -1;
    }
    dinfo info;
    /* A failure to read a foreign DIE costs a name, not the unit. */
    bool was_failed = u->failed;
    res = read_info(u, die, &info, false);
    dwarf_dealloc_die(die);
    if (res != 0) {
        if (!was_failed)
            u->failed = false;
        return -1;
    }
    decl d = {.off = off, .name = info.name, .linkage = info.linkage, .scope = "",
              .ref = info.ref, .has_ref = info.has_ref};
    return (int32_t)add_decl(u, &d);
}

/* Reads the attributes of a declaration registered without them.  Class
 * bodies repeat in every unit that includes their header and most member
 * declarations are never referenced, so reading them only on demand saves
 * most of the attribute work on big C++ inputs. */
static void load_lazy(unit *u, int32_t idx)
{
    u->decls[idx].lazy = false;
    Dwarf_Die die = NULL;
    Dwarf_Error e = NULL;
    int res = dwarf_offdie_b(u->dbg, u->decls[idx].off, true, &die, &e);
    if (res != DW_DLV_OK) {
        if (res == DW_DLV_ERROR)
            drop_error(u, e);
        return;
    }
    dinfo info;
    bool was_failed = u->failed;
    res = read_info(u, die, &info, false);
    dwarf_dealloc_die(die);
    if (res != 0) {
        if (!was_failed)
            u->failed = false;
        return;
    }
    decl *d = &u->decls[idx];
    d->name = info.name;
    d->linkage = info.linkage;
    d->ref = info.ref;
    d->has_ref = info.has_ref;
}

static const char *qualify(unit *u, const char *scope, const char *name)
{
    if (!scope || !*scope)
        return name;
    return sk_arena_printf(u->out->arena, "%s%s", scope, name);
}

/* The name users expect: the demangled linkage name (qualified, with
 * parameters) found anywhere along the specification / abstract-origin
 * chain, else the plain name qualified by the scopes of the DIE that
 * declares it. */
static const char *resolve(unit *u, int32_t idx)
{
    if (idx < 0)
        return NULL;
    if (u->decls[idx].resolved)
        return u->decls[idx].full;
    const char *linkage = NULL, *qual = NULL, *plain = NULL;
    const char *link_scope = NULL, *link_name = NULL;
    bool from_linkage = false;
    int32_t cur = idx;
    for (int hop = 0; cur >= 0 && hop < MAX_REF_HOPS; hop++) {
        if (u->decls[cur].lazy)
            load_lazy(u, cur);
        decl *d = &u->decls[cur];
        if (d->resolved && d->full) {
            qual = d->full;
            from_linkage = d->from_linkage;
            if (d->plain)
                plain = d->plain;
            break;
        }
        if (d->linkage) {
            linkage = d->linkage;
            if (d->name) {
                link_scope = d->scope;
                link_name = d->name;
            }
            break;
        }
        if (d->name) {
            qual = qualify(u, d->scope, d->name);
            plain = d->name;
        }
        if (!d->has_ref)
            break;
        Dwarf_Off ref = d->ref;
        int32_t next = map_find(u, ref);
        if (next < 0)
            next = load_external(u, ref);
        cur = next;
    }
    const char *full = qual;
    if (linkage) {
        char *dem = ds_demangle(linkage, u->out->arena);
        if (dem) {
            full = dem;
            from_linkage = true;
        } else if (link_name) {
            /* An unmangled linkage name is an asm label (glibc's
             * "__GI_abort" for abort): the source name is what users
             * know the function by. */
            full = qualify(u, link_scope, link_name);
            plain = link_name;
        } else {
            full = linkage;
            from_linkage = true;
        }
    }
    u->decls[idx].resolved = true;
    u->decls[idx].full = full;
    u->decls[idx].from_linkage = from_linkage;
    u->decls[idx].plain = plain;
    return full;
}

/* ---- DIE walk ------------------------------------------------------------ */

static int walk_children(unit *u, Dwarf_Die die, const char *scope, bool in_type, int32_t func,
                         uint32_t depth, int nest);

static const char *die_name(unit *u, Dwarf_Die die)
{
    char *name = NULL;
    Dwarf_Error e = NULL;
    int res = dwarf_diename(die, &name, &e);
    if (res == DW_DLV_ERROR)
        drop_error(u, e);
    return res == DW_DLV_OK && name && *name ? name : NULL;
}

static int visit(unit *u, Dwarf_Die die, const char *scope, bool in_type, int32_t func,
                 uint32_t depth, int nest)
{
    Dwarf_Error e = NULL;
    Dwarf_Half tag = 0;
    if (dwarf_tag(die, &tag, &e) != DW_DLV_OK)
        return fail_dwarf(u, "reading a DIE tag", e);
    switch (tag) {
    case DW_TAG_namespace:
    case DW_TAG_class_type:
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_interface_type: {
        const char *name = die_name(u, die);
        if (!name && tag == DW_TAG_namespace)
            name = "(anonymous namespace)";
        const char *inner = scope;
        if (name)
            inner = sk_arena_printf(u->out->arena, "%s%s::", scope, name);
        return walk_children(u, die, inner, tag != DW_TAG_namespace, func, depth, nest);
    }
    case DW_TAG_subprogram: {
        Dwarf_Off off = 0;
        if (dwarf_dieoffset(die, &off, &e) != DW_DLV_OK)
            return fail_dwarf(u, "reading a DIE offset", e);
        Dwarf_Bool is_decl = 0;
        if (in_type && dwarf_hasattr(die, DW_AT_declaration, &is_decl, &e) != DW_DLV_OK) {
            drop_error(u, e);
            is_decl = 0;
        }
        if (is_decl) {
            /* A member function declaration: no code of its own.  (A
             * lambda's operator() is defined inside its closure type, so
             * being in a class is not enough.) */
            decl d = {.off = off, .scope = scope, .lazy = true};
            add_decl(u, &d);
            return 0;
        }
        size_t r0 = u->nrr;
        dinfo info;
        if (read_info(u, die, &info, true))
            return -1;
        decl d = {.off = off, .name = info.name, .linkage = info.linkage, .scope = scope,
                  .ref = info.ref, .has_ref = info.has_ref};
        uint32_t di = add_decl(u, &d);
        if (u->nrr == r0 || info.declaration) {
            u->nrr = r0;
            return 0;
        }
        sk_grow((void **)&u->pf, &u->pf_cap, u->npf + 1, sizeof *u->pf);
        u->pf[u->npf] = (pending_func){.decl = di, .first_range = (uint32_t)r0,
                                       .nranges = (uint32_t)(u->nrr - r0)};
        return walk_children(u, die, scope, false, (int32_t)u->npf++, 0, nest);
    }
    case DW_TAG_inlined_subroutine: {
        if (func < 0 || !u->env->inlines)
            return 0;
        size_t r0 = u->nrr;
        dinfo info;
        if (read_info(u, die, &info, true))
            return -1;
        if (u->nrr == r0)
            return 0; /* no code: nothing to attribute to it or its children */
        sk_grow((void **)&u->pi, &u->pi_cap, u->npi + 1, sizeof *u->pi);
        u->pi[u->npi++] = (pending_inline){
            .func = (uint32_t)func, .depth = depth, .call_line = (uint32_t)info.call_line,
            .call_file = (uint32_t)info.call_file, .origin = info.ref, .has_origin = info.has_ref,
            .first_range = (uint32_t)r0, .nranges = (uint32_t)(u->nrr - r0)};
        return walk_children(u, die, scope, false, func, depth + 1, nest);
    }
    case DW_TAG_lexical_block:
    case DW_TAG_try_block:
    case DW_TAG_catch_block:
        if (func < 0)
            return 0;
        return walk_children(u, die, scope, false, func, depth, nest);
    default:
        return 0;
    }
}

static int walk_children(unit *u, Dwarf_Die die, const char *scope, bool in_type, int32_t func,
                         uint32_t depth, int nest)
{
    if (nest > MAX_NESTING)
        return fail_msg(u, "DIEs nested too deeply");
    Dwarf_Error e = NULL;
    Dwarf_Die child = NULL;
    int res = dwarf_child(die, &child, &e);
    if (res == DW_DLV_ERROR)
        return fail_dwarf(u, "reading DIE children", e);
    while (res == DW_DLV_OK) {
        if (visit(u, child, scope, in_type, func, depth, nest + 1)) {
            dwarf_dealloc_die(child);
            return -1;
        }
        Dwarf_Die sib = NULL;
        res = dwarf_siblingof_b(u->dbg, child, true, &sib, &e);
        dwarf_dealloc_die(child);
        if (res == DW_DLV_ERROR)
            return fail_dwarf(u, "reading DIE siblings", e);
        child = sib;
    }
    return 0;
}

/* ---- line table ------------------------------------------------------------ */

static bool is_abs(const char *p)
{
    return p && p[0] == '/';
}

static const char *join(unit *u, const char *dir, const char *name)
{
    if (!dir || !*dir)
        return name;
    size_t n = strlen(dir);
    return sk_arena_printf(u->out->arena, "%s%s%s", dir, dir[n - 1] == '/' ? "" : "/", name);
}

static const char *include_dir(unit *u, uint64_t dirindex)
{
    /* DWARF 5 numbers directories from 0 (entry 0 is the compilation
     * directory); before 5, index 0 means the unit's DW_AT_comp_dir and
     * the table starts at 1. */
    if (u->line_version < 5) {
        if (dirindex == 0)
            return u->comp_dir;
        dirindex--;
    }
    return dirindex < u->nldirs ? u->ldirs[dirindex] : NULL;
}

/* The file's full path as addr2line / llvm-symbolizer print it, cached
 * per unit; returns the index to use in records (UINT32_MAX: unknown). */
static uint32_t file_index(unit *u, uint64_t fileno)
{
    if (fileno < u->file_base || fileno - u->file_base >= u->nlfiles)
        return UINT32_MAX;
    if (u->file_done[fileno])
        return u->out->files[fileno] ? (uint32_t)fileno : UINT32_MAX;
    u->file_done[fileno] = true;
    const char *name = u->lfile_names[fileno - u->file_base];
    if (!name || !*name)
        return UINT32_MAX;
    const char *path = name;
    if (!is_abs(name)) {
        const char *dir = include_dir(u, u->lfile_dirs[fileno - u->file_base]);
        if (dir && !is_abs(dir) && u->comp_dir)
            dir = join(u, u->comp_dir, dir);
        path = join(u, dir, name);
    }
    u->out->files[fileno] = path;
    return (uint32_t)fileno;
}

static int cmp_line(const void *a, const void *b)
{
    const dsu_line *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    /* Same start: the longer first, so the search below finds it (the
     * order is only a tie-break; the records are clipped later). */
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return x->file < y->file ? -1 : x->file > y->file;
}

/* ---- line program ----------------------------------------------------------
 * libdwarf 20210528 starts every DWARF 5 sequence with file register 0
 * instead of 1, which puts the rows of an inlined header function in the
 * wrong file (seen with riscv64 gas output), and it allocates an object per
 * row.  The state machine is small, so we run it ourselves over the
 * section bytes and use libdwarf only for the header's file table. */

typedef struct cursor {
    const uint8_t *p, *end;
    bool le, bad;
} cursor;

static uint64_t rd_fixed(cursor *c, unsigned n)
{
    if ((size_t)(c->end - c->p) < n) {
        c->bad = true;
        c->p = c->end;
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)c->p[c->le ? i : n - 1 - i] << (8 * i);
    c->p += n;
    return v;
}

static uint64_t rd_uleb(cursor *c)
{
    uint64_t v = 0;
    unsigned shift = 0;
    while (c->p < c->end) {
        uint8_t b = *c->p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80))
            return v;
    }
    c->bad = true;
    return v;
}

static int64_t rd_sleb(cursor *c)
{
    int64_t v = 0;
    unsigned shift = 0;
    uint8_t b = 0;
    while (c->p < c->end) {
        b = *c->p++;
        if (shift < 64)
            v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= -((int64_t)1 << shift);
            return v;
        }
    }
    c->bad = true;
    return v;
}

static void push_row(row **rows, size_t *n, size_t *cap, uint64_t addr, uint64_t line, uint64_t file,
                     bool end)
{
    sk_grow((void **)rows, cap, *n + 1, sizeof **rows);
    (*rows)[(*n)++] = (row){.addr = addr, .line = (uint32_t)line, .file = (uint32_t)file, .end = end};
}

static const char *rd_cstr(cursor *c)
{
    const uint8_t *nul = c->p < c->end ? memchr(c->p, 0, (size_t)(c->end - c->p)) : NULL;
    if (!nul) {
        c->bad = true;
        c->p = c->end;
        return NULL;
    }
    const char *s = (const char *)c->p;
    c->p = nul + 1;
    return s;
}

/* A NUL-terminated string at off in a string section, NULL if none. */
static const char *section_str(unit *u, const char *secname, uint64_t off)
{
    ds_object *obj = u->d->obj;
    ds_section *sec = ds_object_section(obj, secname);
    const uint8_t *data = NULL;
    size_t size = 0;
    sk_error err = {0};
    if (!sec || ds_section_data(obj, sec, &data, &size, &err) || !data || off >= size ||
        !memchr(data + off, 0, size - off))
        return NULL;
    return (const char *)data + off;
}

/* One DWARF 5 directory / file entry field. */
static bool rd_entry_field(unit *u, cursor *c, uint64_t form, unsigned offsz, const char **str,
                           uint64_t *val)
{
    switch (form) {
    case DW_FORM_string:
        *str = rd_cstr(c);
        return !c->bad;
    case DW_FORM_line_strp:
    case DW_FORM_strp: {
        uint64_t off = rd_fixed(c, offsz);
        *str = section_str(u, form == DW_FORM_strp ? ".debug_str" : ".debug_line_str", off);
        return !c->bad && *str;
    }
    case DW_FORM_udata:
        *val = rd_uleb(c);
        return !c->bad;
    case DW_FORM_data1:
        *val = rd_fixed(c, 1);
        return !c->bad;
    case DW_FORM_data2:
        *val = rd_fixed(c, 2);
        return !c->bad;
    case DW_FORM_data4:
        *val = rd_fixed(c, 4);
        return !c->bad;
    case DW_FORM_data8:
        *val = rd_fixed(c, 8);
        return !c->bad;
    case DW_FORM_data16:
        rd_fixed(c, 8);
        rd_fixed(c, 8);
        return !c->bad;
    case DW_FORM_block: {
        uint64_t len = rd_uleb(c);
        if (c->bad || len > (uint64_t)(c->end - c->p))
            return false;
        c->p += len;
        return true;
    }
    default:
        return false;
    }
}

/* DWARF 5 directory or file table: entry formats, then the entries. */
static int rd_entry_table(unit *u, cursor *c, unsigned offsz, bool files)
{
    unsigned nfmt = (unsigned)rd_fixed(c, 1);
    uint64_t fmt[2 * 16];
    if (nfmt > 16)
        return fail_msg(u, "line table header has too many entry fields");
    for (unsigned i = 0; i < nfmt; i++) {
        fmt[2 * i] = rd_uleb(c);
        fmt[2 * i + 1] = rd_uleb(c);
    }
    uint64_t count = rd_uleb(c);
    if (c->bad || count > (uint64_t)(c->end - c->p))
        return fail_msg(u, "line table header is truncated");
    const char **names = sk_arena_alloc(u->out->arena, (size_t)(count + 1) * sizeof *names);
    uint64_t *dirs = files ? sk_arena_alloc(u->out->arena, (size_t)(count + 1) * sizeof *dirs) : NULL;
    for (uint64_t k = 0; k < count; k++) {
        for (unsigned i = 0; i < nfmt; i++) {
            const char *str = NULL;
            uint64_t val = 0;
            if (!rd_entry_field(u, c, fmt[2 * i + 1], offsz, &str, &val))
                return fail_msg(u, "line table header has an unreadable entry");
            if (fmt[2 * i] == DW_LNCT_path)
                names[k] = str;
            else if (fmt[2 * i] == DW_LNCT_directory_index && dirs)
                dirs[k] = val;
        }
    }
    if (files) {
        u->lfile_names = names;
        u->lfile_dirs = dirs;
        u->nlfiles = (size_t)count;
    } else {
        u->ldirs = names;
        u->nldirs = (size_t)count;
    }
    return 0;
}

/* DWARF 2-4 include_directories and file_names: string lists. */
static int rd_old_tables(unit *u, cursor *c)
{
    size_t cap = 0, fcap = 0;
    const char **dirs = NULL;
    for (;;) {
        const char *d = rd_cstr(c);
        if (c->bad) {
            free(dirs);
            return fail_msg(u, "line table include directories are truncated");
        }
        if (!*d)
            break;
        sk_grow((void **)&dirs, &cap, u->nldirs + 1, sizeof *dirs);
        dirs[u->nldirs++] = d;
    }
    const char **names = NULL;
    uint64_t *fdirs = NULL;
    size_t fdcap = 0;
    for (;;) {
        const char *name = rd_cstr(c);
        if (c->bad)
            break;
        if (!*name)
            break;
        uint64_t dir = rd_uleb(c);
        rd_uleb(c); /* mtime */
        rd_uleb(c); /* length */
        sk_grow((void **)&names, &fcap, u->nlfiles + 1, sizeof *names);
        sk_grow((void **)&fdirs, &fdcap, u->nlfiles + 1, sizeof *fdirs);
        names[u->nlfiles] = name;
        fdirs[u->nlfiles++] = dir;
    }
    /* Copies into the arena, so that everything is freed together. */
    u->ldirs = sk_arena_alloc(u->out->arena, (u->nldirs + 1) * sizeof *u->ldirs);
    if (u->nldirs)
        memcpy(u->ldirs, dirs, u->nldirs * sizeof *dirs);
    u->lfile_names = sk_arena_alloc(u->out->arena, (u->nlfiles + 1) * sizeof *names);
    u->lfile_dirs = sk_arena_alloc(u->out->arena, (u->nlfiles + 1) * sizeof *fdirs);
    if (u->nlfiles) {
        memcpy(u->lfile_names, names, u->nlfiles * sizeof *names);
        memcpy(u->lfile_dirs, fdirs, u->nlfiles * sizeof *fdirs);
    }
    free(dirs);
    free(names);
    free(fdirs);
    if (c->bad)
        return fail_msg(u, "line table file names are truncated");
    return 0;
}

static int decode_rows(unit *u, Dwarf_Die cu_die, row **rows_out, size_t *n_out)
{
    *rows_out = NULL;
    *n_out = 0;
    Dwarf_Error e = NULL;
    Dwarf_Attribute a = NULL;
    int res = dwarf_attr(cu_die, DW_AT_stmt_list, &a, &e);
    if (res == DW_DLV_NO_ENTRY)
        return 0;
    if (res != DW_DLV_OK)
        return fail_dwarf(u, "reading DW_AT_stmt_list", e);
    Dwarf_Half form = 0;
    Dwarf_Unsigned off = 0;
    res = dwarf_whatform(a, &form, &e);
    if (res == DW_DLV_OK) {
        if (form == DW_FORM_data4 || form == DW_FORM_data8 || form == DW_FORM_udata) {
            res = dwarf_formudata(a, &off, &e);
        } else {
            Dwarf_Off o = 0;
            res = dwarf_global_formref(a, &o, &e);
            off = o;
        }
    }
    dwarf_dealloc_attribute(a);
    if (res != DW_DLV_OK)
        return fail_dwarf(u, "reading DW_AT_stmt_list", e);

    ds_object *obj = u->d->obj;
    ds_section *sec = ds_object_section(obj, ".debug_line");
    const uint8_t *data = NULL;
    size_t size = 0;
    sk_error serr = {0};
    if (!sec || ds_section_data(obj, sec, &data, &size, &serr) || !data)
        return fail_msg(u, "the line table section cannot be read");
    if (off >= size)
        return fail_msg(u, "line table offset is past the end of .debug_line");

    cursor c = {.p = data + off, .end = data + size, .le = obj->little_endian};
    uint64_t len = rd_fixed(&c, 4);
    unsigned offsz = 4;
    if (len == 0xffffffffu) {
        len = rd_fixed(&c, 8);
        offsz = 8;
    }
    if (c.bad || len > (uint64_t)(c.end - c.p))
        return fail_msg(u, "line table length runs past the end of .debug_line");
    c.end = c.p + len;
    unsigned version = (unsigned)rd_fixed(&c, 2);
    unsigned addr_size = 0;
    if (version >= 5) {
        addr_size = (unsigned)rd_fixed(&c, 1);
        rd_fixed(&c, 1); /* segment selector size */
    }
    uint64_t hlen = rd_fixed(&c, offsz);
    if (c.bad || hlen > (uint64_t)(c.end - c.p))
        return fail_msg(u, "line table header runs past its unit");
    const uint8_t *program = c.p + hlen;
    unsigned min_inst = (unsigned)rd_fixed(&c, 1);
    if (version >= 4)
        rd_fixed(&c, 1); /* max ops per instruction: VLIW only */
    bool default_stmt = rd_fixed(&c, 1) != 0;
    (void)default_stmt;
    int line_base = (int8_t)rd_fixed(&c, 1);
    unsigned line_range = (unsigned)rd_fixed(&c, 1);
    unsigned opcode_base = (unsigned)rd_fixed(&c, 1);
    const uint8_t *std_lengths = c.p;
    if (c.bad || version < 2 || version > 5 || line_range == 0 || opcode_base == 0 ||
        (size_t)(program - std_lengths) < opcode_base - 1)
        return fail_msg(u, "line table header is corrupt");
    u->line_version = version;
    u->file_base = version >= 5 ? 0 : 1;
    cursor h = {.p = std_lengths + (opcode_base - 1), .end = program, .le = c.le};
    if (version >= 5) {
        if (rd_entry_table(u, &h, offsz, false) || rd_entry_table(u, &h, offsz, true))
            return -1;
    } else if (rd_old_tables(u, &h)) {
        return -1;
    }
    u->out->nfiles = u->nlfiles + u->file_base;
    u->out->files = sk_arena_alloc(u->out->arena, (u->out->nfiles + 1) * sizeof *u->out->files);
    u->file_done = sk_xcalloc(u->out->nfiles + 1, 1);
    c.p = program;

    row *rows = NULL;
    size_t n = 0, cap = 0;
    uint64_t addr = 0, line = 1, file = 1;
    while (c.p < c.end && !c.bad) {
        unsigned op = *c.p++;
        if (op >= opcode_base) {
            unsigned adj = op - opcode_base;
            addr += (uint64_t)(adj / line_range) * min_inst;
            line += (int64_t)line_base + (int64_t)(adj % line_range);
            push_row(&rows, &n, &cap, addr, line, file, false);
            continue;
        }
        switch (op) {
        case 0: {
            uint64_t elen = rd_uleb(&c);
            if (c.bad || elen == 0 || elen > (uint64_t)(c.end - c.p)) {
                c.bad = true;
                break;
            }
            const uint8_t *next = c.p + elen;
            unsigned sub = *c.p++;
            if (sub == DW_LNE_end_sequence) {
                push_row(&rows, &n, &cap, addr, line, file, true);
                addr = 0;
                line = 1;
                file = 1;
            } else if (sub == DW_LNE_set_address) {
                unsigned asz = (unsigned)(elen - 1);
                if (asz != 4 && asz != 8 && asz != 2)
                    c.bad = true;
                else
                    addr = rd_fixed(&c, asz);
                (void)addr_size;
            }
            c.p = next;
            break;
        }
        case DW_LNS_copy:
            push_row(&rows, &n, &cap, addr, line, file, false);
            break;
        case DW_LNS_advance_pc:
            addr += rd_uleb(&c) * min_inst;
            break;
        case DW_LNS_advance_line:
            line += (uint64_t)rd_sleb(&c);
            break;
        case DW_LNS_set_file:
            file = rd_uleb(&c);
            break;
        case DW_LNS_const_add_pc:
            addr += (uint64_t)((255 - opcode_base) / line_range) * min_inst;
            break;
        case DW_LNS_fixed_advance_pc:
            addr += rd_fixed(&c, 2);
            break;
        default:
            /* Any other standard opcode: skip its ULEB operands, whose
             * count the header gives (this also covers set_column,
             * set_isa and opcodes newer than we know). */
            for (unsigned k = 0; k < std_lengths[op - 1] && !c.bad; k++)
                rd_uleb(&c);
            break;
        }
    }
    if (c.bad) {
        free(rows);
        return fail_msg(u, "line program is truncated or corrupt");
    }
    *rows_out = rows;
    *n_out = n;
    return 0;
}

/* Rows of the unit's line table as [addr, next row) records, sorted. */
static int read_lines(unit *u, Dwarf_Die cu_die, dsu_line **lines_out, size_t *n_out)
{
    *lines_out = NULL;
    *n_out = 0;
    row *rows = NULL;
    size_t n = 0;
    if (decode_rows(u, cu_die, &rows, &n))
        return -1;
    dsu_line *out = sk_xmalloc((n ? n : 1) * sizeof *out);
    size_t k = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (rows[i].end)
            continue;
        uint64_t next = rows[i + 1].addr;
        /* Several rows at one address: the last one describes it (as in
         * llvm-symbolizer); a row going backwards is corrupt, skip it. */
        if (next <= rows[i].addr || next - rows[i].addr > UINT32_MAX)
            continue;
        /* Line 0 means "no source line": leave the gap unattributed. */
        if (rows[i].line == 0)
            continue;
        uint32_t fi = file_index(u, rows[i].file);
        if (fi == UINT32_MAX)
            continue;
        out[k++] = (dsu_line){.addr = rows[i].addr, .size = (uint32_t)(next - rows[i].addr),
                              .line = rows[i].line, .file = fi};
    }
    free(rows);
    sk_sort(out, k, sizeof *out, cmp_line);
    *lines_out = out;
    *n_out = k;
    return 0;
}

/* ---- assembling the result --------------------------------------------- */

static bool in_loads(const dsu_env *env, uint64_t lo)
{
    if (!env->nloads)
        return lo != 0;
    for (size_t i = 0; i < env->nloads; i++)
        if (lo >= env->loads[i].lo && lo < env->loads[i].hi)
            return true;
    return false;
}

/* The linker's marks for code it dropped: ld writes 0 (or 1 in
 * .debug_ranges, where 0 would end the list), lld -1 or -2. */
static bool is_tombstone(uint64_t lo, uint32_t addr_size)
{
    uint64_t max = addr_size == 4 ? 0xffffffffull : ~0ull;
    return lo <= 1 || lo >= max - 1;
}

static int cmp_range(const void *a, const void *b)
{
    const dsu_range *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* The FUNC name of pending function f: see dwarf_symnames.c for the
 * symbol-table fallback.  The same for every piece of a split function. */
static const char *func_name(unit *u, uint32_t f)
{
    int32_t di = (int32_t)u->pf[f].decl;
    const char *name = resolve(u, di);
    /* Without DW_AT_ranges (-gstrict-dwarf, DWARF 2) GCC describes the
     * cold part of a split function as a function of its own called
     * "__second_sect_of_<name>": users know it by the function's name. */
    static const char second[] = "__second_sect_of_";
    if (name && strncmp(name, second, sizeof second - 1) == 0 && name[sizeof second - 1])
        name += sizeof second - 1;
    const dsn_index *ix = u->env->syms;
    if (u->decls[di].from_linkage || !ix || !ix->n)
        return name;
    const char *best = NULL;
    bool best_clone = true;
    for (uint32_t i = 0; i < u->pf[f].nranges; i++) {
        bool clone = true;
        const char *s = dsn_lookup(ix, u->rr[u->pf[f].first_range + i].lo, &clone);
        if (s && (!best || (best_clone && !clone))) {
            best = s;
            best_clone = clone;
        }
    }
    if (!best)
        return name;
    const char *plain = u->decls[di].plain;
    bool mangled = best[0] == '_' && (best[1] == 'Z' || best[1] == 'R');
    if (!mangled) {
        /* extern "C": the bare symbol, when it is this function's name. */
        size_t keep = ds_clone_suffix_start(best);
        if (plain && strlen(plain) == keep && strncmp(plain, best, keep) == 0)
            return plain;
        return name;
    }
    const char *shown = ds_symbol_name(best, u->out->arena);
    /* Only a symbol that names the same function: an alias at the same
     * address (say, a C wrapper) must not rename it. */
    if (name && (!plain || !strstr(shown, plain)))
        return name;
    return shown;
}

typedef struct piece {
    uint64_t lo, hi;
    uint32_t pf;
} piece;

static int cmp_piece(const void *a, const void *b)
{
    const piece *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo < y->lo ? -1 : 1;
    if (x->hi != y->hi)
        return x->hi < y->hi ? -1 : 1;
    return x->pf < y->pf ? -1 : x->pf > y->pf;
}

/* Clips ranges[0..n) to [lo, hi) into the result's range array; returns
 * how many survived. */
static uint32_t clip_ranges(dsu_result *r, const dsu_range *ranges, uint32_t n, uint64_t lo,
                            uint64_t hi)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = ranges[i].lo > lo ? ranges[i].lo : lo;
        uint64_t b = ranges[i].hi < hi ? ranges[i].hi : hi;
        if (a >= b)
            continue;
        sk_grow((void **)&r->ranges, &r->ranges_cap, r->nranges + 1, sizeof *r->ranges);
        r->ranges[r->nranges++] = (dsu_range){a, b};
        kept++;
    }
    return kept;
}

static void assemble(unit *u, const dsu_line *lines, size_t nlines)
{
    dsu_result *r = u->out;
    /* Each function's ranges, merged where they touch, kept when they lie in
     * loaded code (a discarded COMDAT copy or a gc-sectioned function keeps
     * address 0 or a tombstone). */
    piece *pieces = NULL;
    size_t npieces = 0, pieces_cap = 0;
    for (size_t f = 0; f < u->npf; f++) {
        dsu_range *rs = &u->rr[u->pf[f].first_range];
        uint32_t n = u->pf[f].nranges;
        sk_sort(rs, n, sizeof *rs, cmp_range);
        /* One dropped range means the linker dropped the whole function:
         * its other ranges are offsets from 0 that may happen to fall in
         * loaded code. */
        bool dropped = false;
        for (uint32_t i = 0; i < n; i++)
            dropped |= is_tombstone(rs[i].lo, u->addr_size);
        if (dropped)
            continue;
        for (uint32_t i = 0; i < n;) {
            uint64_t lo = rs[i].lo, hi = rs[i].hi;
            uint32_t j = i + 1;
            while (j < n && rs[j].lo <= hi) {
                if (rs[j].hi > hi)
                    hi = rs[j].hi;
                j++;
            }
            i = j;
            if (!in_loads(u->env, lo))
                continue;
            sk_grow((void **)&pieces, &pieces_cap, npieces + 1, sizeof *pieces);
            pieces[npieces++] = (piece){lo, hi, (uint32_t)f};
        }
    }
    if (npieces)
        sk_sort(pieces, npieces, sizeof *pieces, cmp_piece);

    /* Inlines grouped by function. */
    uint32_t *pi_first = NULL, *pi_count = NULL;
    if (u->npi) {
        /* A counting sort by function keeps each function's depth-first
         * order even when a nested function's inlines interleave. */
        pending_inline *copy = sk_xmalloc(u->npi * sizeof *copy);
        memcpy(copy, u->pi, u->npi * sizeof *copy);
        size_t *cnt = sk_xcalloc(u->npf + 1, sizeof *cnt);
        for (size_t i = 0; i < u->npi; i++)
            cnt[copy[i].func + 1]++;
        for (size_t f = 0; f < u->npf; f++)
            cnt[f + 1] += cnt[f];
        pi_first = sk_xcalloc(u->npf, sizeof *pi_first);
        pi_count = sk_xcalloc(u->npf, sizeof *pi_count);
        for (size_t f = 0; f < u->npf; f++) {
            pi_first[f] = (uint32_t)cnt[f];
            pi_count[f] = (uint32_t)(cnt[f + 1] - cnt[f]);
        }
        size_t *pos = sk_xcalloc(u->npf, sizeof *pos);
        for (size_t i = 0; i < u->npi; i++) {
            uint32_t f = copy[i].func;
            u->pi[cnt[f] + pos[f]++] = copy[i];
        }
        free(pos);
        free(cnt);
        free(copy);
    }

    const char **names = sk_xcalloc(u->npf + 1, sizeof *names);
    bool *names_done = sk_xcalloc(u->npf + 1, sizeof *names_done);
    for (size_t p = 0; p < npieces; p++) {
        const piece *pc = &pieces[p];
        sk_grow((void **)&r->funcs, &r->funcs_cap, r->nfuncs + 1, sizeof *r->funcs);
        dsu_func *fn = &r->funcs[r->nfuncs++];
        memset(fn, 0, sizeof *fn);
        fn->lo = pc->lo;
        fn->hi = pc->hi;
        if (!names_done[pc->pf]) {
            names[pc->pf] = func_name(u, pc->pf);
            names_done[pc->pf] = true;
        }
        fn->name = names[pc->pf];

        /* Line records overlapping the piece, clipped to it. */
        fn->first_line = (uint32_t)r->nlines;
        size_t lo = 0, hi = nlines;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (lines[mid].addr < pc->lo)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo > 0 && lines[lo - 1].addr + lines[lo - 1].size > pc->lo)
            lo--;
        for (size_t i = lo; i < nlines && lines[i].addr < pc->hi; i++) {
            uint64_t a = lines[i].addr > pc->lo ? lines[i].addr : pc->lo;
            uint64_t b = lines[i].addr + lines[i].size;
            if (b > pc->hi)
                b = pc->hi;
            if (a >= b)
                continue;
            sk_grow((void **)&r->lines, &r->lines_cap, r->nlines + 1, sizeof *r->lines);
            r->lines[r->nlines++] = (dsu_line){a, (uint32_t)(b - a), lines[i].line, lines[i].file};
        }
        fn->nlines = (uint32_t)(r->nlines - fn->first_line);

        /* The function's inline tree restricted to this piece: a node
         * whose ranges miss the piece drops out with its subtree. */
        fn->first_inline = (uint32_t)r->ninlines;
        if (pi_count && pi_count[pc->pf]) {
            bool kept_at[MAX_NESTING + 2] = {false};
            for (uint32_t k = 0; k < pi_count[pc->pf]; k++) {
                const pending_inline *in = &u->pi[pi_first[pc->pf] + k];
                if (in->depth > MAX_NESTING)
                    continue;
                bool parent_ok = in->depth == 0 || kept_at[in->depth - 1];
                kept_at[in->depth] = false;
                if (!parent_ok)
                    continue;
                size_t r0 = r->nranges;
                uint32_t n = clip_ranges(r, &u->rr[in->first_range], in->nranges, pc->lo, pc->hi);
                if (!n)
                    continue;
                int32_t origin = -1;
                if (in->has_origin) {
                    origin = map_find(u, in->origin);
                    if (origin < 0)
                        origin = load_external(u, in->origin);
                }
                uint32_t call_file = in->call_file ? file_index(u, in->call_file) : UINT32_MAX;
                if (u->line_version >= 5 && in->call_file == 0)
                    call_file = file_index(u, 0);
                sk_grow((void **)&r->inlines, &r->inlines_cap, r->ninlines + 1, sizeof *r->inlines);
                r->inlines[r->ninlines++] = (dsu_inline){
                    .depth = in->depth, .call_line = in->call_line, .call_file = call_file,
                    .origin = resolve(u, origin), .first_range = (uint32_t)r0, .nranges = n};
                kept_at[in->depth] = true;
            }
        }
        fn->ninlines = (uint32_t)(r->ninlines - fn->first_inline);
    }
    free(names);
    free(names_done);
    free(pieces);
    free(pi_first);
    free(pi_count);
}

void dsu_process(ds_dwarf *d, Dwarf_Die cu_die, Dwarf_Off cu_offset, const dsu_env *env,
                 dsu_result *out)
{
    (void)cu_offset;
    unit u = {.d = d, .dbg = d->dbg, .env = env, .out = out};
    out->arena = sk_arena_create();
    Dwarf_Error e = NULL;
    Dwarf_Half offset_size = 0;
    if (dwarf_get_version_of_die(cu_die, &u.version, &offset_size) != DW_DLV_OK)
        u.version = 4;
    Dwarf_Half asz = 0;
    u.addr_size = dwarf_get_die_address_size(cu_die, &asz, &e) == DW_DLV_OK ? asz : 8;
    Dwarf_Addr base = 0;
    int res = dwarf_lowpc(cu_die, &base, &e);
    if (res == DW_DLV_OK)
        u.cu_base = base;
    else if (res == DW_DLV_ERROR)
        drop_error(&u, e);
    Dwarf_Attribute a = NULL;
    res = dwarf_attr(cu_die, DW_AT_comp_dir, &a, &e);
    if (res == DW_DLV_OK) {
        u.comp_dir = form_string(&u, a);
        dwarf_dealloc_attribute(a);
    } else if (res == DW_DLV_ERROR) {
        drop_error(&u, e);
    }

    dsu_line *lines = NULL;
    size_t nlines = 0;
    if (read_lines(&u, cu_die, &lines, &nlines) == 0 && walk_children(&u, cu_die, "", false, -1, 0, 0) == 0)
        assemble(&u, lines, nlines);
    free(lines);
    free(u.file_done);
    free(u.decls);
    free(u.slots);
    free(u.rr);
    free(u.pf);
    free(u.pi);
    if (u.failed) {
        /* Nothing of a corrupt unit is kept: half a unit would look
         * complete to a reader. */
        sk_arena_destroy(out->arena);
        free(out->funcs);
        free(out->lines);
        free(out->inlines);
        free(out->ranges);
        memset(out, 0, sizeof *out);
        out->error = sk_xstrdup(u.msg);
    }
}

void dsu_result_free(dsu_result *r)
{
    if (!r)
        return;
    if (r->arena)
        sk_arena_destroy(r->arena);
    free(r->funcs);
    free(r->lines);
    free(r->inlines);
    free(r->ranges);
    free(r->error);
    free(r->note);
    memset(r, 0, sizeof *r);
}
