/* index.c — address lookups over a mapped .sym without parsing all of it.
 *
 * A stackwalk needs a handful of addresses from files that can be hundreds
 * of megabytes, so the first lookup makes one pass that only looks at the
 * first word of each line and records where FUNC, PUBLIC, FILE,
 * INLINE_ORIGIN and STACK records start; a FUNC's line and INLINE records
 * are parsed only when an address lands in that FUNC.  Like Breakpad's
 * reader it is tolerant: malformed lines are skipped and counted. */
#include "symfile.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef struct ix_range {
    uint64_t addr, size;
    size_t off; /* byte offset of the record's line */
} ix_range;

typedef struct ix_id {
    uint64_t id;
    size_t off; /* offset of the text after "<KEYWORD> <id> " */
} ix_id;

typedef struct ix_vec {
    void *v;
    size_t n, cap;
} ix_vec;

struct sym_index {
    sk_mapped map;
    char *owned; /* when the data was handed to us */
    const char *data;
    size_t len;
    sk_arena *arena;
    char *os, *arch, *debug_id, *name;
    bool indexed;
    size_t bad_lines;
    ix_vec funcs, publics, cfi, win, files, origins; /* sorted after indexing */
};

/* ---- small parsing helpers (all bounded by the line end) ---------------- */

static const char *line_end(const char *p, const char *end)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    return nl ? nl : end;
}

/* The line without a trailing '\r'. */
static const char *trim_cr(const char *p, const char *e)
{
    return (e > p && e[-1] == '\r') ? e - 1 : e;
}

