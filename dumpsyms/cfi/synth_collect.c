/*
 * synth_collect.c — which functions get synthesized STACK CFI, and the
 * records for them.
 *
 * Function bounds come from the symbol tables (the debug file's .symtab,
 * the binary's .symtab and .dynsym), from DWARF FUNC records already in the
 * module, and from the code itself: a direct call or an outward jump from
 * an analysed function to an address no symbol names starts a function
 * that runs to the next known start (static functions of a stripped
 * library, like musl's qsort helpers, are found this way).  A hook for
 * Mach-O's LC_FUNCTION_STARTS: any container that knows function starts
 * adds them to the same list (ds_synth_fn below) with size 0.
 *
 * Skipped: functions any FDE or EXIDX entry touches (the compiler's CFI is
 * exact; ours is a fallback), the ELF entry point (its "return address" is
 * argc), cold parts ("foo.cold": entered in mid-frame from foo, analysed
 * as extra ranges of foo instead), and DWARF-only functions whose name
 * another range shares (we cannot tell which range is the entry).
 */
#include <stdlib.h>
#include <string.h>

#include "cfi_int.h"
#include "synth.h"

#define MAX_DISCOVERY_ROUNDS 16
#define MAX_UNSIZED_SPAN (1u << 20)

typedef struct ds_synth_fn {
    uint64_t addr, size; /* absolute; size 0: up to the next known start */
    const char *name;    /* may be NULL */
    bool thumb;
    bool dwarf_only;
    bool cold;           /* a cold part: added to its parent, not run alone */
    bool done;
    int ncold;
    ds_synth_range cold_ranges[4];
} ds_synth_fn;

typedef struct fn_list {
    ds_synth_fn *v;
    size_t n, cap;
} fn_list;

typedef struct code_sec {
    uint64_t addr;
    const uint8_t *data;
    size_t size;
} code_sec;

static void fn_add(fn_list *l, uint64_t addr, uint64_t size, const char *name, bool thumb, bool dwarf)
{
    sk_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v);
    ds_synth_fn *f = &l->v[l->n++];
    memset(f, 0, sizeof *f);
    f->addr = addr;
    f->size = size;
    f->name = name;
    f->thumb = thumb;
    f->dwarf_only = dwarf;
}

static bool is_cold_name(const char *n)
{
    return n && (strstr(n, ".cold") != NULL);
}

typedef struct scan_arg {
    bool arm;
    fn_list *out;
} scan_arg;

static int add_symbol(void *arg_, const ds_symbol *sym)
{
    scan_arg *arg = arg_;
    if (sym->type != DS_SYM_FUNC && sym->type != DS_SYM_IFUNC)
        return 0;
    if (!sym->section)
        return 0; /* undefined, absolute or common */
    fn_add(arg->out, sym->value & ~(uint64_t)(arg->arm ? 1 : 0), sym->size, sym->name, sym->thumb, false);
    return 0;
}

/* The function symbols of one table; an unreadable one adds nothing (the
 * PUBLIC reader has said so already). */
static void scan_symbols(ds_object *obj, ds_symtab_which which, bool arm, fn_list *out)
{
    scan_arg arg = {arm, out};
    ds_object_symbols(obj, which, add_symbol, &arg, NULL);
}

