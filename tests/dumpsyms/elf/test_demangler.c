/* Unit tests of name demangling and clone-suffix folding. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "demangler.h"

static sk_arena *arena;

static void expect(const char *in, const char *want)
{
    const char *got = ds_symbol_name(in, arena);
    if (strcmp(got, want) != 0)
        fail_msg("ds_symbol_name(\"%s\") = \"%s\", want \"%s\"", in, got, want);
}

static void test_cxx(void **state)
{
    (void)state;
    expect("_Z3fooi", "foo(int)");
    expect("_ZN2ns1S6methodEPKc", "ns::S::method(char const*)");
    expect("_ZNSs4sizeEv", "std::basic_string<char, std::char_traits<char>, std::allocator<char> >::size()");
    expect("main", "main");
    expect("_Znotmangled", "_Znotmangled");
}

static void test_clone_suffixes(void **state)
{
    (void)state;
    expect("_Z3fooi.cold", "foo(int)");
    expect("_Z3fooi.isra.0", "foo(int)");
    expect("_ZN3foo3barEv.constprop.0.isra.0", "foo::bar()");
    expect("_Z3fooi.part.0.cold", "foo(int)");
    expect("helper.lto_priv.0", "helper");
    expect("main.cold", "main");
    expect("f.localalias", "f");
    expect("g.llvm.12345678901234", "g");
    /* Not clone suffixes: left alone. */
    expect("foo.bar", "foo.bar");
    expect("foo.0", "foo.0");
    expect(".cold", ".cold");
    assert_int_equal(ds_clone_suffix_start("a.b.cold.1"), 3);
    assert_int_equal(ds_clone_suffix_start("plain"), 5);
}

static void test_versions(void **state)
{
    (void)state;
    expect("memcpy@@GLIBC_2.14", "memcpy@@GLIBC_2.14");
    expect("_Z3fooi@V1", "foo(int)@V1");
}

static void test_rust(void **state)
{
    (void)state;
    /* rustfilt conventions: no legacy hash, no v0 crate disambiguator. */
    expect("_ZN4core3fmt5write17h0123456789abcdefE", "core::fmt::write");
    expect("_ZN3std2rt10lang_start17h5dc9e5ae5f9f1234E.llvm.123", "std::rt::lang_start");
    expect("_RNvCs1234_7mycrate3foo", "mycrate::foo");
    expect("_RINvNtC3std3mem8align_ofjEC3foo", "std::mem::align_of::<usize>");
}

int main(void)
{
    arena = sk_arena_create();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cxx),
        cmocka_unit_test(test_clone_suffixes),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_rust),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    sk_arena_destroy(arena);
    return rc;
}
