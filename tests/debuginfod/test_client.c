/*
 * Unit tests of dumpsyms' debuginfod client set-up (ds_debuginfod_new): which
 * servers it ends up with (flags, DEBUGINFOD_URLS, none), what it refuses,
 * the libdebuginfod variables it sets (the timeout is only ever shortened),
 * the private download directory made and removed again, and build-ids it
 * will not send.  No server is involved: fetching is covered end to end by
 * the Python tests beside this file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "dumpsyms.h"

static const char *const client_vars[] = {"DEBUGINFOD_URLS", "DEBUGINFOD_CACHE_PATH", "DEBUGINFOD_TIMEOUT",
                                          "DEBUGINFOD_MAXTIME", NULL};

static int clean_env(void **state)
{
    (void)state;
    for (size_t i = 0; client_vars[i]; i++)
        unsetenv(client_vars[i]);
    return 0;
}

static void servers_from_flags_then_env(void **state)
{
    (void)state;
    ds_debuginfod *d;
    sk_error err;
    const char *urls[] = {"http://127.0.0.1:1", "", "http://127.0.0.1:2/"};
    ds_debuginfod_config cfg = {.urls = urls, .nurls = 3};
    assert_int_equal(ds_debuginfod_new(&cfg, &d, &err), SK_OK);
    assert_string_equal(ds_debuginfod_urls(d), "http://127.0.0.1:1 http://127.0.0.1:2/");
    assert_string_equal(getenv("DEBUGINFOD_URLS"), "http://127.0.0.1:1 http://127.0.0.1:2/");
    ds_debuginfod_free(d);

    /* no flags: the environment's list, as it is */
    setenv("DEBUGINFOD_URLS", "http://a.example http://b.example", 1);
    ds_debuginfod_config none = {0};
    assert_int_equal(ds_debuginfod_new(&none, &d, &err), SK_OK);
    assert_string_equal(ds_debuginfod_urls(d), "http://a.example http://b.example");
    ds_debuginfod_free(d);
}

static void no_server_is_an_error(void **state)
{
    (void)state;
    ds_debuginfod *d = (ds_debuginfod *)1;
    sk_error err;
    ds_debuginfod_config none = {0};
    assert_int_equal(ds_debuginfod_new(&none, &d, &err), SK_ENOTFOUND);
    assert_null(d);
    assert_non_null(strstr(err.msg, "DEBUGINFOD_URLS"));
    setenv("DEBUGINFOD_URLS", "  \t", 1); /* blank counts as empty */
    assert_int_equal(ds_debuginfod_new(&none, &d, &err), SK_ENOTFOUND);
    /* flags that are all empty do not fall back to the environment */
    setenv("DEBUGINFOD_URLS", "http://a.example", 1);
    const char *blank[] = {""};
    ds_debuginfod_config cfg = {.urls = blank, .nurls = 1};
    assert_int_equal(ds_debuginfod_new(&cfg, &d, &err), SK_ENOTFOUND);
    /* one flag, one server: a space would silently make two */
    const char *two[] = {"http://a.example http://b.example"};
    ds_debuginfod_config bad = {.urls = two, .nurls = 1};
    assert_int_equal(ds_debuginfod_new(&bad, &d, &err), SK_EUSAGE);
    assert_non_null(strstr(err.msg, "space"));
}

static void timeout_variables(void **state)
{
    (void)state;
    ds_debuginfod *d;
    sk_error err;
    const char *urls[] = {"http://127.0.0.1:1"};
    ds_debuginfod_config cfg = {.urls = urls, .nurls = 1, .timeout_secs = 5};
    assert_int_equal(ds_debuginfod_new(&cfg, &d, &err), SK_OK);
    assert_string_equal(getenv("DEBUGINFOD_MAXTIME"), "5");
    assert_string_equal(getenv("DEBUGINFOD_TIMEOUT"), "5"); /* below libdebuginfod's 90 */
    ds_debuginfod_free(d);

    /* a longer limit never lengthens the user's (or the default) stall timeout */
    setenv("DEBUGINFOD_TIMEOUT", "30", 1);
    cfg.timeout_secs = 1000;
    assert_int_equal(ds_debuginfod_new(&cfg, &d, &err), SK_OK);
    assert_string_equal(getenv("DEBUGINFOD_MAXTIME"), "1000");
    assert_string_equal(getenv("DEBUGINFOD_TIMEOUT"), "30");
    ds_debuginfod_free(d);
    unsetenv("DEBUGINFOD_TIMEOUT");
    assert_int_equal(ds_debuginfod_new(&cfg, &d, &err), SK_OK);
    assert_null(getenv("DEBUGINFOD_TIMEOUT"));
    ds_debuginfod_free(d);

    /* no limit: libdebuginfod's own settings stay */
    unsetenv("DEBUGINFOD_MAXTIME");
    cfg.timeout_secs = 0;
    assert_int_equal(ds_debuginfod_new(&cfg, &d, &err), SK_OK);
    assert_null(getenv("DEBUGINFOD_MAXTIME"));
    ds_debuginfod_free(d);
}

