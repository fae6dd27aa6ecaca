/* test_parser.c — the tolerant .sym parser and the model reader, on good
 * input, on every kind of malformed line, and on rejected headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "util.h"

#define HDR "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libfoo.so\n"

/* Records rendered one per line into a log, to compare with expectations. */
typedef struct log {
    sk_buf b;
    int stop_after; /* 0: never */
    int seen;
    size_t bad_line_nos[64];
    size_t nbad;
} log_t;

static int on_rec(const sym_record *r, void *ctx)
{
    log_t *l = ctx;
    sk_buf *b = &l->b;
    switch (r->kind) {
    case SYM_REC_MODULE:
        sk_buf_printf(b, "MODULE|%s|%s|%s|%s", r->u.module.os, r->u.module.arch,
                      r->u.module.debug_id, r->u.module.name);
        break;
    case SYM_REC_INFO:
        sk_buf_printf(b, "INFO|%s", r->u.info.text);
        break;
    case SYM_REC_FILE:
        sk_buf_printf(b, "FILE|%u|%s", r->u.file.id, r->u.file.path);
        break;
    case SYM_REC_INLINE_ORIGIN:
        sk_buf_printf(b, "ORIGIN|%u|%s", r->u.origin.id, r->u.origin.name);
        break;
    case SYM_REC_FUNC:
        sk_buf_printf(b, "FUNC|%d|%llx|%llx|%x|%s", r->u.func.multiple,
                      (unsigned long long)r->u.func.addr, (unsigned long long)r->u.func.size,
                      r->u.func.param_size, r->u.func.name);
        break;
    case SYM_REC_LINE:
        sk_buf_printf(b, "LINE|%llx|%llx|%u|%u", (unsigned long long)r->u.line.addr,
                      (unsigned long long)r->u.line.size, r->u.line.line, r->u.line.file);
        break;
    case SYM_REC_INLINE:
        sk_buf_printf(b, "INLINE|%u|%u|%u|%u|%u", r->u.inl.depth, r->u.inl.call_line,
                      r->u.inl.call_file, r->u.inl.origin, r->u.inl.nranges);
        for (uint32_t i = 0; i < r->u.inl.nranges && i < 3; i++)
            sk_buf_printf(b, "|%llx+%llx", (unsigned long long)r->u.inl.ranges[i].addr,
                          (unsigned long long)r->u.inl.ranges[i].size);
        break;
    case SYM_REC_PUBLIC:
        sk_buf_printf(b, "PUBLIC|%d|%llx|%x|%s", r->u.pub.multiple,
                      (unsigned long long)r->u.pub.addr, r->u.pub.param_size, r->u.pub.name);
        break;
    case SYM_REC_STACK_CFI_INIT:
        sk_buf_printf(b, "CFIINIT|%llx|%llx|%s", (unsigned long long)r->u.cfi_init.addr,
                      (unsigned long long)r->u.cfi_init.size, r->u.cfi_init.rules);
        break;
    case SYM_REC_STACK_CFI:
        sk_buf_printf(b, "CFI|%llx|%s", (unsigned long long)r->u.cfi.addr, r->u.cfi.rules);
        break;
    case SYM_REC_STACK_WIN:
        sk_buf_printf(b, "WIN|%s", r->u.win.text);
        break;
    }
    sk_buf_printf(b, "@%zu\n", r->line_no);
    l->seen++;
    return l->stop_after && l->seen >= l->stop_after ? 7 : 0;
}

static void on_bad(size_t line_no, const char *reason, void *ctx)
{
    log_t *l = ctx;
    assert_non_null(reason);
    assert_true(*reason);
    if (l->nbad < 64)
        l->bad_line_nos[l->nbad++] = line_no;
}

/* Parses text from an exactly-sized heap copy (no NUL after it), so ASan
 * catches any read past len. */
static int parse(const char *text, size_t len, log_t *l, sym_parse_stats *st, sk_error *err)
{
    char *copy = sk_xmalloc(len ? len : 1);
    memcpy(copy, text, len);
    sk_buf_init(&l->b);
    int rc = sym_parse(copy, len, on_rec, on_bad, l, st, err);
    free(copy);
    return rc;
}

