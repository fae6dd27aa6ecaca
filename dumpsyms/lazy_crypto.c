/* lazy_crypto.c — OpenSSL's libcrypto for the dumpsyms tool, loaded when
 * first called.  dumpsyms needs it for one thing, the MD5 that stands in
 * for a missing LC_UUID of a Mach-O file (macho/macho_object.c), yet
 * linking it costs every start 2.6M instructions of relocation, a quarter
 * of a whole small dump (see sk_dynlib in common.h).  Only the dumpsyms
 * executable links these stubs: stackwalk and symverify use the dumpsyms
 * library too, but link libcrypto anyway (libcurl, S3 signing), so they
 * get the real functions. */
/* common.h first: OpenSSL's headers #define sk_sort, one of ours. */
#include "common.h"

#include <openssl/evp.h>

static sk_dynlib crypto_lib = SK_DYNLIB_INIT(DS_LIBCRYPTO_SONAME, "the MD5 of a Mach-O file without LC_UUID");

SK_DYNLIB_STUB(crypto_lib, const EVP_MD *, EVP_md5, (void), ())
SK_DYNLIB_STUB(crypto_lib, int, EVP_Digest,
               (const void *data, size_t n, unsigned char *md, unsigned int *size, const EVP_MD *type,
                ENGINE *impl),
               (data, n, md, size, type, impl))
