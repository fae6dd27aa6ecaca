/*
 * What the capture learns about a stopped process from /proc: its mappings,
 * the modules they make up, and small text files copied into Linux streams.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture.h"

int sv_read_small_file(const char *path, sk_buf *out, sk_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sk_fail(err, SK_EIO, "%s: %s", path, strerror(errno));
    char chunk[8192];
    for (;;) {
        ssize_t r = read(fd, chunk, sizeof chunk);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return sk_fail(err, SK_EIO, "%s: %s", path, strerror(e));
        }
        if (r == 0)
            break;
        sk_buf_append(out, chunk, (size_t)r);
        /* /proc files are small; a runaway one must not fill the dump */
        if (out->len > (64u << 20))
            break;
    }
    close(fd);
    return SK_OK;
}

int sv_read_maps(pid_t pid, sv_maps *maps, sk_error *err)
{
    memset(maps, 0, sizeof *maps);
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    sk_buf b;
    sk_buf_init(&b);
    int rc = sv_read_small_file(path, &b, err);
    if (rc) {
        sk_buf_free(&b);
        return rc;
    }
    maps->text_len = b.len;
    maps->raw = sk_xmalloc(b.len + 1);
    memcpy(maps->raw, b.len ? b.data : "", b.len);
    maps->raw[b.len] = 0;
    maps->text = sk_xmalloc(b.len + 1);
    memcpy(maps->text, maps->raw, b.len + 1);
    sk_buf_free(&b);

    size_t cap = 0;
    char *save = NULL;
    for (char *line = strtok_r(maps->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        sv_mapping m;
        memset(&m, 0, sizeof m);
        unsigned long long start, end, off, inode;
        unsigned dmaj, dmin;
        int pos = 0;
        if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, m.perms, &off, &dmaj,
                   &dmin, &inode, &pos) < 7)
            continue;
        m.start = start;
        m.end = end;
        m.offset = off;
        m.inode = inode;
        char *p = line + pos;
        while (*p == ' ')
            p++;
        m.path = p;
        sk_grow((void **)&maps->v, &cap, maps->n + 1, sizeof *maps->v);
        maps->v[maps->n++] = m;
    }
    return SK_OK;
}

void sv_maps_free(sv_maps *maps)
{
    free(maps->text);
    free(maps->raw);
    free(maps->v);
    memset(maps, 0, sizeof *maps);
}

const sv_mapping *sv_maps_find(const sv_maps *maps, uint64_t addr)
{
    for (size_t i = 0; i < maps->n; i++)
        if (addr >= maps->v[i].start && addr < maps->v[i].end)
            return &maps->v[i];
    return NULL;
}

/* ---- modules ---- */

struct file_reader {
    int fd;
};

static bool read_file_at(void *ctx, uint64_t off, void *buf, size_t n)
{
    struct file_reader *r = ctx;
    return pread(r->fd, buf, n, (off_t)off) == (ssize_t)n;
}

struct mem_reader {
    int fd;
};

static bool read_mem_at(void *ctx, uint64_t off, void *buf, size_t n)
{
    struct mem_reader *r = ctx;
    return pread(r->fd, buf, n, (off_t)off) == (ssize_t)n;
}

static bool id_from_file(const char *path, uint8_t *id, size_t cap, size_t *len)
{
    struct file_reader r = {open(path, O_RDONLY | O_CLOEXEC)};
    if (r.fd < 0)
        return false;
    bool ok = sv_elf_build_id(read_file_at, &r, false, 0, id, cap, len);
    close(r.fd);
    return ok;
}

static bool soname_from_file(const char *path, char *out, size_t cap)
{
    struct file_reader r = {open(path, O_RDONLY | O_CLOEXEC)};
    if (r.fd < 0)
        return false;
    bool ok = sv_elf_soname(read_file_at, &r, out, cap);
    close(r.fd);
    return ok;
}

/* Breakpad's Linux client (and crashpad, and their descendants) name a
 * shared library by its SONAME: the mapped path with its last component
 * replaced, "/usr/lib/libpng16.so.16" for libpng16.so.16.39.0.  dumpsyms
 * writes the same name in the MODULE line, so the lookups match. */
