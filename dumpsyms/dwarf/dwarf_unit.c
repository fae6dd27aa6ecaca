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
    uint64_t off;
    const char *name, *linkage, *scope;
    uint64_t ref;
    bool has_ref;
    bool lazy; /* attributes not read yet (a member function declaration) */
    bool resolved;
    bool from_linkage; /* full came from a linkage name */
    bool sup_lost;     /* resolving it ran into a missing dwz supplementary file */
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
    uint64_t origin;
    bool has_origin;
    uint32_t first_range, nranges; /* into unit.rr */
} pending_inline;

typedef struct reg {
    uint64_t off;
    const char *scope;
    uint32_t decl; /* + 1; 0: not read yet */
} reg;

#define DECL_MEMO_BITS 8
typedef struct decl_memo {
    uint64_t off;
    uint32_t idx_plus1; /* 0: empty */
} decl_memo;

typedef struct row {
    uint64_t addr;
    uint32_t line, file;
    bool end;
} row;

typedef struct unit {
    di_unit *du;             /* the unit whose DIEs are walked */
    const dsu_input *in;
    const dsu_env *env;
    dsu_result *out;
    uint16_t version;
    uint32_t addr_size;
    uint64_t cu_base;
    const char *comp_dir;
    bool failed;
    char msg[512];
    di_value vals[DI_MAX_ATTRS]; /* one DIE's attributes at a time */

    decl *decls;
    size_t ndecls, decls_cap;
    reg *regs;       /* subprograms the walk passed, by offset */
    size_t nregs, regs_cap;
    uint32_t *refd;  /* decls reached only by reference */
    size_t nrefd, refd_cap;
    uint32_t *slots; /* their map, open addressing: decl index + 1, 0 = empty */
    size_t nslots;
    decl_memo memo[1 << DECL_MEMO_BITS]; /* find_decl's recent answers */

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
    const di_sections *line_sec; /* where the line table and its strings are */
    /* Lookups that needed the dwz supplementary file we do not have. */
    uint32_t sup_lost;
} unit;

/* Room for element n of an array of capacity *cap; the call to sk_grow
 * only when it is full, since the walk appends once per DIE it keeps. */
static inline void grow1(void **p, size_t *cap, size_t n, size_t elem)
{
    if (n >= *cap)
        sk_grow(p, cap, n + 1, elem);
}

/* ---- errors ------------------------------------------------------------ */

static int fail_msg(unit *u, const char *what)
{
    if (!u->failed) {
        snprintf(u->msg, sizeof u->msg, "%s", what);
        u->failed = true;
    }
    return -1;
}

/* The reader's own message for a problem it found in du. */
static int fail_reader(unit *u, const di_unit *du)
{
    return fail_msg(u, du->error[0] ? du->error : "corrupt DWARF");
}

/* ---- declarations ------------------------------------------------------
 * Every subprogram the walk passes is registered in offset order (the walk
 * goes front to back), so registering is an append and finding one is a
 * binary search: a C++ unit registers thousands of member function
 * declarations, of which few are ever referenced.  A registration gets a
 * decl, with the DIE's attributes, only when something refers to it.
 * DIEs reached only through references (load_external) go to a small hash
 * map beside it. */

static size_t slot_of(uint64_t off, size_t nslots)
{
    uint64_t h = off * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 17) & (nslots - 1);
}

static void map_insert(unit *u, uint32_t idx)
{
    size_t i = slot_of(u->decls[idx].off, u->nslots);
    while (u->slots[i])
        i = (i + 1) & (u->nslots - 1);
    u->slots[i] = idx + 1;
}

static int32_t map_find(const unit *u, uint64_t off)
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
    grow1((void **)&u->decls, &u->decls_cap, u->ndecls, sizeof *u->decls);
    uint32_t idx = (uint32_t)u->ndecls++;
    u->decls[idx] = *d;
    return idx;
}

/* Makes decl idx findable by offset in the map of decls the walk did not
 * register. */
static void map_add(unit *u, uint32_t idx)
{
    if (u->nrefd * 2 + 2 > u->nslots) {
        free(u->slots);
        u->nslots = u->nslots ? u->nslots * 2 : 64;
        u->slots = sk_xcalloc(u->nslots, sizeof *u->slots);
        for (size_t k = 0; k < u->nrefd; k++)
            map_insert(u, u->refd[k]);
    }
    grow1((void **)&u->refd, &u->refd_cap, u->nrefd, sizeof *u->refd);
    u->refd[u->nrefd++] = idx;
    map_insert(u, idx);
}

/* A decl found by following a reference, not by the walk. */
static uint32_t add_referenced_decl(unit *u, const decl *d)
{
    uint32_t idx = add_decl(u, d);
    map_add(u, idx);
    return idx;
}

