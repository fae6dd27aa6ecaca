/* report_json.c — the report as rust-minidump's minidump-stackwalk JSON
 * (field names and meanings: ../shared/reference.md section 5). */
#include "stackwalk.h"

/* The report's addresses are as wide as the dump's pointers. */
static void khex(sk_json_writer *w, const sw_report *r, const char *k, uint64_t v)
{
    if (r->pointer_size == 4)
        sk_json_hex(w, k, v & 0xffffffffu, 8);
    else
        sk_json_hex(w, k, v, 16);
}

static void frame_json(sk_json_writer *w, const sw_report *r, const sw_frame *f, size_t i, bool registers)
{
    sk_json_object(w, NULL);
    sk_json_uint(w, "frame", i);
    const sw_module *m = f->module >= 0 ? &r->modules[f->module] : NULL;
    if (m) {
        sk_json_str(w, "module", m->filename);
        khex(w, r, "module_offset", f->instruction - m->base);
    } else {
        sk_json_null(w, "module");
        sk_json_null(w, "module_offset");
    }
    khex(w, r, "offset", f->instruction);
    if (f->function) {
        sk_json_str(w, "function", f->function);
        khex(w, r, "function_offset", f->instruction - f->function_base);
    } else {
        sk_json_null(w, "function");
        sk_json_null(w, "function_offset");
    }
    sk_json_str(w, "file", f->file);
    if (f->file && f->line)
        sk_json_uint(w, "line", f->line);
    else
        sk_json_null(w, "line");
    sk_json_str(w, "trust", sw_trust_name(f->trust));
    if (m)
        sk_json_bool(w, "missing_symbols", !m->loaded_symbols);
    else
        sk_json_null(w, "missing_symbols");
    if (f->ninlines) {
        sk_json_array(w, "inlines");
        for (size_t k = 0; k < f->ninlines; k++) {
            sk_json_object(w, NULL);
            sk_json_str(w, "function", f->inlines[k].function);
            sk_json_str(w, "file", f->inlines[k].file);
            if (f->inlines[k].file && f->inlines[k].line)
                sk_json_uint(w, "line", f->inlines[k].line);
            else
                sk_json_null(w, "line");
            sk_json_end_object(w);
        }
        sk_json_end_array(w);
    }
    if (registers && f->nregisters) {
        sk_json_object(w, "registers");
        for (size_t k = 0; k < f->nregisters; k++)
            khex(w, r, f->registers[k].name, f->registers[k].value);
        sk_json_end_object(w);
    }
    sk_json_end_object(w);
}

static void thread_body(sk_json_writer *w, const sw_report *r, const sw_thread *t, bool registers)
{
    sk_json_uint(w, "thread_id", t->thread_id);
    sk_json_str(w, "thread_name", t->name);
    sk_json_uint(w, "frame_count", t->nframes);
    sk_json_array(w, "frames");
    for (size_t i = 0; i < t->nframes; i++)
        frame_json(w, r, &t->frames[i], i, registers && i == 0);
    sk_json_end_array(w);
    if (t->walk_note)
        sk_json_str(w, "walk_note", t->walk_note);
}

static void module_json(sk_json_writer *w, const sw_report *r, const sw_module *m)
{
    sk_json_object(w, NULL);
    khex(w, r, "base_addr", m->base);
    khex(w, r, "end_addr", m->base + m->size);
    sk_json_str(w, "filename", m->filename);
    sk_json_str(w, "code_id", m->code_id);
    sk_json_str(w, "debug_file", m->debug_file);
    sk_json_str(w, "debug_id", m->debug_id);
    sk_json_str(w, "version", m->version);
    sk_json_bool(w, "loaded_symbols", m->loaded_symbols);
    sk_json_bool(w, "missing_symbols", m->missing_symbols);
    sk_json_bool(w, "corrupt_symbols", m->corrupt_symbols);
    sk_json_str(w, "symbol_url", m->symbol_url);
    sk_json_end_object(w);
}

