/*
 * symverify's names for the common JSON reader (common/json.c), which reads
 * --baseline reports back: strict, bounds-checked, depth-limited.
 */
#ifndef SYMKIT_VERIFY_JSON_READ_H
#define SYMKIT_VERIFY_JSON_READ_H

#include "common.h"

typedef sk_json_type sv_jtype;
#define SVJ_NULL SK_JSON_NULL
#define SVJ_BOOL SK_JSON_BOOL
#define SVJ_NUM SK_JSON_NUMBER
#define SVJ_STR SK_JSON_STRING
#define SVJ_ARR SK_JSON_ARRAY
#define SVJ_OBJ SK_JSON_OBJECT

typedef sk_json_value sv_jval;

static inline int sv_jparse(const char *text, size_t len, sv_jval *out, sk_error *err)
{
    return sk_json_parse(text, len, out, err);
}
static inline void sv_jfree(sv_jval *v) { sk_json_free(v); }
/* Member of an object (NULL when absent or v is not an object). */
static inline const sv_jval *sv_jget(const sv_jval *v, const char *key) { return sk_json_get(v, key); }
/* A number member, or def. */
static inline double sv_jnum(const sv_jval *v, const char *key, double def)
{
    return sk_json_get_number(v, key, def);
}

#endif
