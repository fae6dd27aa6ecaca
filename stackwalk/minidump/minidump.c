/* minidump.c — opening a minidump and reading its streams, every offset and
 * count checked against the file before use (the dump is untrusted). */
#include "minidump.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A sane bound on list lengths, far above real dumps, so a hostile count
 * cannot make us allocate gigabytes before noticing the stream is short. */
#define MD_MAX_STREAMS 4096u
#define MD_MAX_STRING 65536u

const uint8_t *md_ptr(const sw_minidump *d, uint64_t off, uint64_t len)
{
    if (off > d->size || len > d->size - off)
        return NULL;
    return d->data + off;
}

/* rust-minidump's names for why a dump could not be read at all, which
 * Socorro keys its status off ("ERROR <Name> - ..." on the log). */
static int open_fail(const char **name, const char *n, int code)
{
    if (name)
        *name = n;
    return code;
}

static int open_common(sw_minidump *d, const char **name, sk_error *err)
{
    const uint8_t *h = md_ptr(d, 0, sizeof(MDRawHeader));
    if (!h)
        return open_fail(name, "MissingHeader",
                         sk_fail(err, SK_EFORMAT, "%s: too small to be a minidump (%zu bytes)", d->path, d->size));
    if (md_u32(h) != MD_HEADER_SIGNATURE)
        return open_fail(name, "HeaderMismatch",
                         sk_fail(err, SK_EFORMAT, "%s: not a minidump (bad signature 0x%08x)", d->path, md_u32(h)));
    if ((md_u32(h + 4) & 0xffff) != MD_HEADER_VERSION)
        return open_fail(name, "VersionMismatch",
                         sk_fail(err, SK_EFORMAT, "%s: unsupported minidump version 0x%x", d->path,
                                 md_u32(h + 4) & 0xffff));
    uint32_t count = md_u32(h + 8), rva = md_u32(h + 12);
    if (count > MD_MAX_STREAMS)
        return open_fail(name, "MissingDirectory",
                         sk_fail(err, SK_EFORMAT, "%s: implausible stream count %u", d->path, count));
    const uint8_t *dir = md_ptr(d, rva, (uint64_t)count * sizeof(MDRawDirectory));
    if (!dir)
        return open_fail(name, "MissingDirectory",
                         sk_fail(err, SK_EFORMAT,
                                 "%s: stream directory (%u entries at 0x%x) extends past the end of the file",
                                 d->path, count, rva));
    d->ndirs = count;
    d->dirs = sk_xcalloc(count ? count : 1, sizeof *d->dirs);
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *e = dir + i * sizeof(MDRawDirectory);
        d->dirs[i].stream_type = md_u32(e);
        d->dirs[i].location.data_size = md_u32(e + 4);
        d->dirs[i].location.rva = md_u32(e + 8);
    }
    return SK_OK;
}

int sw_minidump_open_mem(const void *data, size_t size, sw_minidump **out, sk_error *err)
{
    *out = NULL;
    sw_minidump *d = sk_xcalloc(1, sizeof *d);
    d->data = data;
    d->size = size;
    d->path = sk_xstrdup("<memory>");
    int rc = open_common(d, NULL, err);
    if (rc) {
        sw_minidump_close(d);
        return rc;
    }
    *out = d;
    return SK_OK;
}

int sw_minidump_open(const char *path, sw_minidump **out, sk_error *err)
{
    return sw_minidump_open_named(path, out, NULL, err);
}

int sw_minidump_open_named(const char *path, sw_minidump **out, const char **error_name, sk_error *err)
{
    *out = NULL;
    sw_minidump *d = sk_xcalloc(1, sizeof *d);
    d->path = sk_xstrdup(path);
    int rc = sk_map_file(path, &d->map, err);
    if (rc && error_name)
        *error_name = access(path, F_OK) ? "FileNotFound" : "IoError";
    if (!rc) {
        d->data = d->map.data;
        d->size = d->map.size;
        rc = open_common(d, error_name, err);
    }
    if (rc) {
        sw_minidump_close(d);
        return rc;
    }
    *out = d;
    return SK_OK;
}

void sw_minidump_close(sw_minidump *d)
{
    if (!d)
        return;
    sk_unmap(&d->map);
    free(d->dirs);
    free(d->path);
    free(d);
}

bool md_stream(const sw_minidump *d, uint32_t type, const uint8_t **p, uint32_t *len, const char **why)
{
    for (uint32_t i = 0; i < d->ndirs; i++) {
        if (d->dirs[i].stream_type != type)
            continue;
        const uint8_t *q = md_ptr(d, d->dirs[i].location.rva, d->dirs[i].location.data_size);
        if (!q) {
            if (why)
                *why = "extends past the end of the file";
            return false;
        }
        *p = q;
        *len = d->dirs[i].location.data_size;
        return true;
    }
    if (why)
        *why = NULL;
    return false;
}