int sw_report_write_json(const sw_report *r, bool pretty, FILE *out, sk_error *err)
{
    sk_buf text;
    sk_buf_init(&text);
    sk_json_writer w;
    sk_json_writer_init(&w, &text, pretty);
    sk_json_object(&w, NULL);
    sk_json_str(&w, "status", r->status);
    sk_json_object(&w, "system_info");
    sk_json_str(&w, "os", r->os);
    sk_json_str(&w, "os_ver", r->os_ver);
    sk_json_str(&w, "cpu_arch", r->cpu_arch);
    sk_json_str(&w, "cpu_info", r->cpu_info);
    sk_json_uint(&w, "cpu_count", r->cpu_count);
    sk_json_end_object(&w);
    sk_json_object(&w, "crash_info");
    sk_json_str(&w, "type", r->crash_type);
    if (r->has_exception)
        khex(&w, r, "address", r->crash_address);
    else
        sk_json_null(&w, "address");
    if (r->crashing_thread >= 0)
        sk_json_uint(&w, "crashing_thread", (uint64_t)r->crashing_thread);
    else
        sk_json_null(&w, "crashing_thread");
    sk_json_str(&w, "assertion", r->assertion);
    sk_json_end_object(&w);
    if (r->crashing_thread >= 0) {
        sk_json_object(&w, "crashing_thread");
        sk_json_uint(&w, "threads_index", (uint64_t)r->crashing_thread);
        thread_body(&w, r, &r->threads[r->crashing_thread], true);
        sk_json_end_object(&w);
    } else {
        sk_json_null(&w, "crashing_thread");
    }
    sk_json_uint(&w, "thread_count", r->nthreads);
    sk_json_array(&w, "threads");
    for (size_t i = 0; i < r->nthreads; i++) {
        sk_json_object(&w, NULL);
        thread_body(&w, r, &r->threads[i], false);
        sk_json_end_object(&w);
    }
    sk_json_end_array(&w);
    sk_json_array(&w, "modules");
    for (size_t i = 0; i < r->nmodules; i++)
        module_json(&w, r, &r->modules[i]);
    sk_json_end_array(&w);
    sk_json_array(&w, "unloaded_modules");
    for (size_t i = 0; i < r->nunloaded_modules; i++) {
        const sw_unloaded_module *u = &r->unloaded_modules[i];
        const char *b = u->code_file;
        for (const char *q = u->code_file; *q; q++)
            if (*q == '/' || *q == '\\')
                b = q + 1;
        sk_json_object(&w, NULL);
        khex(&w, r, "base_addr", u->base);
        khex(&w, r, "end_addr", u->base + u->size);
        sk_json_str(&w, "filename", b);
        sk_json_null(&w, "code_id");
        sk_json_end_object(&w);
    }
    sk_json_end_array(&w);
    if (r->main_module >= 0)
        sk_json_uint(&w, "main_module", (uint64_t)r->main_module);
    else
        sk_json_null(&w, "main_module");
    if (r->has_pid)
        sk_json_uint(&w, "pid", r->pid);
    else
        sk_json_null(&w, "pid");
    sk_json_str(&w, "lsb_release", r->lsb_release);
    if (r->nannotations) {
        sk_json_array(&w, "annotations");
        for (size_t i = 0; i < r->nannotations; i++) {
            sk_json_object(&w, NULL);
            sk_json_str(&w, "module", r->annotations[i].module);
            sk_json_str(&w, "key", r->annotations[i].key);
            sk_json_str(&w, "value", r->annotations[i].value);
            sk_json_end_object(&w);
        }
        sk_json_end_array(&w);
    }
    if (r->stream_errors)
        sk_json_str(&w, "stream_errors", r->stream_errors);
    sk_json_end_object(&w);
    size_t wrote = fwrite(text.data, 1, text.len, out);
    bool ok = wrote == text.len && fflush(out) == 0;
    sk_buf_free(&text);
    return ok ? SK_OK : sk_fail(err, SK_EIO, "cannot write the report");
}
