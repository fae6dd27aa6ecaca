/* Unit tests for common/: ids, store keys, buffers, arenas, parsing, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static void test_debug_id_from_build_id(void **state)
{
    (void)state;
    /* Example from reference.md section 2. */
    const uint8_t id[] = {0xb0, 0x60, 0xad, 0x20, 0xc6, 0xb4, 0x77, 0x81, 0x55, 0x27,
                          0x08, 0xaa, 0x19, 0x2e, 0x77, 0x39, 0xfa, 0xc7, 0xc8, 0x4a};
    char out[34];
    sk_debug_id_from_build_id(id, sizeof id, true, out);
    assert_string_equal(out, "20AD60B0B4C68177552708AA192E77390");
    char code[41];
    sk_hex_upper(id, sizeof id, code);
    assert_string_equal(code, "B060AD20C6B47781552708AA192E7739FAC7C84A");
    /* Big-endian files keep their byte order. */
    sk_debug_id_from_build_id(id, sizeof id, false, out);
    assert_string_equal(out, "B060AD20C6B47781552708AA192E77390");
}

static void test_debug_id_short_build_id(void **state)
{
    (void)state;
    const uint8_t id[] = {0x10, 0xFA, 0xA6, 0xBB, 0xAA, 0xB8, 0x3D, 0xB3};
    char out[34];
    sk_debug_id_from_build_id(id, sizeof id, true, out);
    assert_string_equal(out, "BBA6FA10B8AAB33D00000000000000000");
}

static void test_debug_id_from_text(void **state)
{
    (void)state;
    uint8_t text[40];
    for (int i = 0; i < 40; i++)
        text[i] = (uint8_t)i;
    char out[34];
    sk_debug_id_from_text(text, sizeof text, true, out);
    /* h[i] = i ^ (i+16) ^ (i+32 if < 40) */
    uint8_t h[16] = {0};
    for (int i = 0; i < 40; i++)
        h[i % 16] ^= (uint8_t)i;
    char expect[34];
    sk_debug_id_from_build_id(h, 16, true, expect);
    assert_string_equal(out, expect);
    assert_true(sk_is_debug_id(out));
}

static void test_is_debug_id(void **state)
{
    (void)state;
    assert_true(sk_is_debug_id("20AD60B0B4C68177552708AA192E77390"));
    assert_false(sk_is_debug_id("20ad60b0b4c68177552708aa192e77390"));
    assert_false(sk_is_debug_id("20AD60B0B4C68177552708AA192E7739"));
    assert_false(sk_is_debug_id(NULL));
}

static void test_store_key(void **state)
{
    (void)state;
    sk_error err = {0};
    char *k = sk_store_key("libfoo.so", "20AD60B0B4C68177552708AA192E77390", &err);
    assert_non_null(k);
    assert_string_equal(k, "libfoo.so/20AD60B0B4C68177552708AA192E77390/libfoo.so.sym");
    free(k);
    k = sk_store_key("xul.pdb", "20AD60B0B4C68177552708AA192E77390", &err);
    assert_string_equal(k, "xul.pdb/20AD60B0B4C68177552708AA192E77390/xul.sym");
    free(k);
    assert_null(sk_store_key("..", "20AD60B0B4C68177552708AA192E77390", &err));
    assert_null(sk_store_key("a/b", "20AD60B0B4C68177552708AA192E77390", &err));
    assert_null(sk_store_key(".", "20AD60B0B4C68177552708AA192E77390", &err));
    assert_null(sk_store_key("", "20AD60B0B4C68177552708AA192E77390", &err));
    assert_null(sk_store_key("a\nb", "20AD60B0B4C68177552708AA192E77390", &err));
    assert_null(sk_store_key("a\x7f", "20AD60B0B4C68177552708AA192E77390", &err));
    assert_null(sk_store_key("libfoo.so", "20ad60b0b4c68177552708aa192e77390", &err));
    assert_int_equal(err.code, SK_EFORMAT);
    /* A local store takes every safe file name (coreutils' "["); only a
     * symbol server's keys are stricter. */
    static const char *const odd[] = {"[", "a%b", "lib#x.so", "x\\y", "caf\xc3\xa9", "a b", "...", NULL};
    for (size_t i = 0; odd[i]; i++) {
        k = sk_store_key(odd[i], "20AD60B0B4C68177552708AA192E77390", &err);
        assert_non_null(k);
        free(k);
        assert_true(sk_is_safe_path_component(odd[i]));
        assert_true(sk_is_safe_key_component(odd[i]) == (i >= 5));
    }
    assert_true(sk_is_safe_key_component("libpng16.so.16"));
    assert_false(sk_is_safe_path_component("a/b"));
}

