/*
 * Unit tests of the STACK CFI helpers on hand-made and hostile bytes: DWARF
 * expressions to postfix, the .eh_frame rewriter, the ARM EXIDX reader.
 * Inputs are copied into exactly-sized heap blocks so AddressSanitizer sees
 * any read past their end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dwarf.h>

#include "cfi_int.h"

static uint32_t lcg_state = 12345;
static uint32_t lcg(void)
{
    lcg_state = lcg_state * 1103515245u + 12345u;
    return lcg_state >> 8;
}

/* ---- expressions --------------------------------------------------------- */

static bool expr(const uint8_t *bytes, size_t n, bool push_cfa, char *out, size_t cap)
{
    const ds_cfi_arch *a = ds_cfi_arch_for(EM_X86_64);
    uint8_t *copy = malloc(n ? n : 1);
    if (n)
        memcpy(copy, bytes, n);
    sk_buf b;
    sk_buf_init(&b);
    bool ok = ds_cfi_expr_postfix(a, copy, n, push_cfa, 8, true, &b);
    snprintf(out, cap, "%s", b.data ? b.data : "");
    sk_buf_free(&b);
    free(copy);
    return ok;
}

static void test_expr_simple(void **state)
{
    (void)state;
    char out[512];
    const uint8_t breg_deref[] = {DW_OP_breg7, 8, DW_OP_deref};
    assert_true(expr(breg_deref, sizeof breg_deref, false, out, sizeof out));
    assert_string_equal(out, "$rsp 8 + ^");
    const uint8_t neg[] = {DW_OP_breg6, 0x70}; /* sleb -16 */
    assert_true(expr(neg, sizeof neg, false, out, sizeof out));
    assert_string_equal(out, "$rbp -16 +");
    const uint8_t cfa_plus[] = {DW_OP_plus_uconst, 16};
    assert_true(expr(cfa_plus, sizeof cfa_plus, true, out, sizeof out));
    assert_string_equal(out, ".cfa 16 +");
    const uint8_t arith[] = {DW_OP_lit4, DW_OP_lit3, DW_OP_mul, DW_OP_breg3, 0, DW_OP_swap, DW_OP_minus};
    assert_true(expr(arith, sizeof arith, false, out, sizeof out));
    assert_string_equal(out, "$rbx 0 + 4 3 * -");
}

static void test_expr_refused(void **state)
{
    (void)state;
    char out[512];
    /* The x86_64 PLT: rsp + 8 + ((rip & 15) >= 11) * 8 uses and/ge. */
    const uint8_t plt[] = {DW_OP_breg7, 8, DW_OP_breg16, 0, DW_OP_lit15, DW_OP_and, DW_OP_lit11, DW_OP_ge,
                           DW_OP_lit3, DW_OP_shl, DW_OP_plus};
    assert_false(expr(plt, sizeof plt, false, out, sizeof out));
    const uint8_t truncated_sleb[] = {DW_OP_breg7, 0x80};
    assert_false(expr(truncated_sleb, sizeof truncated_sleb, false, out, sizeof out));
    const uint8_t truncated_const[] = {DW_OP_const8u, 1, 2, 3};
    assert_false(expr(truncated_const, sizeof truncated_const, false, out, sizeof out));
    const uint8_t underflow[] = {DW_OP_plus};
    assert_false(expr(underflow, sizeof underflow, false, out, sizeof out));
    const uint8_t unnamed[] = {DW_OP_bregx, 0xf4, 0x03, 0}; /* register 500 */
    assert_false(expr(unnamed, sizeof unnamed, false, out, sizeof out));
    assert_false(expr(NULL, 0, false, out, sizeof out)); /* empty: no value */
    /* Too deep a stack, too long a text: refused, never overflowed. */
    uint8_t deep[40];
    memset(deep, DW_OP_lit1, sizeof deep);
    assert_false(expr(deep, sizeof deep, false, out, sizeof out));
    uint8_t longx[200];
    longx[0] = DW_OP_breg7;
    longx[1] = 0;
    for (size_t i = 2; i + 2 <= sizeof longx; i += 2) {
        longx[i] = DW_OP_plus_uconst;
        longx[i + 1] = 0x7f;
    }
    assert_false(expr(longx, sizeof longx, false, out, sizeof out));
}

