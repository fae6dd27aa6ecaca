/* Unit tests for the stack-height analysis (dumpsyms/cfi/synth.c) on
 * hand-assembled functions: the rows at each instruction, joins that agree
 * and that conflict, the frame pointer after alloca, arm64 pre/post-indexed
 * pairs, arm push/pop, what makes it give up, and the text form (delta
 * rows with only the columns that changed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "synth.h"

#define BASE 0x1000

static const char *const amd64_names[] = {"$rax", "$rdx", "$rcx", "$rbx", "$rsi", "$rdi", "$rbp", "$rsp",
                                          "$r8", "$r9", "$r10", "$r11", "$r12", "$r13", "$r14", "$r15", "$rip"};
static const char *const arm64_names[] = {
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
    "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30", "sp"};
static const char *const arm_names[] = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7",
                                        "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc"};

typedef struct fx {
    ds_synth *an;
    ds_synth_result res;
    ds_synth_names names;
    bool any;
} fx;

static void analyse(fx *f, da_arch arch, const uint8_t *code, size_t n)
{
    sk_error err;
    assert_int_equal(ds_synth_open(arch, &f->an, &err), SK_OK);
    ds_synth_result_init(&f->res);
    ds_synth_range r = {BASE, n};
    ds_synth_input in = {.arch = arch, .code = code, .code_addr = BASE, .code_size = n, .ranges = &r, .nranges = 1};
    f->any = ds_synth_function(f->an, &in, &f->res);
    if (arch == DA_ARCH_ARM64)
        ds_synth_names_init(&f->names, arm64_names, 32);
    else if (arch == DA_ARCH_ARM || arch == DA_ARCH_THUMB)
        ds_synth_names_init(&f->names, arm_names, 16);
    else
        ds_synth_names_init(&f->names, amd64_names, 17);
}

static void done(fx *f)
{
    ds_synth_result_free(&f->res);
    ds_synth_close(f->an);
}

static const ds_synth_row *row_at(const fx *f, uint64_t off)
{
    for (size_t i = 0; i < f->res.nrows; i++)
        if (f->res.rows[i].addr == BASE + off)
            return &f->res.rows[i];
    return NULL;
}

/* The full rule text at offset off, "" when there is no row. */
static const char *rules_at(fx *f, uint64_t off)
{
    static sk_buf b;
    sk_buf_reset(&b);
    const ds_synth_row *r = row_at(f, off);
    if (!r)
        return "";
    assert_true(ds_synth_format(&f->names, NULL, r, &b));
    return b.data;
}

