/*
 * Unit tests of the STACK CFI helpers on hand-made and hostile bytes: DWARF
 * expressions to postfix, the .eh_frame/.debug_frame reader and CFA
 * interpreter, the ARM EXIDX reader.
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
    const ds_cfi_arch *a = ds_cfi_arch_for(DS_CPU_X86_64);
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

/* ---- frame sections and CFA programs ------------------------------------- */

/* A tiny writer for hand-made frame sections in either byte order. */
typedef struct wbuf {
    uint8_t b[512];
    size_t n;
    bool le;
} wbuf;

static void w8(wbuf *w, unsigned v) { w->b[w->n++] = (uint8_t)v; }
static void wn(wbuf *w, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        w->b[w->n + (w->le ? i : n - 1 - i)] = (uint8_t)(v >> (8 * i));
    w->n += n;
}
static void wbytes(wbuf *w, const char *s, size_t n)
{
    memcpy(w->b + w->n, s, n);
    w->n += n;
}
/* Patches a 4-byte length at `at` to cover up to the end. */
static void wlen(wbuf *w, size_t at)
{
    size_t save = w->n;
    w->n = at;
    wn(w, save - at - 4, 4);
    w->n = save;
}

/* CIE instructions: def_cfa r7+8, offset r16 at cfa-8 (x86_64 rsp, rip). */
static const char cie_prog[] = "\x0c\x07\x08\x90\x01";
/* FDE: row 0x1000; advance 1; def_cfa_offset 16; offset r6 cfa-16;
 * advance 3; remember; def_cfa_register r6; advance 0 (same row);
 * GNU_args_size 8; window_save; advance 4; restore_state; restore r6;
 * advance 2; expression r3 {breg7 8}; nop. */
static const char fde_prog[] = "\x41\x0e\x10\x86\x02\x43\x0a\x0d\x06\x40\x2e\x08\x2d\x44\x0b\xc6\x42\x10\x03\x02\x77\x08\x00";

/* .eh_frame at 0x2000: CIE "zR" (pcrel|sdata4), FDEs for 0x1000+0x20 and
 * 0x1100+0x10, then a terminator. */
static size_t make_eh(wbuf *w, bool le)
{
    memset(w, 0, sizeof *w);
    w->le = le;
    wn(w, 0, 4);
    wn(w, 0, 4); /* CIE id */
    w8(w, 1);
    wbytes(w, "zR", 3);
    w8(w, 1);
    w8(w, 0x78); /* -8 */
    w8(w, 16);
    w8(w, 1);
    w8(w, 0x1b);
    wbytes(w, cie_prog, sizeof cie_prog - 1);
    wlen(w, 0);
    for (int i = 0; i < 2; i++) {
        size_t at = w->n;
        wn(w, 0, 4);
        wn(w, w->n, 4); /* back to the CIE at 0 */
        uint64_t target = i ? 0x1100 : 0x1000;
        wn(w, (uint32_t)(target - (0x2000 + w->n)), 4);
        wn(w, i ? 0x10 : 0x20, 4);
        w8(w, 0);
        if (!i)
            wbytes(w, fde_prog, sizeof fde_prog - 1);
        wlen(w, at);
    }
    wn(w, 0, 4);
    return w->n;
}

/* .debug_frame: a 32-bit version 1 CIE and a 64-bit version 4 CIE, one
 * FDE each, at 0x1000 and 0x1100. */