static void put_utf8(sk_buf *b, uint32_t c)
{
    char s[4];
    size_t n;
    if (c < 0x80) {
        s[0] = (char)c;
        n = 1;
    } else if (c < 0x800) {
        s[0] = (char)(0xc0 | c >> 6);
        s[1] = (char)(0x80 | (c & 0x3f));
        n = 2;
    } else if (c < 0x10000) {
        s[0] = (char)(0xe0 | c >> 12);
        s[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        s[2] = (char)(0x80 | (c & 0x3f));
        n = 3;
    } else {
        s[0] = (char)(0xf0 | c >> 18);
        s[1] = (char)(0x80 | ((c >> 12) & 0x3f));
        s[2] = (char)(0x80 | ((c >> 6) & 0x3f));
        s[3] = (char)(0x80 | (c & 0x3f));
        n = 4;
    }
    sk_buf_append(b, s, n);
}

/* UTF-16LE to UTF-8; unpaired surrogates and NULs become U+FFFD so names
 * stay printable and never end early. */
static char *utf16_to_utf8(const uint8_t *p, size_t units, sk_arena *a)
{
    sk_buf b;
    sk_buf_init(&b);
    for (size_t i = 0; i < units; i++) {
        uint32_t c = md_u16(p + 2 * i);
        if (c >= 0xd800 && c < 0xdc00 && i + 1 < units) {
            uint32_t c2 = md_u16(p + 2 * i + 2);
            if (c2 >= 0xdc00 && c2 < 0xe000) {
                c = 0x10000 + ((c - 0xd800) << 10) + (c2 - 0xdc00);
                i++;
            } else {
                c = 0xfffd;
            }
        } else if ((c >= 0xd800 && c < 0xe000) || c == 0) {
            c = 0xfffd;
        }
        put_utf8(&b, c);
    }
    char *s = sk_arena_strndup(a, b.data ? b.data : "", b.len);
    sk_buf_free(&b);
    return s;
}

/* The bytes of a length-prefixed string at rva (u32 byte count, then the
 * bytes), or NULL when it is too long or runs past the file. */
static const uint8_t *md_counted(const sw_minidump *d, uint64_t rva, uint32_t *len)
{
    const uint8_t *p = md_ptr(d, rva, 4);
    if (!p)
        return NULL;
    *len = md_u32(p);
    if (*len > MD_MAX_STRING)
        return NULL;
    return md_ptr(d, rva + 4, *len);
}

char *md_string(const sw_minidump *d, uint64_t rva, sk_arena *a)
{
    uint32_t len;
    const uint8_t *s = md_counted(d, rva, &len);
    return s ? utf16_to_utf8(s, len / 2, a) : NULL;
}

/* Copies text bytes, replacing NUL and other control bytes but newline/tab
 * so the result is one C string. */
static char *clean_text(const uint8_t *p, size_t n, char nul_as, sk_arena *a)
{
    char *s = sk_arena_alloc(a, n + 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = p[i];
        if (c == 0)
            c = (uint8_t)nul_as;
        else if (c < 0x20 && c != '\n' && c != '\t')
            c = '?';
        s[i] = (char)c;
    }
    s[n] = '\0';
    return s;
}

char *md_utf8_string(const sw_minidump *d, uint64_t rva, sk_arena *a)
{
    uint32_t len;
    const uint8_t *s = md_counted(d, rva, &len);
    return s ? clean_text(s, len, '?', a) : NULL;
}

const uint8_t *md_memory_at(const md_memory *m, uint64_t addr, uint64_t n)
{
    /* Last region starting at or before addr; overlapping regions are
     * allowed, so walk back a little when the nearest one is too short. */
    size_t lo = 0, hi = m->nregions;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->regions[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t k = 0; k < 8 && lo > 0; k++, lo--) {
        const md_region *r = &m->regions[lo - 1];
        uint64_t off = addr - r->start;
        if (off <= r->size && n <= r->size - off)
            return r->data + off;
    }
    return NULL;
}

static void note(md_info *info, const char *fmt, ...) SK_PRINTF(2, 3);
static void note(md_info *info, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sk_buf_vprintf(&info->errors, fmt, ap);
    va_end(ap);
    sk_buf_putc(&info->errors, '\n');
}

/* The stream of this type if present and at least min_len bytes long.
 * A missing stream is normal; any other reason is noted. */
static bool want_stream(const sw_minidump *d, md_info *info, uint32_t type, const char *what,
                        uint32_t min_len, const uint8_t **p, uint32_t *len)
{
    const char *why;
    if (!md_stream(d, type, p, len, &why)) {
        if (why)
            note(info, "%s stream: %s", what, why);
        return false;
    }
    if (*len < min_len) {
        note(info, "%s stream: too short (%u bytes)", what, *len);
        return false;
    }
    return true;
}

/* Entries of a "u32 count, then entries" list: handles the 4 bytes of
 * padding some writers add, and a short stream (keeps what fits). */
static const uint8_t *list_entries(md_info *info, const char *what, const uint8_t *p, uint32_t len,
                                   size_t entry_size, size_t *count)
{
    *count = 0;
    if (len < 4) {
        note(info, "%s stream: too short (%u bytes)", what, len);
        return NULL;
    }
    uint64_t n = md_u32(p);
    if (len >= 8 && (uint64_t)len == 8 + n * entry_size) {
        *count = n;
        return p + 8;
    }
    uint64_t room = (len - 4) / entry_size;
    if (n > room) {
        note(info, "%s stream: claims %llu entries, only %llu fit", what, (unsigned long long)n,
             (unsigned long long)room);
        n = room;
    }
    *count = n;
    return p + 4;
}

static void read_threads(const sw_minidump *d, sk_arena *a, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    if (!want_stream(d, info, MD_THREAD_LIST_STREAM, "thread list", 0, &p, &len))
        return;
    size_t n;
    const uint8_t *e = list_entries(info, "thread list", p, len, sizeof(MDRawThread), &n);
    if (!e || n == 0)
        return;
    info->threads = sk_arena_alloc(a, n * sizeof *info->threads);
    for (size_t i = 0; i < n; i++, e += sizeof(MDRawThread)) {
        md_thread *t = &info->threads[info->nthreads++];
        t->id = md_u32(e);
        t->teb = md_u64(e + 16);
        t->stack.start = md_u64(e + 24);
        uint32_t ssize = md_u32(e + 32), srva = md_u32(e + 36);
        t->stack.data = md_ptr(d, srva, ssize);
        t->stack.size = t->stack.data ? ssize : 0;
        if (!t->stack.data && ssize)
            note(info, "thread %u: stack memory extends past the end of the file", t->id);
        uint32_t csize = md_u32(e + 40), crva = md_u32(e + 44);
        t->context = md_ptr(d, crva, csize);
        t->context_size = t->context ? csize : 0;
        if (!t->context)
            note(info, "thread %u: context extends past the end of the file", t->id);
    }
}

static void read_thread_names(const sw_minidump *d, sk_arena *a, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    if (!want_stream(d, info, MD_THREAD_NAME_LIST_STREAM, "thread name", 0, &p, &len))
        return;
    size_t n;
    const uint8_t *e = list_entries(info, "thread name", p, len, sizeof(MDRawThreadName), &n);
    for (size_t i = 0; e && i < n; i++, e += sizeof(MDRawThreadName)) {
        uint32_t id = md_u32(e);
        uint64_t rva = md_u64(e + 4);
        for (size_t k = 0; k < info->nthreads; k++) {
            if (info->threads[k].id == id && !info->threads[k].name) {
                info->threads[k].name = md_string(d, rva, a);
                break;
            }
        }
    }
}

static char *hex_lower(sk_arena *a, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char *s = sk_arena_alloc(a, 2 * n + 1);
    for (size_t i = 0; i < n; i++) {
        s[2 * i] = digits[p[i] >> 4];
        s[2 * i + 1] = digits[p[i] & 15];
    }
    return s;
}

static const char *last_component(const char *path)
{
    const char *s = path;
    for (const char *q = path; *q; q++)
        if (*q == '/' || *q == '\\')
            s = q + 1;
    return s;
}

static void read_cv_record(const sw_minidump *d, sk_arena *a, md_module *m, uint32_t size, uint32_t rva)
{
    const uint8_t *cv = md_ptr(d, rva, size);
    if (!cv || size < 4)
        return;
    uint32_t sig = md_u32(cv);
    if (sig == MD_CVINFOPDB70_SIGNATURE && size >= sizeof(MDCVInfoPDB70)) {
        m->debug_id = sk_arena_printf(a, "%08X%04X%04X%02X%02X%02X%02X%02X%02X%02X%02X%X", md_u32(cv + 4),
                                      md_u16(cv + 8), md_u16(cv + 10), cv[12], cv[13], cv[14], cv[15],
                                      cv[16], cv[17], cv[18], cv[19], md_u32(cv + 20));
        size_t nl = strnlen((const char *)cv + 24, size - 24);
        if (nl)
            m->debug_file = last_component(clean_text(cv + 24, nl, '?', a));
    } else if (sig == MD_CVINFOELF_SIGNATURE && size > 4) {
        size_t n = size - 4;
        if (n > 256)
            n = 256;
        m->code_id = hex_lower(a, cv + 4, n);
        char id[34];
        /* every architecture we walk is little-endian */
        sk_debug_id_from_build_id(cv + 4, n, true, id);
        m->debug_id = sk_arena_strdup(a, id);
    } else if (sig == MD_CVINFOPDB20_SIGNATURE && size >= sizeof(MDCVInfoPDB20)) {
        m->debug_id = sk_arena_printf(a, "%08X%X", md_u32(cv + 8), md_u32(cv + 12));
        size_t nl = strnlen((const char *)cv + 16, size - 16);
        if (nl)
            m->debug_file = last_component(clean_text(cv + 16, nl, '?', a));
    }
}

static void read_module_entry(const sw_minidump *d, sk_arena *a, const uint8_t *e, md_module *m,
                              bool windows, bool apple)
{
    m->base = md_u64(e);
    m->size = md_u32(e + 8);
    uint32_t stamp = md_u32(e + 16);
    m->time_date_stamp = stamp;
    m->code_file = md_string(d, md_u32(e + 20), a);
    if (!m->code_file)
        m->code_file = "";
    const uint8_t *vi = e + 24;
    if (md_u32(vi) == MD_VSFIXEDFILEINFO_SIGNATURE) {
        uint32_t hi = md_u32(vi + 8), lo = md_u32(vi + 12);
        if (hi || lo)
            m->version = sk_arena_printf(a, "%u.%u.%u.%u", hi >> 16, hi & 0xffff, lo >> 16, lo & 0xffff);
    }
    read_cv_record(d, a, m, md_u32(e + 76), md_u32(e + 80));
    /* rust-minidump prints every code id lower-case: a PE's is its
     * timestamp and image size; a Mach-O's is its LC_UUID, which Crashpad
     * stores as an RSDS GUID with age 0 (so it is the debug id's first 32
     * digits). */
    if (!m->code_id && windows && stamp)
        m->code_id = sk_arena_printf(a, "%08x%x", stamp, (unsigned)m->size);
    if (!m->code_id && apple && m->debug_id && strlen(m->debug_id) >= 32) {
        char *c = sk_arena_strndup(a, m->debug_id, 32);
        for (char *q = c; *q; q++)
            *q = (char)tolower((unsigned char)*q);
        m->code_id = c;
    }
    if (!m->debug_file && m->debug_id)
        m->debug_file = last_component(m->code_file);
}

static int cmp_module(const void *x, const void *y)
{
    const md_module *a = x, *b = y;
    return a->base < b->base ? -1 : a->base > b->base;
}

static void read_modules(const sw_minidump *d, sk_arena *a, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    if (!want_stream(d, info, MD_MODULE_LIST_STREAM, "module list", 0, &p, &len))
        return;
    size_t n;
    const uint8_t *e = list_entries(info, "module list", p, len, sizeof(MDRawModule), &n);
    if (!e || !n)
        return;
    bool windows = info->sys.present && info->sys.platform <= MD_OS_WIN32_CE;
    bool apple = info->sys.present && (info->sys.platform == MD_OS_MAC_OS_X || info->sys.platform == MD_OS_IOS);
    info->modules = sk_arena_alloc(a, n * sizeof *info->modules);
    for (size_t i = 0; i < n; i++, e += sizeof(MDRawModule)) {
        md_module *m = &info->modules[info->nmodules];
        memset(m, 0, sizeof *m);
        read_module_entry(d, a, e, m, windows, apple);
        m->dump_index = (uint32_t)i;
        if (m->size == 0 || m->base + m->size < m->base) {
            note(info, "module %zu (%s): bad address range, skipped", i, m->code_file);
            continue;
        }
        if (info->nmodules == 0) {
            info->has_main_module = true;
            info->main_module_base = m->base;
        }
        info->nmodules++;
    }
    sk_sort(info->modules, info->nmodules, sizeof *info->modules, cmp_module);
}

static void read_unloaded(const sw_minidump *d, sk_arena *a, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    if (!want_stream(d, info, MD_UNLOADED_MODULE_LIST_STREAM, "unloaded module", 12, &p, &len))
        return;
    uint32_t hsize = md_u32(p), esize = md_u32(p + 4), n = md_u32(p + 8);
    if (hsize < 12 || hsize > len || esize < sizeof(MDRawUnloadedModule)) {
        note(info, "unloaded module stream: bad header");
        return;
    }
    uint64_t room = (len - hsize) / esize;
    if (n > room) {
        note(info, "unloaded module stream: claims %u entries, only %llu fit", n, (unsigned long long)room);
        n = (uint32_t)room;
    }
    info->unloaded = sk_arena_alloc(a, (n ? n : 1) * sizeof *info->unloaded);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = p + hsize + (uint64_t)i * esize;
        md_module *m = &info->unloaded[info->nunloaded++];
        m->base = md_u64(e);
        m->size = md_u32(e + 8);
        m->code_file = md_string(d, md_u32(e + 20), a);
        if (!m->code_file)
            m->code_file = "";
    }
}

