/*
 * s3_util.c — the curl-free pieces of the S3 destination, kept apart so
 * the unit tests can drive them with fixed inputs: parsing s3://BUCKET/PREFIX,
 * choosing path-style or virtual-host URLs, reading the few elements of
 * S3's XML replies we act on (Code, Message, UploadId), naming a 403, and
 * preparing a request body (gzip + SHA-256 of the whole body and of each
 * multipart part, in one pass over the file).
 *
 * The XML reader is not a general parser on purpose: S3 replies are small
 * documents of leaf elements, and all we need is the text of the first
 * element with a given name.  It is bounds-checked and fuzzed (tests/upload).
 * SHA-256 comes from OpenSSL's libcrypto (the library Debian's libcurl is
 * built with); the request signature itself is libcurl's (CURLOPT_AWS_SIGV4).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "su_internal.h"

/* After our headers: OpenSSL defines a macro named sk_sort (its stacks),
 * which this file does not use. */
#include <openssl/evp.h>

/* ---- s3://BUCKET[/PREFIX] -------------------------------------------------- */

static bool bucket_char_ok(char c)
{
    /* S3's rules are stricter (lower case, 3-63); other services allow a
     * little more, so only refuse what would break a URL or a host name. */
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_';
}

int su_s3_parse_url(const char *url, char **bucket, char **prefix, sk_error *err)
{
    *bucket = *prefix = NULL;
    if (strncmp(url, "s3://", 5) != 0)
        return sk_fail(err, SK_EUSAGE, "'%s' is not an s3://BUCKET[/PREFIX] URL", url);
    const char *b = url + 5;
    size_t bl = strcspn(b, "/");
    if (bl == 0)
        return sk_fail(err, SK_EUSAGE, "'%s' names no bucket", url);
    for (size_t i = 0; i < bl; i++)
        if (!bucket_char_ok(b[i]))
            return sk_fail(err, SK_EUSAGE, "'%s': '%.*s' is not a bucket name", url, (int)bl, b);
    const char *p = b + bl;
    while (*p == '/')
        p++;
    size_t pl = strlen(p);
    while (pl > 0 && p[pl - 1] == '/')
        pl--;
    /* Each prefix component must be as safe as a key component: the
     * prefix is part of every object key. */
    char *pre = sk_xstrndup(p, pl);
    char *save = NULL;
    char *tmp = sk_xstrdup(pre);
    for (char *c = strtok_r(tmp, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (!sk_is_safe_key_component(c)) {
            int rc = sk_fail(err, SK_EUSAGE, "'%s': prefix component '%s' is not allowed in a key",
                             url, c);
            free(tmp);
            free(pre);
            return rc;
        }
    }
    free(tmp);
    if (strstr(pre, "//")) {
        free(pre);
        return sk_fail(err, SK_EUSAGE, "'%s': empty component in the prefix", url);
    }
    *bucket = sk_xstrndup(b, bl);
    *prefix = pre;
    return SK_OK;
}

bool su_s3_use_path_style(su_s3_addressing a, const char *endpoint, const char *bucket)
{
    if (a == SU_S3_PATH)
        return true;
    if (a == SU_S3_VIRTUAL)
        return false;
    /* Custom endpoints (MinIO, Ceph RGW, s3rver, ...) rarely have wildcard
     * DNS for buckets; AWS wants virtual hosts, except for dotted names
     * whose host would not match the certificate. */
    return endpoint != NULL || strchr(bucket, '.') != NULL;
}

int su_s3_base_url(const char *endpoint, const char *region, const char *bucket, bool path_style,
                   char **out, sk_error *err)
{
    *out = NULL;
    sk_buf b;
    sk_buf_init(&b);
    if (!endpoint) {
        if (path_style)
            sk_buf_printf(&b, "https://s3.%s.amazonaws.com/%s", region, bucket);
        else
            sk_buf_printf(&b, "https://%s.s3.%s.amazonaws.com", bucket, region);
    } else {
        const char *sep = strstr(endpoint, "://");
        if (!sep || (strncmp(endpoint, "http://", 7) != 0 && strncmp(endpoint, "https://", 8) != 0)) {
            sk_buf_free(&b);
            return sk_fail(err, SK_EUSAGE, "S3 endpoint '%s' must start with http:// or https://",
                           endpoint);
        }
        const char *host = sep + 3;
        size_t hl = strcspn(host, "/?#");
        if (hl == 0 || memchr(host, '@', hl)) {
            sk_buf_free(&b);
            return sk_fail(err, SK_EUSAGE, "S3 endpoint '%s' has no usable host", endpoint);
        }
        if (host[hl] == '?' || host[hl] == '#') {
            sk_buf_free(&b);
            return sk_fail(err, SK_EUSAGE, "S3 endpoint '%s' may not have a query", endpoint);
        }
        const char *path = host + hl;
        size_t plen = strlen(path);
        while (plen > 0 && path[plen - 1] == '/')
            plen--;
        sk_buf_append(&b, endpoint, (size_t)(host - endpoint));
        if (!path_style) {
            sk_buf_puts(&b, bucket);
            sk_buf_putc(&b, '.');
        }
        sk_buf_append(&b, host, hl);
        sk_buf_append(&b, path, plen);
        if (path_style) {
            sk_buf_putc(&b, '/');
            sk_buf_puts(&b, bucket);
        }
    }
    *out = sk_xstrdup(b.data);
    sk_buf_free(&b);
    return SK_OK;
}

/* ---- XML replies ----------------------------------------------------------- */

static void append_unescaped(sk_buf *out, const char *s, size_t n)
{
    static const struct { const char *ent; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''},
    };
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '&') {
            bool done = false;
            for (size_t e = 0; e < sizeof ents / sizeof ents[0]; e++) {
                size_t el = strlen(ents[e].ent);
                if (n - i >= el && memcmp(s + i, ents[e].ent, el) == 0) {
                    sk_buf_putc(out, ents[e].c);
                    i += el - 1;
                    done = true;
                    break;
                }
            }
            if (done)
                continue;
        }
        /* Control bytes never reach a log line. */
        sk_buf_putc(out, (unsigned char)s[i] < 0x20 ? ' ' : s[i]);
    }
}

