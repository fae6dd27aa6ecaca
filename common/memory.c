/* memory.c — allocation that never returns NULL, and arenas.
 *
 * Arenas hold the many small strings and arrays of one module (or one DWARF
 * compilation unit) so they are released together, keeping peak memory flat
 * per unit of work rather than per binary. */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void out_of_memory(size_t n)
{
    fprintf(stderr, "symkit: out of memory allocating %zu bytes\n", n);
    abort();
}

void *sk_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *sk_xmap(size_t n)
{
    void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        out_of_memory(n);
    return p;
}

void sk_xunmap(void *p, size_t n)
{
    if (p)
        munmap(p, n ? n : 1);
}

/* ---- page pool ---------------------------------------------------------- */

/* Pool memory is mapped by hand, so AddressSanitizer knows nothing of it:
 * the bytes of a buffer past what its user asked for are poisoned, so
 * that reading past a unit's end is caught as it would be in a buffer of
 * the unit's own size. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SK_POOL_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define SK_POOL_ASAN 1
#endif
#ifdef SK_POOL_ASAN
#include <sanitizer/asan_interface.h>
#define POOL_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define POOL_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define POOL_POISON(p, n) ((void)(p), (void)(n))
#define POOL_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* Free buffers kept, and the most bytes they may hold between them: the
 * reader takes one as the merger gives one back, so few wait at a time,
 * and whatever waits is resident on top of what is in use. */
#define POOL_KEEP 2
#define POOL_KEEP_BYTES ((size_t)16 << 20)
/* Transparent huge pages for buffers of this much and more. */
#define POOL_HUGE ((size_t)2 << 20)

struct sk_page_pool {
    pthread_mutex_t mu;
    size_t page;
    size_t nfree, free_bytes;
    sk_pages free[POOL_KEEP];
};

sk_page_pool *sk_page_pool_new(void)
{
    sk_page_pool *pool = sk_xcalloc(1, sizeof *pool);
    pthread_mutex_init(&pool->mu, NULL);
    long page = sysconf(_SC_PAGESIZE);
    pool->page = page > 0 ? (size_t)page : 4096;
    return pool;
}

/* The free buffer closest to `need` bytes: the smallest of those big
 * enough, else the biggest; -1 when there is none. */
static int pool_pick(const sk_page_pool *pool, size_t need)
{
    int best = -1;
    for (size_t i = 0; i < pool->nfree; i++) {
        size_t c = pool->free[i].cap;
        if (best < 0) {
            best = (int)i;
            continue;
        }
        size_t bc = pool->free[best].cap;
        if (bc >= need ? c >= need && c < bc : c > bc)
            best = (int)i;
    }
    return best;
}

/* Fresh pages for a big buffer start on a huge-page boundary and are
 * asked for in huge pages: one fault per 2 MB of it instead of 512.  The
 * kernel puts a huge page only where 2 MB lie wholly inside the mapping,
 * and the mapping is never bigger than what its user asked for (rounded
 * to a page), so this adds nothing to the resident set. */
static uint8_t *pool_map(size_t need)
{
#ifdef MADV_HUGEPAGE
    if (need >= POOL_HUGE) {
        uint8_t *raw = sk_xmap(need + POOL_HUGE);
        uint8_t *p = (uint8_t *)(((uintptr_t)raw + POOL_HUGE - 1) & ~(uintptr_t)(POOL_HUGE - 1));
        size_t lead = (size_t)(p - raw);
        if (lead)
            munmap(raw, lead);
        munmap(p + need, POOL_HUGE - lead);
        madvise(p, need, MADV_HUGEPAGE); /* advice only: failure changes nothing */
        return p;
    }
#endif
    return sk_xmap(need);
}

/* pg's mapping made exactly `need` bytes: a shrink hands the pages past
 * it back to the system; a growth keeps the pages it has (moved, not
 * copied: the contents need not survive, the warm pages are the point). */
static void pool_resize(sk_pages *pg, size_t need)
{
    if (pg->cap == need)
        return;
    /* A given-back buffer is poisoned whole: whatever part of the range the
     * resize releases or moves away from must not stay poisoned, or a later
     * mapping at that address (a file, another thread's buffer) reads as
     * poisoned to AddressSanitizer.  sk_page_pool_take poisons the new tail. */
    POOL_UNPOISON(pg->p, pg->cap);
#ifdef MREMAP_MAYMOVE
    void *q = mremap(pg->p, pg->cap, need, MREMAP_MAYMOVE);
    if (q == MAP_FAILED)
        out_of_memory(need);
    pg->p = q;
#else
    if (need < pg->cap) {
        sk_xunmap(pg->p + need, pg->cap - need);
    } else {
        sk_xunmap(pg->p, pg->cap);
        pg->p = pool_map(need);
    }
#endif
    pg->cap = need;
}

sk_pages sk_page_pool_take(sk_page_pool *pool, size_t n)
{
    if (n > SIZE_MAX - pool->page)
        out_of_memory(n);
    size_t need = ((n ? n : 1) + pool->page - 1) & ~(pool->page - 1);
    sk_pages pg = {0};
    pthread_mutex_lock(&pool->mu);
    int i = pool_pick(pool, need);
    if (i >= 0) {
        pg = pool->free[i];
        pool->free_bytes -= pg.cap;
        pool->free[i] = pool->free[--pool->nfree];
    }
    pthread_mutex_unlock(&pool->mu);
    if (pg.p) {
        pool_resize(&pg, need);
    } else {
        pg.p = pool_map(need);
        pg.cap = need;
    }
    pg.n = n;
    POOL_UNPOISON(pg.p, n);
    POOL_POISON(pg.p + n, pg.cap - n);
    return pg;
}

