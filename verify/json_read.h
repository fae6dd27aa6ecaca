/*
 * A small, strict JSON reader for symverify --baseline: reads an earlier
 * report back into a tree.  Bounded depth, every read checked; hostile input
 * gives an error naming the byte offset, never a crash.
 */
#ifndef SYMKIT_VERIFY_JSON_READ_H
#define SYMKIT_VERIFY_JSON_READ_H

#include "common.h"

typedef enum sv_jtype { SVJ_NULL, SVJ_BOOL, SVJ_NUM, SVJ_STR, SVJ_ARR, SVJ_OBJ } sv_jtype;

typedef struct sv_jval {
    sv_jtype type;
    bool b;
    double num;
    char *str;              /* SVJ_STR */
    struct sv_jval *items;  /* SVJ_ARR and SVJ_OBJ values */
    char **keys;            /* SVJ_OBJ keys */
    size_t n;
} sv_jval;

int sv_jparse(const char *text, size_t len, sv_jval *out, sk_error *err);
void sv_jfree(sv_jval *v);
/* Member of an object (NULL when absent or v is not an object). */
const sv_jval *sv_jget(const sv_jval *v, const char *key);
/* A number member, or def. */
double sv_jnum(const sv_jval *v, const char *key, double def);

#endif
