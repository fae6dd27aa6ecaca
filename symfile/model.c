/* model.c — building a sym_module: init/free and the builders producers use.
 *
 * Strings and fixed-size arrays (inline ranges) live in the module's arena;
 * the growable arrays (the ones with a _cap field) are malloc'd so that they
 * can be reallocated without leaving dead copies in the arena, and are
 * released by sym_module_free. */
#include "symfile_int.h"

#include <stdlib.h>
#include <string.h>

void sym_grow(void **p, size_t *cap, size_t n, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            sk_xmalloc(SIZE_MAX); /* reports out of memory and aborts */
        c *= 2;
    }
    void *q = sk_xmalloc(c * elem);
    if (n)
        memcpy(q, *p, n * elem);
    free(*p);
    *p = q;
    *cap = c;
}

void sym_module_init(sym_module *m)
{
    memset(m, 0, sizeof *m);
    m->arena = sk_arena_create();
}

void sym_module_free(sym_module *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nfuncs; i++) {
        free(m->funcs[i].lines);
        free(m->funcs[i].inlines);
    }
    for (size_t i = 0; i < m->ncfi; i++)
        free(m->cfi[i].rows);
    free(m->funcs);
    free(m->publics);
    free(m->cfi);
    free(m->stack_win);
    free(m->files);
    free(m->origins);
    free(m->info);
    if (m->arena)
        sk_arena_destroy(m->arena);
    memset(m, 0, sizeof *m);
}

uint32_t sym_module_add_file(sym_module *m, const char *path)
{
    sym_grow((void **)&m->files, &m->files_cap, m->nfiles, m->nfiles + 1, sizeof *m->files);
    m->files[m->nfiles] = sk_arena_strdup(m->arena, path ? path : "");
    return (uint32_t)m->nfiles++;
}

uint32_t sym_module_add_origin(sym_module *m, const char *name)
{
    sym_grow((void **)&m->origins, &m->origins_cap, m->norigins, m->norigins + 1,
             sizeof *m->origins);
    m->origins[m->norigins] = sk_arena_strdup(m->arena, name ? name : "");
    return (uint32_t)m->norigins++;
}

sym_func *sym_module_add_func(sym_module *m, uint64_t addr, uint64_t size, const char *name)
{
    sym_grow((void **)&m->funcs, &m->funcs_cap, m->nfuncs, m->nfuncs + 1, sizeof *m->funcs);
    sym_func *f = &m->funcs[m->nfuncs++];
    memset(f, 0, sizeof *f);
    f->addr = addr;
    f->size = size;
    f->name = sk_arena_strdup(m->arena, name ? name : "");
    return f;
}

void sym_func_add_line(sym_module *m, sym_func *f, uint64_t addr, uint32_t size, uint32_t line,
                       uint32_t file)
{
    (void)m;
    sym_grow((void **)&f->lines, &f->lines_cap, f->nlines, f->nlines + 1, sizeof *f->lines);
    f->lines[f->nlines++] = (sym_line){.addr = addr, .size = size, .line = line, .file = file};
}

sym_inline *sym_func_add_inline(sym_module *m, sym_func *f, uint32_t depth, uint32_t call_line,
                                uint32_t call_file, uint32_t origin, const sym_range *ranges,
                                uint32_t nranges)
{
    sym_grow((void **)&f->inlines, &f->inlines_cap, f->ninlines, f->ninlines + 1,
             sizeof *f->inlines);
    sym_inline *in = &f->inlines[f->ninlines++];
    in->depth = depth;
    in->call_line = call_line;
    in->call_file = call_file;
    in->origin = origin;
    in->nranges = nranges;
    in->ranges = NULL;
    if (nranges) {
        in->ranges = sk_arena_alloc(m->arena, (size_t)nranges * sizeof *ranges);
        memcpy(in->ranges, ranges, (size_t)nranges * sizeof *ranges);
    }
    return in;
}

void sym_module_add_public(sym_module *m, uint64_t addr, const char *name)
{
    sym_grow((void **)&m->publics, &m->publics_cap, m->npublics, m->npublics + 1,
             sizeof *m->publics);
    m->publics[m->npublics++] = (sym_public){
        .addr = addr, .param_size = 0, .multiple = false,
        .name = sk_arena_strdup(m->arena, name ? name : "")};
}

sym_cfi *sym_module_add_cfi(sym_module *m, uint64_t addr, uint64_t size, const char *init_rules)
{
    sym_grow((void **)&m->cfi, &m->cfi_cap, m->ncfi, m->ncfi + 1, sizeof *m->cfi);
    sym_cfi *c = &m->cfi[m->ncfi++];
    memset(c, 0, sizeof *c);
    c->addr = addr;
    c->size = size;
    c->init_rules = sk_arena_strdup(m->arena, init_rules ? init_rules : "");
    return c;
}

void sym_cfi_add_row(sym_module *m, sym_cfi *c, uint64_t addr, const char *rules)
{
    sym_grow((void **)&c->rows, &c->rows_cap, c->nrows, c->nrows + 1, sizeof *c->rows);
    c->rows[c->nrows++] = (sym_cfi_row){.addr = addr,
                                        .rules = sk_arena_strdup(m->arena, rules ? rules : "")};
}