char *su_xml_text(const char *xml, size_t len, const char *tag)
{
    if (!xml || !tag)
        return NULL;
    size_t tl = strlen(tag);
    for (size_t i = 0; i + tl + 2 <= len; i++) {
        if (xml[i] != '<' || memcmp(xml + i + 1, tag, tl) != 0)
            continue;
        size_t j = i + 1 + tl;
        if (j >= len || (xml[j] != '>' && xml[j] != ' ' && xml[j] != '/'))
            continue;
        while (j < len && xml[j] != '>')
            j++;
        if (j >= len)
            return NULL;
        if (xml[j - 1] == '/')
            return sk_xstrdup(""); /* <Tag/> */
        size_t start = j + 1, end = start;
        while (end < len && xml[end] != '<')
            end++;
        if (end >= len)
            return NULL; /* truncated: no closing tag */
        if (len - end < tl + 3 || xml[end + 1] != '/' || memcmp(xml + end + 2, tag, tl) != 0 ||
            xml[end + 2 + tl] != '>')
            return NULL; /* not a leaf element */
        sk_buf b;
        sk_buf_init(&b);
        append_unescaped(&b, xml + start, end - start);
        char *r = sk_xstrdup(b.data ? b.data : "");
        sk_buf_free(&b);
        return r;
    }
    return NULL;
}

bool su_xml_has_element(const char *xml, size_t len, const char *tag)
{
    if (!xml || !tag)
        return false;
    size_t tl = strlen(tag);
    for (size_t i = 0; i + tl + 2 <= len; i++)
        if (xml[i] == '<' && memcmp(xml + i + 1, tag, tl) == 0 &&
            (xml[i + 1 + tl] == '>' || xml[i + 1 + tl] == ' ' || xml[i + 1 + tl] == '/'))
            return true;
    return false;
}

void su_xml_escape(sk_buf *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': sk_buf_puts(out, "&amp;"); break;
        case '<': sk_buf_puts(out, "&lt;"); break;
        case '>': sk_buf_puts(out, "&gt;"); break;
        default: sk_buf_putc(out, *s);
        }
    }
}

const char *su_s3_refusal_hint(const char *code)
{
    if (!code)
        return "the bucket refused the request (no error code in the reply)";
    if (strcmp(code, "RequestTimeTooSkewed") == 0)
        return "clock skew: this machine's clock is too far from the server's; fix the clock (NTP)";
    if (strcmp(code, "SignatureDoesNotMatch") == 0)
        return "bad credentials: the signature does not match; check AWS_SECRET_ACCESS_KEY";
    if (strcmp(code, "InvalidAccessKeyId") == 0)
        return "bad credentials: unknown access key; check AWS_ACCESS_KEY_ID";
    if (strcmp(code, "InvalidToken") == 0 || strcmp(code, "ExpiredToken") == 0 ||
        strcmp(code, "TokenRefreshRequired") == 0)
        return "bad credentials: the session token is invalid or expired; check AWS_SESSION_TOKEN";
    if (strcmp(code, "AccessDenied") == 0)
        return "access denied: these credentials may not write there";
    return "the bucket refused the request";
}