static int cmp_region(const void *x, const void *y)
{
    const md_region *a = x, *b = y;
    return a->start < b->start ? -1 : a->start > b->start;
}

static void read_memory(const sw_minidump *d, sk_arena *a, md_info *info)
{
    const uint8_t *p, *p64;
    uint32_t len, len64;
    const char *why;
    size_t n = 0, n64 = 0;
    const uint8_t *e = NULL, *e64 = NULL;
    uint64_t base64 = 0;
    if (md_stream(d, MD_MEMORY_LIST_STREAM, &p, &len, &why))
        e = list_entries(info, "memory list", p, len, sizeof(MDMemoryDescriptor), &n);
    else if (why)
        note(info, "memory list stream: %s", why);
    if (md_stream(d, MD_MEMORY_64_LIST_STREAM, &p64, &len64, &why)) {
        if (len64 < 16) {
            note(info, "memory64 list stream: too short");
        } else {
            uint64_t c = md_u64(p64);
            base64 = md_u64(p64 + 8);
            uint64_t room = (len64 - 16) / 16;
            if (c > room) {
                note(info, "memory64 list stream: claims %llu ranges, only %llu fit", (unsigned long long)c,
                     (unsigned long long)room);
                c = room;
            }
            n64 = (size_t)c;
            e64 = p64 + 16;
        }
    } else if (why) {
        note(info, "memory64 list stream: %s", why);
    }
    info->memory.regions = sk_arena_alloc(a, (n + n64 + 1) * sizeof(md_region));
    size_t k = 0, bad = 0;
    for (size_t i = 0; e && i < n; i++, e += 16) {
        md_region *r = &info->memory.regions[k];
        r->start = md_u64(e);
        uint32_t size = md_u32(e + 8), rva = md_u32(e + 12);
        r->data = md_ptr(d, rva, size);
        r->size = size;
        if (!r->data || r->start + r->size < r->start) {
            bad++;
            continue;
        }
        k++;
    }
    uint64_t off = base64;
    for (size_t i = 0; e64 && i < n64; i++, e64 += 16) {
        md_region *r = &info->memory.regions[k];
        r->start = md_u64(e64);
        r->size = md_u64(e64 + 8);
        r->data = md_ptr(d, off, r->size);
        if (!r->data || r->start + r->size < r->start) {
            bad++;
            break; /* later ranges' offsets depend on this one's size */
        }
        off += r->size;
        k++;
    }
    if (bad)
        note(info, "memory lists: %zu ranges outside the file, skipped", bad);
    info->memory.nregions = k;
    sk_sort(info->memory.regions, k, sizeof(md_region), cmp_region);
}

