/* strmap.c — a small open-addressing string map (hashes kept), used to merge
 * equal FILE paths / INLINE_ORIGIN names, and the INFO CODE_ID splitter. */
#include "symfile_int.h"

#include <stdlib.h>
#include <string.h>

void sym_strmap_init(sym_strmap *t)
{
    memset(t, 0, sizeof *t);
}

void sym_strmap_free(sym_strmap *t)
{
    free(t->keys);
    free(t->vals);
    free(t->hashes);
    memset(t, 0, sizeof *t);
}

/* Eight bytes at a step: inline origin names of C++ templates run to
 * hundreds of bytes, and finalize hashes each one. */
static uint64_t hash_str(const char *s)
{
    size_t n = strlen(s);
    uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
    for (; n >= 8; n -= 8, s += 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xFF51AFD7ED558CCDull;
        h ^= h >> 32;
    }
    uint64_t w = 0;
    memcpy(&w, s, n);
    h = (h ^ w) * 0xC4CEB9FE1A85EC53ull;
    return h ^ (h >> 29);
}

static void rehash(sym_strmap *t, size_t cap)
{
    const char **keys = sk_xcalloc(cap, sizeof *keys);
    uint32_t *vals = sk_xcalloc(cap, sizeof *vals);
    uint64_t *hashes = sk_xcalloc(cap, sizeof *hashes);
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->keys[i])
            continue;
        size_t j = (size_t)t->hashes[i] & (cap - 1);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = t->keys[i];
        vals[j] = t->vals[i];
        hashes[j] = t->hashes[i];
    }
    free(t->keys);
    free(t->vals);
    free(t->hashes);
    t->keys = keys;
    t->vals = vals;
    t->hashes = hashes;
    t->cap = cap;
}

uint32_t sym_strmap_intern(sym_strmap *t, const char *s, uint32_t id, bool *added)
{
    if ((t->n + 1) * 2 > t->cap)
        rehash(t, t->cap ? t->cap * 2 : 64);
    uint64_t h = hash_str(s);
    size_t j = (size_t)h & (t->cap - 1);
    while (t->keys[j]) {
        if (t->hashes[j] == h && strcmp(t->keys[j], s) == 0) {
            if (added)
                *added = false;
            return t->vals[j];
        }
        j = (j + 1) & (t->cap - 1);
    }
    t->keys[j] = s;
    t->vals[j] = id;
    t->hashes[j] = h;
    t->n++;
    if (added)
        *added = true;
    return id;
}

const char *sym_strmap_find(const sym_strmap *t, const char *s)
{
    if (!t->cap)
        return NULL;
    uint64_t h = hash_str(s);
    for (size_t j = (size_t)h & (t->cap - 1); t->keys[j]; j = (j + 1) & (t->cap - 1))
        if (t->hashes[j] == h && strcmp(t->keys[j], s) == 0)
            return t->keys[j];
    return NULL;
}

bool sym_split_code_id(const char *text, size_t *id_len, const char **file)
{
    if (strncmp(text, "CODE_ID ", 8) != 0)
        return false;
    const char *id = text + 8;
    size_t n = strcspn(id, " ");
    if (n == 0)
        return false;
    *id_len = n;
    *file = (id[n] == ' ' && id[n + 1]) ? id + n + 1 : NULL;
    return true;
}
