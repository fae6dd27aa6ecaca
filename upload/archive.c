/*
 * archive.c — zips in Tecken's layout: members named by key
 * ("<debug_file>/<DEBUGID>/<name>.sym"), deflated, and split so no archive
 * grows past the size limit (servers time out on huge posts and one
 * failure then costs less to redo).  The same files give the same archive
 * bytes: members carry their files' times, never the current time.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zip.h>

#include "su_internal.h"

size_t su_plan_groups(const uint64_t *sizes, size_t n, uint64_t limit, size_t *group_of)
{
    size_t groups = 0;
    uint64_t cur = 0; /* bytes in the open group, saturating at limit */
    for (size_t i = 0; i < n; i++) {
        if (groups == 0 || limit == 0 || (cur > 0 && sizes[i] > limit - cur)) {
            groups++;
            cur = 0;
        }
        group_of[i] = groups - 1;
        cur = sizes[i] >= limit - cur ? limit : cur + sizes[i];
    }
    return groups;
}

static int open_fail(sk_error *err, const char *path, int code)
{
    zip_error_t ze;
    zip_error_init_with_code(&ze, code);
    int rc = sk_fail(err, SK_EIO, "%s: cannot create zip: %s", path, zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return rc;
}

int su_build_zip(const su_set *set, const size_t *idx, size_t n, const char *symbols_txt,
                 const char *out_path, uint64_t *out_len, sk_error *err)
{
    *out_len = 0;
    if (n == 0)
        return sk_fail(err, SK_EUSAGE, "%s: no files for this archive", out_path);
    int code = 0;
    zip_t *za = zip_open(out_path, ZIP_CREATE | ZIP_TRUNCATE, &code);
    if (!za)
        return open_fail(err, out_path, code);
    int rc = SK_OK;
    sk_buf listing;
    sk_buf_init(&listing);
    time_t newest = 315532800; /* 1980-01-01, the earliest zip time */

    for (size_t k = 0; k < n && rc == SK_OK; k++) {
        const su_file *f = &set->files[idx[k]];
        /* libzip reads members only at zip_close and then names no file in
         * its errors: check readability here to say which one is wrong. */
        struct stat st;
        if (stat(f->path, &st) != 0 || access(f->path, R_OK) != 0) {
            rc = sk_fail(err, SK_EIO, "%s: %s", f->path, strerror(errno));
            break;
        }
        if (!S_ISREG(st.st_mode)) {
            rc = sk_fail(err, SK_EIO, "%s: not a regular file", f->path);
            break;
        }
        if (st.st_mtime > newest)
            newest = st.st_mtime;
        /* A file source streams through deflate at close: memory stays
         * flat however large the .sym is. */
        zip_source_t *s = zip_source_file(za, f->path, 0, 0);
        if (!s) {
            rc = sk_fail(err, SK_EIO, "%s: %s", f->path, zip_strerror(za));
            break;
        }
        zip_int64_t at = zip_file_add(za, f->key, s, ZIP_FL_ENC_UTF_8);
        if (at < 0) {
            zip_source_free(s);
            rc = sk_fail(err, SK_EIO, "building zip: %s: %s", f->key, zip_strerror(za));
            break;
        }
        if (zip_set_file_compression(za, (zip_uint64_t)at, ZIP_CM_DEFLATE, 0) != 0) {
            rc = sk_fail(err, SK_EIO, "building zip: %s: %s", f->key, zip_strerror(za));
            break;
        }
        sk_buf_printf(&listing, "%s\n", f->key);
    }
    if (rc == SK_OK && symbols_txt) {
        sk_buf nb;
        sk_buf_init(&nb);
        sk_buf_printf(&nb, "%s-symbols.txt", symbols_txt);
        char *copy = sk_xmalloc(listing.len ? listing.len : 1);
        if (listing.len)
            memcpy(copy, listing.data, listing.len);
        /* freep = 1: libzip frees copy once written. */
        zip_source_t *s = zip_source_buffer(za, copy, listing.len, 1);
        if (!s) {
            free(copy);
            rc = sk_fail(err, SK_EIO, "building zip: %s", zip_strerror(za));
        } else {
            zip_int64_t at = zip_file_add(za, nb.data, s, ZIP_FL_ENC_UTF_8);
            if (at < 0) {
                zip_source_free(s);
                rc = sk_fail(err, SK_EIO, "building zip: %s: %s", nb.data, zip_strerror(za));
            } else {
                zip_set_file_compression(za, (zip_uint64_t)at, ZIP_CM_DEFLATE, 0);
                /* Not "now": the same inputs must give the same archive. */
                zip_file_set_mtime(za, (zip_uint64_t)at, newest, 0);
            }
        }
        sk_buf_free(&nb);
    }
    sk_buf_free(&listing);

    if (rc != SK_OK) {
        zip_discard(za);
        return rc;
    }
    if (zip_close(za) != 0) {
        rc = sk_fail(err, SK_EIO, "%s: cannot write zip: %s", out_path, zip_strerror(za));
        zip_discard(za);
        remove(out_path);
        return rc;
    }
    struct stat st;
    if (stat(out_path, &st) != 0)
        return sk_fail(err, SK_EIO, "%s: zip vanished after writing: %s", out_path, strerror(errno));
    *out_len = (uint64_t)st.st_size;
    return SK_OK;
}
