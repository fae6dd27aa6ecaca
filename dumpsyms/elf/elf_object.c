/*
 * elf_object.c — the ELF backend of the object layer, through libelf:
 * headers, sections and segments into the neutral ds_object, the build-id
 * note, DT_SONAME, the .text-hash ids of files without a build-id, and the
 * symbol tables behind ds_object_symbols().
 */
#include "elf_object.h"

#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>

#ifndef NT_GNU_BUILD_ID
#define NT_GNU_BUILD_ID 3
#endif
#ifndef EM_RISCV
#define EM_RISCV 243
#endif
#ifndef STT_GNU_IFUNC
#define STT_GNU_IFUNC 10
#endif
#ifndef SHT_ARM_EXIDX
#define SHT_ARM_EXIDX 0x70000001
#endif

/* What only this backend needs once the neutral fields are filled. */
typedef struct elf_state {
    Elf *elf;
    GElf_Shdr *shdrs; /* by section index, as libelf read them */
    uint16_t machine; /* EM_* */
} elf_state;

static const ds_object_ops elf_ops;

bool ds_elf_probe(const uint8_t *data, size_t size)
{
    return size >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0;
}

/* Breakpad's arch name and our cpu for an ELF machine (NULL / DS_CPU_UNKNOWN
 * when unknown). */
static const char *elf_arch(uint16_t machine, bool is64, ds_cpu *cpu)
{
    switch (machine) {
    case EM_386: *cpu = DS_CPU_X86; return "x86";
    case EM_X86_64: *cpu = DS_CPU_X86_64; return "x86_64";
    case EM_ARM: *cpu = DS_CPU_ARM; return "arm";
    case EM_AARCH64: *cpu = DS_CPU_ARM64; return "arm64";
    case EM_RISCV: *cpu = DS_CPU_RISCV; return is64 ? "riscv64" : "riscv";
    case EM_S390: *cpu = DS_CPU_S390; return is64 ? "s390x" : "s390";
    case EM_PPC64: *cpu = DS_CPU_PPC64; return "ppc64";
    case EM_PPC: *cpu = DS_CPU_OTHER; return "ppc";
    case EM_MIPS: *cpu = DS_CPU_OTHER; return is64 ? "mips64" : "mips";
    case EM_SPARCV9: *cpu = DS_CPU_OTHER; return "sparcv9";
    case EM_SPARC: *cpu = DS_CPU_OTHER; return "sparc";
    }
    *cpu = DS_CPU_UNKNOWN;
    return NULL;
}

static ds_file_kind elf_kind_of(uint16_t type)
{
    switch (type) {
    case ET_EXEC: return DS_FILE_EXEC;
    case ET_DYN: return DS_FILE_SHARED;
    case ET_REL: return DS_FILE_RELOC;
    default: return DS_FILE_OTHER;
    }
}

