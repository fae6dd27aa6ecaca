/*
 * compact_unwind.c — compact unwind (__TEXT,__unwind_info, version 1) to
 * STACK CFI; see compact_unwind.h for why it is our own.
 *
 * Breakpad's dumper ignores this section, yet on macOS the linker moves the
 * unwind info of most functions here and drops their __eh_frame FDEs, so
 * without it a walker has nothing but stack scanning.  Each function has
 * one 32-bit encoding; we turn the x86_64 and arm64 ones into the rules
 * Apple's libunwind applies (frame-based, frameless with an immediate or an
 * indirect stack size), and hand "use DWARF" back as an FDE offset.
 */
#include "compact_unwind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define UNWIND_SECOND_LEVEL_REGULAR 2u
#define UNWIND_SECOND_LEVEL_COMPRESSED 3u

#define X86_64_MODE_MASK 0x0f000000u
#define X86_64_MODE_RBP_FRAME 0x01000000u
#define X86_64_MODE_STACK_IMMD 0x02000000u
#define X86_64_MODE_STACK_IND 0x03000000u
#define X86_64_MODE_DWARF 0x04000000u
#define ARM64_MODE_MASK 0x0f000000u
#define ARM64_MODE_FRAMELESS 0x02000000u
#define ARM64_MODE_DWARF 0x03000000u
#define ARM64_MODE_FRAME 0x04000000u
#define DWARF_SECTION_OFFSET 0x00ffffffu

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

static uint32_t bits(uint32_t v, uint32_t mask)
{
    if (!mask)
        return 0;
    unsigned shift = (unsigned)__builtin_ctz(mask);
    return (v & mask) >> shift;
}

static void put_saved(sk_buf *out, const char *reg, int64_t cfa_off)
{
    sk_buf_printf(out, " %s: .cfa %lld + ^", reg, (long long)cfa_off);
}

/* The registers of x86_64's frameless encodings, in libunwind's permuted
 * numbering (1 rbx, 2 r12, 3 r13, 4 r14, 5 r15, 6 rbp). */
static const char *const x86_64_cu_regs[7] = {NULL, "$rbx", "$r12", "$r13", "$r14", "$r15", "$rbp"};

static bool x86_64_permutation(uint32_t count, uint32_t perm, int regs[6])
{
    int p[6] = {0};
    switch (count) {
    case 6:
    case 5:
        p[0] = (int)(perm / 120), perm -= (uint32_t)p[0] * 120;
        p[1] = (int)(perm / 24), perm -= (uint32_t)p[1] * 24;
        p[2] = (int)(perm / 6), perm -= (uint32_t)p[2] * 6;
        p[3] = (int)(perm / 2), perm -= (uint32_t)p[3] * 2;
        p[4] = (int)perm;
        break;
    case 4:
        p[0] = (int)(perm / 60), perm -= (uint32_t)p[0] * 60;
        p[1] = (int)(perm / 12), perm -= (uint32_t)p[1] * 12;
        p[2] = (int)(perm / 3), perm -= (uint32_t)p[2] * 3;
        p[3] = (int)perm;
        break;
    case 3:
        p[0] = (int)(perm / 20), perm -= (uint32_t)p[0] * 20;
        p[1] = (int)(perm / 4), perm -= (uint32_t)p[1] * 4;
        p[2] = (int)perm;
        break;
    case 2:
        p[0] = (int)(perm / 5), perm -= (uint32_t)p[0] * 5;
        p[1] = (int)perm;
        break;
    case 1: p[0] = (int)perm; break;
    case 0: return true;
    default: return false;
    }
    bool used[7] = {false};
    for (uint32_t i = 0; i < count; i++) {
        int renum = 0;
        regs[i] = 0;
        for (int u = 1; u < 7; u++) {
            if (used[u])
                continue;
            if (renum == p[i]) {
                regs[i] = u;
                used[u] = true;
                break;
            }
            renum++;
        }
        if (!regs[i])
            return false;
    }
    return true;
}

