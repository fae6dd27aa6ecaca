/*
 * retry.c — when and whether to try a failed post again.  Kept free of
 * curl so the policy can be unit-tested with fixed inputs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "su_internal.h"

double su_backoff_delay(double base, unsigned attempt, double r)
{
    if (base <= 0)
        return 0;
    if (attempt < 1)
        attempt = 1;
    double cap = base > SU_BACKOFF_CAP ? base : SU_BACKOFF_CAP;
    double d = base;
    /* Multiply step by step so a huge attempt count cannot overflow. */
    for (unsigned i = 1; i < attempt && d < cap; i++)
        d *= 1.5;
    if (d > cap)
        d = cap;
    if (r < 0)
        r = 0;
    if (r >= 1)
        r = 0.999999;
    return d * (0.5 + 0.5 * r);
}

bool su_status_retryable(long status)
{
    switch (status) {
    case 408: case 429: case 500: case 502: case 503: case 504:
        return true;
    default:
        return false;
    }
}

static bool parse_http_date(const char *s, time_t *out)
{
    /* IMF-fixdate is the form servers must send; the two obsolete forms
     * are rare enough that falling back to backoff is fine. */
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *end = strptime(s, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (!end)
        return false;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return false;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    *out = t;
    return true;
}

bool su_parse_retry_after(const char *value, time_t now, double *seconds)
{
    if (!value)
        return false;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t n = strlen(value);
    while (n > 0 && isspace((unsigned char)value[n - 1]))
        n--;
    if (n == 0)
        return false;
    uint64_t v;
    if (isdigit((unsigned char)value[0])) {
        if (!sk_parse_dec(value, n, &v)) {
            /* All digits but too long to fit: effectively forever. */
            for (size_t i = 0; i < n; i++)
                if (!isdigit((unsigned char)value[i]))
                    return false;
            v = UINT64_MAX;
        }
        *seconds = v > SU_RETRY_AFTER_CAP ? SU_RETRY_AFTER_CAP : (double)v;
        return true;
    }
    char buf[64];
    if (n >= sizeof buf)
        return false;
    memcpy(buf, value, n);
    buf[n] = '\0';
    time_t t;
    if (!parse_http_date(buf, &t))
        return false;
    double d = difftime(t, now);
    if (d < 0)
        d = 0;
    if (d > SU_RETRY_AFTER_CAP)
        d = SU_RETRY_AFTER_CAP;
    *seconds = d;
    return true;
}

double su_random_unit(void)
{
    /* Jitter needs spread, not secrecy: seed once from time and pid. */
    static __thread unsigned short state[3];
    static __thread bool seeded;
    if (!seeded) {
        uint64_t s = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 16);
        state[0] = (unsigned short)s;
        state[1] = (unsigned short)(s >> 16);
        state[2] = (unsigned short)(s >> 32 ^ 0x330e);
        seeded = true;
    }
    return erand48(state);
}
