/* report_json.c — the report as rust-minidump's minidump-stackwalk JSON
 * (its minidump-processor/json-schema.md; names also in
 * ../shared/reference.md section 5).  Every key the schema lists is
 * written, null when the dump has nothing for it, because consumers such
 * as Socorro index keys and a missing one reads as a schema change. */
#include "stackwalk.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The report's addresses are as wide as the dump's pointers. */
static void khex(sk_json_writer *w, const sw_report *r, const char *k, uint64_t v)
{
    if (r->pointer_size == 4)
        sk_json_hex(w, k, v & 0xffffffffu, 8);
    else
        sk_json_hex(w, k, v, 16);
}

static void opt_uint(sk_json_writer *w, const char *k, bool has, uint64_t v)
{
    if (has)
        sk_json_uint(w, k, v);
    else
        sk_json_null(w, k);
}

static void frame_json(sk_json_writer *w, const sw_report *r, const sw_frame *f, size_t i, bool registers)
{
    sk_json_object(w, NULL);
    sk_json_uint(w, "frame", i);
    const sw_module *m = f->module >= 0 ? &r->modules[f->module] : NULL;
    sk_json_str(w, "module", m ? m->filename : NULL);
    /* rust-minidump reports callers at the call instruction */
    khex(w, r, "offset", f->address);
    if (m)
        khex(w, r, "module_offset", f->address - m->base);
    else
        sk_json_null(w, "module_offset");
    if (f->nunloaded) {
        sk_json_array(w, "unloaded_modules");
        for (size_t k = 0; k < f->nunloaded; k++) {
            sk_json_object(w, NULL);
            sk_json_str(w, "module", f->unloaded[k].module);
            sk_json_array(w, "offsets");
            for (size_t o = 0; o < f->unloaded[k].noffsets; o++)
                khex(w, r, NULL, f->unloaded[k].offsets[o]);
            sk_json_end_array(w);
            sk_json_end_object(w);
        }
        sk_json_end_array(w);
    } else {
        sk_json_null(w, "unloaded_modules");
    }
    sk_json_str(w, "function", f->function);
    if (f->function)
        khex(w, r, "function_offset", f->address - f->function_base);
    else
        sk_json_null(w, "function_offset");
    sk_json_str(w, "file", f->file);
    opt_uint(w, "line", f->file && f->line, f->line);
    sk_json_str(w, "trust", sw_trust_name(f->trust));
    sk_json_bool(w, "missing_symbols", f->function == NULL);
    if (f->ninlines) {
        sk_json_array(w, "inlines");
        for (size_t k = 0; k < f->ninlines; k++) {
            sk_json_object(w, NULL);
            sk_json_str(w, "function", f->inlines[k].function);
            sk_json_str(w, "file", f->inlines[k].file);
            opt_uint(w, "line", f->inlines[k].file && f->inlines[k].line, f->inlines[k].line);
            sk_json_end_object(w);
        }
        sk_json_end_array(w);
    } else {
        sk_json_null(w, "inlines");
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
    sk_json_str(w, "last_error_value", t->last_error_value);
    sk_json_uint(w, "frame_count", t->nframes);
    sk_json_array(w, "frames");
    for (size_t i = 0; i < t->nframes; i++)
        frame_json(w, r, &t->frames[i], i, registers);
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
    /* rust-minidump writes "" for an id the dump does not have */
    sk_json_str(w, "code_id", m->code_id ? m->code_id : "");
    sk_json_str(w, "debug_file", m->debug_file ? m->debug_file : "");
    sk_json_str(w, "debug_id", m->debug_id ? m->debug_id : "");
    sk_json_str(w, "version", m->version);
    sk_json_str(w, "cert_subject", m->cert_subject);
    sk_json_bool(w, "loaded_symbols", m->loaded_symbols);
    sk_json_bool(w, "missing_symbols", m->missing_symbols);
    sk_json_bool(w, "corrupt_symbols", m->corrupt_symbols);
    sk_json_str(w, "symbol_url", m->symbol_url);
    sk_json_end_object(w);
}

static const char *basename_of(const char *p)
{
    const char *b = p;
    for (const char *q = p; q && *q; q++)
        if (*q == '/' || *q == '\\')
            b = q + 1;
    return b;
}

static void time_json(sk_json_writer *w, const char *k, bool has, uint32_t t)
{
    if (!has) {
        sk_json_null(w, k);
        return;
    }
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[40];
    if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S+00:00", &tm)) {
        sk_json_null(w, k);
        return;
    }
    sk_json_str(w, k, buf);
}

