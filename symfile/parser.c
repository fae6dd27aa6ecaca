/* parser.c — a streaming, tolerant .sym parser over a memory buffer.
 *
 * Like Breakpad's processor, a malformed line is skipped, counted and
 * reported, never a reason to reject the module: a half-good .sym still
 * symbolizes most frames.  Only the first record is strict, because a file
 * that does not start with a valid MODULE line is not a .sym at all.
 *
 * Each line is copied into a scratch buffer and split in place, so records
 * carry NUL-terminated strings without touching (or over-reading) the
 * caller's buffer, which need not be NUL-terminated. */
#include "symfile_int.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    char *line;
    size_t line_cap;
    sym_range *ranges;
    size_t ranges_cap;
    bool in_func; /* line and INLINE records belong to the last good FUNC */
    bool in_cfi;  /* STACK CFI rows belong to the last good INIT */
} parser;

/* ---- tokens and numbers ------------------------------------------------ */

static inline bool is_sep(char c)
{
    return c == ' ' || c == '\t';
}

/* Next whitespace-separated token at *cur (not terminated: numbers are
 * parsed by length).  False at end of line. */
static bool next_tok(char **cur, char **tok, size_t *len)
{
    char *p = *cur;
    while (is_sep(*p))
        p++;
    if (!*p)
        return false;
    char *s = p;
    while (*p && !is_sep(*p))
        p++;
    *tok = s;
    *len = (size_t)(p - s);
    *cur = p;
    return true;
}

/* The rest of the line after exactly one separator: names and paths may
 * start with or contain spaces, and the writer puts exactly one before. */
static bool rest_of_line(char **cur, const char **rest)
{
    char *p = *cur;
    if (!is_sep(*p) || !p[1])
        return false;
    *rest = p + 1;
    return true;
}

static bool at_end(char *cur)
{
    while (is_sep(*cur))
        cur++;
    return *cur == '\0';
}

static bool parse_hex(const char *s, size_t n, uint64_t *out)
{
    if (n == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return false;
        if (v >> 60)
            return false;
        v = (v << 4) | d;
    }
    *out = v;
    return true;
}

static bool parse_dec(const char *s, size_t n, uint64_t *out)
{
    if (n == 0)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < '0' || c > '9')
            return false;
        unsigned d = c - '0';
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Field readers: each returns a reason string on failure, NULL on success. */
static const char *field_hex(char **cur, uint64_t *out)
{
    char *t;
    size_t n;
    if (!next_tok(cur, &t, &n))
        return "missing field";
    if (!parse_hex(t, n, out))
        return "bad hex number";
    return NULL;
}

static const char *field_hex32(char **cur, uint32_t *out)
{
    uint64_t v;
    const char *why = field_hex(cur, &v);
    if (why)
        return why;
    if (v > UINT32_MAX)
        return "number too large";
    *out = (uint32_t)v;
    return NULL;
}

static const char *field_dec32(char **cur, uint32_t *out)
{
    char *t;
    size_t n;
    uint64_t v;
    if (!next_tok(cur, &t, &n))
        return "missing field";
    if (!parse_dec(t, n, &v))
        return "bad decimal number";
    if (v > UINT32_MAX)
        return "number too large";
    *out = (uint32_t)v;
    return NULL;
}

/* The optional 'm' (multiple) flag of FUNC and PUBLIC. */
static bool take_m_flag(char **cur)
{
    char *p = *cur;
    while (is_sep(*p))
        p++;
    if (p[0] == 'm' && is_sep(p[1])) {
        *cur = p + 1;
        return true;
    }
    return false;
}

#define CHECK(expr)                                                                                \
    do {                                                                                           \
        const char *why_ = (expr);                                                                 \
        if (why_)                                                                                  \
            return why_;                                                                           \
    } while (0)

/* ---- records ----------------------------------------------------------- */

static bool keyword(char *tok, size_t n, const char *kw)
{
    size_t k = strlen(kw);
    return n == k && memcmp(tok, kw, k) == 0;
}

