/* dump_listing.c — --dump: a readable listing of every stream of a
 * minidump (the header, the directory, then what the reader made of each
 * stream), for looking at a dump that walks oddly.  Like rust-minidump's
 * --dump it shows the raw contents, not a walk. */
#include "minidump.h"

#include <inttypes.h>
#include <string.h>

static const char *stream_name(uint32_t t)
{
    switch (t) {
    case MD_THREAD_LIST_STREAM: return "ThreadListStream";
    case MD_MODULE_LIST_STREAM: return "ModuleListStream";
    case MD_MEMORY_LIST_STREAM: return "MemoryListStream";
    case MD_EXCEPTION_STREAM: return "ExceptionStream";
    case MD_SYSTEM_INFO_STREAM: return "SystemInfoStream";
    case MD_THREAD_EX_LIST_STREAM: return "ThreadExListStream";
    case MD_MEMORY_64_LIST_STREAM: return "Memory64ListStream";
    case MD_COMMENT_STREAM_A: return "CommentStreamA";
    case MD_COMMENT_STREAM_W: return "CommentStreamW";
    case MD_HANDLE_DATA_STREAM: return "HandleDataStream";
    case MD_FUNCTION_TABLE_STREAM: return "FunctionTableStream";
    case MD_UNLOADED_MODULE_LIST_STREAM: return "UnloadedModuleListStream";
    case MD_MISC_INFO_STREAM: return "MiscInfoStream";
    case MD_MEMORY_INFO_LIST_STREAM: return "MemoryInfoListStream";
    case MD_THREAD_INFO_LIST_STREAM: return "ThreadInfoListStream";
    case MD_HANDLE_OPERATION_LIST_STREAM: return "HandleOperationListStream";
    case MD_THREAD_NAME_LIST_STREAM: return "ThreadNamesStream";
    case MD_BREAKPAD_INFO_STREAM: return "BreakpadInfoStream";
    case MD_ASSERTION_INFO_STREAM: return "AssertionInfoStream";
    case MD_LINUX_CPU_INFO: return "LinuxCpuInfo";
    case MD_LINUX_PROC_STATUS: return "LinuxProcStatus";
    case MD_LINUX_LSB_RELEASE: return "LinuxLsbRelease";
    case MD_LINUX_CMD_LINE: return "LinuxCmdLine";
    case MD_LINUX_ENVIRON: return "LinuxEnviron";
    case MD_LINUX_AUXV: return "LinuxAuxv";
    case MD_LINUX_MAPS: return "LinuxMaps";
    case MD_LINUX_DSO_DEBUG: return "LinuxDsoDebug";
    case MD_CRASHPAD_INFO_STREAM: return "CrashpadInfoStream";
    case MD_MOZ_MACOS_CRASH_INFO_STREAM: return "MozMacosCrashInfoStream";
    case MD_MOZ_MACOS_BOOTARGS_STREAM: return "MozMacosBootargsStream";
    case MD_MOZ_LINUX_LIMITS_STREAM: return "MozLinuxLimits";
    default: return "unknown";
    }
}

