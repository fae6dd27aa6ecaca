/* Unit tests for common/json.c: the writer's exact bytes (the stackwalk and
 * symverify reports depend on them), the reader's strictness, its limits,
 * and hostile input under a deterministic mutation loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void test_writer_escaping(void **state)
{
    (void)state;
    sk_buf b;
    sk_buf_init(&b);
    sk_json_writer w;
    sk_json_writer_init(&w, &b, false);
    sk_json_array(&w, NULL);
    sk_json_str(&w, NULL, "q\" b\\ n\n r\r t\t");
    sk_json_str(&w, NULL, "\x01\x1f\x7f");
    /* UTF-8 and invalid UTF-8 alike pass as bytes. */
    sk_json_str(&w, NULL, "\xc3\xa9 \xff\xc3");
    sk_json_str(&w, NULL, NULL);
    sk_json_end_array(&w);
    assert_string_equal(b.data, "[\"q\\\" b\\\\ n\\n r\\r t\\t\",\"\\u0001\\u001f\x7f\","
                                "\"\xc3\xa9 \xff\xc3\",null]\n");
    /* Keys are escaped like values. */
    sk_buf_reset(&b);
    sk_json_writer_init(&w, &b, false);
    sk_json_object(&w, NULL);
    sk_json_bool(&w, "a\"\n", true);
    sk_json_end_object(&w);
    assert_string_equal(b.data, "{\"a\\\"\\n\":true}\n");
    sk_buf_free(&b);
}

static void test_writer_layout(void **state)
{
    (void)state;
    /* The shape stackwalk --json --pretty and symverify --json print. */
    sk_buf b;
    sk_buf_init(&b);
    sk_json_writer w;
    for (int pretty = 0; pretty < 2; pretty++) {
        sk_buf_reset(&b);
        sk_json_writer_init(&w, &b, pretty);
        sk_json_object(&w, NULL);
        sk_json_uint(&w, "n", UINT64_MAX);
        sk_json_int(&w, "i", INT64_MIN);
        sk_json_object(&w, "empty");
        sk_json_end_object(&w);
        sk_json_array(&w, "list");
        sk_json_hex(&w, NULL, 0x1234, 8);
        sk_json_hex(&w, NULL, 0xffffffffffffffffull, 16);
        sk_json_array(&w, NULL);
        sk_json_end_array(&w);
        sk_json_object(&w, NULL);
        sk_json_null(&w, "z");
        sk_json_end_object(&w);
        sk_json_end_array(&w);
        sk_json_fixed(&w, "f", 0.25, 4);
        sk_json_fixed(&w, "nan", NAN, 4);
        sk_json_fixed(&w, "inf", -INFINITY, 4);
        sk_json_end_object(&w);
        if (pretty)
            assert_string_equal(b.data, "{\n"
                                        "  \"n\": 18446744073709551615,\n"
                                        "  \"i\": -9223372036854775808,\n"
                                        "  \"empty\": {},\n"
                                        "  \"list\": [\n"
                                        "    \"0x00001234\",\n"
                                        "    \"0xffffffffffffffff\",\n"
                                        "    [],\n"
                                        "    {\n"
                                        "      \"z\": null\n"
                                        "    }\n"
                                        "  ],\n"
                                        "  \"f\": 0.2500,\n"
                                        "  \"nan\": null,\n"
                                        "  \"inf\": null\n"
                                        "}\n");
        else
            assert_string_equal(b.data, "{\"n\":18446744073709551615,\"i\":-9223372036854775808,"
                                        "\"empty\":{},\"list\":[\"0x00001234\",\"0xffffffffffffffff\","
                                        "[],{\"z\":null}],\"f\":0.2500,\"nan\":null,\"inf\":null}\n");
    }
    sk_buf_free(&b);
}

static void test_round_trip(void **state)
{
    (void)state;
    sk_buf b;
    sk_buf_init(&b);
    sk_json_writer w;
    sk_json_writer_init(&w, &b, true);
    sk_json_object(&w, NULL);
    sk_json_str(&w, "s", "a\"b\\c\n\x01\x1f \xc3\xa9");
    sk_json_uint(&w, "n", 4096);
    sk_json_object(&w, "inner");
    sk_json_array(&w, "keys");
    sk_json_str(&w, NULL, "x");
    sk_json_end_array(&w);
    sk_json_end_object(&w);
    sk_json_end_object(&w);
    sk_json_value v;
    sk_error err;
    sk_error_clear(&err);
    assert_int_equal(sk_json_parse(b.data, b.len, &v, &err), SK_OK);
    assert_string_equal(sk_json_get(&v, "s")->str, "a\"b\\c\n\x01\x1f \xc3\xa9");
    uint64_t u = 0;
    assert_true(sk_json_u64(sk_json_get(&v, "n"), &u));
    assert_int_equal(u, 4096);
    assert_true(sk_json_get_number(&v, "n", -1) == 4096);
    assert_true(sk_json_get_number(&v, "s", -1) == -1); /* not a number */
    assert_null(sk_json_get(&v, "keys"));               /* not at the top */
    const sk_json_value *k = sk_json_find(&v, "keys");
    assert_non_null(k);
    assert_int_equal(k->type, SK_JSON_ARRAY);
    assert_string_equal(k->items[0].str, "x");
    assert_null(sk_json_find(&v, "x")); /* a string value is no member */
    assert_null(sk_json_get(k, "x"));   /* nor is an array an object */
    sk_json_free(&v);
    sk_buf_free(&b);
}

