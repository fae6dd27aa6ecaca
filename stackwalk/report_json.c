/* report_json.c — the report as rust-minidump's minidump-stackwalk JSON
 * (field names and meanings: ../shared/reference.md section 5). */
#include "stackwalk.h"

#include <string.h>

typedef struct jw {
    sk_buf b;
    bool pretty;
    int depth;
    bool first; /* no comma needed before the next member */
} jw;

static void nl(jw *w)
{
    if (!w->pretty)
        return;
    sk_buf_putc(&w->b, '\n');
    for (int i = 0; i < w->depth; i++)
        sk_buf_puts(&w->b, "  ");
}

static void str(jw *w, const char *s)
{
    if (!s) {
        sk_buf_puts(&w->b, "null");
        return;
    }
    sk_buf_putc(&w->b, '"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': sk_buf_puts(&w->b, "\\\""); break;
        case '\\': sk_buf_puts(&w->b, "\\\\"); break;
        case '\n': sk_buf_puts(&w->b, "\\n"); break;
        case '\t': sk_buf_puts(&w->b, "\\t"); break;
        case '\r': sk_buf_puts(&w->b, "\\r"); break;
        default:
            if (*p < 0x20)
                sk_buf_printf(&w->b, "\\u%04x", *p);
            else
                sk_buf_putc(&w->b, (char)*p);
        }
    }
    sk_buf_putc(&w->b, '"');
}

static void key(jw *w, const char *k)
{
    if (!w->first)
        sk_buf_putc(&w->b, ',');
    w->first = false;
    nl(w);
    str(w, k);
    sk_buf_puts(&w->b, w->pretty ? ": " : ":");
}

static void open_(jw *w, char c)
{
    sk_buf_putc(&w->b, c);
    w->depth++;
    w->first = true;
}

static void close_(jw *w, char c)
{
    w->depth--;
    if (!w->first)
        nl(w);
    sk_buf_putc(&w->b, c);
    w->first = false;
}

/* An array element separator. */
static void elem(jw *w)
{
    if (!w->first)
        sk_buf_putc(&w->b, ',');
    w->first = false;
    nl(w);
}

static void kstr(jw *w, const char *k, const char *v)
{
    key(w, k);
    str(w, v);
}

static void kuint(jw *w, const char *k, uint64_t v)
{
    key(w, k);
    sk_buf_printf(&w->b, "%llu", (unsigned long long)v);
}

static void kbool(jw *w, const char *k, bool v)
{
    key(w, k);
    sk_buf_puts(&w->b, v ? "true" : "false");
}

static void knull(jw *w, const char *k)
{
    key(w, k);
    sk_buf_puts(&w->b, "null");
}

static void khex(jw *w, const sw_report *r, const char *k, uint64_t v)
{
    key(w, k);
    if (r->pointer_size == 4)
        sk_buf_printf(&w->b, "\"0x%08llx\"", (unsigned long long)(v & 0xffffffffu));
    else
        sk_buf_printf(&w->b, "\"0x%016llx\"", (unsigned long long)v);
}

static void frame_json(jw *w, const sw_report *r, const sw_frame *f, size_t i, bool registers)
{
    open_(w, '{');
    kuint(w, "frame", i);
    const sw_module *m = f->module >= 0 ? &r->modules[f->module] : NULL;
    if (m) {
        kstr(w, "module", m->filename);
        khex(w, r, "module_offset", f->instruction - m->base);
    } else {
        knull(w, "module");
        knull(w, "module_offset");
    }
    khex(w, r, "offset", f->instruction);
    if (f->function) {
        kstr(w, "function", f->function);
        khex(w, r, "function_offset", f->instruction - f->function_base);
    } else {
        knull(w, "function");
        knull(w, "function_offset");
    }
    kstr(w, "file", f->file);
    if (f->file && f->line)
        kuint(w, "line", f->line);
    else
        knull(w, "line");
    kstr(w, "trust", sw_trust_name(f->trust));
    if (m)
        kbool(w, "missing_symbols", !m->loaded_symbols);
    else
        knull(w, "missing_symbols");
    if (f->ninlines) {
        key(w, "inlines");
        open_(w, '[');
        for (size_t k = 0; k < f->ninlines; k++) {
            elem(w);
            open_(w, '{');
            kstr(w, "function", f->inlines[k].function);
            kstr(w, "file", f->inlines[k].file);
            if (f->inlines[k].file && f->inlines[k].line)
                kuint(w, "line", f->inlines[k].line);
            else
                knull(w, "line");
            close_(w, '}');
        }
        close_(w, ']');
    }
    if (registers && f->nregisters) {
        key(w, "registers");
        open_(w, '{');
        for (size_t k = 0; k < f->nregisters; k++)
            khex(w, r, f->registers[k].name, f->registers[k].value);
        close_(w, '}');
    }
    close_(w, '}');
}

