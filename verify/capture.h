/*
 * Internal interface of the crash capture: the ptrace side hands a stopped
 * process (its threads' registers and the crash's siginfo) to the minidump
 * writer, which reads everything else from /proc itself.
 */
#ifndef SYMKIT_VERIFY_CAPTURE_H
#define SYMKIT_VERIFY_CAPTURE_H

#include <sys/types.h>
#include <sys/user.h>

#include "verify.h"

#include "minidump_format.h"

#if defined(__x86_64__)
typedef struct user_regs_struct sv_regs;
typedef struct user_fpregs_struct sv_fpregs;
#elif defined(__aarch64__)
typedef struct user_regs_struct sv_regs;
typedef struct user_fpsimd_struct sv_fpregs;
#else
typedef struct { uint64_t unused; } sv_regs;
typedef struct { uint64_t unused; } sv_fpregs;
#endif

typedef struct sv_thread_state {
    pid_t tid;
    bool regs_ok; /* false: the thread never stopped, leave it out */
    sv_regs regs;
    bool fp_ok;
    sv_fpregs fp;
    char name[32];
} sv_thread_state;

/* ---- CPU specifics (cpu.c) ---- */

bool sv_cpu_supported(void);
/* Reads a ptrace-stopped thread's registers into s; false when unreadable. */
bool sv_cpu_read(pid_t tid, sv_thread_state *s);
bool sv_cpu_is_32bit(const sv_thread_state *t);
uint64_t sv_cpu_sp(const sv_thread_state *t);
uint64_t sv_cpu_pc(const sv_thread_state *t);
/* Bytes below the stack pointer the ABI lets functions use. */
uint64_t sv_cpu_red_zone(const sv_thread_state *t);
/* The minidump CPU context of t into out; its size, 0 when cap is short. */
size_t sv_cpu_context(const sv_thread_state *t, void *out, size_t cap);
/* processor_architecture and the CPU fields of the system info. */
void sv_cpu_system_info(MDRawSystemInfo *si, bool x86_32);

typedef struct sv_crash_info {
    pid_t pid;
    pid_t tid;       /* crashing thread */
    int signo;
    int si_code;
    uint64_t addr;   /* fault address, 0 when the signal has none */
} sv_crash_info;

typedef struct sv_dump_stats {
    size_t threads, modules, bytes;
} sv_dump_stats;

/* ---- /proc helpers (proc.c) ---- */

/* A line of /proc/PID/maps. */
typedef struct sv_mapping {
    uint64_t start, end, offset, inode;
    char perms[5];
    const char *path; /* "" for anonymous mappings; points into the maps text */
} sv_mapping;

typedef struct sv_maps {
    char *text; /* the raw maps file, modified in place for path strings */
    size_t text_len;
    char *raw;  /* an unmodified copy, for the Linux maps stream */
    sv_mapping *v;
    size_t n;
} sv_maps;

int sv_read_maps(pid_t pid, sv_maps *maps, sk_error *err);
void sv_maps_free(sv_maps *maps);
/* The mapping containing addr, or NULL. */
const sv_mapping *sv_maps_find(const sv_maps *maps, uint64_t addr);

/* Reads a whole /proc-style file (size unknown up front). */
int sv_read_small_file(const char *path, sk_buf *out, sk_error *err);

/* A loaded module as the dump lists it. */
typedef struct sv_module {
    uint64_t base, size;
    char *name;          /* path as mapped ("linux-gate.so" for the vdso) */
    uint8_t id[64];      /* build-id (or .text hash when there is none) */
    size_t id_len;
} sv_module;

/* Groups file-backed mappings into modules (one per loaded file that has an
 * executable mapping, plus the vdso) and reads their build-ids: from the
 * mapped file itself (/proc/PID/map_files, then the path), else from the
 * process's memory.  mem_fd is an open /proc/PID/mem. */
int sv_collect_modules(pid_t pid, int mem_fd, const sv_maps *maps, sv_module **mods, size_t *nmods,
                       sk_error *err);
void sv_modules_free(sv_module *mods, size_t n);

/* The GNU build-id of an ELF image read through `read` (a file: offsets are
 * file offsets, in_memory false; a process: offsets are addresses and base
 * is the image's load address).  Falls back to the .text hash for files.
 * Returns false when no id can be found. */
typedef bool (*sv_read_fn)(void *ctx, uint64_t off, void *buf, size_t n);
bool sv_elf_build_id(sv_read_fn read, void *ctx, bool in_memory, uint64_t base, uint8_t *id,
                     size_t cap, size_t *len);
/* DT_SONAME of an ELF file read through `read` (file offsets); false when
 * it has none or it does not fit in cap. */
bool sv_elf_soname(sv_read_fn read, void *ctx, char *out, size_t cap);

/* ---- writer (minidump_writer.c) ---- */

int sv_write_minidump(const char *path, const sv_crash_info *crash, const sv_thread_state *threads,
                      size_t nthreads, size_t max_stack, sv_dump_stats *stats, sk_error *err);

#endif
