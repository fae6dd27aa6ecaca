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

typedef struct ds_bytes {
    const uint8_t *base; /* start of the buffer, for offsets in messages */
    const uint8_t *p, *end;
    bool le; /* little-endian fixed-width reads */
} ds_bytes;

/* An n-byte (n <= 8) unsigned integer. */
static inline bool ds_bytes_fixed(ds_bytes *r, unsigned n, uint64_t *v)
{
    if (n > 8 || (size_t)(r->end - r->p) < n)
        return false;
    uint64_t x = 0;
    if (r->le)
        for (unsigned i = 0; i < n; i++)
            x |= (uint64_t)r->p[i] << (8 * i);
    else
        for (unsigned i = 0; i < n; i++)
            x = (x << 8) | r->p[i];
    r->p += n;
    *v = x;
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
