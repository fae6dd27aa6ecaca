/* test_finalize.c — one test per canonicalization rule of
 * sym_module_finalize, plus idempotence and determinism on a messy module. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "util.h"

#define HDR "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libfoo.so\n"

static sym_module M;
static sym_finalize_stats ST;

static int setup(void **state)
{
    (void)state;
    sym_module_init(&M);
    header(&M);
    memset(&ST, 0, sizeof ST);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sym_module_free(&M);
    return 0;
}

/* Finalizes M and compares its output with want. */
static void expect(const char *want)
{
    sym_module_finalize(&M, &ST);
    char *s = write_str(&M, NULL);
    assert_string_equal(s, want);
    free(s);
    /* Every rule must leave nothing for a second pass to do. */
    sym_finalize_stats again;
    sym_module_finalize(&M, &again);
    s = write_str(&M, NULL);
    assert_string_equal(s, want);
    assert_int_equal(again.funcs_folded + again.funcs_trimmed + again.lines_dropped +
                         again.publics_dropped + again.cfi_dropped,
                     0);
    free(s);
}

static void test_funcs_sorted(void **state)
{
    (void)state;
    sym_module_add_func(&M, 0x300, 0x10, "c");
    sym_module_add_func(&M, 0x100, 0x10, "a");
    sym_module_add_func(&M, 0x200, 0x10, "b");
    expect(HDR "FUNC 100 10 0 a\nFUNC 200 10 0 b\nFUNC 300 10 0 c\n");
}

static void test_same_addr_folded(void **state)
{
    (void)state;
    uint32_t f0 = sym_module_add_file(&M, "z.c");
    sym_func *f = sym_module_add_func(&M, 0x100, 0x10, "zeta");
    sym_func_add_line(&M, f, 0x100, 0x10, 99, f0);
    f = sym_module_add_func(&M, 0x100, 0x10, "alpha");
    sym_func_add_line(&M, f, 0x100, 0x10, 7, f0);
    sym_module_add_func(&M, 0x100, 0x10, "mid");
    expect(HDR "FILE 0 z.c\nFUNC m 100 10 0 alpha\n100 10 7 0\n");
    assert_int_equal(ST.funcs_folded, 2);
}

/* The same function described by two units (a COMDAT copy the linker kept
 * once) is not identical code folding: no 'm'. */
static void test_same_addr_same_name_not_folding(void **state)
{
    (void)state;
    uint32_t f0 = sym_module_add_file(&M, "t.h");
    sym_func *f = sym_module_add_func(&M, 0x100, 0x10, "tmpl<int>()");
    sym_func_add_line(&M, f, 0x100, 0x10, 3, f0);
    f = sym_module_add_func(&M, 0x100, 0x10, "tmpl<int>()");
    sym_func_add_line(&M, f, 0x100, 0x10, 3, f0);
    expect(HDR "FILE 0 t.h\nFUNC 100 10 0 tmpl<int>()\n100 10 3 0\n");
    assert_int_equal(ST.funcs_folded, 0);
    assert_int_equal(ST.funcs_deduplicated, 1);
    /* A third, different name at the address does make it folding. */
    sym_module_add_func(&M, 0x100, 0x10, "other()");
    expect(HDR "FUNC m 100 10 0 other()\n");
    assert_int_equal(ST.funcs_folded, 1);
}

static void test_overlap_trimmed(void **state)
{
    (void)state;
    sym_func *f = sym_module_add_func(&M, 0x100, 0x80, "big");
    sym_func_add_line(&M, f, 0x100, 0x40, 1, sym_module_add_file(&M, "a.c"));
    sym_func_add_line(&M, &M.funcs[0], 0x140, 0x40, 2, 0);
    sym_module_add_func(&M, 0x120, 0x10, "inner");
    sym_module_add_func(&M, 0x130, 0x100, "tail");
    expect(HDR "FILE 0 a.c\nFUNC 100 20 0 big\n100 20 1 0\nFUNC 120 10 0 inner\n"
               "FUNC 130 100 0 tail\n");
    assert_int_equal(ST.funcs_trimmed, 1);
    assert_int_equal(ST.lines_dropped, 1);
}

