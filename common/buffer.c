/* buffer.c — growable byte buffers, with the hand-rolled number formatting
 * the .sym writer needs (millions of records: printf per field is too slow). */
#include "common.h"

#include <stdlib.h>
#include <string.h>

/* "00" .. "ff": sk_fmt_hex writes two digits at a step. */
const char sk_hex_pairs[513] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
    "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
    "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
    "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
    "a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
    "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
    "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

const uint64_t sk_pow10[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
    1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
    100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
    1000000000000000000ull, 10000000000000000000ull,
};

void sk_buf_init(sk_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void sk_buf_free(sk_buf *b)
{
    free(b->data);
    sk_buf_init(b);
}

void sk_buf_reset(sk_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static inline void reserve(sk_buf *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap)
        sk_grow((void **)&b->data, &b->cap, b->len + extra + 1, 1);
}

void sk_buf_grow(sk_buf *b, size_t n)
{
    reserve(b, n);
}

void sk_buf_append(sk_buf *b, const void *data, size_t n)
{
    reserve(b, n);
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sk_buf_puts(sk_buf *b, const char *s)
{
    sk_buf_append(b, s, strlen(s));
}

void sk_buf_putc(sk_buf *b, char c)
{
    reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

void sk_buf_vprintf(sk_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    if (n > 0) {
        reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

void sk_buf_printf(sk_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sk_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void sk_buf_hex(sk_buf *b, uint64_t v)
{
    reserve(b, 16);
    sk_buf_commit(b, sk_fmt_hex(b->data + b->len, v));
}

void sk_buf_dec(sk_buf *b, uint64_t v)
{
    reserve(b, 20);
    sk_buf_commit(b, sk_fmt_dec(b->data + b->len, v));
}
