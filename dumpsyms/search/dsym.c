/*
 * dsym.c — finding a Mach-O binary's dSYM companion: the DWARF file that
 * dsymutil writes to Foo.dSYM/Contents/Resources/DWARF/Foo.
 *
 * `dumpsyms Foo` looks for Foo.dSYM beside Foo; `dumpsyms Foo DSYM` takes
 * DSYM as the bundle directory or as the companion file itself.  Which file
 * is the right one is decided by the caller, by UUID (dump.c): a bundle
 * holds one companion per product, named after it, and Xcode sometimes
 * leaves a stale bundle from an older build beside the binary.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "collect.h"

/* bundle/Contents/Resources/DWARF/<name>; else the only file there. */
static char *companion_in(const char *bundle, const char *name)
{
    char *dir = sk_path_join(bundle, "Contents/Resources/DWARF");
    char *want = name ? sk_path_join(dir, name) : NULL;
    if (want && sk_is_file(want)) {
        free(dir);
        return want;
    }
    free(want);
    char *only = NULL;
    size_t n = 0;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char *p = sk_path_join(dir, e->d_name);
            if (sk_is_file(p) && n++ == 0) {
                only = p;
                continue;
            }
            free(p);
        }
        closedir(d);
    }
    free(dir);
    if (n != 1) {
        free(only);
        return NULL;
    }
    return only;
}

int ds_dsym_resolve(const char *dsym, const char *binary_path, char **out, sk_error *err)
{
    *out = NULL;
    if (!sk_is_dir(dsym)) {
        if (!sk_is_file(dsym))
            return sk_fail(err, SK_ENOTFOUND, "%s: no such dSYM bundle or file", dsym);
        *out = sk_xstrdup(dsym);
        return SK_OK;
    }
    char *p = companion_in(dsym, binary_path ? sk_basename(binary_path) : NULL);
    if (!p)
        return sk_fail(err, SK_ENOTFOUND, "%s: no DWARF file in Contents/Resources/DWARF%s%s", dsym,
                       binary_path ? " for " : "", binary_path ? sk_basename(binary_path) : "");
    *out = p;
    return SK_OK;
}

char *ds_dsym_beside(const char *binary_path)
{
    size_t n = strlen(binary_path);
    char *bundle = sk_xmalloc(n + sizeof ".dSYM");
    memcpy(bundle, binary_path, n);
    memcpy(bundle + n, ".dSYM", sizeof ".dSYM");
    char *p = sk_is_dir(bundle) ? companion_in(bundle, sk_basename(binary_path)) : NULL;
    free(bundle);
    return p;
}
