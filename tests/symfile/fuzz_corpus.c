/* fuzz_corpus.c — runs the fuzz target over a deterministic corpus: a
 * valid .sym with every record kind, truncated at every byte, with bits
 * flipped, bytes replaced by separators/digits/newlines, lines duplicated
 * and dropped.  Runs in CI under gcc + ASan/UBSan where libFuzzer is not
 * available. */
#include "symfile.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char seed[] =
    "MODULE Linux x86_64 0123456789ABCDEF0123456789ABCDEF0 libfoo.so\n"
    "INFO CODE_ID 0123456789abcdef libfoo.so\n"
    "INFO GENERATOR symkit 0.1.0\n"
    "INFO URL x y\n"
    "FILE 0 /src/a.c\n"
    "FILE 1 /src/b with space.h\n"
    "INLINE_ORIGIN 0 inl(int)\n"
    "INLINE_ORIGIN 1 inner\n"
    "PUBLIC 10 0 _init\n"
    "FUNC 1000 2a 0 main\n"
    "INLINE 0 11 0 0 1004 8 1010 2\n"
    "INLINE 1 12 1 1 1004 4\n"
    "1000 4 10 0\n"
    "1004 26 11 1\n"
    "FUNC m 2000 10 8 ns::C<int>::op() const\n"
    "2000 10 4000000000 1\n"
    "PUBLIC m 3000 0 exported_asm\n"
    "STACK CFI INIT 1000 2a .cfa: $rsp 8 + .ra: .cfa -8 + ^\n"
    "STACK CFI 1001 .cfa: $rsp 16 + $rbp: .cfa -16 + ^\n"
    "STACK CFI 1004 .cfa: $rbp 16 +\n"
    "STACK WIN 4 1000 2a 0 0 0 0 0 0 1 $T0 .raSearch =\n";

static uint64_t rng = 0x5eed;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

/* Runs the target on an exactly-sized heap copy, so reads past the end
 * are caught by ASan. */
static void run(const char *data, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, data, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
}

int main(void)
{
    size_t len = sizeof seed - 1, runs = 0;
    char *buf = malloc(len * 2 + 64);
    static const char interesting[] = " \t\n\r0fm-:.\x7f\xff";

    for (size_t n = 0; n <= len; n++, runs++)
        run(seed, n);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++, runs++) {
            memcpy(buf, seed, len);
            buf[i] ^= (char)(1 << bit);
            run(buf, len);
        }
        for (size_t k = 0; k < sizeof interesting; k++, runs++) {
            memcpy(buf, seed, len);
            buf[i] = interesting[k];
            run(buf, len);
        }
    }
    /* random multi-byte mutations, insertions and deletions */
    for (int iter = 0; iter < 20000; iter++, runs++) {
        size_t n = len;
        memcpy(buf, seed, len);
        int edits = 1 + (int)(rnd() % 6);
        for (int e = 0; e < edits; e++) {
            size_t at = n ? rnd() % n : 0;
            switch (rnd() % 4) {
            case 0:
                if (n)
                    buf[at] = (char)rnd();
                break;
            case 1:
                if (n < len * 2 + 32) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = interesting[rnd() % sizeof interesting];
                    n++;
                }
                break;
            case 2:
                if (n) {
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                }
                break;
            default: { /* duplicate a span somewhere else */
                size_t span = 1 + rnd() % 40, to = n ? rnd() % n : 0;
                if (at + span > n)
                    span = n - at;
                if (n + span <= len * 2 + 32 && span) {
                    char tmp[64];
                    memcpy(tmp, buf + at, span);
                    memmove(buf + to + span, buf + to, n - to);
                    memcpy(buf + to, tmp, span);
                    n += span;
                }
            }
            }
        }
        run(buf, n);
    }
    free(buf);
    printf("fuzz_corpus: %zu inputs, all invariants held\n", runs);
    return 0;
}
