/* package.c — reading .deb/.ddeb/.rpm packages with libarchive (package.h). */
#include "package.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* No member of a real package comes near this; a header claiming more is
 * refused before anything is allocated for it. */
#define MAX_MEMBER ((uint64_t)16 << 30)

ds_pkg_kind ds_pkg_detect(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return DS_PKG_NONE;
    unsigned char m[8];
    ssize_t n = read(fd, m, sizeof m);
    close(fd);
    if (n == 8 && memcmp(m, "!<arch>\n", 8) == 0)
        return DS_PKG_DEB;
    if (n >= 4 && m[0] == 0xed && m[1] == 0xab && m[2] == 0xee && m[3] == 0xdb)
        return DS_PKG_RPM;
    return DS_PKG_NONE;
}

typedef struct source {
    const char *name;   /* the package, in messages */
    const char *path;   /* read from this file, or: */
    const uint8_t *mem; /* this memory */
    size_t mem_size;
    int xz_threads;     /* for a data.tar.xz: liblzma's threads (<= 1: one) */
} source;

static const char *clean_member(const char *p)
{
    for (;;) {
        if (p[0] == '.' && p[1] == '/')
            p += 2;
        else if (p[0] == '/')
            p++;
        else
            return p;
    }
}

/* Reads the data of the current entry whole (its header says how much).
 * SK_OK with *data NULL for a member that is not an ELF file. */
static int read_member(struct archive *a, struct archive_entry *e, uint8_t **data, size_t *size,
                       const char **why)
{
    *data = NULL;
    *size = 0;
    *why = NULL;
    unsigned char magic[4];
    size_t have = 0;
    while (have < 4) {
        la_ssize_t r = archive_read_data(a, magic + have, 4 - have);
        if (r < 0)
            return SK_EFORMAT;
        if (r == 0)
            return SK_OK; /* shorter than an ELF header */
        have += (size_t)r;
    }
    if (memcmp(magic, "\177ELF", 4) != 0)
        return SK_OK;
    uint64_t want = archive_entry_size_is_set(e) ? (uint64_t)archive_entry_size(e) : 0;
    if (want > MAX_MEMBER) {
        *why = "member size in its header is implausible";
        return SK_EFORMAT;
    }
    /* Grown as the data comes rather than trusting the header: a hostile
     * one could claim gigabytes it does not have. */
    size_t cap = want && want < ((size_t)64 << 20) ? (size_t)want : ((size_t)1 << 20);
    uint8_t *buf = malloc(cap);
    if (!buf) {
        *why = "out of memory";
        return SK_EIO;
    }
    memcpy(buf, magic, 4);
    size_t n = 4;
    for (;;) {
        if (n == cap) {
            if ((uint64_t)cap * 2 > MAX_MEMBER) {
                free(buf);
                *why = "member is too large";
                return SK_EFORMAT;
            }
            uint8_t *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                *why = "out of memory";
                return SK_EIO;
            }
            buf = nb;
            cap *= 2;
        }
        la_ssize_t r = archive_read_data(a, buf + n, cap - n);
        if (r < 0) {
            free(buf);
            return SK_EFORMAT;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (want && n != want) {
        free(buf);
        *why = "member is shorter than its header says";
        return SK_EFORMAT;
    }
    *data = buf;
    *size = n;
    return SK_OK;
}

/* Every member of an archive (tar or cpio) whose data is ELF. container
 * names the archive inside the package in messages ("data.tar.xz"), or
 * NULL when the package is the archive (RPM). */
static int walk_members(struct archive *a, const source *src, const char *container,
                        ds_pkg_member_fn fn, void *ctx, sk_error *err, const char *want_filter)
{
    char last[512] = "";
    struct archive_entry *e;
    bool first = true;
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            return SK_OK;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) { /* RETRY too: a damaged header */
            const char *msg = archive_error_string(a);
            if (last[0])
                return sk_fail(err, SK_EFORMAT, "%s: %s%safter %s: %s", src->name,
                               container ? container : "", container ? ": " : "", last,
                               msg ? msg : "unreadable member header");
            return sk_fail(err, SK_EFORMAT, "%s: %s%s%s", src->name, container ? container : "",
                           container ? ": " : "", msg ? msg : "unreadable archive");
        }
        if (first && want_filter) {
            /* A data.tar.xz that is really gzip (or plain) is a broken
             * package even if libarchive could read it. */
            const char *got = archive_filter_name(a, 0);
            if (!got || strcmp(got, want_filter) != 0) {
                if (strcmp(want_filter, "none") == 0)
                    return sk_fail(err, SK_EFORMAT, "%s: %s: %s-compressed although its name says "
                                   "it is not compressed", src->name, container, got ? got : "unknown");
                return sk_fail(err, SK_EFORMAT, "%s: %s: not %s-compressed as its name says (%s)",
                               src->name, container, want_filter, got ? got : "unknown");
            }
        }
        first = false;
        const char *member = clean_member(archive_entry_pathname(e) ? archive_entry_pathname(e) : "");
        snprintf(last, sizeof last, "%s", member);
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e))
            continue;
        uint8_t *data = NULL;
        size_t size = 0;
        const char *why = NULL;
        int rc = read_member(a, e, &data, &size, &why);
        if (rc) {
            const char *msg = why ? why : archive_error_string(a);
            return sk_fail(err, rc, "%s: %s%s%s: %s", src->name, container ? container : "",
                           container ? ": " : "", member, msg ? msg : "unreadable data");
        }
        if (!data)
            continue;
        rc = fn(ctx, member, data, size);
        if (rc)
            return rc;
    }
}