static int x86_64_rules(uint32_t enc, const uint8_t *code, size_t code_size, sk_buf *out)
{
    switch (enc & X86_64_MODE_MASK) {
    case X86_64_MODE_RBP_FRAME: {
        /* push rbp; mov rbp, rsp: CFA = rbp + 16, the saved registers
         * in the slots below rbp - 8*offset, one every 8 bytes. */
        uint32_t off = bits(enc, 0x00ff0000u), locs = bits(enc, 0x00007fffu);
        sk_buf_puts(out, ".cfa: $rbp 16 + .ra: .cfa -8 + ^ $rbp: .cfa -16 + ^");
        for (int i = 0; i < 5; i++, locs >>= 3) {
            unsigned r = locs & 7;
            if (r == 0)
                continue;
            if (r > 6)
                return DS_CU_UNSUPPORTED;
            put_saved(out, x86_64_cu_regs[r], -16 - 8 * (int64_t)off + 8 * i);
        }
        return DS_CU_RULES;
    }
    case X86_64_MODE_STACK_IMMD:
    case X86_64_MODE_STACK_IND: {
        uint32_t size = bits(enc, 0x00ff0000u), adjust = bits(enc, 0x0000e000u);
        uint32_t count = bits(enc, 0x00001c00u), perm = bits(enc, 0x000003ffu);
        uint64_t stack;
        if ((enc & X86_64_MODE_MASK) == X86_64_MODE_STACK_IND) {
            /* size is the offset of the 32-bit immediate of the function's
             * "sub $n, %rsp" from its start. */
            if (!code || size > code_size || code_size - size < 4)
                return DS_CU_UNSUPPORTED;
            const uint8_t *p = code + size;
            uint32_t imm = rd32(p);
            stack = (uint64_t)imm + 8u * adjust;
        } else {
            stack = 8u * (uint64_t)size;
        }
        int regs[6];
        if (!x86_64_permutation(count, perm, regs) || stack < 8 + 8u * count)
            return DS_CU_UNSUPPORTED;
        sk_buf_printf(out, ".cfa: $rsp %llu + .ra: .cfa -8 + ^", (unsigned long long)stack);
        /* Pushed in order after the return address: regs[count-1] nearest it. */
        for (uint32_t i = 0; i < count; i++)
            put_saved(out, x86_64_cu_regs[regs[i]], -8 - 8 * (int64_t)count + 8 * (int64_t)i);
        return DS_CU_RULES;
    }
    case X86_64_MODE_DWARF: return DS_CU_DWARF;
    case 0: return DS_CU_NONE;
    default: return DS_CU_UNSUPPORTED;
    }
}

/* Saved pairs in libunwind's order, each pair's first register nearest the
 * frame (x19 at fp-8, x20 at fp-16, ...). */
static void arm64_saved(uint32_t enc, int64_t first, sk_buf *out)
{
    static const char *const pairs[9][2] = {{"x19", "x20"}, {"x21", "x22"}, {"x23", "x24"},
                                            {"x25", "x26"}, {"x27", "x28"}, {NULL, NULL},
                                            {NULL, NULL},   {NULL, NULL},   {NULL, NULL}};
    static const char *const dpairs[4][2] = {{"v8", "v9"}, {"v10", "v11"}, {"v12", "v13"}, {"v14", "v15"}};
    int64_t at = first;
    for (int i = 0; i < 5; i++) {
        if (!(enc & (1u << i)))
            continue;
        put_saved(out, pairs[i][0], at);
        put_saved(out, pairs[i][1], at - 8);
        at -= 16;
    }
    for (int i = 0; i < 4; i++) {
        if (!(enc & (0x100u << i)))
            continue;
        put_saved(out, dpairs[i][0], at);
        put_saved(out, dpairs[i][1], at - 8);
        at -= 16;
    }
}