static bool starts(const char *p, const char *e, const char *kw)
{
    size_t n = strlen(kw);
    return (size_t)(e - p) >= n && memcmp(p, kw, n) == 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parses a hex token ending at a space or e; returns the position after it
 * and one space, or NULL. */
static const char *hex_tok(const char *p, const char *e, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = p;
    while (p < e && *p != ' ') {
        int d = hexval(*p);
        if (d < 0 || v >> 60)
            return NULL;
        v = v << 4 | (uint64_t)d;
        p++;
    }
    if (p == s)
        return NULL;
    *out = v;
    return p < e ? p + 1 : p;
}

static const char *dec_tok(const char *p, const char *e, uint64_t *out)
{
    uint64_t v = 0;
    const char *s = p;
    while (p < e && *p != ' ') {
        if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
            return NULL;
        v = v * 10 + (uint64_t)(*p - '0');
        p++;
    }
    if (p == s)
        return NULL;
    *out = v;
    return p < e ? p + 1 : p;
}

static void vec_push(ix_vec *v, const void *item, size_t size)
{
    sk_grow(&v->v, &v->cap, v->n + 1, size);
    memcpy((char *)v->v + v->n * size, item, size);
    v->n++;
}

/* ---- opening ------------------------------------------------------------ */

static int read_module_line(sym_index *ix, sk_error *err)
{
    const char *end = ix->data + ix->len;
    const char *p = ix->data;
    /* a UTF-8 byte order mark is harmless */
    if (ix->len >= 3 && memcmp(p, "\xef\xbb\xbf", 3) == 0)
        p += 3;
    const char *e = trim_cr(p, line_end(p, end));
    char os[64], arch[64], id[128], name[1024];
    if (sym_parse_module_line(p, (size_t)(e - p), os, sizeof os, arch, sizeof arch, id, sizeof id, name,
                              sizeof name, err))
        return SK_EFORMAT;
    ix->os = sk_arena_strdup(ix->arena, os);
    ix->arch = sk_arena_strdup(ix->arena, arch);
    ix->debug_id = sk_arena_strdup(ix->arena, id);
    ix->name = sk_arena_strdup(ix->arena, name);
    return SK_OK;
}

static int open_common(sym_index *ix, sym_index **out, sk_error *err)
{
    ix->arena = sk_arena_create();
    int rc = read_module_line(ix, err);
    if (rc) {
        sym_index_close(ix);
        return rc;
    }
    *out = ix;
    return SK_OK;
}

int sym_index_open(const char *path, sym_index **out, sk_error *err)
{
    *out = NULL;
    sym_index *ix = sk_xcalloc(1, sizeof *ix);
    int rc = sk_map_file(path, &ix->map, err);
    if (rc) {
        free(ix);
        return rc;
    }
    ix->data = (const char *)ix->map.data;
    ix->len = ix->map.size;
    rc = open_common(ix, out, err);
    if (rc)
        sk_error_prefix(err, "%s", path);
    return rc;
}

int sym_index_open_owned(char *data, size_t len, sym_index **out, sk_error *err)
{
    *out = NULL;
    sym_index *ix = sk_xcalloc(1, sizeof *ix);
    ix->owned = data;
    ix->data = data;
    ix->len = len;
    return open_common(ix, out, err);
}

void sym_index_close(sym_index *ix)
{
    if (!ix)
        return;
    sk_unmap(&ix->map);
    free(ix->owned);
    if (ix->arena)
        sk_arena_destroy(ix->arena);
    free(ix->funcs.v);
    free(ix->publics.v);
    free(ix->cfi.v);
    free(ix->win.v);
    free(ix->files.v);
    free(ix->origins.v);
    free(ix);
}

const char *sym_index_os(const sym_index *ix) { return ix->os; }
const char *sym_index_arch(const sym_index *ix) { return ix->arch; }
const char *sym_index_debug_id(const sym_index *ix) { return ix->debug_id; }
const char *sym_index_name(const sym_index *ix) { return ix->name; }
size_t sym_index_bad_lines(const sym_index *ix) { return ix->bad_lines; }

/* ---- the indexing pass -------------------------------------------------- */

static int cmp_range(const void *x, const void *y)
{
    const ix_range *a = x, *b = y;
    if (a->addr != b->addr)
        return a->addr < b->addr ? -1 : 1;
    return a->off < b->off ? -1 : a->off > b->off;
}

static int cmp_id(const void *x, const void *y)
{
    const ix_id *a = x, *b = y;
    if (a->id != b->id)
        return a->id < b->id ? -1 : 1;
    return a->off < b->off ? -1 : a->off > b->off;
}

/* "FUNC [m] addr size ..." / "PUBLIC [m] addr ..." after the keyword. */
static const char *skip_m(const char *p, const char *e)
{
    if (e - p >= 2 && p[0] == 'm' && p[1] == ' ')
        return p + 2;
    return p;
}

static void index_line(sym_index *ix, const char *p, const char *e)
{
    size_t off = (size_t)(p - ix->data);
    ix_range r = {0, 0, off};
    uint64_t id;
    const char *q;
    switch (*p) {
    case 'F':
        if (starts(p, e, "FUNC ")) {
            q = skip_m(p + 5, e);
            if ((q = hex_tok(q, e, &r.addr)) && (q = hex_tok(q, e, &r.size))) {
                vec_push(&ix->funcs, &r, sizeof r);
                return;
            }
        } else if (starts(p, e, "FILE ")) {
            if ((q = dec_tok(p + 5, e, &id))) {
                vec_push(&ix->files, &(ix_id){id, (size_t)(q - ix->data)}, sizeof(ix_id));
                return;
            }
        }
        break;
    case 'P':
        if (starts(p, e, "PUBLIC ")) {
            q = skip_m(p + 7, e);
            if ((q = hex_tok(q, e, &r.addr))) {
                vec_push(&ix->publics, &r, sizeof r);
                return;
            }
        }
        break;
    case 'I':
        if (starts(p, e, "INLINE_ORIGIN ")) {
            if ((q = dec_tok(p + 14, e, &id))) {
                vec_push(&ix->origins, &(ix_id){id, (size_t)(q - ix->data)}, sizeof(ix_id));
                return;
            }
        } else if (starts(p, e, "INLINE ") || starts(p, e, "INFO ")) {
            return; /* parsed with its FUNC / not needed */
        }
        break;
    case 'S':
        if (starts(p, e, "STACK CFI INIT ")) {
            if ((q = hex_tok(p + 15, e, &r.addr)) && (q = hex_tok(q, e, &r.size))) {
                vec_push(&ix->cfi, &r, sizeof r);
                return;
            }
        } else if (starts(p, e, "STACK CFI ")) {
            return; /* a delta row, read with its INIT */
        } else if (starts(p, e, "STACK WIN ")) {
            uint64_t type;
            if ((q = hex_tok(p + 10, e, &type)) && (q = hex_tok(q, e, &r.addr)) && (q = hex_tok(q, e, &r.size))) {
                vec_push(&ix->win, &r, sizeof r);
                return;
            }
        }
        break;
    case 'M':
        if (starts(p, e, "MODULE "))
            return;
        break;
    default:
        /* line records start with a hex address: checked when their FUNC
         * is parsed */
        if (hexval(*p) >= 0)
            return;
        break;
    }
    ix->bad_lines++;
}

static bool line_record_start(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* From a line start, the first line start whose first byte cannot begin a
 * line record ([0-9a-f]), or end.  Line records are most of a big file and
 * are checked when their FUNC is parsed, so the pass only needs to find
 * the other lines; with SSE2 it looks at 16 bytes per step. */
static const char *skip_line_records(const char *p, const char *end)
{
    if (p >= end || !line_record_start(*p))
        return p;
#if defined(__SSE2__)
    /* bit b of `nl`: p[b] is a newline; of `rec`: p[b + 1] can start a
     * line record (bytes >= 0x80 are negative here and never match) */
    const __m128i newline = _mm_set1_epi8('\n'), d0 = _mm_set1_epi8('0' - 1), d9 = _mm_set1_epi8('9' + 1),
                  a0 = _mm_set1_epi8('a' - 1), f9 = _mm_set1_epi8('f' + 1);
    while (end - p >= 17) { /* the load at p + 1 stays inside the data */
        __m128i v = _mm_loadu_si128((const __m128i *)p), w = _mm_loadu_si128((const __m128i *)(p + 1));
        unsigned nl = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, newline));
        if (nl) {
            __m128i dig = _mm_and_si128(_mm_cmpgt_epi8(w, d0), _mm_cmplt_epi8(w, d9));
            __m128i hex = _mm_and_si128(_mm_cmpgt_epi8(w, a0), _mm_cmplt_epi8(w, f9));
            unsigned rec = (unsigned)_mm_movemask_epi8(_mm_or_si128(dig, hex));
            unsigned hit = nl & ~rec;
            if (hit)
                return p + __builtin_ctz(hit) + 1;
        }
        p += 16;
    }
#endif
    while (p < end) {
        const char *q = memchr(p, '\n', (size_t)(end - p));
        if (!q)
            return end;
        p = q + 1;
        if (p >= end || !line_record_start(*p))
            return p;
    }
    return end;
}

