/*
 * s3.c — the S3-compatible destination: each .sym becomes one object at
 * PREFIX/<key>, gzip-encoded (Content-Encoding: gzip, Content-Type:
 * text/plain) unless asked not to, sent as one PUT or, past the part size,
 * as a multipart upload (create, parts, complete; abort on failure).
 *
 * Every request is signed by libcurl (CURLOPT_AWS_SIGV4, "aws:amz:REGION:s3");
 * we only supply the x-amz-content-sha256 header S3 wants, with the real
 * SHA-256 of each body, computed while compressing (s3_util.c).  The
 * .sym's own size and SHA-256 travel as object metadata (x-amz-meta-symkit-*)
 * so that --skip-existing can tell an identical object from a different
 * one with a HEAD alone.
 *
 * At most opt->jobs objects are in progress at once on one curl multi
 * handle (connections are reused).  Requests worth retrying (5xx, 429,
 * SlowDown and friends, transport errors) are retried with backoff and
 * jitter; a 403 is final and stops the run, with what it means (bad
 * credentials, clock skew, access denied).  Credentials never reach a log:
 * the verbose header log redacts Authorization and the session token, and
 * any echo of a credential is replaced.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "su_internal.h"

#define RESPONSE_CAP (64u << 10)
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

typedef enum step {
    STEP_HEAD,
    STEP_PREPARE, /* not a request: compress and hash, then PUT or CREATE */
    STEP_COMPARE, /* not a request: hash the local file against a HEAD's metadata */
    STEP_PUT,
    STEP_CREATE,
    STEP_PART,
    STEP_COMPLETE,
    STEP_ABORT,
    STEP_DONE,
} step;

static const char *const step_names[] = {
    "HEAD", "prepare", "compare", "PUT", "create multipart upload", "PUT part", "complete multipart upload",
    "abort multipart upload", "done",
};

typedef struct obj {
    su_file *f;
    char *key; /* object key: PREFIX/<key> */
    char *url; /* base URL + escaped key */
    step step;
    unsigned attempt; /* attempts of the current request */
    double not_before;
    bool prepared;
    su_s3_body body;
    char *upload_id;
    char **etags;
    size_t netags;
    size_t part;
    char *final_reason; /* set before an abort: what the summary will say */

    /* Compressing or hashing a large file runs on a thread of its own, so
     * the transfers of the other objects keep moving meanwhile (a server
     * drops a connection that stalls for long). */
    enum { WORK_IDLE, WORK_RUNNING, WORK_READY } work_state;
    pthread_t thread;
    atomic_int work_done;
    int work_rc;
    sk_error work_err;
    char work_sha[65];
    uint64_t work_size;
    struct engine *engine;

    /* while a request is in flight */
    CURL *easy;
    struct curl_slist *hdrs;
    uint64_t req_off, req_len, pos;
    sk_buf req;
    sk_buf resp;
    char etag[256];
    char retry_after[64];
    char meta_sha[80];
    char meta_size[32];
    char errbuf[CURL_ERROR_SIZE];
} obj;

typedef struct engine {
    su_set *set;
    const su_options *opt;
    char *base_url;
    char *prefix;
    char *sigv4;
    char *tmpdir;
    CURLM *multi;
    CURL *escaper;
    obj **live;
    size_t nlive;
    size_t *todo; /* files to send, in key order */
    size_t ntodo, next;
    unsigned active; /* requests in flight */
    char *abort_reason;
    uint64_t answers; /* requests the service answered at all */
    const char *secrets[3];
    uint64_t files_total, bytes_total, files_done, bytes_done;
} engine;

/* ---- redaction ------------------------------------------------------------ */

static void append_redacted(sk_buf *out, const char *s, size_t n, const char *const *secrets)
{
    size_t i = 0;
    while (i < n) {
        bool hit = false;
        for (int k = 0; k < 3 && !hit; k++) {
            size_t sl = secrets[k] ? strlen(secrets[k]) : 0;
            if (sl >= 4 && n - i >= sl && memcmp(s + i, secrets[k], sl) == 0) {
                sk_buf_puts(out, "<redacted>");
                i += sl;
                hit = true;
            }
        }
        if (!hit)
            sk_buf_putc(out, s[i++]);
    }
}

