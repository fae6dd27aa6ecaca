/*
 * macho.c — fat headers, the Mach-O header and load commands, symbols and
 * the stabs debug map.  See macho.h for why this reader is our own.  Every
 * read goes through rd32/rd64 over a checked range; offsets and sizes from
 * the file are compared with what is left before they are added, so a
 * hostile value cannot wrap a pointer.
 */
#include "macho.h"

#include <stdlib.h>
#include <string.h>

/* Load commands we read. */
#define LC_SEGMENT 0x1u
#define LC_SYMTAB 0x2u
#define LC_DYSYMTAB 0xbu
#define LC_ID_DYLIB 0xdu
#define LC_SEGMENT_64 0x19u
#define LC_UUID 0x1bu
#define LC_FUNCTION_STARTS 0x26u
#define LC_BUILD_VERSION 0x32u

/* A fat header with more slices than this is not one (Java class files
 * start with the same magic, followed by version numbers >= 45). */
#define FAT_MAX_ARCHS 30u

static uint32_t rd32(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}
static uint64_t rd64(const uint8_t *p, bool le)
{
    uint64_t lo = rd32(p, le), hi = rd32(p + 4, le);
    return le ? lo | hi << 32 : hi | lo << 32;
}
static uint16_t rd16(const uint8_t *p, bool le)
{
    return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[1] | p[0] << 8);
}

/* [off, off+len) inside [0, size)? */
static bool in_range(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

int ds_macho_probe(const uint8_t *data, size_t size)
{
    if (size < 8)
        return 0;
    uint32_t be = rd32(data, false), le = rd32(data, true);
    if (be == DS_MH_MAGIC || be == DS_MH_MAGIC_64 || le == DS_MH_MAGIC || le == DS_MH_MAGIC_64)
        return 1;
    if (be == DS_FAT_MAGIC || be == DS_FAT_MAGIC_64) {
        uint32_t n = rd32(data + 4, false);
        return n > 0 && n <= FAT_MAX_ARCHS ? 2 : 0;
    }
    return 0;
}

const char *ds_macho_arch_name(uint32_t cputype, uint32_t cpusubtype)
{
    uint32_t sub = cpusubtype & ~DS_CPU_SUBTYPE_MASK;
    switch (cputype) {
    case DS_CPU_TYPE_X86: return "x86";
    case DS_CPU_TYPE_X86_64: return sub == 8 ? "x86_64h" : "x86_64";
    case DS_CPU_TYPE_ARM64: return sub == 2 ? "arm64e" : "arm64";
    case DS_CPU_TYPE_ARM64_32: return "arm64_32";
    case DS_CPU_TYPE_PPC: return "ppc";
    case DS_CPU_TYPE_PPC64: return "ppc64";
    case DS_CPU_TYPE_ARM:
        switch (sub) {
        case 5: return "armv4t";
        case 6: return "armv6";
        case 7: return "armv5";
        case 8: return "xscale";
        case 9: return "armv7";
        case 10: return "armv7f";
        case 11: return "armv7s";
        case 12: return "armv7k";
        case 13: return "armv8";
        case 14: return "armv6m";
        case 15: return "armv7m";
        case 16: return "armv7em";
        default: return "arm";
        }
    default: return NULL;
    }
}

static void slice_arch(ds_macho_slice *s)
{
    s->arch = ds_macho_arch_name(s->cputype, s->cpusubtype);
    if (!s->arch) {
        snprintf(s->arch_buf, sizeof s->arch_buf, "cpu%u.%u", s->cputype, s->cpusubtype & ~DS_CPU_SUBTYPE_MASK);
        s->arch = s->arch_buf;
    }
}

int ds_macho_fat_parse(const char *path, const uint8_t *data, size_t size, ds_macho_fat *out, sk_error *err)
{
    memset(out, 0, sizeof *out);
    int kind = ds_macho_probe(data, size);
    if (kind == 0)
        return sk_fail(err, SK_EFORMAT, "%s: not a Mach-O file", path);
    if (kind == 1) {
        if (size < 28)
            return sk_fail(err, SK_EFORMAT, "%s: Mach-O header truncated (%zu bytes)", path, size);
        bool le = rd32(data, true) == DS_MH_MAGIC || rd32(data, true) == DS_MH_MAGIC_64;
        out->slices = sk_xcalloc(1, sizeof *out->slices);
        out->nslices = 1;
        out->slices[0].cputype = rd32(data + 4, le);
        out->slices[0].cpusubtype = rd32(data + 8, le);
        out->slices[0].size = size;
        slice_arch(&out->slices[0]);
        return SK_OK;
    }
    bool is64 = rd32(data, false) == DS_FAT_MAGIC_64;
    uint32_t n = rd32(data + 4, false);
    size_t entsz = is64 ? 32 : 20;
    if (!in_range(8, (uint64_t)n * entsz, size))
        return sk_fail(err, SK_EFORMAT, "%s: fat header truncated: %u slices need %zu bytes, the file has %zu", path,
                       n, 8 + n * entsz, size);
    out->fat = true;
    out->slices = sk_xcalloc(n, sizeof *out->slices);
    out->nslices = n;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = data + 8 + i * entsz;
        ds_macho_slice *s = &out->slices[i];
        s->cputype = rd32(e, false);
        s->cpusubtype = rd32(e + 4, false);
        if (is64) {
            s->offset = rd64(e + 8, false);
            s->size = rd64(e + 16, false);
            s->align = rd32(e + 24, false);
        } else {
            s->offset = rd32(e + 8, false);
            s->size = rd32(e + 12, false);
            s->align = rd32(e + 16, false);
        }
        slice_arch(s);
        if (!in_range(s->offset, s->size, size) || s->size == 0) {
            int rc = sk_fail(err, SK_EFORMAT,
                             "%s: fat slice %u (%s) at offset 0x%llx size 0x%llx lies outside the file (0x%zx bytes)",
                             path, i, s->arch, (unsigned long long)s->offset, (unsigned long long)s->size, size);
            ds_macho_fat_free(out);
            return rc;
        }
        if (s->offset < 8 + (uint64_t)n * entsz) {
            int rc = sk_fail(err, SK_EFORMAT, "%s: fat slice %u (%s) overlaps the fat header", path, i, s->arch);
            ds_macho_fat_free(out);
            return rc;
        }
        for (uint32_t j = 0; j < i; j++) {
            const ds_macho_slice *o = &out->slices[j];
            if (s->offset < o->offset + o->size && o->offset < s->offset + s->size) {
                int rc = sk_fail(err, SK_EFORMAT, "%s: fat slices %u (%s) and %u (%s) overlap", path, j, o->arch, i,
                                 s->arch);
                ds_macho_fat_free(out);
                return rc;
            }
        }
    }
    return SK_OK;
}

