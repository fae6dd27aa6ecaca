/* names.c — the growable name lists that check and diff reports carry. */
#include <stdlib.h>
#include <string.h>

#include "verify.h"

void sv_names_add(sv_names *l, const char *s)
{
    sk_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n++] = sk_xstrdup(s);
}

void sv_names_free(sv_names *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    memset(l, 0, sizeof *l);
}