static size_t make_df(wbuf *w, bool le)
{
    memset(w, 0, sizeof *w);
    w->le = le;
    wn(w, 0, 4);
    wn(w, 0xffffffffu, 4);
    w8(w, 1);
    w8(w, 0);
    w8(w, 1);
    w8(w, 0x78);
    w8(w, 16);
    wbytes(w, cie_prog, sizeof cie_prog - 1);
    wlen(w, 0);
    size_t at = w->n;
    wn(w, 0, 4);
    wn(w, 0, 4);
    wn(w, 0x1000, 8);
    wn(w, 0x20, 8);
    wbytes(w, fde_prog, sizeof fde_prog - 1);
    wlen(w, at);
    size_t cie64 = w->n;
    wn(w, 0xffffffffu, 4);
    size_t len_at = w->n;
    wn(w, 0, 8);
    wn(w, ~(uint64_t)0, 8);
    w8(w, 4);
    w8(w, 0);
    w8(w, 8);
    w8(w, 0);
    w8(w, 1);
    w8(w, 0x78);
    w8(w, 16);
    wbytes(w, cie_prog, sizeof cie_prog - 1);
    size_t save = w->n;
    w->n = len_at;
    wn(w, save - len_at - 8, 8);
    w->n = save;
    wn(w, 0xffffffffu, 4);
    len_at = w->n;
    wn(w, 0, 8);
    wn(w, cie64, 8);
    wn(w, 0x1100, 8);
    wn(w, 0x10, 8);
    save = w->n;
    w->n = len_at;
    wn(w, save - len_at - 8, 8);
    w->n = save;
    return w->n;
}

typedef struct seen {
    uint64_t loc[16];
    int64_t cfa_off[16];
    uint32_t cfa_reg[16];
    uint8_t r6[16], r3[16];
    int n;
} seen;

static void record(void *ctx, uint64_t loc, const ds_cfi_machine *m)
{
    seen *s = ctx;
    if (s->n >= 16)
        return;
    s->loc[s->n] = loc;
    s->cfa_off[s->n] = m->cfa.off;
    s->cfa_reg[s->n] = m->cfa.reg;
    s->r6[s->n] = m->hi > 6 ? m->rules[6].kind : DS_RULE_SAME;
    s->r3[s->n] = m->hi > 3 ? m->rules[3].kind : DS_RULE_SAME;
    s->n++;
}

static void parse(ds_cfi_frames *f, const uint8_t *bytes, size_t n, bool le, bool eh, uint8_t **copy)
{
    memset(f, 0, sizeof *f);
    *copy = malloc(n ? n : 1);
    memcpy(*copy, bytes, n);
    f->path = "test.so";
    f->what = eh ? ".eh_frame" : ".debug_frame";
    f->data = *copy;
    f->size = n;
    f->sec_addr = 0x2000;
    f->eh = eh;
    f->le = le;
    f->addr_size = 8;
    ds_cfi_frames_parse(f);
}

static void check_rows(const ds_cfi_frames *f)
{
    ds_cfi_machine m;
    ds_cfi_machine_init(&m, 67);
    seen s = {0};
    uint64_t stop = 0;
    assert_null(ds_cfi_run(f, &f->fdes[0], &m, record, &s, &stop));
    assert_int_equal(s.n, 5);
    assert_int_equal(s.loc[0], 0x1000);
    assert_int_equal(s.cfa_reg[0], 7);
    assert_int_equal(s.cfa_off[0], 8);
    assert_int_equal(s.r6[0], DS_RULE_SAME);
    assert_int_equal(s.loc[1], 0x1001);
    assert_int_equal(s.cfa_off[1], 16);
    assert_int_equal(s.r6[1], DS_RULE_OFFSET);
    assert_int_equal(s.loc[2], 0x1004); /* remember, cfa = r6 + 16 */
    assert_int_equal(s.cfa_reg[2], 6);
    assert_int_equal(s.cfa_off[2], 16);
    assert_int_equal(s.loc[3], 0x1008); /* restore_state, restore r6 */
    assert_int_equal(s.cfa_reg[3], 7);
    assert_int_equal(s.r6[3], DS_RULE_SAME);
    assert_int_equal(s.loc[4], 0x100a); /* expression for r3 */
    assert_int_equal(s.r3[4], DS_RULE_EXPR);
    assert_int_equal(s.r3[3], DS_RULE_SAME);
    ds_cfi_machine_free(&m);
}