static void read_exception(const sw_minidump *d, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    if (!want_stream(d, info, MD_EXCEPTION_STREAM, "exception", sizeof(MDRawExceptionStream), &p, &len))
        return;
    md_exception *x = &info->exception;
    x->present = true;
    x->thread_id = md_u32(p);
    x->code = md_u32(p + 8);
    x->flags = md_u32(p + 12);
    x->address = md_u64(p + 24);
    x->nparams = md_u32(p + 32);
    if (x->nparams > MD_EXCEPTION_MAXIMUM_PARAMETERS)
        x->nparams = MD_EXCEPTION_MAXIMUM_PARAMETERS;
    for (uint32_t i = 0; i < x->nparams; i++)
        x->params[i] = md_u64(p + 40 + 8 * i);
    uint32_t csize = md_u32(p + 160), crva = md_u32(p + 164);
    x->context = md_ptr(d, crva, csize);
    x->context_size = x->context ? csize : 0;
    if (!x->context && csize)
        note(info, "exception stream: context extends past the end of the file");
}

static void read_system_info(const sw_minidump *d, sk_arena *a, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    if (!want_stream(d, info, MD_SYSTEM_INFO_STREAM, "system info", sizeof(MDRawSystemInfo), &p, &len))
        return;
    md_system_info *s = &info->sys;
    s->present = true;
    s->arch = md_u16(p);
    s->level = md_u16(p + 2);
    s->revision = md_u16(p + 4);
    s->cpu_count = p[6];
    s->major = md_u32(p + 8);
    s->minor = md_u32(p + 12);
    s->build = md_u32(p + 16);
    s->platform = md_u32(p + 20);
    s->csd = md_string(d, md_u32(p + 24), a);
    if (s->arch == MD_CPU_ARCHITECTURE_X86 || s->arch == MD_CPU_ARCHITECTURE_AMD64) {
        memcpy(s->vendor, p + 32, 12);
        for (int i = 0; i < 12; i++)
            if (s->vendor[i] < 0x20 || s->vendor[i] > 0x7e)
                s->vendor[i] = s->vendor[i] ? '?' : '\0';
        s->vendor[12] = '\0';
    }
}