void sk_page_pool_give(sk_page_pool *pool, sk_pages *pg)
{
    if (!pg->p)
        return;
    POOL_POISON(pg->p, pg->cap);
    pthread_mutex_lock(&pool->mu);
    bool kept = pool->nfree < POOL_KEEP && pg->cap <= POOL_KEEP_BYTES - pool->free_bytes;
    if (kept) {
        pool->free[pool->nfree++] = *pg;
        pool->free_bytes += pg->cap;
    }
    pthread_mutex_unlock(&pool->mu);
    if (!kept) {
        POOL_UNPOISON(pg->p, pg->cap);
        sk_xunmap(pg->p, pg->cap);
    }
    memset(pg, 0, sizeof *pg);
}

void sk_page_pool_free(sk_page_pool *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->nfree; i++) {
        POOL_UNPOISON(pool->free[i].p, pool->free[i].cap);
        sk_xunmap(pool->free[i].p, pool->free[i].cap);
    }
    pthread_mutex_destroy(&pool->mu);
    free(pool);
}

void *sk_xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *sk_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

void sk_grow_to(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t c = *cap ? *cap : 8;
    while (c < need) {
        if (c > SIZE_MAX / 2 / elem)
            out_of_memory(SIZE_MAX);
        c *= 2;
    }
    *p = sk_xrealloc(*p, c * elem);
    *cap = c;
}

char *sk_xstrdup(const char *s)
{
    return sk_xstrndup(s, strlen(s));
}

char *sk_xstrndup(const char *s, size_t n)
{
    char *d = sk_xmalloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

/* Chunks grow geometrically up to 1 MiB; big requests get a chunk of their own. */
typedef struct arena_chunk {
    struct arena_chunk *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} arena_chunk;

struct sk_arena {
    arena_chunk *head;
    size_t total;
};

sk_arena *sk_arena_create(void)
{
    return sk_xcalloc(1, sizeof(sk_arena));
}

/* n bytes aligned to align (a power of two up to 16), not zeroed. */
static void *arena_take(sk_arena *a, size_t n, size_t align)
{
    arena_chunk *c = a->head;
    size_t at = c ? (c->used + align - 1) & ~(align - 1) : 0;
    if (!c || at > c->size || c->size - at < n) {
        size_t size = c ? c->size * 2 : 4096;
        if (size > (1u << 20))
            size = 1u << 20;
        if (size < n)
            size = n;
        arena_chunk *fresh = sk_xmalloc(sizeof(arena_chunk) + size);
        fresh->used = 0;
        fresh->size = size;
        if (c && size == n && c->size - c->used > 256) {
            /* An oversized request: keep filling the current chunk after it. */
            fresh->next = c->next;
            c->next = fresh;
            c = fresh;
        } else {
            fresh->next = c;
            a->head = fresh;
            c = fresh;
        }
        a->total += size;
        at = 0;
    }
    void *p = c->data + at;
    c->used = at + n;
    return p;
}

void *sk_arena_alloc(sk_arena *a, size_t n)
{
    void *p = arena_take(a, n ? n : 1, 16);
    memset(p, 0, n);
    return p;
}

/* Strings need no alignment: packing them saves about 8 bytes a string,
 * and a .sym model holds millions. */
char *sk_arena_strndup(sk_arena *a, const char *s, size_t n)
{
    char *d = arena_take(a, n + 1, 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *sk_arena_strdup(sk_arena *a, const char *s)
{
    return s ? sk_arena_strndup(a, s, strlen(s)) : NULL;
}

char *sk_arena_concat(sk_arena *a, const char *x, const char *y, const char *z)
{
    size_t nx = x ? strlen(x) : 0, ny = y ? strlen(y) : 0, nz = z ? strlen(z) : 0;
    char *d = arena_take(a, nx + ny + nz + 1, 1);
    if (nx)
        memcpy(d, x, nx);
    if (ny)
        memcpy(d + nx, y, ny);
    if (nz)
        memcpy(d + nx + ny, z, nz);
    d[nx + ny + nz] = '\0';
    return d;
}

char *sk_arena_printf(sk_arena *a, const char *fmt, ...)
{
    /* Most names fit in a stack buffer: format once there, again only when
     * the result is longer. */
    char small[256];
    if (!fmt) /* never true; tells gcc's sanitizer builds fmt is not NULL */
        return sk_arena_strdup(a, "");
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    char *d = sk_arena_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof small) {
        memcpy(d, small, (size_t)n + 1);
    } else {
        va_start(ap, fmt);
        vsnprintf(d, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    return d;
}

size_t sk_arena_bytes(const sk_arena *a)
{
    return a ? a->total : 0;
}

void sk_arena_destroy(sk_arena *a)
{
    if (!a)
        return;
    arena_chunk *c = a->head;
    while (c) {
        arena_chunk *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}
