/*
 * s3_source.c — symbols from an S3-compatible bucket (see s3_source.h).
 *
 * The URL rules are those of symupload --s3 (upload/s3_util.c): path-style
 * ENDPOINT/BUCKET/KEY with a custom endpoint, virtual-host BUCKET.s3.REGION.
 * amazonaws.com on AWS, either forced by s3_addressing.  They are repeated
 * here in a few lines because stackwalk does not depend on the upload
 * module.  Redirects are not followed: a signed request must not be sent
 * elsewhere.
 */
#include "s3_source.h"

#include <stdlib.h>
#include <string.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

bool sw_s3_is_url(const char *url)
{
    return url && strncmp(url, "s3://", 5) == 0;
}

static const char *env_or(const char *v, const char *name)
{
    if (v && *v)
        return v;
    const char *e = getenv(name);
    return e && *e ? e : NULL;
}

typedef struct body_ctx {
    sk_buf *b;
    size_t max;
} body_ctx;

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    body_ctx *bc = ctx;
    size_t len = size * n;
    if (bc->b->len + len > bc->max)
        return 0; /* aborts the transfer */
    sk_buf_append(bc->b, p, len);
    return len;
}

/* The text of <Code>…</Code> in an S3 error reply, or "" (copied into out). */
static void error_code(const sk_buf *b, char *out, size_t cap)
{
    out[0] = '\0';
    if (!b->data || b->len < 13)
        return;
    const char *end = b->data + b->len;
    for (const char *p = b->data; p + 6 <= end; p++) {
        if (memcmp(p, "<Code>", 6) != 0)
            continue;
        const char *s = p + 6, *e = s;
        while (e < end && *e != '<' && (size_t)(e - s) + 1 < cap)
            e++;
        if (e >= end || *e != '<')
            return;
        memcpy(out, s, (size_t)(e - s));
        out[e - s] = '\0';
        for (char *c = out; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
                *c = '?';
        return;
    }
}

/* Builds the HTTP URL of PREFIX/key in the bucket; NULL (logged) when the
 * s3:// URL or the endpoint is unusable. */
static char *object_url(CURL *c, const sw_options *opt, const char *s3_url, const char *key,
                        const char *region)
{
    const char *b = s3_url + 5;
    size_t bl = strcspn(b, "/");
    for (size_t i = 0; i < bl; i++) {
        char ch = b[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '.' || ch == '_'))
            bl = 0;
    }
    if (bl == 0) {
        sk_log(SK_LOG_WARN, "%s: not an s3://BUCKET[/PREFIX] URL", s3_url);
        return NULL;
    }
    const char *endpoint = env_or(opt->s3_endpoint, "AWS_ENDPOINT_URL");
    const char *mode = opt->s3_addressing ? opt->s3_addressing : "auto";
    bool path_style = strcmp(mode, "path") == 0 ||
                      (strcmp(mode, "virtual") != 0 && (endpoint || memchr(b, '.', bl)));
    sk_buf u;
    sk_buf_init(&u);
    if (!endpoint) {
        if (path_style)
            sk_buf_printf(&u, "https://s3.%s.amazonaws.com/%.*s", region, (int)bl, b);
        else
            sk_buf_printf(&u, "https://%.*s.s3.%s.amazonaws.com", (int)bl, b, region);
    } else {
        const char *sep = strstr(endpoint, "://");
        const char *host = sep ? sep + 3 : NULL;
        size_t hl = host ? strcspn(host, "/?#@") : 0;
        if (!host || hl == 0 || (host[hl] && host[hl] != '/') ||
            (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)) {
            sk_log(SK_LOG_WARN, "S3 endpoint '%s' is not an http(s)://HOST[:PORT][/PATH] URL",
                   endpoint);
            sk_buf_free(&u);
            return NULL;
        }
        const char *path = host + hl;
        size_t pl = strlen(path);
        while (pl > 0 && path[pl - 1] == '/')
            pl--;
        sk_buf_append(&u, endpoint, (size_t)(host - endpoint));
        if (!path_style)
            sk_buf_printf(&u, "%.*s.", (int)bl, b);
        sk_buf_append(&u, host, hl);
        sk_buf_append(&u, path, pl);
        if (path_style)
            sk_buf_printf(&u, "/%.*s", (int)bl, b);
    }
    /* The prefix and the key, each component escaped (the prefix is
     * checked like key components: it is part of every key). */
    sk_buf k;
    sk_buf_init(&k);
    const char *pre = b + bl;
    while (*pre == '/')
        pre++;
    size_t pl = strlen(pre);
    while (pl > 0 && pre[pl - 1] == '/')
        pl--;
    if (pl)
        sk_buf_printf(&k, "%.*s/", (int)pl, pre);
    sk_buf_puts(&k, key);
    const char *p = k.data;
    while (*p) {
        size_t n = strcspn(p, "/");
        char *comp = sk_xstrndup(p, n);
        if (!sk_is_safe_key_component(comp)) {
            sk_log(SK_LOG_WARN, "%s: '%s' cannot be part of a key", s3_url, comp);
            free(comp);
            sk_buf_free(&k);
            sk_buf_free(&u);
            return NULL;
        }
        char *e = curl_easy_escape(c, comp, (int)n);
        sk_buf_printf(&u, "/%s", e ? e : "");
        curl_free(e);
        free(comp);
        p += n;
        if (*p == '/')
            p++;
    }
    sk_buf_free(&k);
    char *r = sk_xstrdup(u.data);
    sk_buf_free(&u);
    return r;
}

