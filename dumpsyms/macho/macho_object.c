/*
 * macho_object.c — the Mach-O backend of the object layer: one slice of a
 * thin or fat file, parsed by macho.c, handed to the readers as neutral
 * sections, segments, symbols and ids (see macho_object.h).
 */
#include "macho_object.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "macho.h"

#define VM_PROT_EXECUTE 0x4u
#define N_WEAK_DEF 0x0080u

typedef struct macho_backend {
    ds_macho m;
    size_t nreal; /* sections of the file; the pseudo-section follows */
} macho_backend;

bool ds_macho_probe_bytes(const uint8_t *data, size_t size)
{
    return ds_macho_probe(data, size) != 0;
}

static ds_cpu cpu_of(uint32_t cputype)
{
    switch (cputype) {
    case DS_CPU_TYPE_X86: return DS_CPU_X86;
    case DS_CPU_TYPE_X86_64: return DS_CPU_X86_64;
    case DS_CPU_TYPE_ARM: return DS_CPU_ARM;
    case DS_CPU_TYPE_ARM64: return DS_CPU_ARM64;
    case DS_CPU_TYPE_ARM64_32:
    case DS_CPU_TYPE_PPC:
    case DS_CPU_TYPE_PPC64: return DS_CPU_OTHER;
    default: return DS_CPU_UNKNOWN;
    }
}

/* DWARF sections whose names Mach-O's 16-byte section names cut short. */
static const char *const long_dwarf_names[] = {
    ".debug_str_offsets", ".debug_gnu_pubnames", ".debug_gnu_pubtypes", ".apple_namespaces",
    ".debug_line_str",    ".debug_rnglists",     ".debug_loclists",     ".debug_cu_index",
    ".debug_tu_index",    ".debug_macinfo",      ".debug_aranges",      ".debug_pubnames",
    ".debug_pubtypes",
};

/* The DWARF role of a section (malloc'd), NULL when it has none. */
static char *dwarf_role(const ds_macho_section *s)
{
    if (strcmp(s->segname, "__TEXT") == 0 && strcmp(s->sectname, "__eh_frame") == 0)
        return sk_xstrdup(".eh_frame");
    if (strcmp(s->segname, "__DWARF") != 0 || strncmp(s->sectname, "__", 2) != 0)
        return NULL;
    for (size_t i = 0; i < sizeof long_dwarf_names / sizeof *long_dwarf_names; i++) {
        char cut[17];
        snprintf(cut, sizeof cut, "__%s", long_dwarf_names[i] + 1);
        if (strcmp(cut, s->sectname) == 0)
            return sk_xstrdup(long_dwarf_names[i]);
    }
    char *r = sk_xmalloc(strlen(s->sectname));
    r[0] = '.';
    strcpy(r + 1, s->sectname + 2);
    return r;
}

static int macho_debug_id(ds_object *obj, char debug_id[34], sk_error *err)
{
    macho_backend *b = obj->backend;
    if (ds_macho_debug_id(&b->m, debug_id))
        return SK_OK;
    /* No LC_UUID (an object file, an old linker's output): Breakpad ids
     * the image by the MD5 of its bytes instead. */
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (!EVP_Digest(b->m.data, b->m.size, md, &mdlen, EVP_md5(), NULL) || mdlen != 16)
        return sk_fail(err, SK_EFORMAT, "%s: no LC_UUID, and its MD5 could not be computed", obj->path);
    sk_hex_upper(md, 16, debug_id);
    debug_id[32] = '0';
    debug_id[33] = '\0';
    return SK_OK;
}

static bool macho_code_id(ds_object *obj, char *out, size_t cap)
{
    macho_backend *b = obj->backend;
    char hex[33];
    if (cap < sizeof hex || !ds_macho_uuid_hex(&b->m, hex))
        return false;
    memcpy(out, hex, sizeof hex);
    return true;
}

static bool macho_soname(ds_object *obj, char *out, size_t cap)
{
    (void)obj, (void)out, (void)cap;
    return false; /* dyld names a module by its path: the file name serves */
}

