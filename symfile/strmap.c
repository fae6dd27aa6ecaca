/* strmap.c — a small open-addressing string map (FNV-1a), used to merge
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
    memset(t, 0, sizeof *t);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void rehash(sym_strmap *t, size_t cap)
{
    const char **keys = sk_xcalloc(cap, sizeof *keys);
    uint32_t *vals = sk_xcalloc(cap, sizeof *vals);
    for (size_t i = 0; i < t->cap; i++) {
        if (!t->keys[i])
            continue;
        size_t j = (size_t)hash_str(t->keys[i]) & (cap - 1);
        while (keys[j])
            j = (j + 1) & (cap - 1);
        keys[j] = t->keys[i];
        vals[j] = t->vals[i];
    }
    free(t->keys);
    free(t->vals);
    t->keys = keys;
    t->vals = vals;
    t->cap = cap;
}

uint32_t sym_strmap_intern(sym_strmap *t, const char *s, uint32_t id, bool *added)
{
    if ((t->n + 1) * 2 > t->cap)
        rehash(t, t->cap ? t->cap * 2 : 64);
    size_t j = (size_t)hash_str(s) & (t->cap - 1);
    while (t->keys[j]) {
        if (strcmp(t->keys[j], s) == 0) {
            if (added)
                *added = false;
            return t->vals[j];
        }
        j = (j + 1) & (t->cap - 1);
    }
    t->keys[j] = s;
    t->vals[j] = id;
    t->n++;
    if (added)
        *added = true;
    return id;
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
