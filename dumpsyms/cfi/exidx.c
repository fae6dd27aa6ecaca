/*
 * exidx.c — ARM EHABI unwind tables (.ARM.exidx / .ARM.extab) to STACK CFI.
 *
 * 32-bit ARM code built without DWARF CFI (no -g, C++ or -funwind-tables)
 * still has an exception index: one entry per function with a few unwind
 * opcodes ("vsp = vsp + 16", "pop {r4, r5, lr}", ...) that undo the
 * prologue.  We run those opcodes symbolically — vsp as base register plus
 * offset, each popped register at the vsp of its pop — and write one INIT
 * per function.  The opcodes describe the function body (after the
 * prologue, before the epilogue), so the rules are exact there and, like
 * Breakpad's, approximate in the first and last instructions.  Functions a
 * DWARF FDE covers are left to DWARF, which is exact everywhere.  Opcodes
 * postfix cannot follow (popping sp, reserved encodings) skip the function.
 */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cfi_int.h"


#define EXIDX_CANTUNWIND 1u
#define MAX_OPS (3 + 4 * 255)

static uint32_t rd32(const ds_object *obj, const uint8_t *p)
{
    if (obj->little_endian)
        return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    return (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

/* A prel31 field: a signed 31-bit offset from the field's own address. */
static uint64_t prel31(uint32_t w, uint64_t place)
{
    int64_t off = (int64_t)(w & 0x7fffffffu);
    if (off & 0x40000000)
        off -= 0x80000000LL;
    return (uint64_t)((int64_t)place + off) & 0xffffffffu;
}

/* Four bytes at a virtual address, from whichever allocated section holds
 * them. */
static bool word_at(ds_object *obj, uint64_t addr, uint32_t *out)
{
    for (size_t i = 1; i < obj->nsections; i++) {
        ds_section *s = &obj->sections[i];
        if (!(s->flags & DS_SEC_ALLOC) || (s->flags & DS_SEC_NOBITS))
            continue;
        if (addr < s->addr || addr - s->addr + 4 > s->size)
            continue;
        const uint8_t *data;
        size_t size;
        sk_error err;
        if (ds_section_data(obj, s, &data, &size, &err) || !data)
            return false;
        uint64_t off = addr - s->addr;
        if (off + 4 > size)
            return false;
        *out = rd32(obj, data + off);
        return true;
    }
    return false;
}

/* The end of the executable section holding addr (0 if none). */
static uint64_t exec_end(ds_object *obj, uint64_t addr)
{
    for (size_t i = 1; i < obj->nsections; i++) {
        const ds_section *s = &obj->sections[i];
        if ((s->flags & DS_SEC_EXEC) && addr >= s->addr && addr < s->addr + s->size)
            return s->addr + s->size;
    }
    return 0;
}

/* Collects the opcode bytes of one entry.  false: no usable opcodes. */
static bool entry_ops(ds_object *obj, uint32_t data_word, uint64_t data_place, uint8_t *ops, size_t *nops)
{
    *nops = 0;
    uint32_t w = data_word;
    uint64_t next_addr = 0;
    unsigned extra = 0;
    if (data_word & 0x80000000u) {
        /* Inline compact model: personality 0, three opcodes. */
        if ((w >> 24) != 0x80)
            return false;
    } else {
        uint64_t at = prel31(data_word, data_place);
        if (!word_at(obj, at, &w))
            return false;
        next_addr = at + 4;
        if (w & 0x80000000u) {
            unsigned index = (w >> 24) & 0x0f;
            if (index == 1 || index == 2) {
                extra = (w >> 16) & 0xff;
                ops[(*nops)++] = (uint8_t)(w >> 8);
                ops[(*nops)++] = (uint8_t)w;
                goto more;
            }
            if (index != 0)
                return false;
        } else {
            /* A personality routine (GCC's __gxx_personality_v0 et al.)
             * followed by a word whose top byte counts further words. */
            if (!word_at(obj, next_addr, &w))
                return false;
            next_addr += 4;
            extra = w >> 24;
        }
    }
    ops[(*nops)++] = (uint8_t)(w >> 16);
    ops[(*nops)++] = (uint8_t)(w >> 8);
    ops[(*nops)++] = (uint8_t)w;
more:
    for (unsigned i = 0; i < extra; i++) {
        if (!word_at(obj, next_addr, &w))
            return false;
        next_addr += 4;
        for (int b = 3; b >= 0; b--)
            ops[(*nops)++] = (uint8_t)(w >> (8 * b));
    }
    return true;
}

typedef struct vstate {
    int base;        /* register vsp is relative to */
    int64_t off;     /* vsp = base + off */
    bool saved[16];
    int sbase[16];
    int64_t soff[16];
} vstate;

static bool pop_regs(vstate *st, uint32_t mask)
{
    for (int r = 0; r < 16; r++) {
        if (!(mask & (1u << r)))
            continue;
        if (r == 13)
            return false; /* sp loaded from the stack: not an offset any more */
        st->saved[r] = true;
        st->sbase[r] = st->base;
        st->soff[r] = st->off;
        st->off += 4;
    }
    return true;
}

/* Runs the opcodes.  false when one cannot be expressed. */
static bool run_ops(const uint8_t *ops, size_t n, vstate *st)
{
    memset(st, 0, sizeof *st);
    st->base = 13;
    size_t i = 0;
    while (i < n) {
        uint8_t op = ops[i++];
        if ((op & 0xc0) == 0x00) {
            st->off += ((op & 0x3f) << 2) + 4;
        } else if ((op & 0xc0) == 0x40) {
            st->off -= ((op & 0x3f) << 2) + 4;
        } else if ((op & 0xf0) == 0x80) {
            if (i >= n)
                return false;
            uint32_t mask = ((uint32_t)(op & 0x0f) << 8 | ops[i++]) << 4;
            if (!mask || !pop_regs(st, mask))
                return false; /* 0x8000 is "refuse to unwind" */
        } else if ((op & 0xf0) == 0x90) {
            int r = op & 0x0f;
            if (r == 13 || r == 15 || st->saved[r])
                return false;
            st->base = r;
            st->off = 0;
        } else if ((op & 0xf8) == 0xa0 || (op & 0xf8) == 0xa8) {
            uint32_t mask = 0;
            for (int r = 4; r <= 4 + (op & 7); r++)
                mask |= 1u << r;
            if (op & 0x08)
                mask |= 1u << 14;
            if (!pop_regs(st, mask))
                return false;
        } else if (op == 0xb0) {
            break; /* finish */
        } else if (op == 0xb1) {
            if (i >= n || ops[i] == 0 || (ops[i] & 0xf0))
                return false;
            if (!pop_regs(st, ops[i++]))
                return false;
        } else if (op == 0xb2) {
            uint64_t v;
            ds_bytes r = {ops, ops + i, ops + n, true};
            if (!ds_bytes_uleb(&r, &v) || v > (1u << 24))
                return false;
            i = (size_t)(r.p - ops);
            st->off += 0x204 + (int64_t)(v << 2);
        } else if (op == 0xb3 || op == 0xc8 || op == 0xc9) {
            if (i >= n)
                return false;
            unsigned count = (ops[i++] & 0x0f) + 1;
            st->off += 8 * count + (op == 0xb3 ? 4 : 0); /* FSTMFDX has a pad word */
        } else if ((op & 0xf8) == 0xb8) {
            st->off += 8 * ((op & 7) + 1) + 4;
        } else if ((op & 0xf8) == 0xd0) {
            st->off += 8 * ((op & 7) + 1);
        } else if ((op & 0xf8) == 0xc0 && op != 0xc6 && op != 0xc7) {
            st->off += 8 * ((op & 7) + 1); /* iWMMXt wR10.. */
        } else if (op == 0xc6) {
            if (i >= n)
                return false;
            st->off += 8 * ((ops[i++] & 0x0f) + 1);
        } else if (op == 0xc7) {
            if (i >= n || ops[i] == 0 || (ops[i] & 0xf0))
                return false;
            st->off += 4 * __builtin_popcount(ops[i++]);
        } else {
            return false; /* spare or reserved */
        }
    }
    return true;
}

static const char *const arm_reg[16] = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7",
                                        "r8", "r9", "r10", "r11", "r12", "sp", "lr", "pc"};

static void saved_rule(const vstate *st, int r, sk_buf *b)
{
    if (st->sbase[r] == st->base)
        sk_buf_printf(b, ".cfa %lld + ^", (long long)(st->soff[r] - st->off));
    else
        sk_buf_printf(b, "%s %lld + ^", arm_reg[st->sbase[r]], (long long)st->soff[r]);
}

static void rules_text(const vstate *st, sk_buf *b)
{
    sk_buf_printf(b, ".cfa: %s %lld + .ra: ", arm_reg[st->base], (long long)st->off);
    int ra = st->saved[15] ? 15 : st->saved[14] ? 14 : -1;
    if (ra < 0)
        sk_buf_puts(b, "lr");
    else
        saved_rule(st, ra, b);
    for (int r = 0; r <= 14; r++) {
        if (r == 13 || !st->saved[r])
            continue;
        sk_buf_printf(b, " %s: ", arm_reg[r]);
        saved_rule(st, r, b);
    }
}

void ds_collect_exidx(ds_context *ctx, const ds_cfi_ranges *covered, ds_cfi_out *out)
{
    ds_object *obj = ctx->bin;
    if (obj->kind == DS_FILE_RELOC)
        return; /* prel31 fields are still relocations there */
    ds_section *sec = NULL;
    for (size_t i = 1; i < obj->nsections; i++) {
        if (obj->sections[i].kind == DS_SECT_ARM_EXIDX) {
            sec = &obj->sections[i];
            break;
        }
    }
    if (!sec)
        return;
    const uint8_t *data;
    size_t size;
    sk_error err = {0};
    if (ds_section_data(obj, sec, &data, &size, &err) || !data) {
        sk_log(SK_LOG_WARN, "%s: .ARM.exidx: %s", obj->path, err.msg);
        return;
    }
    if (size % 8)
        sk_log(SK_LOG_WARN, "%s: .ARM.exidx: size 0x%zx is not a multiple of 8; last entry ignored",
               obj->path, size);
    size_t n = size / 8;
    uint64_t base = sec->addr;
    uint8_t *ops = sk_xmalloc(MAX_OPS);
    sk_buf text;
    sk_buf_init(&text);
    size_t skipped = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t place = base + 8 * i;
        uint32_t w0 = rd32(obj, data + 8 * i), w1 = rd32(obj, data + 8 * i + 4);
        if (w1 == EXIDX_CANTUNWIND || (w0 & 0x80000000u))
            continue;
        uint64_t fn = prel31(w0, place);
        uint64_t end = i + 1 < n ? prel31(rd32(obj, data + 8 * (i + 1)), place + 8) : exec_end(obj, fn);
        if (end <= fn || fn < ctx->load_addr || exec_end(obj, fn) == 0)
            continue;
        uint64_t limit = exec_end(obj, fn);
        if (end > limit)
            end = limit;
        if (ds_cfi_ranges_overlap(covered, fn, 1))
            continue;
        size_t nops;
        vstate st;
        if (!entry_ops(obj, w1, place + 4, ops, &nops) || !run_ops(ops, nops, &st)) {
            skipped++;
            continue;
        }
        sk_buf_reset(&text);
        rules_text(&st, &text);
        ds_cfi_entry *e = ds_cfi_out_entry(out, fn - ctx->load_addr, text.data);
        e->size = end - fn;
    }
    if (skipped)
        sk_log(SK_LOG_INFO, "%s: .ARM.exidx: %zu entries use unwind opcodes STACK CFI cannot express",
               obj->path, skipped);
    sk_buf_free(&text);
    free(ops);
}