static void test_zero_size_func_dropped(void **state)
{
    (void)state;
    sym_module_add_func(&M, 0x100, 0, "aaa_empty");
    sym_module_add_func(&M, 0x100, 4, "real");
    sym_module_add_func(&M, UINT64_MAX - 1, 0x10, "wraps");
    expect(HDR "FUNC 100 4 0 real\nFUNC fffffffffffffffe 1 0 wraps\n");
    assert_int_equal(ST.funcs_trimmed, 1);
    assert_int_equal(ST.funcs_folded, 0);
}

static void test_lines_sorted_clipped(void **state)
{
    (void)state;
    uint32_t a = sym_module_add_file(&M, "a.c");
    sym_func *f = sym_module_add_func(&M, 0x100, 0x40, "f");
    sym_func_add_line(&M, f, 0x130, 0x20, 4, a); /* sticks out: clipped */
    sym_func_add_line(&M, f, 0x110, 0x10, 2, a);
    sym_func_add_line(&M, f, 0xf0, 0x18, 1, a);  /* starts before: clipped */
    sym_func_add_line(&M, f, 0x200, 0x10, 9, a); /* outside: dropped */
    sym_func_add_line(&M, f, 0x120, 0x10, 3, a);
    expect(HDR "FILE 0 a.c\nFUNC 100 40 0 f\n100 8 1 0\n110 10 2 0\n120 10 3 0\n130 10 4 0\n");
    assert_int_equal(ST.lines_dropped, 1);
}

static void test_lines_overlap_and_zero(void **state)
{
    (void)state;
    uint32_t a = sym_module_add_file(&M, "a.c");
    sym_func *f = sym_module_add_func(&M, 0x100, 0x40, "f");
    sym_func_add_line(&M, f, 0x100, 0x20, 1, a); /* truncated at 0x110 */
    sym_func_add_line(&M, f, 0x110, 0x8, 2, a);
    sym_func_add_line(&M, f, 0x118, 0, 3, a);    /* empty: dropped */
    sym_func_add_line(&M, f, 0x120, 0x4, 4, a);  /* same start as the next: gives way */
    sym_func_add_line(&M, f, 0x120, 0x8, 5, a);
    expect(HDR "FILE 0 a.c\nFUNC 100 40 0 f\n100 10 1 0\n110 8 2 0\n120 8 5 0\n");
    assert_int_equal(ST.lines_dropped, 2);
}

static void test_inlines_clipped(void **state)
{
    (void)state;
    uint32_t a = sym_module_add_file(&M, "a.c");
    uint32_t o1 = sym_module_add_origin(&M, "one");
    uint32_t o2 = sym_module_add_origin(&M, "two");
    uint32_t o3 = sym_module_add_origin(&M, "three");
    sym_func *f = sym_module_add_func(&M, 0x100, 0x40, "f");
    sym_range r1[3] = {{0x130, 0x20}, {0xf0, 0x20}, {0x118, 0x10}};
    sym_func_add_inline(&M, f, 0, 5, a, o1, r1, 3);
    sym_range r2[1] = {{0x200, 4}}; /* outside: dropped with its child */
    sym_func_add_inline(&M, f, 1, 6, a, o2, r2, 1);
    sym_range r3[1] = {{0x104, 4}};
    sym_func_add_inline(&M, f, 2, 7, a, o3, r3, 1);
    sym_func_add_inline(&M, f, 1, 8, a, o2, r3, 1);
    sym_func_add_inline(&M, f, 3, 9, a, o3, r3, 1); /* depth jump: clamped */
    expect(HDR "FILE 0 a.c\nINLINE_ORIGIN 0 one\nINLINE_ORIGIN 1 two\nINLINE_ORIGIN 2 three\n"
               "FUNC 100 40 0 f\n"
               "INLINE 0 5 0 0 100 10 118 10 130 10\nINLINE 1 8 0 1 104 4\n"
               "INLINE 2 9 0 2 104 4\n");
}

