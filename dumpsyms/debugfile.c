/* debugfile.c — placeholder until separate debug file search lands. */
#include "collect.h"

int ds_find_debug_file(ds_object *bin, const ds_options *opt, char **path, sk_error *err)
{
    (void)opt;
    *path = NULL;
    return sk_fail(err, SK_ENOTFOUND, "%s: no separate debug file found", bin->path);
}
