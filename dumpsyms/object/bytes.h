/*
 * bytes.h (internal) — a bounds-checked reader over DWARF-style bytes:
 * fixed-width integers in either byte order, and LEB128.  Every read checks
 * the end first and reports failure instead of reading past it, so parsers
 * of hostile frame and expression data stay inside their buffers.
 */
#ifndef SYMKIT_DUMPSYMS_BYTES_H
#define SYMKIT_DUMPSYMS_BYTES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct ds_bytes {
    const uint8_t *base; /* start of the buffer, for offsets in messages */
    const uint8_t *p, *end;
    bool le; /* little-endian fixed-width reads */
} ds_bytes;

/* An n-byte (n <= 8) unsigned integer the caller has bounds checked. */
static inline uint64_t ds_load_uint(const uint8_t *p, unsigned n, bool le)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* The common widths as one load each on a little-endian host. */
    if (le) {
        uint16_t h;
        uint32_t w;
        uint64_t d;
        switch (n) {
        case 1:
            return p[0];
        case 2:
            memcpy(&h, p, 2);
            return h;
        case 4:
            memcpy(&w, p, 4);
            return w;
        case 8:
            memcpy(&d, p, 8);
            return d;
        default:
            break;
        }
    }
#endif
    uint64_t x = 0;
    if (le)
        for (unsigned i = 0; i < n; i++)
            x |= (uint64_t)p[i] << (8 * i);
    else
        for (unsigned i = 0; i < n; i++)
            x = (x << 8) | p[i];
    return x;
}

/* An n-byte (n <= 8) unsigned integer. */
static inline bool ds_bytes_fixed(ds_bytes *r, unsigned n, uint64_t *v)
{
    if (n > 8 || (size_t)(r->end - r->p) < n)
        return false;
    *v = ds_load_uint(r->p, n, r->le);
    r->p += n;
    return true;
}

/* Unsigned LEB128; bits past 64 are dropped, as readers of DWARF do. */
static inline bool ds_bytes_uleb(ds_bytes *r, uint64_t *v)
{
    /* Most values fit one byte: DIE abbreviation codes, forms, counts. */
    if (r->p < r->end && !(*r->p & 0x80)) {
        *v = *r->p++;
        return true;
    }
    uint64_t x = 0;
    unsigned shift = 0;
    while (r->p < r->end) {
        uint8_t b = *r->p++;
        if (shift < 64)
            x |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

/* Signed LEB128. */
static inline bool ds_bytes_sleb(ds_bytes *r, int64_t *v)
{
    uint64_t x = 0;
    unsigned shift = 0;
    while (r->p < r->end) {
        uint8_t b = *r->p++;
        if (shift < 64)
            x |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                x |= ~(uint64_t)0 << shift;
            *v = (int64_t)x;
            return true;
        }
    }
    return false;
}

#endif
