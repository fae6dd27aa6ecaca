/*
 * Internal pieces of the upload module, shared between its files and
 * exposed to the unit tests (tests/upload/) — not part of upload.h.
 */
#ifndef SYMKIT_SU_INTERNAL_H
#define SYMKIT_SU_INTERNAL_H

#include <curl/curl.h>
#include <time.h>

#include "upload.h"

/* ---- the transfer loop (multi.c) ---------------------------------------- */

/* Called for each finished transfer with its CURLINFO_PRIVATE pointer. */
typedef void (*su_transfer_done)(void *ctx, void *transfer, CURLcode result);
/* One turn of a curl multi loop: runs the transfers, hands each finished
 * one to done(), then waits for activity for at most 200 ms, or until
 * next_wake (an sk_now() time; < 0 for none). */
void su_multi_turn(CURLM *multi, double next_wake, su_transfer_done done, void *ctx);

/* A reply body callback's work: appends p[0..n) to resp while it holds
 * less than cap bytes (the start of a reply carries the error message; a
 * hostile endless body must not be buffered), and returns n for curl. */
size_t su_reply_append(sk_buf *resp, size_t cap, const char *p, size_t n);

/* When the header line line[0..n) is `name` (lower case, with its colon;
 * matched without regard to case), copies its value, without surrounding
 * blanks and line end, into dst (cut to cap - 1 bytes) and returns true. */
bool su_header_value(const char *line, size_t n, const char *name, char *dst, size_t cap);

/* ---- retry policy (retry.c) -------------------------------------------- */

/* Largest delay backoff ever waits, and largest Retry-After we obey. */
#define SU_BACKOFF_CAP 120.0
#define SU_RETRY_AFTER_CAP 3600.0

/* Delay before retry number `attempt` (1 = first retry): base * 1.5^(attempt-1),
 * capped at SU_BACKOFF_CAP (or base when base is larger), then scaled by a
 * jitter factor 0.5 + 0.5 * r, r in [0, 1), so clients that failed together
 * do not come back together. */
double su_backoff_delay(double base, unsigned attempt, double r);

/* Parses a Retry-After header value: delta seconds or an HTTP-date (IMF
 * fixdate, e.g. "Wed, 21 Oct 2015 07:28:00 GMT") relative to now.  Past
 * dates give 0, values are capped at SU_RETRY_AFTER_CAP.  False when the
 * value is neither. */
bool su_parse_retry_after(const char *value, time_t now, double *seconds);

/* HTTP statuses worth another attempt (408, 429, 500, 502, 503, 504). */
bool su_status_retryable(long status);

/* A random number in [0, 1) for jitter. */
double su_random_unit(void);

/* ---- JSON replies (json.c) --------------------------------------------- */

/* True when the reply has a member called name (at any depth). */
bool su_json_has_member(const char *json, size_t len, const char *name);
/* The string value of the first "error" member, malloc'd, or NULL. */
char *su_json_error(const char *json, size_t len);
/* Calls fn for each string of the first "skipped_keys" array.  Returns the
 * number of strings, or -1 when the array is malformed. */
int su_json_skipped_keys(const char *json, size_t len, void (*fn)(const char *key, void *ctx),
                         void *ctx);

/* ---- archives (archive.c) ---------------------------------------------- */

/* Splits n files of the given sizes, in order, into consecutive groups whose
 * total stays within limit (a file larger than limit gets a group of its
 * own).  group_of[i] receives the 0-based group of file i; returns the
 * number of groups. */
size_t su_plan_groups(const uint64_t *sizes, size_t n, uint64_t limit, size_t *group_of);

/* Writes a zip (deflate) to out_path holding files idx[0..n) of set under
 * their keys, plus "<symbols_txt>-symbols.txt" listing the keys when
 * symbols_txt is non-NULL.  Members are streamed from their files, so
 * memory does not grow with their size.  *out_len gets the zip's size. */
int su_build_zip(const su_set *set, const size_t *idx, size_t n, const char *symbols_txt,
                 const char *out_path, uint64_t *out_len, sk_error *err);

/* ---- store (store.c) --------------------------------------------------- */

/* Puts file i of set into the store under its key, recording the state. */
void su_store_one(su_file *f, const char *store_dir, bool dry_run);

/* ---- HTTP (post.c, exists.c) ------------------------------------------ */

/* HEADs <symbols_url>/<key> for each pending file; those the server has
 * become SU_UP_EXISTING.  Errors only warn: the file is then sent. */
void su_skip_existing(su_set *set, const su_options *opt);

/* Posts the pending files (upload == SU_UP_PENDING) as described in
 * upload.h, updating their states. */
int su_post_all(su_set *set, const su_options *opt, sk_error *err);

/* ---- S3 (s3_util.c, s3.c) ------------------------------------------------ */

#include <sys/types.h>

/* Smallest part S3 accepts (except the last). */
#define SU_S3_MIN_PART (5ull << 20)

/* s3://BUCKET[/PREFIX] -> bucket, prefix ("" or "a/b", no outer slashes). */
int su_s3_parse_url(const char *url, char **bucket, char **prefix, sk_error *err);
bool su_s3_use_path_style(su_s3_addressing a, const char *endpoint, const char *bucket);
/* The URL objects are under (no trailing slash): ENDPOINT/BUCKET or
 * scheme://BUCKET.HOST; AWS's regional endpoint when endpoint is NULL. */
int su_s3_base_url(const char *endpoint, const char *region, const char *bucket, bool path_style,
                   char **out, sk_error *err);
/* Text of the first leaf element <tag>...</tag> of an XML reply, entities
 * decoded, malloc'd; NULL when absent or malformed. */
char *su_xml_text(const char *xml, size_t len, const char *tag);
bool su_xml_has_element(const char *xml, size_t len, const char *tag);
void su_xml_escape(sk_buf *out, const char *s);
/* What a 403 means, for the user, from S3's error code. */
const char *su_s3_refusal_hint(const char *code);
/* Error codes worth another attempt whatever the status (SlowDown, ...). */
bool su_s3_code_retryable(const char *code);
void su_sha256_hex(const void *data, size_t n, char hex[65]);
int su_sha256_file(const char *path, char hex[65], uint64_t *size, sk_error *err);

/* An object's request body: the file gzip'ed (or plain), in memory when
 * small, else in a temporary file (or read from the file itself when
 * plain), with SHA-256 of the whole .sym and of each part. */
typedef struct su_s3_body {
    sk_buf mem;
    int fd;
    char *tmp_path;
    uint64_t len;        /* body bytes */
    uint64_t part_size;  /* effective (grown past 10,000 parts) */
    size_t nparts;       /* 1: a single PUT */
    char (*part_sha)[65];
    char plain_sha[65];
    uint64_t plain_size;
} su_s3_body;

int su_s3_body_prepare(const char *path, uint64_t size, bool compress, uint64_t part_size,
                       const char *tmpdir, su_s3_body *b, sk_error *err);
uint64_t su_s3_part_len(const su_s3_body *b, size_t part);
ssize_t su_s3_body_read(const su_s3_body *b, uint64_t off, void *buf, size_t n);
void su_s3_body_free(su_s3_body *b);

/* Uploads the files with s3 == SU_S3_PENDING. */
int su_s3_all(su_set *set, const su_options *opt, sk_error *err);

/* Records a failure reason on f (replacing an earlier one). */
void su_file_fail_reason(su_file *f, const char *fmt, ...) SK_PRINTF(2, 3);

#endif