static int arm64_rules(uint32_t enc, sk_buf *out)
{
    switch (enc & ARM64_MODE_MASK) {
    case ARM64_MODE_FRAME:
        sk_buf_puts(out, ".cfa: x29 16 + .ra: .cfa -8 + ^ x29: .cfa -16 + ^");
        arm64_saved(enc, -24, out);
        return DS_CU_RULES;
    case ARM64_MODE_FRAMELESS: {
        uint64_t size = 16u * (uint64_t)bits(enc, 0x00fff000u);
        sk_buf_printf(out, ".cfa: sp %llu + .ra: x30", (unsigned long long)size);
        arm64_saved(enc, -8, out);
        return DS_CU_RULES;
    }
    case ARM64_MODE_DWARF: return DS_CU_DWARF;
    case 0: return DS_CU_NONE;
    default: return DS_CU_UNSUPPORTED;
    }
}

int ds_cu_encoding_rules(ds_cu_arch arch, uint32_t encoding, const uint8_t *code, size_t code_size,
                         sk_buf *out)
{
    switch (arch) {
    case DS_CU_ARCH_X86_64: return x86_64_rules(encoding, code, code_size, out);
    case DS_CU_ARCH_ARM64: return arm64_rules(encoding, out);
    default: return DS_CU_UNSUPPORTED;
    }
}

/* ---- the section --------------------------------------------------------- */

typedef struct cu_raw {
    uint32_t off; /* function offset from the image base */
    uint32_t enc;
} cu_raw;

static int cu_fail(const ds_cu_input *m, sk_error *err, const char *what, unsigned long long a, unsigned long long b)
{
    return sk_fail(err, SK_EFORMAT, "%s: __unwind_info: %s (0x%llx, 0x%llx)", m->path, what, a, b);
}

static int read_raw(const ds_cu_input *m, const uint8_t *d, size_t n, cu_raw **out, size_t *nout, uint32_t *end_off,
                    sk_error *err)
{
    if (n < 28)
        return cu_fail(m, err, "header truncated", n, 28);
    uint32_t version = rd32(d), common_off = rd32(d + 4), ncommon = rd32(d + 8);
    uint32_t index_off = rd32(d + 20), nindex = rd32(d + 24);
    if (version != 1)
        return sk_fail(err, SK_EFORMAT, "%s: __unwind_info: version %u, expected 1", m->path, version);
    if (common_off > n || ncommon > (n - common_off) / 4)
        return cu_fail(m, err, "common encodings lie past the section", common_off, ncommon);
    if (index_off > n || nindex > (n - index_off) / 12)
        return cu_fail(m, err, "first-level index lies past the section", index_off, nindex);
    if (nindex == 0) {
        *end_off = 0;
        return SK_OK;
    }
    size_t cap = 0;
    const uint8_t *idx = d + index_off;
    uint32_t prev_page = 0;
    for (uint32_t i = 0; i + 1 < nindex; i++) {
        const uint8_t *e = idx + 12 * i;
        uint32_t fbase = rd32(e), page = rd32(e + 4), next_f = rd32(e + 12);
        if (next_f < fbase)
            return cu_fail(m, err, "first-level index out of order", fbase, next_f);
        if (page == 0)
            continue;
        if (page > n || n - page < 8)
            return cu_fail(m, err, "second-level page lies past the section", page, n);
        /* Linkers lay the pages out in index order; demanding it makes a
         * cyclic index (every entry naming the same big page) an error
         * rather than n*n entries. */
        if (page <= prev_page)
            return cu_fail(m, err, "second-level pages out of order or shared", page, prev_page);
        prev_page = page;
        const uint8_t *p = d + page;
        uint32_t kind = rd32(p);
        uint16_t ent_off = rd16(p + 4), nent = rd16(p + 6);
        if ((uint64_t)page + ent_off > n)
            return cu_fail(m, err, "page entries lie past the section", page, ent_off);
        size_t room = n - page - ent_off;
        if (kind == UNWIND_SECOND_LEVEL_REGULAR) {
            if (nent > room / 8)
                return cu_fail(m, err, "regular page holds more entries than the section", page, nent);
            for (uint32_t k = 0; k < nent; k++) {
                const uint8_t *q = p + ent_off + 8 * k;
                sk_grow((void **)out, &cap, *nout + 1, sizeof **out);
                (*out)[(*nout)++] = (cu_raw){rd32(q), rd32(q + 4)};
            }
        } else if (kind == UNWIND_SECOND_LEVEL_COMPRESSED) {
            if (n - page < 12)
                return cu_fail(m, err, "compressed page header truncated", page, n);
            uint16_t enc_off = rd16(p + 8), nenc = rd16(p + 10);
            if (nent > room / 4)
                return cu_fail(m, err, "compressed page holds more entries than the section", page, nent);
            if ((uint64_t)page + enc_off + 4u * nenc > n)
                return cu_fail(m, err, "page encodings lie past the section", page, nenc);
            for (uint32_t k = 0; k < nent; k++) {
                uint32_t v = rd32(p + ent_off + 4 * k);
                uint32_t ei = v >> 24, fo = v & 0x00ffffffu;
                uint32_t enc;
                if (ei < ncommon)
                    enc = rd32(d + common_off + 4 * ei);
                else if (ei - ncommon < nenc)
                    enc = rd32(p + enc_off + 4 * (ei - ncommon));
                else
                    return cu_fail(m, err, "compressed entry names a missing encoding", page + ent_off + 4 * k, ei);
                if ((uint64_t)fbase + fo > UINT32_MAX)
                    return cu_fail(m, err, "function offset overflows", fbase, fo);
                sk_grow((void **)out, &cap, *nout + 1, sizeof **out);
                (*out)[(*nout)++] = (cu_raw){fbase + fo, enc};
            }
        } else {
            return cu_fail(m, err, "unknown second-level page kind", page, kind);
        }
        if (*nout > n / 4)
            return cu_fail(m, err, "more entries than the section can hold", *nout, n);
        /* A page covers [fbase, next_f): entries elsewhere are corrupt. */
        for (size_t k = *nout - nent; k < *nout; k++)
            if ((*out)[k].off < fbase || (*out)[k].off > next_f)
                return cu_fail(m, err, "page entry outside its index range", (*out)[k].off, fbase);
    }
    *end_off = rd32(idx + 12 * (nindex - 1));
    for (size_t k = 1; k < *nout; k++)
        if ((*out)[k].off <= (*out)[k - 1].off)
            return cu_fail(m, err, "function offsets do not increase", (*out)[k - 1].off, (*out)[k].off);
    return SK_OK;
}

