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
        /* x86_64 frame functions start with push %rbp (55) and
         * mov %rsp,%rbp (48 89 e5): the body rule holds after those, so
         * give their two instructions rows of their own when the code is
         * there to show it. */
        if (m->arch == DS_CU_ARCH_X86_64 && (enc & X86_64_MODE_MASK) == X86_64_MODE_RBP_FRAME && code &&
            code_size >= 4 && code[0] == 0x55 && code[1] == 0x48 && code[2] == 0x89 && code[3] == 0xe5 &&
            f->size > 4) {
            f->row_addr[0] = addr + 1;
            f->row_rules[0] = t->text.len;
            sk_buf_puts(&t->text, ".cfa: $rsp 16 + $rbp: .cfa -16 + ^");
            sk_buf_putc(&t->text, '\0');
            f->row_addr[1] = addr + 4;
            f->row_rules[1] = at; /* the body rule */
            f->nrows = 2;
            /* INIT now describes the entry state. */
            f->init = t->text.len;
            sk_buf_puts(&t->text, ".cfa: $rsp 8 + .ra: .cfa -8 + ^");
            sk_buf_putc(&t->text, '\0');
        }
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