static ds_section_kind section_kind_of(uint32_t sh_type)
{
    switch (sh_type) {
    case SHT_SYMTAB: return DS_SECT_SYMTAB;
    case SHT_DYNSYM: return DS_SECT_DYNSYM;
    case SHT_NOTE: return DS_SECT_NOTE;
    case SHT_ARM_EXIDX: return DS_SECT_ARM_EXIDX;
    default: return DS_SECT_OTHER;
    }
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

/* elf_version() sets libelf global state: once, even with packager threads. */
static pthread_once_t elf_once = PTHREAD_ONCE_INIT;
static void init_libelf(void)
{
    elf_version(EV_CURRENT);
}

int ds_elf_open(ds_object *obj, sk_error *err)
{
    const char *path = obj->path;
    if (obj->map.size < EI_NIDENT || !ds_elf_probe(obj->map.data, obj->map.size))
        return sk_fail(err, SK_EFORMAT, "%s: not an ELF file", path);
    pthread_once(&elf_once, init_libelf);
    elf_state *st = sk_xcalloc(1, sizeof *st);
    obj->backend = st;
    obj->ops = &elf_ops;
    obj->format = DS_FORMAT_ELF;
    obj->os = "Linux";
    /* libelf only reads in ELF_K_ELF read mode; the mapping is read-only. */
    st->elf = elf_memory((char *)obj->map.data, obj->map.size);
    if (!st->elf || elf_kind(st->elf) != ELF_K_ELF)
        return sk_fail(err, SK_EFORMAT, "%s: not a valid ELF file: %s", path, elf_errmsg(-1));
    GElf_Ehdr eh;
    if (!gelf_getehdr(st->elf, &eh))
        return sk_fail(err, SK_EFORMAT, "%s: truncated or corrupt ELF header", path);
    int elf_class = eh.e_ident[EI_CLASS];
    if (elf_class != ELFCLASS32 && elf_class != ELFCLASS64)
        return sk_fail(err, SK_EFORMAT, "%s: unknown ELF class %d", path, elf_class);
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB && eh.e_ident[EI_DATA] != ELFDATA2MSB)
        return sk_fail(err, SK_EFORMAT, "%s: unknown ELF byte order %d", path, eh.e_ident[EI_DATA]);
    obj->addr_size = elf_class == ELFCLASS64 ? 8 : 4;
    obj->little_endian = eh.e_ident[EI_DATA] == ELFDATA2LSB;
    st->machine = eh.e_machine;
    obj->kind = elf_kind_of(eh.e_type);
    snprintf(obj->machine_desc, sizeof obj->machine_desc, "ELF machine %u", (unsigned)eh.e_machine);
    /* An ET_DYN's entry 0 means "none" (a plain library); an ET_EXEC has one. */
    obj->entry = eh.e_entry;
    obj->has_entry = eh.e_type == ET_EXEC || (eh.e_type == ET_DYN && eh.e_entry != 0);

    /* libelf quietly reports no sections when the section header table lies
     * past the end of a truncated file; we want that said. */
    if (eh.e_shoff != 0) {
        uint64_t shnum = eh.e_shnum;
        if (shnum == 0) {
            /* Extended numbering: the count is in section 0's sh_size. */
            size_t n = 0;
            if (elf_getshdrnum(st->elf, &n) != 0)
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
    obj->arch = elf_arch(eh.e_machine, elf_class == ELFCLASS64, &obj->cpu);

    size_t nphdr = 0;
    if (elf_getphdrnum(st->elf, &nphdr) != 0)
        return sk_fail(err, SK_EFORMAT, "%s: corrupt program header table", path);
    obj->segments = sk_xcalloc(nphdr ? nphdr : 1, sizeof *obj->segments);
    for (size_t i = 0; i < nphdr; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(st->elf, (int)i, &ph))
            return sk_fail(err, SK_EFORMAT, "%s: program header %zu is truncated", path, i);
        if (ph.p_type != PT_LOAD)
            continue;
        if (!obj->has_load_addr || ph.p_vaddr < obj->load_addr) {
            obj->load_addr = ph.p_vaddr;
            obj->has_load_addr = true;
        }
        obj->segments[obj->nsegments++] =
            (ds_segment){.vaddr = ph.p_vaddr, .memsz = ph.p_memsz, .exec = (ph.p_flags & PF_X) != 0};
    }

    size_t nsec = 0, shstrndx = 0;
    if (elf_getshdrnum(st->elf, &nsec) != 0)
        return sk_fail(err, SK_EFORMAT, "%s: corrupt section header table", path);
    if (nsec > 0 && elf_getshdrstrndx(st->elf, &shstrndx) != 0)
        return sk_fail(err, SK_EFORMAT, "%s: corrupt section name table index", path);
    /* ELF's own section 0 is the empty one the layer keeps at [0]. */
    ds_object_alloc_sections(obj, nsec ? nsec - 1 : 0);
    st->shdrs = sk_xcalloc(nsec ? nsec : 1, sizeof *st->shdrs);
    for (size_t i = 0; i < nsec; i++) {
        Elf_Scn *scn = elf_getscn(st->elf, i);
        ds_section *s = &obj->sections[i];
        GElf_Shdr *sh = &st->shdrs[i];
        if (!scn || !gelf_getshdr(scn, sh))
            return sk_fail(err, SK_EFORMAT, "%s: section header %zu is truncated", path, i);
        const char *name = i ? elf_strptr(st->elf, shstrndx, sh->sh_name) : "";
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
        s->kind = section_kind_of(sh->sh_type);
        s->flags = ((sh->sh_flags & SHF_ALLOC) ? DS_SEC_ALLOC : 0) |
                   ((sh->sh_flags & SHF_EXECINSTR) ? DS_SEC_EXEC : 0) |
                   (sh->sh_type == SHT_NOBITS ? DS_SEC_NOBITS : 0) |
                   ((sh->sh_flags & SHF_COMPRESSED) ? DS_SEC_COMPRESSED : 0);
        s->addr = sh->sh_addr;
        s->size = sh->sh_size;
        s->entsize = sh->sh_entsize;
        s->link = sh->sh_link;
        if (sh->sh_type != SHT_NOBITS && i != 0) {
            if (sh->sh_offset > obj->map.size || sh->sh_size > obj->map.size - sh->sh_offset)
                return sk_fail(err, SK_EFORMAT,
                               "%s: section %s (offset 0x%llx, size 0x%llx) lies outside the file "
                               "(truncated?)",
                               path, s->name, (unsigned long long)sh->sh_offset,
                               (unsigned long long)sh->sh_size);
            s->raw = obj->map.data + sh->sh_offset;
            s->raw_size = sh->sh_size;
        }
        if (sh->sh_type == SHT_NOTE && !obj->build_id_len) {
            Elf_Data *d = elf_getdata(scn, NULL);
            if (d && d->d_buf)
                read_build_id(obj, d);
        }
    }
    /* Some stripped files keep the build-id only in a PT_NOTE segment. */
    for (size_t i = 0; i < nphdr && !obj->build_id_len; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(st->elf, (int)i, &ph) && ph.p_type == PT_NOTE && ph.p_offset <= obj->map.size &&
            ph.p_filesz <= obj->map.size - ph.p_offset) {
            Elf_Data *d = elf_getdata_rawchunk(st->elf, (int64_t)ph.p_offset, ph.p_filesz,
                                               ELF_T_NHDR);
            if (d && d->d_buf)
                read_build_id(obj, d);
        }
    }
    return SK_OK;
}