/* ---- prologues ------------------------------------------------------------
 *
 * An encoding gives the rules that hold once the prologue has run.  Where
 * the prologue is one of the forms compilers emit, its instructions are
 * decoded so that INIT says what holds at entry and each instruction that
 * moves the stack pointer or saves a register gets a row: a walker stopped
 * inside a prologue (a crash in the first instructions, a signal) then
 * unwinds right too.  Anything else, or a prologue whose effect does not
 * end in exactly the encoding's state, keeps the encoding's rules for the
 * whole function, which is what Apple's libunwind does. */

#define MAX_PROLOGUE 16

static void add_row(ds_cu_table *t, uint64_t addr, size_t rules)
{
    sk_grow((void **)&t->rows, &t->rows_cap, t->nrows + 1, sizeof *t->rows);
    t->rows[t->nrows++] = (ds_cu_row){addr, rules};
}

static size_t put_text(ds_cu_table *t, const sk_buf *b)
{
    size_t off = t->text.len;
    sk_buf_append(&t->text, b->data ? b->data : "", b->len);
    sk_buf_putc(&t->text, '\0');
    return off;
}

/* Drops rows and text added since a failed attempt. */
static bool undo(ds_cu_table *t, size_t nrows, size_t text_len)
{
    t->nrows = nrows;
    t->text.len = text_len;
    if (t->text.data)
        t->text.data[text_len] = '\0';
    return false;
}

typedef struct saved_reg {
    const char *name;
    int64_t off; /* from the CFA */
} saved_reg;

static void put_state(sk_buf *b, const char *cfa_reg, int64_t cfa_off, const char *ra, const saved_reg *regs,
                      size_t n)
{
    b->len = 0;
    sk_buf_printf(b, ".cfa: %s %lld + .ra: %s", cfa_reg, (long long)cfa_off, ra);
    for (size_t i = 0; i < n; i++)
        sk_buf_printf(b, " %s: .cfa %lld + ^", regs[i].name, (long long)regs[i].off);
}