static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *ctx)
{
    (void)h;
    const engine *e = ctx;
    char mark;
    switch (type) {
    case CURLINFO_TEXT: mark = '*'; break;
    case CURLINFO_HEADER_IN: mark = '<'; break;
    case CURLINFO_HEADER_OUT: mark = '>'; break;
    default: return 0;
    }
    static const char *const hidden[] = {"authorization:", "x-amz-security-token:"};
    size_t i = 0;
    while (i < size) {
        size_t end = i;
        while (end < size && data[end] != '\n' && data[end] != '\r')
            end++;
        if (end > i) {
            bool hide = false;
            for (size_t k = 0; k < 2 && !hide; k++) {
                size_t hl = strlen(hidden[k]);
                if (end - i >= hl && strncasecmp(data + i, hidden[k], hl) == 0) {
                    sk_log(SK_LOG_DEBUG, "%c %.*s <redacted>", mark, (int)hl, data + i);
                    hide = true;
                }
            }
            if (!hide) {
                sk_buf line;
                sk_buf_init(&line);
                append_redacted(&line, data + i, end - i, e->secrets);
                sk_log(SK_LOG_DEBUG, "%c %s", mark, line.len ? line.data : "");
                sk_buf_free(&line);
            }
        }
        i = end + 1;
    }
    return 0;
}

/* ---- per-request callbacks ------------------------------------------------- */

static size_t read_body(char *buf, size_t size, size_t nitems, void *ctx)
{
    obj *o = ctx;
    size_t want = size * nitems;
    if (o->pos >= o->req_len)
        return 0;
    if (want > o->req_len - o->pos)
        want = (size_t)(o->req_len - o->pos);
    ssize_t r = su_s3_body_read(&o->body, o->req_off + o->pos, buf, want);
    if (r <= 0)
        return CURL_READFUNC_ABORT;
    o->pos += (uint64_t)r;
    return (size_t)r;
}

static int seek_body(void *ctx, curl_off_t offset, int origin)
{
    obj *o = ctx;
    if (origin != SEEK_SET || offset < 0 || (uint64_t)offset > o->req_len)
        return CURL_SEEKFUNC_CANTSEEK;
    o->pos = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t write_resp(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    obj *o = ctx;
    return su_reply_append(&o->resp, RESPONSE_CAP, ptr, size * nmemb);
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ctx)
{
    obj *o = ctx;
    size_t n = size * nitems;
    static const struct { const char *name; size_t off, cap; } want[] = {
        {"etag:", offsetof(obj, etag), sizeof ((obj *)0)->etag},
        {"retry-after:", offsetof(obj, retry_after), sizeof ((obj *)0)->retry_after},
        {"x-amz-meta-symkit-sha256:", offsetof(obj, meta_sha), sizeof ((obj *)0)->meta_sha},
        {"x-amz-meta-symkit-size:", offsetof(obj, meta_size), sizeof ((obj *)0)->meta_size},
    };
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++)
        if (su_header_value(buf, n, want[k].name, (char *)o + want[k].off, want[k].cap))
            break;
    return n;
}

/* ---- objects --------------------------------------------------------------- */

static char *escape_path(engine *e, const char *key)
{
    sk_buf b;
    sk_buf_init(&b);
    const char *p = key;
    while (*p) {
        size_t len = strcspn(p, "/");
        char *esc = curl_easy_escape(e->escaper, p, (int)len);
        sk_buf_putc(&b, '/');
        sk_buf_puts(&b, esc ? esc : "");
        curl_free(esc);
        p += len;
        if (*p == '/')
            p++;
    }
    char *r = sk_xstrdup(b.data ? b.data : "");
    sk_buf_free(&b);
    return r;
}

static obj *new_obj(engine *e, su_file *f)
{
    obj *o = sk_xcalloc(1, sizeof *o);
    o->f = f;
    sk_buf kb;
    sk_buf_init(&kb);
    if (e->prefix[0])
        sk_buf_printf(&kb, "%s/", e->prefix);
    sk_buf_puts(&kb, f->key);
    o->key = sk_xstrdup(kb.data);
    sk_buf_free(&kb);
    char *path = escape_path(e, o->key);
    sk_buf ub;
    sk_buf_init(&ub);
    sk_buf_printf(&ub, "%s%s", e->base_url, path);
    o->url = sk_xstrdup(ub.data);
    sk_buf_free(&ub);
    free(path);
    o->body.fd = -1;
    sk_buf_init(&o->req);
    sk_buf_init(&o->resp);
    o->step = e->opt->skip_existing ? STEP_HEAD : STEP_PREPARE;
    return o;
}

