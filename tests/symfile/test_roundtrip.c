/* test_roundtrip.c — read -> finalize -> write gives back the bytes we
 * wrote; finalize is idempotent and deterministic; and all of it holds for a
 * large synthetic module (timings are printed, never asserted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "util.h"

static uint64_t rng;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

/* A synthetic module shaped like a big C++ library: nfuncs FUNCs with about
 * lines_per lines each, inlines, publics (some covered by FUNCs), CFI,
 * some folded and overlapping functions, names with spaces. */
static void build_big(sym_module *m, size_t nfuncs, size_t lines_per, uint64_t seed)
{
    sym_module_init(m);
    m->os = "Linux";
    m->arch = "x86_64";
    m->debug_id = "F00DF00DF00DF00DF00DF00DF00DF00D0";
    m->name = "libbig.so";
    m->code_id = "0df00df00df00df00df00df00df00df0aabbccdd";
    m->code_file = "libbig.so";
    m->generator = "symkit " SK_VERSION;
    rng = seed;
    uint32_t nfiles = 2000, norig = 3000;
    for (uint32_t i = 0; i < nfiles; i++) {
        char p[64];
        snprintf(p, sizeof p, "/build/src/dir%u/file %u.cc", i % 37, i);
        sym_module_add_file(m, p);
    }
    for (uint32_t i = 0; i < norig; i++) {
        char p[64];
        snprintf(p, sizeof p, "ns%u::inl<int>(char const*, %u)", i % 11, i);
        sym_module_add_origin(m, p);
    }
    uint64_t addr = 0x10000, prev = addr;
    for (size_t i = 0; i < nfuncs; i++) {
        uint64_t size = lines_per * 6 + rnd() % 64;
        char name[80];
        snprintf(name, sizeof name, "ns%zu::Class::method(int, std::string const&) const", i);
        /* every 97th function folds onto the previous one, every 89th
         * starts inside it */
        uint64_t faddr = (i % 97 == 96) ? prev : (i % 89 == 88) ? prev + 8 : addr;
        prev = faddr;
        sym_func *f = sym_module_add_func(m, faddr, size, name);
        f->param_size = (uint32_t)(i % 5);
        uint64_t la = faddr;
        uint32_t file = rnd() % nfiles;
        for (size_t l = 0; l < lines_per && la < faddr + size; l++) {
            uint32_t ls = 1 + rnd() % 11;
            sym_func_add_line(m, f, la, ls, 1 + rnd() % 5000, (l % 7) ? file : rnd() % nfiles);
            la += ls;
        }
        if (i % 3 == 0) {
            sym_range r[2] = {{faddr + 4, 8}, {faddr + 20, 12}};
            sym_func_add_inline(m, f, 0, 10, file, rnd() % norig, r, 2);
            sym_func_add_inline(m, f, 1, 11, file, rnd() % norig, r, 1);
        }
        if (i % 10 == 0)
            sym_module_add_public(m, faddr + size + 4, "_ZL10local_pubv");
        if (i % 50 == 0)
            sym_module_add_public(m, faddr + 2, "covered");
        sym_cfi *c = sym_module_add_cfi(m, faddr, size, ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
        sym_cfi_add_row(m, c, faddr + 1, ".cfa: $rsp 16 + $rbp: .cfa -16 + ^");
        sym_cfi_add_row(m, c, faddr + 4, ".cfa: $rbp 16 +");
        addr += size + 16 + (rnd() % 4) * 16;
    }
}

static void round_trip(const char *text, size_t len)
{
    sym_module m;
    sym_parse_stats st;
    sk_error err;
    assert_int_equal(sym_module_read_mem(text, len, &m, &st, &err), SK_OK);
    assert_int_equal(st.bad_lines, 0);
    sym_finalize_stats fs;
    sym_module_finalize(&m, &fs);
    assert_int_equal(fs.funcs_folded + fs.funcs_trimmed + fs.lines_dropped + fs.publics_dropped +
                         fs.cfi_dropped,
                     0);
    sk_buf b;
    sk_buf_init(&b);
    sym_write_buf(&m, NULL, &b);
    assert_int_equal(b.len, len);
    assert_memory_equal(b.data, text, len);
    sk_buf_free(&b);
    sym_module_free(&m);
}

static void test_roundtrip_small(void **state)
{
    (void)state;
    sym_module m;
    build_big(&m, 300, 12, 7);
    sym_module_finalize(&m, NULL);
    char *s = write_str(&m, NULL);
    round_trip(s, strlen(s));
    free(s);
    sym_module_free(&m);
}

/* Through a real file: sym_write, then sym_module_read by path. */
static void test_roundtrip_file(void **state)
{
    (void)state;
    sym_module m;
    build_big(&m, 200, 8, 9);
    sym_module_finalize(&m, NULL);
    const char *path = "symfile_roundtrip_test.sym"; /* meson runs us in the build dir */
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    sk_error err;
    assert_int_equal(sym_write(&m, NULL, fp, &err), SK_OK);
    fclose(fp);
    char *want = write_str(&m, NULL);
    sym_module_free(&m);
    sym_parse_stats st;
    assert_int_equal(sym_module_read(path, &m, &st, &err), SK_OK);
    assert_int_equal(st.bad_lines, 0);
    sym_module_finalize(&m, NULL);
    char *got = write_str(&m, NULL);
    assert_string_equal(got, want);
    free(got);
    free(want);
    sym_module_free(&m);
    remove(path);
}

/* The same content built twice gives the same bytes, and finalize of a
 * finalized module is a no-op. */
static void test_deterministic_idempotent(void **state)
{
    (void)state;
    sym_module a, b;
    build_big(&a, 2000, 10, 11);
    build_big(&b, 2000, 10, 11);
    sym_finalize_stats st;
    sym_module_finalize(&a, &st);
    assert_true(st.funcs_folded > 0);
    assert_true(st.funcs_trimmed > 0);
    assert_true(st.lines_dropped > 0);
    assert_true(st.publics_dropped > 0);
    sym_module_finalize(&b, NULL);
    char *sa = write_str(&a, NULL), *sb = write_str(&b, NULL);
    assert_string_equal(sa, sb);
    sym_module_finalize(&a, &st);
    char *sa2 = write_str(&a, NULL);
    assert_string_equal(sa, sa2);
    free(sa);
    free(sb);
    free(sa2);
    sym_module_free(&a);
    sym_module_free(&b);
}

static void test_roundtrip_large(void **state)
{
    (void)state;
    sym_module m;
    double t0 = sk_now();
    build_big(&m, 50000, 10, 1);
    double t1 = sk_now();
    sym_module_finalize(&m, NULL);
    double t2 = sk_now();
    size_t nlines = 0;
    for (size_t i = 0; i < m.nfuncs; i++)
        nlines += m.funcs[i].nlines;
    assert_true(m.nfuncs > 49000);
    assert_true(nlines > 450000);
    sk_buf b;
    sk_buf_init(&b);
    sym_write_buf(&m, NULL, &b);
    double t3 = sk_now();
    size_t m_nfuncs = m.nfuncs;
    sym_module_free(&m);
    round_trip(b.data, b.len);
    double t4 = sk_now();
    printf("# large module: %zu FUNCs, %zu line records, %.1f MB of .sym\n"
           "# build %.2fs, finalize %.2fs, write %.2fs, read+finalize+write %.2fs\n",
           m_nfuncs, nlines, b.len / 1e6, t1 - t0, t2 - t1, t3 - t2, t4 - t3);
    sk_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_small),
        cmocka_unit_test(test_roundtrip_file),
        cmocka_unit_test(test_deterministic_idempotent),
        cmocka_unit_test(test_roundtrip_large),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
