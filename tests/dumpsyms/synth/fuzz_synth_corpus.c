/* fuzz_synth_corpus.c — runs the synthesis fuzz target (fuzz_synth.c) over
 * a deterministic corpus: real prologues/epilogues of each architecture,
 * truncated at every byte, with bytes flipped and replaced, and random code.
 * Runs in CI under gcc + ASan/UBSan where libFuzzer is not available. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern size_t fuzz_synth_rows;
void fuzz_synth_cleanup(void);

static uint64_t rng = 0x5e17;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

/* arch byte first: 1 amd64, 4 arm64, 2 arm, 0 x86 (see fuzz_synth.c) */
static const uint8_t amd64[] = {1, 0x55, 0x48, 0x89, 0xe5, 0x53, 0x48, 0x83, 0xec, 0x18, 0x48, 0x89, 0x7d, 0xf0,
                                0x74, 0x04, 0xe8, 0, 0, 0, 0, 0x48, 0x8b, 0x5d, 0xf8, 0xc9, 0xc3, 0xeb, 0xfe,
                                0xff, 0xe0, 0x0f, 0x0b, 0x5b, 0xc3};
static const uint8_t arm64[] = {4, 0xfd, 0x7b, 0xbf, 0xa9, 0xfd, 0x03, 0x00, 0x91, 0xf3, 0x0b, 0x00, 0xf9,
                                0xff, 0x83, 0x00, 0xd1, 0x40, 0x00, 0x00, 0x54, 0x02, 0x00, 0x00, 0x94,
                                0xff, 0x83, 0x00, 0x91, 0xf3, 0x0b, 0x40, 0xf9, 0xfd, 0x7b, 0xc1, 0xa8,
                                0xc0, 0x03, 0x5f, 0xd6, 0x00, 0x00, 0x00, 0x14};
static const uint8_t arm[] = {2, 0x10, 0x40, 0x2d, 0xe9, 0x04, 0xd0, 0x4d, 0xe2, 0x01, 0x00, 0x50, 0xe3,
                              0x01, 0x00, 0x00, 0x0a, 0x04, 0xd0, 0x8d, 0xe2, 0x10, 0x80, 0xbd, 0xe8,
                              0xfe, 0xff, 0xff, 0xea};
static const uint8_t x86[] = {0, 0x55, 0x89, 0xe5, 0x83, 0xec, 0x10, 0xe8, 0, 0, 0, 0, 0x5b, 0xc9, 0xc3};

static void one(const uint8_t *p, size_t n)
{
    LLVMFuzzerTestOneInput(p, n);
}

int main(void)
{
    const struct { const uint8_t *p; size_t n; } seeds[] = {
        {amd64, sizeof amd64}, {arm64, sizeof arm64}, {arm, sizeof arm}, {x86, sizeof x86}};
    uint8_t buf[512];
    size_t runs = 0;
    for (size_t s = 0; s < 4; s++) {
        const uint8_t *p = seeds[s].p;
        size_t n = seeds[s].n;
        for (size_t cut = 2; cut <= n; cut++, runs++)
            one(p, cut);
        for (int k = 0; k < 3000; k++, runs++) {
            memcpy(buf, p, n);
            unsigned edits = 1 + rnd() % 4;
            for (unsigned e = 0; e < edits; e++) {
                size_t at = 1 + rnd() % (n - 1);
                if (rnd() & 1)
                    buf[at] ^= (uint8_t)(1u << (rnd() % 8));
                else
                    buf[at] = (uint8_t)rnd();
            }
            if (rnd() % 4 == 0)
                buf[0] |= 0x80; /* two ranges */
            one(buf, n);
        }
    }
    for (int k = 0; k < 3000; k++, runs++) {
        size_t n = 2 + rnd() % (sizeof buf - 2);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)rnd();
        one(buf, n);
    }
    fuzz_synth_cleanup();
    printf("fuzz_synth_corpus: %zu inputs, %zu rows\n", runs, fuzz_synth_rows);
    return 0;
}
