/* The JSON emitter behind symverify --json (see json.h). */
#include "json.h"

#include <math.h>
#include <string.h>

void sv_json_init(sv_json *j, sk_buf *out)
{
    memset(j, 0, sizeof *j);
    j->out = out;
    j->first[0] = true;
}

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
            if (*p < 0x20 || *p == 0x7f)
                sk_buf_printf(b, "\\u%04x", *p);
            else
                sk_buf_putc(b, (char)*p);
        }
    }
    sk_buf_putc(b, '"');
}

static void member(sv_json *j, const char *key)
{
    if (!j->first[j->depth])
        sk_buf_putc(j->out, ',');
    j->first[j->depth] = false;
    if (j->depth > 0) {
        sk_buf_putc(j->out, '\n');
        for (int i = 0; i < j->depth; i++)
            sk_buf_puts(j->out, "  ");
    }
    if (key) {
        put_string(j->out, key);
        sk_buf_puts(j->out, ": ");
    }
}

static void open_container(sv_json *j, const char *key, char c)
{
    member(j, key);
    sk_buf_putc(j->out, c);
    if (j->depth < 63)
        j->depth++;
    j->first[j->depth] = true;
}

void sv_json_object(sv_json *j, const char *key) { open_container(j, key, '{'); }
void sv_json_array(sv_json *j, const char *key) { open_container(j, key, '['); }

void sv_json_end(sv_json *j, char close)
{
    bool empty = j->first[j->depth];
    if (j->depth > 0)
        j->depth--;
    if (!empty) {
        sk_buf_putc(j->out, '\n');
        for (int i = 0; i < j->depth; i++)
            sk_buf_puts(j->out, "  ");
    }
    sk_buf_putc(j->out, close);
    if (j->depth == 0)
        sk_buf_putc(j->out, '\n');
}

void sv_json_str(sv_json *j, const char *key, const char *v)
{
    member(j, key);
    if (v)
        put_string(j->out, v);
    else
        sk_buf_puts(j->out, "null");
}

void sv_json_uint(sv_json *j, const char *key, uint64_t v)
{
    member(j, key);
    sk_buf_dec(j->out, v);
}

void sv_json_num(sv_json *j, const char *key, double v)
{
    member(j, key);
    if (isfinite(v))
        sk_buf_printf(j->out, "%.4f", v);
    else
        sk_buf_puts(j->out, "null");
}

void sv_json_bool(sv_json *j, const char *key, bool v)
{
    member(j, key);
    sk_buf_puts(j->out, v ? "true" : "false");
}
