/*
 * Unit tests of verify/'s parsers on hostile input: the baseline JSON
 * reader, the --expect parser and chain matcher, the ELF build-id reader
 * (fed truncated and mutated images) and lint on broken .sym text.  Each
 * must give an error or a finding, never a crash (the suite also runs under
 * ASan/UBSan).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "capture.h"
#include "expect.h"
#include "json.h"
#include "json_read.h"
#include "verify.h"

/* ---- JSON ---- */

static void json_round_trip(void **state)
{
    (void)state;
    sk_buf b;
    sk_buf_init(&b);
    sv_json j;
    sv_json_init(&j, &b);
    sv_json_object(&j, NULL);
    sv_json_str(&j, "s", "a\"b\\c\n\x01 \xc3\xa9");
    sv_json_uint(&j, "n", 18446744073709551615ull);
    sv_json_num(&j, "f", 0.25);
    sv_json_bool(&j, "t", true);
    sv_json_str(&j, "z", NULL);
    sv_json_array(&j, "a");
    sv_json_end(&j, ']');
    sv_json_end(&j, '}');
    sv_jval v;
    sk_error err;
    assert_int_equal(sv_jparse(b.data, b.len, &v, &err), SK_OK);
    assert_string_equal(sv_jget(&v, "s")->str, "a\"b\\c\n\x01 \xc3\xa9");
    assert_true(sv_jnum(&v, "f", -1) == 0.25);
    assert_true(sv_jget(&v, "t")->b);
    assert_int_equal(sv_jget(&v, "z")->type, SVJ_NULL);
    assert_int_equal(sv_jget(&v, "a")->type, SVJ_ARR);
    assert_int_equal(sv_jget(&v, "a")->n, 0);
    assert_null(sv_jget(&v, "missing"));
    assert_true(sv_jnum(&v, "missing", -7) == -7);
    sv_jfree(&v);
    sk_buf_free(&b);
}

static void json_bad_input(void **state)
{
    (void)state;
    const char *bad[] = {"",           "{",         "[1,",        "{\"a\" 1}",   "{\"a\":}",
                         "\"abc",      "\"\\q\"",   "\"\\u12\"",  "[1] x",       "tru",
                         "{1: 2}",     "[1 2]",     "-",          "\"a\x01\"",   "{\"a\":1,}",
                         "[\"\\",      "nul"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sv_jval v;
        sk_error err;
        sk_error_clear(&err);
        assert_int_not_equal(sv_jparse(bad[i], strlen(bad[i]), &v, &err), SK_OK);
        assert_non_null(strstr(err.msg, "bad JSON at byte"));
    }
    /* nesting bomb: refused, no stack overflow */
    size_t n = 100000;
    char *deep = malloc(n);
    memset(deep, '[', n);
    sv_jval v;
    sk_error err;
    assert_int_not_equal(sv_jparse(deep, n, &v, &err), SK_OK);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    free(deep);
}

/* ---- expect ---- */

static void expect_parse_errors(void **state)
{
    (void)state;
    const char *bad[] = {"", "# only a comment\n", "crasher main\n", "dump: a.dmp\n",
                         "crasher!main\ndump: a.dmp\n", "dump:\ncrasher!main\n", "crasher!\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sv_expect *e = NULL;
        sk_error err;
        sk_error_clear(&err);
        assert_int_not_equal(sv_expect_parse("x.txt", bad[i], strlen(bad[i]), &e, &err), SK_OK);
        assert_null(e);
        assert_non_null(strstr(err.msg, "x.txt"));
    }
    const char nul[] = "a!b\0c!d\n";
    sv_expect *e = NULL;
    sk_error err;
    assert_int_not_equal(sv_expect_parse("x.txt", nul, sizeof nul - 1, &e, &err), SK_OK);
}

/* A report with one crashing thread: frame 0 has an inline, frame 2 is in
 * no module. */
static void expect_matching(void **state)
{
    (void)state;
    sw_module mods[2];
    memset(mods, 0, sizeof mods);
    mods[0].filename = "prog";
    mods[0].debug_file = "prog.debug";
    mods[1].filename = "libc.so.6";
    sw_inline_frame inl = {"inlined_helper", "a.c", 3};
    sw_frame frames[4];
    memset(frames, 0, sizeof frames);
    frames[0] = (sw_frame){.module = 0, .function = "leaf(int)", .inlines = &inl, .ninlines = 1};
    frames[1] = (sw_frame){.module = 0, .function = "middle"};
    frames[2] = (sw_frame){.module = -1, .function = NULL};
    frames[3] = (sw_frame){.module = 1, .function = "__libc_start_main"};
    sw_thread th = {.thread_id = 1, .frames = frames, .nframes = 4};
    sw_report r;
    memset(&r, 0, sizeof r);
    r.threads = &th;
    r.nthreads = 1;
    r.crashing_thread = 0;
    r.modules = mods;
    r.nmodules = 2;

    const char *text = "prog!inlined_helper\nprog!leaf\nprog!middle\n\n"  /* passes */
                       "dump: d.dmp\n*!leaf\nprog.debug!mid*\n*!*\nlibc.so.6!__libc_*\n\n" /* passes */
                       "prog!leaf\nprog!other\n\n"                        /* fails at 2nd */
                       "nowhere!x\n\n"                                    /* fails at 1st */
                       "dump: other.dmp\nprog!leaf\n";                    /* not this dump */
    sv_expect *e = NULL;
    sk_error err;
    assert_int_equal(sv_expect_parse("e.txt", text, strlen(text), &e, &err), SK_OK);
    sv_dump_metrics dm;
    memset(&dm, 0, sizeof dm);
    dm.name = "d.dmp";
    sv_expect_apply(e, &r, &dm);
    assert_int_equal(dm.nchains, 4);
    assert_true(dm.chains[0].passed);
    assert_string_equal(dm.chains[0].chain, "prog!inlined_helper > prog!leaf > prog!middle");
    assert_true(dm.chains[1].passed);
    assert_false(dm.chains[2].passed);
    assert_non_null(strstr(dm.chains[2].message, "expected prog!other, found prog!middle"));
    assert_false(dm.chains[3].passed);
    assert_non_null(strstr(dm.chains[3].message, "no frame matches nowhere!x"));
    assert_string_equal(sv_expect_unmatched(e), "other.dmp");
    for (size_t i = 0; i < dm.nchains; i++) {
        free(dm.chains[i].chain);
        free(dm.chains[i].message);
    }
    free(dm.chains);

    /* no crashing thread: the chain fails with a reason */
    r.crashing_thread = -1;
    memset(&dm, 0, sizeof dm);
    dm.name = "x.dmp";
    sv_expect_apply(e, &r, &dm);
    assert_int_equal(dm.nchains, 3);
    assert_false(dm.chains[0].passed);
    assert_string_equal(dm.chains[0].message, "the dump has no crashing thread");
    for (size_t i = 0; i < dm.nchains; i++) {
        free(dm.chains[i].chain);
        free(dm.chains[i].message);
    }
    free(dm.chains);
    sv_expect_free(e);
}