static void test_expr_fuzz(void **state)
{
    (void)state;
    char out[512];
    uint8_t buf[24];
    for (int i = 0; i < 20000; i++) {
        size_t n = lcg() % sizeof buf;
        for (size_t k = 0; k < n; k++)
            buf[k] = (uint8_t)(k % 3 == 0 ? 0x06 + lcg() % 0x90 : lcg());
        expr(buf, n, lcg() & 1, out, sizeof out);
    }
}

/* ---- .eh_frame rewriter -------------------------------------------------- */

/* A little-endian 64-bit .eh_frame: CIE "zR" (pcrel|sdata4), two FDEs. */
static const uint8_t eh_good[] = {
    /* CIE at 0 */
    0x14, 0, 0, 0, 0, 0, 0, 0, 1, 'z', 'R', 0, 1, 0x78, 16, 1, 0x1b,
    0x0c, 7, 8, 0x90, 1, 0, 0, /* def_cfa rsp+8, offset rip cfa-8, pad */
    /* FDE at 0x18: pc_begin pcrel -> 0x1000, range 0x20 */
    0x14, 0, 0, 0, 0x1c, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0,
    0x41, 0x0e, 16, 0, 0, 0, 0,
    /* FDE at 0x30: CIE pointer 0x34 back to the CIE */
    0x14, 0, 0, 0, 0x34, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, /* terminator */
};

static int rewrite_as(const uint8_t *bytes, size_t n, bool le, bool is_eh, sk_buf *out)
{
    ds_object obj;
    memset(&obj, 0, sizeof obj);
    obj.path = "test.so";
    obj.elf_class = ELFCLASS64;
    obj.little_endian = le;
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, bytes, n);
    int r = ds_cfi_rewrite_frames(&obj, copy, n, 0x1000 - 0x20, is_eh, out);
    free(copy);
    return r;
}

static int rewrite(const uint8_t *bytes, size_t n, bool le, sk_buf *out)
{
    return rewrite_as(bytes, n, le, true, out);
}

static void test_eh_rewrite(void **state)
{
    (void)state;
    uint8_t eh[sizeof eh_good];
    memcpy(eh, eh_good, sizeof eh);
    /* pc_begin fields: place + value = 0x1000 and 0x1100 with the section at 0xfe0. */
    int32_t v1 = (int32_t)(0x1000 - (0xfe0 + 0x20)), v2 = (int32_t)(0x1100 - (0xfe0 + 0x38));
    memcpy(eh + 0x20, &v1, 4);
    memcpy(eh + 0x38, &v2, 4);
    sk_buf out;
    sk_buf_init(&out);
    assert_int_equal(rewrite(eh, sizeof eh, true, &out), 2);
    /* CIE: length, 0xffffffff, version 3, "", 1, -8 (0x78), 16, instructions. */
    const uint8_t *o = (const uint8_t *)out.data;
    assert_memory_equal(o + 4, "\xff\xff\xff\xff\x03\x00\x01\x78\x10", 9);
    uint32_t cie_len;
    memcpy(&cie_len, o, 4);
    const uint8_t *fde = o + 4 + cie_len;
    uint32_t cie_ptr;
    uint64_t begin, range;
    memcpy(&cie_ptr, fde + 4, 4);
    memcpy(&begin, fde + 8, 8);
    memcpy(&range, fde + 16, 8);
    assert_int_equal(cie_ptr, 0);
    assert_int_equal(begin, 0x1000);
    assert_int_equal(range, 0x20);
    sk_buf_free(&out);

    /* An FDE pointing nowhere is skipped, the other kept. */
    eh[0x34] = 0x99;
    sk_buf_init(&out);
    assert_int_equal(rewrite(eh, sizeof eh, true, &out), 1);
    sk_buf_free(&out);
}

