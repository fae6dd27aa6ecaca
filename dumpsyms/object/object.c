/* object.c — ELF files through libelf, sections decompressed on demand. */
#include "object.h"

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

#ifndef ELFCOMPRESS_ZSTD
#define ELFCOMPRESS_ZSTD 2
#endif
#ifndef EM_RISCV
#define EM_RISCV 243
#endif
#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif

/* Decompressed sections bigger than this are refused as hostile. */
#define MAX_DECOMPRESSED ((uint64_t)8 << 30)

const char *ds_arch_name(uint16_t machine, int elf_class, uint32_t e_flags)
{
    (void)e_flags;
    bool is64 = elf_class == ELFCLASS64;
    switch (machine) {
    case EM_386: return "x86";
    case EM_X86_64: return "x86_64";
    case EM_ARM: return "arm";
    case EM_AARCH64: return "arm64";
    case EM_RISCV: return is64 ? "riscv64" : "riscv";
    case EM_S390: return is64 ? "s390x" : "s390";
    case EM_PPC64: return "ppc64";
    case EM_PPC: return "ppc";
    case EM_MIPS: return is64 ? "mips64" : "mips";
    case EM_SPARCV9: return "sparcv9";
    case EM_SPARC: return "sparc";
    }
    return NULL;
}

static void read_build_id(ds_object *obj, Elf_Data *data)
{
    GElf_Nhdr nhdr;
    size_t off = 0, name_off, desc_off;
    while ((off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
        if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == 4 &&
            memcmp((const char *)data->d_buf + name_off, "GNU", 4) == 0 && nhdr.n_descsz > 0 &&
            nhdr.n_descsz <= sizeof obj->build_id) {
            memcpy(obj->build_id, (const char *)data->d_buf + desc_off, nhdr.n_descsz);
            obj->build_id_len = nhdr.n_descsz;
            return;
        }
    }
}

static int parse_elf(ds_object *obj, sk_error *err);

/* elf_version() sets libelf global state: once, even with packager threads. */
static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static void init_libelf(void)
{
    elf_version(EV_CURRENT);
}