static void release_request(engine *e, obj *o)
{
    if (o->easy) {
        curl_multi_remove_handle(e->multi, o->easy);
        curl_easy_cleanup(o->easy);
        o->easy = NULL;
    }
    curl_slist_free_all(o->hdrs);
    o->hdrs = NULL;
    sk_buf_free(&o->req);
    sk_buf_free(&o->resp);
}

static void free_obj(engine *e, obj *o)
{
    release_request(e, o);
    su_s3_body_free(&o->body);
    for (size_t i = 0; i < o->netags; i++)
        free(o->etags[i]);
    free(o->etags);
    free(o->upload_id);
    free(o->final_reason);
    free(o->key);
    free(o->url);
    free(o);
}

static void report_progress(engine *e)
{
    if (e->opt->progress)
        e->opt->progress(e->files_done, e->files_total, e->bytes_done, e->bytes_total,
                         e->opt->progress_ctx);
}

static void set_reason(su_file *f, const char *fmt, ...) SK_PRINTF(2, 3);
static void set_reason(su_file *f, const char *fmt, ...)
{
    sk_buf b;
    sk_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    sk_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(f->s3_reason);
    f->s3_reason = sk_xstrdup(b.data ? b.data : "");
    sk_buf_free(&b);
}

/* The object is finished (in any state): its slot is free. */
static void finish(engine *e, obj *o, su_s3_state state)
{
    o->f->s3 = state;
    o->step = STEP_DONE;
    release_request(e, o);
    su_s3_body_free(&o->body);
    e->files_done++;
    e->bytes_done += o->f->size;
    report_progress(e);
}

/* A final failure: multipart uploads that were created get aborted first,
 * so no orphaned parts stay billed in the bucket. */
static void fail(engine *e, obj *o, const char *why)
{
    if (o->upload_id && o->step != STEP_ABORT) {
        free(o->final_reason);
        o->final_reason = sk_xstrdup(why);
        release_request(e, o);
        o->step = STEP_ABORT;
        o->attempt = 0;
        o->not_before = 0;
        return;
    }
    set_reason(o->f, "%s", o->final_reason ? o->final_reason : why);
    finish(e, o, SU_S3_FAILED);
}

static void abort_all(engine *e, const char *why)
{
    if (e->abort_reason)
        return;
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_printf(&b, "not sent: %s", why);
    e->abort_reason = sk_xstrdup(b.data);
    sk_buf_free(&b);
}

/* ---- requests -------------------------------------------------------------- */

static void add_header(obj *o, const char *fmt, ...) SK_PRINTF(2, 3);
static void add_header(obj *o, const char *fmt, ...)
{
    sk_buf b;
    sk_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    sk_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    struct curl_slist *n = curl_slist_append(o->hdrs, b.data);
    if (n)
        o->hdrs = n;
    sk_buf_free(&b);
}

static void object_headers(engine *e, obj *o)
{
    add_header(o, "Content-Type: text/plain");
    if (!e->opt->s3_no_compress)
        add_header(o, "Content-Encoding: gzip");
    add_header(o, "x-amz-meta-symkit-sha256: %s", o->body.plain_sha);
    add_header(o, "x-amz-meta-symkit-size: %llu", (unsigned long long)o->body.plain_size);
}

/* Starts the request of o's current step; false when it could not be
 * started (the object has then failed). */
