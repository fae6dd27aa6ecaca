/* buffer.c — growable byte buffers, with the hand-rolled number formatting
 * the .sym writer needs (millions of records: printf per field is too slow). */
#include "common.h"

#include <stdlib.h>
#include <string.h>

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

char *sk_buf_room(sk_buf *b, size_t n)
{
    reserve(b, n);
    return b->data + b->len;
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
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = digits[v & 15];
        v >>= 4;
    } while (v);
    reserve(b, (size_t)n);
    while (n)
        b->data[b->len++] = tmp[--n];
    b->data[b->len] = '\0';
}

void sk_buf_dec(sk_buf *b, uint64_t v)
{
    char tmp[20];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    reserve(b, (size_t)n);
    while (n)
        b->data[b->len++] = tmp[--n];
    b->data[b->len] = '\0';
}