static int open_source(struct archive *a, const source *src)
{
    if (src->path)
        return archive_read_open_filename(a, src->path, 1 << 16);
    return archive_read_open_memory(a, src->mem, src->mem_size);
}

/* The inner archive of a .deb reads the outer one's current member. */
typedef struct nest {
    struct archive *outer;
    uint8_t buf[1 << 16];
} nest;

/* Up to n bytes of the outer archive's current member; on failure its
 * error is handed to the inner archive (the one the caller reports). */
static la_ssize_t read_outer(struct archive *outer, struct archive *inner, void *buf, size_t n)
{
    la_ssize_t got = archive_read_data(outer, buf, n);
    if (got < 0) {
        const char *msg = archive_error_string(outer);
        archive_set_error(inner, EIO, "%s", msg ? msg : "the package's ar member is unreadable");
    }
    return got;
}

static la_ssize_t nest_read(struct archive *inner, void *ctx, const void **buf)
{
    nest *n = ctx;
    *buf = n->buf;
    la_ssize_t got = read_outer(n->outer, inner, n->buf, sizeof n->buf);
    return got < 0 ? -1 : got;
}

/* A data.tar.xz decoded by liblzma's multi-threaded decoder rather than
 * libarchive's xz filter, which uses one thread: a big debug package's xz
 * (dpkg-deb writes 24 MiB blocks) is most of the time of reading it.  The
 * tar reader then sees plain data. */
typedef struct xzdec {
    struct archive *outer;
    lzma_stream z;
    bool in_eof, done;
    uint8_t in[1 << 16];
    uint8_t out[1 << 16];
} xzdec;

static const char *xz_message(lzma_ret ret)
{
    switch (ret) {
    case LZMA_FORMAT_ERROR: return "not xz-compressed as its name says";
    case LZMA_OPTIONS_ERROR: return "xz-compressed with options this liblzma does not support";
    case LZMA_DATA_ERROR: return "corrupt xz-compressed data";
    case LZMA_BUF_ERROR: return "xz-compressed data ends early (truncated?)";
    case LZMA_MEM_ERROR: return "out of memory decoding xz";
    default: return "xz decoding failed";
    }
}