static void elf_close(ds_object *obj)
{
    elf_state *st = obj->backend;
    if (!st)
        return;
    if (st->elf)
        elf_end(st->elf);
    free(st->shdrs);
    free(st);
    obj->backend = NULL;
}

/* ---- ids ----------------------------------------------------------------- */

static int elf_debug_id(ds_object *obj, char debug_id[34], sk_error *err)
{
    if (obj->build_id_len) {
        sk_debug_id_from_build_id(obj->build_id, obj->build_id_len, obj->little_endian, debug_id);
        return SK_OK;
    }
    ds_section *text = ds_object_section(obj, ".text");
    const uint8_t *data = NULL;
    size_t size = 0;
    if (!text || (text->flags & DS_SEC_NOBITS))
        return sk_fail(err, SK_EFORMAT, "%s: no build-id and no .text section to derive a debug id from",
                       obj->path);
    int rc = ds_section_data(obj, text, &data, &size, err);
    if (rc)
        return rc;
    sk_debug_id_from_text(data, size, obj->little_endian, debug_id);
    return SK_OK;
}

static bool elf_code_id(ds_object *obj, char *out, size_t cap)
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
    if (cap < 33 || !text || (text->flags & DS_SEC_NOBITS) ||
        ds_section_data(obj, text, &data, &size, NULL) != SK_OK)
        return false;
    sk_code_id_from_text(data, size, out);
    return true;
}

static bool elf_soname(ds_object *obj, char *out, size_t cap)
{
    elf_state *st = obj->backend;
    for (size_t i = 1; i < obj->nsections; i++) {
        const GElf_Shdr *sh = &st->shdrs[i];
        if (sh->sh_type != SHT_DYNAMIC)
            continue;
        Elf_Scn *scn = elf_getscn(st->elf, i);
        Elf_Data *data = scn ? elf_getdata(scn, NULL) : NULL;
        if (!data || !sh->sh_entsize)
            return false;
        size_t n = sh->sh_size / sh->sh_entsize;
        for (size_t k = 0; k < n; k++) {
            GElf_Dyn dyn;
            if (!gelf_getdyn(data, (int)k, &dyn) || dyn.d_tag == DT_NULL)
                break;
            if (dyn.d_tag != DT_SONAME)
                continue;
            /* libelf bounds-checks the offset against the string table. */
            const char *name = elf_strptr(st->elf, sh->sh_link, dyn.d_un.d_val);
            if (!name || !*name || strlen(name) >= cap)
                return false;
            memcpy(out, name, strlen(name) + 1);
            return true;
        }
        return false;
    }
    return false;
}