static void test_frames_parse(void **state)
{
    (void)state;
    for (int le = 0; le < 2; le++) {
        wbuf w;
        size_t n = make_eh(&w, le);
        ds_cfi_frames f;
        uint8_t *copy;
        parse(&f, w.b, n, le, true, &copy);
        assert_int_equal(f.ncies, 1);
        assert_int_equal(f.nfdes, 2);
        assert_int_equal(f.fdes[0].low, 0x1000);
        assert_int_equal(f.fdes[0].len, 0x20);
        assert_int_equal(f.fdes[1].low, 0x1100);
        assert_int_equal(f.fdes[1].len, 0x10);
        assert_int_equal(f.cies[0].ra_col, 16);
        assert_int_equal(f.cies[0].data_align, -8);
        check_rows(&f);
        ds_cfi_frames_free(&f);
        free(copy);

        n = make_df(&w, le);
        parse(&f, w.b, n, le, false, &copy);
        assert_int_equal(f.ncies, 2);
        assert_int_equal(f.nfdes, 2);
        assert_int_equal(f.fdes[0].low, 0x1000);
        assert_int_equal(f.fdes[1].low, 0x1100);
        assert_int_equal(f.fdes[1].len, 0x10);
        assert_int_equal(f.cies[f.fdes[1].cie].version, 4);
        check_rows(&f);
        ds_cfi_frames_free(&f);
        free(copy);
    }
}

/* A CIE with augmentation aug and FDE pointer encoding enc, and one FDE
 * whose pc_begin field holds v (written by put), range 0x40. */
static size_t make_enc(wbuf *w, bool le, const char *aug, uint8_t enc, void (*put)(wbuf *, uint64_t), uint64_t v)
{
    memset(w, 0, sizeof *w);
    w->le = le;
    wn(w, 0, 4);
    wn(w, 0, 4);
    w8(w, 3); /* version 3: return address column as ULEB128 */
    wbytes(w, aug, strlen(aug) + 1);
    w8(w, 1);
    w8(w, 0x78);
    w8(w, 30);
    size_t auglen_at = w->n;
    w8(w, 0);
    for (const char *a = aug + 1; *a; a++) {
        if (*a == 'R')
            w8(w, enc);
        else if (*a == 'L')
            w8(w, 0x1b);
        else if (*a == 'P') {
            w8(w, 0x9c); /* indirect|pcrel|sdata8 */
            wn(w, 0x1234, 8);
        }
    }
    w->b[auglen_at] = (uint8_t)(w->n - auglen_at - 1);
    wbytes(w, cie_prog, sizeof cie_prog - 1);
    wlen(w, 0);
    size_t at = w->n;
    wn(w, 0, 4);
    wn(w, w->n, 4);
    put(w, v);
    wn(w, 0x40, (enc & 0x0f) == 0x0b ? 4 : 8);
    w8(w, 0);
    wbytes(w, "\x41\x0e\x10", 3);
    wlen(w, at);
    wn(w, 0, 4);
    return w->n;
}

static void put_s4(wbuf *w, uint64_t v) { wn(w, v, 4); }
static void put_8(wbuf *w, uint64_t v) { wn(w, v, 8); }
static void put_aligned(wbuf *w, uint64_t v)
{
    while ((0x2000 + w->n) % 8)
        w8(w, 0);
    wn(w, v, 8);
}

static bool fake_ptr(void *ctx, uint64_t addr, unsigned size, uint64_t *v)
{
    (void)ctx;
    if (addr != 0x7000 || size != 8)
        return false;
    *v = 0x1500;
    return true;
}

/* .eh_frame pointer encodings: datarel, textrel, aligned, indirect, and
 * the P/L/S/B augmentations in front of R. */
