/*
 * run.c — the order of work for one symupload run (lint, store, skip
 * what exists, post) and the summary by key that tells the user what
 * arrived where.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "su_internal.h"

void su_options_init(su_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->jobs = 3;
    opt->retries = 6;
    opt->timeout = 300;
    opt->retry_delay = 10;
    opt->zip_size = 64ull << 20;
    opt->s3_part_size = 64ull << 20;
}

int su_run(su_set *set, const su_options *opt, sk_error *err)
{
    if (!opt->url && !opt->store_dir && !opt->s3_url)
        return sk_fail(err, SK_EUSAGE,
                       "nothing to do: give an upload URL, a store directory or an s3:// bucket");
    if (opt->url && !opt->dry_run && (!opt->token || !opt->token[0]))
        return sk_fail(err, SK_EUSAGE, "no token for %s", opt->url);
    if (opt->token && strpbrk(opt->token, "\r\n"))
        return sk_fail(err, SK_EUSAGE, "the token contains a line break");
    if (opt->skip_existing && opt->url && !opt->symbols_url)
        return sk_fail(err, SK_EUSAGE, "skipping existing files needs a symbols URL");
    if (opt->s3_url) {
        char *bucket = NULL, *prefix = NULL;
        int prc = su_s3_parse_url(opt->s3_url, &bucket, &prefix, err);
        char *base = NULL;
        if (prc == SK_OK)
            prc = su_s3_base_url(opt->s3_endpoint, "us-east-1", bucket, true, &base, err);
        free(base);
        free(bucket);
        free(prefix);
        if (prc != SK_OK)
            return prc;
        if (!opt->dry_run && (!opt->s3_access_key || !opt->s3_access_key[0] ||
                              !opt->s3_secret_key || !opt->s3_secret_key[0]))
            return sk_fail(err, SK_EUSAGE, "no credentials for %s: set AWS_ACCESS_KEY_ID and "
                                           "AWS_SECRET_ACCESS_KEY", opt->s3_url);
        if (opt->s3_part_size < SU_S3_MIN_PART)
            return sk_fail(err, SK_EUSAGE, "the S3 part size must be at least 5 MiB");
        const char *creds[] = {opt->s3_access_key, opt->s3_secret_key, opt->s3_session_token};
        for (size_t i = 0; i < 3; i++)
            if (creds[i] && strpbrk(creds[i], "\r\n"))
                return sk_fail(err, SK_EUSAGE, "an S3 credential contains a line break");
        if (opt->s3_region && (!opt->s3_region[0] || strpbrk(opt->s3_region, ":/\r\n \t")))
            return sk_fail(err, SK_EUSAGE, "'%s' is not an S3 region name", opt->s3_region);
    }
    if (opt->symbols_txt && !sk_is_safe_key_component(opt->symbols_txt))
        return sk_fail(err, SK_EUSAGE, "'%s' cannot start a zip member name", opt->symbols_txt);
    if (opt->timeout <= 0 || opt->retry_delay < 0 || opt->zip_size == 0)
        return sk_fail(err, SK_EUSAGE, "timeout and zip size must be positive");

    static bool curl_ready;
    if ((opt->url || opt->s3_url) && !curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            return sk_fail(err, SK_ENET, "cannot initialise libcurl");
        curl_ready = true;
    }

    su_lint(set);
    for (size_t i = 0; i < set->n; i++) {
        su_file *f = &set->files[i];
        if (f->lint == SU_LINT_INVALID)
            sk_log(SK_LOG_ERROR, "%s: %s", f->path, f->reason ? f->reason : "invalid");
        else if (f->lint == SU_LINT_COLLISION)
            sk_log(SK_LOG_ERROR, "%s: %s", f->path, f->reason ? f->reason : "key collision");
        if (f->lint != SU_LINT_OK)
            continue;
        if (opt->store_dir)
            su_store_one(f, opt->store_dir, opt->dry_run);
        if (opt->s3_url)
            f->s3 = SU_S3_PENDING;
        if (!opt->url)
            continue;
        /* A local store takes any safe file name (coreutils' "["); Tecken
         * refuses some characters in keys: say which files those are and
         * send the others. */
        const char *slash = strchr(f->key, '/');
        char *name = sk_xstrdup(f->key);
        if (slash)
            name[slash - f->key] = '\0';
        if (sk_is_safe_key_component(name)) {
            f->upload = SU_UP_PENDING;
        } else {
            f->upload = SU_UP_REFUSED;
            free(f->reason);
            sk_buf b;
            sk_buf_init(&b);
            sk_buf_printf(&b, "not uploadable: module name '%s' has characters a symbol server "
                              "refuses in keys (\\ ^ ` < > { } [ ] # %% \" ' | or non-ASCII)", name);
            f->reason = sk_xstrdup(b.data);
            sk_buf_free(&b);
            sk_log(SK_LOG_ERROR, "%s: %s", f->path, f->reason);
        }
        free(name);
    }
    if (opt->url && opt->skip_existing)
        su_skip_existing(set, opt);
    if (opt->url) {
        int rc = su_post_all(set, opt, err);
        if (rc != SK_OK)
            return rc;
    }
    if (opt->s3_url)
        return su_s3_all(set, opt, err);
    return SK_OK;
}

