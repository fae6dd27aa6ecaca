/*
 * post.c — the Tecken v1 upload client: multipart POSTs of the archives
 * with Content-Length (never chunked), at most opt->jobs at once on one
 * curl multi handle, retries with backoff for what is worth retrying, and a
 * 413 answered by splitting the archive.
 *
 * The token only ever goes into the Auth-Token request header; the verbose
 * header log replaces it, so it cannot leak into CI logs.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "su_internal.h"

#define RESPONSE_CAP (1u << 20)

typedef struct job {
    size_t *idx; /* files of the set in this archive */
    size_t n;
    unsigned number;  /* symbols-<number>.zip */
    unsigned attempt; /* attempts made */
    uint64_t sym_bytes; /* .sym bytes of the members, for progress */
    double sent_fraction; /* of the request body, while in flight */
    double not_before;
    bool done;

    /* while in flight */
    CURL *easy;
    struct curl_slist *hdrs;
    char *zip_path;   /* built once, kept across retries, removed when done */
    uint64_t zip_len;
    FILE *zf;         /* open while in flight */
    uint64_t zf_pos;  /* where zf's read position is */
    sk_buf head, tail;
    uint64_t pos;
    sk_buf resp;
    char retry_after[64];
    char errbuf[CURL_ERROR_SIZE];
} job;

typedef struct engine {
    su_set *set;
    const su_options *opt;
    job **jobs;
    size_t njobs, cap;
    unsigned next_number;
    char *abort_reason; /* set once the token is refused: nothing more is sent */
    char *post_url;
    char *tmpdir; /* the archives being sent */
    CURLM *multi;
    unsigned active;
    uint64_t files_total, bytes_total, files_done, bytes_done;
} engine;

static job *add_job(engine *e, const size_t *idx, size_t n)
{
    job *j = sk_xcalloc(1, sizeof *j);
    j->idx = sk_xmalloc((n ? n : 1) * sizeof *j->idx);
    memcpy(j->idx, idx, n * sizeof *idx);
    j->n = n;
    for (size_t k = 0; k < n; k++)
        j->sym_bytes += e->set->files[idx[k]].size;
    j->number = ++e->next_number;
    sk_buf_init(&j->head);
    sk_buf_init(&j->tail);
    sk_buf_init(&j->resp);
    sk_grow((void **)&e->jobs, &e->cap, e->njobs + 1, sizeof *e->jobs);
    e->jobs[e->njobs++] = j;
    for (size_t k = 0; k < n; k++)
        e->set->files[idx[k]].archive = j->number;
    return j;
}

static void release_transfer(engine *e, job *j)
{
    if (j->easy) {
        curl_multi_remove_handle(e->multi, j->easy);
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
    }
    curl_slist_free_all(j->hdrs);
    j->hdrs = NULL;
    if (j->zf) {
        fclose(j->zf);
        j->zf = NULL;
    }
    sk_buf_free(&j->head);
    sk_buf_free(&j->tail);
    sk_buf_free(&j->resp);
    j->retry_after[0] = '\0';
    j->pos = 0;
    j->sent_fraction = 0;
}

static void drop_zip(job *j)
{
    if (j->zip_path) {
        remove(j->zip_path);
        free(j->zip_path);
        j->zip_path = NULL;
    }
    j->zip_len = 0;
}

static void free_job(engine *e, job *j)
{
    release_transfer(e, j);
    drop_zip(j);
    free(j->idx);
    free(j);
}

static void report_progress(engine *e)
{
    if (!e->opt->progress)
        return;
    /* Count the part of in-flight archives already sent, so a bar keeps
     * moving during one long post. */
    uint64_t bytes = e->bytes_done;
    for (size_t i = 0; i < e->njobs; i++) {
        const job *j = e->jobs[i];
        if (!j->done && j->easy)
            bytes += (uint64_t)((double)j->sym_bytes * j->sent_fraction);
    }
    if (bytes > e->bytes_total)
        bytes = e->bytes_total;
    e->opt->progress(e->files_done, e->files_total, bytes, e->bytes_total, e->opt->progress_ctx);
}

static int xfer_cb(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                   curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    job *j = ctx;
    if (ultotal > 0 && ulnow >= 0 && ulnow <= ultotal)
        j->sent_fraction = (double)ulnow / (double)ultotal;
    return 0;
}