void ds_macho_fat_free(ds_macho_fat *f)
{
    free(f->slices);
    memset(f, 0, sizeof *f);
}

/* ---- one image ----------------------------------------------------------- */

static void name16(char out[17], const uint8_t *p)
{
    memcpy(out, p, 16);
    out[16] = '\0';
}

static int bad(ds_macho *m, sk_error *err, const char *fmt, ...) SK_PRINTF(3, 4);
static int bad(ds_macho *m, sk_error *err, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int rc = sk_fail(err, SK_EFORMAT, "%s: %s", m->path ? m->path : "Mach-O", msg);
    ds_macho_free(m);
    return rc;
}

static int read_segment(ds_macho *m, const uint8_t *c, uint32_t cmdsize, unsigned lcn, sk_error *err)
{
    bool le = m->le, s64 = m->is64;
    size_t hdr = s64 ? 72 : 56, secsz = s64 ? 80 : 68;
    if (cmdsize < hdr)
        return bad(m, err, "load command %u: segment command too small (%u bytes)", lcn, cmdsize);
    ds_macho_segment seg = {0};
    name16(seg.name, c + 8);
    uint32_t nsects;
    if (s64) {
        seg.vmaddr = rd64(c + 24, le);
        seg.vmsize = rd64(c + 32, le);
        seg.fileoff = rd64(c + 40, le);
        seg.filesize = rd64(c + 48, le);
        seg.maxprot = rd32(c + 56, le);
        seg.initprot = rd32(c + 60, le);
        nsects = rd32(c + 64, le);
    } else {
        seg.vmaddr = rd32(c + 24, le);
        seg.vmsize = rd32(c + 28, le);
        seg.fileoff = rd32(c + 32, le);
        seg.filesize = rd32(c + 36, le);
        seg.maxprot = rd32(c + 40, le);
        seg.initprot = rd32(c + 44, le);
        nsects = rd32(c + 48, le);
    }
    if ((uint64_t)nsects * secsz > cmdsize - hdr)
        return bad(m, err, "load command %u: segment %s claims %u sections, its command holds %zu", lcn, seg.name,
                   nsects, (cmdsize - hdr) / secsz);
    /* A dSYM's segments other than __DWARF keep their file sizes but have
     * no bytes in the file: only insist on the contents we will read. */
    bool dsym_shell = m->filetype == DS_MH_DSYM && strcmp(seg.name, "__DWARF") != 0;
    if (!dsym_shell && !in_range(seg.fileoff, seg.filesize, m->size))
        return bad(m, err, "segment %s: file range 0x%llx+0x%llx lies past the end of the file (0x%zx bytes)",
                   seg.name, (unsigned long long)seg.fileoff, (unsigned long long)seg.filesize, m->size);
    if (seg.vmaddr + seg.vmsize < seg.vmaddr)
        return bad(m, err, "segment %s: address range wraps around", seg.name);
    for (size_t i = 0; i < m->nsegments; i++) {
        const ds_macho_segment *o = &m->segments[i];
        if (seg.vmsize && o->vmsize && seg.vmaddr < o->vmaddr + o->vmsize && o->vmaddr < seg.vmaddr + seg.vmsize)
            return bad(m, err, "segments %s and %s overlap (0x%llx+0x%llx and 0x%llx+0x%llx)", o->name, seg.name,
                       (unsigned long long)o->vmaddr, (unsigned long long)o->vmsize, (unsigned long long)seg.vmaddr,
                       (unsigned long long)seg.vmsize);
    }
    seg.first_section = m->nsections;
    seg.nsections = nsects;
    m->segments = sk_xrealloc(m->segments, (m->nsegments + 1) * sizeof *m->segments);
    m->segments[m->nsegments] = seg;
    if (nsects) {
        m->sections = sk_xrealloc(m->sections, (m->nsections + nsects) * sizeof *m->sections);
        memset(m->sections + m->nsections, 0, nsects * sizeof *m->sections);
    }
    for (uint32_t i = 0; i < nsects; i++) {
        const uint8_t *s = c + hdr + i * secsz;
        ds_macho_section *sec = &m->sections[m->nsections + i];
        name16(sec->sectname, s);
        name16(sec->segname, s + 16);
        sec->segment = m->nsegments;
        if (s64) {
            sec->addr = rd64(s + 32, le);
            sec->size = rd64(s + 40, le);
            sec->offset = rd32(s + 48, le);
            sec->flags = rd32(s + 64, le);
        } else {
            sec->addr = rd32(s + 32, le);
            sec->size = rd32(s + 36, le);
            sec->offset = rd32(s + 40, le);
            sec->flags = rd32(s + 56, le);
        }
        if (seg.vmsize && (sec->addr < seg.vmaddr || sec->size > seg.vmsize || sec->addr - seg.vmaddr > seg.vmsize - sec->size))
            return bad(m, err, "section %s,%s at 0x%llx+0x%llx lies outside its segment %s", sec->segname,
                       sec->sectname, (unsigned long long)sec->addr, (unsigned long long)sec->size, seg.name);
        uint32_t type = sec->flags & DS_S_TYPE_MASK;
        bool zerofill = type == DS_S_ZEROFILL || type == 0xc /* S_GB_ZEROFILL */ || type == 0x12 /* S_THREAD_LOCAL_ZEROFILL */;
        if (zerofill || dsym_shell || sec->size == 0)
            continue;
        if (sec->offset == 0 && m->filetype == DS_MH_DSYM)
            continue;
        if (!in_range(sec->offset, sec->size, m->size))
            return bad(m, err, "section %s,%s: file range 0x%x+0x%llx lies past the end of the file (0x%zx bytes)",
                       sec->segname, sec->sectname, sec->offset, (unsigned long long)sec->size, m->size);
        sec->data = m->data + sec->offset;
        sec->data_size = (size_t)sec->size;
    }
    m->nsections += nsects;
    m->nsegments++;
    if (strcmp(seg.name, "__TEXT") == 0 && !m->has_text) {
        m->has_text = true;
        m->text_vmaddr = seg.vmaddr;
    }
    return SK_OK;
}

