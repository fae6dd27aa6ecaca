/* symfile_int.h — helpers shared by the symfile sources (not public). */
#ifndef SYMKIT_SYMFILE_INT_H
#define SYMKIT_SYMFILE_INT_H

#include "symfile.h"

#define SYM_NAME_OMITTED "<name omitted>"

/* End of [addr, addr+size), saturating instead of wrapping past 2^64. */
static inline uint64_t sym_end(uint64_t addr, uint64_t size)
{
    return size > UINT64_MAX - addr ? UINT64_MAX : addr + size;
}

/* Clips *r to [lo, hi); false when nothing of it is left. */
static inline bool sym_clip(sym_range *r, uint64_t lo, uint64_t hi)
{
    uint64_t a = r->addr > lo ? r->addr : lo;
    uint64_t e = sym_end(r->addr, r->size);
    if (e > hi)
        e = hi;
    if (e <= a)
        return false;
    *r = (sym_range){a, e - a};
    return true;
}

/* sk_grow without realloc: glibc's realloc grows a block in place by
 * splitting a large free neighbour, and with MALLOC_PERTURB_ set (meson test
 * sets it) it then memsets the whole remainder: tens of MB per call when a
 * big module was freed just before.  malloc + copy + free never does. */
void sym_grow(void **p, size_t *cap, size_t n, size_t need, size_t elem);

/* A string -> id hash map over borrowed strings (finalize merges equal FILE
 * paths and INLINE_ORIGIN names with it). */
typedef struct sym_strmap {
    const char **keys;
    uint32_t *vals;
    uint64_t *hashes;
    size_t cap, n;
} sym_strmap;

void sym_strmap_init(sym_strmap *t);
void sym_strmap_free(sym_strmap *t);
/* Returns the id stored for s, or stores and returns id when s is new. */
uint32_t sym_strmap_intern(sym_strmap *t, const char *s, uint32_t id, bool *added);
/* The stored key equal to s, NULL when there is none. */
const char *sym_strmap_find(const sym_strmap *t, const char *s);

/* The module's pool (pool.c): memory freed only with the module.  align is
 * a power of two up to 16; the memory is not zeroed. */
typedef struct sym_pool sym_pool;
void *sym_pool_alloc(sym_module *m, size_t n, size_t align);
char *sym_pool_strdup(sym_module *m, const char *s);
/* The module's one copy of a STACK CFI rule string (a big module has
 * hundreds of thousands of rows but a few hundred distinct rules). */
const char *sym_pool_rule(sym_module *m, const char *s);
/* The same for the n bytes at s (no NUL needed). */
const char *sym_pool_rule_n(sym_module *m, const char *s, size_t n);
void sym_pool_free(sym_pool *p);

/* Frees a function's line and INLINE arrays (pooled or not). */
void sym_func_release(sym_func *f);

/* Splits the text after "INFO " when it is "CODE_ID <id>[ <code_file>]"
 * with a non-empty id: *id_len is the id's length, *file the code file (NULL
 * when absent or empty).  The reader and finalize share it so that what one
 * writes the other reads back the same way. */
bool sym_split_code_id(const char *text, size_t *id_len, const char **file);

#endif
