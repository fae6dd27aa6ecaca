/*
 * Unit tests of the upload library's pieces that need no network: keys
 * from MODULE lines, lint and collisions, backoff and Retry-After, archive
 * splitting and zip layout, reading Tecken's JSON replies, the store, and
 * the S3 pieces (s3:// URLs, addressing, XML replies, gzip bodies and their
 * per-part SHA-256).
 *
 * argv[1]: a scratch directory (under the build tree) for temporary files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <utime.h>
#include <zip.h>
#include <zlib.h>

#include "su_internal.h"

static const char *scratch;
static const char ID[] = "20AD60B0B4C68177552708AA192E77390";

static char *scratch_path(const char *name)
{
    return sk_path_join(scratch, name);
}

static char *write_scratch(const char *name, const char *text)
{
    char *p = scratch_path(name);
    char *dir = sk_xstrdup(p);
    *strrchr(dir, '/') = '\0';
    assert_int_equal(sk_mkdir_p(dir, NULL), SK_OK);
    free(dir);
    assert_int_equal(sk_write_file_atomic(p, text, strlen(text), NULL), SK_OK);
    return p;
}

/* ---- keys ------------------------------------------------------------------ */

static void expect_key(const char *text, const char *want)
{
    char *key = NULL;
    sk_error err;
    sk_error_clear(&err);
    int rc = su_key_from_module_line(text, strlen(text), &key, &err);
    if (rc != SK_OK)
        fail_msg("'%s': %s", text, err.msg);
    assert_string_equal(key, want);
    free(key);
}

static void expect_bad(const char *text, const char *in_msg)
{
    char *key = (char *)1;
    sk_error err;
    sk_error_clear(&err);
    assert_int_not_equal(su_key_from_module_line(text, strlen(text), &key, &err), SK_OK);
    assert_null(key);
    if (!strstr(err.msg, in_msg))
        fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, in_msg);
}

static void test_keys(void **state)
{
    (void)state;
    expect_key("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 libfoo.so\nFUNC 0 1 0 f\n",
               "libfoo.so/20AD60B0B4C68177552708AA192E77390/libfoo.so.sym");
    expect_key("MODULE windows x86 20AD60B0B4C68177552708AA192E77390 app.pdb\r\n",
               "app.pdb/20AD60B0B4C68177552708AA192E77390/app.sym");
    expect_key("MODULE mac arm64 20AD60B0B4C68177552708AA192E77390 Foo", /* no newline */
               "Foo/20AD60B0B4C68177552708AA192E77390/Foo.sym");
    /* Only the first line counts. */
    expect_key("MODULE Linux arm 20AD60B0B4C68177552708AA192E77390 a.so\nMODULE Linux arm "
               "20AD60B0B4C68177552708AA192E77391 b.so\n",
               "a.so/20AD60B0B4C68177552708AA192E77390/a.so.sym");
}

static void test_lint_rejects(void **state)
{
    (void)state;
    expect_bad("MODULE Linux x86_64 20ad60b0b4c68177552708aa192e77390 libfoo.so\n", "upper-case");
    expect_bad("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E7739 libfoo.so\n", "");
    expect_bad("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E773900 libfoo.so\n", "");
    expect_bad("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E7739G libfoo.so\n", "");
    expect_bad("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390\n", "want 5");
    expect_bad("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 lib foo.so\n", "want 5");
    expect_bad("INFO CODE_ID 1234\n", "not a MODULE");
    expect_bad("", "no MODULE");
    expect_bad("\nMODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 a.so\n", "no MODULE");
    expect_bad("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 ..\n", "");
    expect_bad("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 .\n", "");
    expect_bad("MODULEX Linux x86_64 20AD60B0B4C68177552708AA192E77390 a.so\n", "");
    const char nul[] = "MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 a\0b.so\n";
    char *key = NULL;
    assert_int_not_equal(su_key_from_module_line(nul, sizeof nul - 1, &key, NULL), SK_OK);
    assert_null(key);
    expect_bad("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 a\x01b\n", "");
    /* Names a local store takes although Tecken refuses them (symupload
     * refuses them at upload time, see run.c): 8-bit bytes, '#', '|', "[". */
    expect_key("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 lib\xc3\xa9.so\n",
               "lib\xc3\xa9.so/20AD60B0B4C68177552708AA192E77390/lib\xc3\xa9.so.sym");
    expect_key("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 lib#1.so\n",
               "lib#1.so/20AD60B0B4C68177552708AA192E77390/lib#1.so.sym");
    expect_key("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 a|b\n",
               "a|b/20AD60B0B4C68177552708AA192E77390/a|b.sym");
    expect_key("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 [\n",
               "[/20AD60B0B4C68177552708AA192E77390/[.sym");
}