int ds_macho_parse(ds_macho *m, const char *path, const uint8_t *data, size_t size, sk_error *err)
{
    memset(m, 0, sizeof *m);
    m->path = sk_xstrdup(path ? path : "Mach-O");
    m->data = data;
    m->size = size;
    if (size < 4)
        return bad(m, err, "Mach-O header truncated (%zu bytes)", size);
    uint32_t magic_le = rd32(data, true);
    if (magic_le == DS_MH_MAGIC || magic_le == DS_MH_MAGIC_64)
        m->le = true;
    else if (rd32(data, false) == DS_MH_MAGIC || rd32(data, false) == DS_MH_MAGIC_64)
        m->le = false;
    else
        return bad(m, err, "not a Mach-O image (magic 0x%08x)", rd32(data, false));
    m->is64 = rd32(data, m->le) == DS_MH_MAGIC_64;
    size_t hsz = m->is64 ? 32 : 28;
    if (size < hsz)
        return bad(m, err, "Mach-O header truncated (%zu of %zu bytes)", size, hsz);
    m->cputype = rd32(data + 4, m->le);
    m->cpusubtype = rd32(data + 8, m->le);
    m->filetype = rd32(data + 12, m->le);
    uint32_t ncmds = rd32(data + 16, m->le), sizeofcmds = rd32(data + 20, m->le);
    m->flags = rd32(data + 24, m->le);
    m->arch = ds_macho_arch_name(m->cputype, m->cpusubtype);
    if (!in_range(hsz, sizeofcmds, size))
        return bad(m, err, "load commands (0x%x bytes) run past the end of the file (0x%zx bytes)", sizeofcmds, size);
    if ((uint64_t)ncmds * 8 > sizeofcmds)
        return bad(m, err, "%u load commands cannot fit in 0x%x bytes", ncmds, sizeofcmds);
    const uint8_t *c = data + hsz, *cend = c + sizeofcmds;
    uint32_t symoff = 0, nsyms = 0, stroff = 0, strsize = 0, fs_off = 0, fs_size = 0;
    bool has_symtab = false, has_fs = false;
    for (uint32_t i = 0; i < ncmds; i++) {
        if ((size_t)(cend - c) < 8)
            return bad(m, err, "load command %u lies past the end of the load commands", i);
        uint32_t cmd = rd32(c, m->le), cmdsize = rd32(c + 4, m->le);
        if (cmdsize < 8)
            return bad(m, err, "load command %u (0x%x) has size %u", i, cmd, cmdsize);
        if (cmdsize > (size_t)(cend - c))
            return bad(m, err, "load command %u (0x%x) of %u bytes runs past the end of the load commands", i, cmd,
                       cmdsize);
        int rc = SK_OK;
        switch (cmd) {
        case LC_SEGMENT:
        case LC_SEGMENT_64:
            if ((cmd == LC_SEGMENT_64) != m->is64)
                return bad(m, err, "load command %u: a %s segment in a %s-bit file", i, m->is64 ? "32-bit" : "64-bit",
                           m->is64 ? "64" : "32");
            rc = read_segment(m, c, cmdsize, i, err);
            break;
        case LC_SYMTAB:
            if (cmdsize < 24)
                return bad(m, err, "load command %u: LC_SYMTAB too small", i);
            has_symtab = true;
            symoff = rd32(c + 8, m->le);
            nsyms = rd32(c + 12, m->le);
            stroff = rd32(c + 16, m->le);
            strsize = rd32(c + 20, m->le);
            break;
        case LC_DYSYMTAB:
            if (cmdsize < 80)
                return bad(m, err, "load command %u: LC_DYSYMTAB too small", i);
            m->has_dysymtab = true;
            m->ilocalsym = rd32(c + 8, m->le);
            m->nlocalsym = rd32(c + 12, m->le);
            m->iextdefsym = rd32(c + 16, m->le);
            m->nextdefsym = rd32(c + 20, m->le);
            m->iundefsym = rd32(c + 24, m->le);
            m->nundefsym = rd32(c + 28, m->le);
            break;
        case LC_UUID:
            if (cmdsize < 24)
                return bad(m, err, "load command %u: LC_UUID too small", i);
            m->has_uuid = true;
            memcpy(m->uuid, c + 8, 16);
            break;
        case LC_ID_DYLIB: {
            if (cmdsize < 24)
                return bad(m, err, "load command %u: LC_ID_DYLIB too small", i);
            uint32_t off = rd32(c + 8, m->le);
            if (off < 24 || off >= cmdsize || !memchr(c + off, 0, cmdsize - off))
                return bad(m, err, "load command %u: LC_ID_DYLIB name lies outside its command", i);
            m->dylib_id = (const char *)c + off;
            break;
        }
        case LC_FUNCTION_STARTS:
            if (cmdsize < 16)
                return bad(m, err, "load command %u: LC_FUNCTION_STARTS too small", i);
            has_fs = true;
            fs_off = rd32(c + 8, m->le);
            fs_size = rd32(c + 12, m->le);
            break;
        case LC_BUILD_VERSION:
            if (cmdsize < 24)
                return bad(m, err, "load command %u: LC_BUILD_VERSION too small", i);
            m->has_build_version = true;
            m->platform = rd32(c + 8, m->le);
            m->minos = rd32(c + 12, m->le);
            m->sdk = rd32(c + 16, m->le);
            break;
        default: break;
        }
        if (rc)
            return rc;
        c += cmdsize;
    }
    if (has_symtab) {
        size_t esz = m->is64 ? 16 : 12;
        if (!in_range(symoff, (uint64_t)nsyms * esz, size))
            return bad(m, err, "symbol table (%u symbols at 0x%x) runs past the end of the file", nsyms, symoff);
        if (!in_range(stroff, strsize, size))
            return bad(m, err, "string table (0x%x bytes at 0x%x) runs past the end of the file", strsize, stroff);
        m->syms = data + symoff;
        m->nsyms = nsyms;
        m->strtab = (const char *)data + stroff;
        m->strsize = strsize;
        if (m->has_dysymtab &&
            ((uint64_t)m->ilocalsym + m->nlocalsym > nsyms || (uint64_t)m->iextdefsym + m->nextdefsym > nsyms ||
             (uint64_t)m->iundefsym + m->nundefsym > nsyms))
            return bad(m, err, "LC_DYSYMTAB ranges exceed the %u symbols of LC_SYMTAB", nsyms);
    }
    if (has_fs) {
        if (!in_range(fs_off, fs_size, size))
            return bad(m, err, "LC_FUNCTION_STARTS data 0x%x+0x%x lies past the end of the file", fs_off, fs_size);
        m->func_starts = data + fs_off;
        m->func_starts_size = fs_size;
    }
    return SK_OK;
}