int ds_object_open(ds_object *obj, const char *path, sk_error *err)
{
    memset(obj, 0, sizeof *obj);
    obj->path = sk_xstrdup(path);
    /* Check before opening: open() on a FIFO or a tty would block. */
    struct stat st;
    if (stat(path, &st) != 0)
        return sk_fail(err, SK_EIO, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return sk_fail(err, SK_EIO, "%s: is a directory", path);
    if (!S_ISREG(st.st_mode))
        return sk_fail(err, SK_EIO, "%s: not a regular file", path);
    int rc = sk_map_file(path, &obj->map, err);
    if (rc)
        return rc;
    return parse_elf(obj, err);
}

int ds_object_open_mem(ds_object *obj, const char *name, uint8_t *image, size_t size, sk_error *err)
{
    memset(obj, 0, sizeof *obj);
    obj->path = sk_xstrdup(name);
    obj->image = image;
    obj->map.data = image;
    obj->map.size = size;
    return parse_elf(obj, err);
}

static int parse_elf(ds_object *obj, sk_error *err)
{
    const char *path = obj->path;
    if (obj->map.size < EI_NIDENT || memcmp(obj->map.data, ELFMAG, SELFMAG) != 0)
        return sk_fail(err, SK_EFORMAT, "%s: not an ELF file", path);
    pthread_once(&elf_once, init_libelf);
    /* libelf only reads in ELF_K_ELF read mode; the mapping is read-only. */
    obj->elf = elf_memory((char *)obj->map.data, obj->map.size);
    if (!obj->elf || elf_kind(obj->elf) != ELF_K_ELF)
        return sk_fail(err, SK_EFORMAT, "%s: not a valid ELF file: %s", path, elf_errmsg(-1));
    GElf_Ehdr eh;
    if (!gelf_getehdr(obj->elf, &eh))
        return sk_fail(err, SK_EFORMAT, "%s: truncated or corrupt ELF header", path);
    obj->elf_class = eh.e_ident[EI_CLASS];
    if (obj->elf_class != ELFCLASS32 && obj->elf_class != ELFCLASS64)
        return sk_fail(err, SK_EFORMAT, "%s: unknown ELF class %d", path, obj->elf_class);
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB && eh.e_ident[EI_DATA] != ELFDATA2MSB)
        return sk_fail(err, SK_EFORMAT, "%s: unknown ELF byte order %d", path, eh.e_ident[EI_DATA]);
    obj->little_endian = eh.e_ident[EI_DATA] == ELFDATA2LSB;
    obj->machine = eh.e_machine;
    obj->type = eh.e_type;
    obj->flags = eh.e_flags;

    /* libelf quietly reports no sections when the section header table lies
     * past the end of a truncated file; we want that said. */
    if (eh.e_shoff != 0) {
        uint64_t shnum = eh.e_shnum;
        if (shnum == 0) {
            /* Extended numbering: the count is in section 0's sh_size. */
            size_t n = 0;
            if (elf_getshdrnum(obj->elf, &n) != 0)
                return sk_fail(err, SK_EFORMAT, "%s: corrupt section header table", path);
            shnum = n ? n : 1;
        }
        uint64_t entsize = eh.e_shentsize ? eh.e_shentsize : 1;
        if (eh.e_shoff > obj->map.size || shnum > (obj->map.size - eh.e_shoff) / entsize)
            return sk_fail(err, SK_EFORMAT,
                           "%s: section header table (offset 0x%llx, %llu entries) lies outside the "
                           "file (truncated?)",
                           path, (unsigned long long)eh.e_shoff, (unsigned long long)shnum);
    }
    if (eh.e_phoff != 0 && eh.e_phnum != 0 && eh.e_phnum != PN_XNUM) {
        uint64_t entsize = eh.e_phentsize ? eh.e_phentsize : 1;
        if (eh.e_phoff > obj->map.size || eh.e_phnum > (obj->map.size - eh.e_phoff) / entsize)
            return sk_fail(err, SK_EFORMAT,
                           "%s: program header table (offset 0x%llx, %u entries) lies outside the file "
                           "(truncated?)",
                           path, (unsigned long long)eh.e_phoff, (unsigned)eh.e_phnum);
    }
    obj->arch = ds_arch_name(eh.e_machine, obj->elf_class, eh.e_flags);

    size_t nphdr = 0;
    if (elf_getphdrnum(obj->elf, &nphdr) != 0)
        return sk_fail(err, SK_EFORMAT, "%s: corrupt program header table", path);
    for (size_t i = 0; i < nphdr; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(obj->elf, (int)i, &ph))
            return sk_fail(err, SK_EFORMAT, "%s: program header %zu is truncated", path, i);
        if (ph.p_type == PT_LOAD && (!obj->has_load_addr || ph.p_vaddr < obj->load_addr)) {
            obj->load_addr = ph.p_vaddr;
            obj->has_load_addr = true;
        }
    }

    size_t nsec = 0, shstrndx = 0;
    if (elf_getshdrnum(obj->elf, &nsec) != 0)
        return sk_fail(err, SK_EFORMAT, "%s: corrupt section header table", path);
    if (nsec > 0 && elf_getshdrstrndx(obj->elf, &shstrndx) != 0)
        return sk_fail(err, SK_EFORMAT, "%s: corrupt section name table index", path);
    obj->sections = sk_xcalloc(nsec ? nsec : 1, sizeof(ds_section));
    obj->nsections = nsec;
    for (size_t i = 0; i < nsec; i++)
        pthread_mutex_init(&obj->sections[i].lock, NULL);
    for (size_t i = 0; i < nsec; i++) {
        Elf_Scn *scn = elf_getscn(obj->elf, i);
        ds_section *s = &obj->sections[i];
        if (!scn || !gelf_getshdr(scn, &s->shdr))
            return sk_fail(err, SK_EFORMAT, "%s: section header %zu is truncated", path, i);
        const char *name = i ? elf_strptr(obj->elf, shstrndx, s->shdr.sh_name) : "";
        s->name = name ? name : "";
        s->dwarf_name = s->name;
        if (strncmp(s->name, ".zdebug_", 8) == 0) {
            /* Readers look sections up by the plain name: they get decompressed bytes. */
            size_t n = strlen(s->name);
            char *dn = sk_xmalloc(n);
            memcpy(dn, ".debug_", 7);
            memcpy(dn + 7, s->name + 8, n - 8 + 1);
            s->dwarf_name = dn;
        }
        if (s->shdr.sh_type != SHT_NOBITS && i != 0) {
            if (s->shdr.sh_offset > obj->map.size || s->shdr.sh_size > obj->map.size - s->shdr.sh_offset)
                return sk_fail(err, SK_EFORMAT,
                               "%s: section %s (offset 0x%llx, size 0x%llx) lies outside the file "
                               "(truncated?)",
                               path, s->name, (unsigned long long)s->shdr.sh_offset,
                               (unsigned long long)s->shdr.sh_size);
            s->raw = obj->map.data + s->shdr.sh_offset;
            s->raw_size = s->shdr.sh_size;
        }
        if (s->shdr.sh_type == SHT_NOTE && !obj->build_id_len) {
            Elf_Data *d = elf_getdata(scn, NULL);
            if (d && d->d_buf)
                read_build_id(obj, d);
        }
    }
    /* Some stripped files keep the build-id only in a PT_NOTE segment. */
    for (size_t i = 0; i < nphdr && !obj->build_id_len; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(obj->elf, (int)i, &ph) && ph.p_type == PT_NOTE && ph.p_offset <= obj->map.size &&
            ph.p_filesz <= obj->map.size - ph.p_offset) {
            Elf_Data *d = elf_getdata_rawchunk(obj->elf, (int64_t)ph.p_offset, ph.p_filesz,
                                               ELF_T_NHDR);
            if (d && d->d_buf)
                read_build_id(obj, d);
        }
    }
    return SK_OK;
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
    if (obj->elf)
        elf_end(obj->elf);
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
    if (strncmp(name, ".debug_", 7) == 0) {
        for (size_t i = 1; i < obj->nsections; i++)
            if (strncmp(obj->sections[i].name, ".zdebug_", 8) == 0 &&
                strcmp(obj->sections[i].name + 8, name + 7) == 0)
                return &obj->sections[i];
    }
    return NULL;
}