static void text_block(FILE *out, const char *title, const char *text)
{
    if (!text)
        return;
    fprintf(out, "\n%s\n", title);
    const char *p = text;
    while (*p) {
        size_t n = strcspn(p, "\n");
        fprintf(out, "  %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

int sw_minidump_write_dump(const sw_minidump *d, FILE *out, sk_error *err)
{
    const uint8_t *h = md_ptr(d, 0, sizeof(MDRawHeader));
    fprintf(out, "MDRawHeader\n  signature            = 0x%08x\n  version              = 0x%08x\n"
                 "  stream_count         = %u\n  stream_directory_rva = 0x%x\n  checksum             = 0x%08x\n"
                 "  time_date_stamp      = 0x%08x\n  flags                = 0x%016" PRIx64 "\n",
            md_u32(h), md_u32(h + 4), md_u32(h + 8), md_u32(h + 12), md_u32(h + 16), md_u32(h + 20),
            md_u64(h + 24));
    fputs("\nMDRawDirectory\n", out);
    for (uint32_t i = 0; i < d->ndirs; i++)
        fprintf(out, "  [%u] 0x%08x %-26s size %-8u rva 0x%x\n", i, d->dirs[i].stream_type,
                stream_name(d->dirs[i].stream_type), d->dirs[i].location.data_size, d->dirs[i].location.rva);

    sk_arena *a = sk_arena_create();
    md_info info;
    md_read_all(d, a, &info);
    if (info.sys.present)
        fprintf(out, "\nSystemInfo\n  processor_architecture = %u\n  platform_id            = 0x%x\n"
                     "  version                = %u.%u.%u %s\n  number_of_processors   = %u\n  vendor                 = %s\n",
                info.sys.arch, info.sys.platform, info.sys.major, info.sys.minor, info.sys.build,
                info.sys.csd ? info.sys.csd : "", info.sys.cpu_count, info.sys.vendor);
    if (info.exception.present) {
        fprintf(out, "\nException\n  thread_id = %u\n  code      = 0x%08x\n  flags     = 0x%08x\n"
                     "  address   = 0x%016" PRIx64 "\n  params    =",
                info.exception.thread_id, info.exception.code, info.exception.flags, info.exception.address);
        for (uint32_t i = 0; i < info.exception.nparams; i++)
            fprintf(out, " 0x%" PRIx64, info.exception.params[i]);
        fputc('\n', out);
    }
    fprintf(out, "\nThreads (%zu)\n", info.nthreads);
    for (size_t i = 0; i < info.nthreads; i++) {
        const md_thread *t = &info.threads[i];
        fprintf(out, "  [%zu] id %u name %s stack 0x%016" PRIx64 "+0x%" PRIx64 "%s context %u bytes teb 0x%" PRIx64 "\n",
                i, t->id, t->name ? t->name : "(none)", t->stack.start, t->stack.size,
                t->stack.data ? "" : " (not in the dump)", t->context_size, t->teb);
    }
    fprintf(out, "\nModules (%zu, by address)\n", info.nmodules);
    for (size_t i = 0; i < info.nmodules; i++) {
        const md_module *m = &info.modules[i];
        fprintf(out, "  0x%016" PRIx64 "-0x%016" PRIx64 " %s\n      code_id %s debug_file %s debug_id %s version %s\n",
                m->base, m->base + m->size, m->code_file, m->code_id ? m->code_id : "-",
                m->debug_file ? m->debug_file : "-", m->debug_id ? m->debug_id : "-", m->version ? m->version : "-");
    }
    if (info.nunloaded) {
        fprintf(out, "\nUnloaded modules (%zu)\n", info.nunloaded);
        for (size_t i = 0; i < info.nunloaded; i++)
            fprintf(out, "  0x%016" PRIx64 "-0x%016" PRIx64 " %s\n", info.unloaded[i].base,
                    info.unloaded[i].base + info.unloaded[i].size,
                    info.unloaded[i].code_file ? info.unloaded[i].code_file : "");
    }
    fprintf(out, "\nMemory regions (%zu)\n", info.memory.nregions);
    for (size_t i = 0; i < info.memory.nregions; i++)
        fprintf(out, "  0x%016" PRIx64 "+0x%" PRIx64 "\n", info.memory.regions[i].start, info.memory.regions[i].size);
    if (info.has_pid)
        fprintf(out, "\nMiscInfo\n  process_id = %u\n", info.pid);
    if (info.has_create_time)
        fprintf(out, "  process_create_time = %u\n", info.process_create_time);
    if (info.has_requesting_thread || info.has_dump_thread)
        fprintf(out, "\nBreakpadInfo\n  dump_thread_id = %u\n  requesting_thread_id = %u\n", info.dump_thread,
                info.requesting_thread);
    if (info.assertion)
        fprintf(out, "\nAssertion\n  %s\n", info.assertion);
    if (info.has_handles) {
        fprintf(out, "\nHandles (%zu)\n", info.nhandles);
        for (size_t i = 0; i < info.nhandles; i++)
            fprintf(out, "  0x%" PRIx64 " %s %s\n", info.handles[i].handle,
                    info.handles[i].type_name ? info.handles[i].type_name : "-",
                    info.handles[i].object_name ? info.handles[i].object_name : "-");
    }
    text_block(out, "LinuxCpuInfo", info.linux_cpuinfo);
    text_block(out, "LinuxProcStatus", info.linux_status);
    text_block(out, "LinuxLsbRelease", info.linux_lsb_release);
    text_block(out, "LinuxCmdLine", info.linux_cmdline);
    text_block(out, "LinuxMaps", info.linux_maps);
    text_block(out, "MozLinuxLimits", info.linux_limits);
    if (info.has_mac_boot_args)
        fprintf(out, "\nMozMacosBootargs\n  %s\n", info.mac_boot_args ? info.mac_boot_args : "");
    for (size_t i = 0; i < info.nannotations; i++)
        fprintf(out, "%sannotation %s%s%s = %s\n", i ? "" : "\nCrashpad\n", info.annotations[i].module ? info.annotations[i].module : "",
                info.annotations[i].module ? ": " : "", info.annotations[i].key, info.annotations[i].value);
    text_block(out, "Problems", info.errors.len ? info.errors.data : NULL);
    md_info_free(&info);
    sk_arena_destroy(a);
    if (fflush(out) != 0 || ferror(out))
        return sk_fail(err, SK_EIO, "cannot write the listing");
    return SK_OK;
}
