/*
 * symtab.c — PUBLIC records from the object's symbol tables (ds_object_symbols).
 *
 * Each object (the debug file and the binary) contributes its static
 * table (.symtab), or its dynamic one (.dynsym) when it has no static one; when neither file has a .symtab, the
 * MiniDebugInfo in .gnu_debugdata is tried as well.  Defined function
 * symbols (functions and GNU ifuncs) that point into an executable section
 * become PUBLIC records relative to the module's load address; finalize
 * drops those a FUNC covers.  Several names for one address keep one: the
 * strongest binding (global, then weak, then local), then the first seen.
 */
#include <stdlib.h>
#include <string.h>

#include "collect.h"
#include "demangler.h"

typedef struct pub_cand {
    uint64_t addr;
    int rank;     /* lower is better */
    size_t seq;   /* order seen, for determinism among equals */
    const char *raw; /* points into the object's string table (valid while open) */
} pub_cand;

typedef struct pub_list {
    pub_cand *v;
    size_t n, cap;
} pub_list;

static int binding_rank(ds_symbol_bind bind)
{
    switch (bind) {
    case DS_BIND_GLOBAL: return 0;
    case DS_BIND_WEAK: return 1;
    default: return 2;
    }
}

typedef struct scan_arg {
    ds_context *ctx;
    ds_object *obj;
    pub_list *out;
} scan_arg;

/* Keeps a defined function symbol (ifuncs too) that points into an
 * executable section. */
static int add_candidate(void *arg_, const ds_symbol *sym)
{
    scan_arg *arg = arg_;
    if (sym->type != DS_SYM_FUNC && sym->type != DS_SYM_IFUNC)
        return 0;
    if (!sym->section || !(arg->obj->sections[sym->section].flags & DS_SEC_EXEC))
        return 0; /* undefined, absolute, common: not code */
    uint64_t value = sym->value;
    if (arg->obj->cpu == DS_CPU_ARM)
        value &= ~(uint64_t)1; /* the Thumb bit is not part of the address */
    /* Breakpad's mac dumper keeps it on PUBLICs of Thumb functions (from
     * N_ARM_THUMB_DEF), so mac modules say Thumb the way it does. */
    if (arg->obj->format == DS_FORMAT_MACHO && sym->thumb)
        value |= 1;
    if (value < arg->ctx->load_addr)
        return 0;
    if (!sym->name || !*sym->name)
        return 0;
    pub_list *out = arg->out;
    sk_grow((void **)&out->v, &out->cap, out->n + 1, sizeof *out->v);
    out->v[out->n] = (pub_cand){
        .addr = value - arg->ctx->load_addr,
        .rank = binding_rank(sym->bind),
        .seq = out->n,
        .raw = sym->name,
    };
    out->n++;
    return 0;
}

/* Adds the function symbols of one symbol table.  Returns false (and
 * warns when it is there but unreadable) when the table gave nothing to
 * read; nothing else is fatal. */
static bool scan_symtab(ds_context *ctx, ds_object *obj, ds_symtab_which which, pub_list *out)
{
    scan_arg arg = {ctx, obj, out};
    sk_error err = {0};
    int rc = ds_object_symbols(obj, which, add_candidate, &arg, &err);
    if (rc == SK_EFORMAT)
        sk_log(SK_LOG_WARN, "%s", err.msg);
    return rc == SK_OK;
}

/* The static table, else the dynamic one.  True when a real static table
 * was used. */
static bool scan_object(ds_context *ctx, ds_object *obj, pub_list *out)
{
    if (scan_symtab(ctx, obj, DS_SYMTAB_STATIC, out))
        return true;
    scan_symtab(ctx, obj, DS_SYMTAB_DYNAMIC, out);
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
        int rc = ds_object_open_symbol_supplement(ctx->bin, &mini, &merr);
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