void ds_macho_free(ds_macho *m)
{
    free(m->path);
    free(m->segments);
    free(m->sections);
    memset(m, 0, sizeof *m);
}

const ds_macho_section *ds_macho_section_find(const ds_macho *m, const char *seg, const char *sect)
{
    for (size_t i = 0; i < m->nsections; i++) {
        const ds_macho_section *s = &m->sections[i];
        if (strncmp(s->segname, seg, 16) == 0 && strncmp(s->sectname, sect, 16) == 0)
            return s;
    }
    return NULL;
}

bool ds_macho_section_is_code(const ds_macho_section *s)
{
    return (s->flags & (DS_S_ATTR_PURE_INSTRUCTIONS | DS_S_ATTR_SOME_INSTRUCTIONS)) ||
           (strcmp(s->segname, "__TEXT") == 0 && strcmp(s->sectname, "__text") == 0);
}

bool ds_macho_uuid_hex(const ds_macho *m, char out[33])
{
    if (!m->has_uuid)
        return false;
    for (int i = 0; i < 16; i++) {
        out[2 * i] = "0123456789ABCDEF"[m->uuid[i] >> 4];
        out[2 * i + 1] = "0123456789ABCDEF"[m->uuid[i] & 15];
    }
    out[32] = '\0';
    return true;
}