static la_ssize_t xz_read(struct archive *inner, void *ctx, const void **buf)
{
    xzdec *x = ctx;
    *buf = x->out;
    if (x->done)
        return 0;
    x->z.next_out = x->out;
    x->z.avail_out = sizeof x->out;
    while (x->z.avail_out == sizeof x->out) {
        if (x->z.avail_in == 0 && !x->in_eof) {
            la_ssize_t got = read_outer(x->outer, inner, x->in, sizeof x->in);
            if (got < 0)
                return -1;
            x->in_eof = got == 0;
            x->z.next_in = x->in;
            x->z.avail_in = (size_t)got;
        }
        lzma_ret ret = lzma_code(&x->z, x->in_eof ? LZMA_FINISH : LZMA_RUN);
        if (ret == LZMA_STREAM_END) {
            x->done = true;
            break;
        }
        if (ret != LZMA_OK) {
            archive_set_error(inner, EIO, "%s", xz_message(ret));
            return -1;
        }
    }
    return (la_ssize_t)(sizeof x->out - x->z.avail_out);
}

/* The decoder for one data.tar.xz; NULL when liblzma cannot start one. */
static xzdec *xz_open(struct archive *outer, int threads)
{
    xzdec *x = malloc(sizeof *x);
    if (!x)
        return NULL;
    x->outer = outer;
    x->in_eof = x->done = false;
    x->z = (lzma_stream)LZMA_STREAM_INIT;
    lzma_mt mt = {
        .flags = LZMA_CONCATENATED,
        .threads = threads > 1 ? (uint32_t)threads : 1,
        /* Each thread holds a block in and out (2 x 24 MiB for dpkg-deb's
         * blocks): beyond this the decoder falls back to fewer threads, so
         * -j readers never hold more than -j times this. */
        .memlimit_threading = (uint64_t)128 << 20,
        .memlimit_stop = UINT64_MAX,
    };
    if (lzma_stream_decoder_mt(&x->z, &mt) != LZMA_OK) {
        free(x);
        return NULL;
    }
    return x;
}

static void xz_close(xzdec *x)
{
    if (x) {
        lzma_end(&x->z);
        free(x);
    }
}

