/*
 * cfi_expr.c — DWARF expressions (DW_CFA_def_cfa_expression, expression,
 * val_expression) in Breakpad postfix form.
 *
 * Postfix has registers, integers, .cfa, + - * / % and ^ (dereference), so
 * only the arithmetic subset of DW_OP translates: constants, breg, deref,
 * stack shuffling, plus/minus/mul/div/mod.  The translation runs the
 * expression on a stack of postfix strings; anything else (branches, bit
 * operations such as the x86_64 PLT's DW_OP_and) makes it fail, and the
 * caller drops the rule rather than write a wrong one.
 */
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cfi_int.h"

#define MAX_STACK 16
#define MAX_TEXT 256

typedef struct xstack {
    char s[MAX_STACK][MAX_TEXT];
    int n;
} xstack;

typedef ds_bytes reader;

static int64_t sext(uint64_t v, unsigned bytes)
{
    if (bytes >= 8)
        return (int64_t)v;
    unsigned bits = bytes * 8;
    uint64_t sign = (uint64_t)1 << (bits - 1);
    return (int64_t)((v ^ sign) - sign);
}

static bool push(xstack *st, const char *fmt, ...) SK_PRINTF(2, 3);
static bool push(xstack *st, const char *fmt, ...)
{
    if (st->n >= MAX_STACK)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(st->s[st->n], MAX_TEXT, fmt, ap);
    va_end(ap);
    if (len < 0 || len >= MAX_TEXT)
        return false;
    st->n++;
    return true;
}

static bool binop(xstack *st, const char *op)
{
    if (st->n < 2)
        return false;
    char tmp[MAX_TEXT];
    int len = snprintf(tmp, sizeof tmp, "%s %s %s", st->s[st->n - 2], st->s[st->n - 1], op);
    if (len < 0 || len >= MAX_TEXT)
        return false;
    st->n -= 2;
    return push(st, "%s", tmp);
}

static bool push_reg(xstack *st, const ds_cfi_arch *a, uint64_t reg, int64_t off)
{
    const char *name = reg <= 0xffff ? ds_cfi_reg_name(a, (unsigned)reg) : NULL;
    if (!name)
        return false;
    return push(st, "%s %lld +", name, (long long)off);
}

bool ds_cfi_expr_postfix(const ds_cfi_arch *a, const uint8_t *p, size_t n, bool push_cfa,
                         unsigned addr_size, bool little_endian, sk_buf *out)
{
    xstack *st = sk_xmalloc(sizeof *st);
    st->n = 0;
    reader r = {p, p, p + n, little_endian};
    bool ok = true;
    if (push_cfa)
        ok = push(st, ".cfa");
    while (ok && r.p < r.end) {
        uint8_t op = *r.p++;
        uint64_t u;
        int64_t s;
        if (op >= DW_OP_lit0 && op <= DW_OP_lit31) {
            ok = push(st, "%d", op - DW_OP_lit0);
        } else if (op >= DW_OP_breg0 && op <= DW_OP_breg31) {
            ok = ds_bytes_sleb(&r, &s) && push_reg(st, a, op - DW_OP_breg0, s);
        } else {
            switch (op) {
            case DW_OP_const1u: ok = ds_bytes_fixed(&r, 1, &u) && push(st, "%llu", (unsigned long long)u); break;
            case DW_OP_const2u: ok = ds_bytes_fixed(&r, 2, &u) && push(st, "%llu", (unsigned long long)u); break;
            case DW_OP_const4u: ok = ds_bytes_fixed(&r, 4, &u) && push(st, "%llu", (unsigned long long)u); break;
            case DW_OP_const8u: ok = ds_bytes_fixed(&r, 8, &u) && push(st, "%llu", (unsigned long long)u); break;
            case DW_OP_const1s: ok = ds_bytes_fixed(&r, 1, &u) && push(st, "%lld", (long long)sext(u, 1)); break;
            case DW_OP_const2s: ok = ds_bytes_fixed(&r, 2, &u) && push(st, "%lld", (long long)sext(u, 2)); break;
            case DW_OP_const4s: ok = ds_bytes_fixed(&r, 4, &u) && push(st, "%lld", (long long)sext(u, 4)); break;
            case DW_OP_const8s: ok = ds_bytes_fixed(&r, 8, &u) && push(st, "%lld", (long long)sext(u, 8)); break;
            case DW_OP_constu: ok = ds_bytes_uleb(&r, &u) && push(st, "%llu", (unsigned long long)u); break;
            case DW_OP_consts: ok = ds_bytes_sleb(&r, &s) && push(st, "%lld", (long long)s); break;
            case DW_OP_addr:
                ok = (addr_size == 4 || addr_size == 8) && ds_bytes_fixed(&r, addr_size, &u) &&
                     push(st, "%llu", (unsigned long long)u);
                break;
            case DW_OP_bregx: {
                uint64_t reg;
                ok = ds_bytes_uleb(&r, &reg) && ds_bytes_sleb(&r, &s) && push_reg(st, a, reg, s);
                break;
            }
            case DW_OP_plus_uconst:
                ok = ds_bytes_uleb(&r, &u) && push(st, "%llu", (unsigned long long)u) && binop(st, "+");
                break;
            case DW_OP_plus: ok = binop(st, "+"); break;
            case DW_OP_minus: ok = binop(st, "-"); break;
            case DW_OP_mul: ok = binop(st, "*"); break;
            case DW_OP_div: ok = binop(st, "/"); break;
            case DW_OP_mod: ok = binop(st, "%"); break;
            case DW_OP_deref:
                ok = st->n >= 1 && strlen(st->s[st->n - 1]) + 2 < MAX_TEXT;
                if (ok)
                    strcat(st->s[st->n - 1], " ^");
                break;
            case DW_OP_dup: ok = st->n >= 1 && push(st, "%s", st->s[st->n - 1]); break;
            case DW_OP_over: ok = st->n >= 2 && push(st, "%s", st->s[st->n - 2]); break;
            case DW_OP_drop: ok = st->n >= 1; st->n -= ok; break;
            case DW_OP_swap:
                ok = st->n >= 2;
                if (ok) {
                    char tmp[MAX_TEXT];
                    memcpy(tmp, st->s[st->n - 1], MAX_TEXT);
                    memcpy(st->s[st->n - 1], st->s[st->n - 2], MAX_TEXT);
                    memcpy(st->s[st->n - 2], tmp, MAX_TEXT);
                }
                break;
            case DW_OP_call_frame_cfa: ok = push(st, ".cfa"); break;
            case DW_OP_nop: break;
            default: ok = false; break;
            }
        }
    }
    ok = ok && st->n >= 1;
    if (ok)
        sk_buf_puts(out, st->s[st->n - 1]);
    free(st);
    return ok;
}