/* Ends a job: every member gets `state` (or failed with reason). */
static void finish_job(engine *e, job *j, su_upload_state state, const char *reason)
{
    for (size_t k = 0; k < j->n; k++) {
        su_file *f = &e->set->files[j->idx[k]];
        if (f->upload == SU_UP_PENDING) {
            f->upload = state;
            if (state == SU_UP_FAILED && reason)
                su_file_fail_reason(f, "%s", reason);
        }
        e->files_done++;
        e->bytes_done += f->size;
    }
    j->done = true;
    release_transfer(e, j);
    drop_zip(j);
    report_progress(e);
}

/* ---- request body -------------------------------------------------------- */

/* The body is three pieces: multipart head (memory), the zip (file), tail
 * (memory).  pos is the offset in the whole body. */
static size_t read_body(char *buf, size_t size, size_t nitems, void *ctx)
{
    job *j = ctx;
    size_t want = size * nitems, done = 0;
    uint64_t head = j->head.len, zip_end = head + j->zip_len, total = zip_end + j->tail.len;
    while (done < want && j->pos < total) {
        size_t take;
        if (j->pos < head) {
            take = (size_t)(head - j->pos);
            if (take > want - done)
                take = want - done;
            memcpy(buf + done, j->head.data + j->pos, take);
        } else if (j->pos < zip_end) {
            uint64_t off = j->pos - head;
            if (j->zf_pos != off) {
                if (fseeko(j->zf, (off_t)off, SEEK_SET) != 0)
                    return CURL_READFUNC_ABORT;
                j->zf_pos = off;
            }
            uint64_t left = zip_end - j->pos;
            take = want - done;
            if (take > left)
                take = (size_t)left;
            take = fread(buf + done, 1, take, j->zf);
            if (take == 0)
                return CURL_READFUNC_ABORT; /* the archive shrank under us */
            j->zf_pos += take;
        } else {
            take = (size_t)(total - j->pos);
            if (take > want - done)
                take = want - done;
            memcpy(buf + done, j->tail.data + (j->pos - zip_end), take);
        }
        done += take;
        j->pos += take;
    }
    return done;
}

static int seek_body(void *ctx, curl_off_t offset, int origin)
{
    job *j = ctx;
    if (origin != SEEK_SET || offset < 0 ||
        (uint64_t)offset > j->head.len + j->zip_len + j->tail.len)
        return CURL_SEEKFUNC_CANTSEEK;
    j->pos = (uint64_t)offset;
    return CURL_SEEKFUNC_OK;
}

static size_t write_resp(char *ptr, size_t size, size_t nmemb, void *ctx)
{
    job *j = ctx;
    return su_reply_append(&j->resp, RESPONSE_CAP, ptr, size * nmemb);
}

static size_t header_cb(char *buf, size_t size, size_t nitems, void *ctx)
{
    job *j = ctx;
    su_header_value(buf, size * nitems, "retry-after:", j->retry_after, sizeof j->retry_after);
    return size * nitems;
}

/* Copies s[0..n) into out with every occurrence of the token replaced: a
 * server echoing the token back must not get it into a CI log. */
static void append_redacted(sk_buf *out, const char *s, size_t n, const char *token)
{
    size_t tl = token ? strlen(token) : 0;
    size_t i = 0;
    while (i < n) {
        if (tl && n - i >= tl && memcmp(s + i, token, tl) == 0) {
            sk_buf_puts(out, "<redacted>");
            i += tl;
        } else {
            sk_buf_putc(out, s[i++]);
        }
    }
}

/* Logs curl's header traffic line by line, with the token replaced. */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *ctx)
{
    (void)h;
    const char *token = ctx;
    char mark;
    switch (type) {
    case CURLINFO_TEXT: mark = '*'; break;
    case CURLINFO_HEADER_IN: mark = '<'; break;
    case CURLINFO_HEADER_OUT: mark = '>'; break;
    default: return 0;
    }
    size_t i = 0;
    while (i < size) {
        size_t e = i;
        while (e < size && data[e] != '\n' && data[e] != '\r')
            e++;
        if (e > i) {
            static const char tok[] = "auth-token:";
            if (e - i >= sizeof tok - 1 && strncasecmp(data + i, tok, sizeof tok - 1) == 0)
                sk_log(SK_LOG_DEBUG, "%c Auth-Token: <redacted>", mark);
            else {
                sk_buf line;
                sk_buf_init(&line);
                append_redacted(&line, data + i, e - i, token);
                sk_log(SK_LOG_DEBUG, "%c %s", mark, line.len ? line.data : "");
                sk_buf_free(&line);
            }
        }
        i = e + 1;
    }
    return 0;
}

