/* errors.c — sk_error: how failures travel from the libraries to the tools. */
#include "common.h"

#include <string.h>

int sk_fail(sk_error *err, sk_status code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return (int)code;
}

void sk_error_prefix(sk_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Build "prefix: old" by hand: truncation of an overlong message is fine. */
    char old[sizeof err->msg];
    memcpy(old, err->msg, sizeof old);
    size_t n = strlen(prefix);
    if (n > sizeof err->msg - 3)
        n = sizeof err->msg - 3;
    memcpy(err->msg, prefix, n);
    err->msg[n] = ':';
    err->msg[n + 1] = ' ';
    size_t room = sizeof err->msg - n - 3;
    size_t ol = strnlen(old, sizeof old);
    if (ol > room)
        ol = room;
    memcpy(err->msg + n + 2, old, ol);
    err->msg[n + 2 + ol] = '\0';
}

void sk_error_clear(sk_error *err)
{
    if (err) {
        err->code = SK_OK;
        err->msg[0] = '\0';
    }
}

const char *sk_status_name(sk_status code)
{
    switch (code) {
    case SK_OK: return "ok";
    case SK_EIO: return "I/O error";
    case SK_EFORMAT: return "bad format";
    case SK_ENOMEM: return "out of memory";
    case SK_EUSAGE: return "usage error";
    case SK_ENOTFOUND: return "not found";
    case SK_EMISMATCH: return "mismatch";
    case SK_ENET: return "network error";
    case SK_EUNSUPPORTED: return "unsupported";
    }
    return "unknown error";
}