static void read_misc(const sw_minidump *d, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    const char *why;
    if (md_stream(d, MD_MISC_INFO_STREAM, &p, &len, &why)) {
        if (len >= MD_MISCINFO_SIZE && (md_u32(p + 4) & MD_MISCINFO_FLAGS1_PROCESS_ID)) {
            info->has_pid = true;
            info->pid = md_u32(p + 8);
        }
        if (len >= MD_MISCINFO_SIZE && (md_u32(p + 4) & MD_MISCINFO_FLAGS1_PROCESS_TIMES)) {
            info->has_create_time = true;
            info->process_create_time = md_u32(p + 12);
        }
    } else if (why) {
        note(info, "misc info stream: %s", why);
    }
    if (md_stream(d, MD_BREAKPAD_INFO_STREAM, &p, &len, &why)) {
        if (len >= sizeof(MDRawBreakpadInfo)) {
            uint32_t valid = md_u32(p);
            if (valid & MD_BREAKPAD_INFO_VALID_DUMP_THREAD_ID) {
                info->has_dump_thread = true;
                info->dump_thread = md_u32(p + 4);
            }
            if (valid & MD_BREAKPAD_INFO_VALID_REQUESTING_THREAD_ID) {
                info->has_requesting_thread = true;
                info->requesting_thread = md_u32(p + 8);
            }
        }
    } else if (why) {
        note(info, "breakpad info stream: %s", why);
    }
}

