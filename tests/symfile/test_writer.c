/* test_writer.c — golden output of the .sym writer and its options. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "util.h"

/* A module with one of everything, built in canonical form already. */
static void build(sym_module *m)
{
    sym_module_init(m);
    header(m);
    m->code_id = "0123456789abcdef";
    m->code_file = "libfoo.so";
    m->generator = "symkit 0.1.0";
    sk_grow((void **)&m->info, &m->info_cap, 1, sizeof *m->info);
    m->info[m->ninfo++] = "URL https://example.com/x y";
    uint32_t a = sym_module_add_file(m, "/src/a.c");
    uint32_t b = sym_module_add_file(m, "/src/b with space.h");
    uint32_t o = sym_module_add_origin(m, "inlined_thing(int)");
    sym_module_add_public(m, 0x10, "_init");
    sym_func *f = sym_module_add_func(m, 0x1000, 0x2a, "main");
    sym_func_add_line(m, f, 0x1000, 4, 10, a);
    sym_func_add_line(m, f, 0x1004, 0x26, 11, b);
    sym_range r[2] = {{0x1004, 8}, {0x1010, 2}};
    sym_func_add_inline(m, f, 0, 11, a, o, r, 2);
    f = sym_module_add_func(m, 0x2000, 0x10, "ns::C<int>::op() const");
    f->multiple = true;
    f->param_size = 8;
    sym_func_add_line(m, f, 0x2000, 0x10, 4000000000u, b);
    sym_module_add_public(m, 0x3000, "exported_asm");
    m->publics[1].multiple = true;
    sym_cfi *c = sym_module_add_cfi(m, 0x1000, 0x2a, ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
    sym_cfi_add_row(m, c, 0x1001, ".cfa: $rsp 16 + $rbp: .cfa -16 + ^");
    sym_cfi_add_row(m, c, 0x1004, ".cfa: $rbp 16 +");
    sk_grow((void **)&m->stack_win, &m->stack_win_cap, 1, sizeof *m->stack_win);
    m->stack_win[m->nstack_win++].text = "4 1000 2a 0 0 0 0 0 0 1 $T0 .raSearch =";
}

static const char golden[] =
    "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libfoo.so\n"
    "INFO CODE_ID 0123456789abcdef libfoo.so\n"
    "INFO GENERATOR symkit 0.1.0\n"
    "INFO URL https://example.com/x y\n"
    "FILE 0 /src/a.c\n"
    "FILE 1 /src/b with space.h\n"
    "INLINE_ORIGIN 0 inlined_thing(int)\n"
    "PUBLIC 10 0 _init\n"
    "FUNC 1000 2a 0 main\n"
    "INLINE 0 11 0 0 1004 8 1010 2\n"
    "1000 4 10 0\n"
    "1004 26 11 1\n"
    "FUNC m 2000 10 8 ns::C<int>::op() const\n"
    "2000 10 4000000000 1\n"
    "PUBLIC m 3000 0 exported_asm\n"
    "STACK CFI INIT 1000 2a .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
    "STACK CFI 1001 .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n"
    "STACK CFI 1004 .cfa: $rbp 16 +\n"
    "STACK WIN 4 1000 2a 0 0 0 0 0 0 1 $T0 .raSearch =\n";

static void test_golden(void **state)
{
    (void)state;
    sym_module m;
    build(&m);
    char *s = write_str(&m, NULL);
    assert_string_equal(s, golden);
    free(s);
    /* Already canonical: finalize must not change a byte. */
    sym_finalize_stats st;
    sym_module_finalize(&m, &st);
    s = write_str(&m, NULL);
    assert_string_equal(s, golden);
    assert_int_equal(st.funcs_folded + st.funcs_trimmed + st.lines_dropped + st.publics_dropped +
                         st.cfi_dropped,
                     0);
    free(s);
    sym_module_free(&m);
}

static void test_header_only(void **state)
{
    (void)state;
    sym_module m;
    build(&m);
    sym_write_options o = {.header_only = true};
    char *s = write_str(&m, &o);
    assert_string_equal(s, "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libfoo.so\n"
                           "INFO CODE_ID 0123456789abcdef libfoo.so\n"
                           "INFO GENERATOR symkit 0.1.0\n"
                           "INFO URL https://example.com/x y\n");
    free(s);
    sym_module_free(&m);
}

static void test_no_cfi(void **state)
{
    (void)state;
    sym_module m;
    build(&m);
    sym_write_options o = {.no_cfi = true};
    char *s = write_str(&m, &o);
    char *stack = strstr(golden, "STACK CFI INIT");
    assert_non_null(stack);
    assert_int_equal(strlen(s), (size_t)(stack - golden));
    assert_memory_equal(s, golden, strlen(s));
    free(s);
    sym_module_free(&m);
}

static void test_cfi_only(void **state)
{
    (void)state;
    sym_module m;
    build(&m);
    sym_write_options o = {.cfi_only = true};
    char *s = write_str(&m, &o);
    assert_string_equal(s, "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libfoo.so\n"
                           "INFO CODE_ID 0123456789abcdef libfoo.so\n"
                           "INFO GENERATOR symkit 0.1.0\n"
                           "INFO URL https://example.com/x y\n"
                           "STACK CFI INIT 1000 2a .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
                           "STACK CFI 1001 .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n"
                           "STACK CFI 1004 .cfa: $rbp 16 +\n"
                           "STACK WIN 4 1000 2a 0 0 0 0 0 0 1 $T0 .raSearch =\n");
    free(s);
    sym_module_free(&m);
}

/* No code file, no generator: the optional parts disappear cleanly. */
static void test_minimal_header(void **state)
{
    (void)state;
    sym_module m;
    sym_module_init(&m);
    header(&m);
    m.code_id = "abcd";
    char *s = write_str(&m, NULL);
    assert_string_equal(s, "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libfoo.so\n"
                           "INFO CODE_ID abcd\n");
    free(s);
    m.code_id = NULL;
    s = write_str(&m, NULL);
    assert_string_equal(s, "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libfoo.so\n");
    free(s);
    sym_module_free(&m);
}

/* At one address the FUNC comes first (an unfinalized module can have
 * both); extreme numbers print in full. */
static void test_func_before_public_and_extremes(void **state)
{
    (void)state;
    sym_module m;
    sym_module_init(&m);
    header(&m);
    sym_module_add_public(&m, 0x500, "pub");
    sym_func *f = sym_module_add_func(&m, 0x500, 1, "fn");
    f->param_size = UINT32_MAX;
    sym_module_add_public(&m, UINT64_MAX, "top");
    char *s = write_str(&m, NULL);
    assert_string_equal(s, "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libfoo.so\n"
                           "FUNC 500 1 ffffffff fn\n"
                           "PUBLIC 500 0 pub\n"
                           "PUBLIC ffffffffffffffff 0 top\n");
    free(s);
    sym_module_free(&m);
}

/* sym_write to a FILE gives the same bytes as sym_write_buf, also when it
 * has to flush several times. */
static void test_write_file(void **state)
{
    (void)state;
    sym_module m;
    build(&m);
    sym_func *f = &m.funcs[1];
    f->size = 0x100000;
    for (uint32_t i = 0; i < 200000; i++)
        sym_func_add_line(&m, f, 0x2000 + i * 4, 4, i, 0);
    char *want = write_str(&m, NULL);
    char *got = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&got, &len);
    assert_non_null(fp);
    sk_error err;
    assert_int_equal(sym_write(&m, NULL, fp, &err), SK_OK);
    fclose(fp);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(got, want, len);
    free(got);
    free(want);
    sym_module_free(&m);
}

