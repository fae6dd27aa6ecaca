/*
 * minidebuginfo.c — .gnu_debugdata (MiniDebugInfo, as Fedora and Android
 * ship it): an xz-compressed ELF whose .symtab holds the local function
 * symbols a stripped binary lost.  We only read its symbol table.
 */
#include <lzma.h>
#include <stdlib.h>
#include <string.h>

#include "elf_object.h"

/* A real MiniDebugInfo is a few hundred KB; refuse decompression bombs. */
#define MAX_MINIDEBUG ((uint64_t)512 << 20)

int ds_open_minidebuginfo(ds_object *bin, ds_object *out, sk_error *err)
{
    memset(out, 0, sizeof *out);
    ds_section *sec = ds_object_section(bin, ".gnu_debugdata");
    if (!sec || (sec->flags & DS_SEC_NOBITS) || sec->raw_size == 0)
        return sk_fail(err, SK_ENOTFOUND, "%s: no .gnu_debugdata", bin->path);

    lzma_stream zs = LZMA_STREAM_INIT;
    if (lzma_stream_decoder(&zs, MAX_MINIDEBUG, LZMA_CONCATENATED) != LZMA_OK)
        return sk_fail(err, SK_ENOMEM, "%s: .gnu_debugdata: cannot start the xz decoder", bin->path);
    size_t cap = sec->raw_size * 4 + 4096, len = 0;
    uint8_t *buf = sk_xmalloc(cap);
    zs.next_in = sec->raw;
    zs.avail_in = sec->raw_size;
    lzma_ret r = LZMA_OK;
    while (r == LZMA_OK) {
        if (len == cap) {
            if (cap >= MAX_MINIDEBUG) {
                r = LZMA_MEMLIMIT_ERROR;
                break;
            }
            cap *= 2;
            buf = sk_xrealloc(buf, cap);
        }
        zs.next_out = buf + len;
        zs.avail_out = cap - len;
        r = lzma_code(&zs, LZMA_FINISH);
        len = cap - zs.avail_out;
    }
    lzma_end(&zs);
    if (r != LZMA_STREAM_END) {
        free(buf);
        return sk_fail(err, SK_EFORMAT, "%s: .gnu_debugdata: corrupt xz data (liblzma error %d)",
                       bin->path, (int)r);
    }
    char name[4200];
    snprintf(name, sizeof name, "%s[.gnu_debugdata]", bin->path);
    int rc = ds_object_open_mem(out, name, buf, len, err);
    if (rc) {
        ds_object_close(out);
        return rc;
    }
    return SK_OK;
}
