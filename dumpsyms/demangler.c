/* demangler.c — libiberty's demangler behind one call, plus the folding of
 * compiler clone suffixes (see demangler.h for the choices made). */
#include "demangler.h"

#include <ctype.h>
#include <demangle.h>
#include <stdlib.h>
#include <string.h>

char *ds_demangle(const char *name, sk_arena *arena)
{
    if (!name || !(name[0] == '_' && (name[1] == 'Z' || name[1] == 'R')))
        return NULL;
    /* Rust first: legacy Rust names are valid C++ names too.  Without
     * DMGL_VERBOSE libiberty prints Rust the way rustfilt does (no legacy
     * hash, no v0 disambiguators); a name that is not Rust gives NULL. */
    char *d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST);
    /* C++ as c++filt prints it: argument lists kept so overloads stay
     * apart, and (DMGL_VERBOSE) the standard abbreviations written out
     * ("std::basic_ostream<char, std::char_traits<char> >", not
     * "std::ostream"). */
    if (!d && name[1] == 'Z')
        d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_VERBOSE | DMGL_GNU_V3);
    if (!d)
        return NULL;
    char *out = sk_arena_strdup(arena, d);
    free(d);
    return out;
}

/* Words GCC and LLVM append to a function's name when they clone or split
 * it; each may be followed by ".<digits>" (or, for .llvm, hex digits). */
static const char *const clone_words[] = {
    "cold",  "hot",       "isra",   "part",        "constprop", "lto_priv", "localalias",
    "llvm",  "__uniq",    "clone",  "specialized", "multiarch", "resolver", "ifunc",
    "split", "unlikely",  "inlined", NULL,
};

static bool is_clone_word(const char *s, size_t n)
{
    for (const char *const *w = clone_words; *w; w++)
        if (strlen(*w) == n && memcmp(*w, s, n) == 0)
            return true;
    return false;
}

static bool all_alnum_digits(const char *s, size_t n, bool hex)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(hex ? isxdigit((unsigned char)s[i]) : isdigit((unsigned char)s[i])))
            return false;
    return true;
}

size_t ds_clone_suffix_start(const char *name)
{
    size_t len = strlen(name);
    /* Walk the dot-separated components after the first one; the suffix
     * starts at the first component that is a clone word, provided every
     * component from there on is a clone word or its number. */
    const char *first_dot = strchr(name, '.');
    if (!first_dot || first_dot == name)
        return len;
    size_t cut = len;
    const char *p = first_dot;
    bool in_suffix = false;
    while (p && *p == '.') {
        const char *comp = p + 1;
        const char *next = strchr(comp, '.');
        size_t n = next ? (size_t)(next - comp) : strlen(comp);
        bool word = is_clone_word(comp, n);
        bool number = all_alnum_digits(comp, n, in_suffix);
        if (word || (in_suffix && number)) {
            if (!in_suffix) {
                cut = (size_t)(p - name);
                in_suffix = true;
            }
        } else {
            /* A component that is not ours: not a clone suffix after all
             * (or the suffix ended early, which we do not fold). */
            in_suffix = false;
            cut = len;
        }
        p = next;
    }
    return in_suffix ? cut : len;
}

const char *ds_symbol_name(const char *name, sk_arena *arena)
{
    if (!name)
        return NULL;
    /* Mangled names never contain '@': what follows is a symbol version. */
    const char *at = strchr(name, '@');
    size_t base_len = at ? (size_t)(at - name) : strlen(name);
    char *base = sk_arena_strndup(arena, name, base_len);
    size_t keep = ds_clone_suffix_start(base);
    if (keep == 0)
        keep = base_len;
    base[keep] = '\0';
    char *d = ds_demangle(base, arena);
    const char *shown = d ? d : base;
    if (!at)
        return shown;
    return sk_arena_printf(arena, "%s%s", shown, at);
}