static void expect_log(const char *text, size_t len, const char *want, size_t want_bad)
{
    log_t l = {0};
    sym_parse_stats st;
    sk_error err;
    assert_int_equal(parse(text, len, &l, &st, &err), SK_OK);
    assert_string_equal(l.b.data ? l.b.data : "", want);
    assert_int_equal(st.bad_lines, want_bad);
    assert_int_equal(l.nbad, want_bad);
    sk_buf_free(&l.b);
}

static void test_good_records(void **state)
{
    (void)state;
    static const char text[] =
        HDR
        "INFO CODE_ID ABCDEF libfoo.so\n"
        "FILE 0 /src/with space/a.c\n"
        "INLINE_ORIGIN 3 std::vector<int>::push_back(int const&)\n"
        "FUNC m 1000 2a 8 name with  spaces\n"
        "INLINE 0 11 0 3 1004 8 1010 2\n"
        "1000 4 10 0\n"
        "PUBLIC m 2000 4 pub lic\n"
        "PUBLIC 2010 0 m\n"
        "STACK CFI INIT 1000 2a .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
        "STACK CFI 1001 .cfa: $rsp 16 +\n"
        "STACK WIN 4 1000 2a 0 0 0 0 0 0 1 $T0 .raSearch =\n";
    expect_log(text, sizeof text - 1,
               "MODULE|Linux|x86_64|0123456789ABCDEF0123456789ABCDEF0|libfoo.so@1\n"
               "INFO|CODE_ID ABCDEF libfoo.so@2\n"
               "FILE|0|/src/with space/a.c@3\n"
               "ORIGIN|3|std::vector<int>::push_back(int const&)@4\n"
               "FUNC|1|1000|2a|8|name with  spaces@5\n"
               "INLINE|0|11|0|3|2|1004+8|1010+2@6\n"
               "LINE|1000|4|10|0@7\n"
               "PUBLIC|1|2000|4|pub lic@8\n"
               "PUBLIC|0|2010|0|m@9\n"
               "CFIINIT|1000|2a|.cfa: $rsp 8 + .ra: .cfa -8 + ^@10\n"
               "CFI|1001|.cfa: $rsp 16 +@11\n"
               "WIN|4 1000 2a 0 0 0 0 0 0 1 $T0 .raSearch =@12\n",
               0);
}

/* CRLF, no final newline, blank lines, tabs and leading zeros / upper-case
 * hex between the numeric fields are all accepted. */
static void test_lenient_layout(void **state)
{
    (void)state;
    static const char text[] = "MODULE Linux x86 ID name\r\n"
                               "\r\n"
                               "FUNC 00001000\t10  0 f\r\n"
                               "   \n"
                               "1000 A 7 0\r\n"
                               "STACK CFI INIT 1000 10 .cfa: $esp 4 + .ra: .cfa -4 + ^";
    expect_log(text, sizeof text - 1,
               "MODULE|Linux|x86|ID|name@1\n"
               "FUNC|0|1000|10|0|f@3\n"
               "LINE|1000|a|7|0@5\n"
               "CFIINIT|1000|10|.cfa: $esp 4 + .ra: .cfa -4 + ^@6\n",
               0);
    log_t l = {0};
    sym_parse_stats st;
    sk_error err;
    assert_int_equal(parse(text, sizeof text - 1, &l, &st, &err), SK_OK);
    assert_int_equal(st.lines, 6);
    assert_int_equal(st.records, 4);
    sk_buf_free(&l.b);
}

static void test_inline_many_ranges(void **state)
{
    (void)state;
    sk_buf t;
    sk_buf_init(&t);
    sk_buf_puts(&t, HDR "FUNC 0 100000 0 f\nINLINE 1 2 3 4");
    for (int i = 0; i < 5000; i++)
        sk_buf_printf(&t, " %x 4", i * 8);
    sk_buf_puts(&t, "\n");
    expect_log(t.data, t.len,
               "MODULE|Linux|x86_64|0123456789ABCDEF0123456789ABCDEF0|libfoo.so@1\n"
               "FUNC|0|0|100000|0|f@2\n"
               "INLINE|1|2|3|4|5000|0+4|8+4|10+4@3\n",
               0);
    sk_buf_free(&t);
}

/* Every kind of malformed line is skipped and counted, never fatal, and
 * good records around them still come through. */
