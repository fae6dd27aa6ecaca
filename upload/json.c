/*
 * json.c — just enough JSON to read Tecken's replies: the "error" message
 * of a refusal and the "skipped_keys" of an accepted upload.  The reply is
 * untrusted input: every read is bounds-checked and malformed text simply
 * yields "not found".
 */
#include <string.h>

#include "su_internal.h"

typedef struct cursor {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Reads a string starting at the opening quote into out (when non-NULL).
 * Non-ASCII \u escapes become '?': keys and messages we care about are
 * ASCII, and this keeps the decoder tiny. */
static bool read_string(cursor *c, sk_buf *out)
{
    if (c->p >= c->end || *c->p != '"')
        return false;
    c->p++;
    while (c->p < c->end) {
        char ch = *c->p++;
        if (ch == '"')
            return true;
        if (ch != '\\') {
            if (out)
                sk_buf_putc(out, ch);
            continue;
        }
        if (c->p >= c->end)
            return false;
        char e = *c->p++;
        char dec;
        switch (e) {
        case '"': dec = '"'; break;
        case '\\': dec = '\\'; break;
        case '/': dec = '/'; break;
        case 'b': dec = '\b'; break;
        case 'f': dec = '\f'; break;
        case 'n': dec = '\n'; break;
        case 'r': dec = '\r'; break;
        case 't': dec = '\t'; break;
        case 'u': {
            if (c->end - c->p < 4)
                return false;
            int v = 0;
            for (int i = 0; i < 4; i++) {
                int h = hexval(c->p[i]);
                if (h < 0)
                    return false;
                v = v * 16 + h;
            }
            c->p += 4;
            dec = (v >= 0x20 && v < 0x7f) ? (char)v : '?';
            break;
        }
        default:
            return false;
        }
        if (out)
            sk_buf_putc(out, dec);
    }
    return false;
}

/* Moves c just past the ':' after the first member named `name` (at any
 * depth).  Strings are skipped as units so a name inside a value never
 * matches. */
static bool find_member(cursor *c, const char *name)
{
    sk_buf s;
    sk_buf_init(&s);
    bool found = false;
    while (c->p < c->end) {
        if (*c->p != '"') {
            c->p++;
            continue;
        }
        sk_buf_reset(&s);
        if (!read_string(c, &s))
            break;
        cursor after = *c;
        skip_ws(&after);
        if (after.p < after.end && *after.p == ':' && s.len == strlen(name) &&
            (s.len == 0 || memcmp(s.data, name, s.len) == 0)) {
            c->p = after.p + 1;
            found = true;
            break;
        }
    }
    sk_buf_free(&s);
    return found;
}

char *su_json_error(const char *json, size_t len)
{
    if (!json)
        return NULL;
    cursor c = {json, json + len};
    if (!find_member(&c, "error"))
        return NULL;
    skip_ws(&c);
    sk_buf s;
    sk_buf_init(&s);
    if (!read_string(&c, &s)) {
        sk_buf_free(&s);
        return NULL;
    }
    char *r = sk_xstrndup(s.len ? s.data : "", s.len);
    sk_buf_free(&s);
    return r;
}

int su_json_skipped_keys(const char *json, size_t len, void (*fn)(const char *key, void *ctx),
                         void *ctx)
{
    if (!json)
        return -1;
    cursor c = {json, json + len};
    if (!find_member(&c, "skipped_keys"))
        return 0;
    skip_ws(&c);
    if (c.p < c.end && c.p + 4 <= c.end && memcmp(c.p, "null", 4) == 0)
        return 0;
    if (c.p >= c.end || *c.p != '[')
        return -1;
    c.p++;
    int count = 0;
    sk_buf s;
    sk_buf_init(&s);
    for (;;) {
        skip_ws(&c);
        if (c.p >= c.end)
            goto bad;
        if (*c.p == ']')
            break;
        if (count > 0) {
            if (*c.p != ',')
                goto bad;
            c.p++;
            skip_ws(&c);
        }
        sk_buf_reset(&s);
        if (!read_string(&c, &s))
            goto bad;
        if (fn)
            fn(s.len ? s.data : "", ctx);
        count++;
    }
    sk_buf_free(&s);
    return count;
bad:
    sk_buf_free(&s);
    return -1;
}

bool su_json_has_member(const char *json, size_t len, const char *name)
{
    if (!json)
        return false;
    cursor c = {json, json + len};
    return find_member(&c, name);
}
