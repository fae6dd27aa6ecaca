/* The JSON reader behind --baseline (see json_read.h). */
#include "json_read.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct jp {
    const char *s;
    size_t len, pos;
    sk_error *err;
} jp;

static int fail(jp *p, const char *what)
{
    return sk_fail(p->err, SK_EFORMAT, "bad JSON at byte %zu: %s", p->pos, what);
}

static void ws(jp *p)
{
    while (p->pos < p->len && strchr(" \t\r\n", p->s[p->pos]) && p->s[p->pos])
        p->pos++;
}

static bool lit(jp *p, const char *w)
{
    size_t n = strlen(w);
    if (p->len - p->pos >= n && memcmp(p->s + p->pos, w, n) == 0) {
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

static int string(jp *p, char **out)
{
    p->pos++; /* the opening quote */
    sk_buf b;
    sk_buf_init(&b);
    for (;;) {
        if (p->pos >= p->len) {
            sk_buf_free(&b);
            return fail(p, "unterminated string");
        }
        unsigned char c = (unsigned char)p->s[p->pos++];
        if (c == '"')
            break;
        if (c < 0x20) {
            sk_buf_free(&b);
            return fail(p, "control character in string");
        }
        if (c != '\\') {
            sk_buf_putc(&b, (char)c);
            continue;
        }
        if (p->pos >= p->len) {
            sk_buf_free(&b);
            return fail(p, "unterminated escape");
        }
        char e = p->s[p->pos++];
        char plain = 0;
        switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': break;
        default:
            sk_buf_free(&b);
            return fail(p, "bad escape");
        }
        if (plain) {
            sk_buf_putc(&b, plain);
            continue;
        }
        uint64_t v;
        if (p->len - p->pos < 4 || !sk_parse_hex(p->s + p->pos, 4, &v)) {
            sk_buf_free(&b);
            return fail(p, "bad \\u escape");
        }
        p->pos += 4;
        put_utf8(&b, (uint32_t)v);
    }
    *out = b.data ? b.data : sk_xstrdup("");
    return SK_OK;
}

static int value(jp *p, sv_jval *v, int depth);

static int container(jp *p, sv_jval *v, int depth, bool obj)
{
    p->pos++;
    v->type = obj ? SVJ_OBJ : SVJ_ARR;
    size_t cap = 0, kcap = 0;
    ws(p);
    if (p->pos < p->len && p->s[p->pos] == (obj ? '}' : ']')) {
        p->pos++;
        return SK_OK;
    }
    for (;;) {
        ws(p);
        char *key = NULL;
        if (obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"')
                return fail(p, "expected a key");
            int rc = string(p, &key);
            if (rc)
                return rc;
            ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') {
                free(key);
                return fail(p, "expected ':'");
            }
            p->pos++;
        }
        sk_grow((void **)&v->items, &cap, v->n + 1, sizeof *v->items);
        if (obj)
            sk_grow((void **)&v->keys, &kcap, v->n + 1, sizeof *v->keys);
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        if (obj)
            v->keys[v->n] = key;
        v->n++;
        int rc = value(p, &v->items[v->n - 1], depth + 1);
        if (rc)
            return rc;
        ws(p);
        if (p->pos >= p->len)
            return fail(p, "unterminated container");
        char c = p->s[p->pos++];
        if (c == ',')
            continue;
        if (c == (obj ? '}' : ']'))
            return SK_OK;
        p->pos--;
        return fail(p, "expected ',' or the end of the container");
    }
}

static int value(jp *p, sv_jval *v, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(p, "nested too deeply");
    ws(p);
    if (p->pos >= p->len)
        return fail(p, "unexpected end");
    char c = p->s[p->pos];
    if (c == '{' || c == '[')
        return container(p, v, depth, c == '{');
    if (c == '"') {
        v->type = SVJ_STR;
        return string(p, &v->str);
    }
    if (lit(p, "true")) {
        v->type = SVJ_BOOL, v->b = true;
        return SK_OK;
    }
    if (lit(p, "false")) {
        v->type = SVJ_BOOL;
        return SK_OK;
    }
    if (lit(p, "null"))
        return SK_OK;
    if (c == '-' || (c >= '0' && c <= '9')) {
        char buf[64];
        size_t n = 0;
        while (p->pos + n < p->len && n < sizeof buf - 1 && strchr("+-0123456789.eE", p->s[p->pos + n]) &&
               p->s[p->pos + n])
            n++;
        memcpy(buf, p->s + p->pos, n);
        buf[n] = 0;
        char *end;
        v->num = strtod(buf, &end);
        if (end != buf + n || n == 0)
            return fail(p, "bad number");
        v->type = SVJ_NUM;
        p->pos += n;
        return SK_OK;
    }
    return fail(p, "unexpected character");
}

int sv_jparse(const char *text, size_t len, sv_jval *out, sk_error *err)
{
    memset(out, 0, sizeof *out);
    jp p = {text, len, 0, err};
    int rc = value(&p, out, 0);
    if (rc == SK_OK) {
        ws(&p);
        if (p.pos != p.len)
            rc = fail(&p, "trailing data");
    }
    if (rc)
        sv_jfree(out);
    return rc;
}

void sv_jfree(sv_jval *v)
{
    for (size_t i = 0; i < v->n; i++) {
        sv_jfree(&v->items[i]);
        if (v->keys)
            free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    free(v->str);
    memset(v, 0, sizeof *v);
}

const sv_jval *sv_jget(const sv_jval *v, const char *key)
{
    if (!v || v->type != SVJ_OBJ)
        return NULL;
    for (size_t i = 0; i < v->n; i++)
        if (strcmp(v->keys[i], key) == 0)
            return &v->items[i];
    return NULL;
}

double sv_jnum(const sv_jval *v, const char *key, double def)
{
    const sv_jval *m = sv_jget(v, key);
    return m && m->type == SVJ_NUM ? m->num : def;
}
