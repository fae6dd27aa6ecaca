/* lazy_debuginfod.c — elfutils' debuginfod client, loaded when a
 * debuginfod server is first asked rather than at every start: it links
 * libcurl with GnuTLS, Kerberos and LDAP, which cost a dump of one small
 * ELF file more than the dump itself (see sk_dynlib in common.h).  One stub
 * per function debuginfod.c calls; nothing links -ldebuginfod. */
#include <elfutils/debuginfod.h>

#include "common.h"

static sk_dynlib debuginfod_lib = SK_DYNLIB_INIT(DS_LIBDEBUGINFOD_SONAME, "asking a debuginfod server");

SK_DYNLIB_STUB(debuginfod_lib, debuginfod_client *, debuginfod_begin, (void), ())
SK_DYNLIB_STUB_VOID(debuginfod_lib, debuginfod_end, (debuginfod_client *c), (c))
SK_DYNLIB_STUB(debuginfod_lib, int, debuginfod_find_debuginfo,
               (debuginfod_client *c, const unsigned char *id, int n, char **path), (c, id, n, path))
SK_DYNLIB_STUB(debuginfod_lib, int, debuginfod_find_executable,
               (debuginfod_client *c, const unsigned char *id, int n, char **path), (c, id, n, path))
SK_DYNLIB_STUB(debuginfod_lib, const char *, debuginfod_get_url, (debuginfod_client *c), (c))
SK_DYNLIB_STUB(debuginfod_lib, void *, debuginfod_get_user_data, (debuginfod_client *c), (c))
SK_DYNLIB_STUB_VOID(debuginfod_lib, debuginfod_set_user_data, (debuginfod_client *c, void *v), (c, v))
SK_DYNLIB_STUB_VOID(debuginfod_lib, debuginfod_set_progressfn, (debuginfod_client *c, debuginfod_progressfn_t fn),
                    (c, fn))