static void test_lint_set(void **state)
{
    (void)state;
    char line[256];
    snprintf(line, sizeof line, "MODULE Linux x86_64 %s libl.so\nFUNC 0 1 0 a\n", ID);
    char *a = write_scratch("lint/a.sym", line);
    char *b = write_scratch("lint/sub/b-copy.sym", line); /* identical: duplicate */
    snprintf(line, sizeof line, "MODULE Linux x86_64 %s libl.so\nFUNC 0 2 0 b\n", ID);
    char *c = write_scratch("lint/sub/c.sym", line); /* same key, different: collision */
    char *d = write_scratch("lint/d.sym", "garbage\n");
    char *e = write_scratch("lint/ignored.txt", "not a sym\n");
    su_set set;
    su_set_init(&set);
    char *dir = scratch_path("lint");
    assert_int_equal(su_collect(&set, dir, NULL), SK_OK);
    assert_int_equal(set.n, 4); /* ignored.txt is not collected from directories */
    su_lint(&set);
    size_t ok = 0, invalid = 0, dup = 0, coll = 0;
    for (size_t i = 0; i < set.n; i++) {
        switch (set.files[i].lint) {
        case SU_LINT_OK: ok++; break;
        case SU_LINT_INVALID: invalid++; assert_non_null(strstr(set.files[i].path, "d.sym")); break;
        case SU_LINT_DUPLICATE: dup++; break;
        case SU_LINT_COLLISION: coll++; break;
        }
    }
    assert_int_equal(ok, 0);
    assert_int_equal(invalid, 1);
    assert_int_equal(dup, 1);
    assert_int_equal(coll, 2);
    su_set_free(&set);
    /* A missing path is an error. */
    char *missing = scratch_path("lint/nope");
    assert_int_not_equal(su_collect(&set, missing, NULL), SK_OK);
    su_set_free(&set);
    free(a); free(b); free(c); free(d); free(e); free(dir); free(missing);
}

/* ---- retry policy ------------------------------------------------------------ */

static void test_backoff(void **state)
{
    (void)state;
    assert_float_equal(su_backoff_delay(10, 1, 0), 5.0, 1e-9);
    assert_float_equal(su_backoff_delay(10, 1, 0.999999), 10.0, 1e-4);
    assert_float_equal(su_backoff_delay(10, 2, 0), 7.5, 1e-9);
    assert_float_equal(su_backoff_delay(10, 3, 0), 11.25, 1e-9);
    assert_float_equal(su_backoff_delay(10, 0, 0), 5.0, 1e-9); /* treated as the first */
    /* Capped, and a huge attempt count neither overflows nor loops forever. */
    assert_float_equal(su_backoff_delay(10, 30, 0.999999), SU_BACKOFF_CAP, 1e-3);
    assert_float_equal(su_backoff_delay(10, 4000000000u, 0), SU_BACKOFF_CAP / 2, 1e-9);
    /* A base above the cap is kept rather than shortened. */
    assert_float_equal(su_backoff_delay(300, 5, 0), 150, 1e-9);
    assert_float_equal(su_backoff_delay(0, 5, 0.5), 0, 0);
    /* Jitter stays inside [d/2, d) and out-of-range r is clamped. */
    assert_float_equal(su_backoff_delay(10, 1, -3), 5.0, 1e-9);
    assert_true(su_backoff_delay(10, 1, 7) <= 10.0);
    double prev = 0;
    for (unsigned a = 1; a < 20; a++) {
        double d = su_backoff_delay(1, a, 0.5);
        assert_true(d >= prev);
        prev = d;
    }
    for (int i = 0; i < 1000; i++) {
        double r = su_random_unit();
        assert_true(r >= 0 && r < 1);
    }
}