static int macho_symbols(ds_object *obj, ds_symtab_which which, ds_symbol_fn fn, void *arg, sk_error *err)
{
    macho_backend *b = obj->backend;
    const ds_macho *m = &b->m;
    if (which != DS_SYMTAB_STATIC || !m->syms)
        return sk_fail(err, SK_ENOTFOUND, "%s: no %s symbol table", obj->path,
                       which == DS_SYMTAB_STATIC ? "LC_SYMTAB" : "dynamic");
    for (uint32_t i = 0; i < m->nsyms; i++) {
        ds_macho_nlist n;
        int rc = ds_macho_nlist_at(m, i, &n, err);
        if (rc)
            return rc;
        if (n.type & DS_N_STAB)
            continue;
        ds_symbol s = {0};
        s.name = n.name[0] == '_' ? n.name + 1 : n.name;
        s.value = n.value;
        s.bind = (n.desc & N_WEAK_DEF) ? DS_BIND_WEAK : (n.type & DS_N_EXT) ? DS_BIND_GLOBAL : DS_BIND_LOCAL;
        s.thumb = m->cputype == DS_CPU_TYPE_ARM && (n.desc & DS_N_ARM_THUMB_DEF);
        switch (n.type & DS_N_TYPE) {
        case DS_N_UNDF:
            s.defined = n.value != 0; /* a common symbol: its size, no section */
            s.type = DS_SYM_OBJECT;
            break;
        case DS_N_ABS:
            s.defined = s.absolute = true;
            break;
        case DS_N_SECT: {
            if (n.sect == 0 || n.sect > b->nreal)
                return sk_fail(err, SK_EFORMAT, "%s: symbol %u (%s) names section %u of %zu", obj->path, i, n.name,
                               n.sect, b->nreal);
            const ds_macho_section *sec = &m->sections[n.sect - 1];
            s.defined = true;
            s.section = n.sect;
            bool inside = n.value >= sec->addr && n.value - sec->addr < sec->size;
            s.type = ds_macho_section_is_code(sec) && inside ? DS_SYM_FUNC : DS_SYM_OBJECT;
            break;
        }
        default: /* N_INDR, N_PBUD: not a definition here */
            break;
        }
        rc = fn(arg, &s);
        if (rc)
            return rc;
    }
    return SK_OK;
}

static void macho_close(ds_object *obj)
{
    macho_backend *b = obj->backend;
    if (!b)
        return;
    ds_macho_free(&b->m);
    free(b);
    obj->backend = NULL;
}

static const ds_object_ops macho_ops = {
    .debug_id = macho_debug_id,
    .code_id = macho_code_id,
    .soname = macho_soname,
    .symbols = macho_symbols,
    .close = macho_close,
};

const ds_macho *ds_macho_of(const ds_object *obj)
{
    return obj->ops == &macho_ops ? &((const macho_backend *)obj->backend)->m : NULL;
}

static void slice_list(const ds_macho_fat *fat, char *out, size_t cap)
{
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < fat->nslices && at + 1 < cap; i++) {
        int w = snprintf(out + at, cap - at, "%s%s", i ? ", " : "", fat->slices[i].arch);
        if (w < 0)
            break;
        at += (size_t)w;
    }
}

static bool arch_matches(const char *want, const char *have)
{
    return strcmp(want, have) == 0 || (strcmp(want, "i386") == 0 && strcmp(have, "x86") == 0);
}

