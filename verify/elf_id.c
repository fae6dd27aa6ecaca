/*
 * The identity of a loaded module for the dump's CodeView record: the GNU
 * build-id note, found through the program headers (which work both on the
 * file and on the loaded image), or for a file without one the XOR hash of
 * the start of .text that dumpsyms uses too (reference.md section 2).
 *
 * Only native little-endian images are read: the capture traces processes
 * of the machine it runs on.
 */
#include <elf.h>
#include <string.h>

#include "capture.h"

typedef struct phdr_info {
    uint32_t type;
    uint64_t offset, vaddr, filesz;
} phdr_info;

typedef struct ehdr_info {
    bool is64;
    uint64_t phoff, shoff;
    uint32_t phentsize, phnum, shentsize, shnum, shstrndx;
} ehdr_info;

static bool read_ehdr(sv_read_fn read, void *ctx, uint64_t at, ehdr_info *e)
{
    unsigned char id[EI_NIDENT];
    if (!read(ctx, at, id, sizeof id) || memcmp(id, ELFMAG, SELFMAG) != 0)
        return false;
    if (id[EI_DATA] != ELFDATA2LSB)
        return false;
    if (id[EI_CLASS] == ELFCLASS64) {
        Elf64_Ehdr h;
        if (!read(ctx, at, &h, sizeof h))
            return false;
        *e = (ehdr_info){true, h.e_phoff, h.e_shoff, h.e_phentsize, h.e_phnum,
                         h.e_shentsize, h.e_shnum, h.e_shstrndx};
        return e->phentsize >= sizeof(Elf64_Phdr) || e->phnum == 0;
    }
    if (id[EI_CLASS] == ELFCLASS32) {
        Elf32_Ehdr h;
        if (!read(ctx, at, &h, sizeof h))
            return false;
        *e = (ehdr_info){false, h.e_phoff, h.e_shoff, h.e_phentsize, h.e_phnum,
                         h.e_shentsize, h.e_shnum, h.e_shstrndx};
        return e->phentsize >= sizeof(Elf32_Phdr) || e->phnum == 0;
    }
    return false;
}

static bool read_phdr(sv_read_fn read, void *ctx, const ehdr_info *e, uint64_t at, phdr_info *p)
{
    if (e->is64) {
        Elf64_Phdr h;
        if (!read(ctx, at, &h, sizeof h))
            return false;
        *p = (phdr_info){h.p_type, h.p_offset, h.p_vaddr, h.p_filesz};
    } else {
        Elf32_Phdr h;
        if (!read(ctx, at, &h, sizeof h))
            return false;
        *p = (phdr_info){h.p_type, h.p_offset, h.p_vaddr, h.p_filesz};
    }
    return true;
}

/* Looks for NT_GNU_BUILD_ID in a block of notes. */
static bool scan_notes(const uint8_t *d, size_t n, uint8_t *id, size_t cap, size_t *len)
{
    size_t pos = 0;
    while (n - pos >= 12) {
        uint32_t namesz, descsz, type;
        memcpy(&namesz, d + pos, 4);
        memcpy(&descsz, d + pos + 4, 4);
        memcpy(&type, d + pos + 8, 4);
        pos += 12;
        size_t nameal = ((size_t)namesz + 3) & ~(size_t)3;
        size_t descal = ((size_t)descsz + 3) & ~(size_t)3;
        if (nameal > n - pos)
            return false;
        const uint8_t *name = d + pos;
        pos += nameal;
        if (descsz > n - pos)
            return false;
        if (type == NT_GNU_BUILD_ID && namesz == 4 && memcmp(name, "GNU", 4) == 0 && descsz > 0) {
            size_t l = descsz < cap ? descsz : cap;
            memcpy(id, d + pos, l);
            *len = l;
            return true;
        }
        if (descal > n - pos)
            return false;
        pos += descal;
    }
    return false;
}

static bool note_at(sv_read_fn read, void *ctx, uint64_t at, uint64_t size, uint8_t *id,
                    size_t cap, size_t *len)
{
    if (size == 0 || size > 65536)
        return false;
    uint8_t buf[65536];
    if (!read(ctx, at, buf, (size_t)size))
        return false;
    return scan_notes(buf, (size_t)size, id, cap, len);
}