/* push %rbx/%rbp/%r12..%r15 (in the order the permutation says), then
 * sub $n, %rsp, ending with CFA = %rsp + stack. */
static bool x86_64_frameless_prologue(ds_cu_table *t, const ds_cu_func *f, uint32_t enc, const uint8_t *code,
                                      size_t n, size_t body)
{
    uint32_t count = bits(enc, 0x00001c00u), perm = bits(enc, 0x000003ffu);
    int regs[6];
    if (!x86_64_permutation(count, perm, regs))
        return false;
    /* The body rule's CFA offset, as x86_64_rules wrote it. */
    long long stack;
    if (sscanf(t->text.data + body, ".cfa: $rsp %lld +", &stack) != 1)
        return false;
    size_t nrows = t->nrows, text_len = t->text.len;
    sk_buf b;
    sk_buf_init(&b);
    saved_reg sv[6];
    size_t pos = 0, nsv = 0;
    for (uint32_t k = 0; k < count; k++) {
        /* regs[count-1] is pushed first (it sits nearest the return address). */
        int r = regs[count - 1 - k];
        static const uint8_t one[7] = {0, 0x53, 0, 0, 0, 0, 0x55};
        if (one[r] && pos < n && code[pos] == one[r])
            pos += 1;
        else if (r >= 2 && r <= 5 && pos + 1 < n && code[pos] == 0x41 && code[pos + 1] == 0x52 + r)
            pos += 2;
        else
            break;
        sv[nsv++] = (saved_reg){x86_64_cu_regs[r], -16 - 8 * (int64_t)k};
        put_state(&b, "$rsp", 16 + 8 * (int64_t)k, ".cfa -8 + ^", sv, nsv);
        add_row(t, f->addr + pos, put_text(t, &b));
    }
    bool ok = nsv == count;
    int64_t after_pushes = 8 + 8 * (int64_t)count;
    if (ok && stack != after_pushes) {
        /* sub $imm8, %rsp (48 83 ec ib) or sub $imm32, %rsp (48 81 ec id) */
        uint64_t imm = 0;
        if (pos + 4 <= n && code[pos] == 0x48 && code[pos + 1] == 0x83 && code[pos + 2] == 0xec) {
            imm = code[pos + 3];
            pos += 4;
        } else if (pos + 7 <= n && code[pos] == 0x48 && code[pos + 1] == 0x81 && code[pos + 2] == 0xec) {
            imm = rd32(code + pos + 3);
            pos += 7;
        } else {
            ok = false;
        }
        ok = ok && after_pushes + (int64_t)imm == stack;
        if (ok)
            add_row(t, f->addr + pos, body);
    } else if (ok && nsv) {
        t->rows[t->nrows - 1].rules = body; /* the last push completes the frame */
    }
    sk_buf_free(&b);
    if (!ok || pos >= f->size || t->nrows == nrows)
        return undo(t, nrows, text_len);
    return true;
}

/* The registers an arm64 encoding saves, at their CFA offsets, as
 * arm64_saved writes them. */
static size_t arm64_expected(uint32_t enc, int64_t first, saved_reg *out)
{
    static const char *const names[9][2] = {{"x19", "x20"}, {"x21", "x22"}, {"x23", "x24"}, {"x25", "x26"},
                                            {"x27", "x28"}, {"v8", "v9"},   {"v10", "v11"}, {"v12", "v13"},
                                            {"v14", "v15"}};
    static const uint32_t bit[9] = {1, 2, 4, 8, 16, 0x100, 0x200, 0x400, 0x800};
    size_t n = 0;
    int64_t at = first;
    for (int i = 0; i < 9; i++) {
        if (!(enc & bit[i]))
            continue;
        out[n++] = (saved_reg){names[i][0], at};
        out[n++] = (saved_reg){names[i][1], at - 8};
        at -= 16;
    }
    return n;
}