static void test_buf_numbers(void **state)
{
    (void)state;
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_hex(&b, 0);
    sk_buf_putc(&b, ' ');
    sk_buf_hex(&b, 0xdeadbeef12ULL);
    sk_buf_putc(&b, ' ');
    sk_buf_dec(&b, 18446744073709551615ULL);
    sk_buf_printf(&b, " %s", "x");
    assert_string_equal(b.data, "0 deadbeef12 18446744073709551615 x");
    sk_buf_free(&b);
}

static void test_parse_numbers(void **state)
{
    (void)state;
    uint64_t v;
    assert_true(sk_parse_hex("ffffffffffffffff", 16, &v));
    assert_true(v == UINT64_MAX);
    assert_false(sk_parse_hex("1ffffffffffffffff", 17, &v));
    assert_false(sk_parse_hex("12g", 3, &v));
    assert_false(sk_parse_hex("", 0, &v));
    assert_true(sk_parse_dec("18446744073709551615", 20, &v));
    assert_false(sk_parse_dec("18446744073709551616", 20, &v));
    assert_false(sk_parse_dec("-1", 2, &v));
}

static void test_arena(void **state)
{
    (void)state;
    sk_arena *a = sk_arena_create();
    for (int i = 0; i < 10000; i++) {
        char *s = sk_arena_printf(a, "name%d", i);
        assert_string_equal(s, (i == 0) ? "name0" : s);
        assert_true(((uintptr_t)s & 15) == 0);
    }
    char *big = sk_arena_alloc(a, 5 << 20);
    big[(5 << 20) - 1] = 1;
    assert_true(sk_arena_bytes(a) >= (5u << 20));
    sk_arena_destroy(a);
}

static void test_crc32(void **state)
{
    (void)state;
    /* The standard check value. */
    assert_int_equal(sk_crc32(0, "123456789", 9), 0xCBF43926u);
    uint32_t c = sk_crc32(0, "12345", 5);
    assert_int_equal(sk_crc32(c, "6789", 4), 0xCBF43926u);
}

static void test_atomic_write_and_map(void **state)
{
    (void)state;
    char dir[] = "/tmp/sk-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *sub = sk_path_join(dir, "a/b/c");
    sk_error err = {0};
    assert_int_equal(sk_mkdir_p(sub, &err), SK_OK);
    assert_true(sk_is_dir(sub));
    assert_int_equal(sk_mkdir_p(sub, &err), SK_OK); /* there already */
    char *slashed = sk_path_join(dir, "x//y/");
    assert_int_equal(sk_mkdir_p(slashed, &err), SK_OK);
    free(slashed);
    char *file = sk_path_join(sub, "f.sym");
    assert_int_equal(sk_write_file_atomic(file, "hello", 5, &err), SK_OK);
    /* A file where a directory must go, as the leaf or above it. */
    assert_int_equal(sk_mkdir_p(file, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "f.sym: exists and is not a directory"));
    char *under = sk_path_join(file, "d/e");
    assert_int_equal(sk_mkdir_p(under, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "cannot create directory: Not a directory"));
    free(under);
    sk_mapped m;
    assert_int_equal(sk_map_file(file, &m, &err), SK_OK);
    assert_int_equal(m.size, 5);
    assert_memory_equal(m.data, "hello", 5);
    sk_unmap(&m);
    /* A missing file is an error naming the file. */
    char *missing = sk_path_join(dir, "nope");
    assert_int_equal(sk_map_file(missing, &m, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "nope"));
    assert_int_equal(sk_map_file(dir, &m, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "directory"));
    unlink(file);
    free(file);
    free(missing);
    free(sub);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* The record formatters against printf, at every digit-count boundary. */
static void test_fmt_numbers(void **state)
{
    (void)state;
    for (unsigned bit = 0; bit <= 64; bit++) {
        uint64_t base = bit == 64 ? UINT64_MAX : (1ull << bit);
        for (int d = -1; d <= 1; d++) {
            uint64_t v = base + (uint64_t)(int64_t)d;
            uint64_t tens = 1;
            for (unsigned k = 0; k < 20; k++, tens *= 10) {
                uint64_t vals[] = {v, tens - 1, tens, tens + 1, v / (tens ? tens : 1)};
                for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
                    char got[32], want[32];
                    *sk_fmt_hex(got, vals[i]) = '\0';
                    snprintf(want, sizeof want, "%llx", (unsigned long long)vals[i]);
                    assert_string_equal(got, want);
                    *sk_fmt_dec(got, vals[i]) = '\0';
                    snprintf(want, sizeof want, "%llu", (unsigned long long)vals[i]);
                    assert_string_equal(got, want);
                }
            }
        }
    }
}

