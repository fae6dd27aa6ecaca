/* model.c — building a sym_module: init/free and the builders producers use.
 *
 * Strings and fixed-size arrays (inline ranges, reserved line and INLINE
 * arrays) live in the module's pool (pool.c); the growable arrays (the ones
 * with a _cap field) are otherwise malloc'd so that they can be reallocated
 * without leaving dead copies in the pool, and are released by
 * sym_module_free. */
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
    for (size_t i = 0; i < m->nfuncs; i++)
        sym_func_release(&m->funcs[i]);
    for (size_t i = 0; i < m->ncfi; i++)
        free(m->cfi[i].rows);
    free(m->funcs);
    free(m->publics);
    free(m->cfi);
    free(m->stack_win);
    free(m->files);
    free(m->origins);
    free(m->info);
    sym_pool_free(m->pool);
    if (m->arena)
        sk_arena_destroy(m->arena);
    memset(m, 0, sizeof *m);
}

void sym_func_release(sym_func *f)
{
    if (!f->lines_pooled)
        free(f->lines);
    if (!f->inlines_pooled)
        free(f->inlines);
    if (!f->ranges_pooled)
        free(f->ranges);
    f->lines = NULL;
    f->inlines = NULL;
    f->ranges = NULL;
    f->nlines = f->lines_cap = f->ninlines = f->inlines_cap = f->nranges = f->ranges_cap = 0;
    f->lines_pooled = f->inlines_pooled = f->ranges_pooled = f->ranges_wide = false;
}

uint32_t sym_module_add_file(sym_module *m, const char *path)
{
    sym_grow((void **)&m->files, &m->files_cap, m->nfiles, m->nfiles + 1, sizeof *m->files);
    m->files[m->nfiles] = sym_pool_strdup(m, path ? path : "");
    return (uint32_t)m->nfiles++;
}

uint32_t sym_module_add_origin(sym_module *m, const char *name)
{
    sym_grow((void **)&m->origins, &m->origins_cap, m->norigins, m->norigins + 1,
             sizeof *m->origins);
    m->origins[m->norigins] = sym_pool_strdup(m, name ? name : "");
    return (uint32_t)m->norigins++;
}

sym_func *sym_module_add_func(sym_module *m, uint64_t addr, uint64_t size, const char *name)
{
    sym_grow((void **)&m->funcs, &m->funcs_cap, m->nfuncs, m->nfuncs + 1, sizeof *m->funcs);
    sym_func *f = &m->funcs[m->nfuncs++];
    memset(f, 0, sizeof *f);
    f->addr = addr;
    f->size = size;
    f->name = sym_pool_strdup(m, name ? name : "");
    return f;
}

void sym_func_reserve(sym_module *m, sym_func *f, size_t nlines, size_t ninlines, size_t nranges)
{
    if (nlines && !f->lines && nlines <= SIZE_MAX / sizeof *f->lines) {
        f->lines = sym_pool_alloc(m, nlines * sizeof *f->lines, _Alignof(sym_line));
        f->lines_cap = nlines;
        f->lines_pooled = true;
    }
    if (ninlines && !f->inlines && ninlines <= SIZE_MAX / sizeof *f->inlines) {
        f->inlines = sym_pool_alloc(m, ninlines * sizeof *f->inlines, _Alignof(sym_inline));
        f->inlines_cap = ninlines;
        f->inlines_pooled = true;
    }
    if (nranges && !f->ranges && nranges <= SIZE_MAX / sizeof *f->ranges) {
        f->ranges = sym_pool_alloc(m, nranges * sizeof *f->ranges, _Alignof(sym_func_range));
        f->ranges_cap = nranges;
        f->ranges_pooled = true;
    }
}

/* Room for `more` after the n elements; a pooled array moves onto malloc
 * (the pool's copy is simply left). */
static void grow_array(void **p, size_t *cap, bool *pooled, size_t n, size_t more, size_t elem)
{
    if (more <= *cap - n)
        return;
    if (more > SIZE_MAX / 2 / elem - n)
        sk_xmalloc(SIZE_MAX); /* reports out of memory and aborts */
    if (*pooled) {
        void *old = *p;
        size_t c = *cap;
        *p = NULL;
        *cap = 0;
        sym_grow(p, cap, 0, c * 2 > n + more ? c * 2 : n + more, elem);
        if (n)
            memcpy(*p, old, n * elem);
        *pooled = false;
        return;
    }
    sym_grow(p, cap, n, n + more, elem);
}

void sym_func_add_line(sym_module *m, sym_func *f, uint64_t addr, uint32_t size, uint32_t line,
                       uint32_t file)
{
    (void)m;
    grow_array((void **)&f->lines, &f->lines_cap, &f->lines_pooled, f->nlines, 1, sizeof *f->lines);
    f->lines[f->nlines++] = (sym_line){.addr = addr, .size = size, .line = line, .file = file};
}