typedef struct chunks {
    sk_buf all;
    size_t calls, biggest, fail_at; /* fail_at: the call that fails (1-based), 0 never */
} chunks;

static bool collect(const char *data, size_t len, void *ctx)
{
    chunks *c = ctx;
    c->calls++;
    if (len > c->biggest)
        c->biggest = len;
    if (c->calls == c->fail_at)
        return false;
    sk_buf_append(&c->all, data, len);
    return true;
}

/* A big module reaches the sink in pieces, never whole, and a sink that
 * fails is not called again. */
static void test_write_to_sink(void **state)
{
    (void)state;
    sym_module m;
    build(&m);
    sym_func *f = &m.funcs[1];
    f->size = 0x1000000;
    for (uint32_t i = 0; i < 400000; i++)
        sym_func_add_line(&m, f, 0x2000 + i * 4, 4, i, 0);
    char *want = write_str(&m, NULL);
    size_t want_len = strlen(want);
    assert_true(want_len > (4u << 20));
    chunks c = {0};
    sk_buf_init(&c.all);
    assert_true(sym_write_to(&m, NULL, collect, &c));
    assert_int_equal(c.all.len, want_len);
    assert_memory_equal(c.all.data, want, want_len);
    assert_true(c.calls > 4);
    assert_true(c.biggest < (2u << 20));
    sk_buf_free(&c.all);

    chunks bad = {.fail_at = 2};
    sk_buf_init(&bad.all);
    assert_false(sym_write_to(&m, NULL, collect, &bad));
    assert_int_equal(bad.calls, 2);
    sk_buf_free(&bad.all);
    free(want);
    sym_module_free(&m);
}

/* A write error is reported, not ignored. */
static void test_write_error(void **state)
{
    (void)state;
    FILE *fp = fopen("/dev/full", "w");
    if (!fp) {
        skip();
        return;
    }
    sym_module m;
    build(&m);
    sk_error err;
    assert_int_equal(sym_write(&m, NULL, fp, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "writing .sym"));
    fclose(fp);
    sym_module_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_no_cfi),
        cmocka_unit_test(test_cfi_only),
        cmocka_unit_test(test_minimal_header),
        cmocka_unit_test(test_func_before_public_and_extremes),
        cmocka_unit_test(test_write_file),
        cmocka_unit_test(test_write_to_sink),
        cmocka_unit_test(test_write_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