static void thread_body(jw *w, const sw_report *r, const sw_thread *t, bool registers)
{
    kuint(w, "thread_id", t->thread_id);
    kstr(w, "thread_name", t->name);
    kuint(w, "frame_count", t->nframes);
    key(w, "frames");
    open_(w, '[');
    for (size_t i = 0; i < t->nframes; i++) {
        elem(w);
        frame_json(w, r, &t->frames[i], i, registers && i == 0);
    }
    close_(w, ']');
    if (t->walk_note)
        kstr(w, "walk_note", t->walk_note);
}

static void module_json(jw *w, const sw_report *r, const sw_module *m)
{
    open_(w, '{');
    khex(w, r, "base_addr", m->base);
    khex(w, r, "end_addr", m->base + m->size);
    kstr(w, "filename", m->filename);
    kstr(w, "code_id", m->code_id);
    kstr(w, "debug_file", m->debug_file);
    kstr(w, "debug_id", m->debug_id);
    kstr(w, "version", m->version);
    kbool(w, "loaded_symbols", m->loaded_symbols);
    kbool(w, "missing_symbols", m->missing_symbols);
    kbool(w, "corrupt_symbols", m->corrupt_symbols);
    kstr(w, "symbol_url", m->symbol_url);
    close_(w, '}');
}

int sw_report_write_json(const sw_report *r, bool pretty, FILE *out, sk_error *err)
{
    jw w = {.pretty = pretty, .first = true};
    sk_buf_init(&w.b);
    open_(&w, '{');
    kstr(&w, "status", r->status);
    key(&w, "system_info");
    open_(&w, '{');
    kstr(&w, "os", r->os);
    kstr(&w, "os_ver", r->os_ver);
    kstr(&w, "cpu_arch", r->cpu_arch);
    kstr(&w, "cpu_info", r->cpu_info);
    kuint(&w, "cpu_count", r->cpu_count);
    close_(&w, '}');
    key(&w, "crash_info");
    open_(&w, '{');
    kstr(&w, "type", r->crash_type);
    if (r->has_exception)
        khex(&w, r, "address", r->crash_address);
    else
        knull(&w, "address");
    if (r->crashing_thread >= 0)
        kuint(&w, "crashing_thread", (uint64_t)r->crashing_thread);
    else
        knull(&w, "crashing_thread");
    kstr(&w, "assertion", r->assertion);
    close_(&w, '}');
    if (r->crashing_thread >= 0) {
        key(&w, "crashing_thread");
        open_(&w, '{');
        kuint(&w, "threads_index", (uint64_t)r->crashing_thread);
        thread_body(&w, r, &r->threads[r->crashing_thread], true);
        close_(&w, '}');
    } else {
        knull(&w, "crashing_thread");
    }
    kuint(&w, "thread_count", r->nthreads);
    key(&w, "threads");
    open_(&w, '[');
    for (size_t i = 0; i < r->nthreads; i++) {
        elem(&w);
        open_(&w, '{');
        thread_body(&w, r, &r->threads[i], false);
        close_(&w, '}');
    }
    close_(&w, ']');
    key(&w, "modules");
    open_(&w, '[');
    for (size_t i = 0; i < r->nmodules; i++) {
        elem(&w);
        module_json(&w, r, &r->modules[i]);
    }
    close_(&w, ']');
    key(&w, "unloaded_modules");
    open_(&w, '[');
    for (size_t i = 0; i < r->nunloaded_modules; i++) {
        const sw_unloaded_module *u = &r->unloaded_modules[i];
        const char *b = u->code_file;
        for (const char *q = u->code_file; *q; q++)
            if (*q == '/' || *q == '\\')
                b = q + 1;
        elem(&w);
        open_(&w, '{');
        khex(&w, r, "base_addr", u->base);
        khex(&w, r, "end_addr", u->base + u->size);
        kstr(&w, "filename", b);
        knull(&w, "code_id");
        close_(&w, '}');
    }
    close_(&w, ']');
    if (r->main_module >= 0)
        kuint(&w, "main_module", (uint64_t)r->main_module);
    else
        knull(&w, "main_module");
    if (r->has_pid)
        kuint(&w, "pid", r->pid);
    else
        knull(&w, "pid");
    kstr(&w, "lsb_release", r->lsb_release);
    if (r->nannotations) {
        key(&w, "annotations");
        open_(&w, '[');
        for (size_t i = 0; i < r->nannotations; i++) {
            elem(&w);
            open_(&w, '{');
            kstr(&w, "module", r->annotations[i].module);
            kstr(&w, "key", r->annotations[i].key);
            kstr(&w, "value", r->annotations[i].value);
            close_(&w, '}');
        }
        close_(&w, ']');
    }
    if (r->stream_errors)
        kstr(&w, "stream_errors", r->stream_errors);
    close_(&w, '}');
    sk_buf_putc(&w.b, '\n');
    size_t wrote = fwrite(w.b.data, 1, w.b.len, out);
    bool ok = wrote == w.b.len && fflush(out) == 0;
    sk_buf_free(&w.b);
    return ok ? SK_OK : sk_fail(err, SK_EIO, "cannot write the report");
}
