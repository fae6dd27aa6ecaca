/* cache.c — atomic, locked fills of the shared symbol cache (cache.h). */
#include "cache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static char *parent_dir(const char *path)
{
    char *dir = sk_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    return dir;
}

int sw_cache_lock(const char *cache, const char *key)
{
    char *path = sk_path_join(cache, key);
    size_t n = strlen(path);
    char *lock = sk_xmalloc(n + 6);
    memcpy(lock, path, n);
    memcpy(lock + n, ".lock", 6);
    free(path);
    char *dir = parent_dir(lock);
    sk_error err;
    int fd = -1;
    if (!sk_mkdir_p(dir, &err)) {
        fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd >= 0) {
            int rc;
            do
                rc = flock(fd, LOCK_EX);
            while (rc != 0 && errno == EINTR);
            if (rc != 0) {
                close(fd);
                fd = -1;
            }
        }
    }
    if (fd < 0)
        sk_log(SK_LOG_WARN, "symbols cache: cannot lock %s: %s", lock, strerror(errno));
    free(dir);
    free(lock);
    return fd;
}

void sw_cache_unlock(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        ssize_t w = write(fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

int sw_cache_store(const char *cache, const char *tmp, const char *key, const void *data, size_t len,
                   char **path_out, sk_error *err)
{
    *path_out = NULL;
    char *path = sk_path_join(cache, key);
    char *dir = parent_dir(path);
    int rc = sk_mkdir_p(dir, err);
    if (!rc && tmp)
        rc = sk_mkdir_p(tmp, err);
    if (rc) {
        free(dir);
        free(path);
        return rc;
    }
    const char *tdir = tmp ? tmp : dir;
    size_t cap = strlen(tdir) + 32;
    char *tname = sk_xmalloc(cap);
    snprintf(tname, cap, "%s/.symkit-XXXXXX", tdir);
    int fd = mkstemp(tname);
    bool ok = fd >= 0 && write_all(fd, data, len) == 0 && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        ok = false;
    if (ok && rename(tname, path) != 0) {
        int e = errno;
        unlink(tname);
        /* --symbols-tmp on another file system: fall back to a temporary
         * beside the entry, which renames atomically */
        ok = e == EXDEV && !sk_write_file_atomic(path, data, len, err);
        if (!ok && e != EXDEV)
            sk_fail(err, SK_EIO, "%s: cannot rename into the cache: %s", path, strerror(e));
    } else if (!ok) {
        int e = errno;
        if (fd >= 0)
            unlink(tname);
        sk_fail(err, SK_EIO, "%s: cannot write a temporary file: %s", tdir, strerror(e));
    }
    free(tname);
    free(dir);
    if (!ok) {
        free(path);
        return SK_EIO;
    }
    *path_out = path;
    return SK_OK;
}
