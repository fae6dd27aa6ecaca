/* test_index.c — the lazy .sym lookup index (symfile/index.c): function,
 * line and inline lookups, PUBLIC fallback, CFI rule accumulation, STACK
 * WIN, tolerance of bad lines and CRLF, and the postfix evaluator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "symfile.h"
#include "unwind.h"

static sym_index *open_text(const char *text)
{
    sym_index *ix = NULL;
    sk_error err;
    char *copy = sk_xstrdup(text);
    int rc = sym_index_open_owned(copy, strlen(copy), &ix, &err);
    assert_int_equal(rc, SK_OK);
    return ix;
}

static const char *SYM =
    "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 app\n"
    "INFO CODE_ID 0123\n"
    "FILE 0 /src/a.c\n"
    "FILE 1 /src/b.h\n"
    "FILE 2 /src/c.h\n"
    "INLINE_ORIGIN 0 outer_inline\n"
    "INLINE_ORIGIN 1 inner_inline\n"
    "FUNC 1000 100 8 main\n"
    "INLINE 0 10 0 0 1010 20 1080 10\n"
    "INLINE 1 20 1 1 1018 8\n"
    "1000 10 5 0\n"
    "1010 8 11 1\n"
    "1018 8 21 2\n"
    "1020 e0 6 0\n"
    "PUBLIC 2000 0 public_fn\n"
    "FUNC m 3000 10 0 folded\n"
    "this is not a record\n"
    "FUNC 4000 zz 0 broken\n"
    "STACK CFI INIT 1000 100 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
    "STACK CFI 1001 .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n"
    "STACK CFI 1004 .cfa: $rbp 16 +\n"
    "STACK WIN 4 5000 20 1 0 4 0 8 0 1 $T0 $ebp = $eip $T0 4 + ^ =\n"
    "STACK WIN 0 5000 20 1 0 4 0 8 0 0 1\n";

static void test_func_line_inline(void **state)
{
    (void)state;
    sym_index *ix = open_text(SYM);
    assert_string_equal(sym_index_debug_id(ix), "0123456789ABCDEF0123456789ABCDEF0");
    assert_string_equal(sym_index_name(ix), "app");
    sym_lookup l;
    assert_true(sym_index_lookup(ix, 0x1004, &l));
    assert_string_equal(l.function, "main");
    assert_int_equal(l.function_addr, 0x1000);
    assert_int_equal(l.param_size, 8);
    assert_string_equal(l.file, "/src/a.c");
    assert_int_equal(l.line, 5);
    assert_int_equal(l.ninlines, 0);
    /* two levels of inlining at 0x101a */
    assert_true(sym_index_lookup(ix, 0x101a, &l));
    assert_int_equal(l.ninlines, 2);
    assert_string_equal(l.inlines[0].name, "outer_inline");
    assert_string_equal(l.inlines[0].call_file, "/src/a.c");
    assert_int_equal(l.inlines[0].call_line, 10);
    assert_string_equal(l.inlines[1].name, "inner_inline");
    assert_string_equal(l.inlines[1].call_file, "/src/b.h");
    assert_int_equal(l.inlines[1].call_line, 20);
    assert_string_equal(l.file, "/src/c.h");
    assert_int_equal(l.line, 21);
    /* second range of the outer inline */
    assert_true(sym_index_lookup(ix, 0x1085, &l));
    assert_int_equal(l.ninlines, 1);
    /* PUBLIC fallback, folded FUNC */
    assert_true(sym_index_lookup(ix, 0x2500, &l));
    assert_true(l.is_public);
    assert_string_equal(l.function, "public_fn");
    assert_true(sym_index_lookup(ix, 0x3004, &l));
    assert_string_equal(l.function, "folded");
    assert_false(sym_index_lookup(ix, 0x10, &l));
    assert_true(sym_index_covers(ix, 0x1050));
    assert_false(sym_index_covers(ix, 0x500));
    /* "this is not a record" and the FUNC with a bad size */
    assert_int_equal(sym_index_bad_lines(ix), 2);
    sym_index_close(ix);
}

