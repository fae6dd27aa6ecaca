/* report_text.c — the report for people (--human, --brief) and Breakpad's
 * pipe-separated machine format (--machine). */
#include "stackwalk.h"

#include <stdlib.h>
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

/* Paths in dumps and .sym files come from Windows too. */
static const char *base_name(const char *p)
{
    const char *b = p;
    for (const char *q = p; q && *q; q++)
        if (*q == '/' || *q == '\\')
            b = q + 1;
    return b;
}

static void hex(sk_buf *b, const sw_report *r, uint64_t v)
{
    if (r->pointer_size == 4)
        sk_buf_printf(b, "0x%08llx", (unsigned long long)(v & 0xffffffffu));
    else
        sk_buf_printf(b, "0x%016llx", (unsigned long long)v);
}

/* rust-minidump's frame line: "module!function [file : line + 0xoff]",
 * offsets from the call instruction (callers) like its JSON. */
static void frame_text(sk_buf *b, const sw_report *r, const sw_frame *f)
{
    const sw_module *m = f->module >= 0 ? &r->modules[f->module] : NULL;
    uint64_t a = f->address;
    if (!m) {
        sk_buf_printf(b, "0x%llx", (unsigned long long)a);
        for (size_t k = 0; k < f->nunloaded; k++) {
            sk_buf_printf(b, " %s(unloaded %s@", k ? "| " : "", f->unloaded[k].module);
            for (size_t o = 0; o < f->unloaded[k].noffsets; o++)
                sk_buf_printf(b, "%s0x%llx", o ? "|" : "", (unsigned long long)f->unloaded[k].offsets[o]);
            sk_buf_putc(b, ')');
        }
        return;
    }
    sk_buf_puts(b, m->filename);
    if (f->function) {
        sk_buf_printf(b, "!%s", f->function);
        if (f->file && f->line)
            sk_buf_printf(b, " [%s : %u + 0x%llx]", base_name(f->file), f->line,
                          (unsigned long long)(a - (f->ninlines ? f->function_base : f->line_base)));
        else
            sk_buf_printf(b, " + 0x%llx", (unsigned long long)(a - f->function_base));
    } else {
        sk_buf_printf(b, " + 0x%llx", (unsigned long long)(a - m->base));
    }
}

/* Registers the way Breakpad and rust-minidump wrap them: " name = value"
 * entries, a new line (indented) before one would pass column 80. */
static void registers_text(sk_buf *b, const sw_report *r, const sw_frame *f)
{
    size_t col = 0;
    for (size_t k = 0; k < f->nregisters; k++) {
        char v[24];
        if (r->pointer_size == 4)
            snprintf(v, sizeof v, "0x%08llx", (unsigned long long)(f->registers[k].value & 0xffffffffu));
        else
            snprintf(v, sizeof v, "0x%016llx", (unsigned long long)f->registers[k].value);
        char entry[64];
        int n = snprintf(entry, sizeof entry, " %5s = %s", f->registers[k].name, v);
        if (col == 0 || col + (size_t)n > 80) {
            sk_buf_puts(b, col ? "\n   " : "   ");
            col = 3;
        }
        sk_buf_puts(b, entry);
        col += (size_t)n;
    }
    if (col)
        sk_buf_putc(b, '\n');
}

static void stack_text(sk_buf *b, const sw_report *r, const sw_thread *t, bool registers)
{
    if (!t->nframes)
        sk_buf_puts(b, "<no frames>\n");
    size_t n = 0;
    for (size_t i = 0; i < t->nframes; i++) {
        const sw_frame *f = &t->frames[i];
        for (size_t k = 0; k < f->ninlines; k++, n++) {
            const sw_inline_frame *in = &f->inlines[k];
            sk_buf_printf(b, "%2zu  ", n);
            if (f->module >= 0)
                sk_buf_printf(b, "%s!", r->modules[f->module].filename);
            sk_buf_puts(b, in->function);
            if (in->file && in->line)
                sk_buf_printf(b, " [%s : %u]", base_name(in->file), in->line);
            sk_buf_puts(b, "\n    Found by: inlining\n");
        }
        sk_buf_printf(b, "%2zu  ", n++);
        frame_text(b, r, f);
        sk_buf_putc(b, '\n');
        if (registers)
            registers_text(b, r, f);
        sk_buf_printf(b, "    Found by: %s\n", trust_text(f->trust));
    }
    if (t->walk_note)
        sk_buf_printf(b, "    (%s)\n", t->walk_note);
}

