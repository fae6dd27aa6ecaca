/*
 * symverify check: walk minidumps against a symbol store and measure how
 * readable the stacks are, then gate on expectations, a baseline report and
 * thresholds.  The walking is stackwalk's; this file only counts what the
 * walk found and compares.
 *
 * Metric names are shared by the human and JSON outputs and by the
 * baseline comparison (docs/symverify.md lists them).
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "expect.h"
#include "json.h"
#include "json_read.h"
#include "stackwalk.h"
#include "verify.h"

void sv_check_options_init(sv_check_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->min_cfi = opt->min_symbolicated = opt->min_lines = -1;
    opt->max_scanned = opt->max_missing = -1;
}


static void failure(sv_check_report *rep, const char *fmt, ...) SK_PRINTF(2, 3);
static void failure(sv_check_report *rep, const char *fmt, ...)
{
    sk_buf b;
    sk_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    sk_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    sk_grow((void **)&rep->failures.v, &rep->failures.cap, rep->failures.n + 1, sizeof(char *));
    rep->failures.v[rep->failures.n++] = b.data ? b.data : sk_xstrdup("");
}

/* ---- measuring one report ---- */

static void count_frame(sv_frame_counts *c, const sw_frame *f)
{
    c->frames++;
    switch (f->trust) {
    case SW_TRUST_CONTEXT: c->context++; break;
    case SW_TRUST_PREWALKED: c->prewalked++; break;
    case SW_TRUST_CFI: c->cfi++; break;
    case SW_TRUST_FRAME_POINTER: c->frame_pointer++; break;
    case SW_TRUST_CFI_SCAN: c->cfi_scan++; break;
    case SW_TRUST_SCAN: c->scan++; break;
    default: break;
    }
    if (f->function || f->ninlines)
        c->with_function++;
    if ((f->file && f->line) || (f->ninlines && f->inlines[0].file && f->inlines[0].line))
        c->with_line++;
}

static void add_counts(sv_frame_counts *to, const sv_frame_counts *c)
{
    to->frames += c->frames;
    to->context += c->context;
    to->prewalked += c->prewalked;
    to->cfi += c->cfi;
    to->frame_pointer += c->frame_pointer;
    to->cfi_scan += c->cfi_scan;
    to->scan += c->scan;
    to->with_function += c->with_function;
    to->with_line += c->with_line;
}

static const char *module_label(const sw_module *m)
{
    if (m->filename && *m->filename)
        return m->filename;
    return m->code_file ? m->code_file : "?";
}

/* Symbols for this module under another debug id in a local store: the
 * classic "rebuilt but not re-dumped" mismatch. */