bool ds_object_has_dwarf(ds_object *obj)
{
    ds_section *s = ds_object_section(obj, ".debug_info");
    return s && s->shdr.sh_type != SHT_NOBITS && s->shdr.sh_size > 0;
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

static uint64_t read_uint(const ds_object *obj, const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[obj->little_endian ? i : n - 1 - i] << (8 * i);
    return v;
}

/* Elf32_Chdr / Elf64_Chdr read by hand from the file bytes: libelf is not
 * thread-safe and sections are loaded from worker threads. */
static bool read_chdr(const ds_object *obj, const ds_section *s, uint32_t *type, uint64_t *size,
                      size_t *hdr_size)
{
    bool is64 = obj->elf_class == ELFCLASS64;
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
    if (s->shdr.sh_flags & SHF_COMPRESSED) {
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
    const uint8_t *in;
    size_t in_size;
    uint64_t out_size;
    int algo;
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
    s->size = out_size;
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
    return sec->shdr.sh_type != SHT_NOBITS &&
           ((sec->shdr.sh_flags & SHF_COMPRESSED) || strncmp(sec->name, ".zdebug_", 8) == 0);
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
        if (s->shdr.sh_type == SHT_NOBITS) {
            s->data = NULL;
            s->size = 0;
        } else if ((s->shdr.sh_flags & SHF_COMPRESSED) || strncmp(s->name, ".zdebug_", 8) == 0) {
            sk_error local = {0};
            s->load_status = decompress_section(obj, s, &local);
            /* Kept so every later caller (and a prefetch that had no error
             * object) gets the real reason. */
            if (s->load_status)
                s->load_msg = sk_xstrdup(local.msg);
        } else {
            s->data = s->raw;
            s->size = s->raw_size;
        }
        s->loaded = true;
    }
    if (s->load_status)
        sk_fail(err, (sk_status)s->load_status, "%s", s->load_msg ? s->load_msg : "section could not be read");
    int rc = s->load_status;
    pthread_mutex_unlock(&s->lock);
    *data = rc ? NULL : s->data;
    *size = rc ? 0 : s->size;
    return rc;
}

int ds_object_debug_id(ds_object *obj, char debug_id[34], sk_error *err)
{
    if (obj->build_id_len) {
        sk_debug_id_from_build_id(obj->build_id, obj->build_id_len, obj->little_endian, debug_id);
        return SK_OK;
    }
    ds_section *text = ds_object_section(obj, ".text");
    const uint8_t *data = NULL;
    size_t size = 0;
    if (!text || text->shdr.sh_type == SHT_NOBITS)
        return sk_fail(err, SK_EFORMAT, "%s: no build-id and no .text section to derive a debug id from",
                       obj->path);
    int rc = ds_section_data(obj, text, &data, &size, err);
    if (rc)
        return rc;
    sk_debug_id_from_text(data, size, obj->little_endian, debug_id);
    return SK_OK;
}

bool ds_object_code_id(ds_object *obj, char *out, size_t cap)
{
    if (obj->build_id_len) {
        if (cap < obj->build_id_len * 2 + 1)
            return false;
        sk_hex_upper(obj->build_id, obj->build_id_len, out);
        return true;
    }
    /* Without a build-id Breakpad's code id is the .text hash its debug
     * id comes from (unswapped): symbol servers index that too. */
    ds_section *text = ds_object_section(obj, ".text");
    const uint8_t *data = NULL;
    size_t size = 0;
    if (cap < 33 || !text || text->shdr.sh_type == SHT_NOBITS ||
        ds_section_data(obj, text, &data, &size, NULL) != SK_OK)
        return false;
    sk_code_id_from_text(data, size, out);
    return true;
}

bool ds_object_soname(ds_object *obj, char *out, size_t cap)
{
    for (size_t i = 1; i < obj->nsections; i++) {
        const ds_section *s = &obj->sections[i];
        if (s->shdr.sh_type != SHT_DYNAMIC)
            continue;
        Elf_Scn *scn = elf_getscn(obj->elf, i);
        Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
        if (!data || !s->shdr.sh_entsize)
            return false;
        size_t n = s->shdr.sh_size / s->shdr.sh_entsize;
        for (size_t k = 0; k < n; k++) {
            GElf_Dyn dyn;
            if (!gelf_getdyn(data, (int)k, &dyn) || dyn.d_tag == DT_NULL)
                break;
            if (dyn.d_tag != DT_SONAME)
                continue;
            /* libelf bounds-checks the offset against the string table. */
            const char *name = elf_strptr(obj->elf, s->shdr.sh_link, dyn.d_un.d_val);
            if (!name || !*name || strlen(name) >= cap)
                return false;
            memcpy(out, name, strlen(name) + 1);
            return true;
        }
        return false;
    }
    return false;
}

uint64_t ds_section_size(ds_object *obj, ds_section *s)
{
    if (s->shdr.sh_type == SHT_NOBITS)
        return 0;
    if (s->shdr.sh_flags & SHF_COMPRESSED) {
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

typedef struct prefetch_job {
    ds_object *obj;
    ds_section **secs;
    size_t n;
    size_t next;
    pthread_mutex_t lock;
} prefetch_job;

static void *prefetch_worker(void *arg)
{
    prefetch_job *j = arg;
    for (;;) {
        pthread_mutex_lock(&j->lock);
        size_t i = j->next++;
        pthread_mutex_unlock(&j->lock);
        if (i >= j->n)
            return NULL;
        const uint8_t *data;
        size_t size;
        ds_section_data(j->obj, j->secs[i], &data, &size, NULL);
    }
}

static int cmp_size_desc(const void *a, const void *b)
{
    uint64_t x = (*(ds_section *const *)a)->raw_size, y = (*(ds_section *const *)b)->raw_size;
    return x < y ? 1 : x > y ? -1 : 0;
}

void ds_object_prefetch(ds_object *obj, const char *const *names, int jobs)
{
    size_t cap = 0;
    prefetch_job j = {.obj = obj};
    for (const char *const *n = names; *n; n++) {
        ds_section *s = ds_object_section(obj, *n);
        if (!s || s->loaded || s->shdr.sh_type == SHT_NOBITS ||
            !((s->shdr.sh_flags & SHF_COMPRESSED) || strncmp(s->name, ".zdebug_", 8) == 0))
            continue;
        sk_grow((void **)&j.secs, &cap, j.n + 1, sizeof *j.secs);
        j.secs[j.n++] = s;
    }
    if (j.n == 0)
        return;
    /* Biggest first: the longest inflate starts at once. */
    sk_sort(j.secs, j.n, sizeof *j.secs, cmp_size_desc);
    pthread_mutex_init(&j.lock, NULL);
    int nthreads = jobs < 1 ? 1 : jobs;
    if ((size_t)nthreads > j.n)
        nthreads = (int)j.n;
    pthread_t tids[64];
    if (nthreads > 64)
        nthreads = 64;
    int started = 0;
    for (int i = 1; i < nthreads; i++)
        if (pthread_create(&tids[started], NULL, prefetch_worker, &j) == 0)
            started++;
    prefetch_worker(&j);
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&j.lock);
    free(j.secs);
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
            s->size = 0;
            s->loaded = false;
        }
        pthread_mutex_unlock(&s->lock);
    }
}
