/* Unit tests for sk_dynlib (common/dynlib.c): a library loaded on first
 * use, and the one-line exit when it or a function is missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* zlib is on every machine that builds symkit, and tells its version. */
static sk_dynlib zlib_lib = SK_DYNLIB_INIT("libz.so.1", "the test");

static void test_loads_on_first_use(void **state)
{
    (void)state;
    assert_null(zlib_lib.handle);
    static void *slot;
    const char *(*version)(void) = (const char *(*)(void))sk_dynlib_fn(&zlib_lib, &slot, "zlibVersion");
    assert_non_null(zlib_lib.handle);
    assert_ptr_equal(slot, (void *)version);
    assert_true(strncmp(version(), "1.", 2) == 0);
    /* Cached: the same function, the library opened once. */
    void *handle = zlib_lib.handle;
    assert_ptr_equal(sk_dynlib_fn(&zlib_lib, &slot, "zlibVersion"), (void *)version);
    assert_ptr_equal(sk_dynlib_sym(&zlib_lib, "zlibVersion"), (void *)version);
    assert_ptr_equal(zlib_lib.handle, handle);
}

/* Runs sk_dynlib_sym(soname, name) in a child; its exit status and the
 * line it wrote on stderr. */
static int child_lookup(const char *soname, const char *name, char *err, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        close(fds[0]);
        sk_dynlib lib = SK_DYNLIB_INIT(soname, "reading test input");
        sk_dynlib_sym(&lib, name);
        _exit(0); /* not reached when the lookup fails */
    }
    close(fds[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < cap && (r = read(fds[0], err + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    err[n] = '\0';
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void test_missing_library_exits_with_one_line(void **state)
{
    (void)state;
    char err[1024];
    assert_int_equal(child_lookup("libsymkit-no-such-library.so.7", "f", err, sizeof err), 1);
    assert_non_null(strstr(err, "cannot load libsymkit-no-such-library.so.7, needed for reading test input: "));
    assert_non_null(strchr(err, '\n'));
    assert_true(strchr(err, '\n')[1] == '\0'); /* exactly one line */
}

static void test_missing_function_exits_with_one_line(void **state)
{
    (void)state;
    char err[1024];
    assert_int_equal(child_lookup("libz.so.1", "symkit_no_such_function", err, sizeof err), 1);
    assert_non_null(strstr(err, "cannot load libz.so.1 (function symkit_no_such_function), needed for reading test input"));
    assert_true(strchr(err, '\n')[1] == '\0');
    /* A function that is there: no exit, status 0 from the child. */
    assert_int_equal(child_lookup("libz.so.1", "zlibVersion", err, sizeof err), 0);
    assert_string_equal(err, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loads_on_first_use),
        cmocka_unit_test(test_missing_library_exits_with_one_line),
        cmocka_unit_test(test_missing_function_exits_with_one_line),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