static const char *parse_module(char *cur, sym_record *r)
{
    const char *f[4];
    char *t;
    size_t n;
    for (int i = 0; i < 4; i++) {
        if (!next_tok(&cur, &t, &n))
            return "MODULE record has fewer than 5 fields (MODULE os arch id name)";
        if (*cur)
            *cur++ = '\0';
        f[i] = t;
    }
    if (!at_end(cur))
        return "MODULE record has more than 5 fields (a name with spaces?)";
    r->kind = SYM_REC_MODULE;
    r->u.module.os = f[0];
    r->u.module.arch = f[1];
    r->u.module.debug_id = f[2];
    r->u.module.name = f[3];
    return NULL;
}

static const char *parse_id_name(char *cur, uint32_t *id, const char **name)
{
    CHECK(field_dec32(&cur, id));
    if (!rest_of_line(&cur, name))
        return "missing name";
    return NULL;
}

static const char *parse_func(char *cur, sym_record *r)
{
    r->kind = SYM_REC_FUNC;
    r->u.func.multiple = take_m_flag(&cur);
    CHECK(field_hex(&cur, &r->u.func.addr));
    CHECK(field_hex(&cur, &r->u.func.size));
    CHECK(field_hex32(&cur, &r->u.func.param_size));
    if (!rest_of_line(&cur, &r->u.func.name))
        return "missing name";
    return NULL;
}

static const char *parse_public(char *cur, sym_record *r)
{
    r->kind = SYM_REC_PUBLIC;
    r->u.pub.multiple = take_m_flag(&cur);
    CHECK(field_hex(&cur, &r->u.pub.addr));
    CHECK(field_hex32(&cur, &r->u.pub.param_size));
    if (!rest_of_line(&cur, &r->u.pub.name))
        return "missing name";
    return NULL;
}

static const char *parse_inline(parser *ps, char *cur, sym_record *r)
{
    r->kind = SYM_REC_INLINE;
    CHECK(field_dec32(&cur, &r->u.inl.depth));
    CHECK(field_dec32(&cur, &r->u.inl.call_line));
    CHECK(field_dec32(&cur, &r->u.inl.call_file));
    CHECK(field_dec32(&cur, &r->u.inl.origin));
    size_t n = 0;
    char *t;
    size_t tl;
    while (next_tok(&cur, &t, &tl)) {
        uint64_t v;
        if (!parse_hex(t, tl, &v))
            return "bad hex number";
        sk_grow((void **)&ps->ranges, &ps->ranges_cap, n / 2 + 1, sizeof *ps->ranges);
        if (n % 2 == 0)
            ps->ranges[n / 2].addr = v;
        else
            ps->ranges[n / 2].size = v;
        n++;
        if (n / 2 > UINT32_MAX)
            return "too many ranges";
    }
    if (n == 0)
        return "INLINE record without ranges";
    if (n % 2)
        return "INLINE range without size";
    r->u.inl.nranges = (uint32_t)(n / 2);
    r->u.inl.ranges = ps->ranges;
    return NULL;
}

static const char *parse_line_record(char *cur, sym_record *r)
{
    r->kind = SYM_REC_LINE;
    CHECK(field_hex(&cur, &r->u.line.addr));
    CHECK(field_hex(&cur, &r->u.line.size));
    CHECK(field_dec32(&cur, &r->u.line.line));
    CHECK(field_dec32(&cur, &r->u.line.file));
    if (!at_end(cur))
        return "too many fields";
    return NULL;
}

/* STACK WIN stays verbatim, but must look like one: ten numbers, then the
 * program string or the allocates-base-pointer flag. */