int sw_s3_get(CURL *c, const sw_options *opt, const char *s3_url, const char *key, sk_buf *body,
              size_t max, char **url_out)
{
    const char *region = env_or(opt->s3_region, "AWS_REGION");
    if (!region)
        region = env_or(NULL, "AWS_DEFAULT_REGION");
    if (!region)
        region = "us-east-1";
    char *url = object_url(c, opt, s3_url, key, region);
    *url_out = sk_xstrdup(url ? url : s3_url);
    if (!url)
        return -1;
    const char *akid = env_or(NULL, "AWS_ACCESS_KEY_ID");
    const char *secret = env_or(NULL, "AWS_SECRET_ACCESS_KEY");
    const char *token = env_or(NULL, "AWS_SESSION_TOKEN");

    curl_easy_reset(c);
    struct curl_slist *h = NULL;
    char sigv4[128];
    if (akid && secret) {
        snprintf(sigv4, sizeof sigv4, "aws:amz:%s:s3", region);
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4);
        curl_easy_setopt(c, CURLOPT_USERNAME, akid);
        curl_easy_setopt(c, CURLOPT_PASSWORD, secret);
        h = curl_slist_append(h, "x-amz-content-sha256: " EMPTY_SHA256);
        if (token) {
            sk_buf t;
            sk_buf_init(&t);
            sk_buf_printf(&t, "x-amz-security-token: %s", token);
            struct curl_slist *n = curl_slist_append(h, t.data);
            if (n)
                h = n;
            memset(t.data, 0, t.len);
            sk_buf_free(&t);
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip objects decoded by curl */
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)(opt->http_timeout ? opt->http_timeout : 30));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "symkit-stackwalk/" SK_VERSION);
    body_ctx bc = {body, max};
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bc);
    sk_buf_reset(body);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    /* The handle is reused for other servers: forget the credentials. */
    curl_easy_reset(c);
    curl_slist_free_all(h);
    int result;
    char code[64];
    if (rc != CURLE_OK) {
        sk_log(SK_LOG_WARN, "%s: %s", url, curl_easy_strerror(rc));
        result = -1;
    } else if (status == 200) {
        result = 1;
    } else if (status == 404) {
        result = 0;
    } else {
        error_code(body, code, sizeof code);
        if (status == 403 && (!code[0] || strcmp(code, "AccessDenied") == 0)) {
            /* What S3 answers for a missing key without list permission. */
            sk_log(SK_LOG_DEBUG, "%s: HTTP 403 %s (taken as absent)", url, code);
            result = 0;
        } else {
            const char *hint = "";
            if (strcmp(code, "RequestTimeTooSkewed") == 0)
                hint = " (clock skew: fix this machine's clock)";
            else if (strcmp(code, "SignatureDoesNotMatch") == 0 ||
                     strcmp(code, "InvalidAccessKeyId") == 0 || strcmp(code, "InvalidToken") == 0 ||
                     strcmp(code, "ExpiredToken") == 0)
                hint = " (bad credentials: check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
                       "AWS_SESSION_TOKEN)";
            sk_log(SK_LOG_WARN, "%s: HTTP %ld %s%s", url, status, code, hint);
            result = -1;
        }
        sk_buf_reset(body);
    }
    free(url);
    return result;
}