static char *utf16_fixed(const uint8_t *p, size_t max_units, sk_arena *a)
{
    size_t n = 0;
    while (n < max_units && md_u16(p + 2 * n))
        n++;
    return utf16_to_utf8(p, n, a);
}

static void read_assertion(const sw_minidump *d, sk_arena *a, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    if (!md_stream(d, MD_ASSERTION_INFO_STREAM, &p, &len, NULL) || len < sizeof(MDRawAssertionInfo))
        return;
    const char *expr = utf16_fixed(p, 128, a), *fn = utf16_fixed(p + 256, 128, a),
               *file = utf16_fixed(p + 512, 128, a);
    uint32_t line = md_u32(p + 768), type = md_u32(p + 772);
    if (type == MD_ASSERTION_INFO_TYPE_INVALID_PARAMETER)
        info->assertion = sk_arena_printf(a, "Invalid parameter passed to library function");
    else if (type == MD_ASSERTION_INFO_TYPE_PURE_VIRTUAL_CALL)
        info->assertion = sk_arena_printf(a, "Pure virtual function called");
    else if (*expr || *fn)
        info->assertion = sk_arena_printf(a, "%s in %s at %s:%u", expr, fn, file, line);
}

static const char *text_stream(const sw_minidump *d, uint32_t type, char nul_as, sk_arena *a)
{
    const uint8_t *p;
    uint32_t len;
    if (!md_stream(d, type, &p, &len, NULL))
        return NULL;
    /* trailing NULs are terminators, not separators */
    while (len && p[len - 1] == 0)
        len--;
    return clean_text(p, len, nul_as, a);
}

static void read_linux(const sw_minidump *d, sk_arena *a, md_info *info)
{
    info->linux_cpuinfo = text_stream(d, MD_LINUX_CPU_INFO, '\n', a);
    info->linux_status = text_stream(d, MD_LINUX_PROC_STATUS, '\n', a);
    info->linux_lsb_release = text_stream(d, MD_LINUX_LSB_RELEASE, '\n', a);
    info->linux_cmdline = text_stream(d, MD_LINUX_CMD_LINE, ' ', a);
    info->linux_maps = text_stream(d, MD_LINUX_MAPS, '\n', a);
    info->linux_environ = text_stream(d, MD_LINUX_ENVIRON, '\n', a);
    const uint8_t *p;
    uint32_t len;
    if (md_stream(d, MD_LINUX_AUXV, &p, &len, NULL))
        info->auxv_entries = len / (info->sys.arch == MD_CPU_ARCHITECTURE_X86 ||
                                            info->sys.arch == MD_CPU_ARCHITECTURE_ARM
                                        ? 8
                                        : 16);
    if (md_stream(d, MD_LINUX_DSO_DEBUG, &p, &len, NULL) && len >= 12) {
        uint32_t n = md_u32(p + 8);
        /* the link maps must be in the file for the count to mean anything */
        if (md_ptr(d, md_u32(p + 4), (uint64_t)n * 20))
            info->dso_count = n;
        else
            note(info, "linux dso debug stream: link map array outside the file");
    }
    if (!info->has_pid && info->linux_status) {
        const char *s = strstr(info->linux_status, "\nPid:");
        if (!s && strncmp(info->linux_status, "Pid:", 4) == 0)
            s = info->linux_status - 1;
        if (s) {
            char *end;
            unsigned long v = strtoul(s + 5, &end, 10);
            if (end != s + 5 && v <= UINT32_MAX) {
                info->has_pid = true;
                info->pid = (uint32_t)v;
            }
        }
    }
}

static void add_annotation(md_info *info, size_t *cap, const char *module, const char *key,
                           const char *value)
{
    if (!key || !value || info->nannotations >= 4096)
        return;
    sk_grow((void **)&info->annotations, cap, info->nannotations + 1, sizeof(sw_annotation));
    info->annotations[info->nannotations++] = (sw_annotation){module, key, value};
}

static void read_dictionary(const sw_minidump *d, sk_arena *a, md_info *info, size_t *cap,
                            const char *module, uint32_t size, uint32_t rva)
{
    const uint8_t *p = md_ptr(d, rva, size);
    if (!p || size < 4)
        return;
    uint64_t n = md_u32(p);
    if (n > (size - 4) / 8)
        n = (size - 4) / 8;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = p + 4 + i * 8;
        add_annotation(info, cap, module, md_utf8_string(d, md_u32(e), a), md_utf8_string(d, md_u32(e + 4), a));
    }
}