/* The streaming form: pieces land in one file, renamed into place only on
 * commit; an abort or a failed write leaves nothing behind. */
static void test_atomic_file_streamed(void **state)
{
    (void)state;
    char dir[] = "/tmp/sk-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *file = sk_path_join(dir, "f.sym");
    sk_error err = {0};
    sk_atomic_file f;
    assert_int_equal(sk_atomic_open(&f, file, &err), SK_OK);
    assert_true(sk_atomic_write(&f, "hel", 3));
    assert_true(sk_atomic_write(&f, "", 0));
    assert_true(sk_atomic_write(&f, "lo", 2));
    assert_false(sk_is_file(file)); /* not there before the commit */
    assert_int_equal(sk_atomic_commit(&f, &err), SK_OK);
    char *data = NULL;
    size_t size = 0;
    assert_int_equal(sk_read_file(file, &data, &size, &err), SK_OK);
    assert_int_equal(size, 5);
    assert_memory_equal(data, "hello", 5);
    free(data);

    /* Abort: the old file stays as it was, no temporary is left. */
    assert_int_equal(sk_atomic_open(&f, file, &err), SK_OK);
    assert_true(sk_atomic_write(&f, "other", 5));
    sk_atomic_abort(&f);
    /* A failed write (the descriptor closed under it) fails the commit. */
    assert_int_equal(sk_atomic_open(&f, file, &err), SK_OK);
    close(f.fd);
    assert_false(sk_atomic_write(&f, "x", 1));
    assert_false(sk_atomic_write(&f, "y", 1));
    f.fd = open("/dev/null", O_WRONLY);
    assert_int_equal(sk_atomic_commit(&f, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "f.sym: write failed"));
    assert_int_equal(sk_read_file(file, &data, &size, &err), SK_OK);
    assert_memory_equal(data, "hello", 5);
    free(data);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", dir);
    assert_int_equal(system(cmd), 0);

    /* A directory that does not exist: one line naming the file. */
    char *missing = sk_path_join(dir, "no/such/f.sym");
    assert_int_equal(sk_atomic_open(&f, missing, &err), SK_EIO);
    assert_non_null(strstr(err.msg, "no/such/f.sym: cannot create"));
    free(missing);
    free(file);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* What the committer told its done, in order. */
typedef struct commit_log {
    int n;
    int ticket[8], rc[8];
    char path[8][1024], msg[8][1024];
} commit_log;

static void log_commit(void *ticket, const char *path, int rc, const sk_error *err, void *ctx)
{
    commit_log *l = ctx;
    assert_true(l->n < 8);
    l->ticket[l->n] = (int)(intptr_t)ticket;
    l->rc[l->n] = rc;
    snprintf(l->path[l->n], sizeof l->path[0], "%.1000s", path ? path : "");
    snprintf(l->msg[l->n], sizeof l->msg[0], "%s", err ? err->msg : "");
    l->n++;
}

/* One file through the committer: written here, committed there. */
static int write_deferred(sk_committer *c, const char *path, int ticket, bool *taken)
{
    sk_error err = {0};
    sk_atomic_file f;
    int rc = sk_atomic_open(&f, path, &err);
    *taken = rc == SK_OK;
    if (rc == SK_OK) {
        sk_atomic_write(&f, "sym", 3);
        sk_committer_hand(c, &f, (void *)(intptr_t)ticket);
    }
    return rc;
}

/* Commits handed to the committer land in turn with the posted tickets; a
 * commit that fails is told to done with its error and leaves nothing; a
 * commit outside a deferral is done in place. */
static void test_committer(void **state)
{
    (void)state;
    char dir[] = "/tmp/sk-test-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char *a = sk_path_join(dir, "a.sym"), *b = sk_path_join(dir, "b.sym"), *c_ = sk_path_join(dir, "c.sym");
    assert_int_equal(mkdir(b, 0777), 0); /* a directory where b.sym must go */
    commit_log l = {0};
    sk_committer *c = sk_committer_start(log_commit, &l);
    bool taken = false;
    assert_int_equal(write_deferred(c, a, 1, &taken), SK_OK);
    assert_true(taken);
    sk_committer_post(c, (void *)(intptr_t)2);
    assert_int_equal(write_deferred(c, b, 3, &taken), SK_OK); /* fails later, at the rename */
    assert_true(taken);
    char *missing = sk_path_join(dir, "no/such.sym");
    assert_int_equal(write_deferred(c, missing, 4, &taken), SK_EIO); /* fails before the commit */
    assert_false(taken);
    free(missing);
    sk_error err = {0};
    assert_int_equal(sk_write_file_atomic(c_, "x", 1, &err), SK_OK); /* not deferred: in place */
    assert_true(sk_is_file(c_));
    sk_committer_finish(c);
    assert_int_equal(l.n, 3);
    assert_int_equal(l.ticket[0], 1);
    assert_int_equal(l.rc[0], SK_OK);
    assert_string_equal(l.path[0], a);
    assert_int_equal(l.ticket[1], 2);
    assert_string_equal(l.path[1], "");
    assert_int_equal(l.ticket[2], 3);
    assert_int_equal(l.rc[2], SK_EIO);
    assert_non_null(strstr(l.msg[2], "b.sym: cannot rename into place"));
    assert_true(sk_is_file(a));
    struct stat st;
    assert_int_equal(stat(a, &st), 0);
    mode_t mask = umask(0);
    umask(mask);
    assert_int_equal(st.st_mode & 0777, 0666 & ~mask); /* not mkstemp's 0600 */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 3", dir); /* a.sym, b.sym/, c.sym */
    assert_int_equal(system(cmd), 0);
    free(a);
    free(b);
    free(c_);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_error_prefix(void **state)
{
    (void)state;
    sk_error err = {0};
    assert_int_equal(sk_fail(&err, SK_EFORMAT, ".debug_info truncated at 0x%x", 0x1234), SK_EFORMAT);
    sk_error_prefix(&err, "%s", "libfoo.so");
    assert_string_equal(err.msg, "libfoo.so: .debug_info truncated at 0x1234");
    assert_int_equal(sk_fail(NULL, SK_EIO, "ignored"), SK_EIO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_debug_id_from_build_id),
        cmocka_unit_test(test_debug_id_short_build_id),
        cmocka_unit_test(test_debug_id_from_text),
        cmocka_unit_test(test_is_debug_id),
        cmocka_unit_test(test_store_key),
        cmocka_unit_test(test_buf_numbers),
        cmocka_unit_test(test_parse_numbers),
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_crc32),
        cmocka_unit_test(test_atomic_write_and_map),
        cmocka_unit_test(test_fmt_numbers),
        cmocka_unit_test(test_atomic_file_streamed),
        cmocka_unit_test(test_committer),
        cmocka_unit_test(test_error_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