static bool start_request(engine *e, obj *o)
{
    const su_options *opt = e->opt;
    sk_buf url;
    sk_buf_init(&url);
    sk_buf_puts(&url, o->url);
    char *uid = NULL;
    if (o->upload_id)
        uid = curl_easy_escape(e->escaper, o->upload_id, 0);
    sk_buf_reset(&o->resp);
    o->etag[0] = o->retry_after[0] = o->meta_sha[0] = o->meta_size[0] = '\0';
    o->errbuf[0] = '\0';
    o->pos = 0;
    o->req_off = o->req_len = 0;

    CURL *c = curl_easy_init();
    if (!c) {
        curl_free(uid);
        sk_buf_free(&url);
        fail(e, o, "cannot set up an HTTP request");
        return false;
    }
    o->easy = c;
    /* Query parameters in sorted order, values escaped: the canonical query
     * string SigV4 signs is then the query as written. */
    const char *sha = EMPTY_SHA256;
    switch (o->step) {
    case STEP_HEAD:
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        break;
    case STEP_PUT:
        object_headers(e, o);
        o->req_len = o->body.len;
        sha = o->body.part_sha[0];
        break;
    case STEP_CREATE:
        sk_buf_puts(&url, "?uploads=");
        object_headers(e, o);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        break;
    case STEP_PART:
        sk_buf_printf(&url, "?partNumber=%zu&uploadId=%s", o->part + 1, uid ? uid : "");
        o->req_off = (uint64_t)o->part * o->body.part_size;
        o->req_len = su_s3_part_len(&o->body, o->part);
        sha = o->body.part_sha[o->part];
        break;
    case STEP_COMPLETE: {
        sk_buf_printf(&url, "?uploadId=%s", uid ? uid : "");
        sk_buf_reset(&o->req);
        sk_buf_puts(&o->req, "<CompleteMultipartUpload>");
        for (size_t i = 0; i < o->body.nparts; i++) {
            sk_buf_printf(&o->req, "<Part><PartNumber>%zu</PartNumber><ETag>", i + 1);
            su_xml_escape(&o->req, o->etags[i]);
            sk_buf_puts(&o->req, "</ETag></Part>");
        }
        sk_buf_puts(&o->req, "</CompleteMultipartUpload>");
        static __thread char xml_sha[65];
        su_sha256_hex(o->req.data, o->req.len, xml_sha);
        sha = xml_sha;
        add_header(o, "Content-Type: application/xml");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, o->req.data);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->req.len);
        break;
    }
    case STEP_ABORT:
        sk_buf_printf(&url, "?uploadId=%s", uid ? uid : "");
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "DELETE");
        break;
    case STEP_PREPARE:
    case STEP_COMPARE:
    case STEP_DONE:
        break;
    }
    curl_free(uid);
    if (o->step == STEP_PUT || o->step == STEP_PART) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)o->req_len);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
        curl_easy_setopt(c, CURLOPT_READDATA, o);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_body);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, o);
    }
    add_header(o, "x-amz-content-sha256: %s", sha);
    if (opt->s3_session_token && opt->s3_session_token[0])
        add_header(o, "x-amz-security-token: %s", opt->s3_session_token);
    add_header(o, "Expect:"); /* no 100-continue round trip */

    curl_easy_setopt(c, CURLOPT_URL, url.data);
    sk_buf_free(&url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, o->hdrs);
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, e->sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, opt->s3_access_key);
    curl_easy_setopt(c, CURLOPT_PASSWORD, opt->s3_secret_key);
    /* Redirects are not followed: a signed request must not go elsewhere,
     * and S3 only redirects when the region or endpoint is wrong. */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_USERAGENT, "symkit/" SK_VERSION);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(opt->timeout * 1000.0));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, o->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_resp);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, o);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, o);
    curl_easy_setopt(c, CURLOPT_PRIVATE, o);
    if (opt->verbose) {
        curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
        curl_easy_setopt(c, CURLOPT_DEBUGDATA, e);
        curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    }
    o->attempt++;
    if (o->step == STEP_PART)
        sk_log(SK_LOG_DEBUG, "s3://.../%s: part %zu of %zu, %llu bytes (attempt %u)", o->key,
               o->part + 1, o->body.nparts, (unsigned long long)o->req_len, o->attempt);
    if (curl_multi_add_handle(e->multi, c) != CURLM_OK) {
        fail(e, o, "cannot start an HTTP request");
        return false;
    }
    e->active++;
    return true;
}

/* Files above this size are compressed or hashed on a worker thread. */
#define THREAD_MIN (1u << 20)

static void *work_main(void *arg)
{
    obj *o = arg;
    engine *e = o->engine;
    if (o->step == STEP_PREPARE)
        o->work_rc = su_s3_body_prepare(o->f->path, o->f->size, !e->opt->s3_no_compress,
                                        e->opt->s3_part_size, e->tmpdir, &o->body, &o->work_err);
    else
        o->work_rc = su_sha256_file(o->f->path, o->work_sha, &o->work_size, &o->work_err);
    atomic_store(&o->work_done, 1);
    curl_multi_wakeup(e->multi);
    return NULL;
}