static void parse_ok(const char *text, sk_json_value *v)
{
    sk_error err;
    sk_error_clear(&err);
    int rc = sk_json_parse(text, strlen(text), v, &err);
    if (rc != SK_OK)
        fail_msg("%s: %s", text, err.msg);
}

static void test_reader_strings(void **state)
{
    (void)state;
    sk_json_value v;
    parse_ok("\"\\u0041\\u00e9\\u20ac\\/\\b\\f\"", &v);
    assert_string_equal(v.str, "A\xc3\xa9\xe2\x82\xac/\b\f");
    sk_json_free(&v);
    /* A surrogate pair is one 4-byte character. */
    parse_ok("\"\\ud83d\\ude00\"", &v);
    assert_string_equal(v.str, "\xf0\x9f\x98\x80");
    sk_json_free(&v);
    /* Lone halves and NUL become U+FFFD instead of cutting the string. */
    parse_ok("\"\\ud83dx\\ude00\\u0000\\ud83d\\u0041\"", &v);
    assert_string_equal(v.str, "\xef\xbf\xbdx\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd" "A");
    sk_json_free(&v);
    /* Raw bytes, valid UTF-8 or not, are kept. */
    parse_ok(" [\"\xff\xc3\xa9\", true, false, null, -0.5e+2, 0, {}] ", &v);
    assert_int_equal(v.n, 7);
    assert_string_equal(v.items[0].str, "\xff\xc3\xa9");
    assert_true(v.items[1].b);
    assert_int_equal(v.items[2].type, SK_JSON_BOOL);
    assert_false(v.items[2].b);
    assert_int_equal(v.items[3].type, SK_JSON_NULL);
    assert_true(v.items[4].num == -50.0);
    assert_int_equal(v.items[6].type, SK_JSON_OBJECT);
    sk_json_free(&v);
}

static void test_reader_bad_input(void **state)
{
    (void)state;
    const char *bad[] = {"",          " ",         "{",          "[1,",        "{\"a\" 1}",
                         "{\"a\":}",  "\"abc",     "\"\\q\"",    "\"\\u12\"",  "\"\\u12g4\"",
                         "[1] x",     "tru",       "nul",        "{1: 2}",     "[1 2]",
                         "-",         "\"a\x01\"", "{\"a\":1,}", "[1,]",       "[\"\\",
                         "01",        "1.",        ".5",         "+1",         "0x1",
                         "1e",        "1e+",       "-a",         "NaN",        "Infinity",
                         "[}",        "{]",        "\"\\ud800\\u12\"", "{\"a\":1 \"b\":2}"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sk_json_value v;
        sk_error err;
        sk_error_clear(&err);
        if (sk_json_parse(bad[i], strlen(bad[i]), &v, &err) == SK_OK)
            fail_msg("accepted: %s", bad[i]);
        assert_non_null(strstr(err.msg, "bad JSON at byte"));
        assert_int_equal(v.type, SK_JSON_NULL); /* nothing left to free */
        assert_null(v.items);
    }
    /* len bounds the read: the text past it is never looked at. */
    sk_json_value v;
    sk_error err;
    assert_int_not_equal(sk_json_parse("[1]", 2, &v, &err), SK_OK);
    assert_int_not_equal(sk_json_parse(NULL, 5, &v, &err), SK_OK);
    /* An error names the byte where it was found. */
    assert_int_not_equal(sk_json_parse("[1, 2, x]", 9, &v, &err), SK_OK);
    assert_string_equal(err.msg, "bad JSON at byte 7: unexpected character");
}

static char *nested(size_t levels, size_t *len)
{
    char *s = sk_xmalloc(2 * levels);
    memset(s, '[', levels);
    memset(s + levels, ']', levels);
    *len = 2 * levels;
    return s;
}

static void test_reader_nesting(void **state)
{
    (void)state;
    sk_json_value v;
    sk_error err;
    size_t n;
    char *s = nested(SK_JSON_MAX_DEPTH, &n);
    assert_int_equal(sk_json_parse(s, n, &v, &err), SK_OK);
    sk_json_free(&v);
    free(s);
    s = nested(SK_JSON_MAX_DEPTH + 1, &n);
    assert_int_not_equal(sk_json_parse(s, n, &v, &err), SK_OK);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    free(s);
    /* Objects count the same, and a bomb fails fast, with no stack overflow. */
    sk_buf b;
    sk_buf_init(&b);
    for (int i = 0; i < 200000; i++)
        sk_buf_puts(&b, "{\"a\":[");
    assert_int_not_equal(sk_json_parse(b.data, b.len, &v, &err), SK_OK);
    assert_non_null(strstr(err.msg, "nested too deeply"));
    sk_buf_free(&b);
}