bool ds_macho_debug_id(const ds_macho *m, char out[34])
{
    if (!ds_macho_uuid_hex(m, out))
        return false;
    out[32] = '0';
    out[33] = '\0';
    return true;
}

/* ---- symbols ------------------------------------------------------------- */

int ds_macho_nlist_at(const ds_macho *m, uint32_t i, ds_macho_nlist *out, sk_error *err)
{
    if (i >= m->nsyms)
        return sk_fail(err, SK_EFORMAT, "%s: symbol %u does not exist", m->path, i);
    const uint8_t *e = m->syms + (size_t)i * (m->is64 ? 16 : 12);
    uint32_t strx = rd32(e, m->le);
    out->type = e[4];
    out->sect = e[5];
    out->desc = rd16(e + 6, m->le);
    out->value = m->is64 ? rd64(e + 8, m->le) : rd32(e + 8, m->le);
    if (strx == 0) {
        out->name = "";
        return SK_OK;
    }
    if (strx >= m->strsize)
        return sk_fail(err, SK_EFORMAT, "%s: symbol %u: name offset 0x%x lies past the string table (0x%x bytes)",
                       m->path, i, strx, m->strsize);
    if (!memchr(m->strtab + strx, 0, m->strsize - strx))
        return sk_fail(err, SK_EFORMAT, "%s: symbol %u: name at 0x%x runs past the end of the string table", m->path,
                       i, strx);
    out->name = m->strtab + strx;
    return SK_OK;
}

