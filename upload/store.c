/*
 * store.c — the plain on-disk symbol store (<dir>/<key>), the same layout
 * dumpsyms --store writes and stackwalk --symbols-path reads.  A file
 * already at the key is never overwritten: identical is success, different
 * is an error the user has to look at (two builds claiming one debug id).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "su_internal.h"

static void set_store_reason(su_file *f, const char *msg)
{
    free(f->store_reason);
    f->store_reason = sk_xstrdup(msg);
}

void su_store_one(su_file *f, const char *store_dir, bool dry_run)
{
    char *dest = sk_path_join(store_dir, f->key);
    char *data = NULL, *old = NULL;
    size_t len = 0, old_len = 0;
    sk_error err;
    sk_error_clear(&err);

    if (sk_read_file(f->path, &data, &len, &err) != SK_OK) {
        f->store = SU_ST_FAILED;
        set_store_reason(f, err.msg);
        goto out;
    }
    if (sk_is_file(dest)) {
        if (sk_read_file(dest, &old, &old_len, &err) != SK_OK) {
            f->store = SU_ST_FAILED;
            set_store_reason(f, err.msg);
        } else if (old_len == len && (len == 0 || memcmp(old, data, len) == 0)) {
            f->store = SU_ST_SAME;
        } else {
            f->store = SU_ST_DIFFERS;
            sk_buf b;
            sk_buf_init(&b);
            sk_buf_printf(&b, "%s already exists with different contents (left alone)", dest);
            set_store_reason(f, b.data);
            sk_buf_free(&b);
        }
        goto out;
    }
    if (dry_run) {
        f->store = SU_ST_DRY_RUN;
        goto out;
    }
    char *dir = sk_xstrdup(dest);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    int rc = sk_mkdir_p(dir, &err);
    free(dir);
    if (rc == SK_OK)
        rc = sk_write_file_atomic(dest, data, len, &err);
    if (rc != SK_OK) {
        f->store = SU_ST_FAILED;
        set_store_reason(f, err.msg);
    } else {
        f->store = SU_ST_WRITTEN;
        sk_log(SK_LOG_DEBUG, "stored %s", dest);
    }
out:
    free(data);
    free(old);
    free(dest);
}