/* ---- ELF build-id reader ---- */

typedef struct membuf {
    const uint8_t *data;
    size_t size;
} membuf;

static bool read_membuf(void *ctx, uint64_t off, void *buf, size_t n)
{
    membuf *m = ctx;
    if (off > m->size || n > m->size - off)
        return false;
    memcpy(buf, m->data + off, n);
    return true;
}

static void elf_id_of_self_and_mutations(void **state)
{
    (void)state;
    char *data;
    size_t size;
    sk_error err;
    assert_int_equal(sk_read_file("/proc/self/exe", &data, &size, &err), SK_OK);
    membuf m = {(const uint8_t *)data, size};
    uint8_t id[64];
    size_t len = 0;
    assert_true(sv_elf_build_id(read_membuf, &m, false, 0, id, sizeof id, &len));
    assert_true(len >= 8);

    /* truncations */
    for (size_t cut = 0; cut < 4096 && cut < size; cut += 7) {
        membuf t = {(const uint8_t *)data, cut};
        size_t l2;
        (void)sv_elf_build_id(read_membuf, &t, false, 0, id, sizeof id, &l2);
    }
    /* mutations of the headers: deterministic pseudo-random bytes */
    size_t span = size < 8192 ? size : 8192;
    uint8_t *copy = malloc(size);
    uint32_t seed = 12345;
    for (int round = 0; round < 3000; round++) {
        memcpy(copy, data, size);
        for (int k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            size_t at = (seed >> 8) % span;
            seed = seed * 1103515245u + 12345u;
            copy[at] = (uint8_t)(seed >> 16);
        }
        membuf t = {copy, size};
        size_t l2;
        (void)sv_elf_build_id(read_membuf, &t, false, 0, id, sizeof id, &l2);
        (void)sv_elf_build_id(read_membuf, &t, true, 0, id, sizeof id, &l2);
    }
    free(copy);
    free(data);
}

/* ---- lint on broken text ---- */

static void lint_hostile(void **state)
{
    (void)state;
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_puts(&b, "MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 x\r\n");
    sk_buf_puts(&b, "FILE 4294967295 /huge\r\n");
    sk_buf_puts(&b, "FUNC ffffffffffffffff ffffffffffffffff 0 wrap\n");
    sk_buf_puts(&b, "ffffffffffffffff ffffffffffffffff 1 4294967295\n");
    sk_buf_puts(&b, "INLINE 4000000000 1 0 4294967295 0 1\n");
    sk_buf_puts(&b, "INLINE 0 1 0 0 ffffffffffffffff 10\n");
    sk_buf_puts(&b, "STACK CFI INIT 0 0 .cfa: $rsp .ra: 0\n");
    sk_buf_puts(&b, "STACK CFI 0 .cfa: $rsp\n");
    uint32_t seed = 7;
    for (int i = 0; i < 2000; i++) {
        seed = seed * 1103515245u + 12345u;
        sk_buf_putc(&b, (char)(seed >> 16));
    }
    sv_lint_report rep;
    sk_error err;
    assert_int_equal(sv_lint_mem("h.sym", b.data, b.len, &rep, &err), SK_OK);
    assert_true(rep.errors > 0);
    assert_true(rep.nfindings <= SV_LINT_MAX_FINDINGS);
    sk_buf out;
    sk_buf_init(&out);
    sv_lint_format_text(&rep, 1, &out);
    sv_lint_format_json(&rep, 1, &out);
    sv_jval v;
    /* the JSON part parses */
    const char *json = strstr(out.data, "{\n");
    assert_non_null(json);
    assert_int_equal(sv_jparse(json, strlen(json), &v, &err), SK_OK);
    sv_jfree(&v);
    sk_buf_free(&out);
    sv_lint_report_free(&rep);
    sk_buf_free(&b);

    /* not a .sym at all */
    assert_int_not_equal(sv_lint_mem("n.sym", "hello\n", 6, &rep, &err), SK_OK);
    assert_non_null(strstr(err.msg, "n.sym"));
    sv_lint_report_free(&rep);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_round_trip),
        cmocka_unit_test(json_bad_input),
        cmocka_unit_test(expect_parse_errors),
        cmocka_unit_test(expect_matching),
        cmocka_unit_test(elf_id_of_self_and_mutations),
        cmocka_unit_test(lint_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