static const char *parse_stack_win(char *cur, sym_record *r)
{
    const char *text;
    if (!rest_of_line(&cur, &text))
        return "empty STACK WIN record";
    char *p = cur;
    for (int i = 0; i < 10; i++) {
        char *t;
        size_t n;
        uint64_t v;
        if (!next_tok(&p, &t, &n))
            return "STACK WIN record has too few fields";
        if (!parse_hex(t, n, &v))
            return "bad hex number in STACK WIN record";
    }
    if (at_end(p))
        return "STACK WIN record has too few fields";
    r->kind = SYM_REC_STACK_WIN;
    r->u.win.text = text;
    return NULL;
}

static const char *parse_stack(parser *ps, char *cur, sym_record *r)
{
    char *t;
    size_t n;
    if (!next_tok(&cur, &t, &n))
        return "STACK record without a kind";
    if (keyword(t, n, "WIN"))
        return parse_stack_win(cur, r);
    if (!keyword(t, n, "CFI"))
        return "unknown STACK record";
    char *save = cur;
    if (next_tok(&cur, &t, &n) && keyword(t, n, "INIT")) {
        ps->in_cfi = false;
        r->kind = SYM_REC_STACK_CFI_INIT;
        CHECK(field_hex(&cur, &r->u.cfi_init.addr));
        CHECK(field_hex(&cur, &r->u.cfi_init.size));
        if (!rest_of_line(&cur, &r->u.cfi_init.rules))
            return "STACK CFI INIT without rules";
        ps->in_cfi = true;
        return NULL;
    }
    cur = save;
    r->kind = SYM_REC_STACK_CFI;
    CHECK(field_hex(&cur, &r->u.cfi.addr));
    if (!rest_of_line(&cur, &r->u.cfi.rules))
        return "STACK CFI without rules";
    if (!ps->in_cfi)
        return "STACK CFI row without a STACK CFI INIT";
    return NULL;
}

/* Parses one non-empty, non-MODULE line in place. */
static const char *parse_record(parser *ps, char *cur, sym_record *r)
{
    char *kw;
    size_t n;
    char *start = cur;
    if (!next_tok(&cur, &kw, &n))
        return "empty record";
    switch (kw[0]) {
    case 'F':
        if (keyword(kw, n, "FUNC")) {
            ps->in_func = false;
            CHECK(parse_func(cur, r));
            ps->in_func = true;
            return NULL;
        }
        if (keyword(kw, n, "FILE")) {
            r->kind = SYM_REC_FILE;
            return parse_id_name(cur, &r->u.file.id, &r->u.file.path);
        }
        break;
    case 'I':
        if (keyword(kw, n, "INFO")) {
            r->kind = SYM_REC_INFO;
            if (!rest_of_line(&cur, &r->u.info.text))
                return "empty INFO record";
            return NULL;
        }
        if (keyword(kw, n, "INLINE")) {
            CHECK(parse_inline(ps, cur, r));
            return ps->in_func ? NULL : "INLINE record outside a FUNC";
        }
        if (keyword(kw, n, "INLINE_ORIGIN")) {
            r->kind = SYM_REC_INLINE_ORIGIN;
            return parse_id_name(cur, &r->u.origin.id, &r->u.origin.name);
        }
        break;
    case 'M':
        if (keyword(kw, n, "MODULE"))
            return "second MODULE record";
        break;
    case 'P':
        if (keyword(kw, n, "PUBLIC"))
            return parse_public(cur, r);
        break;
    case 'S':
        if (keyword(kw, n, "STACK"))
            return parse_stack(ps, cur, r);
        break;
    default:
        break;
    }
    uint64_t v;
    if (!parse_hex(kw, n, &v))
        return "unknown record";
    CHECK(parse_line_record(start, r));
    return ps->in_func ? NULL : "line record outside a FUNC";
}

/* ---- driver ------------------------------------------------------------ */

/* A short printable excerpt of a bad first line for the error message. */
static void excerpt(const char *s, size_t n, char out[48])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 40; i++)
        out[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n > 40) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = '\0';
}

