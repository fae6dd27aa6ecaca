/* json.c — the one JSON writer and reader behind stackwalk's report,
 * symverify's --json / --baseline and symupload's Tecken replies. */
#include "common.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- writer ------------------------------------------------------------ */

void sk_json_writer_init(sk_json_writer *w, sk_buf *out, bool pretty)
{
    w->out = out;
    w->pretty = pretty;
    w->depth = 0;
    w->first = true;
}

/* Control characters are escaped because a raw one is invalid JSON.  DEL and
 * bytes >= 0x80 (valid UTF-8 or not) go out untouched: names come verbatim
 * from dumps and .sym files, and minidump-stackwalk (serde_json) writes them
 * the same way, which byte-compatible output depends on. */
static void put_string(sk_buf *b, const char *s)
{
    sk_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': sk_buf_puts(b, "\\\""); break;
        case '\\': sk_buf_puts(b, "\\\\"); break;
        case '\n': sk_buf_puts(b, "\\n"); break;
        case '\r': sk_buf_puts(b, "\\r"); break;
        case '\t': sk_buf_puts(b, "\\t"); break;
        default:
            if (*p < 0x20)
                sk_buf_printf(b, "\\u%04x", *p);
            else
                sk_buf_putc(b, (char)*p);
        }
    }
    sk_buf_putc(b, '"');
}

static void newline(sk_json_writer *w)
{
    if (!w->pretty)
        return;
    sk_buf_putc(w->out, '\n');
    for (int i = 0; i < w->depth; i++)
        sk_buf_puts(w->out, "  ");
}

/* Everything before a value: the comma, the line break and the key. */
static void member(sk_json_writer *w, const char *key)
{
    if (w->depth > 0) {
        if (!w->first)
            sk_buf_putc(w->out, ',');
        newline(w);
    }
    w->first = false;
    if (key) {
        put_string(w->out, key);
        sk_buf_puts(w->out, w->pretty ? ": " : ":");
    }
}

static void open_container(sk_json_writer *w, const char *key, char c)
{
    member(w, key);
    sk_buf_putc(w->out, c);
    w->depth++;
    w->first = true;
}

static void close_container(sk_json_writer *w, char c)
{
    if (w->depth > 0)
        w->depth--;
    if (!w->first) /* empty containers stay on one line: {} and [] */
        newline(w);
    sk_buf_putc(w->out, c);
    w->first = false;
    /* Documents end with a line break so files and terminals get a whole
     * last line; both report formats always did. */
    if (w->depth == 0)
        sk_buf_putc(w->out, '\n');
}

void sk_json_object(sk_json_writer *w, const char *key) { open_container(w, key, '{'); }
void sk_json_array(sk_json_writer *w, const char *key) { open_container(w, key, '['); }
void sk_json_end_object(sk_json_writer *w) { close_container(w, '}'); }
void sk_json_end_array(sk_json_writer *w) { close_container(w, ']'); }

void sk_json_str(sk_json_writer *w, const char *key, const char *v)
{
    member(w, key);
    if (v)
        put_string(w->out, v);
    else
        sk_buf_puts(w->out, "null");
}

void sk_json_uint(sk_json_writer *w, const char *key, uint64_t v)
{
    member(w, key);
    sk_buf_dec(w->out, v);
}

void sk_json_int(sk_json_writer *w, const char *key, int64_t v)
{
    member(w, key);
    if (v < 0) {
        sk_buf_putc(w->out, '-');
        sk_buf_dec(w->out, (uint64_t)0 - (uint64_t)v); /* INT64_MIN safe */
    } else {
        sk_buf_dec(w->out, (uint64_t)v);
    }
}

void sk_json_hex(sk_json_writer *w, const char *key, uint64_t v, int digits)
{
    member(w, key);
    sk_buf_printf(w->out, "\"0x%0*llx\"", digits, (unsigned long long)v);
}

void sk_json_fixed(sk_json_writer *w, const char *key, double v, int decimals)
{
    member(w, key);
    if (isfinite(v)) /* JSON has no NaN or infinity */
        sk_buf_printf(w->out, "%.*f", decimals, v);
    else
        sk_buf_puts(w->out, "null");
}

void sk_json_bool(sk_json_writer *w, const char *key, bool v)
{
    member(w, key);
    sk_buf_puts(w->out, v ? "true" : "false");
}

void sk_json_null(sk_json_writer *w, const char *key)
{
    member(w, key);
    sk_buf_puts(w->out, "null");
}

/* ---- reader ------------------------------------------------------------ */

typedef struct parser {
    const char *s;
    size_t len, pos;
    sk_error *err;
} parser;

static int fail(parser *p, const char *what)
{
    return sk_fail(p->err, SK_EFORMAT, "bad JSON at byte %zu: %s", p->pos, what);
}

