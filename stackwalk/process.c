/* process.c — from a parsed minidump to a report: picks each thread's
 * context, walks it, and symbolizes every frame with the module's .sym
 * (loaded on first need, once per module). */
#include "analysis.h"
#include "crash_reason.h"
#include "minidump.h"
#include "symbols.h"
#include "unwind.h"

#include <ctype.h>
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

/* ---- system ------------------------------------------------------------ */

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

/* The value of "key : value" in /proc/cpuinfo text (first one), or NULL. */
static const char *cpuinfo_value(const char *text, const char *key, sk_arena *a)
{
    size_t kl = strlen(key);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        if (strncmp(l, key, kl) != 0 || (l[kl] != ' ' && l[kl] != '\t' && l[kl] != ':'))
            continue;
        const char *c = strchr(l, ':');
        const char *nl = strchr(l, '\n');
        if (!c || (nl && c > nl))
            continue;
        c++;
        while (*c == ' ' || *c == '\t')
            c++;
        return sk_arena_strndup(a, c, strcspn(c, "\n"));
    }
    return NULL;
}

/* lsb_release: /etc/lsb-release's DISTRIB_* keys, or os-release's. */
static void parse_lsb(sw_report *r, const char *text)
{
    if (!text)
        return;
    static const char *const keys[4][2] = {{"DISTRIB_ID", "ID"},
                                           {"DISTRIB_RELEASE", "VERSION_ID"},
                                           {"DISTRIB_CODENAME", "VERSION_CODENAME"},
                                           {"DISTRIB_DESCRIPTION", "PRETTY_NAME"}};
    const char **out[4] = {&r->lsb_id, &r->lsb_release_ver, &r->lsb_codename, &r->lsb_description};
    r->has_lsb = true;
    for (int k = 0; k < 4; k++) {
        for (int alt = 0; alt < 2 && !*out[k]; alt++) {
            size_t kl = strlen(keys[k][alt]);
            for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                if (strncmp(l, keys[k][alt], kl) != 0 || l[kl] != '=')
                    continue;
                const char *v = l + kl + 1;
                size_t n = strcspn(v, "\n");
                if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
                    v++;
                    n -= 2;
                }
                *out[k] = sk_arena_strndup(r->arena, v, n);
                break;
            }
        }
        if (!*out[k])
            *out[k] = "";
    }
}

/* Mozilla's copy of /proc/self/limits: a header line, then rows of
 * "Name  Soft  Hard  Units" in fixed columns (names contain spaces). */
static void parse_limits(sw_report *r, const char *text)
{
    if (!text)
        return;
    r->has_proc_limits = true;
    size_t cap = 0, n = 0;
    sw_proc_limit *v = NULL;
    const char *l = strchr(text, '\n');
    for (l = l ? l + 1 : NULL; l && *l && n < 64; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        size_t len = strcspn(l, "\n");
        char *line = sk_arena_strndup(r->arena, l, len);
        /* split on runs of two or more spaces */
        const char *f[4] = {0};
        int nf = 0;
        char *q = line;
        while (*q && nf < 4) {
            while (*q == ' ')
                q++;
            if (!*q)
                break;
            f[nf++] = q;
            char *e = strstr(q, "  ");
            if (!e)
                break;
            *e = '\0';
            q = e + 2;
        }
        if (nf < 3)
            continue;
        sk_grow((void **)&v, &cap, n + 1, sizeof *v);
        v[n++] = (sw_proc_limit){f[0], f[1], f[2], nf > 3 ? f[3] : NULL};
    }
    r->proc_limits = sk_arena_alloc(r->arena, (n ? n : 1) * sizeof *v);
    if (n)
        memcpy(r->proc_limits, v, n * sizeof *v);
    r->nproc_limits = n;
    free(v);
}

/* --evil-json: ModuleSignatureInfo maps a signer to its module names (an
 * object, or a string holding one); CPUMicrocodeVersion is "0x...".  As in
 * rust-minidump, a file that cannot be used is an error on the log, not a
 * failed run. */
typedef struct evil {
    sk_json_value root;
    const sk_json_value *certs; /* object: signer -> [module...] */
    sk_json_value parsed_certs;
    const char *microcode;
} evil;