int sym_parse(const char *data, size_t len, sym_record_fn fn, sym_bad_line_fn bad_fn, void *ctx,
              sym_parse_stats *stats, sk_error *err)
{
    sym_parse_stats st = {0};
    parser ps = {0};
    int rc = SK_OK;
    const char *p = data, *end = data + len;

    if (len == 0 || !data) {
        rc = sk_fail(err, SK_EFORMAT, "empty input, expected a MODULE record");
        goto out;
    }
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        if (n && p[n - 1] == '\r')
            n--;
        st.lines++;
        sk_grow((void **)&ps.line, &ps.line_cap, n + 1, 1);
        memcpy(ps.line, p, n);
        ps.line[n] = '\0';
        bool has_nul = memchr(p, '\0', n) != NULL;
        p = nl ? nl + 1 : end;

        sym_record r;
        memset(&r, 0, sizeof r);
        r.line_no = st.lines;
        const char *why;
        if (st.lines == 1) {
            char *cur = ps.line, *kw;
            size_t kn;
            why = has_nul ? "NUL byte in line" : NULL;
            if (!why && (!next_tok(&cur, &kw, &kn) || !keyword(kw, kn, "MODULE")))
                why = "expected a MODULE record";
            if (!why)
                why = parse_module(cur, &r);
            if (why) {
                char ex[48];
                excerpt(data, n, ex);
                rc = sk_fail(err, SK_EFORMAT, "line 1: %s, found \"%s\"", why, ex);
                goto out;
            }
        } else {
            if (n == 0 || at_end(ps.line))
                continue; /* blank lines carry nothing; not worth a complaint */
            why = has_nul ? "NUL byte in line" : parse_record(&ps, ps.line, &r);
            if (why) {
                st.bad_lines++;
                if (bad_fn)
                    bad_fn(st.lines, why, ctx);
                continue;
            }
        }
        st.records++;
        if (fn) {
            int stop = fn(&r, ctx);
            if (stop) {
                rc = stop;
                goto out;
            }
        }
    }
out:
    free(ps.line);
    free(ps.ranges);
    if (stats)
        *stats = st;
    return rc;
}

static int copy_field(const char *what, const char *s, char *out, size_t cap, sk_error *err)
{
    size_t n = strlen(s);
    if (!out || n + 1 > cap)
        return sk_fail(err, SK_EFORMAT, "MODULE %s is too long (%zu bytes)", what, n);
    memcpy(out, s, n + 1);
    return SK_OK;
}

int sym_parse_module_line(const char *line, size_t len, char *os, size_t os_cap, char *arch,
                          size_t arch_cap, char *debug_id, size_t id_cap, char *name,
                          size_t name_cap, sk_error *err)
{
    if (!line)
        return sk_fail(err, SK_EFORMAT, "empty input, expected a MODULE record");
    const char *nl = memchr(line, '\n', len);
    size_t n = nl ? (size_t)(nl - line) : len;
    if (n && line[n - 1] == '\r')
        n--;
    char ex[48];
    excerpt(line, n, ex);
    if (memchr(line, '\0', n))
        return sk_fail(err, SK_EFORMAT, "NUL byte in MODULE record");
    char *copy = sk_xstrndup(line, n);
    char *cur = copy, *kw;
    size_t kn;
    sym_record r;
    const char *why = NULL;
    if (!next_tok(&cur, &kw, &kn) || !keyword(kw, kn, "MODULE"))
        why = "expected a MODULE record";
    if (!why)
        why = parse_module(cur, &r);
    int rc;
    if (why)
        rc = sk_fail(err, SK_EFORMAT, "%s, found \"%s\"", why, ex);
    else if ((rc = copy_field("os", r.u.module.os, os, os_cap, err)) == SK_OK &&
             (rc = copy_field("arch", r.u.module.arch, arch, arch_cap, err)) == SK_OK &&
             (rc = copy_field("debug id", r.u.module.debug_id, debug_id, id_cap, err)) == SK_OK)
        rc = copy_field("name", r.u.module.name, name, name_cap, err);
    free(copy);
    return rc;
}