bool su_all_ok(const su_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        const su_file *f = &set->files[i];
        if (f->lint == SU_LINT_INVALID || f->lint == SU_LINT_COLLISION)
            return false;
        if (f->upload == SU_UP_FAILED || f->upload == SU_UP_PENDING || f->upload == SU_UP_REFUSED)
            return false;
        if (f->store == SU_ST_DIFFERS || f->store == SU_ST_FAILED)
            return false;
        if (f->s3 == SU_S3_FAILED || f->s3 == SU_S3_PENDING || f->s3 == SU_S3_DIFFERS)
            return false;
    }
    return true;
}

static const char *name_of(const su_file *f)
{
    return f->key ? f->key : f->path;
}

/* Summary order: files without a key first (by path), then by key, so
 * a person can find one module and its duplicates together. */
static const su_set *summary_set;
static int cmp_summary(const void *a, const void *b)
{
    const su_file *fa = &summary_set->files[*(const size_t *)a];
    const su_file *fb = &summary_set->files[*(const size_t *)b];
    if (!fa->key != !fb->key)
        return fa->key ? 1 : -1;
    int c = fa->key ? strcmp(fa->key, fb->key) : 0;
    return c ? c : strcmp(fa->path, fb->path);
}

void su_write_summary(const su_set *set, const su_options *opt, bool quiet, FILE *out)
{
    size_t up = 0, skipped = 0, existing = 0, would = 0, failed = 0, refused = 0, invalid = 0, dup = 0,
           coll = 0;
    size_t stored = 0, same = 0, differs = 0, sfailed = 0, swould = 0;
    size_t s3up = 0, s3exist = 0, s3differ = 0, s3failed = 0, s3would = 0;
    size_t *order = sk_xmalloc((set->n ? set->n : 1) * sizeof *order);
    for (size_t i = 0; i < set->n; i++)
        order[i] = i;
    summary_set = set;
    sk_sort(order, set->n, sizeof *order, cmp_summary);
    summary_set = NULL;
    for (size_t oi = 0; oi < set->n; oi++) {
        const su_file *f = &set->files[order[oi]];
        const char *why = f->reason ? f->reason : "";
        switch (f->lint) {
        case SU_LINT_INVALID:
            invalid++;
            fprintf(out, "invalid     %s: %s\n", f->path, why);
            continue;
        case SU_LINT_COLLISION:
            coll++;
            fprintf(out, "collision   %s (%s): %s\n", name_of(f), f->path, why);
            continue;
        case SU_LINT_DUPLICATE:
            dup++;
            if (!quiet)
                fprintf(out, "duplicate   %s (%s): %s\n", name_of(f), f->path, why);
            continue;
        case SU_LINT_OK:
            break;
        }
        switch (f->upload) {
        case SU_UP_UPLOADED:
            up++;
            if (!quiet)
                fprintf(out, "uploaded    %s\n", f->key);
            break;
        case SU_UP_SKIPPED:
            skipped++;
            if (!quiet)
                fprintf(out, "skipped     %s (the server already had it)\n", f->key);
            break;
        case SU_UP_EXISTING:
            existing++;
            if (!quiet)
                fprintf(out, "existing    %s (found on the symbols server, not sent)\n", f->key);
            break;
        case SU_UP_DRY_RUN:
            would++;
            if (!quiet)
                fprintf(out, "would-send  %s (symbols-%u.zip)\n", f->key, f->archive);
            break;
        case SU_UP_FAILED:
        case SU_UP_PENDING:
            failed++;
            fprintf(out, "failed      %s: %s\n", f->key, f->reason ? f->reason : "not sent");
            break;
        case SU_UP_REFUSED:
            refused++;
            fprintf(out, "not-uploadable %s: %s\n", f->key, f->reason ? f->reason : "");
            break;
        case SU_UP_NONE:
            break;
        }
        switch (f->store) {
        case SU_ST_WRITTEN:
            stored++;
            if (!quiet)
                fprintf(out, "stored      %s\n", f->key);
            break;
        case SU_ST_SAME:
            same++;
            if (!quiet)
                fprintf(out, "unchanged   %s (identical file already in the store)\n", f->key);
            break;
        case SU_ST_DRY_RUN:
            swould++;
            if (!quiet)
                fprintf(out, "would-store %s\n", f->key);
            break;
        case SU_ST_DIFFERS:
            differs++;
            fprintf(out, "differs     %s: %s\n", f->key, f->store_reason ? f->store_reason : "");
            break;
        case SU_ST_FAILED:
            sfailed++;
            fprintf(out, "store-failed %s: %s\n", f->key, f->store_reason ? f->store_reason : "");
            break;
        case SU_ST_NONE:
            break;
        }
        const char *note = f->s3_reason ? f->s3_reason : "";
        switch (f->s3) {
        case SU_S3_UPLOADED:
            s3up++;
            if (!quiet)
                fprintf(out, "s3-uploaded %s\n", f->key);
            break;
        case SU_S3_EXISTING:
            s3exist++;
            if (!quiet)
                fprintf(out, "s3-existing %s (%s)\n", f->key,
                        f->s3_reason ? note : "identical object in the bucket, left alone");
            break;
        case SU_S3_DRY_RUN:
            s3would++;
            if (!quiet)
                fprintf(out, "s3-would    %s\n", f->key);
            break;
        case SU_S3_DIFFERS:
            s3differ++;
            fprintf(out, "s3-differs  %s: %s\n", f->key, note);
            break;
        case SU_S3_FAILED:
        case SU_S3_PENDING:
            s3failed++;
            fprintf(out, "s3-failed   %s: %s\n", f->key, f->s3_reason ? note : "not sent");
            break;
        case SU_S3_NONE:
            break;
        }
    }
    free(order);
    if (quiet && su_all_ok(set))
        return;
    fprintf(out, "summary:");
    if (opt->url) {
        if (opt->dry_run)
            fprintf(out, " %zu would be sent,", would);
        else
            fprintf(out, " %zu uploaded, %zu skipped,", up, skipped);
        if (opt->skip_existing)
            fprintf(out, " %zu existing,", existing);
        fprintf(out, " %zu failed,", failed);
        if (refused)
            fprintf(out, " %zu not uploadable,", refused);
    }
    if (opt->store_dir) {
        if (opt->dry_run)
            fprintf(out, " %zu would be stored,", swould);
        else
            fprintf(out, " %zu stored,", stored);
        fprintf(out, " %zu unchanged, %zu differ, %zu store errors,", same, differs, sfailed);
    }
    if (opt->s3_url) {
        fprintf(out, " s3:");
        if (opt->dry_run)
            fprintf(out, " %zu would be sent,", s3would);
        else
            fprintf(out, " %zu uploaded,", s3up);
        if (opt->skip_existing)
            fprintf(out, " %zu existing, %zu differ,", s3exist, s3differ);
        fprintf(out, " %zu failed,", s3failed);
    }
    fprintf(out, " %zu invalid, %zu collisions, %zu duplicates\n", invalid, coll, dup);
}
