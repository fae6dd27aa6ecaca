/* test_mutation.c — deterministic mutations of a valid minidump: every
 * truncation point (sampled), bit flips, and 32-bit words overwritten with
 * huge or boundary values (counts, sizes, RVAs).  Each mutant goes through
 * the fuzz entry point in-process; the test passes when none crashes, hangs
 * or leaks (ASan/LSan in CI), and the unmutated dump still walks fully.
 * usage: test_mutation SEED.dmp [SYMBOL_STORE] */
#include "stackwalk.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SEED.dmp [STORE]\n", argv[0]);
        return 2;
    }
    if (argc > 2)
        setenv("SW_FUZZ_SYMBOLS", argv[2], 1);
    char *seed;
    size_t n;
    sk_error err;
    if (sk_read_file(argv[1], &seed, &n, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    /* the seed itself must be a good dump with a walked crashing thread */
    sw_minidump *d;
    if (sw_minidump_open_mem(seed, n, &d, &err)) {
        fprintf(stderr, "seed: %s\n", err.msg);
        return 1;
    }
    sw_report *r;
    const char *paths[1] = {argc > 2 ? argv[2] : NULL};
    sw_options opt = {.symbol_paths = paths, .nsymbol_paths = argc > 2};
    if (sw_process(d, &opt, &r, &err) || r->crashing_thread < 0 || r->threads[r->crashing_thread].nframes < 3) {
        fprintf(stderr, "seed does not walk\n");
        return 1;
    }
    sw_report_free(r);
    sw_minidump_close(d);

    uint8_t *buf = malloc(n);
    size_t runs = 0;
    /* truncations */
    size_t step = n / 1500 + 1;
    for (size_t len = 0; len < n; len += step, runs++) {
        uint8_t *t = malloc(len ? len : 1); /* exact-size copy: ASan sees over-reads */
        memcpy(t, seed, len);
        LLVMFuzzerTestOneInput(t, len);
        free(t);
    }
    /* bit flips, header and directory densely, the rest sampled */
    for (size_t i = 0; i < n; i += (i < 512 ? 1 : step), runs++) {
        memcpy(buf, seed, n);
        buf[i] ^= (uint8_t)(1u << (i * 7 % 8));
        LLVMFuzzerTestOneInput(buf, n);
    }
    /* hostile 32-bit values at every aligned offset of the first 2 KiB and
     * sampled beyond */
    static const uint32_t evil[] = {0xffffffffu, 0x7fffffffu, 0x80000000u, 0x00010000u};
    for (size_t i = 0; i + 4 <= n; i += (i < 2048 ? 4 : 4 * step)) {
        for (size_t k = 0; k < sizeof evil / sizeof evil[0]; k++, runs++) {
            memcpy(buf, seed, n);
            memcpy(buf + i, &evil[k], 4);
            LLVMFuzzerTestOneInput(buf, n);
        }
    }
    free(buf);
    free(seed);
    printf("mutation: %zu mutants processed without a crash\n", runs);
    return 0;
}