static bool find_other_id(const char *store, const sw_module *m, char *other, size_t cap)
{
    if (!m->debug_file || !m->debug_id || !sk_is_dir(store))
        return false;
    if (!sk_is_safe_path_component(m->debug_file))
        return false;
    char *dir = sk_path_join(store, m->debug_file);
    DIR *d = opendir(dir);
    bool found = false;
    if (d) {
        struct dirent *de;
        while (!found && (de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.' || strcmp(de->d_name, m->debug_id) == 0)
                continue;
            snprintf(other, cap, "%s", de->d_name);
            found = true;
        }
        closedir(d);
    }
    free(dir);
    return found;
}

static void measure(const sv_check_options *opt, const sw_report *r, sv_dump_metrics *dm)
{
    dm->threads = r->nthreads;
    dm->crash_type = r->crash_type ? sk_xstrdup(r->crash_type) : NULL;
    dm->crash_address = r->crash_address;
    bool *used = sk_xcalloc(r->nmodules + 1, 1);
    for (size_t t = 0; t < r->nthreads; t++) {
        const sw_thread *th = &r->threads[t];
        bool crashed = (int)t == r->crashing_thread;
        bool scanned = false;
        for (size_t i = 0; i < th->nframes; i++) {
            const sw_frame *f = &th->frames[i];
            count_frame(&dm->all, f);
            if (crashed) {
                count_frame(&dm->crashing, f);
                if (f->trust == SW_TRUST_SCAN || f->trust == SW_TRUST_CFI_SCAN)
                    scanned = true;
                if (!scanned)
                    dm->frames_before_scan++;
            }
            if (f->module >= 0 && (size_t)f->module < r->nmodules)
                used[f->module] = true;
        }
    }
    for (size_t i = 0; i < r->nmodules; i++) {
        if (!used[i])
            continue;
        const sw_module *m = &r->modules[i];
        const char *label = module_label(m);
        sv_names_add(&dm->on_stack, label);
        if (m->corrupt_symbols)
            sv_names_add(&dm->corrupt, label);
        if (m->loaded_symbols)
            continue;
        char other[320];
        bool mism = false;
        for (size_t k = 0; k < opt->nsymbol_paths && !mism; k++) {
            if (find_other_id(opt->symbol_paths[k], m, other, sizeof other)) {
                char *s = NULL;
                size_t n = strlen(label) + strlen(other) + (m->debug_id ? strlen(m->debug_id) : 0) + 64;
                s = sk_xmalloc(n);
                snprintf(s, n, "%s (dump has %s, store has %s)", label, m->debug_id, other);
                sv_names_add(&dm->mismatched, s);
                free(s);
                mism = true;
            }
        }
        if (!mism)
            sv_names_add(&dm->missing, label);
    }
    free(used);
}

/* ---- thresholds and baseline ---- */

static double share(size_t part, size_t whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

static double cfi_share(const sv_frame_counts *c)
{
    /* each thread's frame 0 comes from its context: CFI can only find callers */
    size_t callers = c->frames - c->context;
    return callers ? (double)c->cfi / (double)callers : 0.0;
}

static void thresholds(const sv_check_options *opt, const sv_dump_metrics *d, sv_check_report *rep)
{
    const sv_frame_counts *c = &d->crashing;
    if (opt->min_cfi >= 0 && cfi_share(c) + 1e-9 < opt->min_cfi)
        failure(rep, "%s: cfi_share %.2f is below --min-cfi %.2f (%zu of %zu caller frames by CFI)",
                d->name, cfi_share(c), opt->min_cfi, c->cfi, c->frames - c->context);
    if (opt->min_symbolicated >= 0 && share(c->with_function, c->frames) + 1e-9 < opt->min_symbolicated)
        failure(rep, "%s: symbolicated_share %.2f is below --min-symbolicated %.2f (%zu of %zu frames with a function)",
                d->name, share(c->with_function, c->frames), opt->min_symbolicated, c->with_function,
                c->frames);
    if (opt->min_lines >= 0 && share(c->with_line, c->frames) + 1e-9 < opt->min_lines)
        failure(rep, "%s: line_share %.2f is below --min-lines %.2f (%zu of %zu frames with file:line)",
                d->name, share(c->with_line, c->frames), opt->min_lines, c->with_line, c->frames);
    if (opt->max_scanned >= 0 && (long)(c->scan + c->cfi_scan) > opt->max_scanned)
        failure(rep, "%s: %zu scanned frames in the crashing thread, --max-scanned is %ld", d->name,
                c->scan + c->cfi_scan, opt->max_scanned);
    if (opt->max_missing >= 0 && (long)(d->missing.n + d->mismatched.n) > opt->max_missing)
        failure(rep, "%s: %zu modules on the stack without symbols, --max-missing is %ld", d->name,
                d->missing.n + d->mismatched.n, opt->max_missing);
}

/* One metric of the baseline against now.  higher_is_better says which
 * direction is a regression. */
static void compare(sv_check_report *rep, const char *dump, const char *metric, double was,
                    double now, bool higher_is_better)
{
    if (was < 0)
        return; /* absent from the baseline */
    bool worse = higher_is_better ? now + 1e-9 < was : now > was + 1e-9;
    if (!worse)
        return;
    const char *hint = "";
    if (strstr(metric, "trust.cfi") && !strstr(metric, "cfi_scan"))
        hint = " (fewer frames found by CFI: STACK CFI records lost?)";
    else if (strstr(metric, "with_line"))
        hint = " (fewer frames with file:line: line records lost?)";
    else if (strstr(metric, "with_function"))
        hint = " (fewer frames with a function: FUNC/PUBLIC records lost?)";
    else if (strstr(metric, "scan"))
        hint = " (more frames found by stack scanning)";
    else if (strstr(metric, "missing") || strstr(metric, "mismatched"))
        hint = " (more modules on the stack without symbols)";
    failure(rep, "regression: %s: %s %g -> %g%s", dump, metric, was, now, hint);
}

static void compare_counts(sv_check_report *rep, const char *dump, const char *prefix,
                           const sv_jval *b, const sv_frame_counts *c, bool crashing)
{
    const sv_jval *trust = sv_jget(b, "trust");
    char m[96];
#define CMP(name, value, better)                                       \
    do {                                                               \
        snprintf(m, sizeof m, "%s.%s", prefix, name);                  \
        compare(rep, dump, m, sv_jnum(b, name, -1), (double)(value), better); \
    } while (0)
#define CMPT(name, value, better)                                      \
    do {                                                               \
        snprintf(m, sizeof m, "%s.trust.%s", prefix, name);            \
        compare(rep, dump, m, sv_jnum(trust, name, -1), (double)(value), better); \
    } while (0)
    CMP("frames", c->frames, true);
    CMP("with_function", c->with_function, true);
    CMP("with_line", c->with_line, true);
    CMPT("cfi", c->cfi, true);
    if (crashing) {
        CMPT("scan", c->scan, false);
        CMPT("cfi_scan", c->cfi_scan, false);
    }
#undef CMP
#undef CMPT
}

static void compare_dump(sv_check_report *rep, const sv_jval *b, const sv_dump_metrics *d)
{
    compare_counts(rep, d->name, "crashing_thread", sv_jget(b, "crashing_thread"), &d->crashing, true);
    compare_counts(rep, d->name, "all_threads", sv_jget(b, "all_threads"), &d->all, false);
    compare(rep, d->name, "crashing_thread.frames_before_scan",
            sv_jnum(sv_jget(b, "crashing_thread"), "frames_before_scan", -1),
            (double)d->frames_before_scan, true);
    const sv_jval *miss = sv_jget(b, "modules_missing_symbols");
    if (miss && miss->type == SVJ_ARR)
        compare(rep, d->name, "modules_missing_symbols", (double)miss->n, (double)d->missing.n, false);
    const sv_jval *mism = sv_jget(b, "modules_mismatched_symbols");
    if (mism && mism->type == SVJ_ARR)
        compare(rep, d->name, "modules_mismatched_symbols", (double)mism->n, (double)d->mismatched.n,
                false);
    /* an expectation that held before must hold now */
    const sv_jval *ex = sv_jget(b, "expect");
    for (size_t i = 0; ex && ex->type == SVJ_ARR && i < ex->n; i++) {
        const sv_jval *chain = sv_jget(&ex->items[i], "chain");
        const sv_jval *passed = sv_jget(&ex->items[i], "passed");
        if (!chain || chain->type != SVJ_STR || !passed || passed->type != SVJ_BOOL || !passed->b)
            continue;
        for (size_t k = 0; k < d->nchains; k++)
            if (strcmp(d->chains[k].chain, chain->str) == 0 && !d->chains[k].passed)
                failure(rep, "regression: %s: expected chain no longer found: %s", d->name, chain->str);
    }
}

static int apply_baseline(const char *path, sv_check_report *rep, sk_error *err)
{
    char *text;
    size_t len;
    int rc = sk_read_file(path, &text, &len, err);
    if (rc)
        return rc;
    sv_jval root;
    rc = sv_jparse(text, len, &root, err);
    free(text);
    if (rc) {
        sk_error_prefix(err, "%s", path);
        return rc;
    }
    const sv_jval *dumps = sv_jget(&root, "dumps");
    if (!dumps || dumps->type != SVJ_ARR) {
        sv_jfree(&root);
        return sk_fail(err, SK_EFORMAT, "%s: not a symverify check report (no \"dumps\" array)", path);
    }
    for (size_t i = 0; i < rep->ndumps; i++) {
        const sv_dump_metrics *d = &rep->dumps[i];
        const sv_jval *match = NULL;
        for (size_t k = 0; k < dumps->n && !match; k++) {
            const sv_jval *name = sv_jget(&dumps->items[k], "name");
            if (name && name->type == SVJ_STR && strcmp(name->str, d->name) == 0)
                match = &dumps->items[k];
        }
        if (match)
            compare_dump(rep, match, d);
    }
    sv_jfree(&root);
    return SK_OK;
}

/* ---- driver ---- */

int sv_check(const sv_check_options *opt, const char *const *dumps, size_t ndumps,
             sv_check_report *rep, sk_error *err)
{
    memset(rep, 0, sizeof *rep);
    /* a mistyped store would pass a run without thresholds with every
     * module "missing": refuse it up front */
    for (size_t i = 0; i < opt->nsymbol_paths; i++)
        if (!sk_is_dir(opt->symbol_paths[i]) && !sk_is_file(opt->symbol_paths[i]))
            return sk_fail(err, SK_ENOTFOUND, "%s: no such symbol store or .sym file",
                           opt->symbol_paths[i]);
    sv_expect *exp = NULL;
    if (opt->expect_path) {
        int rc = sv_expect_load(opt->expect_path, &exp, err);
        if (rc)
            return rc;
    }
    sw_options so;
    memset(&so, 0, sizeof so);
    so.symbol_paths = opt->symbol_paths;
    so.nsymbol_paths = opt->nsymbol_paths;
    so.symbol_urls = opt->symbol_urls;
    so.nsymbol_urls = opt->nsymbol_urls;
    so.symbols_cache = opt->symbols_cache;
    so.debuginfod = opt->debuginfod;
    so.debuginfod_urls = opt->debuginfod_urls;
    so.ndebuginfod_urls = opt->ndebuginfod_urls;
    so.http_timeout = opt->download_timeout_secs;

    rep->dumps = sk_xcalloc(ndumps + 1, sizeof *rep->dumps);
    int rc = SK_OK;
    for (size_t i = 0; i < ndumps && rc == SK_OK; i++) {
        sv_dump_metrics *dm = &rep->dumps[rep->ndumps++];
        dm->path = sk_xstrdup(dumps[i]);
        dm->name = sk_xstrdup(sk_basename(dumps[i]));
        sw_minidump *md = NULL;
        rc = sw_minidump_open(dumps[i], &md, err);
        if (rc)
            break;
        sw_report *r = NULL;
        rc = sw_process(md, &so, &r, err);
        if (rc) {
            sk_error_prefix(err, "%s", dumps[i]);
            sw_minidump_close(md);
            break;
        }
        measure(opt, r, dm);
        if (exp)
            sv_expect_apply(exp, r, dm);
        sw_report_free(r);
        sw_minidump_close(md);

        add_counts(&rep->total.crashing, &dm->crashing);
        add_counts(&rep->total.all, &dm->all);
        rep->total.threads += dm->threads;
        rep->total.frames_before_scan += dm->frames_before_scan;
        for (size_t k = 0; k < dm->nchains; k++)
            if (!dm->chains[k].passed)
                failure(rep, "%s: expected chain not found: %s: %s", dm->name, dm->chains[k].chain,
                        dm->chains[k].message);
        thresholds(opt, dm, rep);
    }
    if (rc == SK_OK && exp) {
        const char *unused = sv_expect_unmatched(exp);
        if (unused)
            failure(rep, "expect: chain for dump '%s' matched no dump given", unused);
    }
    if (rc == SK_OK && opt->baseline_path)
        rc = apply_baseline(opt->baseline_path, rep, err);
    sv_expect_free(exp);
    return rc;
}

static void free_metrics(sv_dump_metrics *d)
{
    free(d->path);
    free(d->name);
    free(d->crash_type);
    sv_names_free(&d->on_stack);
    sv_names_free(&d->missing);
    sv_names_free(&d->mismatched);
    sv_names_free(&d->corrupt);
    for (size_t i = 0; i < d->nchains; i++) {
        free(d->chains[i].chain);
        free(d->chains[i].message);
    }
    free(d->chains);
}

void sv_check_report_free(sv_check_report *rep)
{
    for (size_t i = 0; i < rep->ndumps; i++)
        free_metrics(&rep->dumps[i]);
    free(rep->dumps);
    free_metrics(&rep->total);
    sv_names_free(&rep->failures);
    memset(rep, 0, sizeof *rep);
}

/* ---- output ---- */

static void counts_text(sk_buf *o, const char *what, const sv_frame_counts *c)
{
    sk_buf_printf(o, "  %s: %zu frames (context %zu, cfi %zu, frame_pointer %zu, cfi_scan %zu, scan %zu",
                  what, c->frames, c->context, c->cfi, c->frame_pointer, c->cfi_scan, c->scan);
    if (c->prewalked)
        sk_buf_printf(o, ", prewalked %zu", c->prewalked);
    sk_buf_printf(o, ")\n    with_function %zu, with_line %zu, symbolicated_share %.2f, line_share %.2f, "
                  "cfi_share %.2f\n",
                  c->with_function, c->with_line, share(c->with_function, c->frames),
                  share(c->with_line, c->frames), cfi_share(c));
}

static void names_text(sk_buf *o, const char *what, const sv_names *l)
{
    if (!l->n)
        return;
    sk_buf_printf(o, "  %s:", what);
    for (size_t i = 0; i < l->n; i++)
        sk_buf_printf(o, "%s %s", i ? "," : "", l->v[i]);
    sk_buf_putc(o, '\n');
}

void sv_check_format_text(const sv_check_report *rep, sk_buf *o)
{
    for (size_t i = 0; i < rep->ndumps; i++) {
        const sv_dump_metrics *d = &rep->dumps[i];
        sk_buf_printf(o, "%s: %s at 0x%llx, %zu threads\n", d->name, d->crash_type ? d->crash_type : "no crash",
                      (unsigned long long)d->crash_address, d->threads);
        counts_text(o, "crashing_thread", &d->crashing);
        sk_buf_printf(o, "    frames_before_scan %zu\n", d->frames_before_scan);
        counts_text(o, "all_threads", &d->all);
        sk_buf_printf(o, "  modules_on_stack %zu, missing %zu, mismatched %zu, corrupt %zu\n", d->on_stack.n,
                      d->missing.n, d->mismatched.n, d->corrupt.n);
        names_text(o, "modules_missing_symbols", &d->missing);
        names_text(o, "modules_mismatched_symbols", &d->mismatched);
        names_text(o, "modules_corrupt_symbols", &d->corrupt);
        for (size_t k = 0; k < d->nchains; k++)
            sk_buf_printf(o, "  expect %s: %s%s%s\n", d->chains[k].chain, d->chains[k].passed ? "ok" : "FAILED",
                          d->chains[k].message ? ": " : "", d->chains[k].message ? d->chains[k].message : "");
    }
    if (rep->ndumps > 1) {
        sk_buf_printf(o, "total: %zu dumps\n", rep->ndumps);
        counts_text(o, "crashing_thread", &rep->total.crashing);
        counts_text(o, "all_threads", &rep->total.all);
    }
    for (size_t i = 0; i < rep->failures.n; i++)
        sk_buf_printf(o, "FAIL: %s\n", rep->failures.v[i]);
    sk_buf_printf(o, "result: %s\n", rep->failures.n ? "fail" : "pass");
}

static void counts_json(sv_json *j, const char *key, const sv_frame_counts *c, const sv_dump_metrics *d)
{
    sv_json_object(j, key);
    sv_json_uint(j, "frames", c->frames);
    sv_json_object(j, "trust");
    sv_json_uint(j, "context", c->context);
    sv_json_uint(j, "prewalked", c->prewalked);
    sv_json_uint(j, "cfi", c->cfi);
    sv_json_uint(j, "frame_pointer", c->frame_pointer);
    sv_json_uint(j, "cfi_scan", c->cfi_scan);
    sv_json_uint(j, "scan", c->scan);
    sv_json_end(j, '}');
    sv_json_uint(j, "with_function", c->with_function);
    sv_json_uint(j, "with_line", c->with_line);
    sv_json_num(j, "symbolicated_share", share(c->with_function, c->frames));
    sv_json_num(j, "line_share", share(c->with_line, c->frames));
    sv_json_num(j, "cfi_share", cfi_share(c));
    if (d)
        sv_json_uint(j, "frames_before_scan", d->frames_before_scan);
    sv_json_end(j, '}');
}

void sv_check_format_json(const sv_check_report *rep, sk_buf *o)
{
    sv_json j;
    sv_json_init(&j, o);
    sv_json_object(&j, NULL);
    sv_json_array(&j, "dumps");
    for (size_t i = 0; i < rep->ndumps; i++) {
        const sv_dump_metrics *d = &rep->dumps[i];
        sv_json_object(&j, NULL);
        sv_json_str(&j, "dump", d->path);
        sv_json_str(&j, "name", d->name);
        sv_json_str(&j, "crash_type", d->crash_type);
        char addr[32];
        snprintf(addr, sizeof addr, "0x%016llx", (unsigned long long)d->crash_address);
        sv_json_str(&j, "crash_address", addr);
        sv_json_uint(&j, "threads", d->threads);
        counts_json(&j, "crashing_thread", &d->crashing, d);
        counts_json(&j, "all_threads", &d->all, NULL);
        sv_json_names(&j, "modules_on_stack", &d->on_stack);
        sv_json_names(&j, "modules_missing_symbols", &d->missing);
        sv_json_names(&j, "modules_mismatched_symbols", &d->mismatched);
        sv_json_names(&j, "modules_corrupt_symbols", &d->corrupt);
        sv_json_array(&j, "expect");
        for (size_t k = 0; k < d->nchains; k++) {
            sv_json_object(&j, NULL);
            sv_json_str(&j, "chain", d->chains[k].chain);
            sv_json_bool(&j, "passed", d->chains[k].passed);
            sv_json_str(&j, "message", d->chains[k].message);
            sv_json_end(&j, '}');
        }
        sv_json_end(&j, ']');
        sv_json_end(&j, '}');
    }
    sv_json_end(&j, ']');
    sv_json_object(&j, "total");
    sv_json_uint(&j, "dumps", rep->ndumps);
    sv_json_uint(&j, "threads", rep->total.threads);
    counts_json(&j, "crashing_thread", &rep->total.crashing, &rep->total);
    counts_json(&j, "all_threads", &rep->total.all, NULL);
    sv_json_end(&j, '}');
    sv_json_names(&j, "failures", &rep->failures);
    sv_json_str(&j, "result", rep->failures.n ? "fail" : "pass");
    sv_json_end(&j, '}');
}