static const char *arm64_reg_name(unsigned r, bool fp)
{
    static const char *const x[31] = {"x0",  "x1",  "x2",  "x3",  "x4",  "x5",  "x6",  "x7",  "x8",  "x9",  "x10",
                                      "x11", "x12", "x13", "x14", "x15", "x16", "x17", "x18", "x19", "x20", "x21",
                                      "x22", "x23", "x24", "x25", "x26", "x27", "x28", "x29", "x30"};
    static const char *const v[16] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                                      "v8", "v9", "v10", "v11", "v12", "v13", "v14", "v15"};
    if (fp)
        return r < 16 ? v[r] : NULL;
    return r < 31 ? x[r] : NULL;
}

/* sub sp / stp pairs (pre-indexed or at an offset) / add x29, sp: the
 * forms clang emits; ends when the frame (FRAME) or the stack and every
 * saved pair (FRAMELESS) is in place. */
static bool arm64_prologue(ds_cu_table *t, const ds_cu_func *f, uint32_t enc, const uint8_t *code, size_t n,
                           size_t body)
{
    bool frame = (enc & ARM64_MODE_MASK) == ARM64_MODE_FRAME;
    int64_t stack = frame ? 0 : 16 * (int64_t)bits(enc, 0x00fff000u);
    saved_reg want[18], have[20];
    size_t nwant = arm64_expected(enc, frame ? -24 : -8, want), nhave = 0;
    if (frame) {
        want[nwant++] = (saved_reg){"x29", -16};
        want[nwant++] = (saved_reg){"x30", -8};
    }
    size_t nrows = t->nrows, text_len = t->text.len;
    sk_buf b;
    sk_buf_init(&b);
    int64_t s = 0; /* CFA = sp + s */
    bool done = false, ok = true;
    size_t pos = 0;
    for (int k = 0; k < MAX_PROLOGUE && ok && !done; k++) {
        if (pos + 4 > n || pos + 4 >= f->size) {
            ok = false;
            break;
        }
        uint32_t w = rd32(code + pos);
        pos += 4;
        uint32_t op = w & 0xffc003e0u; /* stp with base sp */
        bool gp_pre = op == 0xa98003e0u, gp_off = op == 0xa90003e0u; /* stp Xt, Xt2, [sp, #imm]! / [sp, #imm] */
        bool fp_pre = op == 0x6d8003e0u, fp_off = op == 0x6d0003e0u; /* the same for d registers */
        if ((w & 0xff8003ffu) == 0xd10003ffu) { /* sub sp, sp, #imm{, lsl #12} */
            s += (int64_t)((w >> 10) & 0xfff) << ((w >> 22) & 1 ? 12 : 0);
        } else if (gp_pre || gp_off || fp_pre || fp_off) {
            bool fp = fp_pre || fp_off;
            int64_t imm = (int64_t)((w >> 15) & 0x7f);
            if (imm & 0x40)
                imm -= 0x80;
            imm *= 8;
            int64_t at;
            if (gp_pre || fp_pre) {
                s -= imm;
                at = -s;
            } else {
                at = -s + imm;
            }
            const char *r1 = arm64_reg_name(w & 31, fp), *r2 = arm64_reg_name((w >> 10) & 31, fp);
            if (!r1 || !r2 || nhave + 2 > sizeof have / sizeof *have) {
                ok = false;
                break;
            }
            have[nhave++] = (saved_reg){r1, at};
            have[nhave++] = (saved_reg){r2, at + 8};
        } else if ((w & 0xffc003ffu) == 0x910003fdu) { /* add x29, sp, #imm */
            int64_t imm = (w >> 10) & 0xfff;
            ok = frame && s - imm == 16;
            done = ok;
        } else {
            ok = false;
        }
        if (!ok)
            break;
        if (!frame && s == stack && nhave == nwant)
            done = true;
        if (done) {
            add_row(t, f->addr + pos, body);
            break;
        }
        /* The state after this instruction, the return address still in
         * x30 until it is stored. */
        saved_reg cur[20];
        size_t ncur = 0;
        const char *ra = "x30";
        char ra_buf[48];
        for (size_t i = 0; i < nhave; i++) {
            if (strcmp(have[i].name, "x30") == 0) {
                snprintf(ra_buf, sizeof ra_buf, ".cfa %lld + ^", (long long)have[i].off);
                ra = ra_buf;
            } else {
                cur[ncur++] = have[i];
            }
        }
        put_state(&b, "sp", s, ra, cur, ncur);
        add_row(t, f->addr + pos, put_text(t, &b));
    }
    sk_buf_free(&b);
    if (!ok || !done)
        return undo(t, nrows, text_len);
    /* What the instructions saved must be what the encoding says. */
    if (nhave != nwant)
        return undo(t, nrows, text_len);
    for (size_t i = 0; i < nwant; i++) {
        bool found = false;
        for (size_t j = 0; j < nhave && !found; j++)
            found = strcmp(want[i].name, have[j].name) == 0 && want[i].off == have[j].off;
        if (!found)
            return undo(t, nrows, text_len);
    }
    return true;
}

