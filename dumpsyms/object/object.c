/* object.c — the container-neutral object layer: opening (the container
 * is told by its magic), section lookup by DWARF role, sections
 * decompressed on demand or streamed, and the backend's ids and symbols. */
#include "object.h"

#include "bytes.h"

#include "elf_object.h"
#include "macho_object.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#ifdef DS_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif
#ifdef DS_HAVE_LIBDEFLATE
#include <libdeflate.h>
#endif

/* ELF's compression types (Elf_Chdr.ch_type), the only compressed
 * sections there are. */
#define ELFCOMPRESS_ZLIB 1
#define ELFCOMPRESS_ZSTD 2
#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

/* Decompressed sections bigger than this are refused as hostile. */
#define MAX_DECOMPRESSED ((uint64_t)8 << 30)

int ds_object_map_file(ds_object *obj, const char *path, sk_error *err)
{
    /* Check before opening: open() on a FIFO or a tty would block. */
    struct stat st;
    if (stat(path, &st) != 0)
        return sk_fail(err, SK_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return sk_fail(err, SK_EIO, "%s: is a directory", path);
    if (!S_ISREG(st.st_mode))
        return sk_fail(err, SK_EIO, "%s: not a regular file", path);
    return sk_map_file(path, &obj->map, err);
}

void ds_object_alloc_sections(ds_object *obj, size_t n)
{
    obj->sections = sk_xcalloc(n + 1, sizeof(ds_section));
    obj->nsections = n + 1;
    for (size_t i = 0; i <= n; i++) {
        pthread_mutex_init(&obj->sections[i].lock, NULL);
        obj->sections[i].name = obj->sections[i].dwarf_name = "";
    }
}

/* The container is told by its magic number; arch picks a fat Mach-O
 * file's slice. */
static int open_mapped(ds_object *obj, const char *arch, sk_error *err)
{
    if (ds_macho_probe_bytes(obj->map.data, obj->map.size))
        return ds_macho_open(obj, arch, err);
    return ds_elf_open(obj, err);
}

int ds_object_slices(const char *path, ds_object_slice **out, size_t *n, sk_error *err)
{
    ds_object obj;
    memset(&obj, 0, sizeof obj);
    obj.path = sk_xstrdup(path);
    int rc = ds_object_map_file(&obj, path, err);
    if (rc == SK_OK && ds_macho_probe_bytes(obj.map.data, obj.map.size)) {
        ds_macho_arch_info *v;
        rc = ds_macho_arches(path, obj.map.data, obj.map.size, &v, n, err);
        if (rc == SK_OK) {
            *out = sk_xcalloc(*n ? *n : 1, sizeof **out);
            for (size_t i = 0; i < *n; i++) {
                snprintf((*out)[i].arch, sizeof (*out)[i].arch, "%s", v[i].arch);
                snprintf((*out)[i].id, sizeof (*out)[i].id, "%s", v[i].uuid);
            }
            free(v);
        }
        ds_object_close(&obj);
        return rc;
    }
    ds_object_close(&obj);
    if (rc)
        return rc;
    rc = ds_object_open(&obj, path, err);
    if (rc == SK_OK) {
        *out = sk_xcalloc(1, sizeof **out);
        *n = 1;
        snprintf((*out)[0].arch, sizeof (*out)[0].arch, "%s", obj.arch ? obj.arch : obj.machine_desc);
        if (obj.build_id_len && obj.build_id_len * 2 < sizeof (*out)[0].id)
            sk_hex_upper(obj.build_id, obj.build_id_len, (*out)[0].id);
    }
    ds_object_close(&obj);
    return rc;
}

int ds_object_open(ds_object *obj, const char *path, sk_error *err)
{
    return ds_object_open_arch(obj, path, NULL, err);
}

int ds_object_open_arch(ds_object *obj, const char *path, const char *arch, sk_error *err)
{
    memset(obj, 0, sizeof *obj);
    obj->path = sk_xstrdup(path);
    int rc = ds_object_map_file(obj, path, err);
    if (rc)
        return rc;
    return open_mapped(obj, arch, err);
}

int ds_object_open_mem(ds_object *obj, const char *name, uint8_t *image, size_t size, sk_error *err)
{
    memset(obj, 0, sizeof *obj);
    obj->path = sk_xstrdup(name);
    obj->image = image;
    obj->map.data = image;
    obj->map.size = size;
    return open_mapped(obj, NULL, err);
}

void ds_object_close(ds_object *obj)
{
    for (size_t i = 0; i < obj->nsections; i++) {
        free(obj->sections[i].owned);
        free(obj->sections[i].load_msg);
        if (obj->sections[i].dwarf_name && obj->sections[i].dwarf_name != obj->sections[i].name)
            free((char *)obj->sections[i].dwarf_name);
        pthread_mutex_destroy(&obj->sections[i].lock);
    }
    free(obj->sections);
    free(obj->segments);
    if (obj->ops && obj->ops->close)
        obj->ops->close(obj);
    if (obj->image)
        free(obj->image);
    else if (obj->map.data)
        sk_unmap(&obj->map);
    free(obj->path);
    memset(obj, 0, sizeof *obj);
}

ds_section *ds_object_section(ds_object *obj, const char *name)
{
    for (size_t i = 1; i < obj->nsections; i++)
        if (strcmp(obj->sections[i].name, name) == 0)
            return &obj->sections[i];
    for (size_t i = 1; i < obj->nsections; i++)
        if (strcmp(obj->sections[i].dwarf_name, name) == 0)
            return &obj->sections[i];
    return NULL;
}

ds_section *ds_object_section_of_kind(ds_object *obj, const char *name, ds_section_kind kind)
{
    ds_section *s = ds_object_section(obj, name);
    return s && s->kind == kind ? s : NULL;
}

ds_section *ds_object_section_at(ds_object *obj, uint64_t addr, uint64_t size)
{
    for (size_t i = 1; i < obj->nsections; i++) {
        ds_section *s = &obj->sections[i];
        if (!(s->flags & DS_SEC_ALLOC) || (s->flags & DS_SEC_NOBITS) || addr < s->addr ||
            addr - s->addr >= s->size || s->size - (addr - s->addr) < size)
            continue;
        return s;
    }
    return NULL;
}

bool ds_object_has_dwarf(ds_object *obj)
{
    ds_section *s = ds_object_section(obj, ".debug_info");
    return s && !(s->flags & DS_SEC_NOBITS) && s->size > 0;
}

#ifdef DS_HAVE_LIBDEFLATE
/* The inflate of .debug_info (hundreds of MB for big C++ programs) runs
 * on one thread before any unit can be read, so its speed bounds the
 * whole dump.  The output size is known from the section header, which is
 * what libdeflate's whole-buffer decoder needs, and it inflates about
 * twice as fast as zlib's streaming one; the result (and the adler32
 * check) is the same. */
static int inflate_zlib(const char *path, const char *name, const uint8_t *in, size_t in_size,
                        uint8_t *out, size_t out_size, sk_error *err)
{
    struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
    if (!d)
        return sk_fail(err, SK_ENOMEM, "%s: %s: cannot start the inflater", path, name);
    /* No actual_out: anything but exactly out_size bytes is an error. */
    enum libdeflate_result r = libdeflate_zlib_decompress(d, in, in_size, out, out_size, NULL);
    libdeflate_free_decompressor(d);
    if (r != LIBDEFLATE_SUCCESS)
        return sk_fail(err, SK_EFORMAT, "%s: %s: corrupt zlib-compressed section (%s, %zu bytes expected)",
                       path, name,
                       r == LIBDEFLATE_SHORT_OUTPUT           ? "stream ends early"
                       : r == LIBDEFLATE_INSUFFICIENT_SPACE ? "stream is longer"
                                                            : "bad data",
                       out_size);
    return SK_OK;
}
#else
static int inflate_zlib(const char *path, const char *name, const uint8_t *in, size_t in_size,
                        uint8_t *out, size_t out_size, sk_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit(&zs) != Z_OK)
        return sk_fail(err, SK_ENOMEM, "%s: %s: cannot start zlib", path, name);
    size_t done_in = 0, done_out = 0;
    int zr = Z_OK;
    /* zlib counts in uInt: feed huge sections in slices. */
    while (zr == Z_OK) {
        size_t in_chunk = in_size - done_in, out_chunk = out_size - done_out;
        if (in_chunk > (1u << 30))
            in_chunk = 1u << 30;
        if (out_chunk > (1u << 30))
            out_chunk = 1u << 30;
        zs.next_in = (Bytef *)(in + done_in);
        zs.avail_in = (uInt)in_chunk;
        zs.next_out = out + done_out;
        zs.avail_out = (uInt)out_chunk;
        zr = inflate(&zs, Z_NO_FLUSH);
        done_in += in_chunk - zs.avail_in;
        done_out += out_chunk - zs.avail_out;
        if (zr == Z_BUF_ERROR && (done_out == out_size || done_in == in_size))
            break;
        if (zr == Z_BUF_ERROR)
            zr = Z_OK;
    }
    inflateEnd(&zs);
    if (zr != Z_STREAM_END || done_out != out_size)
        return sk_fail(err, SK_EFORMAT,
                       "%s: %s: corrupt zlib-compressed section (got %zu of %zu bytes)", path, name,
                       done_out, out_size);
    return SK_OK;
}
#endif