/* Overlapping ranges of one inline merge; touching ones stay apart. */
static void test_inline_ranges_merged(void **state)
{
    (void)state;
    uint32_t a = sym_module_add_file(&M, "a.c");
    uint32_t o = sym_module_add_origin(&M, "o");
    sym_func *f = sym_module_add_func(&M, 0x100, 0x40, "f");
    sym_range r[4] = {{0x10c, 4}, {0x104, 8}, {0x100, 8}, {0x102, 2}};
    sym_func_add_inline(&M, f, 0, 5, a, o, r, 4);
    expect(HDR "FILE 0 a.c\nINLINE_ORIGIN 0 o\nFUNC 100 40 0 f\nINLINE 0 5 0 0 100 c 10c 4\n");
}

/* The model keeps inline ranges relative to their FUNC: the function's very
 * last byte, a range running past it or starting before it, and a FUNC a
 * neighbour trims after its ranges were added. */
static void test_inline_ranges_at_func_edges(void **state)
{
    (void)state;
    uint32_t a = sym_module_add_file(&M, "a.c");
    uint32_t o = sym_module_add_origin(&M, "o");
    sym_func *f = sym_module_add_func(&M, 0x100, 0x40, "f");
    sym_range r[4] = {{0x13f, 1}, {0xf0, 0x14}, {0x138, 0x100}, {0x140, 4}};
    sym_func_add_inline(&M, f, 0, 5, a, o, r, 4);
    assert_int_equal(f->inlines[0].nranges, 3); /* the one past the end is left out */
    sym_range past = {0x140, 4};
    sym_func_add_inline(&M, f, 1, 6, a, o, &past, 1); /* none left: dropped */
    sym_range after[2] = {{0x120, 4}, {0x110, 4}}; /* sorted */
    sym_func_add_inline(&M, f, 0, 9, a, o, after, 2);
    f = sym_module_add_func(&M, 0x200, 0x40, "trimmed");
    sym_range t = {0x230, 0x10};
    sym_func_add_inline(&M, f, 0, 7, a, o, &t, 1);
    sym_range gone = {0x238, 4}; /* inside when added, outside once trimmed */
    sym_func_add_inline(&M, f, 0, 10, a, o, &gone, 1);
    sym_range later[2] = {{0x220, 4}, {0x210, 4}}; /* sorted, and packed in its place */
    sym_func_add_inline(&M, f, 0, 11, a, o, later, 2);
    sym_module_add_func(&M, 0x238, 8, "neighbour");
    f = sym_module_add_func(&M, UINT64_MAX - 0xff, 0x1000, "top"); /* end saturates */
    sym_range top = {UINT64_MAX - 0xf, 0x100};
    sym_func_add_inline(&M, f, 0, 8, a, o, &top, 1);
    assert_false(f->ranges_wide);
    expect(HDR "FILE 0 a.c\nINLINE_ORIGIN 0 o\nFUNC 100 40 0 f\nINLINE 0 5 0 0 100 4 138 8\n"
               "INLINE 0 9 0 0 110 4 120 4\n"
               "FUNC 200 38 0 trimmed\nINLINE 0 7 0 0 230 8\nINLINE 0 11 0 0 210 4 220 4\n"
               "FUNC 238 8 0 neighbour\n"
               "FUNC ffffffffffffff00 ff 0 top\nINLINE 0 8 0 0 fffffffffffffff0 f\n");
    assert_int_equal(ST.funcs_trimmed, 1);
}

