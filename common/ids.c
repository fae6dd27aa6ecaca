/* ids.c — Breakpad debug ids and code ids, and symbol-store keys.
 * The rules (GUID byte swap, age digit, .text hash fallback) are in
 * shared reference.md section 2 and docs/sym-format.md. */
#include "common.h"

#include <ctype.h>
#include <strings.h>
#include <string.h>

void sk_hex_upper(const uint8_t *bytes, size_t n, char *out)
{
    static const char digits[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[bytes[i] >> 4];
        out[2 * i + 1] = digits[bytes[i] & 15];
    }
    out[2 * n] = '\0';
}

static void guid_text(uint8_t g[16], bool little_endian, char out[34])
{
    if (little_endian) {
        /* Breakpad reads the first three GUID fields as little-endian
         * integers; a big-endian file keeps its byte order. */
        uint8_t t;
        t = g[0]; g[0] = g[3]; g[3] = t;
        t = g[1]; g[1] = g[2]; g[2] = t;
        t = g[4]; g[4] = g[5]; g[5] = t;
        t = g[6]; g[6] = g[7]; g[7] = t;
    }
    sk_hex_upper(g, 16, out);
    out[32] = '0';
    out[33] = '\0';
}

void sk_debug_id_from_build_id(const uint8_t *id, size_t n, bool little_endian, char out[34])
{
    uint8_t g[16] = {0};
    memcpy(g, id, n < 16 ? n : 16);
    guid_text(g, little_endian, out);
}

static void text_hash(const uint8_t *text, size_t n, uint8_t g[16])
{
    memset(g, 0, 16);
    size_t limit = n < 4096 ? n : 4096;
    for (size_t i = 0; i < limit; i++)
        g[i % 16] ^= text[i];
}

void sk_debug_id_from_text(const uint8_t *text, size_t n, bool little_endian, char out[34])
{
    uint8_t g[16];
    text_hash(text, n, g);
    guid_text(g, little_endian, out);
}

void sk_code_id_from_text(const uint8_t *text, size_t n, char out[33])
{
    uint8_t g[16];
    text_hash(text, n, g);
    sk_hex_upper(g, 16, out);
}

bool sk_is_debug_id(const char *s)
{
    if (!s || strlen(s) != SK_DEBUG_ID_LEN)
        return false;
    for (size_t i = 0; i < SK_DEBUG_ID_LEN; i++)
        if (!(isdigit((unsigned char)s[i]) || (s[i] >= 'A' && s[i] <= 'F')))
            return false;
    return true;
}

bool sk_is_safe_path_component(const char *s)
{
    if (!s || !*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/')
            return false;
    return true;
}

bool sk_is_safe_key_component(const char *s)
{
    if (!sk_is_safe_path_component(s))
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x7f)
            return false;
        if (strchr("\\^`><{}[]#%\"'|", *p))
            return false;
    }
    return true;
}

char *sk_store_key(const char *debug_file, const char *debug_id, sk_error *err)
{
    if (!sk_is_safe_path_component(debug_file)) {
        sk_fail(err, SK_EFORMAT, "debug file name '%s' cannot be a symbol store path component",
                debug_file ? debug_file : "");
        return NULL;
    }
    if (!sk_is_debug_id(debug_id)) {
        sk_fail(err, SK_EFORMAT, "'%s' is not a debug id (33 upper-case hex digits)",
                debug_id ? debug_id : "");
        return NULL;
    }
    size_t n = strlen(debug_file);
    size_t stem = n;
    if (n > 4 && strcasecmp(debug_file + n - 4, ".pdb") == 0)
        stem = n - 4;
    size_t cap = n + 1 + SK_DEBUG_ID_LEN + 1 + stem + 5;
    char *key = sk_xmalloc(cap);
    snprintf(key, cap, "%s/%s/%.*s.sym", debug_file, debug_id, (int)stem, debug_file);
    return key;
}