static void random_boundary(char *out, size_t cap)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    const char *pre = "symkit-";
    while (*pre && n + 1 < cap)
        out[n++] = *pre++;
    while (n + 1 < cap && n < 7 + 32)
        out[n++] = hex[(int)(su_random_unit() * 16) & 15];
    out[n] = '\0';
}

static char *archive_path(engine *e, unsigned number)
{
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_printf(&b, "%s/symbols-%u.zip", e->tmpdir, number);
    char *r = sk_xstrdup(b.data);
    sk_buf_free(&b);
    return r;
}

static bool ensure_zip(engine *e, job *j, sk_error *err)
{
    if (j->zip_path)
        return true;
    char *path = archive_path(e, j->number);
    if (su_build_zip(e->set, j->idx, j->n, e->opt->symbols_txt, path, &j->zip_len, err) != SK_OK) {
        remove(path);
        free(path);
        return false;
    }
    j->zip_path = path;
    return true;
}

static int start_job(engine *e, job *j)
{
    sk_error err;
    sk_error_clear(&err);
    if (!ensure_zip(e, j, &err)) {
        sk_log(SK_LOG_ERROR, "symbols-%u.zip: %s", j->number, err.msg);
        finish_job(e, j, SU_UP_FAILED, err.msg);
        return -1;
    }
    j->zf = fopen(j->zip_path, "rb");
    if (!j->zf) {
        finish_job(e, j, SU_UP_FAILED, "cannot reopen the archive just built");
        return -1;
    }
    j->zf_pos = 0;
    /* 128 random bits: a zip containing the boundary is not a concern. */
    char boundary[64];
    random_boundary(boundary, sizeof boundary);
    sk_buf_reset(&j->head);
    sk_buf_reset(&j->tail);
    if (e->opt->try_upload)
        sk_buf_printf(&j->head,
                      "--%s\r\nContent-Disposition: form-data; name=\"try\"\r\n\r\n1\r\n", boundary);
    sk_buf_printf(&j->head,
                  "--%s\r\nContent-Disposition: form-data; name=\"symbols-%u.zip\"; "
                  "filename=\"symbols-%u.zip\"\r\nContent-Type: application/zip\r\n\r\n",
                  boundary, j->number, j->number);
    sk_buf_printf(&j->tail, "\r\n--%s--\r\n", boundary);
    j->pos = 0;
    sk_buf_reset(&j->resp);
    j->retry_after[0] = '\0';
    j->errbuf[0] = '\0';

    sk_buf h;
    sk_buf_init(&h);
    sk_buf_printf(&h, "Content-Type: multipart/form-data; boundary=%s", boundary);
    j->hdrs = curl_slist_append(NULL, h.data);
    sk_buf_reset(&h);
    sk_buf_printf(&h, "Auth-Token: %s", e->opt->token ? e->opt->token : "");
    j->hdrs = curl_slist_append(j->hdrs, h.data);
    /* Wait for nothing: a 100-continue round trip only adds latency. */
    j->hdrs = curl_slist_append(j->hdrs, "Expect:");
    /* Wipe the token copy before freeing it. */
    memset(h.data, 0, h.len);
    sk_buf_free(&h);

    CURL *c = curl_easy_init();
    if (!c || !j->hdrs) {
        finish_job(e, j, SU_UP_FAILED, "cannot set up an HTTP request");
        if (c)
            curl_easy_cleanup(c);
        return -1;
    }
    j->easy = c;
    curl_off_t total = (curl_off_t)(j->head.len + j->zip_len + j->tail.len);
    curl_easy_setopt(c, CURLOPT_URL, e->post_url);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, total);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(c, CURLOPT_READDATA, j);
    curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seek_body);
    curl_easy_setopt(c, CURLOPT_SEEKDATA, j);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_resp);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, j->hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "symkit/" SK_VERSION);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(e->opt->timeout * 1000.0));
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, j->errbuf);
    curl_easy_setopt(c, CURLOPT_PRIVATE, j);
    if (e->opt->progress) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, xfer_cb);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, j);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }
    if (e->opt->verbose) {
        curl_easy_setopt(c, CURLOPT_DEBUGFUNCTION, debug_cb);
        curl_easy_setopt(c, CURLOPT_DEBUGDATA, (void *)e->opt->token);
        curl_easy_setopt(c, CURLOPT_VERBOSE, 1L);
    }
    j->attempt++;
    sk_log(SK_LOG_DEBUG, "symbols-%u.zip: posting %zu files, %llu bytes (attempt %u)", j->number,
           j->n, (unsigned long long)j->zip_len, j->attempt);
    if (curl_multi_add_handle(e->multi, c) != CURLM_OK) {
        finish_job(e, j, SU_UP_FAILED, "cannot start an HTTP request");
        return -1;
    }
    e->active++;
    return 0;
}