/* The compressed bytes are not needed once inflated: hand their pages
 * back (a private read-only file mapping just re-reads them if touched
 * again), which keeps a 230 MB compressed debug file from sitting in our
 * resident set next to its inflated copy. */
static void release_pages(const ds_object *obj, const uint8_t *p, size_t n)
{
    if (obj->image || !p || n == 0)
        return;
    long page = sysconf(_SC_PAGESIZE);
    if (page <= 0)
        return;
    /* Whole pages inside [p, p + n) only: the neighbours may be in use. */
    uintptr_t start = ((uintptr_t)p + (uintptr_t)page - 1) & ~((uintptr_t)page - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~((uintptr_t)page - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_DONTNEED);
}

static void release_raw(ds_object *obj, ds_section *s)
{
    release_pages(obj, s->raw, s->raw_size);
}

static uint64_t read_uint(const ds_object *obj, const uint8_t *p, unsigned n)
{
    return ds_load_uint(p, n, obj->little_endian);
}

/* Elf32_Chdr / Elf64_Chdr read by hand from the file bytes: libelf is not
 * thread-safe and sections are loaded from worker threads. */
static bool read_chdr(const ds_object *obj, const ds_section *s, uint32_t *type, uint64_t *size,
                      size_t *hdr_size)
{
    bool is64 = obj->addr_size == 8;
    *hdr_size = is64 ? 24 : 12;
    if (!s->raw || s->raw_size < *hdr_size)
        return false;
    *type = (uint32_t)read_uint(obj, s->raw, 4);
    *size = is64 ? read_uint(obj, s->raw + 8, 8) : read_uint(obj, s->raw + 4, 4);
    return true;
}

/* Room for an inflated section.  A big one is written once from end to
 * end and then read all over by every worker, so it is asked for in
 * transparent huge pages where the kernel offers them: one fault per 2 MB
 * instead of per 4 KB (half a million faults, each a trip through the
 * hypervisor on a VM, for a 544 MB .debug_info) and fewer TLB misses for
 * the DIE walk.  The memory use is the same; free() releases it. */
static uint8_t *alloc_inflated(uint64_t size)
{
    const size_t huge = (size_t)2 << 20;
    if (size < 16 * huge)
        return malloc(size ? size : 1);
    size_t rounded = (size + huge - 1) & ~(huge - 1);
    uint8_t *p = aligned_alloc(huge, rounded);
#ifdef MADV_HUGEPAGE
    if (p)
        madvise(p, rounded, MADV_HUGEPAGE); /* advice only: failure changes nothing */
#endif
    return p;
}

/* Where a compressed section's stream starts, its algorithm and its
 * decompressed size. */
static int compressed_layout(ds_object *obj, ds_section *s, const uint8_t **in_out, size_t *in_size_out,
                             uint64_t *out_size_out, int *algo_out, sk_error *err)
{
    const uint8_t *in = s->raw;
    size_t in_size = s->raw_size;
    uint64_t out_size;
    int algo; /* ELFCOMPRESS_ZLIB or ELFCOMPRESS_ZSTD */
    if (s->flags & DS_SEC_COMPRESSED) {
        size_t hdr_size;
        uint32_t type;
        if (!read_chdr(obj, s, &type, &out_size, &hdr_size))
            return sk_fail(err, SK_EFORMAT, "%s: %s: compressed section header is truncated",
                           obj->path, s->name);
        algo = (int)type;
        in += hdr_size;
        in_size -= hdr_size;
    } else {
        /* Legacy .zdebug: "ZLIB" + 8-byte big-endian size + zlib stream. */
        if (in_size < 12 || memcmp(in, "ZLIB", 4) != 0)
            return sk_fail(err, SK_EFORMAT, "%s: %s: missing ZLIB header", obj->path, s->name);
        out_size = 0;
        for (int i = 4; i < 12; i++)
            out_size = (out_size << 8) | in[i];
        algo = ELFCOMPRESS_ZLIB;
        in += 12;
        in_size -= 12;
    }
    if (out_size > MAX_DECOMPRESSED)
        return sk_fail(err, SK_EFORMAT, "%s: %s: implausible decompressed size %llu", obj->path,
                       s->name, (unsigned long long)out_size);
    if (algo != ELFCOMPRESS_ZLIB && algo != ELFCOMPRESS_ZSTD)
        return sk_fail(err, SK_EUNSUPPORTED, "%s: %s: unknown compression type %d", obj->path,
                       s->name, algo);
    *in_out = in;
    *in_size_out = in_size;
    *out_size_out = out_size;
    *algo_out = algo;
    return SK_OK;
}

static int decompress_section(ds_object *obj, ds_section *s, sk_error *err)
{
    /* Set for -O3's sake: compressed_layout() fills them whenever it succeeds. */
    const uint8_t *in = NULL;
    size_t in_size = 0;
    uint64_t out_size = 0;
    int algo = 0;
    int rc = compressed_layout(obj, s, &in, &in_size, &out_size, &algo, err);
    if (rc)
        return rc;
    uint8_t *out = alloc_inflated(out_size);
    if (!out)
        return sk_fail(err, SK_ENOMEM, "%s: %s: cannot allocate %llu bytes", obj->path, s->name,
                       (unsigned long long)out_size);
    if (algo == ELFCOMPRESS_ZLIB) {
        rc = inflate_zlib(obj->path, s->name, in, in_size, out, out_size, err);
    } else {
        size_t got = ZSTD_decompress(out, out_size, in, in_size);
        if (ZSTD_isError(got) || got != out_size)
            rc = sk_fail(err, SK_EFORMAT, "%s: %s: corrupt zstd-compressed section: %s", obj->path,
                         s->name, ZSTD_isError(got) ? ZSTD_getErrorName(got) : "short output");
    }
    if (rc) {
        free(out);
        return rc;
    }
    s->owned = out;
    s->data = out;
    s->data_size = out_size;
    release_raw(obj, s);
    return SK_OK;
}

/* ---- sequential reading of a compressed section ------------------------- */

struct ds_stream {
    ds_object *obj;
    ds_section *sec;
    int algo;
    const uint8_t *in;   /* the compressed bytes */
    size_t in_size, in_done;
    size_t released;     /* compressed bytes whose pages were handed back */
    uint64_t out_size, out_done;
    bool ended;          /* the compressed stream reported its end */
#ifdef DS_HAVE_ISAL
    /* ISA-L's inflate streams zlib about 1.7 times as fast as zlib does,
     * and a streamed .debug_info is inflated on the critical path. */
    struct inflate_state *is;
#else
    z_stream zs;
#endif
    ZSTD_DStream *zd;
};

bool ds_section_compressed(const ds_section *sec)
{
    return !(sec->flags & DS_SEC_NOBITS) &&
           ((sec->flags & DS_SEC_COMPRESSED) || strncmp(sec->name, ".zdebug_", 8) == 0);
}

int ds_stream_open(ds_object *obj, ds_section *sec, ds_stream **out, sk_error *err)
{
    *out = NULL;
    ds_stream *st = sk_xcalloc(1, sizeof *st);
    st->obj = obj;
    st->sec = sec;
    int rc = compressed_layout(obj, sec, &st->in, &st->in_size, &st->out_size, &st->algo, err);
    if (rc) {
        free(st);
        return rc;
    }
    if (st->algo == ELFCOMPRESS_ZLIB) {
#ifdef DS_HAVE_ISAL
        st->is = sk_xmalloc(sizeof *st->is);
        isal_inflate_init(st->is);
        st->is->crc_flag = ISAL_ZLIB; /* zlib header and adler32 checked */
#else
        if (inflateInit(&st->zs) != Z_OK) {
            free(st);
            return sk_fail(err, SK_ENOMEM, "%s: %s: cannot start zlib", obj->path, sec->name);
        }
#endif
    } else {
        st->zd = ZSTD_createDStream();
        if (!st->zd || ZSTD_isError(ZSTD_initDStream(st->zd))) {
            ZSTD_freeDStream(st->zd);
            free(st);
            return sk_fail(err, SK_ENOMEM, "%s: %s: cannot start zstd", obj->path, sec->name);
        }
    }
    *out = st;
    return SK_OK;
}

uint64_t ds_stream_size(const ds_stream *st)
{
    return st->out_size;
}

uint64_t ds_stream_offset(const ds_stream *st)
{
    return st->out_done;
}

/* One step of the decompressor: up to out_cap bytes into out.  Sets
 * st->ended at the end of the compressed stream (its checksum verified). */
static int stream_step(ds_stream *st, uint8_t *out, size_t out_cap, size_t *got, sk_error *err)
{
    size_t in_chunk = st->in_size - st->in_done;
    if (in_chunk > (1u << 30))
        in_chunk = 1u << 30;
    if (out_cap > (1u << 30))
        out_cap = 1u << 30;
    if (st->algo == ELFCOMPRESS_ZLIB) {
#ifdef DS_HAVE_ISAL
        struct inflate_state *is = st->is;
        is->next_in = (uint8_t *)(st->in + st->in_done);
        is->avail_in = (uint32_t)in_chunk;
        is->next_out = out;
        is->avail_out = (uint32_t)out_cap;
        int r = isal_inflate(is);
        st->in_done += in_chunk - is->avail_in;
        *got = out_cap - is->avail_out;
        if (r == ISAL_INCORRECT_CHECKSUM)
            return sk_fail(err, SK_EFORMAT, "%s: %s: corrupt zlib-compressed section (checksum mismatch)",
                           st->obj->path, st->sec->name);
        if (r < 0)
            return sk_fail(err, SK_EFORMAT, "%s: %s: corrupt zlib-compressed section (bad data after byte %llu)",
                           st->obj->path, st->sec->name, (unsigned long long)st->out_done);
        if (is->block_state == ISAL_BLOCK_FINISH)
            st->ended = true;
        else if (*got == 0 && in_chunk == is->avail_in)
            return sk_fail(err, SK_EFORMAT, "%s: %s: corrupt zlib-compressed section (stream ends early at byte %llu)",
                           st->obj->path, st->sec->name, (unsigned long long)st->out_done);
#else
        st->zs.next_in = (Bytef *)(st->in + st->in_done);
        st->zs.avail_in = (uInt)in_chunk;
        st->zs.next_out = out;
        st->zs.avail_out = (uInt)out_cap;
        int zr = inflate(&st->zs, Z_NO_FLUSH);
        st->in_done += in_chunk - st->zs.avail_in;
        *got = out_cap - st->zs.avail_out;
        if (zr == Z_STREAM_END)
            st->ended = true;
        else if (zr != Z_OK) /* Z_BUF_ERROR: no progress, the input is used up */
            return sk_fail(err, SK_EFORMAT, "%s: %s: corrupt zlib-compressed section (%s)",
                           st->obj->path, st->sec->name,
                           zr == Z_BUF_ERROR ? "stream ends early"
                           : st->zs.msg      ? st->zs.msg
                                             : "bad data");
#endif
    } else {
        ZSTD_inBuffer ib = {st->in + st->in_done, in_chunk, 0};
        ZSTD_outBuffer ob = {out, out_cap, 0};
        size_t zr = ZSTD_decompressStream(st->zd, &ob, &ib);
        st->in_done += ib.pos;
        *got = ob.pos;
        if (ZSTD_isError(zr))
            return sk_fail(err, SK_EFORMAT, "%s: %s: corrupt zstd-compressed section: %s",
                           st->obj->path, st->sec->name, ZSTD_getErrorName(zr));
        if (zr == 0)
            st->ended = true;
        else if (*got == 0 && ib.pos == 0 && out_cap > 0)
            return sk_fail(err, SK_EFORMAT, "%s: %s: corrupt zstd-compressed section (stream ends early)",
                           st->obj->path, st->sec->name);
    }
    /* The compressed pages already consumed are not needed again. */
    if (st->in_done - st->released >= ((size_t)4 << 20)) {
        release_pages(st->obj, st->in + st->released, st->in_done - st->released);
        st->released = st->in_done;
    }
    return SK_OK;
}

int ds_stream_read(ds_stream *st, uint8_t *buf, size_t n, sk_error *err)
{
    if (n > st->out_size - st->out_done)
        return sk_fail(err, SK_EFORMAT, "%s: %s: read of %zu bytes past the end of the section",
                       st->obj->path, st->sec->name, n);
    size_t done = 0;
    while (done < n) {
        if (st->ended)
            return sk_fail(err, SK_EFORMAT,
                           "%s: %s: corrupt compressed section (stream ends early: %llu of %llu bytes)",
                           st->obj->path, st->sec->name, (unsigned long long)(st->out_done + done),
                           (unsigned long long)st->out_size);
        size_t got = 0;
        int rc = stream_step(st, buf + done, n - done, &got, err);
        if (rc)
            return rc;
        done += got;
    }
    st->out_done += n;
    if (st->out_done == st->out_size && !st->ended) {
        /* All the bytes the header promised: the stream must end here (and
         * its checksum be verified) without producing more. */
        uint8_t extra;
        size_t got = 0;
        int rc = stream_step(st, &extra, 1, &got, err);
        if (rc)
            return rc;
        if (got || !st->ended)
            return sk_fail(err, SK_EFORMAT, "%s: %s: corrupt compressed section (stream is longer)",
                           st->obj->path, st->sec->name);
    }
    return SK_OK;
}

int ds_stream_skip(ds_stream *st, uint64_t n, sk_error *err)
{
    uint8_t scratch[16384];
    while (n > 0) {
        size_t step = n < sizeof scratch ? (size_t)n : sizeof scratch;
        int rc = ds_stream_read(st, scratch, step, err);
        if (rc)
            return rc;
        n -= step;
    }
    return SK_OK;
}

void ds_stream_close(ds_stream *st)
{
    if (!st)
        return;
    if (st->algo == ELFCOMPRESS_ZLIB)
#ifdef DS_HAVE_ISAL
        free(st->is);
#else
        inflateEnd(&st->zs);
#endif
    else
        ZSTD_freeDStream(st->zd);
    free(st);
}

int ds_section_data(ds_object *obj, ds_section *s, const uint8_t **data, size_t *size, sk_error *err)
{
    pthread_mutex_lock(&s->lock);
    if (!s->loaded) {
        s->load_status = SK_OK;
        if ((s->flags & DS_SEC_NOBITS)) {
            s->data = NULL;
            s->data_size = 0;
        } else if ((s->flags & DS_SEC_COMPRESSED) || strncmp(s->name, ".zdebug_", 8) == 0) {
            sk_error local = {0};
            s->load_status = decompress_section(obj, s, &local);
            /* Kept so every later caller (and a prefetch that had no error
             * object) gets the real reason. */
            if (s->load_status)
                s->load_msg = sk_xstrdup(local.msg);
        } else {
            s->data = s->raw;
            s->data_size = s->raw_size;
        }
        s->loaded = true;
    }
    if (s->load_status)
        sk_fail(err, (sk_status)s->load_status, "%s", s->load_msg ? s->load_msg : "section could not be read");
    int rc = s->load_status;
    pthread_mutex_unlock(&s->lock);
    *data = rc ? NULL : s->data;
    *size = rc ? 0 : s->data_size;
    return rc;
}

int ds_object_debug_id(ds_object *obj, char debug_id[34], sk_error *err)
{
    if (!obj->ops)
        return sk_fail(err, SK_EFORMAT, "%s: not an open object file", obj->path);
    return obj->ops->debug_id(obj, debug_id, err);
}

bool ds_object_code_id(ds_object *obj, char *out, size_t cap)
{
    return obj->ops && obj->ops->code_id && obj->ops->code_id(obj, out, cap);
}

bool ds_object_soname(ds_object *obj, char *out, size_t cap)
{
    return obj->ops && obj->ops->soname && obj->ops->soname(obj, out, cap);
}

int ds_object_open_symbol_supplement(ds_object *obj, ds_object *out, sk_error *err)
{
    memset(out, 0, sizeof *out);
    if (!obj->ops || !obj->ops->open_symbol_supplement)
        return sk_fail(err, SK_ENOTFOUND, "%s: no symbol supplement", obj->path);
    return obj->ops->open_symbol_supplement(obj, out, err);
}

int ds_object_symbols(ds_object *obj, ds_symtab_which which, ds_symbol_fn fn, void *arg, sk_error *err)
{
    if (!obj->ops || !obj->ops->symbols)
        return SK_ENOTFOUND;
    return obj->ops->symbols(obj, which, fn, arg, err);
}

uint64_t ds_section_size(ds_object *obj, ds_section *s)
{
    if ((s->flags & DS_SEC_NOBITS))
        return 0;
    if (s->flags & DS_SEC_COMPRESSED) {
        uint32_t type;
        uint64_t size;
        size_t hdr_size;
        if (!read_chdr(obj, s, &type, &size, &hdr_size) || size > MAX_DECOMPRESSED)
            return 0;
        return size;
    }
    if (strncmp(s->name, ".zdebug_", 8) == 0) {
        if (s->raw_size < 12 || memcmp(s->raw, "ZLIB", 4) != 0)
            return 0;
        uint64_t n = 0;
        for (int i = 4; i < 12; i++)
            n = (n << 8) | s->raw[i];
        return n > MAX_DECOMPRESSED ? 0 : n;
    }
    return s->raw_size;
}

struct ds_prefetch {
    ds_object *obj;
    ds_section **secs; /* biggest first */
    size_t n, next, done; /* claimed, inflated (under lock) */
    pthread_mutex_t lock;
    pthread_t tids[64];
    int started;
};

static void *prefetch_worker(void *arg)
{
    ds_prefetch *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        size_t i = p->next++;
        pthread_mutex_unlock(&p->lock);
        if (i >= p->n)
            return NULL;
        const uint8_t *data;
        size_t size;
        ds_section_data(p->obj, p->secs[i], &data, &size, NULL);
        pthread_mutex_lock(&p->lock);
        p->done++;
        pthread_mutex_unlock(&p->lock);
    }
}

