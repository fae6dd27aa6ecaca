/* dwarf_symnames.c — mangled symbol names for functions whose DWARF has no
 * linkage name.
 *
 * GCC leaves DW_AT_linkage_name out for C++ functions with internal linkage
 * (static functions, anonymous namespaces, some template instances), so
 * DWARF alone only gives "level2" where the symbol table says
 * "_ZL6level2i", i.e. "level2(int)": the name with parameters users (and
 * llvm-symbolizer) expect.  We index the mangled function symbols once and
 * look names up by a function's start address.
 *
 * Unmangled symbols are indexed too: a C++ function declared extern "C"
 * inside a namespace (libstdc++'s __cxxabiv1::__cxa_throw, say) has no
 * linkage name in DWARF, and its real name is the bare symbol, not the
 * namespace-qualified DW_AT_name. */
#include "dwarf_symnames.h"

#include <stdlib.h>
#include <string.h>

static int cmp_sym(const void *a, const void *b)
{
    const dsn_sym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void scan(ds_object *obj, dsn_index *ix)
{
    for (size_t i = 1; i < obj->nsections; i++) {
        ds_section *sec = &obj->sections[i];
        if (sec->shdr.sh_type != SHT_SYMTAB)
            continue;
        Elf_Scn *scn = elf_getscn(obj->elf, i);
        Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
        if (!data || !sec->shdr.sh_entsize)
            continue;
        size_t n = sec->shdr.sh_size / sec->shdr.sh_entsize;
        for (size_t k = 1; k < n; k++) {
            GElf_Sym sym;
            if (!gelf_getsym(data, (int)k, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
                sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
                continue;
            const char *name = elf_strptr(obj->elf, sec->shdr.sh_link, sym.st_name);
            if (!name || !*name)
                continue;
            uint64_t addr = sym.st_value;
            if (obj->machine == EM_ARM)
                addr &= ~(uint64_t)1; /* the Thumb bit is not part of the address */
            sk_grow((void **)&ix->syms, &ix->cap, ix->n + 1, sizeof *ix->syms);
            ix->syms[ix->n++] = (dsn_sym){addr, name};
        }
    }
}

void dsn_index_build(dsn_index *ix, ds_object *dbg, ds_object *bin)
{
    memset(ix, 0, sizeof *ix);
    scan(dbg, ix);
    if (ix->n == 0 && bin && bin != dbg)
        scan(bin, ix);
    if (ix->n)
        sk_sort(ix->syms, ix->n, sizeof *ix->syms, cmp_sym);
}

void dsn_index_free(dsn_index *ix)
{
    free(ix->syms);
    memset(ix, 0, sizeof *ix);
}

const char *dsn_lookup(const dsn_index *ix, uint64_t addr, bool *clone)
{
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->syms[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    const char *found = NULL;
    for (size_t i = lo; i < ix->n && ix->syms[i].addr == addr; i++) {
        bool is_clone = ds_clone_suffix_start(ix->syms[i].name) != strlen(ix->syms[i].name);
        if (!found || (!is_clone && *clone)) {
            found = ix->syms[i].name;
            *clone = is_clone;
        }
    }
    return found;
}
