/* fuzz_pkg_corpus.c — runs the package fuzz target (fuzz_pkg.c) over a
 * deterministic corpus: small .deb packages built here (an ar archive with
 * an uncompressed data.tar holding ELF and non-ELF members), truncated at
 * many lengths, with bytes flipped and replaced, plus every file named on
 * the command line (the distro tests pass real .deb and .rpm packages).
 * Then the bad-input table: damaged packages and the message each must
 * give. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern size_t fuzz_pkg_members;

static uint64_t rng = 0xdeb;
static uint32_t rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng >> 33);
}

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 1024;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            abort();
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void pad(buf *b, size_t to)
{
    static const uint8_t zero[512];
    while (b->n % to)
        put(b, zero, to - b->n % to > sizeof zero ? sizeof zero : to - b->n % to);
}

static void tar_member(buf *t, const char *name, char type, const uint8_t *d, size_t n, bool bad_sum)
{
    uint8_t h[512] = {0};
    snprintf((char *)h, 100, "%s", name);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0000000", 8);
    memcpy(h + 116, "0000000", 8);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)n);
    memcpy(h + 136, "00000000000", 12);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", bad_sum ? sum + 7 : sum);
    put(t, h, 512);
    if (n) {
        put(t, d, n);
        pad(t, 512);
    }
}

static void ar_member(buf *a, const char *name, const uint8_t *d, size_t n, size_t claim)
{
    char h[61];
    snprintf(h, sizeof h, "%-16s%-12s%-6s%-6s%-8s%-10zu`\n", name, "0", "0", "0", "100644", claim);
    put(a, h, 60);
    put(a, d, n);
    if (n % 2)
        put(a, "\n", 1);
}

/* A .deb with data.tar named dname; variant selects a defect. */
static buf make_deb(const char *dname, int variant)
{
    uint8_t elf[300];
    for (size_t i = 0; i < sizeof elf; i++)
        elf[i] = (uint8_t)(i * 7);
    memcpy(elf, "\177ELF\2\1\1", 7);
    buf t = {0};
    tar_member(&t, "./", '5', NULL, 0, false);
    tar_member(&t, "./usr/bin/prog", '0', elf, sizeof elf, false);
    tar_member(&t, "./usr/share/doc/README", '0', (const uint8_t *)"hello\n", 6, false);
    tar_member(&t, "./usr/bin/link", '2', NULL, 0, false);
    tar_member(&t, "./usr/lib/libx.so.1", '0', elf, sizeof elf, variant == 3);
    static const uint8_t end[1024];
    put(&t, end, sizeof end);
    buf a = {0};
    put(&a, "!<arch>\n", 8);
    ar_member(&a, "debian-binary", (const uint8_t *)"2.0\n", 4, 4);
    if (variant != 4)
        ar_member(&a, dname, t.p, variant == 1 ? t.n / 2 : t.n, t.n);
    if (variant == 1)
        a.n -= 0; /* the claimed size runs past the end */
    free(t.p);
    return a;
}

typedef struct bad_case {
    const char *what, *dname;
    int variant;
    const char *want; /* in the message */
} bad_case;

static int fails;

static void expect(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "FAIL: %s\n", what);
        fails++;
    }
}

static int count_member(void *ctx, const char *member, uint8_t *data, size_t size)
{
    (void)member;
    (void)size;
    (*(int *)ctx)++;
    free(data);
    return 0;
}

