/*
 * compact_unwind_collect.c — STACK CFI from a Mach-O binary's compact
 * unwind (__unwind_info), merged with what the DWARF CFI gave.
 *
 * The section, the function starts (the backend's "__function_starts") and
 * the code come through the object layer; compact_unwind.c decodes them.
 * A function whose encoding says "use DWARF" points at an FDE in
 * __eh_frame, which cfi.c has already turned into records; a function that
 * .eh_frame or .debug_frame describes keeps those rules (they are exact at
 * every instruction, compact unwind only after the prologue).  A corrupt
 * __unwind_info fails the dump: a partial table would leave some functions
 * without the only unwind information they have.
 */
#include <stdlib.h>
#include <string.h>

#include "cfi_int.h"
#include "compact_unwind.h"

int ds_collect_compact_unwind(ds_context *ctx, const ds_cfi_ranges *covered, ds_cfi_out *out, sk_error *err)
{
    ds_object *bin = ctx->bin;
    ds_section *ui = ds_object_section(bin, "__unwind_info");
    if (!ui || (ui->flags & DS_SEC_NOBITS))
        return SK_OK;
    ds_cu_arch arch = bin->cpu == DS_CPU_X86_64 ? DS_CU_ARCH_X86_64
                      : bin->cpu == DS_CPU_ARM64 ? DS_CU_ARCH_ARM64
                                                 : DS_CU_ARCH_OTHER;
    if (arch == DS_CU_ARCH_OTHER) {
        sk_log(SK_LOG_INFO, "%s: compact unwind for %s is not read", bin->path, bin->arch ? bin->arch : "this CPU");
        return SK_OK;
    }
    const uint8_t *info;
    size_t info_size;
    int rc = ds_section_data(bin, ui, &info, &info_size, err);
    if (rc)
        return rc;
    uint64_t *starts = NULL;
    size_t nstarts = 0;
    ds_section *fs = ds_object_section(bin, "__function_starts");
    if (fs && fs->raw) {
        rc = ds_cu_function_starts(bin->path, fs->raw, fs->raw_size, bin->load_addr, &starts, &nstarts, err);
        if (rc)
            return rc;
    }
    ds_section *text = ds_object_section(bin, "__text");
    bool have_code = text && (text->flags & DS_SEC_EXEC) && text->raw;
    ds_cu_input in = {
        .path = bin->path,
        .arch = arch,
        .info = info,
        .info_size = info_size,
        .base = bin->load_addr,
        .code = have_code ? text->raw : NULL,
        .code_size = have_code ? text->raw_size : 0,
        .code_addr = have_code ? text->addr : 0,
        .func_starts = starts,
        .nfunc_starts = nstarts,
    };
    ds_cu_table t;
    rc = ds_cu_read(&in, &t, err);
    free(starts);
    if (rc) {
        ds_cu_free(&t);
        return rc;
    }
    size_t added = 0, dwarf = 0, dwarf_missing = 0, kept = 0;
    for (size_t i = 0; i < t.nfuncs; i++) {
        const ds_cu_func *f = &t.funcs[i];
        if (f->addr < ctx->load_addr)
            continue;
        bool described = ds_cfi_ranges_overlap(covered, f->addr, f->size);
        if (f->kind == DS_CU_DWARF) {
            dwarf++;
            dwarf_missing += !described;
            continue;
        }
        if (described) {
            kept++;
            continue;
        }
        ds_cfi_entry *e = ds_cfi_out_entry(out, f->addr - ctx->load_addr, t.text.data + f->init);
        e->size = f->size;
        for (size_t r = f->first_row; r < f->first_row + f->nrows; r++)
            ds_cfi_out_row(out, t.rows[r].addr - ctx->load_addr, t.text.data + t.rows[r].rules);
        added++;
    }
    if (dwarf_missing)
        sk_log(SK_LOG_WARN, "%s: __unwind_info: %zu functions point at __eh_frame FDEs that are missing or unusable",
               bin->path, dwarf_missing);
    sk_log(SK_LOG_INFO,
           "%s: STACK CFI: %zu functions from __unwind_info (%zu with their prologue decoded; %zu more use their "
           "__eh_frame FDE, %zu kept their DWARF CFI, %zu encodings not expressible)",
           bin->path, added, t.prologues, dwarf, kept, t.unsupported);
    ds_cu_free(&t);
    return SK_OK;
}