/* A FUNC of 4 GiB or more (hostile input): ranges past its first 4 GiB do
 * not fit 32 bits, so its array turns wide (here a reserved, pooled one)
 * and nothing is cut or wrapped, the merge across 4 GiB included. */
static void test_inline_ranges_huge_func(void **state)
{
    (void)state;
    uint32_t a = sym_module_add_file(&M, "a.c");
    uint32_t o = sym_module_add_origin(&M, "o");
    sym_func *f = sym_module_add_func(&M, 0x1000, 0x200000000, "huge");
    sym_func_reserve(&M, f, 0, 3, 4);
    sym_range r1[2] = {{0x1010, 8}, {0x1000, 0xffffffff}}; /* up to 4 GiB - 1: fits */
    sym_func_add_inline(&M, f, 0, 5, a, o, r1, 2);
    assert_false(f->ranges_wide);
    /* turns wide at its second range, which ends 4 GiB in; the third
     * (4 GiB long) touches it: kept apart */
    sym_range r2[3] = {{0x2000, 4}, {0x100000fff, 1}, {0x100001000, 0x100000000}};
    sym_func_add_inline(&M, f, 1, 6, a, o, r2, 3);
    assert_int_equal(f->inlines[1].nranges, 3);
    assert_true(f->ranges_wide);
    sym_range r3[2] = {{0x100000ff8, 0x10}, {0x100001000, 0x100000000}}; /* merged */
    sym_func_add_inline(&M, f, 0, 7, a, o, r3, 2);
    expect(HDR "FILE 0 a.c\nINLINE_ORIGIN 0 o\nFUNC 1000 200000000 0 huge\n"
               "INLINE 0 5 0 0 1000 ffffffff\nINLINE 1 6 0 0 2000 4 100000fff 1 100001000 100000000\n"
               "INLINE 0 7 0 0 100000ff8 100000008\n");
    /* and the same through the .sym reader */
    char *text = write_str(&M, NULL);
    sym_module m;
    sk_error err = {0};
    assert_int_equal(sym_module_read_mem(text, strlen(text), &m, NULL, &err), SK_OK);
    assert_true(m.funcs[0].ranges_wide);
    sym_module_finalize(&m, NULL);
    char *again = write_str(&m, NULL);
    assert_string_equal(again, text);
    free(again);
    free(text);
    sym_module_free(&m);
}

static void test_publics(void **state)
{
    (void)state;
    sym_module_add_func(&M, 0x100, 0x10, "f");
    sym_module_add_public(&M, 0x300, "z");
    sym_module_add_public(&M, 0x108, "covered");
    sym_module_add_public(&M, 0x100, "at_func");
    sym_module_add_public(&M, 0x300, "b");
    sym_module_add_public(&M, 0x110, "just_after");
    sym_module_add_public(&M, 0x50, "before");
    expect(HDR "PUBLIC 50 0 before\nFUNC 100 10 0 f\nPUBLIC 110 0 just_after\n"
               "PUBLIC m 300 0 b\n");
    assert_int_equal(ST.publics_dropped, 3);
}

static void test_files_renumbered(void **state)
{
    (void)state;
    uint32_t unused = sym_module_add_file(&M, "unused.c");
    uint32_t b = sym_module_add_file(&M, "b.c");
    uint32_t a = sym_module_add_file(&M, "a.c");
    uint32_t a2 = sym_module_add_file(&M, "a.c"); /* same path: merged */
    uint32_t inl = sym_module_add_file(&M, "inl.h");
    uint32_t o = sym_module_add_origin(&M, "o");
    (void)unused;
    sym_func *f = sym_module_add_func(&M, 0x200, 0x10, "second");
    sym_func_add_line(&M, f, 0x200, 0x10, 1, b);
    f = sym_module_add_func(&M, 0x100, 0x10, "first");
    sym_range r = {0x100, 4};
    sym_func_add_inline(&M, f, 0, 3, inl, o, &r, 1);
    sym_func_add_line(&M, f, 0x100, 0x8, 1, a);
    sym_func_add_line(&M, f, 0x108, 0x8, 2, a2);
    /* lines first, then the inlines' call files */
    expect(HDR "FILE 0 a.c\nFILE 1 inl.h\nFILE 2 b.c\nINLINE_ORIGIN 0 o\n"
               "FUNC 100 10 0 first\nINLINE 0 3 1 0 100 4\n100 8 1 0\n108 8 2 0\n"
               "FUNC 200 10 0 second\n200 10 1 2\n");
}

