/*
 * archive.c — zips in Tecken's layout: members named by key
 * ("<debug_file>/<DEBUGID>/<name>.sym"), deflated, and split so no archive
 * grows past the size limit (servers time out on huge posts and one
 * failure then costs less to redo).
 */
#include <stdlib.h>
#include <string.h>
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

static int zip_fail(sk_error *err, const char *what, zip_error_t *ze)
{
    int rc = sk_fail(err, SK_EIO, "building zip: %s: %s", what, zip_error_strerror(ze));
    return rc;
}

int su_build_zip(const su_set *set, const size_t *idx, size_t n, const char *symbols_txt,
                 unsigned char **out, size_t *out_len, sk_error *err)
{
    *out = NULL;
    *out_len = 0;
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *mem = zip_source_buffer_create(NULL, 0, 0, &ze);
    if (!mem) {
        int rc = zip_fail(err, "memory source", &ze);
        zip_error_fini(&ze);
        return rc;
    }
    zip_t *za = zip_open_from_source(mem, ZIP_TRUNCATE, &ze);
    if (!za) {
        int rc = zip_fail(err, "open", &ze);
        zip_source_free(mem);
        zip_error_fini(&ze);
        return rc;
    }
    /* Keep the memory source alive past zip_close to read the result. */
    zip_source_keep(mem);
    int rc = SK_OK;
    sk_buf listing;
    sk_buf_init(&listing);

    for (size_t k = 0; k < n && rc == SK_OK; k++) {
        const su_file *f = &set->files[idx[k]];
        char *data = NULL;
        size_t len = 0;
        sk_error rerr;
        sk_error_clear(&rerr);
        if (sk_read_file(f->path, &data, &len, &rerr) != SK_OK) {
            rc = sk_fail(err, SK_EIO, "%s: %s", f->path, rerr.msg);
            break;
        }
        /* libzip takes ownership of data (freep = 1) and frees it at close. */
        zip_source_t *s = zip_source_buffer(za, data, len, 1);
        if (!s) {
            free(data);
            rc = sk_fail(err, SK_EIO, "building zip: %s", zip_strerror(za));
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
        char *name = NULL;
        sk_buf nb;
        sk_buf_init(&nb);
        sk_buf_printf(&nb, "%s-symbols.txt", symbols_txt);
        name = sk_xstrdup(nb.data);
        sk_buf_free(&nb);
        char *copy = sk_xmalloc(listing.len ? listing.len : 1);
        if (listing.len)
            memcpy(copy, listing.data, listing.len);
        zip_source_t *s = zip_source_buffer(za, copy, listing.len, 1);
        if (!s) {
            free(copy);
            rc = sk_fail(err, SK_EIO, "building zip: %s", zip_strerror(za));
        } else {
            zip_int64_t at = zip_file_add(za, name, s, ZIP_FL_ENC_UTF_8);
            if (at < 0) {
                zip_source_free(s);
                rc = sk_fail(err, SK_EIO, "building zip: %s: %s", name, zip_strerror(za));
            } else {
                zip_set_file_compression(za, (zip_uint64_t)at, ZIP_CM_DEFLATE, 0);
            }
        }
        free(name);
    }
    sk_buf_free(&listing);

    if (rc != SK_OK) {
        zip_discard(za);
        zip_source_free(mem);
        zip_error_fini(&ze);
        return rc;
    }
    if (zip_close(za) != 0) {
        rc = sk_fail(err, SK_EIO, "building zip: %s", zip_strerror(za));
        zip_discard(za);
        zip_source_free(mem);
        zip_error_fini(&ze);
        return rc;
    }

    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_source_stat(mem, &st) != 0 || !(st.valid & ZIP_STAT_SIZE) ||
        zip_source_open(mem) != 0) {
        zip_source_free(mem);
        zip_error_fini(&ze);
        return sk_fail(err, SK_EIO, "building zip: cannot read the archive back");
    }
    unsigned char *buf = sk_xmalloc(st.size ? st.size : 1);
    zip_int64_t got = zip_source_read(mem, buf, st.size);
    zip_source_close(mem);
    zip_source_free(mem);
    zip_error_fini(&ze);
    if (got < 0 || (zip_uint64_t)got != st.size) {
        free(buf);
        return sk_fail(err, SK_EIO, "building zip: short read of the archive");
    }
    *out = buf;
    *out_len = (size_t)st.size;
    return SK_OK;
}
