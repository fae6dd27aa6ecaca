/*
 * symtab.c — PUBLIC records from ELF symbol tables.
 *
 * Each object (the debug file and the binary) contributes its .symtab, or
 * its .dynsym when it has no .symtab; when neither file has a .symtab, the
 * MiniDebugInfo in .gnu_debugdata is tried as well.  Defined function
 * symbols (STT_FUNC, STT_GNU_IFUNC) that point into an executable section
 * become PUBLIC records relative to the module's load address; finalize
 * drops those a FUNC covers.  Several names for one address keep one: the
 * strongest binding (global, then weak, then local), then the first seen.
 */
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "demangler.h"

#ifndef STT_GNU_IFUNC
#define STT_GNU_IFUNC 10
#endif

typedef struct pub_cand {
    uint64_t addr;
    int rank;     /* lower is better */
    size_t seq;   /* order seen, for determinism among equals */
    const char *raw; /* points into the ELF string table (valid while open) */
} pub_cand;

typedef struct pub_list {
    pub_cand *v;
    size_t n, cap;
} pub_list;

static int binding_rank(unsigned bind)
{
    switch (bind) {
    case STB_GLOBAL: return 0;
    case STB_WEAK: return 1;
    default: return 2;
    }
}

/* True when section index shndx of obj is executable code. */
static bool is_exec_section(const ds_object *obj, size_t shndx)
{
    if (shndx == SHN_UNDEF || shndx >= obj->nsections)
        return false;
    return (obj->sections[shndx].shdr.sh_flags & SHF_EXECINSTR) != 0;
}

/* Adds the function symbols of one symbol table section.  Returns false
 * (and warns) when the table is unreadable; nothing else is fatal. */
static bool scan_symtab(ds_context *ctx, ds_object *obj, ds_section *sec, pub_list *out)
{
    size_t index = (size_t)(sec - obj->sections);
    Elf_Scn *scn = elf_getscn(obj->elf, index);
    if (!scn || sec->shdr.sh_type == SHT_NOBITS)
        return false;
    Elf_Data *data = elf_getdata(scn, NULL);
    if (!data || !data->d_buf) {
        sk_log(SK_LOG_WARN, "%s: %s: unreadable symbol table: %s", obj->path, sec->name, elf_errmsg(-1));
        return false;
    }
    /* SHT_SYMTAB_SHNDX holds the section index of symbols with SHN_XINDEX. */
    Elf_Data *xdata = NULL;
    for (size_t i = 1; i < obj->nsections; i++) {
        if (obj->sections[i].shdr.sh_type == SHT_SYMTAB_SHNDX && obj->sections[i].shdr.sh_link == index) {
            Elf_Scn *xs = elf_getscn(obj->elf, i);
            xdata = xs ? elf_getdata(xs, NULL) : NULL;
            break;
        }
    }
    size_t strndx = sec->shdr.sh_link;
    size_t entsize = gelf_fsize(obj->elf, ELF_T_SYM, 1, EV_CURRENT);
    size_t count = entsize ? data->d_size / entsize : 0;
    bool arm = obj->machine == EM_ARM;
    for (size_t i = 1; i < count; i++) {
        GElf_Sym sym;
        Elf32_Word xndx = 0;
        if (!gelf_getsymshndx(data, xdata, (int)i, &sym, &xndx))
            continue;
        unsigned type = GELF_ST_TYPE(sym.st_info);
        if (type != STT_FUNC && type != STT_GNU_IFUNC)
            continue;
        size_t shndx = sym.st_shndx == SHN_XINDEX ? xndx : sym.st_shndx;
        if (sym.st_shndx >= SHN_LORESERVE && sym.st_shndx != SHN_XINDEX)
            continue; /* SHN_ABS, SHN_COMMON: not code */
        if (!is_exec_section(obj, shndx))
            continue;
        uint64_t value = sym.st_value;
        if (arm)
            value &= ~(uint64_t)1; /* the Thumb bit is not part of the address */
        if (value < ctx->load_addr)
            continue;
        const char *name = elf_strptr(obj->elf, strndx, sym.st_name);
        if (!name || !*name)
            continue;
        sk_grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v);
        out->v[out->n] = (pub_cand){
            .addr = value - ctx->load_addr,
            .rank = binding_rank(GELF_ST_BIND(sym.st_info)),
            .seq = out->n,
            .raw = name,
        };
        out->n++;
    }
    return true;
}

static ds_section *find_typed(ds_object *obj, const char *name, unsigned type)
{
    ds_section *s = ds_object_section(obj, name);
    return s && s->shdr.sh_type == type ? s : NULL;
}

/* .symtab, else .dynsym.  True when a real .symtab was used. */
static bool scan_object(ds_context *ctx, ds_object *obj, pub_list *out)
{
    ds_section *symtab = find_typed(obj, ".symtab", SHT_SYMTAB);
    if (symtab && scan_symtab(ctx, obj, symtab, out))
        return true;
    ds_section *dynsym = find_typed(obj, ".dynsym", SHT_DYNSYM);
    if (dynsym)
        scan_symtab(ctx, obj, dynsym, out);
    return false;
}

static int cmp_cand(const void *a_, const void *b_)
{
    const pub_cand *a = a_, *b = b_;
    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    if (a->rank != b->rank)
        return a->rank - b->rank;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

int ds_collect_publics(ds_context *ctx, sk_error *err)
{
    (void)err;
    pub_list list = {0};
    bool full = false;
    /* The debug file first: its .symtab is the complete one. */
    if (ctx->dbg && ctx->dbg != ctx->bin)
        full |= scan_object(ctx, ctx->dbg, &list);
    full |= scan_object(ctx, ctx->bin, &list);

    ds_object mini;
    bool have_mini = false;
    if (!full) {
        sk_error merr = {0};
        int rc = ds_open_minidebuginfo(ctx->bin, &mini, &merr);
        if (rc == SK_OK) {
            have_mini = true;
            scan_object(ctx, &mini, &list);
        } else if (rc != SK_ENOTFOUND) {
            sk_log(SK_LOG_WARN, "%s", merr.msg);
        }
    }

    if (list.n)
        sk_sort(list.v, list.n, sizeof *list.v, cmp_cand);
    for (size_t i = 0; i < list.n; i++) {
        if (i > 0 && list.v[i].addr == list.v[i - 1].addr)
            continue;
        /* The raw name: most of these are covered by a FUNC and dropped
         * by finalize, so they are demangled only after that
         * (ds_name_publics), not here. */
        sym_module_add_public(ctx->m, list.v[i].addr, list.v[i].raw);
    }
    free(list.v);
    if (have_mini)
        ds_object_close(&mini);
    return SK_OK;
}

void ds_name_publics(sym_module *m)
{
    for (size_t i = 0; i < m->npublics; i++) {
        char *name = (char *)ds_symbol_name(m->publics[i].name, m->arena);
        /* As finalize cleans names: a record is one line. */
        for (char *p = name; *p; p++)
            if (*p == '\r' || *p == '\n')
                *p = ' ';
        m->publics[i].name = name;
    }
}