static void test_origins_renumbered(void **state)
{
    (void)state;
    uint32_t a = sym_module_add_file(&M, "a.c");
    uint32_t unused = sym_module_add_origin(&M, "unused");
    uint32_t y = sym_module_add_origin(&M, "y");
    uint32_t x = sym_module_add_origin(&M, "x");
    uint32_t y2 = sym_module_add_origin(&M, "y");
    (void)unused;
    sym_func *f = sym_module_add_func(&M, 0x100, 0x10, "f");
    sym_range r = {0x100, 4};
    sym_func_add_inline(&M, f, 0, 1, a, x, &r, 1);
    sym_func_add_inline(&M, f, 1, 2, a, y, &r, 1);
    sym_func_add_inline(&M, f, 0, 3, a, y2, &r, 1);
    expect(HDR "FILE 0 a.c\nINLINE_ORIGIN 0 x\nINLINE_ORIGIN 1 y\nFUNC 100 10 0 f\n"
               "INLINE 0 1 0 0 100 4\nINLINE 1 2 0 1 100 4\nINLINE 0 3 0 1 100 4\n");
}

/* References to files / origins that do not exist get a placeholder. */
static void test_dangling_ids(void **state)
{
    (void)state;
    sym_func *f = sym_module_add_func(&M, 0x100, 0x10, "f");
    sym_range r = {0x100, 4};
    sym_func_add_inline(&M, f, 0, 1, 77, 55, &r, 1);
    sym_func_add_line(&M, f, 0x100, 0x10, 1, 42);
    expect(HDR "FILE 0 <name omitted>\nINLINE_ORIGIN 0 <name omitted>\nFUNC 100 10 0 f\n"
               "INLINE 0 1 0 0 100 4\n100 10 1 0\n");
}

