/* fuzz_pkg.c — fuzz target for the package reader (dumpsyms/package.c):
 * the input is a .deb or .rpm in memory.  Beyond "no crash, no leak" it
 * checks what pkgdump.c relies on: members handed over are ELF files with a
 * clean relative name, and a failure always comes with a message naming
 * the package.  Built as a libFuzzer binary with clang and linked into
 * fuzz_pkg_corpus (deterministic) everywhere else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "package.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

size_t fuzz_pkg_members; /* handed over so far (the driver checks its seeds reach them) */

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_pkg: invariant broken: %s\n", what);
        abort();
    }
}

static int on_member(void *ctx, const char *member, uint8_t *data, size_t size)
{
    (void)ctx;
    check(size >= 4 && memcmp(data, "\177ELF", 4) == 0, "a member handed over is an ELF file");
    check(member[0] != '/' && strncmp(member, "./", 2) != 0, "member names are relative and clean");
    fuzz_pkg_members++;
    free(data);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_error err = {0};
    int rc = ds_pkg_read_mem("fuzz.deb", data, size, on_member, NULL, &err);
    if (rc != SK_OK)
        check(strncmp(err.msg, "fuzz.deb: ", 10) == 0 && err.msg[10], "a failure names the package");
    return 0;
}
