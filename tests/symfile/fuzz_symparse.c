/* fuzz_symparse.c — fuzz target for the .sym parser, reader, finalize and
 * writer.  Built as a libFuzzer binary with clang (-fsanitize=fuzzer) and
 * linked into fuzz_corpus (a deterministic mutation run) everywhere else.
 *
 * Beyond "no crash" it checks the invariants the rest of symkit relies on:
 * whatever we read, finalize and write reads back without a bad line, and
 * read -> finalize -> write of that output is the identity. */
#include "symfile.h"

#include <stdlib.h>
#include <string.h>

static int count_rec(const sym_record *r, void *ctx)
{
    (void)r;
    (*(size_t *)ctx)++;
    return 0;
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_symparse: invariant broken: %s\n", what);
        abort();
    }
}

static char *rewrite(const char *data, size_t len, size_t *out_len, size_t *bad)
{
    sym_module m;
    sym_parse_stats st;
    sk_error err;
    if (sym_module_read_mem(data, len, &m, &st, &err) != SK_OK) {
        sym_module_free(&m);
        return NULL;
    }
    *bad = st.bad_lines;
    sym_module_finalize(&m, NULL);
    sk_buf b;
    sk_buf_init(&b);
    sym_write_buf(&m, NULL, &b);
    sym_module_free(&m);
    *out_len = b.len;
    if (!b.data)
        b.data = sk_xcalloc(1, 1);
    return b.data;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t n = 0;
    sym_parse_stats st;
    sk_error err;
    int rc = sym_parse((const char *)data, size, count_rec, NULL, &n, &st, &err);
    check(rc == SK_OK || rc == SK_EFORMAT, "sym_parse status");
    check(st.records == n, "record count");
    check(st.records + st.bad_lines <= st.lines, "line count");

    size_t len1, len2, bad;
    char *w1 = rewrite((const char *)data, size, &len1, &bad);
    check((w1 != NULL) == (rc == SK_OK), "reader and parser agree on the header");
    if (!w1)
        return 0;
    char *w2 = rewrite(w1, len1, &len2, &bad);
    check(w2 != NULL, "our output reads back");
    check(bad == 0, "our output has no bad line");
    check(len1 == len2 && memcmp(w1, w2, len1) == 0, "read-finalize-write is the identity");
    free(w1);
    free(w2);
    return 0;
}