static int flush(sk_buf *b, FILE *out, sk_error *err)
{
    size_t n = b->len ? fwrite(b->data, 1, b->len, out) : 0;
    bool ok = n == b->len && fflush(out) == 0;
    sk_buf_free(b);
    return ok ? SK_OK : sk_fail(err, SK_EIO, "cannot write the report");
}

static void crash_text(sk_buf *b, const sw_report *r)
{
    if (!r->has_exception) {
        sk_buf_puts(b, "No crash\n");
        return;
    }
    sk_buf_printf(b, "Crash reason:  %s\nCrash address: ", r->crash_type ? r->crash_type : "unknown");
    hex(b, r, r->crash_address);
    if (r->adjusted_kind) {
        bool nc = strcmp(r->adjusted_kind, "non-canonical") == 0;
        sk_buf_printf(b, " **\n    ** %s: ", nc ? "Non-canonical address detected" : "Null pointer detected with offset");
        hex(b, r, r->adjusted_value);
    }
    sk_buf_putc(b, '\n');
    if (r->instruction)
        sk_buf_printf(b, "Crashing instruction: `%s`\n", r->instruction);
    if (r->has_memory_accesses) {
        if (!r->nmemory_accesses)
            sk_buf_puts(b, "No memory accessed by instruction\n");
        else
            sk_buf_puts(b, "Memory accessed by instruction:\n");
        for (size_t i = 0; i < r->nmemory_accesses; i++) {
            const sw_memory_access *m = &r->memory_accesses[i];
            sk_buf_printf(b, "  %zu. Address: ", i);
            hex(b, r, m->address);
            if (m->has_size)
                sk_buf_printf(b, "\n     Size: %u\n", m->size);
            else
                sk_buf_puts(b, "\n     Size: Unknown\n");
            if (m->is_likely_guard_page)
                sk_buf_puts(b, "     This address falls in a likely guard page.\n");
        }
    }
    if (r->nbit_flips) {
        sk_buf_puts(b, "Crashing address may be the result of a flipped bit:\n");
        /* by confidence, highest first, then by address */
        size_t *o = sk_xcalloc(r->nbit_flips, sizeof *o);
        for (size_t i = 0; i < r->nbit_flips; i++)
            o[i] = i;
        for (size_t i = 1; i < r->nbit_flips; i++) {
            size_t v = o[i], k = i;
            const sw_bit_flip *x = &r->bit_flips[v];
            for (; k > 0; k--) {
                const sw_bit_flip *y = &r->bit_flips[o[k - 1]];
                if (y->confidence > x->confidence || (y->confidence == x->confidence && y->address <= x->address))
                    break;
                o[k] = o[k - 1];
            }
            o[k] = v;
        }
        for (size_t i = 0; i < r->nbit_flips; i++) {
            const sw_bit_flip *f = &r->bit_flips[o[i]];
            sk_buf_printf(b, "  %zu. Valid address: %s%s", i, f->source_register ? f->source_register : "",
                          f->source_register ? "=" : "");
            hex(b, r, f->address);
            sk_buf_printf(b, " (%.3f)\n", f->confidence);
        }
        free(o);
    }
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
    sk_buf_printf(&b, "     %u CPU%s\n", r->cpu_count, r->cpu_count > 1 ? "s" : "");
    if (r->has_lsb)
        sk_buf_printf(&b, "Linux %s %s - %s (%s)\n", r->lsb_id, r->lsb_release_ver, r->lsb_codename,
                      r->lsb_description);
    sk_buf_putc(&b, '\n');
    crash_text(&b, r);
    if (r->assertion)
        sk_buf_printf(&b, "Assertion: %s\n", r->assertion);
    if (r->has_mac_crash_info) {
        sk_buf_puts(&b, "Mac Crash Info:\n");
        for (size_t i = 0; i < r->nmac_crash; i++) {
            const sw_mac_crash_record *m = &r->mac_crash[i];
            sk_buf_printf(&b, "  Record %zu\n", i);
            if (m->has_thread)
                sk_buf_printf(&b, "    thread: 0x%llx\n", (unsigned long long)m->thread);
            if (m->has_dialog_mode)
                sk_buf_printf(&b, "    dialog mode: 0x%llx\n", (unsigned long long)m->dialog_mode);
            if (m->has_abort_cause)
                sk_buf_printf(&b, "    abort_cause: 0x%llx\n", (unsigned long long)m->abort_cause);
            const char *names[] = {"module", "message", "signature string", "backtrace", "message2"};
            const char *vals[] = {m->module, m->message, m->signature_string, m->backtrace, m->message2};
            for (int k = 0; k < 5; k++)
                if (vals[k])
                    sk_buf_printf(&b, "    %s: %s\n", names[k], vals[k]);
        }
        sk_buf_putc(&b, '\n');
    }
    if (r->has_mac_boot_args)
        sk_buf_printf(&b, "Mac Boot Args: %s\n\n", r->mac_boot_args ? r->mac_boot_args : "");
    if (r->has_create_time && r->dump_time >= r->process_create_time)
        sk_buf_printf(&b, "Process uptime: %u seconds\n", r->dump_time - r->process_create_time);
    else
        sk_buf_puts(&b, "Process uptime: not available\n");
    sk_buf_putc(&b, '\n');
    if (r->crashing_thread >= 0) {
        const sw_thread *t = &r->threads[r->crashing_thread];
        sk_buf_printf(&b, "Thread %d %s (%s)\n", r->crashing_thread, t->name ? t->name : "",
                      r->has_exception ? "crashed" : "requested dump, did not crash");
        stack_text(&b, r, t, true);
        sk_buf_putc(&b, '\n');
    }
    if (!brief) {
        for (size_t i = 0; i < r->nthreads; i++) {
            const sw_thread *t = &r->threads[i];
            if ((int)i == r->crashing_thread || t->dump_thread)
                continue;
            sk_buf_printf(&b, "Thread %zu %s\n", i, t->name ? t->name : "");
            stack_text(&b, r, t, false);
        }
        sk_buf_puts(&b, "\nLoaded modules:\n");
        for (size_t i = 0; i < r->nmodules; i++) {
            const sw_module *m = &r->modules[i];
            sk_buf_printf(&b, "0x%08llx - 0x%08llx  %s  %s", (unsigned long long)m->base,
                          (unsigned long long)(m->base + m->size - 1), m->filename, m->version ? m->version : "???");
            if ((int)i == r->main_module)
                sk_buf_puts(&b, "  (main)");
            if (m->cert_subject)
                sk_buf_printf(&b, " (%s)", m->cert_subject);
            sk_buf_putc(&b, '\n');
        }
        sk_buf_puts(&b, "\nUnloaded modules:\n");
        for (size_t i = 0; i < r->nunloaded_modules; i++) {
            const sw_unloaded_module *u = &r->unloaded_modules[i];
            sk_buf_printf(&b, "0x%08llx - 0x%08llx  %s", (unsigned long long)u->base,
                          (unsigned long long)(u->base + u->size - 1), u->code_file ? base_name(u->code_file) : "");
            if (u->cert_subject)
                sk_buf_printf(&b, " (%s)", u->cert_subject);
            sk_buf_putc(&b, '\n');
        }
        if (r->stream_errors)
            sk_buf_printf(&b, "\nDump problems:\n%s", r->stream_errors);
    }
    return flush(&b, out, err);
}