static void test_frames_encodings(void **state)
{
    (void)state;
    static const struct {
        const char *aug;
        uint8_t enc;
        void (*put)(wbuf *, uint64_t);
        uint64_t v, want;
    } cases[] = {
        {"zR", 0x3b, put_s4, (uint32_t)-0x100, 0x4f00},  /* datarel|sdata4, base 0x5000 */
        {"zR", 0x2b, put_s4, 0x200, 0x1200},             /* textrel|sdata4, base 0x1000 */
        {"zR", 0x50, put_aligned, 0x1300, 0x1300},       /* aligned */
        {"zR", 0x04, put_8, 0x1400, 0x1400},             /* udata8 */
        {"zR", 0x80, put_8, 0x7000, 0x1500},             /* indirect absptr */
        {"zPLRSB", 0x0c, put_8, 0x1600, 0x1600},         /* sdata8 after P and L */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (int le = 0; le < 2; le++) {
            wbuf w;
            size_t n = make_enc(&w, le, cases[i].aug, cases[i].enc, cases[i].put, cases[i].v);
            ds_cfi_frames f;
            memset(&f, 0, sizeof f);
            uint8_t *copy = malloc(n);
            memcpy(copy, w.b, n);
            f.path = "test.so";
            f.what = ".eh_frame";
            f.data = copy;
            f.size = n;
            f.sec_addr = 0x2000;
            f.eh = true;
            f.le = le;
            f.addr_size = 8;
            f.text_base = 0x1000;
            f.data_base = 0x5000;
            f.read_ptr = fake_ptr;
            ds_cfi_frames_parse(&f);
            assert_int_equal(f.nfdes, 1);
            assert_int_equal(f.fdes[0].low, cases[i].want);
            assert_int_equal(f.fdes[0].len, 0x40);
            assert_int_equal(f.cies[0].ra_col, 30);
            assert_int_equal(f.cies[0].signal, strchr(cases[i].aug, 'S') != NULL);
            ds_cfi_machine m;
            ds_cfi_machine_init(&m, 96);
            seen s = {0};
            uint64_t stop;
            assert_null(ds_cfi_run(&f, &f.fdes[0], &m, record, &s, &stop));
            assert_int_equal(s.n, 2);
            assert_int_equal(s.loc[1], cases[i].want + 1);
            assert_int_equal(s.cfa_off[1], 16);
            ds_cfi_machine_free(&m);
            /* Without the base or the pointer reader, the FDE is skipped. */
            ds_cfi_frames_free(&f);
            f.text_base = f.data_base = 0;
            f.read_ptr = NULL;
            ds_cfi_frames_parse(&f);
            assert_int_equal(f.nfdes, (cases[i].enc & 0xf0) == 0x00 || cases[i].enc == 0x50 ? 1 : 0);
            ds_cfi_frames_free(&f);
            free(copy);
        }
    }
}

/* One bad entry costs itself (and the FDEs of a bad CIE) only. */
static void test_frames_bad_entry(void **state)
{
    (void)state;
    wbuf w;
    size_t n = make_eh(&w, true);
    ds_cfi_frames f;
    uint8_t *copy;
    /* The first FDE's CIE pointer points nowhere. */
    size_t fde0 = 4 + w.b[0];
    w.b[fde0 + 4] = 0x99;
    parse(&f, w.b, n, true, true, &copy);
    assert_int_equal(f.nfdes, 1);
    assert_int_equal(f.fdes[0].low, 0x1100);
    ds_cfi_frames_free(&f);
    free(copy);
    /* An unknown CIE version: both FDEs go, nothing crashes. */
    n = make_eh(&w, true);
    w.b[8] = 9;
    parse(&f, w.b, n, true, true, &copy);
    assert_int_equal(f.ncies, 1);
    assert_int_equal(f.nfdes, 0);
    ds_cfi_frames_free(&f);
    free(copy);
}

/* A length that hides the rest of .eh_frame: the FDEs past it come from
 * .eh_frame_hdr's table (at 0x1800), checked against its initial location. */