/* Registers a subprogram the walk reached; decl + 1, or 0 for one whose
 * attributes have not been read. */
static inline void register_die(unit *u, uint64_t off, const char *scope, uint32_t decl_plus1)
{
    if (u->nregs && u->regs[u->nregs - 1].off >= off) {
        /* Not in offset order (cannot happen in a front-to-back walk):
         * keep it findable anyway. */
        decl d = {.off = off, .scope = scope, .lazy = true};
        map_add(u, decl_plus1 ? decl_plus1 - 1 : add_decl(u, &d));
        return;
    }
    grow1((void **)&u->regs, &u->regs_cap, u->nregs, sizeof *u->regs);
    u->regs[u->nregs++] = (reg){off, scope, decl_plus1};
}

/* The decl of the DIE at off, made on first use from its registration;
 * -1 when the walk did not register it. */
static int32_t search_decl(unit *u, uint64_t off)
{
    size_t lo = 0, hi = u->nregs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (u->regs[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < u->nregs && u->regs[lo].off == off) {
        reg *r = &u->regs[lo];
        if (!r->decl) {
            decl d = {.off = off, .scope = r->scope, .lazy = true};
            r->decl = add_decl(u, &d) + 1;
        }
        return (int32_t)(r->decl - 1);
    }
    return map_find(u, off);
}

/* search_decl through a small cache: the lookups come after the walk, and
 * inline records name the same few origins over and over.  A miss is not
 * kept, since load_external may add that decl later. */
static int32_t find_decl(unit *u, uint64_t off)
{
    decl_memo *m = &u->memo[(off * 0x9E3779B97F4A7C15ull) >> (64 - DECL_MEMO_BITS)];
    if (m->idx_plus1 && m->off == off)
        return (int32_t)(m->idx_plus1 - 1);
    int32_t idx = search_decl(u, off);
    if (idx >= 0)
        *m = (decl_memo){off, (uint32_t)idx + 1};
    return idx;
}

/* ---- attributes and ranges --------------------------------------------- */

typedef struct dinfo {
    const char *name, *linkage;
    uint64_t ref;
    bool has_ref, declaration;
    bool has_low, has_high, high_is_offset;
    uint64_t low, high;
    uint64_t call_file, call_line;
} dinfo;

static void add_range(void *ctx, uint64_t lo, uint64_t hi)
{
    unit *u = ctx;
    if (hi <= lo)
        return;
    grow1((void **)&u->rr, &u->rr_cap, u->nrr, sizeof *u->rr);
    u->rr[u->nrr++] = (dsu_range){lo, hi};
}

/* A string attribute.  A form we cannot read (a dwz supplementary-file
 * string) is treated as absent; a string offset or index outside its
 * table is corruption. */
static bool value_string(di_unit *du, const di_value *v, const char **s)
{
    *s = NULL;
    const char *str = NULL;
    if (di_value_str(du, v, &str)) {
        if (*str)
            *s = str;
        return true;
    }
    return du->error[0] == 0;
}

/* Reads the attributes we care about from the DIE of du (u->du, or a unit
 * a reference led to); with want_ranges, appends the DIE's code ranges to
 * u->rr.  *next (if given) is the offset past the attributes. */
static int read_info(unit *u, di_unit *du, const di_die *die, dinfo *info, bool want_ranges,
                     uint64_t *next)
{
    memset(info, 0, sizeof *info);
    uint64_t end = 0;
    uint32_t sup_missing = du->sup_missing;
    unsigned n = 0;
    unsigned want = want_ranges ? DI_PICK_ALL : DI_PICK_ALL & ~DI_PICK_CODE;
    if (!di_die_pick(du, die, want, u->vals, &n, &end))
        return fail_reader(u, du);
    if (next)
        *next = end;
    for (unsigned i = 0; i < n; i++) {
        const di_value *v = &u->vals[i];
        switch (v->at) {
        case DW_AT_name:
            if (!value_string(du, v, &info->name))
                return fail_reader(u, du);
            break;
        case DW_AT_linkage_name:
        case DW_AT_MIPS_linkage_name:
            if (!value_string(du, v, &info->linkage))
                return fail_reader(u, du);
            break;
        case DW_AT_specification:
        case DW_AT_abstract_origin:
            /* A reference into a type unit reads as absent; one into the
             * dwz supplementary file has DI_SUP_REF set. */
            info->has_ref = di_value_die_ref(du, v, &info->ref);
            break;
        case DW_AT_declaration:
            info->declaration = v->u != 0;
            break;
        case DW_AT_low_pc:
            if (!want_ranges)
                break;
            if (!di_value_addr(du, v, &info->low)) {
                if (du->error[0])
                    return fail_reader(u, du);
                return fail_msg(u, "DW_AT_low_pc has an unexpected form");
            }
            info->has_low = true;
            break;
        case DW_AT_high_pc:
            if (!want_ranges)
                break;
            if (di_value_addr(du, v, &info->high)) {
                info->has_high = true;
            } else if (du->error[0]) {
                return fail_reader(u, du);
            } else if (di_value_udata(v, &info->high)) {
                info->has_high = true;
                info->high_is_offset = true;
            } else {
                return fail_msg(u, "DW_AT_high_pc has an unexpected form");
            }
            break;
        case DW_AT_ranges:
            if (want_ranges && !di_ranges(du, v, add_range, u))
                return fail_reader(u, du);
            break;
        case DW_AT_call_file:
        case DW_AT_call_line: {
            uint64_t x = 0;
            if (!di_value_udata(v, &x))
                break;
            if (v->at == DW_AT_call_file)
                info->call_file = x;
            else
                info->call_line = x;
            break;
        }
        default:
            break;
        }
    }
    if (want_ranges && info->has_low && info->has_high) {
        uint64_t hi = info->high_is_offset ? info->low + info->high : info->high;
        add_range(u, info->low, hi);
    }
    if (du->sup_missing != sup_missing)
        u->sup_lost++;
    return 0;
}

/* ---- names --------------------------------------------------------------- */

/* The namespaces and classes enclosing the DIE at off in du ("ns::C::"),
 * found by descending from the unit DIE through the subtrees that hold
 * off.  Only asked for a DIE that has a name and no linkage name (a C++
 * function dwz moved into a partial unit or a supplementary file, a static
 * function of another LTO unit), where the scopes make the name. */
static const char *external_scope(unit *u, di_unit *du, uint64_t off)
{
    di_die die;
    uint64_t pos = 0;
    if (!di_die_at(du, du->first_die, &die) || !die.ab || !die.ab->children ||
        !di_die_skip(du, &die, &pos))
        return "";
    const char *scope = "";
    for (int depth = 0; depth < MAX_NESTING;) {
        if (pos >= du->end || !di_die_at(du, pos, &die) || !die.ab)
            break;
        if (die.off == off)
            return scope;
        uint64_t next = 0;
        if (!di_die_skip_tree(du, &die, &next))
            break;
        if (off > die.off && off < next) {
            uint16_t tag = die.ab->tag;
            uint64_t attrs_end = 0;
            unsigned n = 0;
            if (!di_die_pick(du, &die, DI_PICK_NAME, u->vals, &n, &attrs_end))
                break;
            if (tag == DW_TAG_namespace || tag == DW_TAG_class_type || tag == DW_TAG_structure_type ||
                tag == DW_TAG_union_type || tag == DW_TAG_interface_type) {
                const char *name = NULL;
                for (unsigned i = 0; i < n; i++)
                    if (u->vals[i].at == DW_AT_name && !value_string(du, &u->vals[i], &name))
                        name = NULL;
                if (!name && tag == DW_TAG_namespace)
                    name = "(anonymous namespace)";
                if (name)
                    scope = sk_arena_concat(u->out->arena, scope, name, "::");
            }
            pos = attrs_end;
            depth++;
            continue;
        }
        pos = next;
    }
    du->error[0] = 0;
    return "";
}

/* A referenced DIE the walk did not register: one in this unit that the
 * walk does not descend to (a member of a class local to a function), or
 * one in another unit (DW_FORM_ref_addr: LTO, dwz partial units; or the
 * dwz supplementary file), read in the unit that holds it.  A failure
 * costs a name, not the unit. */
static int32_t load_external(unit *u, uint64_t off)
{
    di_unit *du = u->du;
    if ((off & DI_SUP_REF) || off < du->first_die || off >= du->end)
        du = u->in->foreign ? u->in->foreign(u->in->foreign_ctx, off) : NULL;
    di_die die;
    if (!du && (off & DI_SUP_REF) && !u->du->sec->sup)
        u->sup_lost++;
    if (!du || !di_die_at(du, off & ~DI_SUP_REF, &die) || !die.ab)
        return -1;
    dinfo info;
    bool was_failed = u->failed;
    int res = read_info(u, du, &die, &info, false, NULL);
    if (res != 0) {
        if (!was_failed)
            u->failed = false;
        du->error[0] = 0;
        return -1;
    }
    const char *scope = "";
    if (info.name && !info.linkage)
        scope = external_scope(u, du, off & ~DI_SUP_REF);
    decl d = {.off = off, .name = info.name, .linkage = info.linkage, .scope = scope,
              .ref = info.ref, .has_ref = info.has_ref};
    return (int32_t)add_referenced_decl(u, &d);
}

/* Reads the attributes of a declaration registered without them.  Class
 * bodies repeat in every unit that includes their header and most member
 * declarations are never referenced, so reading them only on demand saves
 * most of the attribute work on big C++ inputs. */
static void load_lazy(unit *u, int32_t idx)
{
    u->decls[idx].lazy = false;
    di_die die;
    if (!di_die_at(u->du, u->decls[idx].off, &die) || !die.ab) {
        u->du->error[0] = 0;
        return;
    }
    dinfo info;
    bool was_failed = u->failed;
    if (read_info(u, u->du, &die, &info, false, NULL) != 0) {
        if (!was_failed)
            u->failed = false;
        u->du->error[0] = 0;
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
    return sk_arena_concat(u->out->arena, scope, name, NULL);
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
    bool from_linkage = false, sup_lost = false;
    uint32_t lost_before = u->sup_lost;
    int32_t cur = idx;
    for (int hop = 0; cur >= 0 && hop < MAX_REF_HOPS; hop++) {
        if (u->decls[cur].lazy)
            load_lazy(u, cur);
        decl *d = &u->decls[cur];
        if (d->resolved && d->full) {
            qual = d->full;
            from_linkage = d->from_linkage;
            sup_lost = d->sup_lost;
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
        uint64_t ref = d->ref;
        int32_t next = find_decl(u, ref);
        if (next < 0)
            next = load_external(u, ref);
        cur = next;
    }
    const char *full = qual;
    if (linkage) {
        char *dem = ds_demangle_cached(u->in->demangle, linkage, u->out->arena);
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
    u->decls[idx].sup_lost = sup_lost || u->sup_lost != lost_before;
    return full;
}

/* ---- DIE walk ------------------------------------------------------------ */

/* Each visitor is handed a DIE and sets *next to the offset past it and
 * all its descendants. */
static int walk_children(unit *u, uint64_t pos, const char *scope, bool in_type, int32_t func,
                         uint32_t depth, int nest, uint64_t *next);

/* Past the children of a DIE whose attributes end at attrs_end (the values
 * di_die_pick decoded are in u->vals), preferring its DW_AT_sibling. */
static int skip_children(unit *u, const di_die *die, uint64_t attrs_end, uint64_t *next)
{
    if (!die->ab->children) {
        *next = attrs_end;
        return 0;
    }
    uint64_t sib = 0;
    if (die->ab->sibling >= 0 && di_value_ref(u->du, &u->vals[die->ab->sibling_pick], &sib) &&
        sib > attrs_end && sib <= u->du->end) {
        *next = sib;
        return 0;
    }
    if (!di_skip_siblings(u->du, attrs_end, next))
        return fail_reader(u, u->du);
    return 0;
}

/* The children of a DIE, or nothing when it has none; the DIE's picked
 * values are still in u->vals.  Where the DIE has a DW_AT_sibling (GCC writes them),
 * the walk through its children must end exactly there: anywhere else
 * means a damaged DIE made the walk lose its way, and what it skipped
 * would be silently missing. */
static int walk_or_skip(unit *u, const di_die *die, uint64_t attrs_end, const char *scope,
                        bool in_type, int32_t func, uint32_t depth, int nest, uint64_t *next)
{
    if (!die->ab->children) {
        *next = attrs_end;
        return 0;
    }
    uint64_t sib = 0;
    bool has_sib = die->ab->sibling >= 0 &&
                   di_value_ref(u->du, &u->vals[die->ab->sibling_pick], &sib);
    if (walk_children(u, attrs_end, scope, in_type, func, depth, nest, next))
        return -1;
    if (has_sib && *next != sib) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "the children of the DIE at 0x%llx end at 0x%llx, not at its DW_AT_sibling 0x%llx",
                 (unsigned long long)die->off, (unsigned long long)*next, (unsigned long long)sib);
        return fail_msg(u, msg);
    }
    return 0;
}

/* Whether visit has more to do with a DIE than to skip it and its
 * subtree: decided before the call, since most DIEs (members, parameters,
 * variables, types) are only skipped. */
static inline bool visited(const unit *u, const di_abbrev *ab, int32_t func)
{
    switch (ab->tag) {
    case DW_TAG_namespace:
    case DW_TAG_class_type:
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_interface_type:
    case DW_TAG_subprogram:
        return true;
    case DW_TAG_inlined_subroutine:
        return func >= 0 && u->env->inlines;
    case DW_TAG_lexical_block:
    case DW_TAG_try_block:
    case DW_TAG_catch_block:
        /* Outside a function with code (in an inline-only one) a block is
         * still walked: it may hold a nested function that has code. */
        return ab->children;
    default:
        return false;
    }
}

/* A member function declaration: no code of its own.  (A lambda's
 * operator() is defined inside its closure type, so being in a class is
 * not enough.)  The abbreviation usually says it is one: */
static inline bool member_declared(const di_abbrev *ab, bool in_type)
{
    return in_type && ab->tag == DW_TAG_subprogram && ab->declared > 0;
}

/* ... and then only its DW_AT_sibling is read.  Registered, so that what
 * refers to it finds it, and skipped with its children. */
static int member_decl(unit *u, const di_die *die, const char *scope, uint64_t *next)
{
    uint64_t end = 0;
    if (!di_die_sibling(u->du, die, u->vals, &end))
        return fail_reader(u, u->du);
    register_die(u, die->off, scope, 0);
    return skip_children(u, die, end, next);
}

/* A DIE that visited() accepts. */
static int visit(unit *u, const di_die *die, const char *scope, bool in_type, int32_t func,
                 uint32_t depth, int nest, uint64_t *next)
{
    uint16_t tag = die->ab->tag;
    switch (tag) {
    case DW_TAG_namespace:
    case DW_TAG_class_type:
    case DW_TAG_structure_type:
    case DW_TAG_union_type:
    case DW_TAG_interface_type: {
        if (!die->ab->children) /* a declaration or an empty type */
            return di_die_skip(u->du, die, next) ? 0 : fail_reader(u, u->du);
        uint64_t end = 0;
        unsigned n = 0;
        if (!di_die_pick(u->du, die, DI_PICK_NAME | DI_PICK_SIBLING, u->vals, &n, &end))
            return fail_reader(u, u->du);
        const char *name = NULL;
        for (unsigned i = 0; i < n; i++)
            if (u->vals[i].at == DW_AT_name && !value_string(u->du, &u->vals[i], &name))
                return fail_reader(u, u->du);
        if (!name && tag == DW_TAG_namespace)
            name = "(anonymous namespace)";
        const char *inner = scope;
        if (name)
            inner = sk_arena_concat(u->out->arena, scope, name, "::");
        return walk_or_skip(u, die, end, inner, tag != DW_TAG_namespace, func, depth, nest, next);
    }
    case DW_TAG_subprogram: {
        uint64_t end = 0;
        if (member_declared(die->ab, in_type))
            return member_decl(u, die, scope, next);
        if (in_type && die->ab->declared < 0) {
            /* The DIE says whether it is a declaration. */
            unsigned n = 0;
            bool is_decl = false;
            if (!di_die_pick(u->du, die, DI_PICK_DECL | DI_PICK_SIBLING, u->vals, &n, &end))
                return fail_reader(u, u->du);
            for (unsigned i = 0; i < n; i++)
                if (u->vals[i].at == DW_AT_declaration)
                    is_decl = u->vals[i].u != 0;
            if (is_decl) {
                register_die(u, die->off, scope, 0);
                return skip_children(u, die, end, next);
            }
        }
        size_t r0 = u->nrr;
        dinfo info;
        if (read_info(u, u->du, die, &info, true, &end))
            return -1;
        decl d = {.off = die->off, .name = info.name, .linkage = info.linkage, .scope = scope,
                  .ref = info.ref, .has_ref = info.has_ref};
        uint32_t di = add_decl(u, &d);
        register_die(u, die->off, scope, di + 1);
        if (u->nrr == r0 || info.declaration) {
            /* No code of its own (an inline-only DW_AT_inline function, a
             * declaration), but its subtree may hold functions that have
             * code: a lambda's _FUN inside a local struct inside an
             * always-inline function (libtsan) is written there. */
            u->nrr = r0;
            return walk_or_skip(u, die, end, scope, false, -1, 0, nest, next);
        }
        grow1((void **)&u->pf, &u->pf_cap, u->npf, sizeof *u->pf);
        u->pf[u->npf] = (pending_func){.decl = di, .first_range = (uint32_t)r0,
                                       .nranges = (uint32_t)(u->nrr - r0)};
        return walk_or_skip(u, die, end, scope, false, (int32_t)u->npf++, 0, nest, next);
    }
    case DW_TAG_inlined_subroutine: {
        size_t r0 = u->nrr;
        dinfo info;
        uint64_t end = 0;
        if (read_info(u, u->du, die, &info, true, &end))
            return -1;
        if (u->nrr == r0) /* no code: nothing to attribute to it or its children */
            return skip_children(u, die, end, next);
        grow1((void **)&u->pi, &u->pi_cap, u->npi, sizeof *u->pi);
        u->pi[u->npi++] = (pending_inline){
            .func = (uint32_t)func, .depth = depth, .call_line = (uint32_t)info.call_line,
            .call_file = (uint32_t)info.call_file, .origin = info.ref, .has_origin = info.has_ref,
            .first_range = (uint32_t)r0, .nranges = (uint32_t)(u->nrr - r0)};
        return walk_or_skip(u, die, end, scope, false, func, depth + 1, nest, next);
    }
    case DW_TAG_lexical_block:
    case DW_TAG_try_block:
    case DW_TAG_catch_block: {
        uint64_t end = 0;
        if (!di_die_skip(u->du, die, &end))
            return fail_reader(u, u->du);
        return walk_children(u, end, scope, false, func, depth, nest, next);
    }
    default:
        break;
    }
    return di_die_skip_tree(u->du, die, next) ? 0 : fail_reader(u, u->du);
}

/* The DIEs from pos up to the null entry ending their list. */
static int walk_children(unit *u, uint64_t pos, const char *scope, bool in_type, int32_t func,
                         uint32_t depth, int nest, uint64_t *next)
{
    if (nest > MAX_NESTING)
        return fail_msg(u, "DIEs nested too deeply");
    for (;;) {
        di_die die;
        if (pos >= u->du->end) {
            /* Some producers leave out the null entry that closes the
             * unit's top level: the unit's end closes it as well. */
            if (nest == 0 && pos == u->du->end) {
                *next = pos;
                return 0;
            }
            return fail_msg(u, "DIE children run past the end of their unit");
        }
        if (!di_die_at(u->du, pos, &die))
            return fail_reader(u, u->du);
        if (!die.ab) {
            *next = di_info_offset(u->du, die.values);
            return 0;
        }
        int res;
        /* Member declarations are half of a C++ unit's visits: they go
         * without visit's frame. */
        if (member_declared(die.ab, in_type))
            res = member_decl(u, &die, scope, &pos);
        else if (!visited(u, die.ab, func))
            res = di_die_skip_tree(u->du, &die, &pos) ? 0 : fail_reader(u, u->du);
        else
            res = visit(u, &die, scope, in_type, func, depth, nest + 1, &pos);
        if (res)
            return -1;
    }
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
    return sk_arena_concat(u->out->arena, dir, dir[n - 1] == '/' ? "" : "/", name);
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
 * The header and the state machine, run over the section bytes.  (Each
 * DWARF 5 sequence starts with file register 1, as in every version: a
 * reader that starts at 0 puts the rows of an inlined header function in
 * the wrong file.) */

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

static uint64_t rd_uleb_long(cursor *c)
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

static int64_t rd_sleb_long(cursor *c)
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

/* LEB128 operands of line-program opcodes are one byte nearly always. */
static inline uint64_t rd_uleb(cursor *c)
{
    if (c->p < c->end && !(*c->p & 0x80))
        return *c->p++;
    return rd_uleb_long(c);
}

static inline int64_t rd_sleb(cursor *c)
{
    if (c->p < c->end && !(*c->p & 0x80)) {
        uint8_t b = *c->p++;
        return (b & 0x40) ? (int64_t)b - 0x80 : (int64_t)b;
    }
    return rd_sleb_long(c);
}

static void push_row(row **rows, size_t *n, size_t *cap, uint64_t addr, uint64_t line, uint64_t file,
                     bool end)
{
    grow1((void **)rows, cap, *n, sizeof **rows);
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
static const char *section_str(const di_span *sec, uint64_t off)
{
    if (!sec->p || off >= sec->n || !memchr(sec->p + off, 0, sec->n - off))
        return NULL;
    return (const char *)sec->p + off;
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
        *str = section_str(form == DW_FORM_strp ? &u->line_sec->str : &u->line_sec->line_str, off);
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
        grow1((void **)&dirs, &cap, u->nldirs, sizeof *dirs);
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
        grow1((void **)&names, &fcap, u->nlfiles, sizeof *names);
        grow1((void **)&fdirs, &fdcap, u->nlfiles, sizeof *fdirs);
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

static int decode_rows(unit *u, uint64_t off, row **rows_out, size_t *n_out)
{
    *rows_out = NULL;
    *n_out = 0;
    const uint8_t *data = u->line_sec->line.p;
    size_t size = u->line_sec->line.n;
    uint64_t base = u->line_sec->line_off; /* non-zero: only this unit's program is held */
    if (!data)
        return fail_msg(u, "the unit has a line table but there is no .debug_line");
    if (off < base || off - base >= size)
        return fail_msg(u, "line table offset is past the end of .debug_line");
    off -= base;

    cursor c = {.p = data + off, .end = data + size, .le = u->line_sec->le};
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

static inline bool line_before(const dsu_line *x, const dsu_line *y)
{
    return cmp_line(x, y) < 0;
}

/* Sorts lines with cmp_line's order.  The rows come in sequences that are
 * each in address order (one per function section with
 * -ffunction-sections), so this merges those runs pairwise: a typed merge
 * with the comparison inlined, several times faster than qsort on the
 * hundreds of thousands of rows of a big unit. */
static void sort_lines(dsu_line *v, size_t n)
{
    size_t *runs = sk_xmalloc((n + 1) * sizeof *runs); /* run starts, then n */
    size_t nruns = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || line_before(&v[i], &v[i - 1]))
            runs[nruns++] = i;
    runs[nruns] = n;
    if (nruns <= 1) {
        free(runs);
        return;
    }
    dsu_line *tmp = sk_xmalloc(n * sizeof *tmp);
    dsu_line *src = v, *dst = tmp;
    while (nruns > 1) {
        size_t out = 0;
        for (size_t r = 0; r < nruns; r += 2) {
            size_t a = runs[r], mid = runs[r + 1], end = r + 2 <= nruns ? runs[r + 2] : n;
            if (r + 1 >= nruns)
                mid = end = n;
            size_t i = a, j = mid, k = a;
            while (i < mid && j < end)
                dst[k++] = line_before(&src[j], &src[i]) ? src[j++] : src[i++];
            while (i < mid)
                dst[k++] = src[i++];
            while (j < end)
                dst[k++] = src[j++];
            runs[out++] = a;
        }
        runs[out] = n;
        nruns = out;
        dsu_line *t = src;
        src = dst;
        dst = t;
    }
    if (src != v)
        memcpy(v, src, n * sizeof *v);
    free(tmp);
    free(runs);
}

/* Rows of the unit's line table as [addr, next row) records, sorted. */
static int read_lines(unit *u, uint64_t stmt_list, dsu_line **lines_out, size_t *n_out)
{
    *lines_out = NULL;
    *n_out = 0;
    row *rows = NULL;
    size_t n = 0;
    if (decode_rows(u, stmt_list, &rows, &n))
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
    sort_lines(out, k);
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

/* The end of the executable segment holding lo (no limit when the
 * object has no program headers). */
static uint64_t load_end(const dsu_env *env, uint64_t lo)
{
    for (size_t i = 0; i < env->nloads; i++)
        if (lo >= env->loads[i].lo && lo < env->loads[i].hi)
            return env->loads[i].hi;
    return UINT64_MAX;
}

/* lld's tombstones, -1 and -2, in either address size. */
static bool is_tombstone_any(uint64_t lo)
{
    return lo >= 0xfffffffeull && (lo <= 0xffffffffull || lo >= ~(uint64_t)1);
}

/* True when lo is beyond the end of every executable segment. */
static bool past_loads(const dsu_env *env, uint64_t lo)
{
    if (!env->nloads)
        return false;
    for (size_t i = 0; i < env->nloads; i++)
        if (lo < env->loads[i].hi)
            return false;
    return !is_tombstone_any(lo);
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
static const char *func_name_of(unit *u, uint32_t f);

/* The FUNC name, counting the names a missing dwz supplementary file cost
 * (and how many of those the symbol table gave back). */
static const char *func_name(unit *u, uint32_t f)
{
    int32_t di = (int32_t)u->pf[f].decl;
    const char *dwarf = resolve(u, di);
    const char *name = func_name_of(u, f);
    if (!dwarf && u->decls[di].sup_lost) {
        u->out->sup_funcs_lost++;
        if (name)
            u->out->sup_funcs_from_symtab++;
    }
    return name;
}

static const char *func_name_of(unit *u, uint32_t f)
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
    if (!name) /* nothing in DWARF (a dwz supplementary file is missing): the symbol */
        return ds_symbol_name(best, u->out->arena);
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
        grow1((void **)&r->ranges, &r->ranges_cap, r->nranges, sizeof *r->ranges);
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
            if (!in_loads(u->env, lo)) {
                /* Code the linker dropped keeps 0, a tombstone, or (gold)
                 * a small offset; an address past every segment is none of
                 * those but damage, and the function it hides is worth a
                 * word. */
                if (past_loads(u->env, lo) && !u->out->note) {
                    char msg[160];
                    snprintf(msg, sizeof msg,
                             "a function at 0x%llx lies past every code segment; left out",
                             (unsigned long long)lo);
                    u->out->note = sk_xstrdup(msg);
                }
                continue;
            }
            uint64_t seg_end = load_end(u->env, lo);
            if (hi > seg_end) {
                /* Code cannot run on past its segment: the end is corrupt.
                 * Cut it there, and say so. */
                if (!u->out->note) {
                    char msg[200];
                    snprintf(msg, sizeof msg,
                             "a function at 0x%llx ends at 0x%llx, past the end of its code segment "
                             "(0x%llx); cut there",
                             (unsigned long long)lo, (unsigned long long)hi,
                             (unsigned long long)seg_end);
                    u->out->note = sk_xstrdup(msg);
                }
                hi = seg_end;
            }
            grow1((void **)&pieces, &pieces_cap, npieces, sizeof *pieces);
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
        grow1((void **)&r->funcs, &r->funcs_cap, r->nfuncs, sizeof *r->funcs);
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
            grow1((void **)&r->lines, &r->lines_cap, r->nlines, sizeof *r->lines);
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
                    origin = find_decl(u, in->origin);
                    if (origin < 0)
                        origin = load_external(u, in->origin);
                }
                uint32_t call_file = in->call_file ? file_index(u, in->call_file) : UINT32_MAX;
                if (u->line_version >= 5 && in->call_file == 0)
                    call_file = file_index(u, 0);
                const char *oname = resolve(u, origin);
                if (!oname && (origin >= 0 ? u->decls[origin].sup_lost
                                           : in->has_origin && (in->origin & DI_SUP_REF) &&
                                                 !u->du->sec->sup))
                    r->sup_inlines_lost++;
                grow1((void **)&r->inlines, &r->inlines_cap, r->ninlines, sizeof *r->inlines);
                r->inlines[r->ninlines++] = (dsu_inline){
                    .depth = in->depth, .call_line = in->call_line, .call_file = call_file,
                    .origin = oname, .first_range = (uint32_t)r0, .nranges = n};
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

/* The unit DIE's DW_AT_comp_dir and DW_AT_stmt_list (of the skeleton, for
 * a split unit: it inherits both). */
static int read_root(unit *u, di_unit *top, uint64_t *stmt_list, bool *has_stmt)
{
    di_die root;
    uint64_t end = 0;
    if (!di_die_at(top, top->first_die, &root) || !root.ab || !di_die_values(top, &root, u->vals, &end))
        return fail_reader(u, top);
    for (unsigned i = 0; i < root.ab->nattrs; i++) {
        const di_value *v = &u->vals[i];
        if (v->at == DW_AT_comp_dir) {
            if (!value_string(top, v, &u->comp_dir))
                return fail_reader(u, top);
        } else if (v->at == DW_AT_stmt_list) {
            if (v->form != DW_FORM_sec_offset && v->form != DW_FORM_data4 &&
                v->form != DW_FORM_data8 && v->form != DW_FORM_udata)
                return fail_msg(u, "DW_AT_stmt_list has an unexpected form");
            *stmt_list = v->u;
            *has_stmt = true;
        }
    }
    return 0;
}

/* The DIE tree must fill its unit (up to zero padding): a tree that ends
 * early means a corrupt DIE made the walk lose its way, and what it did
 * not reach would silently be missing. */
static bool tree_ends_with_unit(unit *u, uint64_t end)
{
    const di_unit *du = u->du;
    for (uint64_t off = end; off < du->end; off++)
        if (*di_info_at(du, off) != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "the DIE tree ends at 0x%llx, before its unit does (0x%llx)",
                     (unsigned long long)end, (unsigned long long)du->end);
            fail_msg(u, msg);
            return false;
        }
    return true;
}

void dsu_process(const dsu_input *in, const dsu_env *env, dsu_result *out)
{
    unit u = {.du = in->cu, .in = in, .env = env, .out = out};
    out->arena = sk_arena_create();
    di_unit *top = in->skeleton ? in->skeleton : in->cu;
    u.line_sec = top->sec;
    u.version = in->cu->version;
    u.addr_size = in->cu->addr_size;
    u.cu_base = in->cu->low_pc;
    uint64_t stmt_list = 0;
    bool has_stmt = false;
    uint64_t end = 0;
    di_die root;
    dsu_line *lines = NULL;
    size_t nlines = 0;
    if (read_root(&u, top, &stmt_list, &has_stmt) == 0 &&
        (!has_stmt || read_lines(&u, stmt_list, &lines, &nlines) == 0) &&
        di_die_at(in->cu, in->cu->first_die, &root) && root.ab &&
        di_die_skip(in->cu, &root, &end) &&
        (!root.ab->children || walk_children(&u, end, "", false, -1, 0, 0, &end) == 0) &&
        tree_ends_with_unit(&u, end))
        assemble(&u, lines, nlines);
    else if (!u.failed)
        fail_reader(&u, in->cu);
    free(lines);
    free(u.file_done);
    free(u.decls);
    free(u.regs);
    free(u.refd);
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