/* Rows for f's prologue when it is recognised (see above); INIT becomes
 * the entry state.  body: the encoding's rules in text. */
static bool prologue_rows(const ds_cu_input *m, ds_cu_table *t, ds_cu_func *f, const uint8_t *code, size_t n,
                          size_t body)
{
    if (!code)
        return false;
    uint32_t enc = f->encoding;
    size_t entry_len = t->text.len;
    bool ok = false;
    if (m->arch == DS_CU_ARCH_X86_64) {
        uint32_t mode = enc & X86_64_MODE_MASK;
        if (mode == X86_64_MODE_RBP_FRAME) {
            /* push %rbp (55); mov %rsp,%rbp (48 89 e5) */
            if (n >= 4 && code[0] == 0x55 && code[1] == 0x48 && code[2] == 0x89 && code[3] == 0xe5 && f->size > 4) {
                sk_buf b;
                sk_buf_init(&b);
                sk_buf_puts(&b, ".cfa: $rsp 16 + $rbp: .cfa -16 + ^");
                add_row(t, f->addr + 1, put_text(t, &b));
                add_row(t, f->addr + 4, body);
                sk_buf_free(&b);
                ok = true;
            }
        } else if (mode == X86_64_MODE_STACK_IMMD || mode == X86_64_MODE_STACK_IND) {
            ok = x86_64_frameless_prologue(t, f, enc, code, n, body);
        }
        if (ok) {
            f->init = t->text.len;
            sk_buf_puts(&t->text, ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
            sk_buf_putc(&t->text, '\0');
        }
    } else if (m->arch == DS_CU_ARCH_ARM64) {
        uint32_t mode = enc & ARM64_MODE_MASK;
        /* A frameless function with nothing to set up has no prologue. */
        bool trivial = mode == ARM64_MODE_FRAMELESS && !bits(enc, 0x00fff000u) && !(enc & 0xf1fu);
        if ((mode == ARM64_MODE_FRAME || mode == ARM64_MODE_FRAMELESS) && !trivial)
            ok = arm64_prologue(t, f, enc, code, n, body);
        if (ok) {
            f->init = t->text.len;
            sk_buf_puts(&t->text, ".cfa: sp 0 + .ra: x30");
            sk_buf_putc(&t->text, '\0');
        }
    }
    (void)entry_len;
    f->nrows = t->nrows - f->first_row;
    return ok;
}

static void add_func(const ds_cu_input *m, ds_cu_table *t, size_t *cap, uint64_t addr, uint64_t end, uint32_t enc)
{
    if (end <= addr)
        return;
    sk_grow((void **)&t->funcs, cap, t->nfuncs + 1, sizeof *t->funcs);
    ds_cu_func *f = &t->funcs[t->nfuncs];
    memset(f, 0, sizeof *f);
    f->addr = addr;
    f->size = end - addr;
    f->encoding = enc;
    const uint8_t *code = NULL;
    size_t code_size = 0;
    if (m->code && addr >= m->code_addr && addr - m->code_addr < m->code_size) {
        code = m->code + (addr - m->code_addr);
        code_size = m->code_size - (size_t)(addr - m->code_addr);
        if (code_size > f->size)
            code_size = (size_t)f->size;
    }
    size_t at = t->text.len;
    int kind = ds_cu_encoding_rules(m->arch, enc, code, code_size, &t->text);
    f->kind = (uint8_t)kind;
    if (kind == DS_CU_NONE) {
        t->none++; /* no unwind info for this range */
        return;
    }
    if (kind == DS_CU_UNSUPPORTED) {
        t->text.len = at;
        if (t->text.data)
            t->text.data[at] = '\0';
        t->unsupported++;
        return;
    }
    if (kind == DS_CU_DWARF) {
        f->fde_off = enc & DWARF_SECTION_OFFSET;
    } else {
        sk_buf_putc(&t->text, '\0');
        f->init = at;
        f->first_row = t->nrows;
        if (prologue_rows(m, t, f, code, code_size, at))
            t->prologues++;
    }
    t->nfuncs++;
}

int ds_cu_read(const ds_cu_input *m, ds_cu_table *out, sk_error *err)
{
    memset(out, 0, sizeof *out);
    sk_buf_init(&out->text);
    if (m->arch != DS_CU_ARCH_X86_64 && m->arch != DS_CU_ARCH_ARM64)
        return sk_fail(err, SK_EUNSUPPORTED, "%s: compact unwind is read for x86_64 and arm64 only", m->path);
    cu_raw *raw = NULL;
    size_t nraw = 0;
    uint32_t end_off = 0;
    int rc = read_raw(m, m->info, m->info_size, &raw, &nraw, &end_off, err);
    if (rc) {
        free(raw);
        return rc;
    }
    uint64_t base = m->base;
    size_t cap = 0, fs = 0;
    for (size_t i = 0; i < nraw; i++) {
        uint64_t start = base + raw[i].off;
        uint64_t end = base + (i + 1 < nraw ? raw[i + 1].off : end_off);
        if (i + 1 == nraw && end <= start && m->code && start >= m->code_addr && start < m->code_addr + m->code_size)
            end = m->code_addr + m->code_size; /* a missing sentinel: the code's end */
        /* One entry may cover several functions with the same encoding:
         * split at each function start so that every function gets its
         * own INIT (and its own indirect stack size). */
        while (fs < m->nfunc_starts && m->func_starts[fs] <= start)
            fs++;
        uint64_t at = start;
        while (fs < m->nfunc_starts && m->func_starts[fs] < end) {
            add_func(m, out, &cap, at, m->func_starts[fs], raw[i].enc);
            at = m->func_starts[fs++];
        }
        add_func(m, out, &cap, at, end, raw[i].enc);
    }
    free(raw);
    return SK_OK;
}

void ds_cu_free(ds_cu_table *t)
{
    free(t->funcs);
    free(t->rows);
    sk_buf_free(&t->text);
    memset(t, 0, sizeof *t);
}

int ds_cu_function_starts(const char *path, const uint8_t *data, size_t size, uint64_t base, uint64_t **out,
                          size_t *n, sk_error *err)
{
    *out = NULL;
    *n = 0;
    const uint8_t *p = data, *end = data + size;
    uint64_t addr = base;
    size_t cap = 0;
    while (p < end && *p) {
        uint64_t delta = 0;
        unsigned shift = 0;
        for (;;) {
            if (p >= end) {
                free(*out);
                *out = NULL;
                *n = 0;
                return sk_fail(err, SK_EFORMAT, "%s: function starts: a ULEB128 delta runs past its data", path);
            }
            uint8_t b = *p++;
            if (shift < 64)
                delta |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            if (!(b & 0x80))
                break;
        }
        if (addr + delta < addr) {
            free(*out);
            *out = NULL;
            *n = 0;
            return sk_fail(err, SK_EFORMAT, "%s: function starts: addresses wrap around", path);
        }
        addr += delta;
        sk_grow((void **)out, &cap, *n + 1, sizeof **out);
        (*out)[(*n)++] = addr;
    }
    return SK_OK;
}