/* ---- replies ------------------------------------------------------------- */

typedef struct skip_ctx {
    engine *e;
    job *j;
    size_t count;
} skip_ctx;

/* Tecken may report keys with a storage prefix ("v1/..."): match on the
 * key itself or on "/<key>" at the end. */
static void on_skipped(const char *key, void *ctx)
{
    skip_ctx *s = ctx;
    size_t kl = strlen(key);
    for (size_t k = 0; k < s->j->n; k++) {
        su_file *f = &s->e->set->files[s->j->idx[k]];
        size_t fl = strlen(f->key);
        if (f->upload != SU_UP_PENDING)
            continue;
        if (strcmp(key, f->key) == 0 ||
            (kl > fl && key[kl - fl - 1] == '/' && strcmp(key + kl - fl, f->key) == 0)) {
            f->upload = SU_UP_SKIPPED;
            s->count++;
        }
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
        return false;
    default:
        return true;
    }
}

static void retry_or_fail(engine *e, job *j, const char *why, const char *retry_after)
{
    if (e->abort_reason) {
        finish_job(e, j, SU_UP_FAILED, e->abort_reason);
        return;
    }
    if (j->attempt > e->opt->retries) {
        sk_buf b;
        sk_buf_init(&b);
        sk_buf_printf(&b, "gave up after %u attempts: %s", j->attempt, why);
        sk_log(SK_LOG_ERROR, "symbols-%u.zip: %s", j->number, b.data);
        finish_job(e, j, SU_UP_FAILED, b.data);
        sk_buf_free(&b);
        return;
    }
    double delay;
    if (!retry_after || !retry_after[0] || !su_parse_retry_after(retry_after, time(NULL), &delay))
        delay = su_backoff_delay(e->opt->retry_delay, j->attempt, su_random_unit());
    sk_log(SK_LOG_WARN, "symbols-%u.zip: %s; retrying in %.3g s (attempt %u of %u)", j->number, why,
           delay, j->attempt + 1, e->opt->retries + 1);
    release_transfer(e, j);
    j->not_before = sk_now() + delay;
}

