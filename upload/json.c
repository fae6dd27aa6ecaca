/*
 * json.c — what symupload needs from Tecken's replies: the "error" message
 * of a refusal and the "skipped_keys" of an accepted upload, read with the
 * common JSON reader.  The reply is untrusted: anything that is not a whole
 * JSON document simply yields "not found".
 */
#include <stdlib.h>
#include <string.h>

#include "su_internal.h"

static bool parse(const char *json, size_t len, sk_json_value *root)
{
    if (!json)
        return false;
    sk_error err;
    sk_error_clear(&err);
    return sk_json_parse(json, len, root, &err) == SK_OK;
}

bool su_json_has_member(const char *json, size_t len, const char *name)
{
    sk_json_value root;
    if (!parse(json, len, &root))
        return false;
    bool found = sk_json_find(&root, name) != NULL;
    sk_json_free(&root);
    return found;
}

/* The message ends up on a terminal and in logs: anything beyond printable
 * ASCII (one '?' per UTF-8 character) is replaced so a hostile server can't
 * send escape sequences; line breaks and tabs stay. */
static char *printable(const char *s)
{
    sk_buf b;
    sk_buf_init(&b);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 0x20 && *p < 0x7f) || *p == '\n' || *p == '\t' || *p == '\r')
            sk_buf_putc(&b, (char)*p);
        else if ((*p & 0xc0) != 0x80) /* not a UTF-8 continuation byte */
            sk_buf_putc(&b, '?');
    }
    char *r = sk_xstrndup(b.len ? b.data : "", b.len);
    sk_buf_free(&b);
    return r;
}

char *su_json_error(const char *json, size_t len)
{
    sk_json_value root;
    if (!parse(json, len, &root))
        return NULL;
    const sk_json_value *e = sk_json_find(&root, "error");
    char *r = e && e->type == SK_JSON_STRING ? printable(e->str) : NULL;
    sk_json_free(&root);
    return r;
}

int su_json_skipped_keys(const char *json, size_t len, void (*fn)(const char *key, void *ctx),
                         void *ctx)
{
    sk_json_value root;
    if (!parse(json, len, &root))
        return -1;
    const sk_json_value *a = sk_json_find(&root, "skipped_keys");
    int count = 0;
    if (a && a->type == SK_JSON_ARRAY) {
        for (size_t i = 0; i < a->n && count >= 0; i++)
            if (a->items[i].type != SK_JSON_STRING)
                count = -1;
        for (size_t i = 0; i < a->n && count >= 0; i++, count++)
            if (fn)
                fn(a->items[i].str, ctx);
    } else if (a && a->type != SK_JSON_NULL) {
        count = -1;
    }
    sk_json_free(&root);
    return count;
}