static void bad_input_table(void)
{
    static const bad_case cases[] = {
        {"a good package", "data.tar", 0, NULL},
        {"truncated ar member", "data.tar", 1, "fuzz.deb: data.tar"},
        {"unknown compression suffix", "data.tar.foo", 0, "fuzz.deb: data.tar.foo: unknown compression"},
        {"data.tar.xz that is not xz", "data.tar.xz", 0, "fuzz.deb: data.tar.xz: not xz-compressed"},
        {"data.tar.zst that is not zstd", "data.tar.zst", 0, "fuzz.deb: data.tar.zst: not zstd-compressed"},
        {"broken tar header checksum", "data.tar", 3, "fuzz.deb: data.tar: after usr/bin/link: "},
        {"no data.tar member", "data.tar", 4, "fuzz.deb: no data.tar member"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        buf b = make_deb(cases[i].dname, cases[i].variant);
        int members = 0;
        sk_error err = {0};
        int rc = ds_pkg_read_mem("fuzz.deb", b.p, b.n, count_member, &members, &err);
        char what[1600];
        if (!cases[i].want) {
            snprintf(what, sizeof what, "%s: read (%s), 2 ELF members (%d)", cases[i].what, err.msg, members);
            expect(rc == SK_OK && members == 2, what);
        } else {
            snprintf(what, sizeof what, "%s: want '%s', got '%s'", cases[i].what, cases[i].want, err.msg);
            expect(rc != SK_OK && strstr(err.msg, cases[i].want) != NULL, what);
        }
        free(b.p);
    }
    /* Not a package at all, empty, an RPM lead and nothing else. */
    static const struct {
        const char *what;
        const char *data;
        size_t n;
        const char *want;
    } raw[] = {
        {"empty input", "", 0, "fuzz.deb: neither a Debian nor an RPM package"},
        {"text", "hello world\n", 12, "fuzz.deb: neither a Debian nor an RPM package"},
        {"ar magic only", "!<arch>\n", 8, "fuzz.deb: no data.tar member"},
        {"rpm lead only", "\xed\xab\xee\xdb\x03\x00\x00\x00", 8, "fuzz.deb: "},
    };
    for (size_t i = 0; i < sizeof raw / sizeof *raw; i++) {
        sk_error err = {0};
        int members = 0;
        int rc = ds_pkg_read_mem("fuzz.deb", (const uint8_t *)raw[i].data, raw[i].n, count_member,
                                 &members, &err);
        char what[1600];
        snprintf(what, sizeof what, "%s: want '%s', got '%s'", raw[i].what, raw[i].want, err.msg);
        expect(rc != SK_OK && strstr(err.msg, raw[i].want) != NULL && members == 0, what);
    }
}

static void mutate_runs(const uint8_t *seed, size_t n, unsigned rounds)
{
    uint8_t *m = malloc(n + 16);
    if (!m)
        abort();
    for (size_t cut = 0; cut < n; cut += 1 + n / 97)
        LLVMFuzzerTestOneInput(seed, cut);
    for (unsigned r = 0; r < rounds; r++) {
        memcpy(m, seed, n);
        unsigned edits = 1 + rnd() % 4;
        for (unsigned e = 0; e < edits; e++) {
            size_t at = rnd() % n;
            switch (rnd() % 4) {
            case 0: m[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
            case 1: m[at] = (uint8_t)rnd(); break;
            case 2: m[at] = (uint8_t)"0 7\n\xff\x00"[rnd() % 6]; break;
            default: memset(m + at, (int)(rnd() & 0xff), n - at < 8 ? n - at : 8); break;
            }
        }
        LLVMFuzzerTestOneInput(m, n);
    }
    free(m);
}

int main(int argc, char **argv)
{
    bad_input_table();
    static const char *const names[] = {"data.tar", "data.tar.xz", "data.tar.gz"};
    size_t before = fuzz_pkg_members;
    for (size_t i = 0; i < 3; i++) {
        buf b = make_deb(names[i], 0);
        LLVMFuzzerTestOneInput(b.p, b.n);
        mutate_runs(b.p, b.n, 1500);
        free(b.p);
    }
    expect(fuzz_pkg_members > before, "the seeds reach the member callback");
    /* Real packages named on the command line (truncated and mutated too). */
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) {
            fprintf(stderr, "cannot open %s\n", argv[i]);
            return 1;
        }
        buf b = {0};
        uint8_t chunk[65536];
        size_t got;
        while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
            put(&b, chunk, got);
        fclose(f);
        mutate_runs(b.p, b.n, 200);
        free(b.p);
    }
    if (fails) {
        fprintf(stderr, "%d failure(s)\n", fails);
        return 1;
    }
    printf("fuzz_pkg corpus: %zu members handed over, bad-input table passed\n", fuzz_pkg_members);
    return 0;
}