/* Runs the work of o's step (PREPARE or COMPARE) inline for small files or
 * on a thread for large ones.  True when its result is ready. */
static bool work(engine *e, obj *o)
{
    if (o->work_state == WORK_READY) {
        o->work_state = WORK_IDLE;
        return true;
    }
    if (o->work_state == WORK_RUNNING)
        return false; /* advance() joins it once done */
    sk_error_clear(&o->work_err);
    atomic_store(&o->work_done, 0);
    o->engine = e;
    if (o->f->size >= THREAD_MIN && pthread_create(&o->thread, NULL, work_main, o) == 0) {
        o->work_state = WORK_RUNNING;
        return false;
    }
    work_main(o); /* small, or no thread to be had */
    return true;
}

/* Compress and hash, then choose one PUT or a multipart upload. */
static void prepare(engine *e, obj *o)
{
    if (!o->prepared) {
        if (!work(e, o))
            return;
        if (o->work_rc != SK_OK) {
            sk_log(SK_LOG_ERROR, "%s: %s", o->f->path, o->work_err.msg);
            fail(e, o, o->work_err.msg);
            return;
        }
        o->prepared = true;
    }
    if (e->opt->dry_run) {
        finish(e, o, SU_S3_DRY_RUN);
        return;
    }
    o->attempt = 0;
    if (o->body.nparts <= 1) {
        o->step = STEP_PUT;
    } else {
        o->step = STEP_CREATE;
        o->etags = sk_xcalloc(o->body.nparts, sizeof *o->etags);
        o->netags = o->body.nparts;
        o->part = 0;
    }
}

static void retry_or_fail(engine *e, obj *o, const char *why)
{
    if (o->attempt > e->opt->retries) {
        sk_buf b;
        sk_buf_init(&b);
        sk_buf_printf(&b, "%s gave up after %u attempts: %s", step_names[o->step], o->attempt, why);
        sk_log(SK_LOG_ERROR, "%s: %s", o->key, b.data);
        /* Nothing ever got through: the endpoint is down or wrong, and the
         * other files would only repeat the same wait. */
        if (e->answers == 0 && !e->abort_reason)
            abort_all(e, b.data);
        fail(e, o, b.data);
        sk_buf_free(&b);
        return;
    }
    double delay;
    if (!o->retry_after[0] || !su_parse_retry_after(o->retry_after, time(NULL), &delay))
        delay = su_backoff_delay(e->opt->retry_delay, o->attempt, su_random_unit());
    sk_log(SK_LOG_WARN, "%s: %s: %s; retrying in %.3g s (attempt %u of %u)", o->key,
           step_names[o->step], why, delay, o->attempt + 1, e->opt->retries + 1);
    release_request(e, o);
    o->not_before = sk_now() + delay;
}

/* HEAD found an object: the same .sym (by the metadata we write) is left
 * alone; a different one is reported and left alone too. */
static void compare_existing(engine *e, obj *o)
{
    su_file *f = o->f;
    if (o->step == STEP_COMPARE)
        goto hashed;
    if (!o->meta_sha[0] || !o->meta_size[0]) {
        set_reason(f, "an object without symkit metadata is there: not compared, not replaced");
        sk_log(SK_LOG_WARN, "%s: %s", o->key, f->s3_reason);
        finish(e, o, SU_S3_EXISTING);
        return;
    }
    uint64_t their_size;
    bool size_ok = sk_parse_dec(o->meta_size, strlen(o->meta_size), &their_size);
    if (size_ok && their_size != f->size) {
        set_reason(f, "a different object is there (%llu bytes of .sym, this one has %llu): "
                      "left alone",
                   (unsigned long long)their_size, (unsigned long long)f->size);
        finish(e, o, SU_S3_DIFFERS);
        return;
    }
    release_request(e, o); /* keeps the metadata copied in o */
    o->step = STEP_COMPARE;
hashed:
    if (!work(e, o))
        return; /* advance() comes back when the thread is done */
    if (o->work_rc != SK_OK) {
        fail(e, o, o->work_err.msg);
        return;
    }
    const char *sha = o->work_sha;
    if (strcasecmp(sha, o->meta_sha) == 0) {
        sk_log(SK_LOG_DEBUG, "%s: identical object already in the bucket", o->key);
        finish(e, o, SU_S3_EXISTING);
    } else {
        set_reason(f, "a different object is there (SHA-256 %.12s..., this one %.12s...): left alone",
                   o->meta_sha, sha);
        finish(e, o, SU_S3_DIFFERS);
    }
}