static bool at(const parser *p, char c)
{
    return p->pos < p->len && p->s[p->pos] == c;
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len &&
           (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\r' || p->s[p->pos] == '\n'))
        p->pos++;
}

static bool literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos >= n && memcmp(p->s + p->pos, word, n) == 0) {
        p->pos += n;
        return true;
    }
    return false;
}

static void put_utf8(sk_buf *b, uint32_t c)
{
    char o[4];
    if (c < 0x80) {
        sk_buf_putc(b, (char)c);
    } else if (c < 0x800) {
        o[0] = (char)(0xc0 | (c >> 6)), o[1] = (char)(0x80 | (c & 0x3f));
        sk_buf_append(b, o, 2);
    } else if (c < 0x10000) {
        o[0] = (char)(0xe0 | (c >> 12)), o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        o[2] = (char)(0x80 | (c & 0x3f));
        sk_buf_append(b, o, 3);
    } else {
        o[0] = (char)(0xf0 | (c >> 18)), o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        o[2] = (char)(0x80 | ((c >> 6) & 0x3f)), o[3] = (char)(0x80 | (c & 0x3f));
        sk_buf_append(b, o, 4);
    }
}

/* Four hex digits after "\u"; false when they are missing or not hex. */
static bool hex4(parser *p, uint32_t *out)
{
    if (p->len - p->pos < 4)
        return false;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p->s[p->pos + i];
        int d = c >= '0' && c <= '9' ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return false;
        v = v * 16 + (uint32_t)d;
    }
    p->pos += 4;
    *out = v;
    return true;
}

/* A \u escape (the "\u" already read), surrogate pairs joined.  Lone
 * surrogates and U+0000 become U+FFFD: results are C strings, and a NUL or
 * half a pair would silently cut or corrupt them. */
static bool unicode_escape(parser *p, sk_buf *b)
{
    uint32_t c;
    if (!hex4(p, &c))
        return false;
    if (c >= 0xd800 && c < 0xdc00 && p->len - p->pos >= 6 && p->s[p->pos] == '\\' &&
        p->s[p->pos + 1] == 'u') {
        size_t save = p->pos;
        uint32_t lo;
        p->pos += 2;
        if (hex4(p, &lo) && lo >= 0xdc00 && lo < 0xe000)
            c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
        else
            p->pos = save; /* not a low half: decode it on its own later */
    }
    if (c == 0 || (c >= 0xd800 && c < 0xe000))
        c = 0xfffd;
    put_utf8(b, c);
    return true;
}

static int string(parser *p, char **out)
{
    p->pos++; /* the opening quote */
    sk_buf b;
    sk_buf_init(&b);
    const char *why = NULL;
    for (;;) {
        if (p->pos >= p->len) {
            why = "unterminated string";
            break;
        }
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"')
            break;
        if (c < 0x20) {
            why = "control character in string";
            break;
        }
        if (c != '\\') {
            sk_buf_putc(&b, (char)c);
            continue;
        }
        if (p->pos >= p->len) {
            why = "unterminated escape";
            break;
        }
        char e = p->s[p->pos++], plain = 0;
        switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u':
            if (!unicode_escape(p, &b))
                why = "bad \\u escape";
            break;
        default: why = "bad escape";
        }
        if (why)
            break;
        if (plain)
            sk_buf_putc(&b, plain);
    }
    if (why) {
        sk_buf_free(&b);
        return fail(p, why);
    }
    *out = b.data ? b.data : sk_xstrdup("");
    return SK_OK;
}

static size_t digits(const parser *p, size_t i)
{
    size_t n = 0;
    while (i + n < p->len && p->s[i + n] >= '0' && p->s[i + n] <= '9')
        n++;
    return n;
}

/* The strict JSON number grammar first, so strtod never sees (and
 * accepts) "0x1", "inf", "+1" or "1.", then a range check: JSON allows
 * 1e999 but no double holds it. */