static int cmp_fn_addr(const void *a, const void *b)
{
    const ds_synth_fn *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    /* Symbols before DWARF records, then the larger size, then the name. */
    if (x->dwarf_only != y->dwarf_only)
        return x->dwarf_only ? 1 : -1;
    if (x->size != y->size)
        return x->size > y->size ? -1 : 1;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static const code_sec *code_for(const code_sec *cs, size_t n, uint64_t addr)
{
    for (size_t i = 0; i < n; i++)
        if (addr >= cs[i].addr && addr - cs[i].addr < cs[i].size)
            return &cs[i];
    return NULL;
}

/* First start strictly above addr, or UINT64_MAX. */
static uint64_t next_start(const uint64_t *starts, size_t n, uint64_t addr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (starts[mid] <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n ? starts[lo] : UINT64_MAX;
}

typedef struct synth_run {
    ds_context *ctx;
    const ds_cfi_ranges *covered;
    bool everywhere;
    const code_sec *code;
    size_t ncode;
    ds_synth *an[2];    /* [1]: Thumb on 32-bit ARM */
    ds_synth_names names;
    ds_synth_result res;
    ds_cfi_out *out;
    sk_buf line;
    uint64_t *starts;        /* sorted up to nsorted, then appended */
    size_t nstarts, nsorted, starts_cap;
    /* results */
    size_t functions, inits, rows_given, insns_seen, insns_covered;
} synth_run;

static void put_alt(synth_run *r, const ds_synth_row *row)
{
    sk_buf_puts(&r->line, " .cfa_alt: ");
    size_t before = r->line.len;
    ds_synth_format_alt(&r->names, row, &r->line);
    if (r->line.len == before)
        sk_buf_puts(&r->line, "none");
}

static void add_start(synth_run *r, uint64_t a)
{
    sk_grow((void **)&r->starts, &r->starts_cap, r->nstarts + 1, sizeof *r->starts);
    r->starts[r->nstarts++] = a;
}

static void emit(synth_run *r, uint64_t load)
{
    for (size_t i = 0; i < r->res.ninits; i++) {
        const ds_synth_init *it = &r->res.inits[i];
        const ds_synth_row *rows = &r->res.rows[it->first_row];
        sk_buf_reset(&r->line);
        if (!ds_synth_format(&r->names, NULL, &rows[0], &r->line))
            continue;
        if (r->everywhere)
            put_alt(r, &rows[0]);
        ds_cfi_entry *e = ds_cfi_out_entry(r->out, it->addr - load, r->line.data);
        e->size = it->size;
        for (size_t k = 1; k < it->nrows; k++) {
            sk_buf_reset(&r->line);
            /* The testing mode writes every row whole, with the other CFA
             * rule the state knows, so a test can accept either base. */
            if (!ds_synth_format(&r->names, r->everywhere ? NULL : &rows[k - 1], &rows[k], &r->line))
                break; /* cannot happen for names the INIT had; stay safe */
            if (r->everywhere)
                put_alt(r, &rows[k]);
            if (r->line.len)
                ds_cfi_out_row(r->out, rows[k].addr - load, r->line.data);
        }
        r->inits++;
    }
    r->rows_given += r->res.nrows;
}

/* Runs the analysis on f; exits (call targets, outward jumps) that start
 * no known function are appended to found. */
static void run_one(synth_run *r, ds_synth_fn *f, uint64_t entry_addr, fn_list *found, bool final)
{
    const code_sec *cs = code_for(r->code, r->ncode, f->addr);
    if (!cs)
        return;
    uint64_t size = f->size;
    uint64_t sec_end = cs->addr + cs->size;
    if (!size) {
        uint64_t nx = next_start(r->starts, r->nstarts, f->addr);
        size = (nx < sec_end ? nx : sec_end) - f->addr;
        if (size > MAX_UNSIZED_SPAN)
            size = MAX_UNSIZED_SPAN;
    }
    if (size > sec_end - f->addr)
        size = sec_end - f->addr;
    if (!size)
        return;
    if (!r->everywhere && ds_cfi_ranges_overlap(r->covered, f->addr, size))
        return;
    if (f->addr == entry_addr)
        return;
    ds_synth_range ranges[5];
    size_t nr = 0;
    ranges[nr++] = (ds_synth_range){f->addr, size};
    for (int i = 0; i < f->ncold; i++) {
        const ds_synth_range *c = &f->cold_ranges[i];
        const code_sec *ccs = code_for(r->code, r->ncode, c->addr);
        if (ccs != cs || c->size > cs->addr + cs->size - c->addr)
            continue; /* one code buffer per analysis */
        if (!r->everywhere && ds_cfi_ranges_overlap(r->covered, c->addr, c->size))
            continue;
        ranges[nr++] = *c;
    }
    ds_synth_input in = {
        .code = cs->data, .code_addr = cs->addr, .code_size = cs->size,
        .ranges = ranges, .nranges = nr,
    };
    ds_synth *an = r->an[f->thumb && r->an[1] ? 1 : 0];
    bool any = ds_synth_function(an, &in, &r->res);
    if (final) {
        r->insns_seen += r->res.ninsns;
        r->insns_covered += r->res.nrows;
        if (any) {
            r->functions++;
            emit(r, r->ctx->load_addr);
        }
        return;
    }
    for (size_t i = 0; i < r->res.nexits; i++) {
        uint64_t t = r->res.exits[i].addr;
        if (f->thumb)
            t &= ~(uint64_t)1;
        if (!code_for(r->code, r->ncode, t))
            continue;
        if (r->res.exits[i].entry)
            fn_add(found, t, 0, NULL, f->thumb, false);
        else
            add_start(r, t); /* a cold part: it bounds its neighbours */
    }
}


/* v[0..old) is sorted; sorts v[old..n) and merges it in, from the back.
 * The same order as sorting all of it for keys that are distinct or
 * identical values, without the n log n of re-sorting a long list each
 * discovery round for the few entries the round added. */
static void merge_sorted(void *v_, size_t old, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    char *v = v_;
    size_t m = n - old;
    if (!m)
        return;
    char *t = sk_xmalloc(m * size);
    memcpy(t, v + old * size, m * size);
    if (m > 1) /* (qsort wants a real array even for none) */
        qsort(t, m, size, cmp);
    size_t i = old, j = m, k = n;
    while (j) {
        if (i && cmp(v + (i - 1) * size, t + (j - 1) * size) > 0)
            memcpy(v + --k * size, v + --i * size, size);
        else
            memcpy(v + --k * size, t + --j * size, size);
    }
    free(t);
}

static void sort_starts(synth_run *r)
{
    merge_sorted(r->starts, r->nsorted, r->nstarts, sizeof *r->starts, cmp_u64);
    size_t k = 0;
    for (size_t i = 0; i < r->nstarts; i++)
        if (!k || r->starts[k - 1] != r->starts[i])
            r->starts[k++] = r->starts[i];
    r->nstarts = r->nsorted = k;
}

/* Is addr inside (not at the start of) one of the sized functions? */
static bool inside_known(const fn_list *l, uint64_t addr)
{
    size_t lo = 0, hi = l->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->v[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    /* Look back over a few neighbours: sizes differ, so the nearest start
     * below is not always the one that covers. */
    for (size_t k = lo, steps = 0; k > 0 && steps < 8; k--, steps++) {
        const ds_synth_fn *f = &l->v[k - 1];
        if (f->addr == addr)
            return true;
        if (f->size && addr - f->addr < f->size)
            return true;
    }
    return false;
}

static int cmp_name(const void *a, const void *b)
{
    const ds_synth_fn *const *x = a, *const *y = b;
    int c = strcmp((*x)->name, (*y)->name);
    if (c)
        return c;
    return (*x)->addr < (*y)->addr ? -1 : (*x)->addr > (*y)->addr;
}

/* The named functions by name, then address: sorted once for both users
 * below (addresses are distinct, so any subset keeps its sorted order). */
static ds_synth_fn **sort_by_name(fn_list *l, size_t *nn)
{
    ds_synth_fn **by_name = sk_xcalloc(l->n ? l->n : 1, sizeof *by_name);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].name)
            by_name[n++] = &l->v[i];
    if (n > 1)
        qsort(by_name, n, sizeof *by_name, cmp_name);
    *nn = n;
    return by_name;
}

/* Cold parts: "foo.cold" / "foo.cold.3" become extra ranges of "foo". */
static void attach_cold(fn_list *l, ds_synth_fn *const *named, size_t nnamed)
{
    size_t nn = 0;
    ds_synth_fn **by_name = sk_xcalloc(nnamed ? nnamed : 1, sizeof *by_name);
    for (size_t i = 0; i < nnamed; i++)
        if (!is_cold_name(named[i]->name))
            by_name[nn++] = named[i];
    for (size_t i = 0; i < l->n; i++) {
        ds_synth_fn *c = &l->v[i];
        if (!is_cold_name(c->name))
            continue;
        c->cold = true;
        size_t plen = (size_t)(strstr(c->name, ".cold") - c->name);
        char *parent = sk_xstrndup(c->name, plen);
        /* The first entry with the name (cmp_name orders by address too). */
        size_t lo = 0, hi = nn;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (strcmp(by_name[mid]->name, parent) < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < nn && strcmp(by_name[lo]->name, parent) == 0 && c->size &&
            (lo + 1 >= nn || strcmp(by_name[lo + 1]->name, parent) != 0)) {
            ds_synth_fn *p = by_name[lo];
            if (p->ncold < 4)
                p->cold_ranges[p->ncold++] = (ds_synth_range){c->addr, c->size};
        }
        free(parent);
    }
    free(by_name);
}

/* DWARF-only functions sharing a name with another range: no entry known. */
static void drop_ambiguous_dwarf(ds_synth_fn *const *by_name, size_t nn)
{
    for (size_t i = 0; i + 1 < nn; i++)
        if (strcmp(by_name[i]->name, by_name[i + 1]->name) == 0) {
            if (by_name[i]->dwarf_only)
                by_name[i]->cold = true;
            if (by_name[i + 1]->dwarf_only)
                by_name[i + 1]->cold = true;
        }
}

int ds_collect_synth_cfi(ds_context *ctx, const ds_cfi_ranges *covered, bool everywhere, ds_cfi_out *out,
                         size_t *nfunctions)
{
    *nfunctions = 0;
    ds_object *bin = ctx->bin;
    da_arch arch;
    bool arm = false;
    switch (bin->cpu) {
    case DS_CPU_X86_64: arch = DA_ARCH_AMD64; break;
    case DS_CPU_X86: arch = DA_ARCH_X86; break;
    case DS_CPU_ARM64: arch = DA_ARCH_ARM64; break;
    case DS_CPU_ARM: arch = DA_ARCH_ARM; arm = true; break;
    default: return SK_OK; /* nothing we can analyse: not an error */
    }
    if (!bin->little_endian || bin->kind == DS_FILE_RELOC)
        return SK_OK;
    const ds_cfi_arch *names = ds_cfi_arch_for(bin->cpu);
    if (!names)
        return SK_OK;

    synth_run r = {.ctx = ctx, .covered = covered, .everywhere = everywhere, .out = out};
    ds_synth_names_init(&r.names, names->names, names->nnames);
    sk_error err;
    if (ds_synth_open(arch, &r.an[0], &err) != SK_OK) {
        sk_log(SK_LOG_WARN, "%s: no synthesized STACK CFI: %s", bin->path, err.msg);
        return SK_OK;
    }
    if (arm && ds_synth_open(DA_ARCH_THUMB, &r.an[1], &err) != SK_OK)
        r.an[1] = NULL;
    /* The section buffers below live until the end: decode each instruction
     * once for all rounds. */
    ds_synth_keep_decoded(r.an[0]);
    if (r.an[1])
        ds_synth_keep_decoded(r.an[1]);
    ds_synth_result_init(&r.res);
    sk_buf_init(&r.line);

    /* The code: the binary's executable sections, as they are in the file. */
    code_sec *code = NULL;
    size_t ncode = 0, code_cap = 0;
    for (size_t i = 1; i < bin->nsections; i++) {
        ds_section *sec = &bin->sections[i];
        if (!(sec->flags & DS_SEC_ALLOC) || !(sec->flags & DS_SEC_EXEC) || (sec->flags & DS_SEC_NOBITS) ||
            !sec->size)
            continue;
        const uint8_t *data;
        size_t size;
        sk_error e2;
        if (ds_section_data(bin, sec, &data, &size, &e2) != SK_OK)
            continue;
        sk_grow((void **)&code, &code_cap, ncode + 1, sizeof *code);
        code[ncode++] = (code_sec){sec->addr, data, size};
    }
    r.code = code;
    r.ncode = ncode;

    uint64_t entry = UINT64_MAX;
    if (bin->has_entry)
        entry = bin->entry & ~(uint64_t)(arm ? 1 : 0);

    /* Every function we know of. */
    fn_list fns = {0};
    if (ctx->dbg && ctx->dbg != bin)
        scan_symbols(ctx->dbg, DS_SYMTAB_STATIC, arm, &fns);
    scan_symbols(bin, DS_SYMTAB_STATIC, arm, &fns);
    scan_symbols(bin, DS_SYMTAB_DYNAMIC, arm, &fns);
    if (ctx->m)
        for (size_t i = 0; i < ctx->m->nfuncs; i++) {
            const sym_func *sf = &ctx->m->funcs[i];
            fn_add(&fns, sf->addr + ctx->load_addr, sf->size, sf->name, false, true);
        }
    if (fns.n > 1)
        qsort(fns.v, fns.n, sizeof *fns.v, cmp_fn_addr);
    /* One entry per address: the first after sorting (a symbol if any; a
     * cold name anywhere at the address makes it cold). */
    size_t k = 0;
    for (size_t i = 0; i < fns.n; i++) {
        if (k && fns.v[k - 1].addr == fns.v[i].addr) {
            if (is_cold_name(fns.v[i].name) && !is_cold_name(fns.v[k - 1].name))
                fns.v[k - 1].name = fns.v[i].name;
            if (!fns.v[i].dwarf_only)
                fns.v[k - 1].dwarf_only = false;
            continue;
        }
        fns.v[k++] = fns.v[i];
    }
    fns.n = k;
    size_t nnamed;
    ds_synth_fn **named = sort_by_name(&fns, &nnamed);
    attach_cold(&fns, named, nnamed);
    drop_ambiguous_dwarf(named, nnamed);
    free(named);

    for (size_t i = 0; i < fns.n; i++)
        add_start(&r, fns.v[i].addr);
    for (size_t i = 0; i < covered->n; i++)
        add_start(&r, covered->r[i].addr);
    for (size_t i = 0; i < ncode; i++)
        add_start(&r, code[i].addr + code[i].size);
    sort_starts(&r);

    fn_list found = {0};
    for (int round = 0; round < MAX_DISCOVERY_ROUNDS; round++) {
        found.n = 0;
        for (size_t i = 0; i < fns.n; i++) {
            ds_synth_fn *f = &fns.v[i];
            if (f->done || f->cold)
                continue;
            f->done = true;
            run_one(&r, f, entry, &found, false);
        }
        size_t nstarts_before = r.nstarts;
        /* New entries: not a known start, not inside a known function. */
        if (found.n > 1)
            qsort(found.v, found.n, sizeof *found.v, cmp_fn_addr);
        size_t added = 0, before = fns.n;
        for (size_t i = 0; i < found.n; i++) {
            if (i && found.v[i].addr == found.v[i - 1].addr)
                continue;
            uint64_t a = found.v[i].addr;
            size_t lo = 0, hi = r.nstarts;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (r.starts[mid] < a)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo < r.nstarts && r.starts[lo] == a)
                continue;
            if (inside_known(&fns, a) || ds_cfi_ranges_overlap(covered, a, 1))
                continue;
            fn_add(&fns, a, 0, NULL, found.v[i].thumb, false);
            added++;
        }
        for (size_t i = before; i < fns.n; i++)
            add_start(&r, fns.v[i].addr);
        sort_starts(&r);
        /* The added entries are at addresses no entry has. */
        merge_sorted(fns.v, before, fns.n, sizeof *fns.v, cmp_fn_addr);
        if (!added && r.nstarts == nstarts_before)
            break;
    }
    /* Now that every start is known, the rows: a function without a size
     * ends at the next start, so code the discovery found after a call
     * that never returns is not taken for the caller's. */
    for (size_t i = 0; i < fns.n; i++)
        if (!fns.v[i].cold)
            run_one(&r, &fns.v[i], entry, NULL, true);

    *nfunctions = r.functions;
    sk_log(SK_LOG_INFO,
           "%s: STACK CFI: synthesized for %zu functions without compiler CFI (%zu INIT records, %zu of %zu "
           "instructions reached)",
           bin->path, r.functions, r.inits, r.insns_covered, r.insns_seen);
    free(found.v);
    free(fns.v);
    free(code);
    free(r.starts);
    sk_buf_free(&r.line);
    ds_synth_result_free(&r.res);
    ds_synth_close(r.an[0]);
    ds_synth_close(r.an[1]);
    return SK_OK;
}