static void build_index(sym_index *ix)
{
    if (ix->indexed)
        return;
    ix->indexed = true;
    const char *p = ix->data, *end = ix->data + ix->len;
    /* The pass reads every page once; a mapped file's pages are handed back
     * as we go so peak RSS stays at one window (they stay in the page cache
     * and the few a lookup needs fault back in). */
    const size_t window = (size_t)32 << 20;
    size_t page = (size_t)sysconf(_SC_PAGESIZE), dropped = 0;
    bool mapped = ix->map.data != NULL;
    /* the MODULE line was validated at open */
    p = line_end(p, end);
    if (p < end)
        p++;
    while (p < end) {
        p = skip_line_records(p, end);
        if (p >= end)
            break;
        const char *e = line_end(p, end);
        const char *t = trim_cr(p, e);
        if (t > p)
            index_line(ix, p, t);
        p = e < end ? e + 1 : end;
        size_t done = (size_t)(p - ix->data);
        if (mapped && done - dropped >= 2 * window) {
            size_t upto = (done - window) / page * page;
            madvise((void *)(ix->data + dropped), upto - dropped, MADV_DONTNEED);
            dropped = upto;
        }
    }
    if (mapped && ix->len > dropped)
        madvise((void *)(ix->data + dropped), ix->len - dropped, MADV_DONTNEED);
    ix_vec *ranges[] = {&ix->funcs, &ix->publics, &ix->cfi, &ix->win}, *ids[] = {&ix->files, &ix->origins};
    for (size_t i = 0; i < 4; i++)
        if (ranges[i]->n) /* an empty vector's array is NULL */
            sk_sort(ranges[i]->v, ranges[i]->n, sizeof(ix_range), cmp_range);
    for (size_t i = 0; i < 2; i++)
        if (ids[i]->n)
            sk_sort(ids[i]->v, ids[i]->n, sizeof(ix_id), cmp_id);
}

size_t sym_index_func_count(sym_index *ix)
{
    build_index(ix);
    return ix->funcs.n;
}

/* Last entry with addr <= a, or -1. */
static ptrdiff_t find_le(const ix_vec *v, uint64_t a)
{
    const ix_range *r = v->v;
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].addr <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (ptrdiff_t)lo - 1;
}

/* The entry containing a; with overlaps (Breakpad drops them, we cannot
 * rewrite the file) a few earlier entries are tried too. */
static const ix_range *find_containing(const ix_vec *v, uint64_t a)
{
    ptrdiff_t i = find_le(v, a);
    const ix_range *r = v->v;
    for (int k = 0; k < 4 && i >= 0; k++, i--)
        if (a - r[i].addr < r[i].size)
            return &r[i];
    return NULL;
}

