/* demangler.c — libiberty's demangler behind one call. */
#include "demangler.h"

#include <demangle.h>
#include <stdlib.h>
#include <string.h>

char *ds_demangle(const char *name, sk_arena *arena)
{
    if (!name || !(name[0] == '_' && (name[1] == 'Z' || name[1] == 'R')))
        return NULL;
    /* DMGL_AUTO recognises C++ and both Rust manglings; DMGL_PARAMS keeps
     * argument lists so overloads stay apart, as in c++filt. */
    char *d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
    if (!d)
        return NULL;
    char *out = sk_arena_strdup(arena, d);
    free(d);
    return out;
}