static void handle_done(engine *e, job *j, CURLcode rc)
{
    e->active--;
    if (rc != CURLE_OK) {
        char why[CURL_ERROR_SIZE + 64];
        snprintf(why, sizeof why, "%s", j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
        if (!transport_retryable(rc)) {
            sk_log(SK_LOG_ERROR, "symbols-%u.zip: %s", j->number, why);
            finish_job(e, j, SU_UP_FAILED, why);
        } else {
            retry_or_fail(e, j, why, NULL);
        }
        return;
    }
    long status = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300 && !su_json_has_member(j->resp.data, j->resp.len, "upload")) {
        /* A proxy or login page answering 200 is not an upload: claiming
         * success here would lose the files silently. */
        char why[160];
        snprintf(why, sizeof why,
                 "HTTP %ld, but the reply is not a Tecken upload record (wrong URL?)", status);
        sk_log(SK_LOG_ERROR, "symbols-%u.zip: %s", j->number, why);
        finish_job(e, j, SU_UP_FAILED, why);
        return;
    }
    if (status >= 200 && status < 300) {
        skip_ctx s = {e, j, 0};
        if (su_json_skipped_keys(j->resp.data, j->resp.len, on_skipped, &s) < 0)
            sk_log(SK_LOG_WARN, "symbols-%u.zip: reply has a malformed skipped_keys list",
                   j->number);
        sk_log(SK_LOG_INFO, "symbols-%u.zip: %zu files accepted (HTTP %ld), %zu already there",
               j->number, j->n - s.count, status, s.count);
        finish_job(e, j, SU_UP_UPLOADED, NULL);
        return;
    }
    char *msg = su_json_error(j->resp.data, j->resp.len);
    sk_buf why;
    sk_buf_init(&why);
    sk_buf_printf(&why, "HTTP %ld", status);
    if (msg) {
        sk_buf_puts(&why, ": ");
        append_redacted(&why, msg, strlen(msg), e->opt->token);
    }
    free(msg);

    if (su_status_retryable(status)) {
        char ra[sizeof j->retry_after];
        memcpy(ra, j->retry_after, sizeof ra);
        retry_or_fail(e, j, why.data, ra);
    } else if (status == 413 && j->n > 1) {
        size_t half = j->n / 2;
        job *a = add_job(e, j->idx, half);
        job *b = add_job(e, j->idx + half, j->n - half);
        sk_log(SK_LOG_WARN, "symbols-%u.zip: %s; splitting into symbols-%u.zip and symbols-%u.zip",
               j->number, why.data, a->number, b->number);
        /* The halves are new work, not the job itself finishing. */
        j->done = true;
        release_transfer(e, j);
        drop_zip(j);
    } else {
        if (status == 413)
            sk_buf_printf(&why, " (one file alone is too large for the server)");
        else if (status == 401 || status == 403)
            sk_buf_printf(&why, " (check the token and that it may upload symbols)");
        else if (status >= 300 && status < 400)
            sk_buf_printf(&why, " (the server redirects uploads: give the final URL)");
        bool quiet = false;
        if (status == 401 || status == 403) {
            /* Posts already in flight get the same refusal: one message is
             * enough, the summary still lists every file. */
            quiet = e->abort_reason != NULL;
            if (!e->abort_reason) {
                sk_buf ab;
                sk_buf_init(&ab);
                sk_buf_printf(&ab, "not sent: the server refused the token (%s)", why.data);
                e->abort_reason = sk_xstrdup(ab.data);
                sk_buf_free(&ab);
            }
        }
        if (!quiet)
            sk_log(SK_LOG_ERROR, "symbols-%u.zip: %s", j->number, why.data);
        finish_job(e, j, SU_UP_FAILED, why.data);
    }
    sk_buf_free(&why);
}

static void transfer_done(void *ctx, void *transfer, CURLcode rc)
{
    handle_done(ctx, transfer, rc);
}

/* ---- the loop ------------------------------------------------------------ */

static const su_set *order_set;
static int cmp_key(const void *a, const void *b)
{
    return strcmp(order_set->files[*(const size_t *)a].key, order_set->files[*(const size_t *)b].key);
}

/* The pending files, in key order so archives are reproducible. */
static size_t pending_files(su_set *set, size_t **out)
{
    size_t *idx = sk_xmalloc((set->n ? set->n : 1) * sizeof *idx);
    size_t m = 0;
    for (size_t i = 0; i < set->n; i++)
        if (set->files[i].upload == SU_UP_PENDING)
            idx[m++] = i;
    order_set = set;
    sk_sort(idx, m, sizeof *idx, cmp_key);
    order_set = NULL;
    *out = idx;
    return m;
}

static char *make_post_url(const char *base)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_append(&b, base, n);
    if (!(n >= 7 && memcmp(base + n - 7, "/upload", 7) == 0))
        sk_buf_puts(&b, "/upload");
    sk_buf_puts(&b, "/");
    char *r = sk_xstrdup(b.data);
    sk_buf_free(&b);
    return r;
}

/* Archives go to a private directory under $TMPDIR, never into the
 * user's tree. */
static char *make_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char *tmpl = sk_path_join(base, "symupload-XXXXXX");
    if (!mkdtemp(tmpl)) {
        free(tmpl);
        return NULL;
    }
    return tmpl;
}