static void test_bad_lines_counted(void **state)
{
    (void)state;
    static const char text[] =
        HDR                                           /* 1 */
        "1000 4 1 0\n"                                /* 2 line outside FUNC */
        "INLINE 0 1 0 0 10 4\n"                       /* 3 INLINE outside FUNC */
        "STACK CFI 1000 .cfa: x\n"                    /* 4 row without INIT */
        "FUNC\n"                                      /* 5 */
        "FUNC 1000 10\n"                              /* 6 */
        "FUNC 1000 10 0\n"                            /* 7 missing name */
        "FUNC 1000 10 0 \n"                           /* 8 empty name */
        "FUNC zz 10 0 x\n"                            /* 9 */
        "FUNC 10000000000000000 1 0 x\n"              /* 10 overflow */
        "FUNC 1 1 100000000 x\n"                      /* 11 param too large */
        "1000 4 1 0\n"                                /* 12 after a bad FUNC */
        "FUNC m 1000 10 0 good\n"                     /* 13 good */
        "FILE x a.c\n"                                /* 14 */
        "FILE 1\n"                                    /* 15 */
        "FILE 99999999999 a\n"                        /* 16 */
        "INLINE_ORIGIN\n"                             /* 17 */
        "INLINE 0 1 0 0\n"                            /* 18 no ranges */
        "INLINE 0 1 0 0 100\n"                        /* 19 odd */
        "INLINE 0 1 0 0 1000 zz\n"                    /* 20 */
        "INLINE 0 1 x 0 1000 4\n"                     /* 21 */
        "1000 4 1\n"                                  /* 22 */
        "1000 4 1 0 extra\n"                          /* 23 */
        "1000 4 -1 0\n"                               /* 24 */
        "1000 4 99999999999999999999999 0\n"          /* 25 dec overflow */
        "PUBLIC 1000\n"                               /* 26 */
        "PUBLIC m\n"                                  /* 27 */
        "PUBLIC 1000 0\n"                             /* 28 */
        "STACK\n"                                     /* 29 */
        "STACK FOO 1\n"                               /* 30 */
        "STACK CFI INIT 1000 10\n"                    /* 31 */
        "STACK CFI 1000 .cfa: x\n"                    /* 32 row after bad INIT */
        "STACK CFI zz .cfa: x\n"                      /* 33 */
        "STACK WIN 4 1000\n"                          /* 34 */
        "STACK WIN 4 1000 10 0 0 0 0 0 0 1\n"         /* 35 */
        "STACK WIN 4 zz 10 0 0 0 0 0 0 1 x\n"         /* 36 */
        "STACK WIN\n"                                 /* 37 */
        "MODULE Linux x86 ID name\n"                  /* 38 second MODULE */
        "GARBAGE line\n"                              /* 39 */
        "INFO\n"                                      /* 40 */
        "1000 4 1\0 0\n"                              /* 41 NUL */
        "STACK CFI INIT 1000 10 .cfa: a .ra: b\n"     /* 42 good */
        "STACK CFI\n"                                 /* 43 */
        "STACK CFI 1004\n"                            /* 44 */
        "1004 4 2 0\n";                               /* 45 good, belongs to 13 */
    log_t l = {0};
    sym_parse_stats st;
    sk_error err;
    assert_int_equal(parse(text, sizeof text - 1, &l, &st, &err), SK_OK);
    assert_string_equal(l.b.data,
                        "MODULE|Linux|x86_64|0123456789ABCDEF0123456789ABCDEF0|libfoo.so@1\n"
                        "FUNC|1|1000|10|0|good@13\n"
                        "CFIINIT|1000|10|.cfa: a .ra: b@42\n"
                        "LINE|1004|4|2|0@45\n");
    assert_int_equal(st.lines, 45);
    assert_int_equal(st.records, 4);
    assert_int_equal(st.bad_lines, 41);
    assert_int_equal(l.nbad, 41);
    size_t k = 0;
    for (size_t n = 2; n <= 44; n++) {
        if (n == 13 || n == 42)
            continue;
        assert_int_equal(l.bad_line_nos[k], n);
        k++;
    }
    sk_buf_free(&l.b);
}

static void expect_reject(const char *text, size_t len, const char *msg_part)
{
    log_t l = {0};
    sym_parse_stats st;
    sk_error err = {0};
    assert_int_equal(parse(text, len, &l, &st, &err), SK_EFORMAT);
    if (!strstr(err.msg, msg_part))
        fail_msg("error \"%s\" does not mention \"%s\"", err.msg, msg_part);
    assert_int_equal(st.records, 0);
    sk_buf_free(&l.b);
}