static void evil_load(evil *e, const char *path)
{
    memset(e, 0, sizeof *e);
    if (!path)
        return;
    sk_error err;
    char *text = NULL;
    size_t len = 0;
    if (sk_read_file(path, &text, &len, &err)) {
        sk_log(SK_LOG_ERROR, "Could not load Extra JSON at %s", path);
        return;
    }
    if (sk_json_parse(text ? text : "", len, &e->root, &err) || e->root.type != SK_JSON_OBJECT) {
        sk_log(SK_LOG_ERROR, "Could not parse Extra JSON (was not valid JSON)");
        sk_json_free(&e->root);
        memset(&e->root, 0, sizeof e->root);
        free(text);
        return;
    }
    free(text);
    const sk_json_value *c = sk_json_get(&e->root, "ModuleSignatureInfo");
    if (c && c->type == SK_JSON_STRING &&
        !sk_json_parse(c->str, strlen(c->str), &e->parsed_certs, &err))
        c = &e->parsed_certs;
    if (c && c->type == SK_JSON_OBJECT)
        e->certs = c;
    else if (c)
        sk_log(SK_LOG_ERROR, "Could not parse Evil JSON's ModuleSignatureInfo (not an object)");
    const sk_json_value *m = sk_json_get(&e->root, "CPUMicrocodeVersion");
    if (m && m->type == SK_JSON_STRING)
        e->microcode = m->str;
}

static const char *evil_cert(const evil *e, const char *module)
{
    if (!e->certs || !module)
        return NULL;
    for (size_t i = 0; i < e->certs->n; i++) {
        const sk_json_value *list = &e->certs->items[i];
        if (list->type != SK_JSON_ARRAY)
            continue;
        for (size_t k = 0; k < list->n; k++)
            if (list->items[k].type == SK_JSON_STRING && strcmp(list->items[k].str, module) == 0)
                return e->certs->keys[i];
    }
    return NULL;
}

static void evil_free(evil *e)
{
    sk_json_free(&e->parsed_certs);
    sk_json_free(&e->root);
}

/* ---- frames -------------------------------------------------------------- */

/* rust-minidump lists the unloaded modules under a frame no loaded module
 * covers: one entry per name, its offsets deduplicated and sorted. */
static void unloaded_hits(proc *p, sw_frame *f)
{
    const md_info *info = p->info;
    sk_arena *a = p->report->arena;
    for (size_t i = 0; i < info->nunloaded; i++) {
        const md_module *u = &info->unloaded[i];
        if (f->address < u->base || f->address - u->base >= u->size || !u->code_file)
            continue;
        const char *b = u->code_file;
        for (const char *q = u->code_file; *q; q++)
            if (*q == '/' || *q == '\\')
                b = q + 1;
        uint64_t off = f->address - u->base;
        sw_unloaded_hit *h = NULL;
        for (size_t k = 0; k < f->nunloaded; k++)
            if (strcmp(f->unloaded[k].module, b) == 0)
                h = &f->unloaded[k];
        if (!h) {
            if (f->nunloaded >= 16)
                continue;
            sw_unloaded_hit *grown = sk_arena_alloc(a, (f->nunloaded + 1) * sizeof *grown);
            if (f->nunloaded)
                memcpy(grown, f->unloaded, f->nunloaded * sizeof *grown);
            /* keep them sorted by name */
            size_t at = 0;
            while (at < f->nunloaded && strcmp(grown[at].module, b) < 0)
                at++;
            memmove(grown + at + 1, grown + at, (f->nunloaded - at) * sizeof *grown);
            grown[at] = (sw_unloaded_hit){b, NULL, 0};
            f->unloaded = grown;
            h = &grown[at];
            f->nunloaded++;
        }
        size_t at = 0;
        while (at < h->noffsets && h->offsets[at] < off)
            at++;
        if (at < h->noffsets && h->offsets[at] == off)
            continue;
        if (h->noffsets >= 64)
            continue;
        uint64_t *o = sk_arena_alloc(a, (h->noffsets + 1) * sizeof *o);
        if (h->noffsets)
            memcpy(o, h->offsets, h->noffsets * sizeof *o);
        memmove(o + at + 1, o + at, (h->noffsets - at) * sizeof *o);
        o[at] = off;
        h->offsets = o;
        h->noffsets++;
    }
}

