/* pool.c — the model's own memory: the line, INLINE and range arrays a
 * producer sized exactly (sym_func_reserve), every string the builders
 * copy, and the one copy of each distinct STACK CFI rule string.
 *
 * Why: a malloc per function's arrays costs a header and a call each, and
 * STACK CFI rules repeat endlessly (ceph-osd: 266,313 rows, 608 distinct
 * rule strings), so each is stored once.  Chunks come from malloc: tried with
 * pages of their own (mmap), ceph-osd --inlines peaked 15-30 MB higher,
 * because the model no longer filled the holes the units' short-lived
 * buffers leave in the worker threads' heaps. */
#include "symfile_int.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_CHUNK (16u << 10)
#define LAST_CHUNK (4u << 20)

typedef struct pool_chunk {
    struct pool_chunk *next;
    size_t size, used; /* of data */
    _Alignas(16) unsigned char data[];
} pool_chunk;

/* An interned rule string; hash and len let a probe skip most compares. */
typedef struct rule_slot {
    const char *s; /* NULL: free */
    uint64_t hash;
    size_t len;
} rule_slot;

struct sym_pool {
    pool_chunk *head;
    size_t next_size;
    rule_slot *rules; /* STACK CFI rule strings, interned; open addressing */
    size_t rules_cap, nrules;
};

static pool_chunk *chunk_new(size_t size)
{
    pool_chunk *c = sk_xmalloc(sizeof(pool_chunk) + size);
    c->next = NULL;
    c->size = size;
    c->used = 0;
    return c;
}

/* The module's pool, made on first use. */
static sym_pool *pool_of(sym_module *m)
{
    if (!m->pool) {
        m->pool = sk_xcalloc(1, sizeof *m->pool);
        m->pool->next_size = FIRST_CHUNK;
    }
    return m->pool;
}

void *sym_pool_alloc(sym_module *m, size_t n, size_t align)
{
    sym_pool *p = pool_of(m);
    if (n == 0)
        n = 1;
    pool_chunk *c = p->head;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (c && at <= c->size && c->size - at >= n) {
        c->used = at + n;
        return c->data + at;
    }
    if (n > p->next_size / 4) {
        /* Big enough to waste much of a fresh chunk: one of its own, kept
         * behind the head so that the head goes on filling. */
        if (n > SIZE_MAX - sizeof(pool_chunk))
            sk_xmalloc(SIZE_MAX); /* reports out of memory and aborts */
        pool_chunk *big = chunk_new(n);
        big->used = n;
        if (c) {
            big->next = c->next;
            c->next = big;
        } else {
            p->head = big;
        }
        return big->data;
    }
    pool_chunk *fresh = chunk_new(p->next_size);
    if (p->next_size < LAST_CHUNK)
        p->next_size *= 2;
    fresh->next = c;
    p->head = fresh;
    fresh->used = n;
    return fresh->data;
}

char *sym_pool_strdup(sym_module *m, const char *s)
{
    size_t n = strlen(s);
    char *d = sym_pool_alloc(m, n + 1, 1);
    memcpy(d, s, n + 1);
    return d;
}

/* A hash of the n bytes at s, a word at a step: rules are a few words
 * long, and every STACK CFI row is looked up (libLLVM: over a million). */
static uint64_t rule_hash(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15ull * (n + 1), w = 0;
    if (n < 8) {
        for (size_t i = 0; i < n; i++)
            w = w << 8 | (unsigned char)s[i];
    } else {
        for (size_t i = 0; i + 8 < n; i += 8) {
            memcpy(&w, s + i, 8);
            h = (h ^ w) * 0xFF51AFD7ED558CCDull;
            h ^= h >> 32;
        }
        memcpy(&w, s + n - 8, 8); /* the last word, overlapping the one before */
    }
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
}

static void rules_rehash(sym_pool *p)
{
    size_t cap = p->rules_cap ? p->rules_cap * 2 : 256;
    rule_slot *t = sk_xcalloc(cap, sizeof *t);
    for (size_t i = 0; i < p->rules_cap; i++) {
        if (!p->rules[i].s)
            continue;
        size_t j = (size_t)p->rules[i].hash & (cap - 1);
        while (t[j].s)
            j = (j + 1) & (cap - 1);
        t[j] = p->rules[i];
    }
    free(p->rules);
    p->rules = t;
    p->rules_cap = cap;
}

const char *sym_pool_rule_n(sym_module *m, const char *s, size_t n)
{
    sym_pool *p = pool_of(m);
    if ((p->nrules + 1) * 2 > p->rules_cap)
        rules_rehash(p);
    uint64_t h = rule_hash(s, n);
    size_t mask = p->rules_cap - 1, j = (size_t)h & mask;
    for (; p->rules[j].s; j = (j + 1) & mask) {
        const rule_slot *r = &p->rules[j];
        if (r->hash == h && r->len == n && memcmp(r->s, s, n) == 0)
            return r->s;
    }
    char *d = sym_pool_alloc(m, n + 1, 1);
    memcpy(d, s, n);
    d[n] = '\0';
    p->rules[j] = (rule_slot){d, h, n};
    p->nrules++;
    return d;
}

const char *sym_pool_rule(sym_module *m, const char *s)
{
    return sym_pool_rule_n(m, s, strlen(s));
}

void sym_pool_free(sym_pool *p)
{
    if (!p)
        return;
    for (pool_chunk *c = p->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(p->rules);
    free(p);
}