static int public_cmp(const void *a, const void *b)
{
    const ds_macho_public *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return strcmp(x->name, y->name);
}

int ds_macho_publics(const ds_macho *m, ds_macho_public **out, size_t *n, sk_error *err)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    bool arm = m->cputype == DS_CPU_TYPE_ARM;
    for (uint32_t i = 0; i < m->nsyms; i++) {
        ds_macho_nlist s;
        int rc = ds_macho_nlist_at(m, i, &s, err);
        if (rc) {
            free(*out);
            *out = NULL;
            *n = 0;
            return rc;
        }
        if ((s.type & DS_N_STAB) || (s.type & DS_N_TYPE) != DS_N_SECT)
            continue;
        if (s.sect == 0 || s.sect > m->nsections) {
            free(*out);
            *out = NULL;
            *n = 0;
            return sk_fail(err, SK_EFORMAT, "%s: symbol %u (%s) names section %u of %zu", m->path, i, s.name, s.sect,
                           m->nsections);
        }
        const ds_macho_section *sec = &m->sections[s.sect - 1];
        /* __mh_execute_header is "in" __text by its section number but
         * sits at __TEXT's start, before the code. */
        if (!ds_macho_section_is_code(sec) || !s.name[0] || s.value < sec->addr || s.value - sec->addr >= sec->size)
            continue;
        sk_grow((void **)out, &cap, *n + 1, sizeof **out);
        ds_macho_public *p = &(*out)[(*n)++];
        p->name = s.name[0] == '_' ? s.name + 1 : s.name;
        p->addr = s.value;
        p->thumb = arm && ((s.desc & DS_N_ARM_THUMB_DEF) || (s.value & 1));
        p->external = s.type & DS_N_EXT;
    }
    if (*n)
        qsort(*out, *n, sizeof **out, public_cmp);
    return SK_OK;
}

/* ---- debug map ----------------------------------------------------------- */

typedef struct named_addr {
    const char *name;
    uint64_t addr;
} named_addr;

static int named_cmp(const void *a, const void *b)
{
    return strcmp(((const named_addr *)a)->name, ((const named_addr *)b)->name);
}

