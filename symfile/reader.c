/* reader.c — loads a whole .sym into a sym_module through sym_parse().
 *
 * Ids stay as in the file (FILE N is files[N]) so a module we wrote reads
 * back to one that finalize leaves alone, and writing it again gives the
 * same bytes.  Records that parse but cannot go into the model (a line
 * size wider than the model's, an absurd or repeated id) count as bad
 * lines too. */
#include "symfile_int.h"

#include <string.h>

#define NONE SIZE_MAX

typedef struct reader {
    sym_module *m;
    size_t func, cfi;  /* index of the FUNC / INIT being filled */
    size_t max_id;     /* ids above this are refused, see set_id */
    size_t bad, good;
} reader;

/* Ids index an array, so a hostile "FILE 4000000000 x" must not make us
 * allocate gigabytes: a file with dense ids has at least 8 bytes per id. */
static bool set_id(reader *rd, const char ***arr, size_t *n, size_t *cap, uint32_t id,
                   const char *s)
{
    if (id > rd->max_id)
        return false;
    if (id >= *n) {
        sk_grow((void **)arr, cap, (size_t)id + 1, sizeof **arr);
        memset(*arr + *n, 0, ((size_t)id + 1 - *n) * sizeof **arr);
        *n = (size_t)id + 1;
    }
    if ((*arr)[id])
        return false;
    (*arr)[id] = sk_arena_strdup(rd->m->arena, s);
    return true;
}

static bool add_info(sym_module *m, const char *text)
{
    size_t idlen;
    const char *file;
    if (!m->code_id && sym_split_code_id(text, &idlen, &file)) {
        m->code_id = sk_arena_strndup(m->arena, text + 8, idlen);
        m->code_file = file ? sk_arena_strdup(m->arena, file) : NULL;
        return true;
    }
    if (!m->generator && strncmp(text, "GENERATOR ", 10) == 0) {
        m->generator = sk_arena_strdup(m->arena, text + 10);
        return true;
    }
    sym_module_add_info(m, text);
    return true;
}

static bool take(reader *rd, const sym_record *r)
{
    sym_module *m = rd->m;
    switch (r->kind) {
    case SYM_REC_MODULE:
        m->os = sk_arena_strdup(m->arena, r->u.module.os);
        m->arch = sk_arena_strdup(m->arena, r->u.module.arch);
        m->debug_id = sk_arena_strdup(m->arena, r->u.module.debug_id);
        m->name = sk_arena_strdup(m->arena, r->u.module.name);
        return true;
    case SYM_REC_INFO:
        return add_info(m, r->u.info.text);
    case SYM_REC_FILE:
        return set_id(rd, &m->files, &m->nfiles, &m->files_cap, r->u.file.id, r->u.file.path);
    case SYM_REC_INLINE_ORIGIN:
        return set_id(rd, &m->origins, &m->norigins, &m->origins_cap, r->u.origin.id,
                      r->u.origin.name);
    case SYM_REC_FUNC: {
        sym_func *f = sym_module_add_func(m, r->u.func.addr, r->u.func.size, r->u.func.name);
        f->multiple = r->u.func.multiple;
        f->param_size = r->u.func.param_size;
        rd->func = m->nfuncs - 1;
        return true;
    }
    case SYM_REC_LINE:
        if (rd->func == NONE || r->u.line.size > UINT32_MAX)
            return false;
        sym_func_add_line(m, &m->funcs[rd->func], r->u.line.addr, (uint32_t)r->u.line.size,
                          r->u.line.line, r->u.line.file);
        return true;
    case SYM_REC_INLINE:
        if (rd->func == NONE)
            return false;
        sym_func_add_inline(m, &m->funcs[rd->func], r->u.inl.depth, r->u.inl.call_line,
                            r->u.inl.call_file, r->u.inl.origin, r->u.inl.ranges,
                            r->u.inl.nranges);
        return true;
    case SYM_REC_PUBLIC:
        sym_module_add_public(m, r->u.pub.addr, r->u.pub.name);
        m->publics[m->npublics - 1].multiple = r->u.pub.multiple;
        m->publics[m->npublics - 1].param_size = r->u.pub.param_size;
        return true;
    case SYM_REC_STACK_CFI_INIT:
        sym_module_add_cfi(m, r->u.cfi_init.addr, r->u.cfi_init.size, r->u.cfi_init.rules);
        rd->cfi = m->ncfi - 1;
        return true;
    case SYM_REC_STACK_CFI:
        if (rd->cfi == NONE)
            return false;
        sym_cfi_add_row(m, &m->cfi[rd->cfi], r->u.cfi.addr, r->u.cfi.rules);
        return true;
    case SYM_REC_STACK_WIN:
        sk_grow((void **)&m->stack_win, &m->stack_win_cap, m->nstack_win + 1,
                sizeof *m->stack_win);
        m->stack_win[m->nstack_win++].text = sk_arena_strdup(m->arena, r->u.win.text);
        return true;
    }
    return false;
}

static int on_record(const sym_record *r, void *ctx)
{
    reader *rd = ctx;
    if (take(rd, r))
        rd->good++;
    else
        rd->bad++;
    return 0;
}

int sym_module_read_mem(const char *data, size_t len, sym_module *m, sym_parse_stats *stats,
                        sk_error *err)
{
    sym_module_init(m);
    reader rd = {.m = m, .func = NONE, .cfi = NONE, .max_id = len / 8 + 16};
    sym_parse_stats st;
    int rc = sym_parse(data, len, on_record, NULL, &rd, &st, err);
    st.bad_lines += rd.bad;
    st.records = rd.good;
    if (stats)
        *stats = st;
    if (rc != SK_OK)
        sym_module_free(m);
    return rc;
}

int sym_module_read(const char *path, sym_module *m, sym_parse_stats *stats, sk_error *err)
{
    sk_mapped map;
    int rc = sk_map_file(path, &map, err);
    if (rc != SK_OK) {
        sym_module_init(m);
        if (stats)
            memset(stats, 0, sizeof *stats);
        return rc;
    }
    rc = sym_module_read_mem((const char *)map.data, map.size, m, stats, err);
    sk_unmap(&map);
    if (rc != SK_OK)
        sk_error_prefix(err, "%s", path);
    return rc;
}