static void test_bad_header_rejected(void **state)
{
    (void)state;
    expect_reject("", 0, "empty");
    expect_reject("FUNC 1000 10 0 f\n", 17, "expected a MODULE record");
    expect_reject("\nMODULE Linux x86 ID name\n", 26, "expected a MODULE record");
    expect_reject("MODULE Linux x86 ID\n", 20, "fewer than 5");
    expect_reject("MODULE Linux x86 ID my lib.so\n", 30, "more than 5");
    expect_reject("MODULE Linux x86 ID na\0me\n", 26, "NUL");
    expect_reject("\x7f" "ELF\x02\x01\x01", 7, "expected a MODULE record");
    expect_reject("MODULE", 6, "fewer than 5");
}

static void test_callback_stops(void **state)
{
    (void)state;
    static const char text[] = HDR "FILE 0 a\nFILE 1 b\nFILE 2 c\n";
    log_t l = {.stop_after = 3};
    sym_parse_stats st;
    sk_error err;
    assert_int_equal(parse(text, sizeof text - 1, &l, &st, &err), 7);
    assert_int_equal(st.records, 3);
    assert_int_equal(l.seen, 3);
    sk_buf_free(&l.b);
}

/* Every prefix of a file parses within bounds (ASan checks the reads). */
static void test_truncations(void **state)
{
    (void)state;
    static const char text[] = HDR "FUNC m 1000 2a 8 f\nINLINE 0 1 0 0 1000 4\n1000 4 1 0\n"
                                   "STACK CFI INIT 1000 10 .cfa: a .ra: b\nSTACK CFI 1004 x\n";
    for (size_t n = 0; n <= sizeof text - 1; n++) {
        log_t l = {0};
        sym_parse_stats st;
        sk_error err;
        int rc = parse(text, n, &l, &st, &err);
        assert_true(rc == SK_OK || rc == SK_EFORMAT);
        if (n >= strlen(HDR) - 1)
            assert_int_equal(rc, SK_OK);
        sk_buf_free(&l.b);
    }
}

static void test_module_line(void **state)
{
    (void)state;
    char os[16], arch[16], id[40], name[64];
    sk_error err;
    const char *line = "MODULE mac arm64 0123456789ABCDEF0123456789ABCDEF0 Foo.dylib\r\nFUNC x";
    assert_int_equal(sym_parse_module_line(line, strlen(line), os, sizeof os, arch, sizeof arch, id,
                                           sizeof id, name, sizeof name, &err),
                     SK_OK);
    assert_string_equal(os, "mac");
    assert_string_equal(arch, "arm64");
    assert_string_equal(id, "0123456789ABCDEF0123456789ABCDEF0");
    assert_string_equal(name, "Foo.dylib");
    /* too small a buffer is an error, not a truncation */
    assert_int_equal(sym_parse_module_line(line, strlen(line), os, sizeof os, arch, sizeof arch, id,
                                           8, name, sizeof name, &err),
                     SK_EFORMAT);
    assert_non_null(strstr(err.msg, "debug id"));
    const char *bad = "MODULE Linux x86 ID a b";
    assert_int_equal(sym_parse_module_line(bad, strlen(bad), os, sizeof os, arch, sizeof arch, id,
                                           sizeof id, name, sizeof name, &err),
                     SK_EFORMAT);
    assert_int_equal(sym_parse_module_line("FUNC", 4, os, sizeof os, arch, sizeof arch, id,
                                           sizeof id, name, sizeof name, &err),
                     SK_EFORMAT);
    /* len bounds the read even without a newline */
    assert_int_equal(sym_parse_module_line(line, 20, os, sizeof os, arch, sizeof arch, id,
                                           sizeof id, name, sizeof name, &err),
                     SK_EFORMAT);
}

/* ---- the model reader -------------------------------------------------- */