static bool transport_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_OUT_OF_MEMORY:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_PEER_FAILED_VERIFICATION:
        return false;
    default:
        return true;
    }
}

static void on_done(engine *e, obj *o, CURLcode rc)
{
    e->active--;
    if (rc != CURLE_OK) {
        char why[CURL_ERROR_SIZE + 64];
        snprintf(why, sizeof why, "%s", o->errbuf[0] ? o->errbuf : curl_easy_strerror(rc));
        if (transport_retryable(rc) && !e->abort_reason) {
            retry_or_fail(e, o, why);
        } else {
            sk_log(SK_LOG_ERROR, "%s: %s", o->key, why);
            fail(e, o, why);
        }
        return;
    }
    long status = 0;
    curl_easy_getinfo(o->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300)
        e->answers++;
    char *code = su_xml_text(o->resp.data, o->resp.len, "Code");
    bool error_body = o->resp.len && su_xml_has_element(o->resp.data, o->resp.len, "Error");

    if (o->step == STEP_HEAD) {
        if (status == 200) {
            compare_existing(e, o);
        } else if (su_status_retryable(status) && !e->abort_reason) {
            char why[64];
            snprintf(why, sizeof why, "HTTP %ld", status);
            retry_or_fail(e, o, why);
        } else {
            /* 404: not there.  403: maybe not there (no list permission) or
             * refused — the PUT's reply will say which. */
            if (status != 404 && status != 403)
                sk_log(SK_LOG_WARN, "%s: HEAD answered HTTP %ld; sending it", o->key, status);
            release_request(e, o);
            o->step = STEP_PREPARE;
        }
        free(code);
        return;
    }

    if (status >= 200 && status < 300 && !error_body) {
        switch (o->step) {
        case STEP_PUT:
        case STEP_COMPLETE:
            sk_log(SK_LOG_DEBUG, "%s: stored (%llu bytes%s)", o->key,
                   (unsigned long long)o->body.len, o->body.nparts > 1 ? ", multipart" : "");
            finish(e, o, SU_S3_UPLOADED);
            break;
        case STEP_CREATE: {
            char *id = su_xml_text(o->resp.data, o->resp.len, "UploadId");
            if (!id || !id[0]) {
                free(id);
                fail(e, o, "the reply to 'create multipart upload' has no UploadId");
                break;
            }
            o->upload_id = id;
            release_request(e, o);
            o->step = STEP_PART;
            o->attempt = 0;
            break;
        }
        case STEP_PART:
            if (!o->etag[0]) {
                fail(e, o, "the reply to a part upload has no ETag");
                break;
            }
            o->etags[o->part] = sk_xstrdup(o->etag);
            release_request(e, o);
            o->attempt = 0;
            if (++o->part == o->body.nparts)
                o->step = STEP_COMPLETE;
            break;
        case STEP_ABORT:
            set_reason(o->f, "%s", o->final_reason ? o->final_reason : "aborted");
            finish(e, o, SU_S3_FAILED);
            break;
        default:
            break;
        }
        free(code);
        return;
    }

    if (o->step == STEP_ABORT) {
        /* The upload failed already; a failed abort only adds a note. */
        if ((su_status_retryable(status) || su_s3_code_retryable(code)) &&
            o->attempt <= e->opt->retries && !e->abort_reason) {
            retry_or_fail(e, o, "retrying the abort");
        } else {
            set_reason(o->f, "%s (and aborting the multipart upload failed: HTTP %ld)",
                       o->final_reason ? o->final_reason : "failed", status);
            finish(e, o, SU_S3_FAILED);
        }
        free(code);
        return;
    }

    char *msg = su_xml_text(o->resp.data, o->resp.len, "Message");
    sk_buf why;
    sk_buf_init(&why);
    sk_buf_printf(&why, "HTTP %ld", status);
    if (code) {
        sk_buf_puts(&why, " ");
        append_redacted(&why, code, strlen(code), e->secrets);
    }
    if (msg) {
        sk_buf_puts(&why, ": ");
        append_redacted(&why, msg, strlen(msg), e->secrets);
    }
    free(msg);
    if ((su_status_retryable(status) || su_s3_code_retryable(code)) && !e->abort_reason) {
        retry_or_fail(e, o, why.data);
    } else if (status == 401 || status == 403) {
        sk_buf_printf(&why, " (%s)", su_s3_refusal_hint(code));
        if (!e->abort_reason) {
            sk_log(SK_LOG_ERROR, "%s: %s", o->key, why.data);
            abort_all(e, why.data);
        }
        fail(e, o, why.data);
    } else if (code && (strcmp(code, "NoSuchBucket") == 0 ||
                        strcmp(code, "AuthorizationHeaderMalformed") == 0)) {
        /* Wrong for every file alike: say it once and stop. */
        sk_buf_puts(&why, strcmp(code, "NoSuchBucket") == 0
                              ? " (check the bucket name and the endpoint)"
                              : " (check --s3-region: requests are signed for the wrong region)");
        if (!e->abort_reason)
            sk_log(SK_LOG_ERROR, "%s: %s", o->key, why.data);
        abort_all(e, why.data);
        fail(e, o, why.data);
    } else if (status >= 300 && status < 400) {
        sk_buf_puts(&why, " (the bucket is elsewhere: check --s3-region and --s3-endpoint)");
        if (!e->abort_reason)
            sk_log(SK_LOG_ERROR, "%s: %s", o->key, why.data);
        abort_all(e, why.data);
        fail(e, o, why.data);
    } else {
        sk_log(SK_LOG_ERROR, "%s: %s: %s", o->key, step_names[o->step], why.data);
        fail(e, o, why.data);
    }
    sk_buf_free(&why);
    free(code);
}

