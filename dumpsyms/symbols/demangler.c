/* demangler.c — libiberty's demangler behind one call, plus the folding of
 * compiler clone suffixes (see demangler.h for the choices made). */
#include "demangler.h"

#include <ctype.h>
#include <demangle.h>
#include <stdlib.h>
#include <string.h>

/* Legacy Rust names are Itanium-shaped ("_ZN...E") but always end in a
 * hash path element: "17h" and 16 hex digits.  Checking for it spares
 * every C++ name a failed trip through the Rust demangler. */
static bool maybe_rust(const char *name, size_t len)
{
    if (name[1] == 'R')
        return true;
    if (len < 24 || name[2] != 'N' || name[len - 1] != 'E' ||
        memcmp(name + len - 20, "17h", 3) != 0)
        return false;
    for (size_t i = len - 17; i < len - 1; i++)
        if (!isxdigit((unsigned char)name[i]))
            return false;
    return true;
}

/* libiberty's result (malloc'd), or NULL when name is not mangled. */
static char *demangle_raw(const char *name)
{
    if (!name || !(name[0] == '_' && (name[1] == 'Z' || name[1] == 'R')))
        return NULL;
    /* Rust first: legacy Rust names are valid C++ names too.  Without
     * DMGL_VERBOSE libiberty prints Rust the way rustfilt does (no legacy
     * hash, no v0 disambiguators); a name that is not Rust gives NULL. */
    char *d = NULL;
    if (maybe_rust(name, strlen(name)))
        d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST);
    /* C++ as c++filt prints it: argument lists kept so overloads stay
     * apart, and (DMGL_VERBOSE) the standard abbreviations written out
     * ("std::basic_ostream<char, std::char_traits<char> >", not
     * "std::ostream"). */
    if (!d && name[1] == 'Z')
        d = cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_VERBOSE | DMGL_GNU_V3);
    return d;
}

char *ds_demangle(const char *name, sk_arena *arena)
{
    char *d = demangle_raw(name);
    if (!d)
        return NULL;
    char *out = sk_arena_strdup(arena, d);
    free(d);
    return out;
}

/* ---- a per-thread cache ----------------------------------------------------
 * Direct-mapped: a name that hashes to an occupied slot evicts the one
 * there, so the memory stays bounded (DS_DEMANGLE_SLOTS names) however many
 * distinct names pass through.  Results are copied out, so an eviction
 * never invalidates what a caller holds. */
#define DS_DEMANGLE_SLOTS 4096

typedef struct cache_slot {
    uint64_t hash;
    char *key;   /* NULL: empty */
    char *value; /* NULL: key is not a mangled name */
} cache_slot;

struct ds_demangle_cache {
    cache_slot slots[DS_DEMANGLE_SLOTS];
};

ds_demangle_cache *ds_demangle_cache_new(void)
{
    return sk_xcalloc(1, sizeof(ds_demangle_cache));
}

void ds_demangle_cache_free(ds_demangle_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < DS_DEMANGLE_SLOTS; i++) {
        free(c->slots[i].key);
        free(c->slots[i].value);
    }
    free(c);
}

char *ds_demangle_cached(ds_demangle_cache *c, const char *name, sk_arena *arena)
{
    if (!c)
        return ds_demangle(name, arena);
    if (!name || !(name[0] == '_' && (name[1] == 'Z' || name[1] == 'R')))
        return NULL;
    uint64_t h = 1469598103934665603ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    cache_slot *slot = &c->slots[(h >> 20) & (DS_DEMANGLE_SLOTS - 1)];
    if (!slot->key || slot->hash != h || strcmp(slot->key, name) != 0) {
        free(slot->key);
        free(slot->value);
        slot->hash = h;
        slot->key = sk_xstrdup(name);
        slot->value = demangle_raw(name);
    }
    return slot->value ? sk_arena_strdup(arena, slot->value) : NULL;
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