/* The XOR of the first page of .text, for files without a build-id. */
static bool text_hash(sv_read_fn read, void *ctx, const ehdr_info *e, uint8_t *id, size_t cap,
                      size_t *len)
{
    if (cap < 16 || e->shnum == 0 || e->shnum > 65535 || e->shstrndx >= e->shnum)
        return false;
    size_t shsz = e->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
    if (e->shentsize < shsz)
        return false;
    uint64_t stroff = 0, strsize = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = 0; i < e->shnum; i++) {
            if (pass == 0 && i != e->shstrndx)
                continue;
            uint64_t name, type, off, size;
            uint64_t at = e->shoff + (uint64_t)i * e->shentsize;
            if (e->is64) {
                Elf64_Shdr s;
                if (!read(ctx, at, &s, sizeof s))
                    return false;
                name = s.sh_name, type = s.sh_type, off = s.sh_offset, size = s.sh_size;
            } else {
                Elf32_Shdr s;
                if (!read(ctx, at, &s, sizeof s))
                    return false;
                name = s.sh_name, type = s.sh_type, off = s.sh_offset, size = s.sh_size;
            }
            if (pass == 0) {
                stroff = off, strsize = size;
                continue;
            }
            char nm[8] = {0};
            if (type != SHT_PROGBITS || name + 6 > strsize || !read(ctx, stroff + name, nm, 6))
                continue;
            if (strcmp(nm, ".text") != 0)
                continue;
            size_t n = size < 4096 ? (size_t)size : 4096;
            uint8_t buf[4096];
            if (!read(ctx, off, buf, n))
                return false;
            memset(id, 0, 16);
            for (size_t k = 0; k < n; k++)
                id[k % 16] ^= buf[k];
            *len = 16;
            return true;
        }
    }
    return false;
}

bool sv_elf_build_id(sv_read_fn read, void *ctx, bool in_memory, uint64_t base, uint8_t *id,
                     size_t cap, size_t *len)
{
    ehdr_info e;
    if (!read_ehdr(read, ctx, in_memory ? base : 0, &e))
        return false;
    if (e.phnum > 4096)
        return false;
    uint64_t phbase = (in_memory ? base : 0) + e.phoff;
    /* In memory, notes sit at bias + p_vaddr, the bias being the distance
     * between where the first PT_LOAD landed and where it asked to be. */
    uint64_t bias = 0;
    if (in_memory) {
        bool have = false;
        for (uint32_t i = 0; i < e.phnum; i++) {
            phdr_info p;
            if (!read_phdr(read, ctx, &e, phbase + (uint64_t)i * e.phentsize, &p))
                return false;
            if (p.type == PT_LOAD) {
                bias = base - (p.vaddr & ~(uint64_t)0xfff);
                have = true;
                break;
            }
        }
        if (!have)
            return false;
    }
    for (uint32_t i = 0; i < e.phnum; i++) {
        phdr_info p;
        if (!read_phdr(read, ctx, &e, phbase + (uint64_t)i * e.phentsize, &p))
            return false;
        if (p.type != PT_NOTE)
            continue;
        uint64_t at = in_memory ? bias + p.vaddr : p.offset;
        if (note_at(read, ctx, at, p.filesz, id, cap, len))
            return true;
    }
    if (in_memory)
        return false;
    return text_hash(read, ctx, &e, id, cap, len);
}

/* A file offset for a virtual address, through the PT_LOAD that holds it. */
static bool vaddr_to_offset(sv_read_fn read, void *ctx, const ehdr_info *e, uint64_t vaddr,
                            uint64_t *off)
{
    for (uint32_t i = 0; i < e->phnum; i++) {
        phdr_info p;
        if (!read_phdr(read, ctx, e, e->phoff + (uint64_t)i * e->phentsize, &p))
            return false;
        if (p.type == PT_LOAD && vaddr >= p.vaddr && vaddr - p.vaddr < p.filesz) {
            *off = p.offset + (vaddr - p.vaddr);
            return true;
        }
    }
    return false;
}

bool sv_elf_soname(sv_read_fn read, void *ctx, char *out, size_t cap)
{
    ehdr_info e;
    if (cap < 2 || !read_ehdr(read, ctx, 0, &e) || e.phnum > 4096)
        return false;
    for (uint32_t i = 0; i < e.phnum; i++) {
        phdr_info p;
        if (!read_phdr(read, ctx, &e, e.phoff + (uint64_t)i * e.phentsize, &p))
            return false;
        if (p.type != PT_DYNAMIC)
            continue;
        size_t entsize = e.is64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
        uint64_t strtab = 0, soname = 0;
        bool have_strtab = false, have_soname = false;
        for (uint64_t k = 0; k < p.filesz / entsize && k < 65536; k++) {
            int64_t tag;
            uint64_t val;
            if (e.is64) {
                Elf64_Dyn d;
                if (!read(ctx, p.offset + k * entsize, &d, sizeof d))
                    return false;
                tag = d.d_tag, val = d.d_un.d_val;
            } else {
                Elf32_Dyn d;
                if (!read(ctx, p.offset + k * entsize, &d, sizeof d))
                    return false;
                tag = d.d_tag, val = d.d_un.d_val;
            }
            if (tag == DT_NULL)
                break;
            if (tag == DT_STRTAB)
                strtab = val, have_strtab = true;
            else if (tag == DT_SONAME)
                soname = val, have_soname = true;
        }
        uint64_t at;
        if (!have_strtab || !have_soname || !vaddr_to_offset(read, ctx, &e, strtab, &at))
            return false;
        /* Read byte by byte up to the NUL: the name is short, and a read
         * past the end of the file just fails. */
        for (size_t n = 0; n < cap; n++) {
            char c;
            if (!read(ctx, at + soname + n, &c, 1))
                return false;
            out[n] = c;
            if (c == '\0')
                return n > 0;
        }
        return false;
    }
    return false;
}
