/* fuzz_dwarf.c — fuzz target for our DWARF reader (dwarf_info.c) and the
 * unit walk over it (dwarf_unit.c): every unit of the input's .debug_info
 * is opened and read into functions, lines and inlines, as dumpsyms does.
 *
 * Input: the sections one after another, each as a 4-byte little-endian
 * length and its bytes, in the order of SECTIONS below; a missing or short
 * one is empty.  A last byte of flags picks big-endian reading (bit 0) and
 * split-unit (.dwo) bases (bit 1).  Never crashes, hangs or leaks on any
 * input; the reader reports problems in the unit's error instead. */
#include <stdlib.h>
#include <string.h>

#include "dwarf_unit.h"

#define NSECTIONS 9 /* info abbrev str line_str str_offsets addr ranges rnglists line */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    di_span spans[NSECTIONS];
    memset(spans, 0, sizeof spans);
    size_t pos = 0;
    for (int i = 0; i < NSECTIONS && pos + 4 <= size; i++) {
        uint32_t n = (uint32_t)data[pos] | (uint32_t)data[pos + 1] << 8 |
                     (uint32_t)data[pos + 2] << 16 | (uint32_t)data[pos + 3] << 24;
        pos += 4;
        if (n > size - pos)
            n = (uint32_t)(size - pos);
        /* Empty sections stay NULL, as the collector gives absent ones. */
        spans[i] = (di_span){n ? data + pos : NULL, n};
        pos += n;
    }
    uint8_t flags = pos < size ? data[size - 1] : 0;
    di_sections sec = {.info = spans[0], .abbrev = spans[1], .str = spans[2], .line_str = spans[3],
                       .str_offsets = spans[4], .addr = spans[5], .ranges = spans[6],
                       .rnglists = spans[7], .line = spans[8], .le = !(flags & 1),
                       .dwo = (flags & 2) != 0};
    dsu_env env = {.path = "fuzz", .inlines = true};
    uint64_t off = 0;
    /* A unit is at least 11 bytes, so this bounds the loop however the
     * lengths are corrupted. */
    for (int units = 0; off < sec.info.n && units < 4096; units++) {
        di_unit cu;
        uint64_t next = 0;
        if (di_unit_open(&cu, &sec, off, &next) && di_unit_read_bases(&cu)) {
            dsu_input in = {.cu = &cu};
            dsu_result r = {0};
            dsu_process(&in, &env, &r);
            dsu_result_free(&r);
        }
        di_unit_close(&cu);
        if (next <= off)
            break;
        off = next;
    }
    return 0;
}
