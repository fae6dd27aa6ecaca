/* unwind_arm_common.c — frame-record unwinding shared by arm and arm64.
 *
 * Both keep the return address in a link register: a leaf function may
 * never store it, so for the context frame we must decide between "the
 * caller is in lr" (leaf) and "follow the frame record" (the lr is stale,
 * left by a call the function already made). */
#include "unwind_arm_common.h"

#include <string.h>

static bool same_function(const sw_walker *w, uint64_t a, uint64_t b)
{
    sw_module_view ma = w->find_module(w->ctx, a), mb = w->find_module(w->ctx, b);
    if (!ma.found || !mb.found || ma.base != mb.base || !ma.symbols)
        return false;
    sym_lookup la, lb;
    if (!sym_index_lookup(ma.symbols, a - ma.base, &la) || !sym_index_lookup(ma.symbols, b - mb.base, &lb))
        return false;
    return la.function_addr == lb.function_addr;
}

bool sw_arm_frame_record(const sw_walker *w, const sw_walk_frame *callee, bool first, sw_regs *caller)
{
    const sw_cpu *cpu = w->cpu;
    const sw_regs *r = &callee->regs;
    unsigned p = cpu->ptr_size;
    if (!sw_reg_ok(r, cpu->sp))
        return false;
    uint64_t sp = r->r[cpu->sp];
    bool rec_ok = false;
    uint64_t fp = 0, saved_fp = 0, saved_ra = 0;
    if (sw_reg_ok(r, cpu->fp)) {
        fp = r->r[cpu->fp];
        rec_ok = fp >= sp && fp % p == 0 && sw_read_word(w, fp, &saved_fp) && sw_read_word(w, fp + p, &saved_ra);
        if (w->address_mask)
            saved_ra &= w->address_mask;
    }
    bool use_record = rec_ok;
    if (first && sw_reg_ok(r, cpu->lr)) {
        uint64_t lr = r->r[cpu->lr];
        if (w->address_mask)
            lr &= w->address_mask;
        uint64_t pc = r->r[cpu->pc];
        bool leaf = !(rec_ok && saved_ra == lr) && lr >= 4096 &&
                    sw_plausible_code(w, lr - cpu->lookup_adjust) && !same_function(w, lr - cpu->lookup_adjust, pc);
        if (leaf) {
            memset(caller, 0, sizeof *caller);
            for (unsigned i = 0; i < cpu->nregs; i++)
                if ((cpu->callee_saved >> i & 1) && sw_reg_ok(r, (int)i))
                    sw_reg_set(caller, (int)i, r->r[i]);
            sw_reg_set(caller, cpu->pc, lr);
            sw_reg_set(caller, cpu->sp, sp);
            return true;
        }
    }
    if (!use_record)
        return false;
    memset(caller, 0, sizeof *caller);
    for (unsigned i = 0; i < cpu->nregs; i++)
        if ((cpu->callee_saved >> i & 1) && sw_reg_ok(r, (int)i))
            sw_reg_set(caller, (int)i, r->r[i]);
    sw_reg_set(caller, cpu->fp, saved_fp);
    sw_reg_set(caller, cpu->pc, saved_ra);
    sw_reg_set(caller, cpu->sp, fp + 2 * p);
    return true;
}