/* libarchive's name for the filter a data.tar suffix promises. */
static const char *filter_for(const char *suffix)
{
    static const struct {
        const char *suffix, *filter;
    } map[] = {{"xz", "xz"}, {"zst", "zstd"}, {"gz", "gzip"}, {"bz2", "bzip2"}, {"lzma", "lzma"}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (strcmp(suffix, map[i].suffix) == 0)
            return map[i].filter;
    return NULL;
}

static int read_deb(const source *src, ds_pkg_member_fn fn, void *ctx, sk_error *err)
{
    struct archive *a = archive_read_new();
    if (!a)
        return sk_fail(err, SK_EIO, "%s: out of memory", src->name);
    archive_read_support_format_ar(a);
    int rc = SK_OK;
    if (open_source(a, src) != ARCHIVE_OK) {
        const char *msg = archive_error_string(a);
        rc = sk_fail(err, SK_EFORMAT, "%s: %s", src->name, msg ? msg : "not a Debian package");
        archive_read_free(a);
        return rc;
    }
    bool seen_data = false;
    char last[256] = "";
    struct archive_entry *e;
    for (;;) {
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF)
            break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) { /* RETRY too: a damaged header */
            const char *msg = archive_error_string(a);
            rc = last[0] ? sk_fail(err, SK_EFORMAT, "%s: after %s: %s", src->name, last,
                                   msg ? msg : "unreadable ar member header")
                         : sk_fail(err, SK_EFORMAT, "%s: %s", src->name,
                                   msg ? msg : "unreadable ar archive");
            break;
        }
        const char *name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
        snprintf(last, sizeof last, "%s", name);
        if (strncmp(name, "data.tar", 8) != 0)
            continue;
        seen_data = true;
        const char *suffix = name[8] == '.' ? name + 9 : "";
        const char *want = NULL;
        if (*suffix && !(want = filter_for(suffix))) {
            rc = sk_fail(err, SK_EFORMAT, "%s: %s: unknown compression '.%s'", src->name, name, suffix);
            break;
        }
        struct archive *in = archive_read_new();
        nest *n = malloc(sizeof *n);
        if (!in || !n) {
            free(n);
            if (in)
                archive_read_free(in);
            rc = sk_fail(err, SK_EIO, "%s: out of memory", src->name);
            break;
        }
        n->outer = a;
        xzdec *x = strcmp(suffix, "xz") == 0 ? xz_open(a, src->xz_threads) : NULL;
        archive_read_support_filter_all(in);
        archive_read_support_format_tar(in);
        archive_read_support_format_gnutar(in);
        int opened = x ? archive_read_open(in, x, NULL, xz_read, NULL)
                       : archive_read_open(in, n, NULL, nest_read, NULL);
        if (opened != ARCHIVE_OK) {
            const char *msg = archive_error_string(in);
            rc = sk_fail(err, SK_EFORMAT, "%s: %s: %s", src->name, name, msg ? msg : "unreadable");
        } else {
            /* What liblzma decoded is plain tar (or a tar wrongly
             * compressed twice, which is refused as well). */
            rc = walk_members(in, src, name, fn, ctx, err, x ? "none" : *suffix ? want : "none");
        }
        archive_read_free(in);
        xz_close(x);
        free(n);
        if (rc)
            break;
    }
    archive_read_free(a);
    if (rc == SK_OK && !seen_data)
        rc = sk_fail(err, SK_EFORMAT, "%s: no data.tar member: not a Debian package", src->name);
    return rc;
}

static int read_rpm(const source *src, ds_pkg_member_fn fn, void *ctx, sk_error *err)
{
    struct archive *a = archive_read_new();
    if (!a)
        return sk_fail(err, SK_EIO, "%s: out of memory", src->name);
    archive_read_support_filter_all(a); /* "rpm" strips lead and headers */
    archive_read_support_format_cpio(a);
    int rc;
    if (open_source(a, src) != ARCHIVE_OK) {
        const char *msg = archive_error_string(a);
        rc = sk_fail(err, SK_EFORMAT, "%s: %s", src->name, msg ? msg : "not an RPM package");
    } else {
        rc = walk_members(a, src, NULL, fn, ctx, err, NULL);
    }
    archive_read_free(a);
    return rc;
}

static int read_any(const source *src, ds_pkg_kind kind, ds_pkg_member_fn fn, void *ctx,
                    sk_error *err)
{
    if (kind == DS_PKG_DEB)
        return read_deb(src, fn, ctx, err);
    if (kind == DS_PKG_RPM)
        return read_rpm(src, fn, ctx, err);
    return sk_fail(err, SK_EFORMAT, "%s: neither a Debian nor an RPM package", src->name);
}

int ds_pkg_read(const char *path, int xz_threads, ds_pkg_member_fn fn, void *ctx, sk_error *err)
{
    source src = {.name = path, .path = path, .xz_threads = xz_threads};
    return read_any(&src, ds_pkg_detect(path), fn, ctx, err);
}

int ds_pkg_read_mem(const char *name, const uint8_t *data, size_t size, ds_pkg_member_fn fn,
                    void *ctx, sk_error *err)
{
    source src = {.name = name, .mem = data, .mem_size = size};
    ds_pkg_kind kind = DS_PKG_NONE;
    if (size >= 8 && memcmp(data, "!<arch>\n", 8) == 0)
        kind = DS_PKG_DEB;
    else if (size >= 4 && data[0] == 0xed && data[1] == 0xab && data[2] == 0xee && data[3] == 0xdb)
        kind = DS_PKG_RPM;
    return read_any(&src, kind, fn, ctx, err);
}
