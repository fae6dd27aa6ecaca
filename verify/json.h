/*
 * symverify's names for the common JSON writer (common/json.c): reports are
 * always pretty-printed, and sv_json_end takes the closing character the
 * way the callers read best.
 */
#ifndef SYMKIT_VERIFY_JSON_H
#define SYMKIT_VERIFY_JSON_H

#include "common.h"
#include "verify.h"

typedef sk_json_writer sv_json;

static inline void sv_json_init(sv_json *j, sk_buf *out) { sk_json_writer_init(j, out, true); }
/* key is NULL inside arrays and at the top level */
static inline void sv_json_object(sv_json *j, const char *key) { sk_json_object(j, key); }
static inline void sv_json_array(sv_json *j, const char *key) { sk_json_array(j, key); }
static inline void sv_json_end(sv_json *j, char close) /* '}' or ']' */
{
    if (close == '}')
        sk_json_end_object(j);
    else
        sk_json_end_array(j);
}
static inline void sv_json_str(sv_json *j, const char *key, const char *v) { sk_json_str(j, key, v); }
static inline void sv_json_uint(sv_json *j, const char *key, uint64_t v) { sk_json_uint(j, key, v); }
/* Shares and coverages: four decimals are plenty and keep diffs stable. */
static inline void sv_json_num(sv_json *j, const char *key, double v) { sk_json_fixed(j, key, v, 4); }
static inline void sv_json_bool(sv_json *j, const char *key, bool v) { sk_json_bool(j, key, v); }
/* A list of names as a JSON array under key. */
static inline void sv_json_names(sv_json *j, const char *key, const sv_names *l)
{
    sv_json_array(j, key);
    for (size_t i = 0; i < l->n; i++)
        sv_json_str(j, NULL, l->v[i]);
    sv_json_end(j, ']');
}

#endif