static void test_frames_hdr_resync(void **state)
{
    (void)state;
    for (int le = 0; le < 2; le++) {
        wbuf w;
        size_t n = make_eh(&w, le);
        size_t fde0 = 4 + (le ? w.b[0] : w.b[3]);
        size_t fde1 = fde0 + 4 + (le ? w.b[fde0] : w.b[fde0 + 3]);
        wbuf h = {.le = le};
        w8(&h, 1);
        w8(&h, 0x1b);
        w8(&h, 0x03);
        w8(&h, 0x3b);
        wn(&h, (uint32_t)(0x2000 - 0x1804), 4);
        wn(&h, 2, 4);
        wn(&h, 0x1000 - 0x1800, 4);
        wn(&h, 0x2000 + fde0 - 0x1800, 4);
        wn(&h, 0x1100 - 0x1800, 4);
        wn(&h, 0x2000 + fde1 - 0x1800, 4);
        /* FDE 0's length runs off the end. */
        w.b[fde0 + (le ? 3 : 0)] = 0x7f;
        ds_cfi_frames f;
        uint8_t *copy;
        for (int with_hdr = 0; with_hdr < 2; with_hdr++) {
            memset(&f, 0, sizeof f);
            copy = malloc(n);
            memcpy(copy, w.b, n);
            f.path = "test.so";
            f.what = ".eh_frame";
            f.data = copy;
            f.size = n;
            f.sec_addr = 0x2000;
            f.eh = true;
            f.le = le;
            f.addr_size = 8;
            uint8_t *hcopy = malloc(h.n);
            memcpy(hcopy, h.b, h.n);
            if (with_hdr) {
                f.hdr = hcopy;
                f.hdr_size = h.n;
                f.hdr_addr = 0x1800;
            }
            ds_cfi_frames_parse(&f);
            assert_int_equal(f.nfdes, with_hdr ? 1 : 0);
            if (with_hdr)
                assert_int_equal(f.fdes[0].low, 0x1100);
            ds_cfi_frames_free(&f);
            /* A table entry that disagrees with its FDE is not believed. */
            if (with_hdr) {
                hcopy[h.n - 8] ^= 0x10;
                memset(&f.cies, 0, sizeof f.cies);
                f.ncies = f.nfdes = 0;
                ds_cfi_frames_parse(&f);
                assert_int_equal(f.nfdes, 0);
                ds_cfi_frames_free(&f);
            }
            free(hcopy);
            free(copy);
        }
    }
}

/* A bad instruction keeps the rows before the row it is in. */
static void test_run_bad_instruction(void **state)
{
    (void)state;
    wbuf w;
    size_t n = make_eh(&w, true);
    size_t fde0 = 4 + w.b[0];
    /* The remember_state (FDE byte 6) becomes a restore_state on an empty stack. */
    size_t prog = fde0 + 4 + 4 + 4 + 4 + 1;
    assert_int_equal(w.b[prog + 6], 0x0a);
    w.b[prog + 6] = 0x0b;
    ds_cfi_frames f;
    uint8_t *copy;
    parse(&f, w.b, n, true, true, &copy);
    ds_cfi_machine m;
    ds_cfi_machine_init(&m, 67);
    seen s = {0};
    uint64_t stop = 0;
    assert_non_null(ds_cfi_run(&f, &f.fdes[0], &m, record, &s, &stop));
    assert_int_equal(s.n, 2);
    assert_int_equal(stop, 0x1004);
    /* Deep remember_state nesting is refused, not followed. */
    static uint8_t deep[200];
    memset(deep, 0x0a, sizeof deep);
    ds_cfi_fde fd = f.fdes[0];
    fd.instr = deep;
    fd.instr_end = deep + sizeof deep;
    ds_cfi_frames g = f;
    g.data = deep;
    g.size = sizeof deep;
    s.n = 0;
    assert_non_null(ds_cfi_run(&g, &fd, &m, record, &s, &stop));
    assert_int_equal(s.n, 0);
    ds_cfi_machine_free(&m);
    ds_cfi_frames_free(&f);
    free(copy);
}