static int number(parser *p, sk_json_value *v)
{
    size_t i = p->pos;
    if (i < p->len && p->s[i] == '-')
        i++;
    size_t n = digits(p, i);
    if (n == 0 || (n > 1 && p->s[i] == '0'))
        return fail(p, "bad number");
    i += n;
    if (i < p->len && p->s[i] == '.') {
        n = digits(p, ++i);
        if (n == 0)
            return fail(p, "bad number");
        i += n;
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        i++;
        if (i < p->len && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        n = digits(p, i);
        if (n == 0)
            return fail(p, "bad number");
        i += n;
    }
    char buf[64];
    if (i - p->pos >= sizeof buf)
        return fail(p, "number too long");
    memcpy(buf, p->s + p->pos, i - p->pos);
    buf[i - p->pos] = '\0';
    double d = strtod(buf, NULL);
    if (!isfinite(d))
        return fail(p, "number out of range");
    v->type = SK_JSON_NUMBER;
    v->num = d;
    p->pos = i;
    return SK_OK;
}

static int value(parser *p, sk_json_value *v, int depth);

static int container(parser *p, sk_json_value *v, int depth, bool obj)
{
    char close = obj ? '}' : ']';
    p->pos++;
    v->type = obj ? SK_JSON_OBJECT : SK_JSON_ARRAY;
    size_t cap = 0, kcap = 0;
    skip_ws(p);
    if (at(p, close)) {
        p->pos++;
        return SK_OK;
    }
    for (;;) {
        skip_ws(p);
        char *key = NULL;
        if (obj) {
            if (!at(p, '"'))
                return fail(p, "expected a key");
            int rc = string(p, &key);
            if (rc)
                return rc;
            skip_ws(p);
            if (!at(p, ':')) {
                free(key);
                return fail(p, "expected ':'");
            }
            p->pos++;
        }
        /* The slot is added before parsing into it so that a failure deep
         * inside still leaves one tree for sk_json_free to release. */
        sk_grow((void **)&v->items, &cap, v->n + 1, sizeof *v->items);
        if (obj) {
            sk_grow((void **)&v->keys, &kcap, v->n + 1, sizeof *v->keys);
            v->keys[v->n] = key;
        }
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        v->n++;
        int rc = value(p, &v->items[v->n - 1], depth + 1);
        if (rc)
            return rc;
        skip_ws(p);
        if (p->pos >= p->len)
            return fail(p, "unterminated container");
        char c = p->s[p->pos];
        if (c != ',' && c != close)
            return fail(p, "expected ',' or the end of the container");
        p->pos++;
        if (c == close)
            return SK_OK;
    }
}

static int value(parser *p, sk_json_value *v, int depth)
{
    /* Recursion follows the nesting, so the limit is what keeps a
     * "[[[[..." bomb from overflowing the stack.  The document is depth 1. */
    if (depth > SK_JSON_MAX_DEPTH)
        return fail(p, "nested too deeply");
    skip_ws(p);
    if (p->pos >= p->len)
        return fail(p, "unexpected end");
    char c = p->s[p->pos];
    if (c == '{' || c == '[')
        return container(p, v, depth, c == '{');
    if (c == '"') {
        v->type = SK_JSON_STRING;
        return string(p, &v->str);
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return number(p, v);
    if (literal(p, "true")) {
        v->type = SK_JSON_BOOL;
        v->b = true;
        return SK_OK;
    }
    if (literal(p, "false")) {
        v->type = SK_JSON_BOOL;
        return SK_OK;
    }
    if (literal(p, "null"))
        return SK_OK;
    return fail(p, "unexpected character");
}

int sk_json_parse(const char *text, size_t len, sk_json_value *out, sk_error *err)
{
    memset(out, 0, sizeof *out);
    if (!text)
        len = 0;
    parser p = {text, len, 0, err};
    int rc = value(&p, out, 1);
    if (rc == SK_OK) {
        skip_ws(&p);
        if (p.pos != p.len)
            rc = fail(&p, "trailing data");
    }
    if (rc)
        sk_json_free(out);
    return rc;
}

void sk_json_free(sk_json_value *v)
{
    for (size_t i = 0; i < v->n; i++) {
        sk_json_free(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    memset(v, 0, sizeof *v);
}

const sk_json_value *sk_json_get(const sk_json_value *v, const char *key)
{
    if (!v || v->type != SK_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}

double sk_json_get_number(const sk_json_value *v, const char *key, double def)
{
    const sk_json_value *m = sk_json_get(v, key);
    return m && m->type == SK_JSON_NUMBER ? m->num : def;
}

const sk_json_value *sk_json_find(const sk_json_value *v, const char *key)
{
    if (!v)
        return NULL;
    for (size_t i = 0; i < v->n; i++) {
        if (v->type == SK_JSON_OBJECT && strcmp(v->keys[i], key) == 0)
            return &v->items[i];
        const sk_json_value *m = sk_json_find(&v->items[i], key);
        if (m)
            return m;
    }
    return NULL;
}

bool sk_json_u64(const sk_json_value *v, uint64_t *out)
{
    /* From 2^53 on a double no longer holds every integer, so the value
     * read may not be the one written. */
    if (!v || v->type != SK_JSON_NUMBER || !(v->num >= 0 && v->num < 9007199254740992.0))
        return false;
    uint64_t u = (uint64_t)v->num;
    if ((double)u != v->num) /* a fraction */
        return false;
    *out = u;
    return true;
}