static void test_retry_after(void **state)
{
    (void)state;
    double s = -1;
    time_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
    assert_true(su_parse_retry_after("120", now, &s));
    assert_float_equal(s, 120, 0);
    assert_true(su_parse_retry_after("  5 \r\n", now, &s));
    assert_float_equal(s, 5, 0);
    assert_true(su_parse_retry_after("0", now, &s));
    assert_float_equal(s, 0, 0);
    assert_true(su_parse_retry_after("99999999999999999999999999", now, &s));
    assert_float_equal(s, SU_RETRY_AFTER_CAP, 0);
    assert_true(su_parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now, &s));
    assert_float_equal(s, 30, 0);
    assert_true(su_parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now, &s));
    assert_float_equal(s, 0, 0); /* in the past */
    assert_true(su_parse_retry_after("Thu, 22 Oct 2015 07:28:00 GMT", now, &s));
    assert_float_equal(s, SU_RETRY_AFTER_CAP, 0);
    s = 42;
    assert_false(su_parse_retry_after("", now, &s));
    assert_false(su_parse_retry_after("   ", now, &s));
    assert_false(su_parse_retry_after(NULL, now, &s));
    assert_false(su_parse_retry_after("-1", now, &s));
    assert_false(su_parse_retry_after("1.5", now, &s));
    assert_false(su_parse_retry_after("12abc", now, &s));
    assert_false(su_parse_retry_after("soon", now, &s));
    assert_false(su_parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT junk", now, &s));
    assert_false(su_parse_retry_after("Wed, 32 Oct 2015 07:28:30 GMT", now, &s));
    char longv[200];
    memset(longv, 'W', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    assert_false(su_parse_retry_after(longv, now, &s));
    assert_float_equal(s, 42, 0); /* untouched on failure */
}

static void test_status_retryable(void **state)
{
    (void)state;
    const long yes[] = {408, 429, 500, 502, 503, 504};
    const long no[] = {200, 201, 301, 400, 401, 403, 404, 413, 501, 505};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        assert_true(su_status_retryable(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_false(su_status_retryable(no[i]));
}

/* ---- archives ---------------------------------------------------------------- */

static void test_plan_groups(void **state)
{
    (void)state;
    size_t g[8];
    const uint64_t a[] = {3, 3, 3};
    assert_int_equal(su_plan_groups(a, 3, 6, g), 2);
    assert_int_equal(g[0], 0);
    assert_int_equal(g[1], 0);
    assert_int_equal(g[2], 1);
    /* A file over the limit travels alone; its neighbours are not dragged in. */
    const uint64_t b[] = {1, 100, 1, 1};
    assert_int_equal(su_plan_groups(b, 4, 10, g), 3);
    assert_int_equal(g[0], 0);
    assert_int_equal(g[1], 1);
    assert_int_equal(g[2], 2);
    assert_int_equal(g[3], 2);
    assert_int_equal(su_plan_groups(b, 0, 10, g), 0);
    const uint64_t c[] = {5, 5, 5, 5};
    assert_int_equal(su_plan_groups(c, 4, 10, g), 2); /* exact fill */
    assert_int_equal(su_plan_groups(c, 4, UINT64_MAX, g), 1);
    const uint64_t d[] = {UINT64_MAX, UINT64_MAX, 1};
    assert_int_equal(su_plan_groups(d, 3, UINT64_MAX - 1, g), 3); /* no overflow */
    assert_int_equal(su_plan_groups(c, 4, 0, g), 4);
}

static void test_build_zip(void **state)
{
    (void)state;
    su_set set;
    su_set_init(&set);
    char text[2][512];
    const char *names[2] = {"libz1.so", "libz2.so"};
    for (int i = 0; i < 2; i++) {
        snprintf(text[i], sizeof text[i],
                 "MODULE Linux x86_64 %s %s\nFUNC 1000 10 0 main\n1000 10 1 0\n"
                 "FUNC 2000 10 0 main\n2000 10 1 0\nFUNC 3000 10 0 main\n",
                 ID, names[i]);
        char rel[64];
        snprintf(rel, sizeof rel, "zip/%d.sym", i);
        char *p = write_scratch(rel, text[i]);
        assert_int_equal(su_collect(&set, p, NULL), SK_OK);
        free(p);
    }
    su_lint(&set);
    /* Known past times: the listing member must take the newest of them,
     * not the current time. */
    const time_t t0 = 978307200, t1 = 978310800; /* 2001-01-01 00:00, 01:00 UTC */
    struct utimbuf ut0 = {t0, t0}, ut1 = {t1, t1};
    assert_int_equal(utime(set.files[0].path, &ut0), 0);
    assert_int_equal(utime(set.files[1].path, &ut1), 0);
    size_t idx[2] = {0, 1};
    uint64_t len = 0;
    sk_error err;
    sk_error_clear(&err);
    char *zpath = scratch_path("zip/out.zip");
    assert_int_equal(su_build_zip(&set, idx, 2, "app-1.0", zpath, &len, &err), SK_OK);
    struct stat zst;
    assert_int_equal(stat(zpath, &zst), 0);
    assert_int_equal((uint64_t)zst.st_size, len);

    int zerr = 0;
    zip_t *za = zip_open(zpath, ZIP_RDONLY | ZIP_CHECKCONS, &zerr);
    assert_non_null(za);
    assert_int_equal(zip_get_num_entries(za, 0), 3);
    for (int i = 0; i < 2; i++) {
        zip_stat_t st;
        assert_int_equal(zip_stat(za, set.files[i].key, 0, &st), 0);
        assert_int_equal(st.comp_method, ZIP_CM_DEFLATE);
        assert_int_equal(st.size, strlen(text[i]));
        char got[512];
        zip_file_t *zf = zip_fopen(za, set.files[i].key, 0);
        assert_non_null(zf);
        assert_int_equal(zip_fread(zf, got, sizeof got), (zip_int64_t)strlen(text[i]));
        assert_memory_equal(got, text[i], strlen(text[i]));
        zip_fclose(zf);
    }
    zip_stat_t lst;
    assert_int_equal(zip_stat(za, "app-1.0-symbols.txt", 0, &lst), 0);
    assert_true(lst.valid & ZIP_STAT_MTIME);
    /* DOS times have 2 s resolution and are stored in local time: compare
     * through the same conversion libzip uses for the members. */
    zip_stat_t mst;
    assert_int_equal(zip_stat(za, set.files[1].key, 0, &mst), 0);
    assert_int_equal(lst.mtime, mst.mtime);
    zip_file_t *zf = zip_fopen(za, "app-1.0-symbols.txt", 0);
    assert_non_null(zf);
    char listing[512] = {0};
    zip_fread(zf, listing, sizeof listing - 1);
    zip_fclose(zf);
    char want[512];
    snprintf(want, sizeof want, "%s\n%s\n", set.files[0].key, set.files[1].key);
    assert_string_equal(listing, want);
    zip_close(za);

    /* Deterministic: the same files give byte-identical archives. */
    char *zpath2 = scratch_path("zip/out2.zip");
    uint64_t len2 = 0;
    assert_int_equal(su_build_zip(&set, idx, 2, "app-1.0", zpath2, &len2, &err), SK_OK);
    char *d1 = NULL, *d2 = NULL;
    size_t l1 = 0, l2 = 0;
    assert_int_equal(sk_read_file(zpath, &d1, &l1, NULL), SK_OK);
    assert_int_equal(sk_read_file(zpath2, &d2, &l2, NULL), SK_OK);
    assert_int_equal(l1, l2);
    assert_memory_equal(d1, d2, l1);
    free(d1);
    free(d2);
    free(zpath2);

    /* A file vanishing between lint and zip is an error naming it, not a
     * short zip; and an archive of nothing is refused. */
    char *gone = scratch_path("zip/1.sym");
    remove(gone);
    free(gone);
    remove(zpath);
    assert_int_not_equal(su_build_zip(&set, idx, 2, NULL, zpath, &len, &err), SK_OK);
    assert_non_null(strstr(err.msg, "1.sym"));
    assert_int_not_equal(stat(zpath, &zst), 0);
    assert_int_not_equal(su_build_zip(&set, idx, 0, NULL, zpath, &len, &err), SK_OK);
    /* An unwritable destination is an error too. */
    assert_int_not_equal(su_build_zip(&set, idx, 1, NULL, "/nonexistent-dir/x.zip", &len, &err),
                         SK_OK);
    free(zpath);
    su_set_free(&set);
}

/* ---- JSON ---------------------------------------------------------------------- */

typedef struct keys {
    char got[8][128];
    int n;
} keys;

static void collect_key(const char *key, void *ctx)
{
    keys *k = ctx;
    if (k->n < 8)
        snprintf(k->got[k->n++], sizeof k->got[0], "%s", key);
}

static int skipped(const char *json, keys *k)
{
    memset(k, 0, sizeof *k);
    return su_json_skipped_keys(json, strlen(json), collect_key, k);
}

static void test_json(void **state)
{
    (void)state;
    char *e = su_json_error("{\"error\": \"Invalid token\"}", 26);
    assert_string_equal(e, "Invalid token");
    free(e);
    const char *j = "{\"detail\": \"the \\\"error\\\": no\", \"error\" : \"a\\\\b\\u0041\\u00e9\\n\"}";
    e = su_json_error(j, strlen(j));
    assert_string_equal(e, "a\\bA?\n");
    free(e);
    const char *bad[] = {"", "{", "{\"error\"", "{\"error\":", "{\"error\": 5}", "{\"error\": \"abc",
                         "{\"error\": \"\\u12\"}", "{\"error\": \"\\q\"}", "<html>502</html>"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_null(su_json_error(bad[i], strlen(bad[i])));
    assert_null(su_json_error(NULL, 0));
    /* Length bounds the read even without a terminator. */
    e = su_json_error("{\"error\": \"abc\"}", 13);
    assert_null(e);

    keys k;
    assert_int_equal(skipped("{\"upload\": {\"id\": 1, \"skipped_keys\": [\"a/B/a.sym\", "
                             "\"v1/c/D/c.sym\"], \"size\": 3}}",
                             &k),
                     2);
    assert_string_equal(k.got[0], "a/B/a.sym");
    assert_string_equal(k.got[1], "v1/c/D/c.sym");
    assert_int_equal(skipped("{\"upload\": {\"skipped_keys\": []}}", &k), 0);
    assert_int_equal(skipped("{\"upload\": {\"skipped_keys\": null}}", &k), 0);
    assert_int_equal(skipped("{\"upload\": {}}", &k), 0);
    assert_int_equal(skipped("{\"skipped_keys\": [\"a\",]}", &k), -1);
    assert_int_equal(skipped("{\"skipped_keys\": [\"a\" \"b\"]}", &k), -1);
    assert_int_equal(skipped("{\"skipped_keys\": [\"a\"", &k), -1);
    assert_int_equal(skipped("{\"skipped_keys\": [1]}", &k), -1);
    assert_int_equal(skipped("{\"skipped_keys\": \"a\"}", &k), -1);
    assert_int_equal(su_json_skipped_keys(NULL, 0, NULL, NULL), -1);

    const char *rec = "{\"upload\": {\"id\": 1}}";
    assert_true(su_json_has_member(rec, strlen(rec), "upload"));
    assert_false(su_json_has_member(rec, strlen(rec), "error"));
    const char *html = "<html>\"upload\" here</html>";
    assert_false(su_json_has_member(html, strlen(html), "upload"));
    const char *inval = "{\"x\": \"\\\"upload\\\": 1\"}"; /* inside a string value */
    assert_false(su_json_has_member(inval, strlen(inval), "upload"));
    assert_false(su_json_has_member(NULL, 0, "upload"));
}

/* ---- store ---------------------------------------------------------------------- */

static void test_store(void **state)
{
    (void)state;
    char line[256];
    snprintf(line, sizeof line, "MODULE Linux x86_64 %s libst.so\nPUBLIC 10 0 x\n", ID);
    char *src = write_scratch("storein/x.sym", line);
    char *store = scratch_path("store");
    su_set set;
    su_set_init(&set);
    assert_int_equal(su_collect(&set, src, NULL), SK_OK);
    su_options opt;
    su_options_init(&opt);
    opt.store_dir = store;
    assert_int_equal(su_run(&set, &opt, NULL), SK_OK);
    assert_int_equal(set.files[0].store, SU_ST_WRITTEN);
    assert_true(su_all_ok(&set));
    char *dest = sk_path_join(store, set.files[0].key);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(sk_read_file(dest, &data, &len, NULL), SK_OK);
    assert_int_equal(len, strlen(line));
    assert_memory_equal(data, line, len);
    free(data);
    su_set_free(&set);

    /* Identical: left alone.  Different: reported, not overwritten. */
    su_set_init(&set);
    assert_int_equal(su_collect(&set, src, NULL), SK_OK);
    assert_int_equal(su_run(&set, &opt, NULL), SK_OK);
    assert_int_equal(set.files[0].store, SU_ST_SAME);
    su_set_free(&set);
    assert_int_equal(sk_write_file_atomic(dest, "other\n", 6, NULL), SK_OK);
    su_set_init(&set);
    assert_int_equal(su_collect(&set, src, NULL), SK_OK);
    assert_int_equal(su_run(&set, &opt, NULL), SK_OK);
    assert_int_equal(set.files[0].store, SU_ST_DIFFERS);
    assert_false(su_all_ok(&set));
    assert_int_equal(sk_read_file(dest, &data, &len, NULL), SK_OK);
    assert_int_equal(len, 6);
    free(data);
    su_set_free(&set);

    /* Bad options are refused before anything happens. */
    su_options bad;
    su_options_init(&bad);
    assert_int_equal(su_run(&set, &bad, NULL), SK_EUSAGE);
    bad.url = "http://127.0.0.1:1";
    assert_int_equal(su_run(&set, &bad, NULL), SK_EUSAGE); /* no token */
    bad.token = "a\nb";
    assert_int_equal(su_run(&set, &bad, NULL), SK_EUSAGE);
    free(dest);
    free(store);
    free(src);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- hostile input --------------------------------------------------------------- */

static void count_key(const char *key, void *ctx)
{
    (void)key;
    (*(int *)ctx)++;
}


/* ---- S3 -------------------------------------------------------------------- */

static void expect_s3_url(const char *url, const char *bucket, const char *prefix)
{
    char *b = NULL, *p = NULL;
    sk_error err;
    sk_error_clear(&err);
    if (su_s3_parse_url(url, &b, &p, &err) != SK_OK)
        fail_msg("'%s': %s", url, err.msg);
    assert_string_equal(b, bucket);
    assert_string_equal(p, prefix);
    free(b);
    free(p);
}

static void expect_s3_bad(const char *url, const char *in_msg)
{
    char *b = (char *)1, *p = (char *)1;
    sk_error err;
    sk_error_clear(&err);
    assert_int_equal(su_s3_parse_url(url, &b, &p, &err), SK_EUSAGE);
    assert_null(b);
    assert_null(p);
    if (!strstr(err.msg, in_msg))
        fail_msg("'%s': message '%s' lacks '%s'", url, err.msg, in_msg);
}

static void expect_base(const char *endpoint, const char *bucket, bool path, const char *want)
{
    char *out = NULL;
    sk_error err;
    sk_error_clear(&err);
    if (su_s3_base_url(endpoint, "eu-west-3", bucket, path, &out, &err) != SK_OK)
        fail_msg("%s: %s", endpoint ? endpoint : "(aws)", err.msg);
    assert_string_equal(out, want);
    free(out);
}

static void test_s3_urls(void **state)
{
    (void)state;
    expect_s3_url("s3://symbols", "symbols", "");
    expect_s3_url("s3://symbols/", "symbols", "");
    expect_s3_url("s3://my.bucket-1/v1/syms/", "my.bucket-1", "v1/syms");
    expect_s3_url("s3://b//x", "b", "x");
    expect_s3_bad("http://b/x", "not an s3://");
    expect_s3_bad("s3://", "names no bucket");
    expect_s3_bad("s3:///x", "names no bucket");
    expect_s3_bad("s3://bu cket", "not a bucket name");
    expect_s3_bad("s3://user@host", "not a bucket name");
    expect_s3_bad("s3://b?x=1", "not a bucket name");
    expect_s3_bad("s3://b/../etc", "not allowed");
    expect_s3_bad("s3://b/a%20b", "not allowed");
    expect_s3_bad("s3://b/a//c", "empty component");

    assert_true(su_s3_use_path_style(SU_S3_AUTO, "http://127.0.0.1:9000", "b"));
    assert_false(su_s3_use_path_style(SU_S3_AUTO, NULL, "b"));
    assert_true(su_s3_use_path_style(SU_S3_AUTO, NULL, "my.dotted"));
    assert_false(su_s3_use_path_style(SU_S3_VIRTUAL, "http://h", "b"));
    assert_true(su_s3_use_path_style(SU_S3_PATH, NULL, "b"));

    expect_base(NULL, "b", false, "https://b.s3.eu-west-3.amazonaws.com");
    expect_base(NULL, "b", true, "https://s3.eu-west-3.amazonaws.com/b");
    expect_base("http://127.0.0.1:9000", "b", true, "http://127.0.0.1:9000/b");
    expect_base("http://127.0.0.1:9000/", "b", true, "http://127.0.0.1:9000/b");
    expect_base("https://minio.example/s3/", "b", true, "https://minio.example/s3/b");
    expect_base("http://localhost:9000", "b", false, "http://b.localhost:9000");
    const char *bad[] = {"ftp://h", "h:9000", "http://", "http://u:p@h", "http://h?x=1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = (char *)1;
        sk_error err;
        sk_error_clear(&err);
        assert_int_equal(su_s3_base_url(bad[i], "r", "b", true, &out, &err), SK_EUSAGE);
        assert_null(out);
    }
}

static void expect_xml(const char *xml, const char *tag, const char *want)
{
    char *got = su_xml_text(xml, strlen(xml), tag);
    if (!want) {
        if (got)
            fail_msg("'%s' <%s>: got '%s', wanted nothing", xml, tag, got);
        return;
    }
    if (!got)
        fail_msg("'%s' <%s>: got nothing, wanted '%s'", xml, tag, want);
    assert_string_equal(got, want);
    free(got);
}

static void test_s3_xml(void **state)
{
    (void)state;
    const char *err = "<?xml version=\"1.0\"?>\n<Error><Code>SlowDown</Code>"
                      "<Message>Please &amp; thank &lt;you&gt;</Message></Error>";
    expect_xml(err, "Code", "SlowDown");
    expect_xml(err, "Message", "Please & thank <you>");
    assert_true(su_xml_has_element(err, strlen(err), "Error"));
    assert_false(su_xml_has_element(err, strlen(err), "Err"));
    expect_xml("<R><UploadId>a.b~c_d-1</UploadId></R>", "UploadId", "a.b~c_d-1");
    expect_xml("<R><UploadId xmlns=\"x\">id</UploadId></R>", "UploadId", "id");
    expect_xml("<R><UploadId/></R>", "UploadId", "");
    expect_xml("<R><CodeX>a</CodeX><Code>b</Code></R>", "Code", "b");
    /* Bad input: truncated, unclosed, nested, control bytes. */
    expect_xml("<Code>Slow", "Code", NULL);
    expect_xml("<Code", "Code", NULL);
    expect_xml("<Code>a</Cod>", "Code", NULL);
    expect_xml("<Code><b>x</b></Code>", "Code", NULL);
    expect_xml("", "Code", NULL);
    expect_xml("<Code>a\x01\nb</Code>", "Code", "a  b");
    expect_xml("<Code>&bogus;</Code>", "Code", "&bogus;");
    sk_buf b;
    sk_buf_init(&b);
    su_xml_escape(&b, "\"e\"&<>");
    assert_string_equal(b.data, "\"e\"&amp;&lt;&gt;");
    sk_buf_free(&b);

    assert_true(strstr(su_s3_refusal_hint("RequestTimeTooSkewed"), "clock skew") != NULL);
    assert_true(strstr(su_s3_refusal_hint("SignatureDoesNotMatch"), "bad credentials") != NULL);
    assert_true(strstr(su_s3_refusal_hint("InvalidAccessKeyId"), "AWS_ACCESS_KEY_ID") != NULL);
    assert_true(strstr(su_s3_refusal_hint(NULL), "refused") != NULL);
    assert_true(su_s3_code_retryable("SlowDown"));
    assert_true(su_s3_code_retryable("InternalError"));
    assert_false(su_s3_code_retryable("AccessDenied"));
    assert_false(su_s3_code_retryable(NULL));
}

static void check_body(const char *path, uint64_t size, bool compress, uint64_t part)
{
    su_s3_body b;
    sk_error err;
    sk_error_clear(&err);
    assert_int_equal(su_s3_body_prepare(path, size, compress, part, scratch, &b, &err), SK_OK);
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(sk_read_file(path, &data, &len, NULL), SK_OK);
    char sha[65];
    su_sha256_hex(data, len, sha);
    assert_string_equal(sha, b.plain_sha);
    assert_int_equal(b.plain_size, len);
    /* The body, read back part by part, hashes to each part's hash. */
    unsigned char *body = sk_xmalloc(b.len ? b.len : 1);
    uint64_t off = 0;
    for (size_t p = 0; p < b.nparts; p++) {
        uint64_t pl = su_s3_part_len(&b, p);
        assert_true(pl > 0);
        assert_int_equal(su_s3_body_read(&b, off, body + off, pl), (ssize_t)pl);
        su_sha256_hex(body + off, pl, sha);
        assert_string_equal(sha, b.part_sha[p]);
        off += pl;
    }
    assert_int_equal(off, b.len);
    assert_int_equal(b.nparts, b.len ? (b.len + b.part_size - 1) / b.part_size : 1);
    if (compress) {
        unsigned char *out = sk_xmalloc(len + 1);
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
        zs.next_in = body;
        zs.avail_in = (uInt)b.len;
        zs.next_out = out;
        zs.avail_out = (uInt)len + 1;
        assert_int_equal(inflate(&zs, Z_FINISH), Z_STREAM_END);
        assert_int_equal(zs.total_out, len);
        assert_memory_equal(out, data, len);
        inflateEnd(&zs);
        free(out);
    } else {
        assert_int_equal(b.len, len);
        assert_memory_equal(body, data, len);
    }
    free(body);
    free(data);
    char *tmp = b.tmp_path ? sk_xstrdup(b.tmp_path) : NULL;
    su_s3_body_free(&b);
    if (tmp) {
        assert_false(sk_is_file(tmp)); /* the compressed copy is gone */
        free(tmp);
    }
}

static void test_s3_body(void **state)
{
    (void)state;
    char *small = write_scratch("s3/small.sym", "MODULE Linux x86_64 " "20AD60B0B4C68177552708AA192E77390 a\n");
    check_body(small, strlen("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 a\n"), true,
               SU_S3_MIN_PART);
    check_body(small, strlen("MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 a\n"), false,
               SU_S3_MIN_PART);
    /* 12 MiB of poorly compressible text: several parts, through a temporary
     * file when compressed and straight from the file when plain. */
    sk_buf t;
    sk_buf_init(&t);
    sk_buf_puts(&t, "MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 big\n");
    unsigned short seed[3] = {7, 8, 9};
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while (t.len < (12u << 20)) {
        char line[80];
        for (int i = 0; i < 64; i++)
            line[i] = b64[(int)(erand48(seed) * 64)];
        line[64] = '\n';
        sk_buf_append(&t, line, 65);
    }
    char *big = scratch_path("s3/big.sym");
    assert_int_equal(sk_write_file_atomic(big, t.data, t.len, NULL), SK_OK);
    check_body(big, t.len, true, SU_S3_MIN_PART);
    check_body(big, t.len, false, SU_S3_MIN_PART);
    /* A size that disagrees with the file (it changed since it was linted). */
    su_s3_body b;
    sk_error err;
    sk_error_clear(&err);
    assert_int_not_equal(su_s3_body_prepare(big, t.len - 1, true, SU_S3_MIN_PART, scratch, &b, &err),
                         SK_OK);
    assert_non_null(strstr(err.msg, "changed while being read"));
    sk_error_clear(&err);
    assert_int_not_equal(su_s3_body_prepare("/nonexistent/x.sym", 1, true, SU_S3_MIN_PART, scratch,
                                            &b, &err),
                         SK_OK);
    assert_non_null(strstr(err.msg, "/nonexistent/x.sym"));
    sk_buf_free(&t);
    free(small);
    free(big);
}

/* Random bytes and mutations of valid inputs through every parser: under
 * the sanitizers any out-of-bounds read shows; results must stay sane. */
static void test_fuzz_parsers(void **state)
{
    (void)state;
    unsigned short seed[3] = {1, 2, 3};
    const char *seeds[] = {
        "{\"upload\": {\"skipped_keys\": [\"a/B/a.sym\", \"x\\u0041\"]}, \"error\": \"e\\\"f\"}",
        "MODULE Linux x86_64 20AD60B0B4C68177552708AA192E77390 libfoo.so\n",
        "Wed, 21 Oct 2015 07:28:30 GMT",
        "<Error><Code>SlowDown</Code><Message>a &amp; b</Message><UploadId>x</UploadId></Error>",
    };
    char buf[160];
    for (int round = 0; round < 20000; round++) {
        const char *base = seeds[round % 4];
        size_t n = strlen(base);
        if (n >= sizeof buf)
            n = sizeof buf - 1;
        memcpy(buf, base, n);
        /* Flip, truncate or replace with noise. */
        int mode = (int)(erand48(seed) * 3);
        if (mode == 0) {
            for (int k = 0; k < 3; k++)
                buf[(size_t)(erand48(seed) * (double)n)] = (char)(erand48(seed) * 256);
        } else if (mode == 1) {
            n = (size_t)(erand48(seed) * (double)n);
        } else {
            for (size_t k = 0; k < n; k++)
                buf[k] = (char)(erand48(seed) * 256);
        }
        /* Exact-size heap copy so ASan sees any read past the end. */
        char *copy = sk_xmalloc(n ? n : 1);
        memcpy(copy, buf, n);
        char *e = su_json_error(copy, n);
        if (e)
            assert_true(strlen(e) <= n);
        free(e);
        int count = 0;
        int r = su_json_skipped_keys(copy, n, count_key, &count);
        assert_true(r == -1 || r == count);
        static const char *const tags[] = {"Code", "Message", "UploadId", "Error"};
        for (size_t t = 0; t < 4; t++) {
            char *x = su_xml_text(copy, n, tags[t]);
            if (x)
                assert_true(strlen(x) <= n);
            free(x);
            (void)su_xml_has_element(copy, n, tags[t]);
        }
        char *key = NULL;
        if (su_key_from_module_line(copy, n, &key, NULL) == SK_OK) {
            assert_non_null(key);
            assert_non_null(strstr(key, ".sym"));
        }
        free(key);
        free(copy);
        char z[sizeof buf];
        memcpy(z, buf, n);
        z[n] = '\0';
        double sec;
        if (su_parse_retry_after(z, 1445412480, &sec))
            assert_true(sec >= 0 && sec <= SU_RETRY_AFTER_CAP);
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    scratch = argv[1];
    /* Start from nothing: files left by an earlier run would change results. */
    nftw(scratch, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (sk_mkdir_p(scratch, NULL) != SK_OK)
        return 2;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_lint_rejects),
        cmocka_unit_test(test_lint_set),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_status_retryable),
        cmocka_unit_test(test_plan_groups),
        cmocka_unit_test(test_build_zip),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_s3_urls),
        cmocka_unit_test(test_s3_xml),
        cmocka_unit_test(test_s3_body),
        cmocka_unit_test(test_fuzz_parsers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