/* Pipe-separated fields must not contain the separator or newlines. */
static void field(sk_buf *b, const char *s)
{
    for (; s && *s; s++)
        sk_buf_putc(b, (*s == '|' || *s == '\n') ? ' ' : *s);
}

/* One Breakpad -m stack: thread|frame|module|function|file|line|offset,
 * offsets from the return address (Breakpad reports callers there), from
 * the line record's start when there is a line; inline frames get lines
 * (and numbers) of their own, innermost first. */
static void machine_stack(sk_buf *b, const sw_report *r, size_t ti)
{
    const sw_thread *t = &r->threads[ti];
    size_t n = 0;
    for (size_t i = 0; i < t->nframes; i++) {
        const sw_frame *f = &t->frames[i];
        const sw_module *m = f->module >= 0 ? &r->modules[f->module] : NULL;
        uint64_t a = f->instruction;
        for (size_t k = 0; k < f->ninlines; k++) {
            const sw_inline_frame *in = &f->inlines[k];
            sk_buf_printf(b, "%zu|%zu|", ti, n++);
            field(b, m ? m->filename : NULL);
            sk_buf_putc(b, '|');
            field(b, in->function);
            if (in->file) {
                sk_buf_putc(b, '|');
                field(b, in->file);
                sk_buf_printf(b, "|%u|0x%llx\n", in->line,
                              (unsigned long long)(a - (k == 0 ? f->line_base : f->function_base)));
            } else {
                sk_buf_printf(b, "|||0x%llx\n", (unsigned long long)(a - f->function_base));
            }
        }
        sk_buf_printf(b, "%zu|%zu|", ti, n++);
        if (m) {
            field(b, m->filename);
            sk_buf_putc(b, '|');
            if (f->function) {
                field(b, f->function);
                if (f->file) {
                    sk_buf_putc(b, '|');
                    field(b, f->file);
                    sk_buf_printf(b, "|%u|0x%llx", f->line,
                                  (unsigned long long)(a - (f->ninlines ? f->function_base : f->line_base)));
                } else {
                    sk_buf_printf(b, "|||0x%llx", (unsigned long long)(a - f->function_base));
                }
            } else {
                sk_buf_printf(b, "||||0x%llx", (unsigned long long)(a - m->base));
            }
        } else {
            sk_buf_printf(b, "||||0x%llx", (unsigned long long)a);
        }
        sk_buf_putc(b, '\n');
    }
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
    sk_buf_puts(&b, "GPU|||\n");
    if (r->has_exception) {
        sk_buf_puts(&b, "Crash|");
        field(&b, r->crash_type);
        sk_buf_printf(&b, "|0x%llx|", (unsigned long long)r->crash_address);
    } else if (r->assertion) {
        sk_buf_puts(&b, "Crash|");
        field(&b, r->assertion);
        sk_buf_puts(&b, "||");
    } else {
        sk_buf_puts(&b, "Crash|No crash||");
    }
    if (r->crashing_thread >= 0)
        sk_buf_printf(&b, "%d", r->crashing_thread);
    sk_buf_putc(&b, '\n');
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
        sk_buf_printf(&b, "|0x%08llx|0x%08llx|%d\n", (unsigned long long)m->base,
                      (unsigned long long)(m->base + m->size - 1), (int)i == r->main_module);
    }
    sk_buf_putc(&b, '\n');
    if (r->crashing_thread >= 0)
        machine_stack(&b, r, (size_t)r->crashing_thread);
    for (size_t ti = 0; ti < r->nthreads; ti++)
        if ((int)ti != r->crashing_thread)
            machine_stack(&b, r, ti);
    return flush(&b, out, err);
}
