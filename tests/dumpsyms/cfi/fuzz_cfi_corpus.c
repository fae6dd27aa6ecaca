/* fuzz_cfi_corpus.c — runs the CFI fuzz target (fuzz_cfi.c) over a
 * deterministic corpus: small .eh_frame and .debug_frame sections in both
 * byte orders with every DW_CFA instruction, truncated at every byte, with
 * bits flipped, bytes replaced by interesting opcodes and lengths, and
 * random edits.  Runs in CI under gcc + ASan/UBSan where libFuzzer is not
 * available. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern size_t fuzz_cfi_rows;

static uint64_t rng = 0xcf1;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

typedef struct seed {
    uint8_t b[400];
    size_t n;
    bool le;
} seed;

static void u8(seed *s, unsigned v) { s->b[s->n++] = (uint8_t)v; }
static void un(seed *s, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        s->b[s->n + (s->le ? i : n - 1 - i)] = (uint8_t)(v >> (8 * i));
    s->n += n;
}
static void raw(seed *s, const char *p, size_t n)
{
    memcpy(s->b + s->n, p, n);
    s->n += n;
}
static void patch_len(seed *s, size_t at)
{
    size_t end = s->n;
    s->n = at;
    un(s, end - at - 4, 4);
    s->n = end;
}

/* Every instruction the interpreter knows, plus expressions. */
static const char prog[] =
    "\x41\x0e\x10\x86\x02\x02\x03\x03\x01\x01\x04\x00\x00\x00\x00"
    "\x05\x03\x02\x06\x03\x07\x04\x08\x05\x09\x06\x07\x0a\x0c\x07\x10"
    "\x0d\x06\x0e\x20\x0b\x11\x03\x7e\x12\x07\x02\x13\x7c\x14\x03\x02"
    "\x15\x03\x7f\x16\x03\x02\x77\x08\x10\x0c\x03\x77\x08\x06\x2d\x2e"
    "\x10\x2f\x03\x01\xc3\x0f\x05\x77\x08\x06\x23\x10\x0a\x0a\x0b\x0b";

static void make(seed *s, bool eh, bool le)
{
    memset(s, 0, sizeof *s);
    s->le = le;
    s->b[s->n++] = (uint8_t)((eh ? 1 : 0) | (le ? 2 : 0) | (rnd() % 2 ? 0x40 : 0));
    s->b[s->n++] = 0; /* .eh_frame_hdr length, set below */
    size_t base = s->n;
    un(s, 0, 4);
    un(s, eh ? 0 : 0xffffffffu, 4);
    u8(s, 1);
    raw(s, eh ? "zPLR" : "", eh ? 5 : 1);
    u8(s, 1);
    u8(s, 0x78);
    u8(s, 16);
    if (eh) {
        u8(s, 7);
        u8(s, 0x9b); /* P: indirect|pcrel|sdata4 */
        un(s, 0x100, 4);
        u8(s, 0x1b); /* L */
        u8(s, 0x1b); /* R */
    }
    raw(s, "\x0c\x07\x08\x90\x01", 5);
    patch_len(s, base);
    size_t at = s->n;
    un(s, 0, 4);
    un(s, eh ? s->n - base : 0, 4);
    uint64_t low = 0;
    if (eh) {
        low = 0x2000 + (s->n - base) - 0x40;
        un(s, (uint32_t)-0x40, 4);
        un(s, 0x10000, 4);
        u8(s, 4);
        un(s, 0, 4);
    } else {
        un(s, 0x1000, 8);
        un(s, 0x10000, 8);
    }
    raw(s, prog, sizeof prog - 1);
    patch_len(s, at);
    if (eh) {
        un(s, 0, 4);
        /* .eh_frame_hdr at 0x1800: version 1, eh_frame_ptr pcrel|sdata4,
         * count udata4, table datarel|sdata4, one entry for the FDE. */
        size_t hdr = s->n;
        u8(s, 1);
        u8(s, 0x1b);
        u8(s, 0x03);
        u8(s, 0x3b);
        un(s, (uint32_t)(0x2000 - (0x1800 + 4)), 4);
        un(s, 1, 4);
        un(s, (uint32_t)(low - 0x1800), 4);
        un(s, (uint32_t)(0x2000 + (at - base) - 0x1800), 4);
        s->b[1] = (uint8_t)(s->n - hdr);
    }
}

static void run(const uint8_t *data, size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    memcpy(copy, data, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
}

int main(void)
{
    static const uint8_t interesting[] = {0x00, 0xff, 0x0a, 0x0b, 0x0c, 0x0f, 0x10, 0x16, 0x2d, 0x2f, 0x40,
                                          0x7f, 0x80, 0xc0, 0x1b, 0x9b, 0x50, 0x03, 0x04, 0xfe};
    size_t runs = 0;
    uint8_t buf[1024];
    for (int kind = 0; kind < 4; kind++) {
        seed s;
        make(&s, kind & 1, kind & 2);
        size_t before = fuzz_cfi_rows;
        run(s.b, s.n);
        if (fuzz_cfi_rows - before < 4) {
            fprintf(stderr, "fuzz_cfi_corpus: seed %d gives %zu rows, expected at least 4\n", kind,
                    fuzz_cfi_rows - before);
            return 1;
        }
        for (size_t n = 0; n <= s.n; n++, runs++)
            run(s.b, n);
        if (kind & 1) {
            /* The CIE's length runs off the end: the FDE is found through
             * .eh_frame_hdr, and points to that CIE. */
            memcpy(buf, s.b, s.n);
            buf[2 + (s.le ? 3 : 0)] = 0x7f;
            run(buf, s.n);
            runs++;
        }
        for (size_t i = 1; i < s.n; i++) {
            for (int bit = 0; bit < 8; bit++, runs++) {
                memcpy(buf, s.b, s.n);
                buf[i] ^= (uint8_t)(1 << bit);
                run(buf, s.n);
            }
            for (size_t k = 0; k < sizeof interesting; k++, runs++) {
                memcpy(buf, s.b, s.n);
                buf[i] = interesting[k];
                run(buf, s.n);
            }
        }
        for (int iter = 0; iter < 10000; iter++, runs++) {
            size_t n = s.n;
            memcpy(buf, s.b, n);
            buf[0] = (uint8_t)rnd();
            int edits = 1 + (int)(rnd() % 6);
            for (int e = 0; e < edits; e++) {
                size_t at = 1 + rnd() % (n - 1);
                switch (rnd() % 3) {
                case 0: buf[at] = (uint8_t)rnd(); break;
                case 1:
                    if (n < sizeof buf - 1) {
                        memmove(buf + at + 1, buf + at, n - at);
                        buf[at] = interesting[rnd() % sizeof interesting];
                        n++;
                    }
                    break;
                default:
                    if (n > 2) {
                        memmove(buf + at, buf + at + 1, n - at - 1);
                        n--;
                    }
                }
            }
            run(buf, n);
        }
    }
    printf("fuzz_cfi_corpus: %zu inputs, all invariants held\n", runs);
    return 0;
}