static void test_amd64_frame(void **state)
{
    (void)state;
    /* 0 push rbp; 1 mov rbp,rsp; 4 push rbx; 5 sub rsp,0x18; 9 mov [rbp-16],rdi;
     * d call +0; 12 mov rbx,[rbp-8]; 16 leave; 17 ret */
    static const uint8_t code[] = {0x55, 0x48, 0x89, 0xe5, 0x53, 0x48, 0x83, 0xec, 0x18, 0x48, 0x89, 0x7d, 0xf0,
                                   0xe8, 0x10, 0x00, 0x00, 0x00, 0x48, 0x8b, 0x5d, 0xf8, 0xc9, 0xc3};
    fx f;
    analyse(&f, DA_ARCH_AMD64, code, sizeof code);
    assert_true(f.any);
    assert_string_equal(rules_at(&f, 0), ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
    assert_string_equal(rules_at(&f, 1), ".cfa: $rsp 16 + .ra: .cfa -8 + ^ $rbp: .cfa -16 + ^");
    assert_string_equal(rules_at(&f, 4), ".cfa: $rbp 16 + .ra: .cfa -8 + ^ $rbp: .cfa -16 + ^");
    assert_string_equal(rules_at(&f, 5), ".cfa: $rbp 16 + .ra: .cfa -8 + ^ $rbx: .cfa -24 + ^ $rbp: .cfa -16 + ^");
    assert_string_equal(rules_at(&f, 0x17), ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
    assert_int_equal(f.res.ninits, 1);
    assert_int_equal(f.res.inits[0].size, sizeof code);
    /* delta rows say only what changed, and a restored register by name */
    sk_buf b;
    sk_buf_init(&b);
    assert_true(ds_synth_format(&f.names, row_at(&f, 0x16), row_at(&f, 0x17), &b));
    assert_string_equal(b.data, ".cfa: $rsp 8 + $rbx: $rbx $rbp: $rbp");
    sk_buf_free(&b);
    /* the call's target is an exit (another function) */
    assert_int_equal(f.res.nexits, 1);
    assert_int_equal(f.res.exits[0].addr, BASE + 0x12 + 0x10);
    assert_true(f.res.exits[0].entry);
    done(&f);
}

static void test_amd64_join(void **state)
{
    (void)state;
    /* 0 sub rsp,24; 4 test rdi,rdi; 7 je 0xd; 9 add rsp,8; d add rsp,16; 11 ret
     * Paths reach 0xd with heights 32 and 24: no row there, nor after. */
    static const uint8_t code[] = {0x48, 0x83, 0xec, 0x18, 0x48, 0x85, 0xff, 0x74, 0x04,
                                   0x48, 0x83, 0xc4, 0x08, 0x48, 0x83, 0xc4, 0x10, 0xc3};
    fx f;
    analyse(&f, DA_ARCH_AMD64, code, sizeof code);
    assert_string_equal(rules_at(&f, 9), ".cfa: $rsp 32 + .ra: .cfa -8 + ^");
    assert_null(row_at(&f, 0xd));
    assert_null(row_at(&f, 0x11));
    done(&f);

    /* Both paths agree: 0 push rbx; 1 test; 4 je 8; 6 xor eax,eax; 8 pop rbx; 9 ret */
    static const uint8_t agree[] = {0x53, 0x48, 0x85, 0xff, 0x74, 0x02, 0x31, 0xc0, 0x5b, 0xc3};
    analyse(&f, DA_ARCH_AMD64, agree, sizeof agree);
    assert_string_equal(rules_at(&f, 8), ".cfa: $rsp 16 + .ra: .cfa -8 + ^ $rbx: .cfa -16 + ^");
    assert_string_equal(rules_at(&f, 9), ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
    done(&f);
}

static void test_amd64_alloca_and_stops(void **state)
{
    (void)state;
    /* 0 push rbp; 1 mov rbp,rsp; 4 sub rsp,rax; 7 mov rsp,rbp (via leave at 7); 8 ret
     * sp is unknown after 4, the CFA stays on rbp. */
    static const uint8_t code[] = {0x55, 0x48, 0x89, 0xe5, 0x48, 0x29, 0xc4, 0xc9, 0xc3};
    fx f;
    analyse(&f, DA_ARCH_AMD64, code, sizeof code);
    assert_string_equal(rules_at(&f, 7), ".cfa: $rbp 16 + .ra: .cfa -8 + ^ $rbp: .cfa -16 + ^");
    assert_string_equal(rules_at(&f, 8), ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
    done(&f);

    /* sp loaded from memory: 0 mov rsp,[rdi]; 3 ret — a row at 0 only */
    static const uint8_t load[] = {0x48, 0x8b, 0x27, 0xc3};
    analyse(&f, DA_ARCH_AMD64, load, sizeof load);
    assert_non_null(row_at(&f, 0));
    assert_null(row_at(&f, 3));
    done(&f);

    /* a signal-return trampoline (mov rax,15; syscall) gets nothing */
    static const uint8_t sigret[] = {0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05};
    analyse(&f, DA_ARCH_AMD64, sigret, sizeof sigret);
    assert_false(f.any);
    assert_non_null(f.res.gave_up);
    done(&f);

    /* a branch into the middle of an instruction that is also run */
    static const uint8_t overlap[] = {0x74, 0x01, 0x48, 0xb8, 0x5d, 0xc3, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc3};
    analyse(&f, DA_ARCH_AMD64, overlap, sizeof overlap);
    assert_false(f.any);
    assert_non_null(f.res.gave_up);
    done(&f);

    /* an indirect jump after the prologue: no successors known, no rows past it */
    static const uint8_t ijmp[] = {0x53, 0xff, 0xe0, 0x5b, 0xc3};
    analyse(&f, DA_ARCH_AMD64, ijmp, sizeof ijmp);
    assert_non_null(row_at(&f, 1));
    assert_null(row_at(&f, 3));
    done(&f);

    /* a call followed by padding does not fall through */
    static const uint8_t noret[] = {0x50, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x90, 0x53, 0xc3};
    analyse(&f, DA_ARCH_AMD64, noret, sizeof noret);
    assert_non_null(row_at(&f, 1));
    assert_null(row_at(&f, 6));
    assert_null(row_at(&f, 7));
    done(&f);
}

static void test_arm64(void **state)
{
    (void)state;
    /* 0 stp x29,x30,[sp,#-32]!; 4 mov x29,sp; 8 str x19,[sp,#16]; c bl +8;
     * 10 ldr x19,[sp,#16]; 14 ldp x29,x30,[sp],#32; 18 ret */
    static const uint8_t code[] = {0xfd, 0x7b, 0xbe, 0xa9, 0xfd, 0x03, 0x00, 0x91, 0xf3, 0x0b, 0x00, 0xf9,
                                   0x02, 0x00, 0x00, 0x94, 0xf3, 0x0b, 0x40, 0xf9, 0xfd, 0x7b, 0xc2, 0xa8,
                                   0xc0, 0x03, 0x5f, 0xd6};
    fx f;
    analyse(&f, DA_ARCH_ARM64, code, sizeof code);
    assert_string_equal(rules_at(&f, 0), ".cfa: sp 0 + .ra: x30");
    assert_string_equal(rules_at(&f, 4), ".cfa: sp 32 + .ra: .cfa -24 + ^ x29: .cfa -32 + ^");
    assert_string_equal(rules_at(&f, 0xc), ".cfa: sp 32 + .ra: .cfa -24 + ^ x19: .cfa -16 + ^ x29: .cfa -32 + ^");
    assert_string_equal(rules_at(&f, 0x18), ".cfa: sp 0 + .ra: x30");
    /* fp is known from 8 on: the alternative CFA rule */
    const ds_synth_row *r = row_at(&f, 0xc);
    assert_int_equal(r->alt_reg, 29);
    assert_int_equal(r->alt_off, 32);
    done(&f);

    /* x30 overwritten by a call before it was saved: no return address */
    static const uint8_t lost[] = {0x02, 0x00, 0x00, 0x94, 0xc0, 0x03, 0x5f, 0xd6};
    analyse(&f, DA_ARCH_ARM64, lost, sizeof lost);
    assert_non_null(row_at(&f, 0));
    assert_null(row_at(&f, 4));
    done(&f);
}

static void test_arm(void **state)
{
    (void)state;
    /* 0 push {r4, lr}; 4 sub sp,sp,#8; 8 add sp,sp,#8; c pop {r4, pc} */
    static const uint8_t code[] = {0x10, 0x40, 0x2d, 0xe9, 0x08, 0xd0, 0x4d, 0xe2,
                                   0x08, 0xd0, 0x8d, 0xe2, 0x10, 0x80, 0xbd, 0xe8};
    fx f;
    analyse(&f, DA_ARCH_ARM, code, sizeof code);
    assert_string_equal(rules_at(&f, 0), ".cfa: sp 0 + .ra: lr");
    assert_string_equal(rules_at(&f, 4), ".cfa: sp 8 + .ra: .cfa -4 + ^ r4: .cfa -8 + ^");
    assert_string_equal(rules_at(&f, 8), ".cfa: sp 16 + .ra: .cfa -4 + ^ r4: .cfa -8 + ^");
    assert_string_equal(rules_at(&f, 0xc), ".cfa: sp 8 + .ra: .cfa -4 + ^ r4: .cfa -8 + ^");
    done(&f);

    /* Thumb: 0 push {r7, lr}; 2 add r7, sp, #0; 4 pop {r7, pc} */
    static const uint8_t thumb[] = {0x80, 0xb5, 0x00, 0xaf, 0x80, 0xbd};
    analyse(&f, DA_ARCH_THUMB, thumb, sizeof thumb);
    assert_string_equal(rules_at(&f, 4), ".cfa: r7 8 + .ra: .cfa -4 + ^ r7: .cfa -8 + ^");
    done(&f);
}

static void test_bad_input(void **state)
{
    (void)state;
    fx f;
    /* undecodable first byte */
    static const uint8_t bad[] = {0x06, 0x07};
    analyse(&f, DA_ARCH_AMD64, bad, sizeof bad);
    assert_false(f.any);
    done(&f);
    /* a self-loop ends */
    static const uint8_t loop[] = {0x53, 0xeb, 0xfe};
    analyse(&f, DA_ARCH_AMD64, loop, sizeof loop);
    assert_string_equal(rules_at(&f, 1), ".cfa: $rsp 16 + .ra: .cfa -8 + ^ $rbx: .cfa -16 + ^");
    done(&f);
    /* a range outside the code bytes, and no ranges */
    sk_error err;
    ds_synth *an;
    assert_int_equal(ds_synth_open(DA_ARCH_AMD64, &an, &err), SK_OK);
    ds_synth_result res;
    ds_synth_result_init(&res);
    ds_synth_range r = {0x9000, 16};
    ds_synth_input in = {.arch = DA_ARCH_AMD64, .code = loop, .code_addr = BASE, .code_size = sizeof loop,
                         .ranges = &r, .nranges = 1};
    assert_false(ds_synth_function(an, &in, &res));
    in.nranges = 0;
    assert_false(ds_synth_function(an, &in, &res));
    ds_synth_result_free(&res);
    ds_synth_close(an);
}

/* A row by hand: CFA = reg + off, return address at CFA - 8, and the
 * saved registers given as (reg, off) pairs in register order. */
static ds_synth_row hand_row(int cfa_reg, int32_t cfa_off, unsigned nsaved, const int32_t (*saved)[2])
{
    ds_synth_row r;
    memset(&r, 0, sizeof r);
    r.cfa_reg = (int16_t)cfa_reg;
    r.cfa_off = cfa_off;
    r.ra_reg = -1;
    r.ra_off = -8;
    r.alt_reg = -1;
    r.nsaved = (uint8_t)nsaved;
    for (unsigned i = 0; i < nsaved; i++) {
        r.saved[i].reg = (int16_t)saved[i][0];
        r.saved[i].off = saved[i][1];
    }
    return r;
}

/* The text of row after prev, or "<bad>" when it cannot be written. */
static const char *delta(const ds_synth_names *n, const ds_synth_row *prev, const ds_synth_row *row)
{
    static sk_buf b;
    sk_buf_reset(&b);
    if (!ds_synth_format(n, prev, row, &b))
        return "<bad>";
    return b.data ? b.data : "";
}

/* Delta rows name only the columns that changed: a register saved anew or
 * at another slot, the CFA alone, a register restored — in DWARF order,
 * whatever mix of them one row has. */
static void test_format_changed_columns(void **state)
{
    (void)state;
    ds_synth_names n;
    ds_synth_names_init(&n, amd64_names, 17);
    static const int32_t rbx[][2] = {{3, -16}};
    static const int32_t rbx_rbp[][2] = {{3, -16}, {6, -24}};
    static const int32_t rbx_r12[][2] = {{3, -16}, {12, -32}};
    static const int32_t rbp_r12[][2] = {{6, -24}, {12, -40}};
    static const int32_t rbx_moved[][2] = {{3, -24}};
    ds_synth_row a = hand_row(7, 16, 1, rbx);

    /* one register changes: rbp saved, rbx as it was */
    ds_synth_row b = hand_row(7, 16, 2, rbx_rbp);
    assert_string_equal(delta(&n, &a, &b), "$rbp: .cfa -24 + ^");
    /* one register moves to another slot */
    ds_synth_row moved = hand_row(7, 16, 1, rbx_moved);
    assert_string_equal(delta(&n, &a, &moved), "$rbx: .cfa -24 + ^");
    /* the CFA only (offset, then register) */
    ds_synth_row c = hand_row(7, 24, 1, rbx);
    assert_string_equal(delta(&n, &a, &c), ".cfa: $rsp 24 +");
    ds_synth_row d = hand_row(6, 16, 1, rbx);
    assert_string_equal(delta(&n, &a, &d), ".cfa: $rbp 16 +");
    /* restores: rbp back in rbp; the last saved register back too */
    assert_string_equal(delta(&n, &b, &a), "$rbp: $rbp");
    ds_synth_row none = hand_row(7, 8, 0, NULL);
    assert_string_equal(delta(&n, &a, &none), ".cfa: $rsp 8 + $rbx: $rbx");
    /* nothing changed */
    assert_string_equal(delta(&n, &b, &b), "");
    /* a mix, interleaved: rbx restored, rbp new, r12 moved, in DWARF order */
    ds_synth_row e = hand_row(7, 48, 2, rbx_r12);
    ds_synth_row f = hand_row(7, 48, 2, rbp_r12);
    assert_string_equal(delta(&n, &e, &f), "$rbx: $rbx $rbp: .cfa -24 + ^ $r12: .cfa -40 + ^");
    /* the return address moves alone */
    ds_synth_row g = a;
    g.ra_off = -16;
    assert_string_equal(delta(&n, &a, &g), ".ra: .cfa -16 + ^");
    /* an INIT has every rule */
    assert_string_equal(delta(&n, NULL, &e), ".cfa: $rsp 48 + .ra: .cfa -8 + ^ $rbx: .cfa -16 + ^ $r12: .cfa -32 + ^");

    /* An unnamed register is an error only where its rule is written. */
    static const char *const no_rbx[] = {"$rax", "$rdx", "$rcx", NULL, "$rsi", "$rdi", "$rbp", "$rsp"};
    ds_synth_names m;
    ds_synth_names_init(&m, no_rbx, 8);
    assert_string_equal(delta(&m, &a, &b), "$rbp: .cfa -24 + ^");
    assert_string_equal(delta(&m, &a, &moved), "<bad>");
    assert_string_equal(delta(&m, &b, &a), "$rbp: $rbp");
    assert_string_equal(delta(&m, &a, &none), "<bad>");
}

/* Rows of one more function through an analyser that keeps what it
 * decoded (ds_synth_keep_decoded), as text: "OFF RULES;" per row. */
static const char *kept_rows(ds_synth *an, const uint8_t *code, size_t n, uint64_t range_size)
{
    static sk_buf out, b;
    sk_buf_reset(&out);
    ds_synth_names names;
    ds_synth_names_init(&names, amd64_names, 17);
    ds_synth_result res;
    ds_synth_result_init(&res);
    ds_synth_range r = {BASE, range_size};
    ds_synth_input in = {.arch = DA_ARCH_AMD64, .code = code, .code_addr = BASE, .code_size = n, .ranges = &r,
                         .nranges = 1};
    ds_synth_function(an, &in, &res);
    for (size_t i = 0; i < res.nrows; i++) {
        sk_buf_reset(&b);
        assert_true(ds_synth_format(&names, NULL, &res.rows[i], &b));
        sk_buf_printf(&out, "%x %s;", (unsigned)(res.rows[i].addr - BASE), b.data);
    }
    ds_synth_result_free(&res);
    return out.data ? out.data : "";
}

/* Instructions kept across functions are reused only for the same code
 * buffer and the same room to decode in: other bytes at the same address,
 * or a range that now ends inside an instruction, are decoded again. */
static void test_kept_decodes(void **state)
{
    (void)state;
    sk_error err;
    ds_synth *an;
    assert_int_equal(ds_synth_open(DA_ARCH_AMD64, &an, &err), SK_OK);
    ds_synth_keep_decoded(an);
    /* push rbx; pop rbx; ret — then other bytes at the same address */
    static const uint8_t rbx[] = {0x53, 0x5b, 0xc3};
    static const uint8_t rbp[] = {0x55, 0x5d, 0xc3};
    assert_string_equal(kept_rows(an, rbx, sizeof rbx, sizeof rbx),
                        "0 .cfa: $rsp 8 + .ra: .cfa -8 + ^;1 .cfa: $rsp 16 + .ra: .cfa -8 + ^ $rbx: .cfa -16 + ^;"
                        "2 .cfa: $rsp 8 + .ra: .cfa -8 + ^;");
    assert_string_equal(kept_rows(an, rbp, sizeof rbp, sizeof rbp),
                        "0 .cfa: $rsp 8 + .ra: .cfa -8 + ^;1 .cfa: $rsp 16 + .ra: .cfa -8 + ^ $rbp: .cfa -16 + ^;"
                        "2 .cfa: $rsp 8 + .ra: .cfa -8 + ^;");
    /* 0 push rbx; 1 movabs rax, imm64 (10 bytes); b pop rbx; c ret: whole,
     * then with the range ending inside the movabs (it no longer decodes),
     * then whole again */
    static const uint8_t movabs[] = {0x53, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8, 0x5b, 0xc3};
    const char *whole = "0 .cfa: $rsp 8 + .ra: .cfa -8 + ^;1 .cfa: $rsp 16 + .ra: .cfa -8 + ^ $rbx: .cfa -16 + ^;"
                        "b .cfa: $rsp 16 + .ra: .cfa -8 + ^ $rbx: .cfa -16 + ^;c .cfa: $rsp 8 + .ra: .cfa -8 + ^;";
    assert_string_equal(kept_rows(an, movabs, sizeof movabs, sizeof movabs), whole);
    assert_string_equal(kept_rows(an, movabs, sizeof movabs, 5), "0 .cfa: $rsp 8 + .ra: .cfa -8 + ^;");
    assert_string_equal(kept_rows(an, movabs, sizeof movabs, sizeof movabs), whole);
    ds_synth_close(an);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amd64_frame),
        cmocka_unit_test(test_amd64_join),
        cmocka_unit_test(test_amd64_alloca_and_stops),
        cmocka_unit_test(test_arm64),
        cmocka_unit_test(test_arm),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_format_changed_columns),
        cmocka_unit_test(test_kept_decodes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