static void crash_info_json(sk_json_writer *w, const sw_report *r)
{
    sk_json_object(w, "crash_info");
    sk_json_str(w, "type", r->crash_type);
    if (r->has_exception)
        khex(w, r, "address", r->crash_address);
    else
        sk_json_null(w, "address");
    if (r->adjusted_kind) {
        sk_json_object(w, "adjusted_address");
        sk_json_str(w, "kind", r->adjusted_kind);
        khex(w, r, strcmp(r->adjusted_kind, "null-pointer") == 0 ? "offset" : "address", r->adjusted_value);
        sk_json_end_object(w);
    } else {
        sk_json_null(w, "adjusted_address");
    }
    sk_json_str(w, "instruction", r->instruction);
    if (r->has_memory_accesses) {
        sk_json_array(w, "memory_accesses");
        for (size_t i = 0; i < r->nmemory_accesses; i++) {
            const sw_memory_access *m = &r->memory_accesses[i];
            sk_json_object(w, NULL);
            khex(w, r, "address", m->address);
            opt_uint(w, "size", m->has_size, m->size);
            if (m->is_likely_guard_page)
                sk_json_bool(w, "is_likely_guard_page", true);
            sk_json_end_object(w);
        }
        sk_json_end_array(w);
    } else {
        sk_json_null(w, "memory_accesses");
    }
    if (r->nbit_flips) {
        sk_json_array(w, "possible_bit_flips");
        for (size_t i = 0; i < r->nbit_flips; i++) {
            const sw_bit_flip *b = &r->bit_flips[i];
            sk_json_object(w, NULL);
            khex(w, r, "address", b->address);
            sk_json_str(w, "source_register", b->source_register);
            sk_json_object(w, "details");
            sk_json_bool(w, "was_non_canonical", b->was_non_canonical);
            sk_json_bool(w, "is_null", b->is_null);
            sk_json_bool(w, "was_low", b->was_low);
            sk_json_uint(w, "nearby_registers", b->nearby_registers);
            sk_json_bool(w, "poison_registers", b->poison_registers);
            sk_json_end_object(w);
            sk_json_fixed(w, "confidence", b->confidence, 4);
            sk_json_end_object(w);
        }
        sk_json_end_array(w);
    } else {
        sk_json_null(w, "possible_bit_flips");
    }
    if (r->has_ip_update) {
        sk_json_object(w, "instruction_pointer_update");
        if (r->ip_update_updated) {
            sk_json_str(w, "kind", "update");
            khex(w, r, "address", r->ip_update_address);
        } else {
            sk_json_str(w, "kind", "no-update");
        }
        sk_json_end_object(w);
    } else {
        sk_json_null(w, "instruction_pointer_update");
    }
    if (r->ncrash_inconsistencies) {
        sk_json_array(w, "crash_inconsistencies");
        for (size_t i = 0; i < r->ncrash_inconsistencies; i++)
            sk_json_str(w, NULL, r->crash_inconsistencies[i]);
        sk_json_end_array(w);
    } else {
        sk_json_null(w, "crash_inconsistencies");
    }
    if (r->crashing_thread >= 0)
        sk_json_uint(w, "crashing_thread", (uint64_t)r->crashing_thread);
    else
        sk_json_null(w, "crashing_thread");
    sk_json_str(w, "assertion", r->assertion);
    sk_json_end_object(w);
}

