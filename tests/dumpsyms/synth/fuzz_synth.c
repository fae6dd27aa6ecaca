/* fuzz_synth.c — libFuzzer target for the stack-height analysis: the first
 * byte picks the architecture and how many ranges, the rest is code.  Every
 * row must lie inside the ranges, rows are sorted, INITs contiguous, and the
 * text form always has .cfa and .ra. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

size_t fuzz_synth_rows;

static const char *const names_x[] = {"$r0", "$r1", "$r2", "$r3", "$r4", "$r5", "$r6", "$r7", "$r8", "$r9",
                                      "$r10", "$r11", "$r12", "$r13", "$r14", "$r15", "$r16", "$r17", "$r18",
                                      "$r19", "$r20", "$r21", "$r22", "$r23", "$r24", "$r25", "$r26", "$r27",
                                      "$r28", "$r29", "$r30", "$r31"};

static ds_synth *an[5];
static ds_synth_result res;

/* For the corpus driver: leave nothing to the leak checker. */
void fuzz_synth_cleanup(void)
{
    for (int i = 0; i < 5; i++) {
        ds_synth_close(an[i]);
        an[i] = NULL;
    }
    ds_synth_result_free(&res);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned arch = data[0] % 5;
    if (!an[arch]) {
        sk_error err;
        if (ds_synth_open((da_arch)arch, &an[arch], &err) != SK_OK)
            abort();
    }
    const uint8_t *code = data + 1;
    size_t n = size - 1;
    uint64_t base = 0x400000;
    /* One range over everything, or two halves (the second a "cold part"). */
    ds_synth_range r[2] = {{base, n}, {0, 0}};
    size_t nr = 1;
    if ((data[0] & 0x80) && n >= 8) {
        r[0].size = n / 2;
        r[1].addr = base + n / 2;
        r[1].size = n - n / 2;
        nr = 2;
    }
    ds_synth_input in = {.arch = (da_arch)arch, .code = code, .code_addr = base, .code_size = n,
                         .ranges = r, .nranges = nr};
    ds_synth_function(an[arch], &in, &res);
    ds_synth_names names;
    ds_synth_names_init(&names, names_x, 32);
    sk_buf b;
    sk_buf_init(&b);
    uint64_t prev = 0;
    for (size_t i = 0; i < res.nrows; i++) {
        const ds_synth_row *row = &res.rows[i];
        if (row->addr < base || row->addr >= base + n || (i && row->addr <= prev))
            abort();
        prev = row->addr;
    }
    for (size_t i = 0; i < res.ninits; i++) {
        const ds_synth_init *it = &res.inits[i];
        if (it->addr < base || it->addr + it->size > base + n || it->first_row + it->nrows > res.nrows ||
            res.rows[it->first_row].addr != it->addr || !it->size)
            abort();
        sk_buf_reset(&b);
        if (ds_synth_format(&names, NULL, &res.rows[it->first_row], &b) &&
            (!strstr(b.data, ".cfa: ") || !strstr(b.data, ".ra: ")))
            abort();
        for (size_t k = 1; k < it->nrows; k++) {
            sk_buf_reset(&b);
            ds_synth_format(&names, &res.rows[it->first_row + k - 1], &res.rows[it->first_row + k], &b);
        }
    }
    fuzz_synth_rows += res.nrows;
    sk_buf_free(&b);
    return 0;
}