static void private_cache_made_and_removed(void **state)
{
    (void)state;
    char base[] = "/tmp/symkit-client-test-XXXXXX";
    assert_non_null(mkdtemp(base));
    ds_debuginfod *d;
    sk_error err;
    const char *urls[] = {"http://127.0.0.1:1"};
    ds_debuginfod_config cfg = {.urls = urls, .nurls = 1, .cache_dir = base, .private_cache = true};
    assert_int_equal(ds_debuginfod_new(&cfg, &d, &err), SK_OK);
    const char *cache = getenv("DEBUGINFOD_CACHE_PATH");
    assert_non_null(cache);
    assert_true(strncmp(cache, base, strlen(base)) == 0 && cache[strlen(base)] == '/');
    char *made = strdup(cache);
    assert_true(sk_is_dir(made));
    /* what libdebuginfod leaves there: files, and unreadable negative entries */
    char *sub = sk_path_join(made, "0123abcd");
    assert_int_equal(mkdir(sub, 0700), 0);
    char *neg = sk_path_join(sub, "debuginfo");
    FILE *f = fopen(neg, "w");
    assert_non_null(f);
    fclose(f);
    chmod(neg, 0);
    ds_debuginfod_free(d);
    assert_false(sk_is_dir(made));
    assert_true(sk_is_dir(base)); /* only our own directory goes */
    assert_int_equal(rmdir(base), 0);
    free(neg), free(sub), free(made);

    /* a cache directory of the caller's: used, created, kept */
    char keep[] = "/tmp/symkit-client-keep-XXXXXX";
    assert_non_null(mkdtemp(keep));
    char *inner = sk_path_join(keep, "a/b");
    ds_debuginfod_config own = {.urls = urls, .nurls = 1, .cache_dir = inner};
    assert_int_equal(ds_debuginfod_new(&own, &d, &err), SK_OK);
    assert_string_equal(getenv("DEBUGINFOD_CACHE_PATH"), inner);
    ds_debuginfod_free(d);
    assert_true(sk_is_dir(inner));
    char *ab = sk_path_join(keep, "a");
    assert_int_equal(rmdir(inner), 0);
    assert_int_equal(rmdir(ab), 0);
    assert_int_equal(rmdir(keep), 0);
    free(ab), free(inner);
}

static void build_ids_not_sent(void **state)
{
    (void)state;
    ds_debuginfod *d;
    sk_error err;
    /* a port nothing listens on: if a fetch got as far as the network it
     * would say "connection refused", not refuse the id */
    const char *urls[] = {"http://127.0.0.1:1"};
    ds_debuginfod_config cfg = {.urls = urls, .nurls = 1, .private_cache = true, .timeout_secs = 5};
    assert_int_equal(ds_debuginfod_new(&cfg, &d, &err), SK_OK);
    uint8_t id[DS_DEBUGINFOD_MAX_BUILD_ID] = {1};
    ds_fetch f;
    assert_int_equal(ds_debuginfod_fetch(d, id, 0, DS_DEBUGINFOD_DEBUGINFO, &f, &err), SK_EUSAGE);
    assert_null(f.path);
    assert_int_equal(ds_debuginfod_fetch(d, id, DS_DEBUGINFOD_MAX_BUILD_ID, DS_DEBUGINFOD_EXECUTABLE, &f, &err),
                     SK_EUSAGE);
    assert_non_null(strstr(err.msg, "64 bytes"));
    assert_int_equal(ds_debuginfod_fetch(d, id, 20, DS_DEBUGINFOD_DEBUGINFO, &f, &err), SK_ENET);
    assert_non_null(strstr(err.msg, "connection refused"));
    assert_non_null(strstr(err.msg, "debuginfo of build-id 0100000000"));
    assert_null(f.path);
    assert_null(f.url);
    ds_debuginfod_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(servers_from_flags_then_env, clean_env),
        cmocka_unit_test_setup(no_server_is_an_error, clean_env),
        cmocka_unit_test_setup(timeout_variables, clean_env),
        cmocka_unit_test_setup(private_cache_made_and_removed, clean_env),
        cmocka_unit_test_setup(build_ids_not_sent, clean_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
