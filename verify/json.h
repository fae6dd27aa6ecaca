/*
 * A tiny JSON emitter for symverify's machine-readable reports: enough to
 * write objects, arrays, strings and numbers with correct escaping and
 * commas, into an sk_buf.  Reading JSON (baselines) lives in json_read.c.
 */
#ifndef SYMKIT_VERIFY_JSON_H
#define SYMKIT_VERIFY_JSON_H

#include "common.h"

typedef struct sv_json {
    sk_buf *out;
    int depth;
    bool first[64]; /* no comma needed yet at this depth */
} sv_json;

void sv_json_init(sv_json *j, sk_buf *out);
/* key is NULL inside arrays and at the top level */
void sv_json_object(sv_json *j, const char *key);
void sv_json_array(sv_json *j, const char *key);
void sv_json_end(sv_json *j, char close); /* '}' or ']' */
void sv_json_str(sv_json *j, const char *key, const char *v); /* NULL -> null */
void sv_json_uint(sv_json *j, const char *key, uint64_t v);
void sv_json_num(sv_json *j, const char *key, double v);
void sv_json_bool(sv_json *j, const char *key, bool v);

#endif
