/* util.h — small helpers shared by the symfile tests. */
#ifndef SYMKIT_TEST_SYMFILE_UTIL_H
#define SYMKIT_TEST_SYMFILE_UTIL_H

#include "symfile.h"

#include <stdlib.h>
#include <string.h>

/* Writes m (as is) with opt into a malloc'd NUL-terminated string. */
static inline char *write_str(const sym_module *m, const sym_write_options *opt)
{
    sk_buf b;
    sk_buf_init(&b);
    sym_write_buf(m, opt, &b);
    char *s = sk_xstrndup(b.data ? b.data : "", b.len);
    sk_buf_free(&b);
    return s;
}

/* Reads text into a fresh module, finalizes it and writes it back. */
static inline char *reread(const char *text, sym_parse_stats *st)
{
    sym_module m;
    sk_error err;
    if (sym_module_read_mem(text, strlen(text), &m, st, &err) != SK_OK)
        return NULL;
    sym_module_finalize(&m, NULL);
    char *out = write_str(&m, NULL);
    sym_module_free(&m);
    return out;
}

static inline void header(sym_module *m)
{
    m->os = "Linux";
    m->arch = "x86_64";
    m->debug_id = "0123456789ABCDEF0123456789ABCDEF0";
    m->name = "libfoo.so";
}

#endif