static void test_eh_hostile(void **state)
{
    (void)state;
    /* Every prefix, both byte orders. */
    for (size_t n = 0; n <= sizeof eh_good; n++) {
        for (int le = 0; le < 2; le++) {
            sk_buf out;
            sk_buf_init(&out);
            rewrite(eh_good, n, le, &out);
            sk_buf_free(&out);
        }
    }
    /* Random damage. */
    uint8_t eh[sizeof eh_good];
    for (int i = 0; i < 20000; i++) {
        memcpy(eh, eh_good, sizeof eh);
        int flips = 1 + (int)(lcg() % 6);
        for (int k = 0; k < flips; k++)
            eh[lcg() % sizeof eh] = (uint8_t)lcg();
        sk_buf out;
        sk_buf_init(&out);
        rewrite_as(eh, sizeof eh, lcg() & 1, lcg() & 1, &out);
        sk_buf_free(&out);
    }
}

/* The .debug_frame mode reads its own output back unchanged. */
static void test_debug_frame_roundtrip(void **state)
{
    (void)state;
    uint8_t eh[sizeof eh_good];
    memcpy(eh, eh_good, sizeof eh);
    sk_buf once, twice;
    sk_buf_init(&once);
    sk_buf_init(&twice);
    assert_int_equal(rewrite(eh, sizeof eh, true, &once), 2);
    assert_int_equal(rewrite_as((const uint8_t *)once.data, once.len, true, false, &twice), 2);
    assert_int_equal(once.len, twice.len);
    assert_memory_equal(once.data, twice.data, once.len);
    sk_buf_free(&once);
    sk_buf_free(&twice);
}

/* ---- ARM EXIDX ----------------------------------------------------------- */

typedef struct arm_image {
    ds_object obj;
    ds_section secs[4];
    uint8_t exidx[64], extab[32];
} arm_image;

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t prel31_to(uint64_t target, uint64_t place)
{
    return (uint32_t)(target - place) & 0x7fffffffu;
}

/* .text at 0x1000-0x2000, .ARM.exidx at 0x3000, .ARM.extab at 0x4000. */
static void arm_setup(arm_image *im, size_t nexidx, size_t nextab)
{
    memset(&im->obj, 0, sizeof im->obj);
    memset(im->secs, 0, sizeof im->secs);
    im->obj.path = "arm.so";
    im->obj.elf_class = ELFCLASS32;
    im->obj.little_endian = true;
    im->obj.machine = EM_ARM;
    im->obj.type = ET_DYN;
    im->obj.sections = im->secs;
    im->obj.nsections = 4;
    const char *names[4] = {"", ".text", ".ARM.exidx", ".ARM.extab"};
    for (int i = 0; i < 4; i++) {
        im->secs[i].name = im->secs[i].dwarf_name = names[i];
        pthread_mutex_init(&im->secs[i].lock, NULL);
    }
    im->secs[1].shdr = (GElf_Shdr){.sh_type = SHT_NOBITS, .sh_flags = SHF_ALLOC | SHF_EXECINSTR,
                                   .sh_addr = 0x1000, .sh_size = 0x1000};
    im->secs[2].shdr = (GElf_Shdr){.sh_type = 0x70000001, .sh_flags = SHF_ALLOC, .sh_addr = 0x3000,
                                   .sh_size = nexidx};
    im->secs[2].raw = im->exidx;
    im->secs[2].raw_size = nexidx;
    im->secs[3].shdr = (GElf_Shdr){.sh_type = SHT_PROGBITS, .sh_flags = SHF_ALLOC, .sh_addr = 0x4000,
                                   .sh_size = nextab};
    im->secs[3].raw = im->extab;
    im->secs[3].raw_size = nextab;
}

static void arm_teardown(arm_image *im)
{
    for (int i = 0; i < 4; i++)
        pthread_mutex_destroy(&im->secs[i].lock);
}

static void run_exidx(arm_image *im, ds_cfi_out *out)
{
    ds_context ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.bin = &im->obj;
    ds_cfi_ranges none = {0};
    ds_cfi_out_init(out);
    ds_collect_exidx(&ctx, &none, out);
}

