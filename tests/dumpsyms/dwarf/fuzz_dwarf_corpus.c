/* fuzz_dwarf_corpus.c — runs the DWARF fuzz target over a deterministic
 * corpus made from real compiler output: this test program's own DWARF
 * (gcc or clang, built with -g), cut to its first units, then truncated,
 * bit-flipped and overwritten section by section.  Runs in CI under
 * gcc + ASan/UBSan, where libFuzzer is not available; the libFuzzer
 * binary (clang builds) explores from the same kind of input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_info.h"
#include "object.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {".debug_info", ".debug_abbrev", ".debug_str",
                                    ".debug_line_str", ".debug_str_offsets", ".debug_addr",
                                    ".debug_ranges", ".debug_rnglists", ".debug_line"};
#define NSEC (sizeof names / sizeof *names)

static uint64_t rng = 0xd3a7f;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

static di_span sec[NSEC];
static size_t runs;

/* Serializes the sections (sec, with section k replaced by alt when
 * alt is non-NULL) and runs the target on an exactly-sized heap copy, so
 * ASan catches any read past the end. */
static void run(size_t k, const uint8_t *alt, size_t alt_n, uint8_t flags)
{
    size_t total = 1;
    for (size_t i = 0; i < NSEC; i++)
        total += 4 + (i == k && alt ? alt_n : sec[i].n);
    uint8_t *buf = malloc(total);
    size_t pos = 0;
    for (size_t i = 0; i < NSEC; i++) {
        const uint8_t *p = i == k && alt ? alt : sec[i].p;
        size_t n = i == k && alt ? alt_n : sec[i].n;
        for (int b = 0; b < 4; b++)
            buf[pos++] = (uint8_t)(n >> (8 * b));
        if (n)
            memcpy(buf + pos, p, n);
        pos += n;
    }
    buf[pos++] = flags;
    LLVMFuzzerTestOneInput(buf, pos);
    free(buf);
    runs++;
}

int main(int argc, char **argv)
{
    (void)argc;
    ds_object obj;
    sk_error err = {0};
    if (ds_object_open(&obj, "/proc/self/exe", &err)) {
        fprintf(stderr, "%s: cannot open itself: %s\n", argv[0], err.msg);
        return 1;
    }
    for (size_t i = 0; i < NSEC; i++) {
        ds_section *s = ds_object_section(&obj, names[i]);
        const uint8_t *d = NULL;
        size_t n = 0;
        if (s && ds_section_data(&obj, s, &d, &n, &err) == SK_OK && d)
            sec[i] = (di_span){d, n};
    }
    if (!sec[0].n || !sec[1].n) {
        fprintf(stderr, "%s: built without DWARF (-g): nothing to fuzz from\n", argv[0]);
        ds_object_close(&obj);
        return 77; /* meson: skipped */
    }
    /* The first three units are variety enough and keep each run short. */
    di_sections whole = {.info = sec[0], .abbrev = sec[1], .le = obj.little_endian};
    uint64_t off = 0;
    for (int u = 0; u < 3 && off < sec[0].n; u++) {
        di_unit unit;
        uint64_t next = 0;
        bool ok = di_unit_header(&unit, &whole, off, &next);
        if (!ok || next <= off)
            break;
        off = next;
    }
    sec[0].n = (size_t)off;

    run(0, NULL, 0, 0); /* the pristine input */
    run(0, NULL, 0, 1); /* read as big-endian */
    run(0, NULL, 0, 2); /* with split-unit bases */
    for (size_t k = 0; k < NSEC; k++) {
        size_t n = sec[k].n;
        if (!n)
            continue;
        uint8_t *m = malloc(n);
        /* Truncated at 64 points (every byte for small sections). */
        size_t step = n / 64 ? n / 64 : 1;
        for (size_t cut = 0; cut < n; cut += step)
            run(k, sec[k].p, cut, 0);
        /* Random bytes, bit flips and boundary values at random places. */
        int tries = k == 0 ? 1500 : k == 1 ? 600 : 200;
        static const uint8_t special[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x1f, 0x21};
        for (int t = 0; t < tries; t++) {
            memcpy(m, sec[k].p, n);
            int edits = 1 + (int)(rnd() % 4);
            for (int e = 0; e < edits; e++) {
                size_t at = rnd() % n;
                switch (rnd() % 3) {
                case 0: m[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
                case 1: m[at] = (uint8_t)rnd(); break;
                default: m[at] = special[rnd() % sizeof special]; break;
                }
            }
            run(k, m, n, (uint8_t)(t % 4 == 3 ? 2 : 0));
        }
        free(m);
    }
    ds_object_close(&obj);
    printf("%zu inputs, no crash\n", runs);
    return 0;
}