static void read_crashpad(const sw_minidump *d, sk_arena *a, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    if (!md_stream(d, MD_CRASHPAD_INFO_STREAM, &p, &len, NULL) || len < sizeof(MDRawCrashpadInfo))
        return;
    size_t cap = 0;
    read_dictionary(d, a, info, &cap, NULL, md_u32(p + 36), md_u32(p + 40));
    uint32_t lsize = md_u32(p + 44), lrva = md_u32(p + 48);
    const uint8_t *l = md_ptr(d, lrva, lsize);
    if (!l || lsize < 4)
        return;
    uint64_t n = md_u32(l);
    if (n > (lsize - 4) / 12)
        n = (lsize - 4) / 12;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *link = l + 4 + i * 12;
        uint32_t idx = md_u32(link);
        const char *module = NULL;
        /* module indexes refer to the dump's order, which we sorted: look
         * the name up afresh from the stream */
        const uint8_t *mp;
        uint32_t mlen;
        if (md_stream(d, MD_MODULE_LIST_STREAM, &mp, &mlen, NULL) && mlen >= 4) {
            uint64_t off = 4 + (uint64_t)idx * sizeof(MDRawModule);
            if (off + sizeof(MDRawModule) <= mlen)
                module = md_string(d, md_u32(mp + off + 20), a);
        }
        uint32_t isize = md_u32(link + 4), irva = md_u32(link + 8);
        const uint8_t *mi = md_ptr(d, irva, isize);
        if (!mi || isize < sizeof(MDRawModuleCrashpadInfo))
            continue;
        read_dictionary(d, a, info, &cap, module, md_u32(mi + 12), md_u32(mi + 16));
        uint32_t osize = md_u32(mi + 20), orva = md_u32(mi + 24);
        const uint8_t *ol = md_ptr(d, orva, osize);
        if (!ol || osize < 4)
            continue;
        uint64_t on = md_u32(ol);
        if (on > (osize - 4) / 12)
            on = (osize - 4) / 12;
        for (uint64_t k = 0; k < on; k++) {
            const uint8_t *o = ol + 4 + k * 12;
            if (md_u16(o + 4) != MD_ANNOTATION_TYPE_STRING)
                continue;
            add_annotation(info, &cap, module, md_utf8_string(d, md_u32(o), a),
                           md_utf8_string(d, md_u32(o + 8), a));
        }
    }
    /* keep the array in the arena so the report owns it */
    if (info->nannotations) {
        sw_annotation *copy = sk_arena_alloc(a, info->nannotations * sizeof *copy);
        memcpy(copy, info->annotations, info->nannotations * sizeof *copy);
        free(info->annotations);
        info->annotations = copy;
    }
}

/* MINIDUMP_HANDLE_DATA_STREAM: a header (its own size, descriptor size,
 * count), then descriptors of at least handle u64 + two name RVAs. */
static void read_handles(const sw_minidump *d, sk_arena *a, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    if (!want_stream(d, info, MD_HANDLE_DATA_STREAM, "handle data", 16, &p, &len))
        return;
    uint32_t hsize = md_u32(p), dsize = md_u32(p + 4), n = md_u32(p + 8);
    if (hsize < 16 || hsize > len || dsize < 16) {
        note(info, "handle data stream: bad header");
        return;
    }
    uint64_t room = (len - hsize) / dsize;
    if (n > room) {
        note(info, "handle data stream: claims %u handles, only %llu fit", n, (unsigned long long)room);
        n = (uint32_t)room;
    }
    info->has_handles = true;
    info->handles = sk_arena_alloc(a, (n ? n : 1) * sizeof *info->handles);
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = p + hsize + (uint64_t)i * dsize;
        sw_handle *h = &info->handles[info->nhandles++];
        h->handle = md_u64(e);
        uint32_t t = md_u32(e + 8), o = md_u32(e + 12);
        h->type_name = t ? md_string(d, t, a) : NULL;
        h->object_name = o ? md_string(d, o, a) : NULL;
    }
}

/* NUL-terminated text at *p within end, advancing; NULL when none left. */
static const char *next_cstr(const uint8_t **p, const uint8_t *end, sk_arena *a)
{
    if (*p >= end)
        return NULL;
    size_t n = strnlen((const char *)*p, (size_t)(end - *p));
    const char *s = clean_text(*p, n, '?', a);
    *p += n + (*p + n < end);
    return s;
}

/* Mozilla's macOS streams.  MDRawMacCrashInfo: stream type, record count,
 * record start size, then up to 20 location descriptors; each record is the
 * stream type, a version, thread, dialog mode, (version 5+) abort cause —
 * u64 each after 4 bytes of padding — then five NUL-terminated strings:
 * module path, message, signature string, backtrace, message2. */