int su_post_all(su_set *set, const su_options *opt, sk_error *err)
{
    (void)err;
    engine e;
    memset(&e, 0, sizeof e);
    e.set = set;
    e.opt = opt;

    size_t *idx;
    size_t m = pending_files(set, &idx);
    if (m == 0) {
        free(idx);
        return SK_OK;
    }
    uint64_t *sizes = sk_xmalloc(m * sizeof *sizes);
    size_t *group = sk_xmalloc(m * sizeof *group);
    for (size_t k = 0; k < m; k++) {
        sizes[k] = set->files[idx[k]].size;
        e.files_total++;
        e.bytes_total += sizes[k];
    }
    size_t ngroups = su_plan_groups(sizes, m, opt->zip_size, group);
    for (size_t g = 0, k = 0; g < ngroups; g++) {
        size_t start = k;
        while (k < m && group[k] == g)
            k++;
        add_job(&e, idx + start, k - start);
    }
    free(sizes);
    free(group);
    free(idx);
    sk_log(SK_LOG_INFO, "%s %llu files (%.1f MiB of .sym) in %zu archive%s to %s",
           opt->dry_run ? "would send" : "sending", (unsigned long long)e.files_total,
           (double)e.bytes_total / (1 << 20), e.njobs, e.njobs == 1 ? "" : "s", opt->url);
    report_progress(&e);

    e.tmpdir = make_tmpdir();
    if (!e.tmpdir) {
        char why[256];
        snprintf(why, sizeof why, "cannot create a temporary directory for the archives: %s",
                 strerror(errno));
        sk_log(SK_LOG_ERROR, "%s", why);
        for (size_t i = 0; i < e.njobs; i++)
            finish_job(&e, e.jobs[i], SU_UP_FAILED, why);
        goto out;
    }

    if (opt->dry_run) {
        for (size_t i = 0; i < e.njobs; i++) {
            job *j = e.jobs[i];
            sk_error zerr;
            sk_error_clear(&zerr);
            if (!ensure_zip(&e, j, &zerr)) {
                sk_log(SK_LOG_ERROR, "symbols-%u.zip: %s", j->number, zerr.msg);
                finish_job(&e, j, SU_UP_FAILED, zerr.msg);
            } else {
                sk_log(SK_LOG_INFO, "symbols-%u.zip: would post %zu files, %llu bytes", j->number,
                       j->n, (unsigned long long)j->zip_len);
                finish_job(&e, j, SU_UP_DRY_RUN, NULL);
            }
        }
        goto out;
    }

    e.post_url = make_post_url(opt->url);
    e.multi = curl_multi_init();
    if (!e.multi) {
        for (size_t i = 0; i < e.njobs; i++)
            finish_job(&e, e.jobs[i], SU_UP_FAILED, "cannot set up HTTP");
        goto out;
    }
    unsigned jobs = opt->jobs ? opt->jobs : 1;
    for (;;) {
        if (opt->cancel && *opt->cancel && !e.abort_reason) {
            e.abort_reason = sk_xstrdup("not sent: interrupted");
            sk_log(SK_LOG_ERROR, "interrupted: abandoning the uploads in progress");
            for (size_t i = 0; i < e.njobs; i++) {
                if (e.jobs[i]->easy) {
                    e.active--;
                    finish_job(&e, e.jobs[i], SU_UP_FAILED, "interrupted while sending");
                }
            }
        }
        double now = sk_now();
        double next_wake = -1;
        bool waiting = false;
        for (size_t i = 0; i < e.njobs; i++) {
            job *j = e.jobs[i];
            if (j->done || j->easy)
                continue;
            if (e.abort_reason) {
                finish_job(&e, j, SU_UP_FAILED, e.abort_reason);
                continue;
            }
            waiting = true;
            if (j->not_before > now) {
                if (next_wake < 0 || j->not_before < next_wake)
                    next_wake = j->not_before;
                continue;
            }
            if (e.active < jobs)
                start_job(&e, j);
        }
        if (!waiting && e.active == 0)
            break;
        su_multi_turn(e.multi, next_wake, transfer_done, &e);
        if (e.active)
            report_progress(&e);
    }
out:
    for (size_t i = 0; i < e.njobs; i++)
        free_job(&e, e.jobs[i]);
    free(e.jobs);
    if (e.multi)
        curl_multi_cleanup(e.multi);
    free(e.post_url);
    free(e.abort_reason);
    if (e.tmpdir) {
        rmdir(e.tmpdir);
        free(e.tmpdir);
    }
    return SK_OK;
}
