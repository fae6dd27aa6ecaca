/*
 * unwind.h — internal: CPU descriptions, register sets, and the shared
 * stack-walking loop.
 *
 * Like Breakpad's processor, each CPU has its own file (unwind_x86.c,
 * unwind_amd64.c, unwind_arm.c, unwind_arm64.c) describing its registers,
 * how to read its minidump context and how to unwind one frame by frame
 * pointer; the loop in unwind.c tries, per frame, STACK CFI, STACK WIN (when
 * the CPU has it), the frame pointer, then bounded stack scanning, and
 * enforces the stop rules (pc below 4096, stack pointer not increasing,
 * frame limit).  Postfix expressions of CFI and STACK WIN rules are
 * evaluated in postfix.c.
 */
#ifndef SYMKIT_STACKWALK_UNWIND_H
#define SYMKIT_STACKWALK_UNWIND_H

#include "minidump.h"
#include "symfile.h"

#define SW_MAX_REGS 40

typedef struct sw_regs {
    uint64_t r[SW_MAX_REGS];
    uint64_t valid; /* bit i: r[i] is known */
} sw_regs;

static inline bool sw_reg_ok(const sw_regs *s, int i) { return i >= 0 && (s->valid >> i & 1); }
static inline void sw_reg_set(sw_regs *s, int i, uint64_t v)
{
    s->r[i] = v;
    s->valid |= 1ull << i;
}

struct sw_walker;

typedef struct sw_walk_frame {
    sw_regs regs;
    sw_trust trust;
} sw_walk_frame;

typedef struct sw_cpu {
    const char *name; /* rust-minidump's cpu_arch: "x86", "amd64", "arm", "arm64" */
    unsigned ptr_size;
    unsigned nregs;
    const char *const *names; /* register names in reports, by number */
    int pc, sp, fp, lr;       /* register numbers; lr -1 when the CPU has none */
    uint64_t callee_saved;    /* registers a callee preserves (mask) */
    unsigned lookup_adjust;   /* return address to call-instruction offset */
    /* Register number for a name in a .sym rule ("$rsp", "x29", "sp"), or -1. */
    int (*reg_by_name)(const char *name, size_t len);
    /* Unwinds one frame with the frame pointer; false when it cannot. */
    bool (*frame_pointer)(const struct sw_walker *w, const sw_walk_frame *callee, bool first,
                          sw_regs *caller);
    /* Does the instruction before ret look like a call?  -1 unknown (code
     * not in the dump), 0 no, 1 yes. */
    int (*is_call_before)(const struct sw_walker *w, uint64_t ret);
    /* STACK WIN unwinding (x86 only); NULL elsewhere. */
    bool (*stack_win)(const struct sw_walker *w, const sw_walk_frame *callee, const sym_win_frame *win,
                      sw_regs *caller);
} sw_cpu;

extern const sw_cpu sw_cpu_x86, sw_cpu_amd64, sw_cpu_arm, sw_cpu_arm64;

/* What the walker needs to know about modules and their symbols. */
typedef struct sw_module_view {
    bool found;
    uint64_t base;
    sym_index *symbols; /* NULL when the module has none */
} sw_module_view;
typedef sw_module_view (*sw_find_module_fn)(void *ctx, uint64_t addr);

typedef struct sw_walker {
    const sw_cpu *cpu;
    const md_memory *memory;
    md_region stack;       /* the thread's own stack (data may be NULL) */
    sw_find_module_fn find_module;
    void *ctx;
    uint64_t address_mask; /* arm64: strips pointer-authentication bits */
    unsigned max_frames;
    bool have_modules;     /* the dump lists modules (so "outside every
                              module" means something) */
    sk_buf scratch;        /* CFI rule text */
} sw_walker;

/* Reads one pointer-sized word of process memory (thread stack first). */
/* The index of a register named s (n bytes, with or without '$') in a
 * table of names, or -1. */
int sw_reg_by_name(const char *const *names, unsigned nregs, const char *s, size_t n);
bool sw_read_word(const sw_walker *w, uint64_t addr, uint64_t *out);
bool sw_read_u32(const sw_walker *w, uint64_t addr, uint32_t *out);
/* Bytes of process memory if the dump has them. */
const uint8_t *sw_read_bytes(const sw_walker *w, uint64_t addr, uint64_t n);

/* True when addr may be a return address: inside a module and, when that
 * module has symbols, inside a known function. */
bool sw_plausible_code(const sw_walker *w, uint64_t addr);

/* Walks from the context registers; frames are malloc'd (free them). */
void sw_walk(sw_walker *w, const sw_regs *context, sw_walk_frame **frames, size_t *nframes);

/* Parses a thread context for the dump's CPU.  Picks the CPU from the system
 * info architecture, or from the context's flags and size when that is
 * missing.  False when the context is unusable. */
bool sw_read_context(uint16_t arch, const uint8_t *ctx, size_t size, const sw_cpu **cpu, sw_regs *regs);
const sw_cpu *sw_cpu_for_arch(uint16_t arch);

/* ---- postfix.c ---- */

/* Variable resolution for postfix programs. */
typedef struct sw_pf_env {
    const sw_walker *w;
    const sw_regs *regs;   /* callee registers, by the CPU's names */
    bool have_cfa;
    uint64_t cfa;
    /* extra named values (STACK WIN: $T0, .raSearchStart, ...) */
    struct { char name[24]; uint64_t v; } vars[32];
    int nvars;
} sw_pf_env;

/* Evaluates one expression; false on any error (unknown name, bad token,
 * unreadable memory, stack misuse, division by zero). */
bool sw_pf_eval(sw_pf_env *env, const char *expr, size_t len, uint64_t *out);
/* Runs a STACK WIN program of assignments ("$T0 $ebp = $eip $T0 4 + ^ =");
 * assigned values land in env->vars. */
bool sw_pf_run(sw_pf_env *env, const char *prog, size_t len);
bool sw_pf_get(const sw_pf_env *env, const char *name, uint64_t *out);
void sw_pf_set(sw_pf_env *env, const char *name, size_t len, uint64_t v);

/* Applies STACK CFI rules to unwind one frame. */
bool sw_cfi_unwind(const sw_walker *w, const char *rules, const sw_regs *callee, sw_regs *caller);

#endif
