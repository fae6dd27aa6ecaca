/* files.c — mapping inputs, reading small files, writing outputs atomically. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int sk_map_file(const char *path, sk_mapped *m, sk_error *err)
{
    m->data = NULL;
    m->size = 0;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; the type
     * check below then refuses it. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return sk_fail(err, SK_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return sk_fail(err, SK_EIO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return sk_fail(err, SK_EIO, "%s: is a directory", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return sk_fail(err, SK_EIO, "%s: not a regular file", path);
    }
    if (st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            close(fd);
            return sk_fail(err, SK_EIO, "%s: cannot map: %s", path, strerror(e));
        }
        m->data = p;
        m->size = (size_t)st.st_size;
    }
    close(fd);
    return SK_OK;
}

void sk_unmap(sk_mapped *m)
{
    if (m->data)
        munmap((void *)m->data, m->size);
    m->data = NULL;
    m->size = 0;
}

int sk_read_file(const char *path, char **data, size_t *size, sk_error *err)
{
    *data = NULL;
    if (size)
        *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return sk_fail(err, SK_EIO, "%s: cannot open: %s", path, strerror(errno));
    sk_buf b;
    sk_buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        sk_buf_append(&b, chunk, n);
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        sk_buf_free(&b);
        return sk_fail(err, SK_EIO, "%s: read error", path);
    }
    if (!b.data)
        sk_buf_append(&b, "", 0);
    *data = b.data;
    if (size)
        *size = b.len;
    return SK_OK;
}

int sk_mkdir_p(const char *path, sk_error *err)
{
    char *p = sk_xstrdup(path);
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            sk_fail(err, SK_EIO, "%s: cannot create directory: %s", p, strerror(e));
            free(p);
            return SK_EIO;
        }
        p[i] = saved;
    }
    free(p);
    if (!sk_is_dir(path))
        return sk_fail(err, SK_EIO, "%s: exists and is not a directory", path);
    return SK_OK;
}

bool sk_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool sk_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

const char *sk_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

char *sk_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 1 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    size_t lb = strlen(b);
    char *out = sk_xmalloc(la + 1 + lb + 1);
    memcpy(out, a, la);
    out[la] = '/';
    memcpy(out + la + 1, b, lb + 1);
    return out;
}

int sk_atomic_open(sk_atomic_file *f, const char *path, sk_error *err)
{
    size_t plen = strlen(path);
    f->error = 0;
    f->path = sk_xstrdup(path);
    f->tmp = sk_xmalloc(plen + 32);
    snprintf(f->tmp, plen + 32, "%s.tmp.XXXXXX", path);
    f->fd = mkstemp(f->tmp);
    if (f->fd < 0) {
        int e = errno;
        free(f->path);
        free(f->tmp);
        f->path = f->tmp = NULL;
        return sk_fail(err, SK_EIO, "%s: cannot create temporary file: %s", path, strerror(e));
    }
    return SK_OK;
}

bool sk_atomic_write(sk_atomic_file *f, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0 && !f->error) {
        ssize_t w = write(f->fd, p, len);
        if (w < 0) {
            if (errno != EINTR)
                f->error = errno;
            continue;
        }
        p += w;
        len -= (size_t)w;
    }
    return !f->error;
}

static void atomic_release(sk_atomic_file *f, bool remove)
{
    if (f->fd >= 0)
        close(f->fd);
    if (remove && f->tmp)
        unlink(f->tmp);
    free(f->tmp);
    free(f->path);
    f->tmp = f->path = NULL;
    f->fd = -1;
}

void sk_atomic_abort(sk_atomic_file *f)
{
    atomic_release(f, true);
}

int sk_atomic_commit(sk_atomic_file *f, sk_error *err)
{
    if (f->error) {
        int rc = sk_fail(err, SK_EIO, "%s: write failed: %s", f->path, strerror(f->error));
        atomic_release(f, true);
        return rc;
    }
    /* Files in a store are read by other users and servers: not 0600. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(f->fd, 0666 & ~mask);
    int e = fsync(f->fd) != 0 ? errno : 0;
    if (close(f->fd) != 0 && !e)
        e = errno;
    f->fd = -1;
    if (e) {
        int rc = sk_fail(err, SK_EIO, "%s: write failed: %s", f->path, strerror(e));
        atomic_release(f, true);
        return rc;
    }
    if (rename(f->tmp, f->path) != 0) {
        int rc = sk_fail(err, SK_EIO, "%s: cannot rename into place: %s", f->path, strerror(errno));
        atomic_release(f, true);
        return rc;
    }
    atomic_release(f, false);
    return SK_OK;
}

int sk_write_file_atomic(const char *path, const void *data, size_t len, sk_error *err)
{
    sk_atomic_file f;
    int rc = sk_atomic_open(&f, path, err);
    if (rc)
        return rc;
    sk_atomic_write(&f, data, len);
    return sk_atomic_commit(&f, err);
}
