/* files.c — mapping inputs, reading small files, writing outputs atomically. */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

/* The leaf first, its parents only when it has none: a store's NAME/ID
 * directory usually has its parents already, and creating every component
 * from the root cost five system calls a file. */
int sk_mkdir_p(const char *path, sk_error *err)
{
    if (mkdir(path, 0777) == 0)
        return SK_OK;
    int e = errno;
    if (e == ENOENT) {
        char *parent = sk_xstrdup(path);
        size_t n = strlen(parent);
        while (n > 1 && parent[n - 1] == '/') /* "a/b/" is "a/b" */
            n--;
        while (n > 0 && parent[n - 1] != '/')
            n--;
        while (n > 1 && parent[n - 1] == '/')
            n--;
        parent[n] = '\0';
        int rc = n ? sk_mkdir_p(parent, err) : SK_OK;
        free(parent);
        if (rc)
            return rc;
        e = mkdir(path, 0777) == 0 ? 0 : errno;
        if (!e)
            return SK_OK;
    }
    if (e != EEXIST)
        return sk_fail(err, SK_EIO, "%s: cannot create directory: %s", path, strerror(e));
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

/* Files in a store are read by other users and servers: not 0600 but 0666
 * less the umask.  umask(2) cannot be read without being set, and while it
 * is 0 another thread's mkdir() would make a world-writable directory: it
 * is read once, by the first commit or committer (both before any thread
 * that writes), not once a file. */
static mode_t g_file_mode;
static pthread_once_t g_file_mode_once = PTHREAD_ONCE_INIT;

static void read_umask(void)
{
    mode_t mask = umask(0);
    umask(mask);
    g_file_mode = 0666 & ~mask;
}

static mode_t file_mode(void)
{
    pthread_once(&g_file_mode_once, read_umask);
    return g_file_mode;
}

/* What sk_atomic_commit() does when it is not handed over. */
static int atomic_finish(sk_atomic_file *f, sk_error *err)
{
    if (f->error) {
        int rc = sk_fail(err, SK_EIO, "%s: write failed: %s", f->path, strerror(f->error));
        atomic_release(f, true);
        return rc;
    }
    fchmod(f->fd, file_mode());
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

/* ---- the committer ------------------------------------------------------ */

/* Open files waiting for their commit: each holds a descriptor, so the
 * queue is short and a writer waits when it is full. */
#define COMMIT_QUEUE 16

typedef struct pending {
    sk_atomic_file f; /* f.path NULL: a ticket to pass on in turn, no file */
    void *ticket;
} pending;

struct sk_committer {
    sk_commit_fn done;
    void *ctx;
    pthread_mutex_t lock;
    pthread_cond_t cv; /* an entry queued or taken, or closing */
    pending q[COMMIT_QUEUE];
    size_t head, len;
    bool closing, threaded;
    pthread_t thread;
};

/* Commits (or passes on) one entry and tells done; the path is copied
 * first since the commit releases it. */
static void run_pending(sk_committer *c, pending *p)
{
    if (!p->f.path) {
        c->done(p->ticket, NULL, SK_OK, NULL, c->ctx);
        return;
    }
    sk_error err = {0};
    char *path = sk_xstrdup(p->f.path);
    int rc = atomic_finish(&p->f, &err);
    c->done(p->ticket, path, rc, rc ? &err : NULL, c->ctx);
    free(path);
}

static void *commit_loop(void *arg)
{
    sk_committer *c = arg;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        while (!c->len && !c->closing)
            pthread_cond_wait(&c->cv, &c->lock);
        if (!c->len)
            break;
        pending p = c->q[c->head];
        c->head = (c->head + 1) % COMMIT_QUEUE;
        c->len--;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->lock);
        run_pending(c, &p);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

sk_committer *sk_committer_start(sk_commit_fn done, void *ctx)
{
    sk_committer *c = sk_xcalloc(1, sizeof *c);
    c->done = done;
    c->ctx = ctx;
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->cv, NULL);
    file_mode();
    c->threaded = pthread_create(&c->thread, NULL, commit_loop, c) == 0;
    return c;
}

/* Without a thread the entry is run at once, under the lock: done is
 * serialized either way. */
static void push(sk_committer *c, const pending *p)
{
    pthread_mutex_lock(&c->lock);
    if (!c->threaded) {
        pending now = *p;
        run_pending(c, &now);
        pthread_mutex_unlock(&c->lock);
        return;
    }
    while (c->len == COMMIT_QUEUE)
        pthread_cond_wait(&c->cv, &c->lock);
    c->q[(c->head + c->len) % COMMIT_QUEUE] = *p;
    c->len++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->lock);
}

void sk_committer_post(sk_committer *c, void *ticket)
{
    push(c, &(pending){.f = {.fd = -1}, .ticket = ticket});
}

void sk_committer_hand(sk_committer *c, sk_atomic_file *f, void *ticket)
{
    push(c, &(pending){.f = *f, .ticket = ticket});
    *f = (sk_atomic_file){.fd = -1};
}

void sk_committer_finish(sk_committer *c)
{
    if (!c)
        return;
    if (c->threaded) {
        pthread_mutex_lock(&c->lock);
        c->closing = true;
        pthread_cond_broadcast(&c->cv);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->thread, NULL);
    }
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->cv);
    free(c);
}

int sk_atomic_commit(sk_atomic_file *f, sk_error *err)
{
    return atomic_finish(f, err);
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
