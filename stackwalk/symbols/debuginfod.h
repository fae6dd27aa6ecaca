/*
 * debuginfod.h — internal: the last symbol supplier, a .sym made on demand
 * from the debug file and executable a debuginfod server has for the
 * module's ELF build-id (see debuginfod.c).  Off unless
 * sw_options.debuginfod is set.
 */
#ifndef SYMKIT_STACKWALK_DEBUGINFOD_H
#define SYMKIT_STACKWALK_DEBUGINFOD_H

#include "minidump.h"
#include "symfile.h"

typedef struct sw_debuginfod sw_debuginfod;

/* NULL when opt does not turn debuginfod on.  Nothing is set up (no
 * environment, no directory) before the first module that needs it. */
sw_debuginfod *sw_debuginfod_new(const sw_options *opt);
void sw_debuginfod_free(sw_debuginfod *d);

/* m's symbols made from what the servers have for its build-id, written
 * to the symbols cache when there is one (*path: that file) and indexed;
 * *url: the debuginfod URL they came from.  NULL (after a warning naming
 * the module and the problem) when that fails; silently NULL for a module
 * without an ELF build-id.  Strings live in a. */
sym_index *sw_debuginfod_find(sw_debuginfod *d, const md_module *m, sk_arena *a, const char **url,
                              const char **path);

#endif