static void apply_soname(sv_module *mod, const char *mapped)
{
    char soname[256];
    if (!soname_from_file(mapped, soname, sizeof soname) &&
        !soname_from_file(mod->name, soname, sizeof soname))
        return;
    if (strchr(soname, '/'))
        return;
    const char *slash = strrchr(mod->name, '/');
    size_t dir = slash ? (size_t)(slash - mod->name) + 1 : 0;
    char *name = sk_xmalloc(dir + strlen(soname) + 1);
    memcpy(name, mod->name, dir);
    strcpy(name + dir, soname);
    free(mod->name);
    mod->name = name;
}

static const char deleted_suffix[] = " (deleted)";

int sv_collect_modules(pid_t pid, int mem_fd, const sv_maps *maps, sv_module **out, size_t *nout,
                       sk_error *err)
{
    (void)err;
    sv_module *mods = NULL;
    size_t n = 0, cap = 0;
    /* first mapping index of each module, for the map_files lookup */
    size_t *first = NULL, first_cap = 0;
    bool *exec = NULL;
    size_t exec_cap = 0;

    for (size_t i = 0; i < maps->n; i++) {
        const sv_mapping *m = &maps->v[i];
        bool vdso = strcmp(m->path, "[vdso]") == 0;
        if (m->path[0] != '/' && !vdso)
            continue;
        /* A file's mappings follow one another; a new offset-0 mapping of a
         * file already seen is a second load of it (dlopen of a copy). */
        size_t k = n;
        for (size_t j = n; j-- > 0;) {
            const sv_mapping *f = &maps->v[first[j]];
            if (strcmp(f->path, m->path) == 0 && f->inode == m->inode) {
                if (!(m->offset == 0 && f->offset == 0 && !vdso))
                    k = j;
                break;
            }
        }
        if (k == n) {
            sk_grow((void **)&mods, &cap, n + 1, sizeof *mods);
            sk_grow((void **)&first, &first_cap, n + 1, sizeof *first);
            sk_grow((void **)&exec, &exec_cap, n + 1, sizeof *exec);
            memset(&mods[n], 0, sizeof mods[n]);
            mods[n].base = m->start;
            mods[n].size = m->end - m->start;
            first[n] = i;
            exec[n] = false;
            n++;
        } else {
            if (m->start < mods[k].base) {
                mods[k].size += mods[k].base - m->start;
                mods[k].base = m->start;
            }
            if (m->end > mods[k].base + mods[k].size)
                mods[k].size = m->end - mods[k].base;
        }
        if (m->perms[2] == 'x')
            exec[k] = true;
    }

    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (!exec[i])
            continue;
        const sv_mapping *m = &maps->v[first[i]];
        sv_module mod = mods[i];
        bool vdso = strcmp(m->path, "[vdso]") == 0;
        if (vdso) {
            /* Breakpad's name for the kernel's vDSO */
            mod.name = sk_xstrdup("linux-gate.so");
        } else {
            size_t len = strlen(m->path);
            size_t sl = sizeof deleted_suffix - 1;
            if (len > sl && strcmp(m->path + len - sl, deleted_suffix) == 0)
                len -= sl;
            mod.name = sk_xstrndup(m->path, len);
        }
        bool found = false;
        if (!vdso) {
            /* map_files names exactly the file that is mapped, even when the
             * path has since been replaced or deleted (needs privileges). */
            char mf[128];
            snprintf(mf, sizeof mf, "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid, m->start,
                     m->end);
            found = id_from_file(mf, mod.id, sizeof mod.id, &mod.id_len);
            if (!found)
                found = id_from_file(mod.name, mod.id, sizeof mod.id, &mod.id_len);
            apply_soname(&mod, mf);
        }
        if (!found) {
            struct mem_reader r = {mem_fd};
            found = sv_elf_build_id(read_mem_at, &r, true, mod.base, mod.id, sizeof mod.id,
                                    &mod.id_len);
        }
        if (!found)
            mod.id_len = 0;
        mods[kept++] = mod;
    }
    /* Modules must not overlap or Breakpad's processor drops them: clip. */
    for (size_t i = 1; i < kept; i++) {
        sv_module *prev = &mods[i - 1];
        if (prev->base + prev->size > mods[i].base)
            prev->size = mods[i].base > prev->base ? mods[i].base - prev->base : 0;
    }
    free(first);
    free(exec);
    *out = mods;
    *nout = kept;
    return SK_OK;
}

void sv_modules_free(sv_module *mods, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(mods[i].name);
    free(mods);
}