/* ---- symbols ------------------------------------------------------------- */

static ds_symbol_type symbol_type_of(unsigned t)
{
    switch (t) {
    case STT_FUNC: return DS_SYM_FUNC;
    case STT_GNU_IFUNC: return DS_SYM_IFUNC;
    case STT_OBJECT: return DS_SYM_OBJECT;
    default: return DS_SYM_OTHER;
    }
}

static ds_symbol_bind symbol_bind_of(unsigned b)
{
    switch (b) {
    case STB_GLOBAL: return DS_BIND_GLOBAL;
    case STB_WEAK: return DS_BIND_WEAK;
    default: return DS_BIND_LOCAL;
    }
}

static int elf_symbols(ds_object *obj, ds_symtab_which which, ds_symbol_fn fn, void *arg, sk_error *err)
{
    elf_state *st = obj->backend;
    ds_section *sec = which == DS_SYMTAB_STATIC ? ds_object_section_of_kind(obj, ".symtab", DS_SECT_SYMTAB)
                                                : ds_object_section_of_kind(obj, ".dynsym", DS_SECT_DYNSYM);
    if (!sec)
        return SK_ENOTFOUND;
    size_t index = (size_t)(sec - obj->sections);
    Elf_Scn *scn = elf_getscn(st->elf, index);
    if (!scn)
        return SK_ENOTFOUND;
    Elf_Data *data = elf_getdata(scn, NULL);
    if (!data || !data->d_buf)
        return sk_fail(err, SK_EFORMAT, "%s: %s: unreadable symbol table: %s", obj->path, sec->name,
                       elf_errmsg(-1));
    /* SHT_SYMTAB_SHNDX holds the section index of symbols with SHN_XINDEX. */
    Elf_Data *xdata = NULL;
    for (size_t i = 1; i < obj->nsections; i++) {
        if (st->shdrs[i].sh_type == SHT_SYMTAB_SHNDX && st->shdrs[i].sh_link == index) {
            Elf_Scn *xs = elf_getscn(st->elf, i);
            xdata = xs ? elf_getdata(xs, NULL) : NULL;
            break;
        }
    }
    size_t strndx = st->shdrs[index].sh_link;
    size_t entsize = gelf_fsize(st->elf, ELF_T_SYM, 1, EV_CURRENT);
    size_t count = entsize ? data->d_size / entsize : 0;
    bool arm = obj->cpu == DS_CPU_ARM;
    for (size_t i = 1; i < count; i++) {
        GElf_Sym sym;
        Elf32_Word xndx = 0;
        if (!gelf_getsymshndx(data, xdata, (int)i, &sym, &xndx))
            continue;
        unsigned type = GELF_ST_TYPE(sym.st_info);
        size_t shndx = sym.st_shndx == SHN_XINDEX ? xndx
                       : sym.st_shndx >= SHN_LORESERVE ? 0 /* SHN_ABS, SHN_COMMON: no section */
                                                       : sym.st_shndx;
        ds_symbol s = {
            .name = elf_strptr(st->elf, strndx, sym.st_name),
            .value = sym.st_value,
            .size = sym.st_size,
            .type = symbol_type_of(type),
            .bind = symbol_bind_of(GELF_ST_BIND(sym.st_info)),
            .section = shndx < obj->nsections ? shndx : 0,
            .defined = sym.st_shndx != SHN_UNDEF,
            .absolute = sym.st_shndx == SHN_ABS,
            .thumb = arm && (type == STT_FUNC || type == STT_GNU_IFUNC) && (sym.st_value & 1),
        };
        int rc = fn(arg, &s);
        if (rc)
            return rc;
    }
    return SK_OK;
}

static const ds_object_ops elf_ops = {
    .debug_id = elf_debug_id,
    .code_id = elf_code_id,
    .soname = elf_soname,
    .symbols = elf_symbols,
    .open_symbol_supplement = ds_open_minidebuginfo,
    .close = elf_close,
};