int ds_macho_debug_map(const ds_macho *m, ds_macho_debugmap *out, sk_error *err)
{
    memset(out, 0, sizeof *out);
    size_t ocap = 0, scap = 0, gcap = 0, ngl = 0;
    named_addr *globals = NULL;
    const char *so_dir = NULL, *so_name = NULL;
    ds_macho_mapobj *cur = NULL;
    uint64_t fun_start = 0;
    bool in_fun = false;
    int rc = SK_OK;
    for (uint32_t i = 0; i < m->nsyms; i++) {
        ds_macho_nlist s;
        if ((rc = ds_macho_nlist_at(m, i, &s, err)))
            goto fail;
        if (!(s.type & DS_N_STAB)) {
            if ((s.type & DS_N_TYPE) == DS_N_SECT && (s.type & DS_N_EXT) && s.name[0]) {
                sk_grow((void **)&globals, &gcap, ngl + 1, sizeof *globals);
                globals[ngl++] = (named_addr){s.name, s.value};
            }
            continue;
        }
        switch (s.type) {
        case DS_N_SO:
            if (!s.name[0]) { /* end of a source file's stabs */
                so_dir = so_name = NULL;
                cur = NULL;
            } else if (!so_dir && s.name[strlen(s.name) - 1] == '/') {
                so_dir = s.name;
            } else {
                so_name = s.name;
            }
            break;
        case DS_N_OSO:
            sk_grow((void **)&out->objs, &ocap, out->nobjs + 1, sizeof *out->objs);
            cur = &out->objs[out->nobjs++];
            *cur = (ds_macho_mapobj){.path = s.name, .mtime = s.value, .so_dir = so_dir, .so_name = so_name,
                                     .first = out->nsyms};
            in_fun = false;
            break;
        case DS_N_FUN:
            if (!cur)
                break;
            if (s.name[0]) { /* start: its address */
                fun_start = s.value;
                in_fun = true;
                sk_grow((void **)&out->syms, &scap, out->nsyms + 1, sizeof *out->syms);
                out->syms[out->nsyms++] = (ds_macho_mapsym){s.name, s.value, 0, DS_N_FUN};
                cur->nsyms++;
            } else if (in_fun) { /* end: n_value is the size */
                out->syms[out->nsyms - 1].size = s.value;
                in_fun = false;
                (void)fun_start;
            }
            break;
        case DS_N_STSYM:
        case DS_N_GSYM:
            if (!cur || !s.name[0])
                break;
            sk_grow((void **)&out->syms, &scap, out->nsyms + 1, sizeof *out->syms);
            out->syms[out->nsyms++] = (ds_macho_mapsym){s.name, s.value, 0, s.type};
            cur->nsyms++;
            break;
        default: break;
        }
    }
    /* N_GSYM's address is the defined global of the same name. */
    if (ngl)
        qsort(globals, ngl, sizeof *globals, named_cmp);
    for (size_t i = 0; i < out->nsyms; i++) {
        ds_macho_mapsym *s = &out->syms[i];
        if (s->stab != DS_N_GSYM)
            continue;
        named_addr key = {s->name, 0};
        const named_addr *g = ngl ? bsearch(&key, globals, ngl, sizeof *globals, named_cmp) : NULL;
        s->addr = g ? g->addr : 0;
    }
    /* Drop the N_GSYMs without a definition (their address would be 0). */
    for (size_t o = 0; o < out->nobjs; o++) {
        ds_macho_mapobj *ob = &out->objs[o];
        size_t w = ob->first;
        for (size_t r = ob->first; r < ob->first + ob->nsyms; r++)
            if (out->syms[r].stab != DS_N_GSYM || out->syms[r].addr)
                out->syms[w++] = out->syms[r];
        size_t kept = w - ob->first;
        /* Later objects' symbols move down to close the gap. */
        size_t gap = ob->nsyms - kept;
        if (gap) {
            size_t tail = ob->first + ob->nsyms;
            memmove(out->syms + w, out->syms + tail, (out->nsyms - tail) * sizeof *out->syms);
            out->nsyms -= gap;
            for (size_t k = o + 1; k < out->nobjs; k++)
                out->objs[k].first -= gap;
        }
        ob->nsyms = kept;
    }
    free(globals);
    return SK_OK;
fail:
    free(globals);
    ds_macho_debug_map_free(out);
    return rc;
}

void ds_macho_debug_map_free(ds_macho_debugmap *d)
{
    free(d->objs);
    free(d->syms);
    memset(d, 0, sizeof *d);
}