/* Per row: the columns the machine says were written since the row before. */
typedef struct changes {
    uint64_t mask[8];
    int64_t off6[8], off16[8];
    uint8_t kind3[8], kind6[8];
    int n;
} changes;

static void record_changes(void *ctx, uint64_t loc, const ds_cfi_machine *m)
{
    (void)loc;
    changes *ch = ctx;
    if (ch->n >= 8)
        return;
    uint64_t mask = 0;
    for (unsigned c = ds_cfi_next_changed(m, 0); c < m->ncols; c = ds_cfi_next_changed(m, c + 1))
        mask |= (uint64_t)1 << c;
    ch->mask[ch->n] = mask;
    ch->kind3[ch->n] = m->rules[3].kind;
    ch->kind6[ch->n] = m->rules[6].kind;
    ch->off6[ch->n] = m->rules[6].off;
    ch->off16[ch->n] = m->rules[16].off;
    ch->n++;
}

#define BIT(c) ((uint64_t)1 << (c))

/* Runs prog as the instructions of f's first FDE (its CIE's first),
 * recording the rows into ch. */
static const char *run_prog(const ds_cfi_frames *f, const uint8_t *prog, size_t n, ds_cfi_machine *m, changes *ch)
{
    ds_cfi_fde fd = f->fdes[0];
    fd.instr = prog;
    fd.instr_end = prog + n;
    ds_cfi_frames g = *f;
    g.data = prog;
    g.size = n;
    uint64_t stop = 0;
    memset(ch, 0, sizeof *ch);
    return ds_cfi_run(&g, &fd, m, record_changes, ch, &stop);
}

/* The written-column set a row reader relies on to look at only those
 * columns: exact for sets and DW_CFA_restore, empty after an advance that
 * changed nothing, and covering what DW_CFA_restore_state brings back. */
static void test_run_changed_columns(void **state)
{
    (void)state;
    wbuf w;
    size_t n = make_eh(&w, true);
    ds_cfi_frames f;
    uint8_t *copy;
    parse(&f, w.b, n, true, true, &copy);
    /* Row 0x1000 (the CIE's rules); advance; offset r6 cfa-16, then r6
     * cfa-24; advance; advance; remember; offset r3 cfa-32; advance;
     * restore_state; advance; restore r6; advance; offset r16 cfa-16,
     * restore r16 (back to the CIE's cfa-8); end. */
    static const uint8_t prog[] = {0x41, 0x86, 0x02, 0x86, 0x03, 0x41, 0x41, 0x0a, 0x83, 0x04, 0x41,
                                   0x0b, 0x41, 0xc6, 0x41, 0x90, 0x02, 0xd0};
    ds_cfi_machine m;
    ds_cfi_machine_init(&m, 67);
    changes ch;
    assert_null(run_prog(&f, prog, sizeof prog, &m, &ch));
    assert_int_equal(ch.n, 7);
    assert_true(ch.mask[0] & BIT(16)); /* the CIE's return address rule */
    assert_int_equal(ch.mask[1], BIT(6)); /* set twice: once, last value */
    assert_int_equal(ch.off6[1], -24);
    assert_int_equal(ch.mask[2], 0); /* an advance with no change */
    assert_int_equal(ch.mask[3], BIT(3));
    assert_int_equal(ch.kind3[3], DS_RULE_OFFSET);
    assert_true(ch.mask[4] & BIT(3)); /* restore_state undid r3 */
    assert_int_equal(ch.kind3[4], DS_RULE_SAME);
    assert_int_equal(ch.kind6[4], DS_RULE_OFFSET);
    assert_int_equal(ch.mask[5], BIT(6)); /* DW_CFA_restore */
    assert_int_equal(ch.kind6[5], DS_RULE_SAME);
    assert_int_equal(ch.mask[6], BIT(16)); /* written, even if back to the CIE's rule */
    assert_int_equal(ch.off16[6], -8);
    /* A second FDE on the same machine starts with nothing stale. */
    static const uint8_t prog2[] = {0x41, 0x41};
    assert_null(run_prog(&f, prog2, sizeof prog2, &m, &ch));
    assert_int_equal(ch.n, 3);
    assert_int_equal(ch.mask[0], BIT(16));
    assert_int_equal(ch.mask[1], 0);
    assert_int_equal(ch.mask[2], 0);
    ds_cfi_machine_free(&m);
    ds_cfi_frames_free(&f);
    free(copy);
}

