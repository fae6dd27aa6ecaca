/*
 * Lays out a minidump of a stopped process: header, directory, then the
 * streams Breakpad's and rust-minidump's processors read (threads with CPU
 * contexts and stacks, memory, modules with ELF build-ids, exception,
 * system info, misc info, thread names, Linux /proc copies).
 *
 * The environment (/proc/PID/environ) is deliberately never written: it
 * often holds tokens and passwords, and a dump travels far.
 *
 * Memory ranges in the memory list must not overlap (Breakpad's reader
 * rejects the whole list), so every range we want - stacks, bytes around
 * the instruction and the fault address - is merged first and each thread's
 * stack descriptor then points into the merged bytes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "capture.h"
#include "minidump_format.h"

#define MAX_STREAMS 20
#define AROUND_BYTES 256 /* memory kept on each side of the pc and fault */

typedef struct writer {
    sk_buf b;
    uint64_t env_start, env_end; /* the environment strings, never copied */
    MDRawDirectory dir[MAX_STREAMS];
    uint32_t ndir;
} writer;

static uint32_t align_to(writer *w, size_t a)
{
    static const char zeros[16];
    while (w->b.len % a)
        sk_buf_append(&w->b, zeros, a - w->b.len % a < 16 ? a - w->b.len % a : 16);
    return (uint32_t)w->b.len;
}

/* Appends n bytes (4-aligned) and returns their RVA. */
static uint32_t put(writer *w, const void *p, size_t n)
{
    uint32_t rva = align_to(w, 4);
    if (n)
        sk_buf_append(&w->b, p, n);
    return rva;
}

static void patch(writer *w, uint32_t rva, const void *p, size_t n)
{
    memcpy(w->b.data + rva, p, n);
}

static void add_stream(writer *w, uint32_t type, uint32_t rva, size_t size)
{
    if (w->ndir < MAX_STREAMS)
        w->dir[w->ndir++] = (MDRawDirectory){type, {(uint32_t)size, rva}};
}

static void put_raw_stream(writer *w, uint32_t type, const void *p, size_t n)
{
    align_to(w, 8);
    uint32_t rva = put(w, p, n);
    add_stream(w, type, rva, n);
}

/* UTF-8 in, UTF-16LE MDString out; bytes that are not UTF-8 become U+FFFD
 * so that a strange path never makes the string unreadable. */
static uint32_t put_string(writer *w, const char *s)
{
    size_t n = strlen(s);
    uint16_t *u = sk_xmalloc((n + 1) * 2 * sizeof *u);
    size_t k = 0;
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        uint32_t c = *p, need = 0;
        if (c < 0x80) need = 0;
        else if ((c & 0xe0) == 0xc0) need = 1, c &= 0x1f;
        else if ((c & 0xf0) == 0xe0) need = 2, c &= 0x0f;
        else if ((c & 0xf8) == 0xf0) need = 3, c &= 0x07;
        else need = 99;
        p++;
        if (need == 99 || (size_t)(end - p) < need) {
            u[k++] = 0xfffd;
            continue;
        }
        bool bad = false;
        for (uint32_t i = 0; i < need; i++) {
            if ((p[i] & 0xc0) != 0x80)
                bad = true;
            c = (c << 6) | (p[i] & 0x3f);
        }
        if (bad || c > 0x10ffff) {
            u[k++] = 0xfffd;
            continue;
        }
        p += need;
        if (c >= 0x10000) {
            c -= 0x10000;
            u[k++] = (uint16_t)(0xd800 | (c >> 10));
            u[k++] = (uint16_t)(0xdc00 | (c & 0x3ff));
        } else {
            u[k++] = (uint16_t)c;
        }
    }
    u[k] = 0;
    uint32_t len = (uint32_t)(k * 2);
    uint32_t rva = put(w, &len, 4);
    sk_buf_append(&w->b, u, (k + 1) * 2);
    free(u);
    return rva;
}

