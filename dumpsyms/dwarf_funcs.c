/* dwarf_funcs.c — placeholder until the real collector lands. */
#include "collect.h"

int ds_collect_dwarf(ds_context *ctx, sk_error *err)
{
    (void)ctx;
    (void)err;
    return SK_OK;
}