static int cmp_size_desc(const void *a, const void *b)
{
    uint64_t x = (*(ds_section *const *)a)->raw_size, y = (*(ds_section *const *)b)->raw_size;
    return x < y ? 1 : x > y ? -1 : 0;
}

ds_prefetch *ds_object_prefetch_start(ds_object *obj, const char *const *names, int jobs)
{
    size_t cap = 0;
    ds_prefetch *p = sk_xcalloc(1, sizeof *p);
    p->obj = obj;
    for (const char *const *n = names; *n; n++) {
        ds_section *s = ds_object_section(obj, *n);
        if (!s || s->loaded || !ds_section_compressed(s))
            continue;
        sk_grow((void **)&p->secs, &cap, p->n + 1, sizeof *p->secs);
        p->secs[p->n++] = s;
    }
    /* Biggest first: the longest inflate starts at once. */
    sk_sort(p->secs, p->n, sizeof *p->secs, cmp_size_desc);
    pthread_mutex_init(&p->lock, NULL);
    size_t nthreads = jobs < 1 ? 1 : (size_t)jobs;
    if (nthreads > p->n)
        nthreads = p->n;
    if (nthreads > sizeof p->tids / sizeof *p->tids)
        nthreads = sizeof p->tids / sizeof *p->tids;
    /* (No thread to be had: each section inflates on first use.) */
    for (size_t i = 0; i < nthreads; i++)
        if (pthread_create(&p->tids[p->started], NULL, prefetch_worker, p) == 0)
            p->started++;
    return p;
}

bool ds_object_prefetch_busy(ds_prefetch *p)
{
    if (!p || p->started == 0)
        return false;
    pthread_mutex_lock(&p->lock);
    bool busy = p->done < p->n;
    pthread_mutex_unlock(&p->lock);
    return busy;
}

void ds_object_prefetch_finish(ds_prefetch *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->started; i++)
        pthread_join(p->tids[i], NULL);
    pthread_mutex_destroy(&p->lock);
    free(p->secs);
    free(p);
}

void ds_object_release(ds_object *obj, const char *const *names)
{
    for (const char *const *n = names; *n; n++) {
        ds_section *s = ds_object_section(obj, *n);
        if (!s)
            continue;
        pthread_mutex_lock(&s->lock);
        if (s->loaded && s->owned && s->load_status == SK_OK) {
            free(s->owned);
            s->owned = NULL;
            s->data = NULL;
            s->data_size = 0;
            s->loaded = false;
        }
        pthread_mutex_unlock(&s->lock);
    }
}
