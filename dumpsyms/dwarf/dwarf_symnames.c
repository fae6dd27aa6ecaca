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

typedef struct scan_arg {
    ds_object *obj;
    dsn_index *ix;
} scan_arg;

static int add_name(void *arg_, const ds_symbol *sym)
{
    scan_arg *arg = arg_;
    if (sym->type != DS_SYM_FUNC || !sym->defined || sym->value == 0 || !sym->name || !*sym->name)
        return 0;
    uint64_t addr = sym->value;
    if (arg->obj->cpu == DS_CPU_ARM)
        addr &= ~(uint64_t)1; /* the Thumb bit is not part of the address */
    dsn_index *ix = arg->ix;
    sk_grow((void **)&ix->syms, &ix->cap, ix->n + 1, sizeof *ix->syms);
    ix->syms[ix->n++] = (dsn_sym){addr, sym->name};
    return 0;
}

/* Every defined function symbol of the static table (ELF .symtab). */
static void scan(ds_object *obj, dsn_index *ix)
{
    scan_arg arg = {obj, ix};
    ds_object_symbols(obj, DS_SYMTAB_STATIC, add_name, &arg, NULL);
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
