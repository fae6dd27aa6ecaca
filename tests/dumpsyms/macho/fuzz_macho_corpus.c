/* fuzz_macho_corpus.c — runs the Mach-O fuzz target over a deterministic
 * corpus made from the fixtures test_macho.py builds with clang and
 * ld64.lld (thin files of every architecture, objects, dylibs, dSYM
 * companions, fat files), named on the command line: each file whole,
 * truncated at 64 points, and mutated where parsers look (the header and
 * load commands, the symbol and string tables, __unwind_info) with bit
 * flips, random bytes and boundary values.  Runs in CI under gcc +
 * ASan/UBSan, where libFuzzer is not available; the libFuzzer binary
 * (clang builds) explores from the same files:
 *   fuzz_macho -max_total_time=60 CORPUS_DIR
 *   fuzz_macho_corpus [-n MUTATIONS] FILE... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macho.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t rng = 0x3ac40;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

static size_t runs;

/* On an exactly-sized heap copy, so ASan sees any read past the end. */
static void run(const uint8_t *d, size_t n)
{
    uint8_t *buf = malloc(n ? n : 1);
    if (n)
        memcpy(buf, d, n);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    runs++;
}

typedef struct span {
    size_t off, len;
} span;

/* Where the parsers look in the file's first image. */
static size_t hot_spans(const uint8_t *d, size_t n, span *out)
{
    size_t k = 0;
    out[k++] = (span){0, n < 4096 ? n : 4096};
    sk_error err = {0};
    ds_macho_fat fat;
    if (ds_macho_fat_parse("corpus", d, n, &fat, &err))
        return k;
    size_t base = (size_t)fat.slices[0].offset;
    ds_macho m;
    if (ds_macho_parse(&m, "corpus", d + base, (size_t)fat.slices[0].size, &err) == SK_OK) {
        if (m.syms)
            out[k++] = (span){base + (size_t)((const uint8_t *)m.syms - m.data), (size_t)m.nsyms * (m.is64 ? 16 : 12)};
        if (m.strtab)
            out[k++] = (span){base + (size_t)((const uint8_t *)m.strtab - m.data), m.strsize};
        const ds_macho_section *ui = ds_macho_section_find(&m, "__TEXT", "__unwind_info");
        if (ui && ui->data)
            out[k++] = (span){base + (size_t)(ui->data - m.data), ui->data_size < 512 ? ui->data_size : 512};
        if (m.func_starts)
            out[k++] = (span){base + (size_t)(m.func_starts - m.data), m.func_starts_size};
        ds_macho_free(&m);
    }
    ds_macho_fat_free(&fat);
    return k;
}

int main(int argc, char **argv)
{
    int mutations = 300;
    int first = 1;
    if (argc > 2 && strcmp(argv[1], "-n") == 0) {
        mutations = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc) {
        fprintf(stderr, "usage: %s [-n MUTATIONS] FILE...\n", argv[0]);
        return 2;
    }
    static const uint8_t special[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x10, 0x20};
    for (int a = first; a < argc; a++) {
        sk_error err = {0};
        sk_mapped map;
        if (sk_map_file(argv[a], &map, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        const uint8_t *d = map.data;
        size_t n = map.size;
        run(d, n);
        size_t step = n / 64 ? n / 64 : 1;
        for (size_t cut = 0; cut < n; cut += step)
            run(d, cut);
        span spans[8];
        size_t nspans = hot_spans(d, n, spans);
        uint8_t *m = malloc(n ? n : 1);
        for (int t = 0; t < mutations; t++) {
            memcpy(m, d, n);
            const span *s = &spans[(size_t)t % nspans];
            if (!s->len)
                continue;
            int edits = 1 + (int)(rnd() % 4);
            for (int e = 0; e < edits; e++) {
                size_t at = s->off + rnd() % s->len;
                if (at >= n)
                    continue;
                switch (rnd() % 3) {
                case 0: m[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
                case 1: m[at] = (uint8_t)rnd(); break;
                default: m[at] = special[rnd() % sizeof special]; break;
                }
            }
            run(m, n);
        }
        free(m);
        sk_unmap(&map);
    }
    printf("%zu inputs, no crash\n", runs);
    return 0;
}