static void test_read_model(void **state)
{
    (void)state;
    static const char text[] = HDR
        "INFO CODE_ID ABCD lib foo.so\n"
        "INFO GENERATOR symkit 0.1.0\n"
        "INFO CODE_ID 2nd\n"
        "FILE 2 b.c\n"
        "FILE 0 a.c\n"
        "FILE 0 dup.c\n"                /* repeated id: bad */
        "FILE 4000000000 far.c\n"       /* beyond the file size: bad */
        "INLINE_ORIGIN 1 o\n"
        "FUNC m 1000 10 4 f\n"
        "INLINE 0 1 2 1 1000 4\n"
        "1000 4 1 0\n"
        "1004 100000000 1 0\n"          /* size over 32 bits: bad */
        "PUBLIC m 2000 8 p\n"
        "STACK CFI INIT 1000 10 .cfa: a .ra: b\n"
        "STACK CFI 1004 x\n"
        "STACK WIN 4 1000 2a 0 0 0 0 0 0 0 1\n";
    sym_module m;
    sym_parse_stats st;
    sk_error err;
    assert_int_equal(sym_module_read_mem(text, sizeof text - 1, &m, &st, &err), SK_OK);
    assert_int_equal(st.bad_lines, 3);
    assert_int_equal(st.records, 14);
    assert_string_equal(m.name, "libfoo.so");
    assert_string_equal(m.code_id, "ABCD");
    assert_string_equal(m.code_file, "lib foo.so");
    assert_string_equal(m.generator, "symkit 0.1.0");
    assert_int_equal(m.ninfo, 1);
    assert_string_equal(m.info[0], "CODE_ID 2nd");
    assert_int_equal(m.nfiles, 3);
    assert_string_equal(m.files[0], "a.c");
    assert_null(m.files[1]);
    assert_string_equal(m.files[2], "b.c");
    assert_int_equal(m.norigins, 2);
    assert_null(m.origins[0]);
    assert_int_equal(m.nfuncs, 1);
    assert_true(m.funcs[0].multiple);
    assert_int_equal(m.funcs[0].param_size, 4);
    assert_int_equal(m.funcs[0].nlines, 1);
    assert_int_equal(m.funcs[0].ninlines, 1);
    assert_int_equal(m.funcs[0].inlines[0].call_file, 2);
    assert_int_equal(m.npublics, 1);
    assert_true(m.publics[0].multiple);
    assert_int_equal(m.publics[0].param_size, 8);
    assert_int_equal(m.ncfi, 1);
    assert_int_equal(m.cfi[0].nrows, 1);
    assert_int_equal(m.nstack_win, 1);
    assert_string_equal(m.stack_win[0].text, "4 1000 2a 0 0 0 0 0 0 0 1");
    sym_module_finalize(&m, NULL);
    char *s = write_str(&m, NULL);
    assert_string_equal(s, HDR
        "INFO CODE_ID ABCD lib foo.so\n"
        "INFO GENERATOR symkit 0.1.0\n"
        "INFO CODE_ID 2nd\n"
        "FILE 0 a.c\n"
        "FILE 1 b.c\n"
        "INLINE_ORIGIN 0 o\n"
        "FUNC m 1000 10 4 f\n"
        "INLINE 0 1 1 0 1000 4\n"
        "1000 4 1 0\n"
        "PUBLIC m 2000 8 p\n"
        "STACK CFI INIT 1000 10 .cfa: a .ra: b\n"
        "STACK CFI 1004 x\n"
        "STACK WIN 4 1000 2a 0 0 0 0 0 0 0 1\n");
    free(s);
    sym_module_free(&m);
}

static void test_read_errors(void **state)
{
    (void)state;
    sym_module m;
    sk_error err;
    sym_parse_stats st;
    assert_int_equal(sym_module_read("/nonexistent/dir/x.sym", &m, &st, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/dir/x.sym"));
    sym_module_free(&m); /* safe after a failure */
    assert_int_equal(sym_module_read_mem("FUNC 1 1 0 x\n", 13, &m, NULL, &err), SK_EFORMAT);
    sym_module_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_records),
        cmocka_unit_test(test_lenient_layout),
        cmocka_unit_test(test_inline_many_ranges),
        cmocka_unit_test(test_bad_lines_counted),
        cmocka_unit_test(test_bad_header_rejected),
        cmocka_unit_test(test_callback_stops),
        cmocka_unit_test(test_truncations),
        cmocka_unit_test(test_module_line),
        cmocka_unit_test(test_read_model),
        cmocka_unit_test(test_read_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