bool su_s3_code_retryable(const char *code)
{
    if (!code)
        return false;
    static const char *const codes[] = {
        "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling",
        "ThrottlingException", "RequestLimitExceeded", "OperationAborted",
    };
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return true;
    return false;
}

/* ---- SHA-256 --------------------------------------------------------------- */

static void hex_digest(const unsigned char *md, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
}

void su_sha256_hex(const void *data, size_t n, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_Digest(data, n, md, &mdlen, EVP_sha256(), NULL);
    hex_digest(md, hex);
}

static EVP_MD_CTX *sha_new(void)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c || EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1)
        abort(); /* out of memory: as sk_xmalloc does */
    return c;
}

static void sha_final(EVP_MD_CTX *c, char hex[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(c, md, &mdlen);
    hex_digest(md, hex);
    EVP_DigestInit_ex(c, EVP_sha256(), NULL);
}

int su_sha256_file(const char *path, char hex[65], uint64_t *size, sk_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sk_fail(err, SK_EIO, "%s: %s", path, strerror(errno));
    EVP_MD_CTX *c = sha_new();
    static __thread char buf[1 << 16];
    uint64_t total = 0;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            EVP_MD_CTX_free(c);
            return sk_fail(err, SK_EIO, "%s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        EVP_DigestUpdate(c, buf, (size_t)r);
        total += (uint64_t)r;
    }
    close(fd);
    sha_final(c, hex);
    EVP_MD_CTX_free(c);
    *size = total;
    return SK_OK;
}

/* ---- request bodies -------------------------------------------------------- */

/* Bodies up to this size stay in memory; larger ones go to a temporary
 * file, so memory stays flat whatever the size of the .sym. */
#define BODY_IN_MEMORY (8u << 20)

typedef struct body_writer {
    su_s3_body *b;
    EVP_MD_CTX *part;
    size_t cap_parts;
    uint64_t in_part;
    int fd; /* -1: memory */
    bool passthrough; /* the body is the file itself: only hash */
    const char *what;
    sk_error *err;
} body_writer;

static int body_put(body_writer *w, const unsigned char *p, size_t n)
{
    su_s3_body *b = w->b;
    if (w->passthrough) {
        /* nothing to copy */
    } else if (w->fd >= 0) {
        size_t done = 0;
        while (done < n) {
            ssize_t r = write(w->fd, p + done, n - done);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0)
                return sk_fail(w->err, SK_EIO, "%s: writing the compressed copy: %s", w->what,
                               strerror(errno));
            done += (size_t)r;
        }
    } else {
        sk_buf_append(&b->mem, p, n);
    }
    b->len += n;
    /* Split the hash at part boundaries: each part is signed with its own. */
    while (n > 0) {
        uint64_t room = b->part_size - w->in_part;
        size_t take = n < room ? n : (size_t)room;
        EVP_DigestUpdate(w->part, p, take);
        w->in_part += take;
        p += take;
        n -= take;
        if (w->in_part == b->part_size) {
            sk_grow((void **)&b->part_sha, &w->cap_parts, b->nparts + 1, sizeof *b->part_sha);
            sha_final(w->part, b->part_sha[b->nparts++]);
            w->in_part = 0;
        }
    }
    return SK_OK;
}

