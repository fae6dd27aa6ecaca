/*
 * upload — ships .sym files to a Tecken-compatible symbol server and/or a
 * plain on-disk symbol store and/or an S3-compatible bucket, losing nothing
 * on the way.
 *
 * The flow is: collect (.sym files, directories walked recursively, store
 * trees) -> lint (each file's MODULE line gives its key
 * "<debug_file>/<DEBUGID>/<name>.sym", never its own path) -> optionally
 * store (atomic writes) -> optionally drop what the server already has
 * (HEAD per key) -> zip (libzip, deflate, split by size) -> POST to
 * <url>/upload/ with bounded concurrency, retries with backoff, and a 413
 * making archives smaller.  Every file ends up with a state per
 * destination, so the caller can print a summary by key and exit 0 only
 * when everything arrived.  The S3 destination (s3.c) PUTs each file as
 * its own object under the same key (gzip-encoded, multipart past a part
 * size), signed by libcurl's AWS Signature V4.
 *
 * Protocol facts: ../shared/reference.md sections 4 and 9, docs/symupload.md.
 */
#ifndef SYMKIT_UPLOAD_H
#define SYMKIT_UPLOAD_H

#include "common.h"

/* What happened to one file, per destination. */
typedef enum su_lint_state {
    SU_LINT_OK,
    SU_LINT_INVALID,   /* bad or missing MODULE line, unsafe key, unreadable */
    SU_LINT_DUPLICATE, /* same key and same bytes as an earlier file: sent once */
    SU_LINT_COLLISION, /* same key as a different file: neither is sent */
} su_lint_state;

typedef enum su_upload_state {
    SU_UP_NONE,      /* not asked to upload, or not eligible */
    SU_UP_PENDING,
    SU_UP_UPLOADED,  /* the server accepted it */
    SU_UP_SKIPPED,   /* the server already had it (skipped_keys) */
    SU_UP_EXISTING,  /* HEAD said the server has it (--skip-existing) */
    SU_UP_DRY_RUN,   /* would have been sent */
    SU_UP_FAILED,
    SU_UP_REFUSED,   /* its name has characters Tecken refuses: not sent */
} su_upload_state;

typedef enum su_store_state {
    SU_ST_NONE,
    SU_ST_WRITTEN,
    SU_ST_SAME,     /* an identical file was already there */
    SU_ST_DIFFERS,  /* a different file is there: left alone, an error */
    SU_ST_DRY_RUN,
    SU_ST_FAILED,
} su_store_state;

typedef enum su_s3_state {
    SU_S3_NONE,
    SU_S3_PENDING,
    SU_S3_UPLOADED,
    SU_S3_EXISTING, /* --skip-existing: an identical object is there, left alone */
    SU_S3_DIFFERS,  /* --skip-existing: a different object is there: left alone, an error */
    SU_S3_DRY_RUN,
    SU_S3_FAILED,
} su_s3_state;

typedef enum su_s3_addressing {
    SU_S3_AUTO,    /* path-style for custom endpoints, virtual-host for AWS */
    SU_S3_PATH,    /* ENDPOINT/BUCKET/KEY */
    SU_S3_VIRTUAL, /* BUCKET.ENDPOINT-HOST/KEY */
} su_s3_addressing;

typedef struct su_file {
    char *path;     /* as found */
    char *key;      /* NULL unless the MODULE line gave a valid key */
    char *reason;   /* why lint or upload failed (NULL otherwise) */
    char *store_reason; /* why the store write failed or differs */
    uint64_t size;
    su_lint_state lint;
    su_upload_state upload;
    su_store_state store;
    su_s3_state s3;
    char *s3_reason;    /* why the S3 upload failed or differs, or a note */
    unsigned archive; /* symbols-N.zip it last went into, 0 for none */
} su_file;

typedef struct su_set {
    su_file *files;
    size_t n, cap;
} su_set;

void su_set_init(su_set *set);
void su_set_free(su_set *set);

/* Adds path: a file is taken whatever its name; a directory is walked
 * recursively (sorted, symlinked directories not followed) for "*.sym".
 * Fails only when path does not exist or a directory cannot be read. */
int su_collect(su_set *set, const char *path, sk_error *err);

/* The key of a .sym from its first line: checks 5 whitespace-separated
 * tokens, "MODULE", a 33-character upper-case debug id and a name that is a
 * safe path component (a local store takes it; whether a server does is
 * checked at upload time).  *key is malloc'd. */
int su_key_from_module_line(const char *text, size_t len, char **key, sk_error *err);

/* Reads the start of every collected file, derives keys, marks invalid
 * files and key collisions (comparing contents when keys are equal). */
void su_lint(su_set *set);

/* Progress for a bar or log lines: counts of files and their .sym bytes
 * done so far (uploaded, skipped or failed) out of those to send. */
typedef void (*su_progress_fn)(uint64_t files_done, uint64_t files_total, uint64_t bytes_done,
                               uint64_t bytes_total, void *ctx);

typedef struct su_options {
    const char *url;          /* Tecken base URL; NULL: no upload */
    const char *token;        /* Auth-Token value; never logged */
    const char *store_dir;    /* NULL: no store */
    const char *symbols_url;  /* base for HEAD <symbols_url>/<key> */
    bool skip_existing;       /* needs symbols_url */
    bool dry_run;             /* lint and zip, send and write nothing */
    bool try_upload;          /* adds the "try" form field */
    bool verbose;             /* log HTTP headers (token redacted) */
    const char *symbols_txt;  /* prefix for a "<prefix>-symbols.txt" member, or NULL */
    unsigned jobs;            /* concurrent posts, >= 1 */
    unsigned retries;         /* retries after the first attempt */
    double timeout;           /* seconds per request */
    double retry_delay;       /* first backoff delay in seconds */
    uint64_t zip_size;        /* uncompressed bytes per archive */
    /* S3 destination (NULL s3_url: none).  Credentials come from the
     * environment through main.c; they are never logged. */
    const char *s3_url;       /* s3://BUCKET[/PREFIX] */
    const char *s3_endpoint;  /* http(s)://HOST[:PORT][/PATH]; NULL: AWS */
    const char *s3_region;    /* NULL: us-east-1 */
    su_s3_addressing s3_addressing;
    const char *s3_access_key, *s3_secret_key, *s3_session_token;
    bool s3_no_compress;      /* store objects plain instead of gzip */
    uint64_t s3_part_size;    /* multipart past this many body bytes */
    su_progress_fn progress;
    void *progress_ctx;
    /* When non-NULL and set (e.g. by a SIGINT handler), the run stops soon:
     * transfers are abandoned, what was not sent is marked failed, and
     * temporary archives are removed. */
    const volatile int *cancel;
} su_options;

/* Defaults: 3 jobs, 6 retries, 300 s timeout, 10 s first delay, 64 MiB
 * archives and S3 parts. */
void su_options_init(su_options *opt);

/* Stores, checks existing keys and uploads the lint-clean files of set as
 * opt asks, recording per-file states.  Returns SK_OK when the run could be
 * carried out (individual failures are in the states: see su_all_ok), or
 * an error for bad options. */
int su_run(su_set *set, const su_options *opt, sk_error *err);

/* True when every collected file was valid and arrived everywhere asked. */
bool su_all_ok(const su_set *set);

/* The summary by key: one line per file and state, then the totals. With
 * quiet, only the problems.  Never prints the token (it never has it). */
void su_write_summary(const su_set *set, const su_options *opt, bool quiet, FILE *out);

#endif
