/* macho_dump.c — prints what dumpsyms/macho/ reads from a Mach-O or fat
 * file, one fact per line, for test_macho.py to hold against llvm-nm,
 * llvm-objdump and llvm-dwarfdump:
 *   macho_dump [--arch ARCH] FILE
 * A file the parser refuses prints its one-line error on stderr and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compact_unwind.h"
#include "macho.h"

static int dump_image(const char *path, const uint8_t *d, size_t n)
{
    sk_error err = {0};
    ds_macho m;
    if (ds_macho_parse(&m, path, d, n, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    char uuid[33], did[34];
    printf("arch %s\n", m.arch ? m.arch : "?");
    printf("bits %d %s\n", m.is64 ? 64 : 32, m.le ? "le" : "be");
    printf("filetype %u\n", m.filetype);
    if (ds_macho_uuid_hex(&m, uuid) && ds_macho_debug_id(&m, did))
        printf("uuid %s\ndebugid %s\n", uuid, did);
    if (m.has_text)
        printf("text_vmaddr %llx\n", (unsigned long long)m.text_vmaddr);
    if (m.dylib_id)
        printf("dylib_id %s\n", m.dylib_id);
    if (m.has_build_version)
        printf("build_version %u %x %x\n", m.platform, m.minos, m.sdk);
    for (size_t i = 0; i < m.nsegments; i++)
        printf("segment %s %llx %llx\n", m.segments[i].name, (unsigned long long)m.segments[i].vmaddr,
               (unsigned long long)m.segments[i].vmsize);
    for (size_t i = 0; i < m.nsections; i++)
        printf("section %s,%s %llx %llx %s%s\n", m.sections[i].segname, m.sections[i].sectname,
               (unsigned long long)m.sections[i].addr, (unsigned long long)m.sections[i].size,
               m.sections[i].data ? "data" : "nodata", ds_macho_section_is_code(&m.sections[i]) ? " code" : "");
    uint64_t *starts = NULL;
    size_t nstarts = 0;
    if (ds_cu_function_starts(m.path, m.func_starts, m.func_starts_size, m.text_vmaddr, &starts, &nstarts, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        ds_macho_free(&m);
        return 1;
    }
    for (size_t i = 0; i < nstarts; i++)
        printf("funcstart %llx\n", (unsigned long long)starts[i]);
    ds_macho_public *pubs;
    size_t np;
    if (ds_macho_publics(&m, &pubs, &np, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        free(starts);
        ds_macho_free(&m);
        return 1;
    }
    for (size_t i = 0; i < np; i++)
        printf("public %llx %s%s\n", (unsigned long long)pubs[i].addr, pubs[i].name, pubs[i].thumb ? " thumb" : "");
    free(pubs);
    ds_macho_debugmap dm;
    if (ds_macho_debug_map(&m, &dm, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        free(starts);
        ds_macho_free(&m);
        return 1;
    }
    for (size_t o = 0; o < dm.nobjs; o++) {
        printf("oso %llu %s\n", (unsigned long long)dm.objs[o].mtime, dm.objs[o].path);
        for (size_t k = dm.objs[o].first; k < dm.objs[o].first + dm.objs[o].nsyms; k++)
            printf("mapsym %zu %02x %s %llx %llx\n", o, dm.syms[k].stab, dm.syms[k].name,
                   (unsigned long long)dm.syms[k].addr, (unsigned long long)dm.syms[k].size);
    }
    ds_macho_debug_map_free(&dm);
    ds_cu_table cu = {0};
    const ds_macho_section *ui = ds_macho_section_find(&m, "__TEXT", "__unwind_info");
    const ds_macho_section *text = ds_macho_section_find(&m, "__TEXT", "__text");
    ds_cu_input in = {
        .path = m.path,
        .arch = m.cputype == DS_CPU_TYPE_X86_64 ? DS_CU_ARCH_X86_64
                : m.cputype == DS_CPU_TYPE_ARM64 ? DS_CU_ARCH_ARM64
                                                 : DS_CU_ARCH_OTHER,
        .info = ui ? ui->data : NULL,
        .info_size = ui ? ui->data_size : 0,
        .base = m.text_vmaddr,
        .code = text ? text->data : NULL,
        .code_size = text ? text->data_size : 0,
        .code_addr = text ? text->addr : 0,
        .func_starts = starts,
        .nfunc_starts = nstarts,
    };
    int rc = ui && ui->data ? ds_cu_read(&in, &cu, &err) : SK_ENOTFOUND;
    free(starts);
    if (rc == SK_OK) {
        for (size_t i = 0; i < cu.nfuncs; i++) {
            const ds_cu_func *f = &cu.funcs[i];
            if (f->kind == DS_CU_DWARF) {
                printf("cu %llx %llx %08x dwarf %x\n", (unsigned long long)f->addr, (unsigned long long)f->size,
                       f->encoding, f->fde_off);
                continue;
            }
            printf("cu %llx %llx %08x rules %s\n", (unsigned long long)f->addr, (unsigned long long)f->size,
                   f->encoding, cu.text.data + f->init);
            for (size_t r = f->first_row; r < f->first_row + f->nrows; r++)
                printf("curow %llx %s\n", (unsigned long long)cu.rows[r].addr, cu.text.data + cu.rows[r].rules);
        }
        printf("cu_unsupported %zu\ncu_none %zu\ncu_prologues %zu\n", cu.unsupported, cu.none, cu.prologues);
    } else if (rc != SK_ENOTFOUND && rc != SK_EUNSUPPORTED) {
        fprintf(stderr, "%s\n", err.msg);
        ds_cu_free(&cu);
        ds_macho_free(&m);
        return 1;
    }
    ds_cu_free(&cu);
    ds_macho_free(&m);
    return 0;
}

int main(int argc, char **argv)
{
    const char *arch = NULL, *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--arch") && i + 1 < argc)
            arch = argv[++i];
        else
            path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: macho_dump [--arch ARCH] FILE\n");
        return 2;
    }
    sk_error err = {0};
    sk_mapped map;
    if (sk_map_file(path, &map, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    ds_macho_fat fat;
    if (ds_macho_fat_parse(path, map.data, map.size, &fat, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        sk_unmap(&map);
        return 1;
    }
    int rc = 0;
    bool found = false;
    for (size_t i = 0; i < fat.nslices; i++) {
        const ds_macho_slice *s = &fat.slices[i];
        if (fat.fat)
            printf("slice %zu %s %llx %llx\n", i, s->arch, (unsigned long long)s->offset, (unsigned long long)s->size);
        if (arch ? strcmp(arch, s->arch) != 0 : (fat.fat && fat.nslices > 1))
            continue;
        found = true;
        rc |= dump_image(path, map.data + s->offset, (size_t)s->size);
    }
    if (arch && !found) {
        fprintf(stderr, "%s: no slice for %s\n", path, arch);
        rc = 1;
    }
    ds_macho_fat_free(&fat);
    sk_unmap(&map);
    return rc;
}