int su_s3_body_prepare(const char *path, uint64_t size, bool compress, uint64_t part_size,
                       const char *tmpdir, su_s3_body *b, sk_error *err)
{
    memset(b, 0, sizeof *b);
    b->fd = -1;
    sk_buf_init(&b->mem);
    /* S3 allows 10,000 parts: grow the part size for enormous files. */
    if (size / part_size >= 10000)
        part_size = ((size / 9999) | ((1u << 20) - 1)) + 1;
    b->part_size = part_size;

    int in = open(path, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return sk_fail(err, SK_EIO, "%s: %s", path, strerror(errno));
    body_writer w = {b, sha_new(), 0, 0, -1, false, path, err};
    int rc = SK_OK;
    if (!compress && size > BODY_IN_MEMORY) {
        /* Sent plain and large: read the parts straight from the file. */
        w.passthrough = true;
    } else if (compress && size > BODY_IN_MEMORY) {
        char *tmpl = sk_path_join(tmpdir, "body-XXXXXX");
        w.fd = mkostemp(tmpl, O_CLOEXEC);
        if (w.fd < 0) {
            rc = sk_fail(err, SK_EIO, "cannot create a temporary file in %s: %s", tmpdir,
                         strerror(errno));
            free(tmpl);
            goto out;
        }
        b->tmp_path = tmpl;
    }
    EVP_MD_CTX *plain = sha_new();
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16: a gzip stream (header with mtime 0, so the same
     * file always gives the same bytes). */
    if (compress && deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
        EVP_MD_CTX_free(plain);
        rc = sk_fail(err, SK_ENOMEM, "cannot set up gzip compression");
        goto out;
    }
    enum { CHUNK = 1 << 16 };
    unsigned char *ibuf = sk_xmalloc(CHUNK), *obuf = sk_xmalloc(CHUNK);
    uint64_t seen = 0;
    bool eof = false;
    while (rc == SK_OK && !eof) {
        ssize_t r = read(in, ibuf, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = sk_fail(err, SK_EIO, "%s: %s", path, strerror(errno));
            break;
        }
        eof = r == 0;
        seen += (uint64_t)r;
        EVP_DigestUpdate(plain, ibuf, (size_t)r);
        if (!compress) {
            rc = body_put(&w, ibuf, (size_t)r);
            continue;
        }
        zs.next_in = ibuf;
        zs.avail_in = (uInt)r;
        do {
            zs.next_out = obuf;
            zs.avail_out = CHUNK;
            int zr = deflate(&zs, eof ? Z_FINISH : Z_NO_FLUSH);
            if (zr == Z_STREAM_ERROR) {
                rc = sk_fail(err, SK_EIO, "%s: gzip compression failed", path);
                break;
            }
            rc = body_put(&w, obuf, CHUNK - zs.avail_out);
        } while (rc == SK_OK && zs.avail_out == 0);
    }
    if (compress)
        deflateEnd(&zs);
    free(ibuf);
    free(obuf);
    sha_final(plain, b->plain_sha);
    EVP_MD_CTX_free(plain);
    b->plain_size = seen;
    if (rc == SK_OK && seen != size)
        rc = sk_fail(err, SK_EIO, "%s: changed while being read (%llu bytes, expected %llu)", path,
                     (unsigned long long)seen, (unsigned long long)size);
    if (rc == SK_OK && (w.in_part > 0 || b->nparts == 0)) {
        sk_grow((void **)&b->part_sha, &w.cap_parts, b->nparts + 1, sizeof *b->part_sha);
        sha_final(w.part, b->part_sha[b->nparts++]);
    }
    if (rc == SK_OK && w.fd >= 0) {
        b->fd = w.fd;
        w.fd = -1;
    } else if (rc == SK_OK && w.passthrough) {
        b->fd = in;
        in = -1;
    }
out:
    EVP_MD_CTX_free(w.part);
    if (w.fd >= 0)
        close(w.fd);
    if (in >= 0)
        close(in);
    if (rc != SK_OK)
        su_s3_body_free(b);
    return rc;
}

uint64_t su_s3_part_len(const su_s3_body *b, size_t part)
{
    uint64_t off = (uint64_t)part * b->part_size;
    if (off >= b->len)
        return 0;
    uint64_t left = b->len - off;
    return left < b->part_size ? left : b->part_size;
}

ssize_t su_s3_body_read(const su_s3_body *b, uint64_t off, void *buf, size_t n)
{
    if (off >= b->len)
        return 0;
    if (n > b->len - off)
        n = (size_t)(b->len - off);
    if (b->fd < 0) {
        memcpy(buf, b->mem.data + off, n);
        return (ssize_t)n;
    }
    for (;;) {
        ssize_t r = pread(b->fd, buf, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        return r;
    }
}

void su_s3_body_free(su_s3_body *b)
{
    sk_buf_free(&b->mem);
    if (b->fd >= 0)
        close(b->fd);
    b->fd = -1;
    if (b->tmp_path) {
        unlink(b->tmp_path);
        free(b->tmp_path);
        b->tmp_path = NULL;
    }
    free(b->part_sha);
    b->part_sha = NULL;
    b->nparts = 0;
    b->len = 0;
}
