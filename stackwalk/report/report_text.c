/* report_text.c — the report for people (--human, --brief) and Breakpad's
 * pipe-separated machine format (--machine). */
#include "stackwalk.h"

#include <string.h>

static const char *trust_text(sw_trust t)
{
    switch (t) {
    case SW_TRUST_CONTEXT: return "given as instruction pointer in context";
    case SW_TRUST_PREWALKED: return "recovered by external stack walker";
    case SW_TRUST_CFI: return "call frame info";
    case SW_TRUST_FRAME_POINTER: return "previous frame's frame pointer";
    case SW_TRUST_CFI_SCAN: return "call frame info with scanning";
    case SW_TRUST_SCAN: return "stack scanning";
    default: return "unknown";
    }
}

static void hex(sk_buf *b, const sw_report *r, uint64_t v)
{
    if (r->pointer_size == 4)
        sk_buf_printf(b, "0x%08llx", (unsigned long long)(v & 0xffffffffu));
    else
        sk_buf_printf(b, "0x%016llx", (unsigned long long)v);
}

/* "module!function [file : line + 0xoff]" as Breakpad prints frames. */
static void frame_text(sk_buf *b, const sw_report *r, const sw_frame *f)
{
    const sw_module *m = f->module >= 0 ? &r->modules[f->module] : NULL;
    if (!m) {
        hex(b, r, f->instruction);
        return;
    }
    sk_buf_puts(b, m->filename);
    if (f->function) {
        sk_buf_printf(b, "!%s", f->function);
        if (f->file && f->line)
            sk_buf_printf(b, " [%s : %u + 0x%llx]", sk_basename(f->file), f->line,
                          (unsigned long long)(f->instruction - f->function_base));
        else
            sk_buf_printf(b, " + 0x%llx", (unsigned long long)(f->instruction - f->function_base));
    } else {
        sk_buf_printf(b, " + 0x%llx", (unsigned long long)(f->instruction - m->base));
    }
}

static void thread_text(sk_buf *b, const sw_report *r, size_t ti, bool registers)
{
    const sw_thread *t = &r->threads[ti];
    sk_buf_printf(b, "Thread %zu%s", ti, (int)ti == r->crashing_thread ? " (crashed)" : "");
    if (t->name)
        sk_buf_printf(b, " %s", t->name);
    sk_buf_putc(b, '\n');
    for (size_t i = 0; i < t->nframes; i++) {
        const sw_frame *f = &t->frames[i];
        for (size_t k = 0; k < f->ninlines; k++) {
            const sw_inline_frame *in = &f->inlines[k];
            sk_buf_printf(b, "%2zu  %s!%s", i, f->module >= 0 ? r->modules[f->module].filename : "?",
                          in->function);
            if (in->file && in->line)
                sk_buf_printf(b, " [%s : %u]", sk_basename(in->file), in->line);
            sk_buf_puts(b, " (inlined)\n");
        }
        sk_buf_printf(b, "%2zu  ", i);
        frame_text(b, r, f);
        sk_buf_putc(b, '\n');
        if (registers && i == 0) {
            for (size_t k = 0; k < f->nregisters; k++) {
                sk_buf_printf(b, "%s%5s = ", k % 3 == 0 ? "    " : "  ", f->registers[k].name);
                hex(b, r, f->registers[k].value);
                if (k % 3 == 2 || k + 1 == f->nregisters)
                    sk_buf_putc(b, '\n');
            }
        }
        sk_buf_printf(b, "    Found by: %s\n", trust_text(f->trust));
    }
    if (t->walk_note)
        sk_buf_printf(b, "    (%s)\n", t->walk_note);
    sk_buf_putc(b, '\n');
}

static int flush(sk_buf *b, FILE *out, sk_error *err)
{
    size_t n = b->len ? fwrite(b->data, 1, b->len, out) : 0;
    bool ok = n == b->len && fflush(out) == 0;
    sk_buf_free(b);
    return ok ? SK_OK : sk_fail(err, SK_EIO, "cannot write the report");
}