static size_t range_elem(const sym_func *f)
{
    return f->ranges_wide ? sizeof *f->wide_ranges : sizeof *f->ranges;
}

/* Turns the function's ranges into sym_ranges, keeping the room there was. */
static void widen_ranges(sym_func *f)
{
    size_t cap = f->ranges_cap; /* > 0: room for the range to come was made */
    if (cap > SIZE_MAX / sizeof(sym_range))
        sk_xmalloc(SIZE_MAX); /* reports out of memory and aborts */
    sym_range *w = sk_xmalloc(cap * sizeof *w);
    for (size_t i = 0; i < f->nranges; i++)
        w[i] = (sym_range){f->addr + f->ranges[i].off, f->ranges[i].size};
    if (!f->ranges_pooled)
        free(f->ranges);
    f->wide_ranges = w;
    f->ranges_cap = cap;
    f->ranges_pooled = false;
    f->ranges_wide = true;
}

sym_inline *sym_func_add_inline(sym_module *m, sym_func *f, uint32_t depth, uint32_t call_line,
                                uint32_t call_file, uint32_t origin, const sym_range *ranges,
                                uint32_t nranges)
{
    (void)m;
    grow_array((void **)&f->inlines, &f->inlines_cap, &f->inlines_pooled, f->ninlines, 1,
               sizeof *f->inlines);
    if (nranges)
        grow_array((void **)&f->ranges, &f->ranges_cap, &f->ranges_pooled, f->nranges, nranges,
                   range_elem(f));
    sym_inline *in = &f->inlines[f->ninlines++];
    in->depth = depth;
    in->call_line = call_line;
    in->call_file = call_file;
    in->origin = origin;
    uint64_t lo = f->addr, hi = sym_end(f->addr, f->size);
    size_t first = f->nranges, n = first;
    for (uint32_t i = 0; i < nranges; i++) {
        sym_range r = ranges[i];
        if (!sym_clip(&r, lo, hi))
            continue;
        /* Within the first 4 GiB both the offset and the size fit in 32
         * bits, and so does anything finalize merges such ranges into. */
        if (!f->ranges_wide && r.addr + r.size - lo > UINT32_MAX) {
            f->nranges = n;
            widen_ranges(f);
        }
        if (f->ranges_wide)
            f->wide_ranges[n++] = r;
        else
            f->ranges[n++] = (sym_func_range){(uint32_t)(r.addr - lo), (uint32_t)r.size};
    }
    in->nranges = (uint32_t)(n - first);
    f->nranges = n;
    return in;
}

void sym_module_add_info(sym_module *m, const char *text)
{
    sk_grow((void **)&m->info, &m->info_cap, m->ninfo + 1, sizeof *m->info);
    m->info[m->ninfo++] = sk_arena_strdup(m->arena, text ? text : "");
}

void sym_module_add_public(sym_module *m, uint64_t addr, const char *name)
{
    sym_grow((void **)&m->publics, &m->publics_cap, m->npublics, m->npublics + 1,
             sizeof *m->publics);
    m->publics[m->npublics++] = (sym_public){
        .addr = addr, .param_size = 0, .multiple = false,
        .name = sym_pool_strdup(m, name ? name : "")};
}

sym_cfi *sym_module_add_cfi_n(sym_module *m, uint64_t addr, uint64_t size, const char *init_rules, size_t len,
                              size_t nrows)
{
    sym_grow((void **)&m->cfi, &m->cfi_cap, m->ncfi, m->ncfi + 1, sizeof *m->cfi);
    sym_cfi *c = &m->cfi[m->ncfi++];
    memset(c, 0, sizeof *c);
    c->addr = addr;
    c->size = size;
    c->init_rules = sym_pool_rule_n(m, init_rules, len);
    if (nrows) {
        c->rows = sk_xmalloc(nrows * sizeof *c->rows); /* nrows rows exist already: no overflow */
        c->rows_cap = nrows;
    }
    return c;
}

sym_cfi *sym_module_add_cfi(sym_module *m, uint64_t addr, uint64_t size, const char *init_rules)
{
    const char *s = init_rules ? init_rules : "";
    return sym_module_add_cfi_n(m, addr, size, s, strlen(s), 0);
}

void sym_cfi_add_row_n(sym_module *m, sym_cfi *c, uint64_t addr, const char *rules, size_t len)
{
    if (c->nrows == c->rows_cap)
        sym_grow((void **)&c->rows, &c->rows_cap, c->nrows, c->nrows + 1, sizeof *c->rows);
    c->rows[c->nrows++] = (sym_cfi_row){.addr = addr, .rules = sym_pool_rule_n(m, rules, len)};
}

void sym_cfi_add_row(sym_module *m, sym_cfi *c, uint64_t addr, const char *rules)
{
    const char *s = rules ? rules : "";
    sym_cfi_add_row_n(m, c, addr, s, strlen(s));
}