static void symbolize(proc *p, const sw_cpu *cpu, sw_frame *f, bool first)
{
    uint64_t addr = first ? f->instruction : f->instruction - cpu->lookup_adjust;
    if (cpu->ptr_size == 4)
        addr &= 0xffffffffu;
    f->address = addr;
    int mi = module_index(p->info, addr);
    f->module = mi;
    if (mi < 0) {
        unloaded_hits(p, f);
        return;
    }
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
    f->line_base = base + l.line_addr;
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
    evil ev;
    evil_load(&ev, opt->evil_json);
    if (info.linux_cpuinfo) {
        const char *mc = cpuinfo_value(info.linux_cpuinfo, "microcode", a);
        if (mc) {
            char *end;
            unsigned long long v = strtoull(mc, &end, 0);
            if (end != mc)
                r->cpu_microcode_version = sk_arena_printf(a, "0x%llx", v);
        }
    }
    if (!r->cpu_microcode_version && ev.microcode)
        r->cpu_microcode_version = sk_arena_strdup(a, ev.microcode);
    parse_lsb(r, info.linux_lsb_release);
    parse_limits(r, info.linux_limits);
    r->dump_time = info.dump_time;
    r->has_create_time = info.has_create_time;
    r->process_create_time = info.process_create_time;
    r->has_handles = info.has_handles;
    r->handles = info.handles;
    r->nhandles = info.nhandles;
    r->has_mac_crash_info = info.has_mac_crash_info;
    r->mac_crash = info.mac_crash;
    r->nmac_crash = info.nmac_crash;
    r->has_mac_boot_args = info.has_mac_boot_args;
    r->mac_boot_args = info.mac_boot_args;
    if (info.linux_maps) {
        r->has_memory_map_count = true;
        for (const char *q = info.linux_maps; *q; q++)
            r->memory_map_count += *q == '\n';
        size_t n = strlen(info.linux_maps);
        if (n && info.linux_maps[n - 1] != '\n')
            r->memory_map_count++;
    } else if (info.has_memory_info) {
        r->has_memory_map_count = true;
        r->memory_map_count = info.memory_info_count;
    }
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
        o->dump_index = m->dump_index;
        o->cert_subject = evil_cert(&ev, o->filename);
        if (o->cert_subject) {
            o->cert_subject = sk_arena_strdup(a, o->cert_subject);
            r->modules_contains_cert_info = true;
        }
        if (info.has_main_module && m->base == info.main_module_base)
            r->main_module = (int)i;
    }
    r->nunloaded_modules = info.nunloaded;
    r->unloaded_modules = sk_arena_alloc(a, (info.nunloaded ? info.nunloaded : 1) * sizeof *r->unloaded_modules);
    for (size_t i = 0; i < info.nunloaded; i++) {
        const md_module *u = &info.unloaded[i];
        const char *ub = u->code_file ? u->code_file : "";
        for (const char *q = ub; *q; q++)
            if (*q == '/' || *q == '\\')
                ub = q + 1;
        const char *cert = evil_cert(&ev, ub);
        if (cert)
            r->modules_contains_cert_info = true;
        r->unloaded_modules[i] = (sw_unloaded_module){u->base, u->size, u->code_file, u->code_id,
                                                      cert ? sk_arena_strdup(a, cert) : NULL};
    }
    evil_free(&ev);

    /* crash */
    r->crashing_thread = -1;
    uint32_t crash_tid = 0;
    bool have_crash_tid = false;
    if (info.exception.present) {
        r->has_exception = true;
        r->crash_type = sw_crash_type(&info, a);
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
        /* rust-minidump skips the dumper's own thread (Breakpad info stream):
         * its stack is the handler's, never the crash's */
        if (info.has_dump_thread && t->id == info.dump_thread && !crashed) {
            o->dump_thread = true;
            continue;
        }
        walk_thread(&p, t, ctx, ctx_size, o, opt, walk);
    }
    if (!r->pointer_size)
        r->pointer_size = (info.sys.arch == MD_CPU_ARCHITECTURE_X86 || info.sys.arch == MD_CPU_ARCHITECTURE_ARM) ? 4 : 8;
    if (r->has_exception) {
        r->crash_address = sw_crash_address(&info, r->pointer_size);
        const uint8_t *ctx = info.exception.context;
        size_t ctx_size = info.exception.context_size;
        if (!ctx && r->crashing_thread >= 0) {
            ctx = info.threads[r->crashing_thread].context;
            ctx_size = info.threads[r->crashing_thread].context_size;
        }
        const sw_cpu *cpu;
        sw_regs regs;
        uint16_t arch = info.sys.present ? info.sys.arch : MD_CPU_ARCHITECTURE_UNKNOWN;
        if (sw_read_context(arch, ctx, ctx_size, &cpu, &regs)) {
            /* ARM: the CPSR's T bit (after r0..r15) says Thumb */
            bool thumb = cpu == &sw_cpu_arm && ((ctx_size >= 72 && (md_u32(ctx + 68) & 0x20)) ||
                                                (regs.r[cpu->pc] & 1));
            sw_analyze_crash(r, &info, cpu, &regs, thumb);
        }
    }
    /* Windows: GetLastError() lives in the TEB (offset 0x68 on 64-bit, 0x34
     * on 32-bit), when the writer captured that page */
    if (info.sys.present && info.sys.platform <= MD_OS_WIN32_CE) {
        for (size_t i = 0; i < info.nthreads; i++) {
            uint64_t teb = info.threads[i].teb;
            if (!teb)
                continue;
            const uint8_t *le = md_memory_at(&info.memory, teb + (r->pointer_size == 8 ? 0x68 : 0x34), 4);
            if (le)
                r->threads[i].last_error_value = sw_win_error_name(md_u32(le), a);
        }
    }
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