int sw_report_write_human(const sw_report *r, bool brief, FILE *out, sk_error *err)
{
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_printf(&b, "Operating system: %s\n", r->os ? r->os : "Unknown");
    if (r->os_ver)
        sk_buf_printf(&b, "                  %s\n", r->os_ver);
    sk_buf_printf(&b, "CPU: %s\n", r->cpu_arch ? r->cpu_arch : "unknown");
    if (r->cpu_info)
        sk_buf_printf(&b, "     %s\n", r->cpu_info);
    sk_buf_printf(&b, "     %u CPU%s\n\n", r->cpu_count, r->cpu_count == 1 ? "" : "s");
    if (r->has_exception) {
        sk_buf_printf(&b, "Crash reason:  %s\nCrash address: ", r->crash_type ? r->crash_type : "unknown");
        hex(&b, r, r->crash_address);
        sk_buf_putc(&b, '\n');
    } else {
        sk_buf_puts(&b, "No crash\n");
    }
    if (r->assertion)
        sk_buf_printf(&b, "Assertion: %s\n", r->assertion);
    sk_buf_putc(&b, '\n');
    if (r->crashing_thread >= 0)
        thread_text(&b, r, (size_t)r->crashing_thread, true);
    if (!brief) {
        for (size_t i = 0; i < r->nthreads; i++)
            if ((int)i != r->crashing_thread)
                thread_text(&b, r, i, false);
        sk_buf_puts(&b, "Loaded modules:\n");
        for (size_t i = 0; i < r->nmodules; i++) {
            const sw_module *m = &r->modules[i];
            hex(&b, r, m->base);
            sk_buf_puts(&b, " - ");
            hex(&b, r, m->base + m->size - 1);
            sk_buf_printf(&b, "  %s  %s  %s%s%s%s\n", m->filename, m->version ? m->version : "???",
                          m->debug_id ? m->debug_id : "(no debug id)",
                          (int)i == r->main_module ? "  (main)" : "",
                          m->loaded_symbols ? "" : (m->missing_symbols ? "  (WARNING: No symbols)" : ""),
                          m->corrupt_symbols ? "  (WARNING: Corrupt symbols)" : "");
        }
    }
    if (r->stream_errors)
        sk_buf_printf(&b, "\nDump problems:\n%s", r->stream_errors);
    return flush(&b, out, err);
}

/* Pipe-separated fields must not contain the separator or newlines. */
static void field(sk_buf *b, const char *s)
{
    for (; s && *s; s++)
        sk_buf_putc(b, (*s == '|' || *s == '\n') ? ' ' : *s);
}

int sw_report_write_machine(const sw_report *r, FILE *out, sk_error *err)
{
    sk_buf b;
    sk_buf_init(&b);
    sk_buf_puts(&b, "OS|");
    field(&b, r->os);
    sk_buf_putc(&b, '|');
    field(&b, r->os_ver);
    sk_buf_puts(&b, "\nCPU|");
    field(&b, r->cpu_arch);
    sk_buf_putc(&b, '|');
    field(&b, r->cpu_info);
    sk_buf_printf(&b, "|%u\n", r->cpu_count);
    sk_buf_puts(&b, "Crash|");
    if (r->has_exception) {
        field(&b, r->crash_type);
        sk_buf_putc(&b, '|');
        hex(&b, r, r->crash_address);
        sk_buf_putc(&b, '|');
    } else {
        sk_buf_puts(&b, "|||");
    }
    if (r->crashing_thread >= 0)
        sk_buf_printf(&b, "%d", r->crashing_thread);
    sk_buf_puts(&b, "\n\n");
    for (size_t i = 0; i < r->nmodules; i++) {
        const sw_module *m = &r->modules[i];
        sk_buf_puts(&b, "Module|");
        field(&b, m->filename);
        sk_buf_putc(&b, '|');
        field(&b, m->version);
        sk_buf_putc(&b, '|');
        field(&b, m->debug_file);
        sk_buf_putc(&b, '|');
        field(&b, m->debug_id);
        sk_buf_putc(&b, '|');
        hex(&b, r, m->base);
        sk_buf_putc(&b, '|');
        hex(&b, r, m->base + m->size - 1);
        sk_buf_printf(&b, "|%d\n", (int)i == r->main_module);
    }
    sk_buf_putc(&b, '\n');
    for (size_t ti = 0; ti < r->nthreads; ti++) {
        const sw_thread *t = &r->threads[ti];
        for (size_t i = 0; i < t->nframes; i++) {
            const sw_frame *f = &t->frames[i];
            const sw_module *m = f->module >= 0 ? &r->modules[f->module] : NULL;
            sk_buf_printf(&b, "%zu|%zu|", ti, i);
            if (m)
                field(&b, m->filename);
            sk_buf_putc(&b, '|');
            field(&b, f->function);
            sk_buf_putc(&b, '|');
            if (f->file && f->line) {
                field(&b, f->file);
                sk_buf_printf(&b, "|%u|", f->line);
            } else {
                sk_buf_puts(&b, "||");
            }
            uint64_t off = f->function ? f->instruction - f->function_base
                                       : m ? f->instruction - m->base : f->instruction;
            sk_buf_printf(&b, "0x%llx\n", (unsigned long long)off);
        }
    }
    return flush(&b, out, err);
}