static void transfer_done(void *ctx, void *transfer, CURLcode rc)
{
    on_done(ctx, transfer, rc);
}

/* ---- the loop -------------------------------------------------------------- */

static const su_set *order_set;
static int cmp_key(const void *a, const void *b)
{
    return strcmp(order_set->files[*(const size_t *)a].key, order_set->files[*(const size_t *)b].key);
}

static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char *tmpl = sk_path_join(base, "symupload-s3-XXXXXX");
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

/* Moves o forward until it waits for a request (or is done). */
static void advance(engine *e, obj *o, double now)
{
    if (o->step == STEP_DONE || o->easy || o->not_before > now)
        return;
    if (o->work_state == WORK_RUNNING) {
        if (!atomic_load(&o->work_done))
            return; /* a thread is busy with o: nothing may touch it */
        pthread_join(o->thread, NULL);
        o->work_state = WORK_READY;
    }
    if (o->step == STEP_COMPARE && !e->abort_reason) {
        compare_existing(e, o);
        return;
    }
    if (e->abort_reason && o->step != STEP_ABORT) {
        if (o->upload_id) {
            fail(e, o, e->abort_reason);
            if (o->step != STEP_ABORT)
                return;
        } else {
            set_reason(o->f, "%s", e->abort_reason);
            finish(e, o, SU_S3_FAILED);
            return;
        }
    }
    if (o->step == STEP_PREPARE)
        prepare(e, o);
    if (o->step != STEP_DONE && o->step != STEP_PREPARE)
        start_request(e, o);
}