static void test_reader_numbers(void **state)
{
    (void)state;
    sk_json_value v;
    sk_error err;
    uint64_t u = 7;
    parse_ok("[9007199254740991, 9007199254740992, -1, 1.5, 1e20, 0, 1e-400, 2.5e1, \"1\"]", &v);
    assert_true(sk_json_u64(&v.items[0], &u));
    assert_true(u == 9007199254740991ull);
    for (int i = 1; i <= 4; i++)
        assert_false(sk_json_u64(&v.items[i], &u));
    assert_true(sk_json_u64(&v.items[5], &u) && u == 0);
    assert_true(v.items[6].num == 0.0); /* underflow is just zero */
    assert_true(sk_json_u64(&v.items[7], &u) && u == 25);
    assert_false(sk_json_u64(&v.items[8], &u));
    assert_false(sk_json_u64(NULL, &u));
    sk_json_free(&v);
    const char *huge[] = {"1e309", "-1e309", "[1, 2e400]"};
    for (size_t i = 0; i < sizeof huge / sizeof *huge; i++) {
        assert_int_not_equal(sk_json_parse(huge[i], strlen(huge[i]), &v, &err), SK_OK);
        assert_non_null(strstr(err.msg, "number out of range"));
    }
    char longnum[100];
    memset(longnum, '9', sizeof longnum - 1);
    longnum[sizeof longnum - 1] = '\0';
    assert_int_not_equal(sk_json_parse(longnum, strlen(longnum), &v, &err), SK_OK);
    assert_non_null(strstr(err.msg, "number too long"));
}

/* xorshift64: the same inputs on every run, so a failure reproduces. */
static uint64_t next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t count_values(const sk_json_value *v)
{
    size_t n = 1;
    for (size_t i = 0; i < v->n; i++)
        n += count_values(&v->items[i]);
    return n;
}

static void test_reader_mutations(void **state)
{
    (void)state;
    static const char *seeds[] = {
        "{\"upload\": {\"id\": 1, \"skipped_keys\": [\"a/B/a.sym\", \"c\\u00e9\\ud83d\\ude00\"]}, "
        "\"error\": null}",
        "{\"dumps\": [{\"name\": \"x\", \"crashing_thread\": {\"frames\": 12, \"cfi_share\": "
        "0.7500, \"trust\": {\"scan\": -1e3}}, \"expect\": [true, false]}]}",
        "[[[[{\"a\\\"\\\\\\n\": [1.5e-3, 0, -0, \"\\t\"]}]]]]",
    };
    const char alphabet[] = "{}[]\":,\\u0123456789.eE+-tfn ad\x01\xff";
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    size_t accepted = 0;
    for (int round = 0; round < 30000; round++) {
        const char *base = seeds[round % 3];
        size_t n = strlen(base);
        char buf[256];
        memcpy(buf, base, n);
        switch (next(&seed) % 4) {
        case 0: /* flip a few bytes */
            for (int k = 0; k < 3; k++)
                buf[next(&seed) % n] = (char)next(&seed);
            break;
        case 1: /* truncate */
            n = next(&seed) % n;
            break;
        case 2: /* JSON-ish noise, so the deeper paths get reached */
            for (int k = 0; k < 4; k++)
                buf[next(&seed) % n] = alphabet[next(&seed) % (sizeof alphabet - 1)];
            break;
        default: /* drop a byte */
            if (n > 1) {
                size_t at = next(&seed) % n;
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
            }
        }
        /* Exact-size heap copy, so ASan sees any read past len. */
        char *copy = sk_xmalloc(n ? n : 1);
        memcpy(copy, buf, n);
        sk_json_value v;
        sk_error err;
        sk_error_clear(&err);
        if (sk_json_parse(copy, n, &v, &err) == SK_OK) {
            accepted++;
            assert_true(count_values(&v) <= n); /* every value costs a byte */
            sk_json_find(&v, "skipped_keys");
            sk_json_free(&v);
        } else {
            size_t at = 0;
            assert_int_equal(sscanf(err.msg, "bad JSON at byte %zu", &at), 1);
            assert_true(at <= n);
            assert_int_equal(v.type, SK_JSON_NULL);
        }
        free(copy);
    }
    /* Both outcomes happened: the loop did exercise the accepting paths. */
    assert_true(accepted > 100 && accepted < 30000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_escaping), cmocka_unit_test(test_writer_layout),
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_reader_strings),
        cmocka_unit_test(test_reader_bad_input), cmocka_unit_test(test_reader_nesting),
        cmocka_unit_test(test_reader_numbers),  cmocka_unit_test(test_reader_mutations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