static void noop_row(void *ctx, uint64_t loc, const ds_cfi_machine *m)
{
    (void)loc;
    (void)m;
    (*(int *)ctx)++;
}

static void parse_and_run(const uint8_t *bytes, size_t n, bool le, bool eh, unsigned ncols)
{
    ds_cfi_frames f;
    uint8_t *copy;
    parse(&f, bytes, n, le, eh, &copy);
    ds_cfi_machine m;
    ds_cfi_machine_init(&m, ncols);
    for (size_t i = 0; i < f.nfdes; i++) {
        int rows = 0;
        uint64_t stop;
        ds_cfi_run(&f, &f.fdes[i], &m, noop_row, &rows, &stop);
    }
    ds_cfi_machine_free(&m);
    ds_cfi_frames_free(&f);
    free(copy);
}

static void test_frames_hostile(void **state)
{
    (void)state;
    for (int le = 0; le < 2; le++) {
        for (int eh = 0; eh < 2; eh++) {
            wbuf w;
            size_t n = eh ? make_eh(&w, le) : make_df(&w, le);
            for (size_t k = 0; k <= n; k++)
                parse_and_run(w.b, k, le, eh, 67);
        }
    }
    for (int i = 0; i < 20000; i++) {
        bool le = lcg() & 1, eh = lcg() & 1;
        wbuf w;
        size_t n = eh ? make_eh(&w, le) : make_df(&w, le);
        int flips = 1 + (int)(lcg() % 6);
        for (int k = 0; k < flips; k++)
            w.b[lcg() % n] = (uint8_t)lcg();
        parse_and_run(w.b, n, le, eh, 1 + lcg() % 100);
    }
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
    im->obj.addr_size = 4;
    im->obj.little_endian = true;
    im->obj.cpu = DS_CPU_ARM;
    im->obj.kind = DS_FILE_SHARED;
    im->obj.sections = im->secs;
    im->obj.nsections = 4;
    const char *names[4] = {"", ".text", ".ARM.exidx", ".ARM.extab"};
    for (int i = 0; i < 4; i++) {
        im->secs[i].name = im->secs[i].dwarf_name = names[i];
        pthread_mutex_init(&im->secs[i].lock, NULL);
    }
    im->secs[1].flags = DS_SEC_NOBITS | DS_SEC_ALLOC | DS_SEC_EXEC;
    im->secs[1].addr = 0x1000;
    im->secs[1].size = 0x1000;
    im->secs[2].kind = DS_SECT_ARM_EXIDX;
    im->secs[2].flags = DS_SEC_ALLOC;
    im->secs[2].addr = 0x3000;
    im->secs[2].size = nexidx;
    im->secs[2].raw = im->exidx;
    im->secs[2].raw_size = nexidx;
    im->secs[3].flags = DS_SEC_ALLOC;
    im->secs[3].addr = 0x4000;
    im->secs[3].size = nextab;
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
        cmocka_unit_test(test_frames_parse),
        cmocka_unit_test(test_frames_encodings),
        cmocka_unit_test(test_frames_bad_entry),
        cmocka_unit_test(test_frames_hdr_resync),
        cmocka_unit_test(test_run_bad_instruction),
        cmocka_unit_test(test_run_changed_columns),
        cmocka_unit_test(test_frames_hostile),
        cmocka_unit_test(test_exidx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