static void test_cfi_rows(void **state)
{
    (void)state;
    sym_index *ix = open_text(SYM);
    sk_buf b;
    sk_buf_init(&b);
    assert_true(sym_index_cfi(ix, 0x1000, &b));
    assert_string_equal(b.data, ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
    assert_true(sym_index_cfi(ix, 0x1002, &b));
    assert_string_equal(b.data, ".cfa: $rsp 8 + .ra: .cfa -8 + ^ .cfa: $rsp 16 + $rbp: .cfa -16 + ^");
    assert_true(sym_index_cfi(ix, 0x10ff, &b));
    assert_non_null(strstr(b.data, ".cfa: $rbp 16 +"));
    assert_false(sym_index_cfi(ix, 0x1100, &b));
    sk_buf_free(&b);
    sym_win_frame w;
    assert_true(sym_index_stack_win(ix, 0x5010, &w));
    assert_int_equal(w.type, 4);
    assert_int_equal(w.param_size, 4);
    assert_int_equal(w.locals_size, 8);
    assert_string_equal(w.program, "$T0 $ebp = $eip $T0 4 + ^ =");
    assert_false(sym_index_stack_win(ix, 0x5020, &w));
    sym_index_close(ix);
}

static void test_crlf_and_bad_module(void **state)
{
    (void)state;
    sym_index *ix = open_text("MODULE Linux x86 0123456789ABCDEF0123456789ABCDEF0 a.so\r\n"
                              "FILE 0 x.c\r\n"
                              "FUNC 10 10 0 f\r\n"
                              "10 10 3 0\r\n");
    sym_lookup l;
    assert_true(sym_index_lookup(ix, 0x12, &l));
    assert_string_equal(l.function, "f");
    assert_string_equal(l.file, "x.c");
    assert_int_equal(l.line, 3);
    assert_int_equal(sym_index_bad_lines(ix), 0);
    sym_index_close(ix);

    sym_index *bad = NULL;
    sk_error err;
    char *text = sk_xstrdup("FUNC 10 10 0 f\n");
    assert_int_not_equal(sym_index_open_owned(text, strlen(text), &bad, &err), SK_OK);
    assert_null(bad);
    /* an empty file is no .sym either */
    char *empty = sk_xstrdup("");
    assert_int_not_equal(sym_index_open_owned(empty, 0, &bad, &err), SK_OK);
}

/* The postfix machine over a fake amd64 stack. */
static void test_postfix(void **state)
{
    (void)state;
    uint8_t stack[64] = {0};
    stack[8] = 0x34;
    stack[9] = 0x12; /* word at 0x1008 = 0x1234 */
    md_memory mem = {0};
    sw_walker w;
    memset(&w, 0, sizeof w);
    w.cpu = &sw_cpu_amd64;
    w.memory = &mem;
    w.stack = (md_region){0x1000, sizeof stack, stack};
    sw_regs regs = {0};
    sw_reg_set(&regs, 7, 0x1000); /* rsp */
    sw_pf_env env;
    memset(&env, 0, sizeof env);
    env.w = &w;
    env.regs = &regs;
    uint64_t v;
    const char *e = "$rsp 8 + ^";
    assert_true(sw_pf_eval(&env, e, strlen(e), &v));
    assert_int_equal(v, 0x1234);
    e = "$rsp -16 + 16 @";
    assert_true(sw_pf_eval(&env, e, strlen(e), &v));
    assert_int_equal(v, 0xff0);
    e = "10 3 % 7 *";
    assert_true(sw_pf_eval(&env, e, strlen(e), &v));
    assert_int_equal(v, 7);
    static const char *bad[] = {"1 0 /", "+", "$nope", "$rsp 4096 + ^", "1 2", "", "8 3 @"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(sw_pf_eval(&env, bad[i], strlen(bad[i]), &v));
    const char *prog = "$T0 $rsp = $T1 $T0 8 + ^ =";
    assert_true(sw_pf_run(&env, prog, strlen(prog)));
    assert_true(sw_pf_get(&env, "$T1", &v));
    assert_int_equal(v, 0x1234);
    /* CFI: caller rip from [rsp+8], rsp = cfa */
    sw_regs caller;
    assert_true(sw_cfi_unwind(&w, ".cfa: $rsp 16 + .ra: .cfa -8 + ^", &regs, &caller));
    assert_int_equal(caller.r[16], 0x1234);
    assert_int_equal(caller.r[7], 0x1010);
    assert_false(sw_cfi_unwind(&w, ".cfa: $rsp 16 +", &regs, &caller)); /* no .ra */
    assert_false(sw_cfi_unwind(&w, "$rsp 16 + .ra: 0", &regs, &caller)); /* expr before a name */
}

/* Records at every alignment relative to the 16-byte scanning steps, with
 * line records of varying length between them: every FUNC must be found. */
static void test_every_alignment(void **state)
{
    (void)state;
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_puts(&b, "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 app\nFILE 0 a.c\n");
    for (unsigned i = 0; i < 300; i++) {
        sk_buf_printf(&b, "FUNC %x 10 0 f%u\n", 0x1000 + 0x10 * i, i);
        for (unsigned k = 0; k < i % 5; k++)
            sk_buf_printf(&b, "%x %x %u 0\n", 0x1000 + 0x10 * i + k, 1 + (i % 3), 1000 + k * (i % 7));
        if (i % 4 == 0)
            sk_buf_puts(&b, i % 8 ? "\n" : "\r\n"); /* empty lines are skipped */
    }
    sym_index *ix = NULL;
    sk_error err;
    assert_int_equal(sym_index_open_owned(b.data, b.len, &ix, &err), SK_OK);
    assert_int_equal(sym_index_func_count(ix), 300);
    for (unsigned i = 0; i < 300; i++) {
        sym_lookup l;
        char name[16];
        snprintf(name, sizeof name, "f%u", i);
        assert_true(sym_index_lookup(ix, 0x1000 + 0x10 * i + 0xf, &l));
        assert_string_equal(l.function, name);
    }
    sym_index_close(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_func_line_inline),
        cmocka_unit_test(test_cfi_rows),
        cmocka_unit_test(test_crlf_and_bad_module),
        cmocka_unit_test(test_postfix),
        cmocka_unit_test(test_every_alignment),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