/* ---- memory ---- */

typedef struct region {
    uint64_t start, end;
    uint32_t rva;
} region;

static int cmp_region(const void *a, const void *b)
{
    const region *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

static void want(region **v, size_t *n, size_t *cap, uint64_t start, uint64_t end)
{
    if (end <= start)
        return;
    sk_grow((void **)v, cap, *n + 1, sizeof **v);
    (*v)[(*n)++] = (region){start, end, 0};
}

/* The readable part of [addr - before, addr + after) inside addr's mapping. */
static bool clip_to_mapping(const sv_maps *maps, uint64_t addr, uint64_t before, uint64_t after,
                            uint64_t *s, uint64_t *e)
{
    const sv_mapping *m = sv_maps_find(maps, addr);
    if (!m && addr > 0)
        m = sv_maps_find(maps, addr - 1); /* an empty stack: sp at the top */
    if (!m || m->perms[0] != 'r')
        return false;
    *s = addr - m->start >= before ? addr - before : m->start;
    *e = m->end - addr >= after ? addr + after : m->end;
    return *e > *s;
}

/* Reads [start, end) into the dump; pages that cannot be read are zeros. */
static void put_memory(writer *w, int mem_fd, region *r)
{
    r->rva = align_to(w, 8);
    size_t n = (size_t)(r->end - r->start);
    uint8_t *data = sk_xcalloc(n ? n : 1, 1);
    size_t done = 0;
    while (done < n) {
        ssize_t got = pread(mem_fd, data + done, n - done, (off_t)(r->start + done));
        if (got > 0) {
            done += (size_t)got;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        /* unreadable: leave zeros and go on with the next page */
        uint64_t next = ((r->start + done) | 0xfff) + 1;
        done = next - r->start;
    }
    uint64_t lo = r->start > w->env_start ? r->start : w->env_start;
    uint64_t hi = r->end < w->env_end ? r->end : w->env_end;
    if (lo < hi)
        memset(data + (lo - r->start), 0, (size_t)(hi - lo));
    sk_buf_append(&w->b, data, n);
    free(data);
}

/* ---- CPU ---- */

static uint32_t put_context(writer *w, const sv_thread_state *t, uint32_t *size)
{
    uint8_t ctx[2048];
    size_t n = sv_cpu_context(t, ctx, sizeof ctx);
    *size = (uint32_t)n;
    align_to(w, 16);
    return put(w, ctx, n);
}

static void put_system_info(writer *w, bool x86_32)
{
    MDRawSystemInfo si;
    memset(&si, 0, sizeof si);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    si.number_of_processors = (uint8_t)(ncpu > 255 ? 255 : ncpu < 1 ? 1 : ncpu);
    si.platform_id = MD_OS_LINUX;
    sv_cpu_system_info(&si, x86_32);
    struct utsname u;
    char csd[4 * sizeof u.release + 8] = "";
    if (uname(&u) == 0) {
        unsigned maj = 0, min = 0, build = 0;
        sscanf(u.release, "%u.%u.%u", &maj, &min, &build);
        si.major_version = maj, si.minor_version = min, si.build_number = build;
        snprintf(csd, sizeof csd, "%s %s %s %s", u.sysname, u.release, u.version, u.machine);
    }
    align_to(w, 8);
    uint32_t rva = put(w, &si, sizeof si);
    add_stream(w, MD_SYSTEM_INFO_STREAM, rva, sizeof si);
    uint32_t srva = put_string(w, csd);
    patch(w, rva + (uint32_t)offsetof(MDRawSystemInfo, csd_version_rva), &srva, 4);
}

/* env_start and env_end from /proc/PID/stat (fields 50 and 51): the
 * environment strings sit at the top of the main thread's stack, which the
 * dump otherwise copies. */
static void find_environment(pid_t pid, uint64_t *start, uint64_t *end)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    sk_buf b;
    sk_buf_init(&b);
    *start = *end = 0;
    if (sv_read_small_file(path, &b, NULL) == SK_OK && b.len) {
        const char *p = strrchr(b.data, ')');
        int field = 2;
        while (p && *p) {
            p = strchr(p, ' ');
            if (!p)
                break;
            p++;
            field++;
            if (field == 50)
                *start = strtoull(p, NULL, 10);
            else if (field == 51)
                *end = strtoull(p, NULL, 10);
        }
    }
    sk_buf_free(&b);
    if (*end <= *start)
        *start = *end = 0;
}

static void put_proc_stream(writer *w, uint32_t type, const char *path)
{
    sk_buf b;
    sk_buf_init(&b);
    if (sv_read_small_file(path, &b, NULL) == SK_OK && b.len > 0)
        put_raw_stream(w, type, b.data, b.len);
    sk_buf_free(&b);
}

int sv_write_minidump(const char *path, const sv_crash_info *crash, const sv_thread_state *threads,
                      size_t nthreads, size_t max_stack, sv_dump_stats *stats, sk_error *err)
{
    if (max_stack == 0)
        max_stack = 256 * 1024;
    char p[128];
    snprintf(p, sizeof p, "/proc/%d/mem", (int)crash->pid);
    int mem_fd = open(p, O_RDONLY | O_CLOEXEC);
    if (mem_fd < 0)
        return sk_fail(err, SK_EIO, "%s: %s", p, strerror(errno));
    sv_maps maps;
    int rc = sv_read_maps(crash->pid, &maps, err);
    if (rc) {
        close(mem_fd);
        return rc;
    }
    sv_module *mods = NULL;
    size_t nmods = 0;
    sv_collect_modules(crash->pid, mem_fd, &maps, &mods, &nmods, err);

    const sv_thread_state *crashed = NULL;
    size_t nlive = 0;
    for (size_t i = 0; i < nthreads; i++) {
        if (!threads[i].regs_ok)
            continue;
        nlive++;
        if (threads[i].tid == crash->tid)
            crashed = &threads[i];
    }
    if (!crashed) {
        sv_modules_free(mods, nmods);
        sv_maps_free(&maps);
        close(mem_fd);
        return sk_fail(err, SK_EIO, "thread %d: registers of the crashing thread are unreadable",
                       (int)crash->tid);
    }

    writer w;
    memset(&w, 0, sizeof w);
    sk_buf_init(&w.b);
    find_environment(crash->pid, &w.env_start, &w.env_end);
    MDRawHeader hdr;
    memset(&hdr, 0, sizeof hdr);
    put(&w, &hdr, sizeof hdr);
    uint32_t dir_rva = put(&w, w.dir, sizeof w.dir); /* patched at the end */

    put_system_info(&w, sv_cpu_is_32bit(crashed));

    /* memory: stacks, then the bytes around the pc and the fault */
    region *want_v = NULL;
    size_t nwant = 0, want_cap = 0;
    uint64_t *stack_lo = sk_xcalloc(nthreads + 1, sizeof *stack_lo);
    uint64_t *stack_hi = sk_xcalloc(nthreads + 1, sizeof *stack_hi);
    for (size_t i = 0; i < nthreads; i++) {
        if (!threads[i].regs_ok)
            continue;
        uint64_t red = sv_cpu_red_zone(&threads[i]);
        uint64_t s, e;
        if (clip_to_mapping(&maps, sv_cpu_sp(&threads[i]), red, max_stack, &s, &e)) {
            stack_lo[i] = s, stack_hi[i] = e;
            want(&want_v, &nwant, &want_cap, s, e);
        }
    }
    uint64_t s, e;
    if (clip_to_mapping(&maps, sv_cpu_pc(crashed), AROUND_BYTES, AROUND_BYTES, &s, &e))
        want(&want_v, &nwant, &want_cap, s, e);
    if (crash->addr && clip_to_mapping(&maps, crash->addr, AROUND_BYTES, AROUND_BYTES, &s, &e))
        want(&want_v, &nwant, &want_cap, s, e);
    if (nwant)
        sk_sort(want_v, nwant, sizeof *want_v, cmp_region);
    size_t nreg = 0;
    for (size_t i = 0; i < nwant; i++) {
        if (nreg && want_v[i].start <= want_v[nreg - 1].end) {
            if (want_v[i].end > want_v[nreg - 1].end)
                want_v[nreg - 1].end = want_v[i].end;
        } else {
            want_v[nreg++] = want_v[i];
        }
    }
    for (size_t i = 0; i < nreg; i++)
        put_memory(&w, mem_fd, &want_v[i]);

    /* thread contexts and the thread list */
    MDRawThread *tl = sk_xcalloc(nlive + 1, sizeof *tl);
    uint32_t crash_ctx_rva = 0, crash_ctx_size = 0;
    size_t k = 0;
    for (size_t i = 0; i < nthreads; i++) {
        if (!threads[i].regs_ok)
            continue;
        MDRawThread *t = &tl[k++];
        t->thread_id = (uint32_t)threads[i].tid;
        uint32_t csize = 0;
        t->thread_context.rva = put_context(&w, &threads[i], &csize);
        t->thread_context.data_size = csize;
        if (&threads[i] == crashed)
            crash_ctx_rva = t->thread_context.rva, crash_ctx_size = csize;
        if (stack_hi[i] > stack_lo[i]) {
            for (size_t r = 0; r < nreg; r++) {
                if (stack_lo[i] >= want_v[r].start && stack_hi[i] <= want_v[r].end) {
                    t->stack.start_of_memory_range = stack_lo[i];
                    t->stack.memory.data_size = (uint32_t)(stack_hi[i] - stack_lo[i]);
                    t->stack.memory.rva = want_v[r].rva + (uint32_t)(stack_lo[i] - want_v[r].start);
                    break;
                }
            }
        }
    }
    align_to(&w, 8);
    uint32_t count = (uint32_t)nlive;
    uint32_t tl_rva = put(&w, &count, 4);
    sk_buf_append(&w.b, tl, nlive * sizeof *tl);
    add_stream(&w, MD_THREAD_LIST_STREAM, tl_rva, 4 + nlive * sizeof *tl);
    free(tl);

    /* memory list */
    align_to(&w, 8);
    count = (uint32_t)nreg;
    uint32_t ml_rva = put(&w, &count, 4);
    for (size_t i = 0; i < nreg; i++) {
        MDMemoryDescriptor d = {want_v[i].start,
                                {(uint32_t)(want_v[i].end - want_v[i].start), want_v[i].rva}};
        sk_buf_append(&w.b, &d, sizeof d);
    }
    add_stream(&w, MD_MEMORY_LIST_STREAM, ml_rva, 4 + nreg * sizeof(MDMemoryDescriptor));

    /* modules: names and CodeView records first, then the list */
    MDRawModule *ml = sk_xcalloc(nmods + 1, sizeof *ml);
    for (size_t i = 0; i < nmods; i++) {
        MDRawModule *m = &ml[i];
        m->base_of_image = mods[i].base;
        m->size_of_image = mods[i].size > UINT32_MAX ? UINT32_MAX : (uint32_t)mods[i].size;
        m->module_name_rva = put_string(&w, mods[i].name);
        if (mods[i].id_len) {
            uint32_t sig = MD_CVINFOELF_SIGNATURE;
            m->cv_record.rva = put(&w, &sig, 4);
            sk_buf_append(&w.b, mods[i].id, mods[i].id_len);
            m->cv_record.data_size = (uint32_t)(4 + mods[i].id_len);
        }
    }
    align_to(&w, 8);
    count = (uint32_t)nmods;
    uint32_t mod_rva = put(&w, &count, 4);
    sk_buf_append(&w.b, ml, nmods * sizeof *ml);
    add_stream(&w, MD_MODULE_LIST_STREAM, mod_rva, 4 + nmods * sizeof *ml);
    free(ml);

    /* exception */
    MDRawExceptionStream ex;
    memset(&ex, 0, sizeof ex);
    ex.thread_id = (uint32_t)crash->tid;
    ex.exception_record.exception_code = (uint32_t)crash->signo;
    ex.exception_record.exception_flags = (uint32_t)crash->si_code;
    ex.exception_record.exception_address = crash->addr;
    ex.thread_context.rva = crash_ctx_rva;
    ex.thread_context.data_size = crash_ctx_size;
    put_raw_stream(&w, MD_EXCEPTION_STREAM, &ex, sizeof ex);

    /* misc info: the pid */
    MDRawMiscInfo mi;
    memset(&mi, 0, sizeof mi);
    mi.size_of_info = MD_MISCINFO_SIZE;
    mi.flags1 = MD_MISCINFO_FLAGS1_PROCESS_ID;
    mi.process_id = (uint32_t)crash->pid;
    put_raw_stream(&w, MD_MISC_INFO_STREAM, &mi, MD_MISCINFO_SIZE);

    /* thread names */
    MDRawThreadName *tn = sk_xcalloc(nlive + 1, sizeof *tn);
    k = 0;
    for (size_t i = 0; i < nthreads; i++) {
        if (!threads[i].regs_ok)
            continue;
        tn[k].thread_id = (uint32_t)threads[i].tid;
        tn[k].thread_name_rva = put_string(&w, threads[i].name);
        k++;
    }
    align_to(&w, 8);
    count = (uint32_t)nlive;
    uint32_t tn_rva = put(&w, &count, 4);
    sk_buf_append(&w.b, tn, nlive * sizeof *tn);
    add_stream(&w, MD_THREAD_NAME_LIST_STREAM, tn_rva, 4 + nlive * sizeof *tn);
    free(tn);

    /* Linux streams, copies of /proc text (never the environment) */
    put_raw_stream(&w, MD_LINUX_MAPS, maps.raw, maps.text_len);
    put_proc_stream(&w, MD_LINUX_CPU_INFO, "/proc/cpuinfo");
    snprintf(p, sizeof p, "/proc/%d/status", (int)crash->pid);
    put_proc_stream(&w, MD_LINUX_PROC_STATUS, p);
    snprintf(p, sizeof p, "/proc/%d/auxv", (int)crash->pid);
    put_proc_stream(&w, MD_LINUX_AUXV, p);
    snprintf(p, sizeof p, "/proc/%d/cmdline", (int)crash->pid);
    put_proc_stream(&w, MD_LINUX_CMD_LINE, p);
    if (sk_is_file("/etc/lsb-release"))
        put_proc_stream(&w, MD_LINUX_LSB_RELEASE, "/etc/lsb-release");
    else
        put_proc_stream(&w, MD_LINUX_LSB_RELEASE, "/etc/os-release");

    hdr.signature = MD_HEADER_SIGNATURE;
    hdr.version = MD_HEADER_VERSION;
    hdr.stream_count = w.ndir;
    hdr.stream_directory_rva = dir_rva;
    hdr.time_date_stamp = (uint32_t)time(NULL);
    patch(&w, 0, &hdr, sizeof hdr);
    patch(&w, dir_rva, w.dir, w.ndir * sizeof w.dir[0]);

    rc = sk_write_file_atomic(path, w.b.data, w.b.len, err);
    if (stats) {
        stats->threads = nlive;
        stats->modules = nmods;
        stats->bytes = w.b.len;
    }
    sk_buf_free(&w.b);
    free(want_v);
    free(stack_lo);
    free(stack_hi);
    sv_modules_free(mods, nmods);
    sv_maps_free(&maps);
    close(mem_fd);
    return rc;
}