static void read_mac(const sw_minidump *d, sk_arena *a, md_info *info)
{
    const uint8_t *p;
    uint32_t len;
    const char *why;
    if (md_stream(d, MD_MOZ_MACOS_CRASH_INFO_STREAM, &p, &len, &why)) {
        info->has_mac_crash_info = true;
        uint32_t n = len >= 12 ? md_u32(p + 4) : 0;
        if (n > 20)
            n = 20;
        if (12 + (uint64_t)n * 8 > len) {
            note(info, "mac crash info stream: %u records do not fit", n);
            n = len >= 12 ? (len - 12) / 8 : 0;
        }
        info->mac_crash = sk_arena_alloc(a, (n ? n : 1) * sizeof *info->mac_crash);
        for (uint32_t i = 0; i < n; i++) {
            uint32_t rsize = md_u32(p + 12 + 8 * i), rrva = md_u32(p + 16 + 8 * i);
            const uint8_t *r = md_ptr(d, rrva, rsize);
            if (!r || rsize < 16) {
                note(info, "mac crash info record %u: outside the file", i);
                continue;
            }
            sw_mac_crash_record *m = &info->mac_crash[info->nmac_crash++];
            memset(m, 0, sizeof *m);
            uint64_t version = md_u64(r + 8);
            const uint8_t *end = r + rsize, *q = r + 16;
            if (q + 8 <= end) { m->has_thread = true; m->thread = md_u64(q); q += 8; }
            if (q + 8 <= end) { m->has_dialog_mode = true; m->dialog_mode = md_u64(q); q += 8; }
            if (version >= 5 && q + 8 <= end) { m->has_abort_cause = true; m->abort_cause = md_u64(q); q += 8; }
            m->module = next_cstr(&q, end, a);
            m->message = next_cstr(&q, end, a);
            m->signature_string = next_cstr(&q, end, a);
            m->backtrace = next_cstr(&q, end, a);
            m->message2 = next_cstr(&q, end, a);
        }
    } else if (why) {
        note(info, "mac crash info stream: %s", why);
    }
    if (md_stream(d, MD_MOZ_MACOS_BOOTARGS_STREAM, &p, &len, &why)) {
        info->has_mac_boot_args = true;
        if (len >= 8)
            info->mac_boot_args = md_u32(p + 4) ? md_string(d, md_u32(p + 4), a) : NULL;
    } else if (why) {
        note(info, "mac boot args stream: %s", why);
    }
}

static void add_no_access(md_info *info, sk_arena *a, size_t *cap, uint64_t start, uint64_t size)
{
    if (!size || info->nno_access >= 65536)
        return;
    if (info->nno_access == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        md_region *grown = sk_arena_alloc(a, ncap * sizeof *grown);
        if (info->nno_access)
            memcpy(grown, info->no_access, info->nno_access * sizeof *grown);
        info->no_access = grown;
        *cap = ncap;
    }
    info->no_access[info->nno_access++] = (md_region){start, size, NULL};
}

/* Linux "start-end perms ..." lines whose permissions are "---". */
static void no_access_from_maps(md_info *info, sk_arena *a, size_t *cap)
{
    for (const char *l = info->linux_maps; l && *l;) {
        char *end;
        unsigned long long lo = strtoull(l, &end, 16), hi;
        if (*end == '-') {
            const char *q = end + 1;
            hi = strtoull(q, &end, 16);
            if (end != q && *end == ' ' && strncmp(end + 1, "---", 3) == 0 && hi > lo)
                add_no_access(info, a, cap, lo, hi - lo);
        }
        const char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : NULL;
    }
}

static void read_memory_info(const sw_minidump *d, sk_arena *a, md_info *info)
{
    size_t cap = 0;
    no_access_from_maps(info, a, &cap);
    const uint8_t *p;
    uint32_t len;
    if (!want_stream(d, info, MD_MEMORY_INFO_LIST_STREAM, "memory info", 16, &p, &len))
        return;
    uint32_t hsize = md_u32(p), esize = md_u32(p + 4);
    uint64_t n = md_u64(p + 8);
    if (hsize < 16 || hsize > len || esize == 0) {
        note(info, "memory info stream: bad header");
        return;
    }
    uint64_t room = (len - hsize) / esize;
    if (n > room) {
        note(info, "memory info stream: claims %llu entries, only %llu fit", (unsigned long long)n,
             (unsigned long long)room);
        n = room;
    }
    info->has_memory_info = true;
    info->memory_info_count = (size_t)n;
    /* MINIDUMP_MEMORY_INFO: base u64, allocation base u64, allocation
     * protect u32, pad, region size u64, state u32, protect u32, type u32 */
    if (esize < 44)
        return;
    for (uint64_t i = 0; i < n; i++) {
        const uint8_t *e = p + hsize + i * esize;
        uint32_t state = md_u32(e + 32), protect = md_u32(e + 36);
        bool committed = state == 0x1000; /* MEM_COMMIT */
        if (committed && ((protect & 0xff) == 0x01 || (protect & 0x100)))
            add_no_access(info, a, &cap, md_u64(e), md_u64(e + 24));
    }
}

void md_read_all(const sw_minidump *d, sk_arena *a, md_info *info)
{
    memset(info, 0, sizeof *info);
    sk_buf_init(&info->errors);
    read_system_info(d, a, info);
    read_threads(d, a, info);
    read_thread_names(d, a, info);
    read_modules(d, a, info);
    read_unloaded(d, a, info);
    read_memory(d, a, info);
    read_exception(d, info);
    read_misc(d, info);
    read_assertion(d, a, info);
    read_linux(d, a, info);
    read_crashpad(d, a, info);
    read_handles(d, a, info);
    read_mac(d, a, info);
    read_memory_info(d, a, info);
    info->linux_limits = text_stream(d, MD_MOZ_LINUX_LIMITS_STREAM, '\n', a);
    const uint8_t *h = md_ptr(d, 0, sizeof(MDRawHeader));
    if (h)
        info->dump_time = md_u32(h + 20);
}

void md_info_free(md_info *info)
{
    sk_buf_free(&info->errors);
}
