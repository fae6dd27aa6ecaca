/* memory.c — allocation that never returns NULL, and arenas.
 *
 * Arenas hold the many small strings and arrays of one module (or one DWARF
 * compilation unit) so they are released together, keeping peak memory flat
 * per unit of work rather than per binary. */
#include "common.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

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

void sk_grow(void **p, size_t *cap, size_t need, size_t elem)
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
