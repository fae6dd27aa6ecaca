/*
 * symbols.h — internal: finding a module's .sym (local stores and files,
 * the download cache, HTTP symbol servers).
 *
 * Module names and ids come from the dump, which is untrusted: a name is
 * only used as one store path component after sk_is_safe_key_component()
 * accepted it, so "../../etc" can never reach outside a store or the cache.
 */
#ifndef SYMKIT_STACKWALK_SYMBOLS_H
#define SYMKIT_STACKWALK_SYMBOLS_H

#include "minidump.h"
#include "symfile.h"

typedef struct sw_symbols sw_symbols;

sw_symbols *sw_symbols_new(const sw_options *opt);
void sw_symbols_free(sw_symbols *s);

typedef struct sw_symbol_result {
    sym_index *index;   /* owned by sw_symbols; NULL when not found */
    const char *url;    /* the URL symbols came from (arena), NULL for local */
    const char *path;   /* the local file (store, cache or given file) */
} sw_symbol_result;

/* Looks for m's symbols: local paths, then the cache, then each server. */
sw_symbol_result sw_symbols_find(sw_symbols *s, const md_module *m, sk_arena *a);

/* Store-relative key for a module without debug id: code-file/CODE_ID/stem.sym. */
char *sw_code_id_key(const char *code_file, const char *code_id);

#endif