static void test_cfi(void **state)
{
    (void)state;
    sym_cfi *c = sym_module_add_cfi(&M, 0x200, 0x10, ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
    sym_cfi_add_row(&M, c, 0x208, "B");
    sym_cfi_add_row(&M, c, 0x204, "A");
    sym_cfi_add_row(&M, c, 0x208, "C"); /* same address: keeps its order */
    sym_module_add_cfi(&M, 0x100, 0x10, ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
    c = sym_module_add_cfi(&M, 0x200, 0x20, ".cfa: $rsp 16 + .ra: .cfa -8 + ^");
    sym_cfi_add_row(&M, c, 0x208, "dropped with its INIT");
    sym_module_add_cfi(&M, 0x300, 0x10, ".cfa: $rsp 8 +");        /* no .ra */
    sym_module_add_cfi(&M, 0x400, 0x10, ".ra: .cfa -8 + ^");      /* no .cfa */
    sym_module_add_cfi(&M, 0x500, 0x10, ".cfa:$rsp .ra:x");       /* not tokens */
    sym_module_add_cfi(&M, 0x600, 0x10, "");
    expect(HDR "STACK CFI INIT 100 10 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
               "STACK CFI INIT 200 10 .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
               "STACK CFI 204 A\nSTACK CFI 208 B\nSTACK CFI 208 C\n");
    assert_int_equal(ST.cfi_dropped, 5);
}

static void test_names_cleaned(void **state)
{
    (void)state;
    sym_module_add_func(&M, 0x100, 0x10, "");
    sym_module_add_func(&M, 0x200, 0x10, NULL);
    sym_module_add_func(&M, 0x300, 0x10, "two\nlines\r\n");
    sym_module_add_public(&M, 0x400, "");
    sym_module_add_public(&M, 0x500, "a\rb");
    sym_func *f = sym_module_add_func(&M, 0x600, 0x10, "g");
    sym_range r = {0x600, 4};
    sym_func_add_inline(&M, f, 0, 1, sym_module_add_file(&M, "x\ny.c"),
                        sym_module_add_origin(&M, ""), &r, 1);
    sym_cfi *c = sym_module_add_cfi(&M, 0x100, 0x10, ".cfa: $rsp 8 +\n.ra: .cfa -8 + ^");
    sym_cfi_add_row(&M, c, 0x104, "");
    sym_cfi_add_row(&M, c, 0x108, "$rbp:\n.cfa");
    expect(HDR "FILE 0 x y.c\nINLINE_ORIGIN 0 <name omitted>\n"
               "FUNC 100 10 0 <name omitted>\nFUNC 200 10 0 <name omitted>\n"
               "FUNC 300 10 0 two lines  \nPUBLIC 400 0 <name omitted>\nPUBLIC 500 0 a b\n"
               "FUNC 600 10 0 g\nINLINE 0 1 0 0 600 4\n"
               "STACK CFI INIT 100 10 .cfa: $rsp 8 + .ra: .cfa -8 + ^\nSTACK CFI 108 $rbp: .cfa\n");
}

static void test_header_cleaned(void **state)
{
    (void)state;
    M.name = "my lib.so";
    M.os = "";
    M.arch = NULL;
    M.code_id = "";
    M.code_file = "ignored without id";
    M.generator = "gen\nerator";
    expect("MODULE unknown unknown 0123456789ABCDEF0123456789ABCDEF0 my_lib.so\n"
           "INFO GENERATOR gen erator\n");
}

/* Verbatim INFO CODE_ID / GENERATOR lines move to their fields, so the
 * order the writer gives them is the order they read back in. */
static void test_info_promoted(void **state)
{
    (void)state;
    sk_grow((void **)&M.info, &M.info_cap, 4, sizeof *M.info);
    M.info[M.ninfo++] = "GENERATOR other 1.0";
    M.info[M.ninfo++] = "URL x";
    M.info[M.ninfo++] = "CODE_ID ABCD lib.so";
    M.info[M.ninfo++] = "";
    expect(HDR "INFO CODE_ID ABCD lib.so\nINFO GENERATOR other 1.0\nINFO URL x\n");
}

/* ---- idempotence and determinism on a messy module ------------------------- */

static uint64_t rng_state;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

/* A module with every kind of defect, built in an order given by seed. */
static void build_messy(sym_module *m, uint64_t seed)
{
    sym_module_init(m);
    header(m);
    rng_state = 42;
    uint32_t files[20], origins[10];
    for (int i = 0; i < 20; i++) {
        char name[32];
        snprintf(name, sizeof name, "/src/f%d.c", i % 15);
        files[i] = sym_module_add_file(m, name);
    }
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "origin%d", i % 7);
        origins[i] = sym_module_add_origin(m, name);
    }
    /* Generate content from a fixed stream, then insert it in a seeded
     * order: funcs with distinct names, lines, inlines, publics, CFI. */
    enum { NF = 400 };
    struct {
        uint64_t addr, size;
        char name[32];
    } fs[NF];
    for (int i = 0; i < NF; i++) {
        fs[i].addr = 0x1000 + (rnd() % 3000) * 4;
        fs[i].size = rnd() % 64;
        if (i % 50)
            snprintf(fs[i].name, sizeof fs[i].name, "fn%d", i);
        else
            fs[i].name[0] = '\0';
    }
    rng_state = seed;
    int order[NF];
    for (int i = 0; i < NF; i++)
        order[i] = i;
    for (int i = NF - 1; i > 0; i--) {
        int j = (int)(rnd() % (uint32_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int k = 0; k < NF; k++) {
        int i = order[k];
        sym_func *f = sym_module_add_func(m, fs[i].addr, fs[i].size, fs[i].name);
        uint64_t st = 42 + (uint64_t)i;
        for (int l = 0; l < 6; l++) {
            st = st * 6364136223846793005ull + 1;
            uint32_t v = (uint32_t)(st >> 33);
            sym_func_add_line(m, f, fs[i].addr + v % 80 - 8, v % 13, v % 100, files[v % 20]);
        }
        sym_range r[2] = {{fs[i].addr + 2, 6}, {fs[i].addr + 40, 30}};
        sym_func_add_inline(m, f, 0, 10, files[i % 20], origins[i % 10], r, 2);
        sym_func_add_inline(m, f, 1, 11, files[(i + 3) % 20], origins[(i + 1) % 10], r, 1);
        sym_module_add_public(m, fs[i].addr + (uint64_t)(i % 3) * 40, i % 7 ? "pub" : "");
        sym_cfi *c = sym_module_add_cfi(m, fs[i].addr, fs[i].size,
                                        i % 9 ? ".cfa: $rsp 8 + .ra: .cfa -8 + ^" : ".cfa: x");
        sym_cfi_add_row(m, c, fs[i].addr + 4, ".cfa: $rsp 16 +");
    }
}

static void test_idempotent_messy(void **state)
{
    (void)state;
    sym_module m;
    build_messy(&m, 1);
    sym_finalize_stats st;
    sym_module_finalize(&m, &st);
    assert_true(st.funcs_folded > 0 && st.funcs_trimmed > 0 && st.lines_dropped > 0 &&
                st.publics_dropped > 0 && st.cfi_dropped > 0);
    char *a = write_str(&m, NULL);
    sym_module_finalize(&m, &st);
    char *b = write_str(&m, NULL);
    assert_string_equal(a, b);
    assert_int_equal(st.funcs_folded + st.funcs_trimmed + st.lines_dropped + st.publics_dropped +
                         st.cfi_dropped,
                     0);
    /* and reading it back changes nothing either */
    sym_parse_stats ps;
    char *c = reread(a, &ps);
    assert_non_null(c);
    assert_int_equal(ps.bad_lines, 0);
    assert_string_equal(a, c);
    free(a);
    free(b);
    free(c);
    sym_module_free(&m);
}

/* FUNCs, lines, inlines and PUBLICs inserted in different orders give the
 * same bytes (CFI is built in the same order each time). */
static void test_deterministic_messy(void **state)
{
    (void)state;
    char *first = NULL;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        sym_module m;
        build_messy(&m, seed);
        sym_write_options o = {.no_cfi = true};
        sym_module_finalize(&m, NULL);
        char *s = write_str(&m, &o);
        if (!first)
            first = s;
        else {
            assert_string_equal(first, s);
            free(s);
        }
        sym_module_free(&m);
    }
    free(first);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_funcs_sorted),
        T(test_same_addr_folded),
        T(test_same_addr_same_name_not_folding),
        T(test_overlap_trimmed),
        T(test_zero_size_func_dropped),
        T(test_lines_sorted_clipped),
        T(test_lines_overlap_and_zero),
        T(test_inlines_clipped),
        T(test_inline_ranges_merged),
        T(test_inline_ranges_at_func_edges),
        T(test_inline_ranges_huge_func),
        T(test_publics),
        T(test_files_renumbered),
        T(test_origins_renumbered),
        T(test_dangling_ids),
        T(test_cfi),
        T(test_names_cleaned),
        T(test_header_cleaned),
        T(test_info_promoted),
        cmocka_unit_test(test_idempotent_messy),
        cmocka_unit_test(test_deterministic_messy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