int su_s3_all(su_set *set, const su_options *opt, sk_error *err)
{
    engine e;
    memset(&e, 0, sizeof e);
    e.set = set;
    e.opt = opt;
    e.secrets[0] = opt->s3_secret_key;
    e.secrets[1] = opt->s3_session_token;
    e.secrets[2] = opt->s3_access_key;

    char *bucket = NULL;
    if (su_s3_parse_url(opt->s3_url, &bucket, &e.prefix, err) != SK_OK)
        return err->code;
    const char *region = opt->s3_region && opt->s3_region[0] ? opt->s3_region : "us-east-1";
    bool path_style = su_s3_use_path_style(opt->s3_addressing, opt->s3_endpoint, bucket);
    if (su_s3_base_url(opt->s3_endpoint, region, bucket, path_style, &e.base_url, err) != SK_OK) {
        free(bucket);
        free(e.prefix);
        return err->code;
    }
    sk_buf sb;
    sk_buf_init(&sb);
    sk_buf_printf(&sb, "aws:amz:%s:s3", region);
    e.sigv4 = sk_xstrdup(sb.data);
    sk_buf_free(&sb);

    e.todo = sk_xmalloc((set->n ? set->n : 1) * sizeof *e.todo);
    for (size_t i = 0; i < set->n; i++) {
        if (set->files[i].s3 == SU_S3_PENDING) {
            e.todo[e.ntodo++] = i;
            e.files_total++;
            e.bytes_total += set->files[i].size;
        }
    }
    order_set = set;
    sk_sort(e.todo, e.ntodo, sizeof *e.todo, cmp_key);
    order_set = NULL;
    int rc = SK_OK;
    if (e.ntodo == 0)
        goto out;
    sk_log(SK_LOG_INFO, "%s %llu files (%.1f MiB of .sym) to s3://%s%s%s (%s)",
           opt->dry_run ? "would send" : "sending", (unsigned long long)e.files_total,
           (double)e.bytes_total / (1 << 20), bucket, e.prefix[0] ? "/" : "", e.prefix, e.base_url);
    report_progress(&e);

    e.tmpdir = make_tmpdir();
    e.multi = curl_multi_init();
    e.escaper = curl_easy_init();
    if (!e.tmpdir || !e.multi || !e.escaper) {
        const char *why = !e.tmpdir ? "cannot create a temporary directory" : "cannot set up HTTP";
        for (size_t k = 0; k < e.ntodo; k++) {
            su_file *f = &set->files[e.todo[k]];
            f->s3 = SU_S3_FAILED;
            set_reason(f, "%s", why);
        }
        goto out;
    }
    unsigned jobs = opt->jobs ? opt->jobs : 1;
    /* A few more connections than --jobs gain nothing; S3 spreads load by
     * key prefix, not by connection. */
    curl_multi_setopt(e.multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)jobs);
    e.live = sk_xcalloc(jobs, sizeof *e.live);
    for (;;) {
        if (opt->cancel && *opt->cancel && !e.abort_reason) {
            sk_log(SK_LOG_ERROR, "interrupted: abandoning the S3 uploads in progress");
            abort_all(&e, "interrupted");
            for (size_t i = 0; i < e.nlive; i++) {
                obj *o = e.live[i];
                if (o->easy) {
                    e.active--;
                    release_request(&e, o);
                }
                o->not_before = 0;
            }
        }
        double now = sk_now();
        double next_wake = -1;
        /* Fill free slots with the next files. */
        for (size_t i = 0; i < jobs; i++) {
            if (e.live[i] && e.live[i]->step == STEP_DONE) {
                free_obj(&e, e.live[i]);
                e.live[i] = NULL;
            }
            if (!e.live[i] && e.next < e.ntodo) {
                su_file *f = &set->files[e.todo[e.next++]];
                e.live[i] = new_obj(&e, f);
            }
            obj *o = e.live[i];
            if (!o)
                continue;
            advance(&e, o, now);
            if (o->step == STEP_DONE) {
                free_obj(&e, o);
                e.live[i] = NULL;
                i--; /* refill this slot at once */
                continue;
            }
            /* A busy thread wakes the poll itself (curl_multi_wakeup). */
            if (!o->easy && o->work_state != WORK_RUNNING &&
                (next_wake < 0 || o->not_before < next_wake))
                next_wake = o->not_before;
        }
        bool any = false;
        for (size_t i = 0; i < jobs; i++)
            any |= e.live[i] != NULL;
        if (!any && e.next >= e.ntodo)
            break;
        /* Waits for transfers, a retry's time, or a worker thread's wakeup. */
        su_multi_turn(e.multi, next_wake, transfer_done, &e);
    }
    free(e.live);
out:
    free(e.todo);
    if (e.escaper)
        curl_easy_cleanup(e.escaper);
    if (e.multi)
        curl_multi_cleanup(e.multi);
    if (e.tmpdir) {
        rmdir(e.tmpdir);
        free(e.tmpdir);
    }
    free(e.abort_reason);
    free(e.base_url);
    free(e.prefix);
    free(e.sigv4);
    free(bucket);
    return rc;
}
