/* fuzz_cfi.c — fuzz target for the .eh_frame/.debug_frame reader and the
 * CFA interpreter (dumpsyms/cfi_frame.c), with the expression translator
 * (cfi_expr.c) run on every expression rule a row holds.  Built as a
 * libFuzzer binary with clang (-fsanitize=fuzzer) and linked into
 * fuzz_cfi_corpus (a deterministic mutation run) everywhere else.
 *
 * Input: one flags byte (bit 0 .eh_frame, bit 1 little-endian, bit 2
 * 32-bit, bits 3-5 the architecture, bit 6 a datarel base, bit 7 indirect
 * pointers resolve), one byte N, the section bytes, and as the last N bytes
 * an .eh_frame_hdr (at 0x1800; the section is at 0x2000).  Beyond "no
 * crash" it checks what cfi.c relies on: rows come in increasing address
 * order inside the FDE's range, a stopped FDE stops inside it, and the
 * rule table never claims columns it does not have. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfi_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Rows seen so far (the corpus driver checks its seeds reach the interpreter). */
size_t fuzz_cfi_rows;

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_cfi: invariant broken: %s\n", what);
        abort();
    }
}

typedef struct rowcheck {
    const ds_cfi_fde *fde;
    const ds_cfi_arch *arch;
    bool any;
    uint64_t last;
    unsigned addr_size;
    bool le;
    sk_buf b;
} rowcheck;

static void on_row(void *ctx, uint64_t loc, const ds_cfi_machine *m)
{
    rowcheck *rc = ctx;
    check(loc >= rc->fde->low && loc - rc->fde->low < rc->fde->len, "row outside the FDE");
    check(!rc->any || loc > rc->last, "rows out of order");
    check(m->hi <= m->ncols && m->depth <= m->stack_cap, "rule table bounds");
    rc->any = true;
    rc->last = loc;
    fuzz_cfi_rows++;
    if (m->cfa.kind == DS_CFA_EXPR) {
        sk_buf_reset(&rc->b);
        ds_cfi_expr_postfix(rc->arch, m->cfa.expr, (size_t)m->cfa.len, false, rc->addr_size, rc->le, &rc->b);
    }
    for (unsigned c = 0; c < m->hi; c++) {
        const ds_cfi_rule *r = &m->rules[c];
        if (r->kind == DS_RULE_EXPR || r->kind == DS_RULE_VAL_EXPR) {
            sk_buf_reset(&rc->b);
            ds_cfi_expr_postfix(rc->arch, r->expr, (size_t)r->len, true, rc->addr_size, rc->le, &rc->b);
        }
    }
}

static bool read_ptr(void *ctx, uint64_t addr, unsigned size, uint64_t *v)
{
    (void)ctx;
    (void)size;
    *v = addr ^ 0x5a5a; /* any pointer will do */
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const ds_cpu machines[] = {DS_CPU_X86_64, DS_CPU_X86,  DS_CPU_ARM64, DS_CPU_ARM,
                                      DS_CPU_RISCV,  DS_CPU_S390, DS_CPU_PPC64, DS_CPU_X86_64};
    if (size < 2)
        return 0;
    uint8_t flags = data[0];
    size_t nhdr = data[1] < size - 2 ? data[1] : size - 2;
    const ds_cfi_arch *arch = ds_cfi_arch_for(machines[(flags >> 3) & 7]);
    ds_cfi_frames f;
    memset(&f, 0, sizeof f);
    f.path = "fuzz";
    f.eh = flags & 1;
    f.what = f.eh ? ".eh_frame" : ".debug_frame";
    f.le = flags & 2;
    f.addr_size = flags & 4 ? 4 : 8;
    f.data = data + 2;
    f.size = size - 2 - nhdr;
    if (nhdr) {
        f.hdr = data + size - nhdr;
        f.hdr_size = nhdr;
        f.hdr_addr = 0x1800;
    }
    f.sec_addr = 0x2000;
    f.text_base = 0x1000;
    f.data_base = flags & 0x40 ? 0x3000 : 0;
    if (flags & 0x80) {
        f.read_ptr = read_ptr;
    }
    ds_cfi_frames_parse(&f);
    ds_cfi_machine m;
    ds_cfi_machine_init(&m, arch->table_size);
    rowcheck rc = {.arch = arch, .addr_size = f.addr_size, .le = f.le};
    sk_buf_init(&rc.b);
    for (size_t i = 0; i < f.nfdes; i++) {
        const ds_cfi_fde *fde = &f.fdes[i];
        check(fde->cie < f.ncies && !f.cies[fde->cie].bad, "FDE with a bad CIE");
        check(fde->instr >= f.data && fde->instr <= fde->instr_end && fde->instr_end <= f.data + f.size,
              "FDE instructions outside the section");
        if (fde->len == 0 || fde->low + fde->len < fde->low)
            continue; /* cfi.c skips these */
        rc.fde = fde;
        rc.any = false;
        uint64_t stop = 0;
        if (ds_cfi_run(&f, fde, &m, on_row, &rc, &stop))
            check(stop >= fde->low && stop - fde->low < fde->len && (!rc.any || stop > rc.last),
                  "stop address");
    }
    sk_buf_free(&rc.b);
    ds_cfi_machine_free(&m);
    ds_cfi_frames_free(&f);
    return 0;
}