static void linux_and_mac_json(sk_json_writer *w, const sw_report *r)
{
    if (r->has_lsb) {
        sk_json_object(w, "lsb_release");
        sk_json_str(w, "id", r->lsb_id);
        sk_json_str(w, "release", r->lsb_release_ver);
        sk_json_str(w, "codename", r->lsb_codename);
        sk_json_str(w, "description", r->lsb_description);
        sk_json_end_object(w);
    } else {
        sk_json_null(w, "lsb_release");
    }
    if (r->has_mac_crash_info) {
        sk_json_object(w, "mac_crash_info");
        sk_json_uint(w, "num_records", r->nmac_crash);
        sk_json_array(w, "records");
        for (size_t i = 0; i < r->nmac_crash; i++) {
            const sw_mac_crash_record *m = &r->mac_crash[i];
            sk_json_object(w, NULL);
            if (m->has_thread)
                khex(w, r, "thread", m->thread);
            else
                sk_json_null(w, "thread");
            if (m->has_dialog_mode)
                khex(w, r, "dialog_mode", m->dialog_mode);
            else
                sk_json_null(w, "dialog_mode");
            if (m->has_abort_cause)
                khex(w, r, "abort_cause", m->abort_cause);
            else
                sk_json_null(w, "abort_cause");
            sk_json_str(w, "module", m->module);
            sk_json_str(w, "message", m->message);
            sk_json_str(w, "signature_string", m->signature_string);
            sk_json_str(w, "backtrace", m->backtrace);
            sk_json_str(w, "message2", m->message2);
            sk_json_end_object(w);
        }
        sk_json_end_array(w);
        sk_json_end_object(w);
    } else {
        sk_json_null(w, "mac_crash_info");
    }
    sk_json_str(w, "mac_boot_args", r->mac_boot_args);
    if (r->has_proc_limits) {
        sk_json_object(w, "proc_limits");
        sk_json_array(w, "limits");
        for (size_t i = 0; i < r->nproc_limits; i++) {
            sk_json_object(w, NULL);
            sk_json_str(w, "name", r->proc_limits[i].name);
            sk_json_str(w, "soft", r->proc_limits[i].soft);
            sk_json_str(w, "hard", r->proc_limits[i].hard);
            sk_json_str(w, "unit", r->proc_limits[i].unit);
            sk_json_end_object(w);
        }
        sk_json_end_array(w);
        sk_json_end_object(w);
    } else {
        sk_json_null(w, "proc_limits");
    }
    opt_uint(w, "linux_memory_map_count", r->has_memory_map_count, r->memory_map_count);
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
    sk_json_str(&w, "cpu_microcode_version", r->cpu_microcode_version);
    sk_json_end_object(&w);
    crash_info_json(&w, r);
    if (r->crashing_thread >= 0 && r->threads[r->crashing_thread].nframes) {
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
    /* modules in the dump's own order, as rust-minidump writes them (its
     * main_module is the first); the report keeps them sorted by address */
    size_t *order = sk_xcalloc(r->nmodules ? r->nmodules : 1, sizeof *order);
    for (size_t i = 0; i < r->nmodules; i++)
        order[i] = i;
    for (size_t i = 1; i < r->nmodules; i++) {
        size_t v = order[i], k = i;
        for (; k > 0 && r->modules[order[k - 1]].dump_index > r->modules[v].dump_index; k--)
            order[k] = order[k - 1];
        order[k] = v;
    }
    int main_pos = -1;
    sk_json_array(&w, "modules");
    for (size_t i = 0; i < r->nmodules; i++) {
        module_json(&w, r, &r->modules[order[i]]);
        if ((int)order[i] == r->main_module)
            main_pos = (int)i;
    }
    sk_json_end_array(&w);
    free(order);
    if (main_pos >= 0)
        sk_json_uint(&w, "main_module", (uint64_t)main_pos);
    else
        sk_json_null(&w, "main_module");
    sk_json_bool(&w, "modules_contains_cert_info", r->modules_contains_cert_info);
    sk_json_array(&w, "unloaded_modules");
    for (size_t i = 0; i < r->nunloaded_modules; i++) {
        const sw_unloaded_module *u = &r->unloaded_modules[i];
        sk_json_object(&w, NULL);
        khex(&w, r, "base_addr", u->base);
        khex(&w, r, "end_addr", u->base + u->size);
        sk_json_str(&w, "filename", u->code_file ? basename_of(u->code_file) : NULL);
        sk_json_str(&w, "code_id", u->code_id ? u->code_id : "");
        sk_json_str(&w, "cert_subject", u->cert_subject);
        sk_json_end_object(&w);
    }
    sk_json_end_array(&w);
    if (r->has_pid)
        sk_json_uint(&w, "pid", r->pid);
    else
        sk_json_null(&w, "pid");
    time_json(&w, "process_create_time", r->has_create_time, r->process_create_time);
    opt_uint(&w, "process_uptime", r->has_create_time && r->dump_time >= r->process_create_time,
             (uint64_t)r->dump_time - r->process_create_time);
    linux_and_mac_json(&w, r);
    if (r->has_handles) {
        sk_json_array(&w, "handles");
        for (size_t i = 0; i < r->nhandles; i++) {
            sk_json_object(&w, NULL);
            sk_json_hex(&w, "handle", r->handles[i].handle, 1);
            sk_json_str(&w, "type_name", r->handles[i].type_name);
            sk_json_str(&w, "object_name", r->handles[i].object_name);
            sk_json_end_object(&w);
        }
        sk_json_end_array(&w);
    } else {
        sk_json_null(&w, "handles");
    }
    /* what was wrong in the dump, one entry per damaged stream */
    if (r->stream_errors) {
        sk_json_array(&w, "soft_errors");
        const char *p = r->stream_errors;
        while (*p) {
            size_t n = strcspn(p, "\n");
            if (n) {
                char *line = sk_xmalloc(n + 1);
                memcpy(line, p, n);
                line[n] = '\0';
                sk_json_str(&w, NULL, line);
                free(line);
            }
            p += n + (p[n] == '\n');
        }
        sk_json_end_array(&w);
    } else {
        sk_json_null(&w, "soft_errors");
    }
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
    sk_json_end_object(&w);
    size_t wrote = fwrite(text.data, 1, text.len, out);
    bool ok = wrote == text.len && fflush(out) == 0;
    sk_buf_free(&text);
    return ok ? SK_OK : sk_fail(err, SK_EIO, "cannot write the report");
}
