/* fuzz_macho.c — fuzz target for our Mach-O and fat reader (macho/macho.c)
 * and the compact-unwind decoder (cfi/compact_unwind.c): the input is a
 * whole file; every slice is parsed, its symbols, PUBLIC candidates, stabs
 * debug map and function starts are read, and its __unwind_info decoded,
 * as dumpsyms does.  Never crashes, hangs or leaks on any input: problems
 * come back as one sk_error. */
#include <stdlib.h>
#include <string.h>

#include "compact_unwind.h"
#include "macho.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_image(const uint8_t *data, size_t size)
{
    sk_error err = {0};
    ds_macho m;
    if (ds_macho_parse(&m, "fuzz", data, size, &err))
        return;
    char hex[34];
    (void)ds_macho_debug_id(&m, hex);
    for (uint32_t i = 0; i < m.nsyms && i < 4096; i++) {
        ds_macho_nlist s;
        (void)ds_macho_nlist_at(&m, i, &s, &err);
    }
    ds_macho_public *pubs = NULL;
    size_t np = 0;
    if (ds_macho_publics(&m, &pubs, &np, &err) == SK_OK)
        free(pubs);
    ds_macho_debugmap dm;
    if (ds_macho_debug_map(&m, &dm, &err) == SK_OK)
        ds_macho_debug_map_free(&dm);
    uint64_t *starts = NULL;
    size_t ns = 0;
    if (ds_cu_function_starts("fuzz", m.func_starts, m.func_starts_size, m.text_vmaddr, &starts, &ns, &err))
        starts = NULL, ns = 0;
    const ds_macho_section *ui = ds_macho_section_find(&m, "__TEXT", "__unwind_info");
    const ds_macho_section *text = ds_macho_section_find(&m, "__TEXT", "__text");
    if (ui && ui->data) {
        ds_cu_input in = {
            .path = "fuzz",
            .arch = m.cputype == DS_CPU_TYPE_ARM64 ? DS_CU_ARCH_ARM64 : DS_CU_ARCH_X86_64,
            .info = ui->data,
            .info_size = ui->data_size,
            .base = m.text_vmaddr,
            .code = text ? text->data : NULL,
            .code_size = text ? text->data_size : 0,
            .code_addr = text ? text->addr : 0,
            .func_starts = starts,
            .nfunc_starts = ns,
        };
        ds_cu_table t;
        (void)ds_cu_read(&in, &t, &err);
        ds_cu_free(&t);
    }
    free(starts);
    ds_macho_free(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_error err = {0};
    ds_macho_fat fat;
    if (ds_macho_fat_parse("fuzz", data, size, &fat, &err))
        return 0;
    for (size_t i = 0; i < fat.nslices && i < 4; i++)
        one_image(data + fat.slices[i].offset, (size_t)fat.slices[i].size);
    ds_macho_fat_free(&fat);
    return 0;
}
