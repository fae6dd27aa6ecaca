/* process.c — from a parsed minidump to a report: picks each thread's
 * context, walks it, and symbolizes every frame with the module's .sym
 * (loaded on first need, once per module). */
#include "minidump.h"
#include "symbols.h"
#include "unwind.h"

#include <stdlib.h>
#include <string.h>

typedef struct mod_state {
    bool tried;
    sym_index *symbols;
} mod_state;

typedef struct proc {
    const md_info *info;
    sw_report *report;
    mod_state *mods;
    sw_symbols *symbols;
} proc;

const char *sw_trust_name(sw_trust t)
{
    switch (t) {
    case SW_TRUST_SCAN: return "scan";
    case SW_TRUST_CFI_SCAN: return "cfi_scan";
    case SW_TRUST_FRAME_POINTER: return "frame_pointer";
    case SW_TRUST_CFI: return "cfi";
    case SW_TRUST_PREWALKED: return "prewalked";
    case SW_TRUST_CONTEXT: return "context";
    default: return "none";
    }
}

static int module_index(const md_info *info, uint64_t addr)
{
    size_t lo = 0, hi = info->nmodules;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (info->modules[mid].base <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const md_module *m = &info->modules[lo - 1];
    return addr - m->base < m->size ? (int)(lo - 1) : -1;
}

static sym_index *module_symbols(proc *p, int i)
{
    mod_state *st = &p->mods[i];
    if (st->tried)
        return st->symbols;
    st->tried = true;
    sw_module *out = &p->report->modules[i];
    sw_symbol_result r = sw_symbols_find(p->symbols, &p->info->modules[i], p->report->arena);
    st->symbols = r.index;
    if (r.index) {
        out->loaded_symbols = true;
        out->symbol_url = r.url;
        if (!out->debug_id)
            out->debug_id = sk_arena_strdup(p->report->arena, sym_index_debug_id(r.index));
        if (!out->debug_file)
            out->debug_file = sk_arena_strdup(p->report->arena, sym_index_name(r.index));
    } else {
        out->missing_symbols = true;
    }
    return st->symbols;
}

static sw_module_view find_module(void *ctx, uint64_t addr)
{
    proc *p = ctx;
    sw_module_view v = {0};
    int i = module_index(p->info, addr);
    if (i < 0)
        return v;
    v.found = true;
    v.base = p->info->modules[i].base;
    v.symbols = module_symbols(p, i);
    return v;
}

/* ---- crash reason -------------------------------------------------------- */

static const char *signal_name(uint32_t sig)
{
    static const char *const names[] = {NULL,      "SIGHUP",  "SIGINT",    "SIGQUIT", "SIGILL",  "SIGTRAP",
                                        "SIGABRT", "SIGBUS",  "SIGFPE",    "SIGKILL", "SIGUSR1", "SIGSEGV",
                                        "SIGUSR2", "SIGPIPE", "SIGALRM",   "SIGTERM", "SIGSTKFLT", "SIGCHLD",
                                        "SIGCONT", "SIGSTOP", "SIGTSTP",   "SIGTTIN", "SIGTTOU", "SIGURG",
                                        "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF", "SIGWINCH", "SIGIO",
                                        "SIGPWR",  "SIGSYS"};
    return sig < sizeof names / sizeof names[0] ? names[sig] : NULL;
}

static const char *si_code_name(uint32_t sig, uint32_t code)
{
    static const char *const segv[] = {NULL, "SEGV_MAPERR", "SEGV_ACCERR", "SEGV_BNDERR", "SEGV_PKUERR",
                                       "SEGV_ACCADI", "SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR",
                                       "SEGV_MTESERR"};
    static const char *const bus[] = {NULL, "BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR",
                                      "BUS_MCEERR_AO"};
    static const char *const fpe[] = {NULL,         "FPE_INTDIV", "FPE_INTOVF", "FPE_FLTDIV", "FPE_FLTOVF",
                                      "FPE_FLTUND", "FPE_FLTRES", "FPE_FLTINV", "FPE_FLTSUB"};
    static const char *const ill[] = {NULL,         "ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR", "ILL_ILLTRP",
                                      "ILL_PRVOPC", "ILL_PRVREG", "ILL_COPROC", "ILL_BADSTK"};
    switch (sig) {
    case 11: return code < 10 ? segv[code] : NULL;
    case 7: return code < 6 ? bus[code] : NULL;
    case 8: return code < 9 ? fpe[code] : NULL;
    case 4: return code < 9 ? ill[code] : NULL;
    default: break;
    }
    switch ((int32_t)code) {
    case 0: return "SI_USER";
    case 0x80: return "SI_KERNEL";
    case -1: return "SI_QUEUE";
    case -6: return "SI_TKILL";
    default: return NULL;
    }
}

static const char *crash_type(const md_info *info, sk_arena *a)
{
    const md_exception *x = &info->exception;
    bool linuxish = !info->sys.present || info->sys.platform == MD_OS_LINUX ||
                    info->sys.platform == MD_OS_ANDROID || info->sys.platform >= MD_OS_UNIX;
    if (x->code == MD_EXCEPTION_CODE_LIN_DUMP_REQUESTED)
        return "DUMP_REQUESTED";
    if (linuxish && info->sys.platform != MD_OS_MAC_OS_X && info->sys.platform != MD_OS_IOS) {
        const char *s = signal_name(x->code);
        if (s) {
            const char *c = si_code_name(x->code, x->flags);
            return c ? sk_arena_printf(a, "%s /%s", s, c) : s;
        }
    }
    if (x->code == MD_EXCEPTION_CODE_WIN_ACCESS_VIOLATION)
        return "EXCEPTION_ACCESS_VIOLATION";
    return sk_arena_printf(a, "0x%08x / 0x%08x", x->code, x->flags);
}

static const char *os_name(uint32_t platform)
{
    switch (platform) {
    case MD_OS_WIN32S:
    case MD_OS_WIN32_WINDOWS:
    case MD_OS_WIN32_NT: return "Windows NT";
    case MD_OS_WIN32_CE: return "Windows CE";
    case MD_OS_MAC_OS_X: return "Mac OS X";
    case MD_OS_IOS: return "iOS";
    case MD_OS_LINUX: return "Linux";
    case MD_OS_SOLARIS: return "Solaris";
    case MD_OS_ANDROID: return "Android";
    case MD_OS_PS3: return "PS3";
    case MD_OS_NACL: return "NaCl";
    case MD_OS_FUCHSIA: return "Fuchsia";
    default: return "Unknown";
    }
}

static const char *arch_name(uint16_t arch)
{
    switch (arch) {
    case MD_CPU_ARCHITECTURE_X86:
    case MD_CPU_ARCHITECTURE_X86_WIN64: return "x86";
    case MD_CPU_ARCHITECTURE_AMD64: return "amd64";
    case MD_CPU_ARCHITECTURE_ARM: return "arm";
    case MD_CPU_ARCHITECTURE_ARM64:
    case MD_CPU_ARCHITECTURE_ARM64_OLD: return "arm64";
    case MD_CPU_ARCHITECTURE_PPC: return "ppc";
    case MD_CPU_ARCHITECTURE_PPC64: return "ppc64";
    case MD_CPU_ARCHITECTURE_SPARC: return "sparc";
    case MD_CPU_ARCHITECTURE_MIPS: return "mips";
    case MD_CPU_ARCHITECTURE_MIPS64: return "mips64";
    case MD_CPU_ARCHITECTURE_RISCV: return "riscv";
    case MD_CPU_ARCHITECTURE_RISCV64: return "riscv64";
    default: return "unknown";
    }
}

static void fill_system(sw_report *r, const md_info *info)
{
    const md_system_info *s = &info->sys;
    sk_arena *a = r->arena;
    if (!s->present) {
        r->os = "Unknown";
        r->cpu_arch = "unknown";
        return;
    }
    r->os = os_name(s->platform);
    r->os_ver = s->csd && *s->csd ? sk_arena_printf(a, "%u.%u.%u %s", s->major, s->minor, s->build, s->csd)
                                  : sk_arena_printf(a, "%u.%u.%u", s->major, s->minor, s->build);
    r->cpu_arch = arch_name(s->arch);
    r->cpu_count = s->cpu_count;
    if (s->vendor[0])
        r->cpu_info = sk_arena_printf(a, "%s family %u model %u stepping %u", s->vendor, s->level,
                                      s->revision >> 8, s->revision & 0xff);
    else if (info->linux_cpuinfo) {
        /* the first "model name" or "Processor"/"CPU part" line */
        const char *keys[] = {"model name", "Processor", "CPU implementer"};
        for (size_t k = 0; k < 3 && !r->cpu_info; k++) {
            const char *l = strstr(info->linux_cpuinfo, keys[k]);
            const char *c = l ? strchr(l, ':') : NULL;
            if (c) {
                c++;
                while (*c == ' ' || *c == '\t')
                    c++;
                size_t n = strcspn(c, "\n");
                r->cpu_info = sk_arena_strndup(a, c, n);
            }
        }
    }
}

/* ---- frames -------------------------------------------------------------- */

static void symbolize(proc *p, const sw_cpu *cpu, sw_frame *f, bool first)
{
    uint64_t addr = first ? f->instruction : f->instruction - cpu->lookup_adjust;
    int mi = module_index(p->info, addr);
    f->module = mi;
    if (mi < 0)
        return;
    sym_index *ix = module_symbols(p, mi);
    if (!ix)
        return;
    sym_lookup l;
    uint64_t base = p->info->modules[mi].base;
    bool found = sym_index_lookup(ix, addr - base, &l);
    /* the lookup built the index (and parsed this function): bad lines
     * seen so far mark the module's symbols corrupt */
    sw_module *m = &p->report->modules[mi];
    m->bad_sym_lines = sym_index_bad_lines(ix);
    m->corrupt_symbols = m->bad_sym_lines > 0;
    if (!found)
        return;
    sk_arena *a = p->report->arena;
    /* the index's strings die with it: the report keeps copies */
    f->function = sk_arena_strdup(a, l.function);
    f->function_base = base + l.function_addr;
    f->file = l.file ? sk_arena_strdup(a, l.file) : NULL;
    f->line = l.line;
    for (size_t i = 0; i < l.ninlines; i++) {
        l.inlines[i].name = sk_arena_strdup(a, l.inlines[i].name);
        if (l.inlines[i].call_file)
            l.inlines[i].call_file = sk_arena_strdup(a, l.inlines[i].call_file);
    }
    const char *line_file = f->file;
    if (l.ninlines) {
        /* innermost first; the frame itself keeps the FUNC's name with the
         * outermost call site as its location */
        f->ninlines = l.ninlines;
        f->inlines = sk_arena_alloc(a, l.ninlines * sizeof *f->inlines);
        for (size_t i = 0; i < l.ninlines; i++) {
            sw_inline_frame *in = &f->inlines[l.ninlines - 1 - i];
            in->function = l.inlines[i].name;
            /* the innermost inline's location is the line record; each
             * outer one's is the call site of the inline inside it */
            if (i + 1 < l.ninlines) {
                in->file = l.inlines[i + 1].call_file;
                in->line = l.inlines[i + 1].call_line;
            } else {
                in->file = line_file;
                in->line = l.line;
            }
        }
        f->file = l.inlines[0].call_file;
        f->line = l.inlines[0].call_line;
    }
    m->bad_sym_lines = sym_index_bad_lines(ix);
    m->corrupt_symbols = m->bad_sym_lines > 0;
}

static void walk_thread(proc *p, const md_thread *t, const uint8_t *ctx, size_t ctx_size, sw_thread *out,
                        const sw_options *opt, bool walk)
{
    sw_report *r = p->report;
    const sw_cpu *cpu;
    sw_regs regs;
    uint16_t arch = p->info->sys.present ? p->info->sys.arch : MD_CPU_ARCHITECTURE_UNKNOWN;
    if (!sw_read_context(arch, ctx, ctx_size, &cpu, &regs)) {
        out->walk_note = "no usable CPU context";
        return;
    }
    if (!r->pointer_size)
        r->pointer_size = cpu->ptr_size;
    sw_walker w;
    memset(&w, 0, sizeof w);
    w.cpu = cpu;
    w.memory = &p->info->memory;
    w.stack = t->stack;
    w.find_module = find_module;
    w.ctx = p;
    w.max_frames = walk ? opt->max_frames : 1;
    w.have_modules = p->info->nmodules > 0;
    sk_buf_init(&w.scratch);
    if (cpu == &sw_cpu_arm64) {
        /* Pointer authentication puts a signature in the unused high bits
         * of return addresses: keep only as many bits as the highest
         * module needs (at least 39, the smallest Linux VA size... but
         * never more than 48). */
        uint64_t top = 0;
        for (size_t i = 0; i < p->info->nmodules; i++)
            if (p->info->modules[i].base + p->info->modules[i].size > top)
                top = p->info->modules[i].base + p->info->modules[i].size;
        unsigned bits = 39;
        while (bits < 48 && (top >> bits))
            bits++;
        w.address_mask = (1ull << bits) - 1;
    }
    if (!t->stack.data)
        out->walk_note = "stack memory not in the dump";
    sw_walk_frame *frames;
    size_t n;
    sw_walk(&w, &regs, &frames, &n);
    sk_buf_free(&w.scratch);
    if (walk && opt->max_frames && n >= opt->max_frames)
        out->walk_note = "frame limit reached";
    out->frames = sk_arena_alloc(r->arena, n * sizeof *out->frames);
    out->nframes = n;
    for (size_t i = 0; i < n; i++) {
        sw_frame *f = &out->frames[i];
        f->instruction = frames[i].regs.r[cpu->pc];
        f->trust = frames[i].trust;
        f->module = -1;
        size_t nr = 0;
        for (unsigned k = 0; k < cpu->nregs; k++)
            nr += sw_reg_ok(&frames[i].regs, (int)k);
        f->registers = sk_arena_alloc(r->arena, (nr ? nr : 1) * sizeof *f->registers);
        for (unsigned k = 0; k < cpu->nregs; k++)
            if (sw_reg_ok(&frames[i].regs, (int)k))
                f->registers[f->nregisters++] = (sw_register){cpu->names[k], frames[i].regs.r[k]};
        symbolize(p, cpu, f, i == 0);
    }
    free(frames);
}

int sw_process(const sw_minidump *dump, const sw_options *opt, sw_report **out, sk_error *err)
{
    *out = NULL;
    sw_options defaults = {0};
    if (!opt)
        opt = &defaults;
    sw_report *r = sk_xcalloc(1, sizeof *r);
    r->arena = sk_arena_create();
    sk_arena *a = r->arena;
    md_info info;
    md_read_all(dump, a, &info);
    if (!info.nthreads && !info.nmodules && !info.exception.present) {
        int rc = sk_fail(err, SK_EFORMAT, "%s: no thread, module or exception stream could be read%s%.*s",
                         dump->path, info.errors.len ? ": " : "",
                         (int)(info.errors.len ? strcspn(info.errors.data, "\n") : 0),
                         info.errors.len ? info.errors.data : "");
        md_info_free(&info);
        sw_report_free(r);
        return rc;
    }
    fill_system(r, &info);
    r->has_pid = info.has_pid;
    r->pid = info.pid;
    r->assertion = info.assertion;
    r->lsb_release = info.linux_lsb_release;
    r->cmdline = info.linux_cmdline;
    r->annotations = info.annotations;
    r->nannotations = info.nannotations;

    /* modules */
    r->nmodules = info.nmodules;
    r->modules = sk_arena_alloc(a, (info.nmodules ? info.nmodules : 1) * sizeof *r->modules);
    r->main_module = -1;
    for (size_t i = 0; i < info.nmodules; i++) {
        const md_module *m = &info.modules[i];
        sw_module *o = &r->modules[i];
        o->base = m->base;
        o->size = m->size;
        o->code_file = m->code_file;
        const char *b = m->code_file;
        for (const char *q = m->code_file; *q; q++)
            if (*q == '/' || *q == '\\')
                b = q + 1;
        o->filename = b;
        o->code_id = m->code_id;
        o->debug_file = m->debug_file;
        o->debug_id = m->debug_id;
        o->version = m->version;
        if (info.has_main_module && m->base == info.main_module_base)
            r->main_module = (int)i;
    }
    r->nunloaded_modules = info.nunloaded;
    r->unloaded_modules = sk_arena_alloc(a, (info.nunloaded ? info.nunloaded : 1) * sizeof *r->unloaded_modules);
    for (size_t i = 0; i < info.nunloaded; i++)
        r->unloaded_modules[i] = (sw_unloaded_module){info.unloaded[i].base, info.unloaded[i].size,
                                                      info.unloaded[i].code_file};

    /* crash */
    r->crashing_thread = -1;
    uint32_t crash_tid = 0;
    bool have_crash_tid = false;
    if (info.exception.present) {
        r->has_exception = true;
        r->crash_type = crash_type(&info, a);
        r->crash_address = info.exception.address;
        crash_tid = info.exception.thread_id;
        have_crash_tid = true;
    } else if (info.has_requesting_thread) {
        crash_tid = info.requesting_thread;
        have_crash_tid = true;
    }

    proc p = {&info, r, sk_xcalloc(info.nmodules ? info.nmodules : 1, sizeof(mod_state)), sw_symbols_new(opt)};
    r->nthreads = info.nthreads;
    r->threads = sk_arena_alloc(a, (info.nthreads ? info.nthreads : 1) * sizeof *r->threads);
    for (size_t i = 0; i < info.nthreads; i++) {
        const md_thread *t = &info.threads[i];
        sw_thread *o = &r->threads[i];
        o->thread_id = t->id;
        o->name = t->name;
        bool crashed = have_crash_tid && t->id == crash_tid && r->crashing_thread < 0;
        if (crashed)
            r->crashing_thread = (int)i;
        const uint8_t *ctx = t->context;
        size_t ctx_size = t->context_size;
        /* the crashing thread's own context is the signal handler's: the
         * exception stream has the one at the fault */
        if (crashed && info.exception.present && info.exception.context) {
            ctx = info.exception.context;
            ctx_size = info.exception.context_size;
        }
        bool walk = !opt->crashing_thread_only || crashed;
        walk_thread(&p, t, ctx, ctx_size, o, opt, walk);
    }
    if (!r->pointer_size)
        r->pointer_size = (info.sys.arch == MD_CPU_ARCHITECTURE_X86 || info.sys.arch == MD_CPU_ARCHITECTURE_ARM) ? 4 : 8;
    r->status = "OK";
    if (info.errors.len)
        r->stream_errors = sk_arena_strndup(a, info.errors.data, info.errors.len);
    free(p.mods);
    sw_symbols_free(p.symbols);
    md_info_free(&info);
    *out = r;
    return SK_OK;
}

void sw_report_free(sw_report *r)
{
    if (!r)
        return;
    sk_arena_destroy(r->arena);
    free(r);
}
