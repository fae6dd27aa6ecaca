/*
 * --expect: named call chains a crashing thread must contain.  The file
 * holds chains separated by blank lines, one frame per line as
 * module!function (glob patterns; "*" matches anything), innermost frame
 * first, optionally opened by "dump: NAME" to bind the chain to one dump.
 * A chain passes when it appears as consecutive frames (inlined calls count
 * as frames) anywhere in the crashing thread.
 */
#ifndef SYMKIT_VERIFY_EXPECT_H
#define SYMKIT_VERIFY_EXPECT_H

#include "stackwalk.h"
#include "verify.h"

typedef struct sv_expect sv_expect;

int sv_expect_load(const char *path, sv_expect **out, sk_error *err);
int sv_expect_parse(const char *name, const char *text, size_t len, sv_expect **out, sk_error *err);
/* Checks the chains that apply to this dump, appending to dm->chains. */
void sv_expect_apply(sv_expect *e, const sw_report *r, sv_dump_metrics *dm);
/* The dump name of a bound chain that no dump matched, or NULL. */
const char *sv_expect_unmatched(const sv_expect *e);
void sv_expect_free(sv_expect *e);

#endif