int ds_macho_open(ds_object *obj, const char *arch, sk_error *err)
{
    ds_macho_fat fat;
    int rc = ds_macho_fat_parse(obj->path, obj->map.data, obj->map.size, &fat, err);
    if (rc)
        return rc;
    const ds_macho_slice *slice = NULL;
    if (arch) {
        for (size_t i = 0; i < fat.nslices && !slice; i++)
            if (arch_matches(arch, fat.slices[i].arch))
                slice = &fat.slices[i];
    } else if (fat.nslices == 1) {
        slice = &fat.slices[0];
    }
    if (!slice) {
        char list[512];
        slice_list(&fat, list, sizeof list);
        rc = arch ? sk_fail(err, SK_ENOTFOUND, "%s: no %s slice (the file has %s)", obj->path, arch, list)
                  : sk_fail(err, SK_EUSAGE, "%s: a fat file with %zu slices (%s): choose one with --arch", obj->path,
                            fat.nslices, list);
        ds_macho_fat_free(&fat);
        return rc;
    }
    uint64_t off = slice->offset, size = slice->size;
    ds_macho_fat_free(&fat);

    macho_backend *b = sk_xcalloc(1, sizeof *b);
    rc = ds_macho_parse(&b->m, obj->path, obj->map.data + off, (size_t)size, err);
    if (rc) {
        free(b);
        return rc;
    }
    obj->backend = b;
    obj->ops = &macho_ops;
    const ds_macho *m = &b->m;
    obj->format = DS_FORMAT_MACHO;
    obj->os = "mac";
    obj->cpu = cpu_of(m->cputype);
    obj->arch = m->arch;
    snprintf(obj->machine_desc, sizeof obj->machine_desc, "Mach-O cputype %u", m->cputype);
    obj->addr_size = m->is64 ? 8 : 4;
    obj->little_endian = m->le;
    switch (m->filetype) {
    case DS_MH_EXECUTE: obj->kind = DS_FILE_EXEC; break;
    case DS_MH_DYLIB:
    case DS_MH_BUNDLE: obj->kind = DS_FILE_SHARED; break;
    case DS_MH_OBJECT: obj->kind = DS_FILE_RELOC; break;
    case DS_MH_DSYM: obj->kind = DS_FILE_DEBUG; break;
    default: obj->kind = DS_FILE_OTHER; break;
    }
    obj->load_addr = m->has_text ? m->text_vmaddr : 0;
    obj->has_load_addr = m->has_text;
    if (m->has_uuid) {
        memcpy(obj->build_id, m->uuid, 16);
        obj->build_id_len = 16;
    }

    b->nreal = m->nsections;
    ds_object_alloc_sections(obj, m->nsections + 1);
    for (size_t i = 0; i < m->nsections; i++) {
        const ds_macho_section *ms = &m->sections[i];
        ds_section *s = &obj->sections[i + 1];
        s->name = ms->sectname;
        char *role = dwarf_role(ms);
        s->dwarf_name = role ? role : s->name;
        bool dwarf_seg = strcmp(ms->segname, "__DWARF") == 0;
        /* An object file's code and data sit at their unrelocated
         * addresses; its __LD,__compact_unwind is for the linker only. */
        if (!dwarf_seg && strcmp(ms->segname, "__LD") != 0)
            s->flags |= DS_SEC_ALLOC;
        if (ds_macho_section_is_code(ms))
            s->flags |= DS_SEC_EXEC;
        if (!ms->data)
            s->flags |= DS_SEC_NOBITS;
        s->addr = ms->addr;
        s->size = ms->size;
        s->raw = ms->data;
        s->raw_size = ms->data ? ms->data_size : 0;
    }
    ds_section *fs = &obj->sections[m->nsections + 1];
    fs->name = fs->dwarf_name = "__function_starts";
    fs->raw = m->func_starts;
    fs->raw_size = m->func_starts_size;
    fs->size = m->func_starts_size;
    if (!m->func_starts)
        fs->flags |= DS_SEC_NOBITS;

    obj->segments = sk_xcalloc(m->nsegments ? m->nsegments : 1, sizeof *obj->segments);
    for (size_t i = 0; i < m->nsegments; i++) {
        const ds_macho_segment *seg = &m->segments[i];
        if (!seg->vmsize || !(seg->initprot | seg->maxprot) || strcmp(seg->name, "__DWARF") == 0)
            continue; /* __PAGEZERO, a dSYM's DWARF */
        obj->segments[obj->nsegments++] =
            (ds_segment){seg->vmaddr, seg->vmsize, (seg->initprot & VM_PROT_EXECUTE) != 0};
    }
    return SK_OK;
}

int ds_macho_arches(const char *path, const uint8_t *data, size_t size, ds_macho_arch_info **out, size_t *n,
                    sk_error *err)
{
    *out = NULL;
    *n = 0;
    ds_macho_fat fat;
    int rc = ds_macho_fat_parse(path, data, size, &fat, err);
    if (rc)
        return rc;
    ds_macho_arch_info *v = sk_xcalloc(fat.nslices, sizeof *v);
    for (size_t i = 0; i < fat.nslices; i++) {
        ds_macho m;
        rc = ds_macho_parse(&m, path, data + fat.slices[i].offset, (size_t)fat.slices[i].size, err);
        if (rc) {
            free(v);
            ds_macho_fat_free(&fat);
            return rc;
        }
        snprintf(v[i].arch, sizeof v[i].arch, "%s", fat.slices[i].arch);
        if (!ds_macho_uuid_hex(&m, v[i].uuid))
            v[i].uuid[0] = '\0';
        ds_macho_free(&m);
    }
    *out = v;
    *n = fat.nslices;
    ds_macho_fat_free(&fat);
    return SK_OK;
}