static void test_exidx(void **state)
{
    (void)state;
    arm_image *im = calloc(1, sizeof *im);
    /* 0x1000: inline "pop {r4, lr}; finish; finish" */
    put32(im->exidx + 0, prel31_to(0x1000, 0x3000));
    put32(im->exidx + 4, 0x80a8b0b0);
    /* 0x1100: cantunwind */
    put32(im->exidx + 8, prel31_to(0x1100, 0x3008));
    put32(im->exidx + 12, 1);
    /* 0x1200: extab, generic personality, then "vsp = r7; pop {r7, lr}" */
    put32(im->exidx + 16, prel31_to(0x1200, 0x3010));
    put32(im->exidx + 20, prel31_to(0x4000, 0x3014));
    put32(im->extab + 0, prel31_to(0x1f00, 0x4000)); /* the personality routine */
    put32(im->extab + 4, 0x00978408);                /* 0 more words; 97 84 08 */
    /* 0x1300: compact model 1 in extab: "vsp += 16 (0x03); finish" */
    put32(im->exidx + 24, prel31_to(0x1300, 0x3018));
    put32(im->exidx + 28, prel31_to(0x4008, 0x301c));
    put32(im->extab + 8, 0x810003b0);
    /* 0x1400: refuse to unwind (0x80 0x00) */
    put32(im->exidx + 32, prel31_to(0x1400, 0x3020));
    put32(im->exidx + 36, 0x808000b0);
    /* 0x1500: extab pointer outside every section */
    put32(im->exidx + 40, prel31_to(0x1500, 0x3028));
    put32(im->exidx + 44, prel31_to(0x9000, 0x302c));
    arm_setup(im, 48, 12);
    ds_cfi_out out;
    run_exidx(im, &out);
    assert_int_equal(out.nentries, 3);
    assert_int_equal(out.entries[0].addr, 0x1000);
    assert_int_equal(out.entries[0].size, 0x100);
    assert_string_equal(out.text.data + out.entries[0].init,
                        ".cfa: sp 8 + .ra: .cfa -4 + ^ r4: .cfa -8 + ^ lr: .cfa -4 + ^");
    assert_int_equal(out.entries[1].addr, 0x1200);
    assert_string_equal(out.text.data + out.entries[1].init,
                        ".cfa: r7 8 + .ra: .cfa -4 + ^ r7: .cfa -8 + ^ lr: .cfa -4 + ^");
    assert_int_equal(out.entries[2].addr, 0x1300);
    assert_string_equal(out.text.data + out.entries[2].init, ".cfa: sp 16 + .ra: lr");
    ds_cfi_out_free(&out);
    arm_teardown(im);

    /* Random damage to both tables: no crash, no read outside them. */
    arm_image *copy = calloc(1, sizeof *copy);
    for (int i = 0; i < 5000; i++) {
        memcpy(copy->exidx, im->exidx, sizeof im->exidx);
        memcpy(copy->extab, im->extab, sizeof im->extab);
        int flips = 1 + (int)(lcg() % 4);
        for (int k = 0; k < flips; k++) {
            if (lcg() & 1)
                copy->exidx[lcg() % 48] = (uint8_t)lcg();
            else
                copy->extab[lcg() % 12] = (uint8_t)lcg();
        }
        arm_setup(copy, 40 + lcg() % 9, 12);
        run_exidx(copy, &out);
        for (size_t e = 0; e < out.nentries; e++) {
            assert_true(strstr(out.text.data + out.entries[e].init, ".cfa: ") != NULL);
            assert_true(strstr(out.text.data + out.entries[e].init, ".ra: ") != NULL);
        }
        ds_cfi_out_free(&out);
        arm_teardown(copy);
    }
    free(copy);
    free(im);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expr_simple),
        cmocka_unit_test(test_expr_refused),
        cmocka_unit_test(test_expr_fuzz),
        cmocka_unit_test(test_eh_rewrite),
        cmocka_unit_test(test_eh_hostile),
        cmocka_unit_test(test_debug_frame_roundtrip),
        cmocka_unit_test(test_exidx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