/* Text after "KEYWORD <id> " for id, as an arena string. */
static const char *id_text(sym_index *ix, const ix_vec *v, uint64_t id)
{
    const ix_id *e = v->v;
    size_t lo = 0, hi = v->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (e[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= v->n || e[lo].id != id)
        return NULL;
    const char *p = ix->data + e[lo].off, *end = ix->data + ix->len;
    const char *t = trim_cr(p, line_end(p, end));
    if (t <= p)
        return NULL;
    return sk_arena_strndup(ix->arena, p, (size_t)(t - p));
}

/* ---- lookups ------------------------------------------------------------ */

/* A PUBLIC has no size: it reaches to the next symbol.  The last symbol of
 * a module (often _fini) would otherwise "cover" all of .data and .bss,
 * which is exactly where stale pointers found by stack scanning point. */
#define LAST_PUBLIC_REACH 0x1000

bool sym_index_covers(sym_index *ix, uint64_t addr)
{
    build_index(ix);
    if (find_containing(&ix->funcs, addr))
        return true;
    ptrdiff_t i = find_le(&ix->publics, addr);
    if (i < 0)
        return false;
    const ix_range *pub = (const ix_range *)ix->publics.v + i;
    /* a FUNC between the PUBLIC and addr ends the PUBLIC's reach */
    ptrdiff_t f = find_le(&ix->funcs, addr);
    if (f >= 0 && ((const ix_range *)ix->funcs.v)[f].addr > pub->addr)
        return false;
    bool later = (size_t)i + 1 < ix->publics.n;
    if (!later) {
        const ix_range *fr = ix->funcs.v;
        later = (size_t)(f + 1) < ix->funcs.n && fr[f + 1].addr > addr;
    }
    return later || addr - pub->addr < LAST_PUBLIC_REACH;
}

#define MAX_INLINE_DEPTH 64

static void parse_func_body(sym_index *ix, const char *p, uint64_t addr, sym_lookup *out)
{
    const char *end = ix->data + ix->len;
    sym_lookup_inline chain[MAX_INLINE_DEPTH];
    size_t depth_n = 0;
    uint64_t file_id = 0;
    bool have_line = false;
    p = line_end(p, end); /* skip the FUNC line */
    while (p < end) {
        p++;
        const char *e = line_end(p, end);
        const char *t = trim_cr(p, e);
        const char *q;
        if (t > p && hexval(*p) >= 0 && !starts(p, t, "FUNC ") && !starts(p, t, "FILE ")) {
            uint64_t a, size, line, file;
            if ((q = hex_tok(p, t, &a)) && (q = hex_tok(q, t, &size)) && (q = dec_tok(q, t, &line)) &&
                (q = dec_tok(q, t, &file)) && q == t) {
                if (!have_line && addr - a < size) {
                    have_line = true;
                    out->line = line > UINT32_MAX ? 0 : (uint32_t)line;
                    out->line_addr = a;
                    file_id = file;
                }
            } else {
                ix->bad_lines++;
            }
        } else if (starts(p, t, "INLINE ")) {
            uint64_t depth, call_line, call_file, origin;
            if ((q = dec_tok(p + 7, t, &depth)) && (q = dec_tok(q, t, &call_line)) &&
                (q = dec_tok(q, t, &call_file)) && (q = dec_tok(q, t, &origin))) {
                bool hit = false, ok = true;
                while (q < t) {
                    uint64_t ra, rs;
                    if (!(q = hex_tok(q, t, &ra)) || !(q = hex_tok(q, t, &rs))) {
                        ok = false;
                        break;
                    }
                    if (addr - ra < rs)
                        hit = true;
                }
                if (!ok) {
                    ix->bad_lines++;
                } else if (hit && depth < MAX_INLINE_DEPTH && depth <= depth_n) {
                    sym_lookup_inline *in = &chain[depth];
                    const char *name = id_text(ix, &ix->origins, origin);
                    in->name = name ? name : "<name omitted>";
                    in->call_file = id_text(ix, &ix->files, call_file);
                    in->call_line = call_line > UINT32_MAX ? 0 : (uint32_t)call_line;
                    depth_n = depth + 1;
                }
            } else {
                ix->bad_lines++;
            }
        } else if (t > p) {
            break; /* the next record: this FUNC is done */
        }
        p = e;
    }
    if (have_line)
        out->file = id_text(ix, &ix->files, file_id);
    if (depth_n) {
        out->inlines = sk_arena_alloc(ix->arena, depth_n * sizeof *out->inlines);
        memcpy(out->inlines, chain, depth_n * sizeof *chain);
        out->ninlines = depth_n;
    }
}

/* Name at the end of a FUNC/PUBLIC line after its numeric fields. */
static const char *record_name(sym_index *ix, const char *p, int numbers, uint64_t *param)
{
    const char *end = ix->data + ix->len;
    const char *t = trim_cr(p, line_end(p, end));
    if (t <= p)
        return "<name omitted>";
    const char *q = memchr(p, ' ', (size_t)(t - p));
    q = q ? skip_m(q + 1, t) : t;
    uint64_t v = 0;
    for (int i = 0; i < numbers && q; i++)
        q = hex_tok(q, t, &v);
    *param = v;
    if (!q || q >= t)
        return "<name omitted>";
    return sk_arena_strndup(ix->arena, q, (size_t)(t - q));
}

bool sym_index_lookup(sym_index *ix, uint64_t addr, sym_lookup *out)
{
    memset(out, 0, sizeof *out);
    build_index(ix);
    const ix_range *f = find_containing(&ix->funcs, addr);
    uint64_t param;
    if (f) {
        const char *p = ix->data + f->off;
        out->function = record_name(ix, p, 3, &param);
        out->function_addr = f->addr;
        out->function_size = f->size;
        out->param_size = param > UINT32_MAX ? 0 : (uint32_t)param;
        parse_func_body(ix, p, addr, out);
        return true;
    }
    ptrdiff_t i = find_le(&ix->publics, addr);
    if (i < 0)
        return false;
    const ix_range *pub = (const ix_range *)ix->publics.v + i;
    out->function = record_name(ix, ix->data + pub->off, 2, &param);
    out->function_addr = pub->addr;
    out->param_size = param > UINT32_MAX ? 0 : (uint32_t)param;
    out->is_public = true;
    return true;
}

bool sym_index_cfi(sym_index *ix, uint64_t addr, sk_buf *out)
{
    sk_buf_reset(out);
    build_index(ix);
    const ix_range *c = find_containing(&ix->cfi, addr);
    if (!c)
        return false;
    const char *p = ix->data + c->off, *end = ix->data + ix->len;
    const char *t = trim_cr(p, line_end(p, end));
    const char *q = p + 15;
    uint64_t a, s;
    if (!(q = hex_tok(q, t, &a)) || !(q = hex_tok(q, t, &s)))
        return false;
    sk_buf_append(out, q, (size_t)(t - q));
    p = line_end(p, end);
    while (p < end) {
        p++;
        const char *e = line_end(p, end);
        t = trim_cr(p, e);
        if (!starts(p, t, "STACK CFI ") || starts(p, t, "STACK CFI INIT "))
            break;
        q = hex_tok(p + 10, t, &a);
        if (!q) {
            ix->bad_lines++;
        } else {
            if (a > addr)
                break; /* rows are in address order */
            sk_buf_putc(out, ' ');
            sk_buf_append(out, q, (size_t)(t - q));
        }
        p = e;
    }
    return true;
}

bool sym_index_stack_win(sym_index *ix, uint64_t addr, sym_win_frame *out)
{
    memset(out, 0, sizeof *out);
    build_index(ix);
    /* prefer FrameData (type 4) over FPO (type 0) when both cover addr */
    ptrdiff_t i = find_le(&ix->win, addr);
    const ix_range *r = ix->win.v;
    bool found = false;
    for (int k = 0; k < 8 && i >= 0; k++, i--) {
        if (addr - r[i].addr >= r[i].size)
            continue;
        const char *p = ix->data + r[i].off, *end = ix->data + ix->len;
        const char *t = trim_cr(p, line_end(p, end));
        const char *q = p + 10;
        uint64_t v[11];
        int n;
        for (n = 0; n < 10 && q; n++)
            q = hex_tok(q, t, &v[n]);
        if (!q || q >= t) {
            ix->bad_lines++;
            continue;
        }
        if (found && v[0] != 4)
            continue;
        out->type = (unsigned)v[0];
        out->addr = v[1];
        out->size = v[2];
        out->prolog_size = (uint32_t)v[3];
        out->epilog_size = (uint32_t)v[4];
        out->param_size = (uint32_t)v[5];
        out->saved_regs_size = (uint32_t)v[6];
        out->locals_size = (uint32_t)v[7];
        out->max_stack_size = (uint32_t)v[8];
        out->program = NULL;
        out->allocates_base_pointer = false;
        if (v[9]) {
            out->program = sk_arena_strndup(ix->arena, q, (size_t)(t - q));
        } else {
            out->allocates_base_pointer = *q == '1';
        }
        found = true;
        if (v[0] == 4)
            break;
    }
    return found;
}
