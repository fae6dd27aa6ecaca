/* writer.c — writes a finalized sym_module in the canonical record order.
 *
 * A big module has millions of line records, so records are formatted by
 * hand into an sk_buf (sk_buf_hex/sk_buf_dec) and flushed in large chunks;
 * printf per field would dominate dumpsyms' run time. */
#include "symfile_int.h"

#include <errno.h>
#include <string.h>

#define FLUSH_AT (1u << 20)

typedef struct writer {
    sk_buf *b;
    sym_sink_fn sink; /* NULL: everything stays in b */
    void *ctx;
    bool failed;
} writer;

static void flush(writer *w, bool force)
{
    if (!w->sink || (!force && w->b->len < FLUSH_AT))
        return;
    if (!w->failed && w->b->len && !w->sink(w->b->data, w->b->len, w->ctx))
        w->failed = true;
    sk_buf_reset(w->b);
}

static inline void put(sk_buf *b, const char *s, size_t n)
{
    char *p = sk_buf_room(b, n);
    memcpy(p, s, n);
    sk_buf_commit(b, p + n);
}
#define PUT(b, lit) put((b), lit, sizeof(lit) - 1)

static inline void puts_or_empty(sk_buf *b, const char *s)
{
    if (s)
        sk_buf_puts(b, s);
}

static void write_header(writer *w, const sym_module *m)
{
    sk_buf *b = w->b;
    PUT(b, "MODULE ");
    puts_or_empty(b, m->os);
    sk_buf_putc(b, ' ');
    puts_or_empty(b, m->arch);
    sk_buf_putc(b, ' ');
    puts_or_empty(b, m->debug_id);
    sk_buf_putc(b, ' ');
    puts_or_empty(b, m->name);
    sk_buf_putc(b, '\n');
    if (m->code_id && *m->code_id) {
        PUT(b, "INFO CODE_ID ");
        sk_buf_puts(b, m->code_id);
        if (m->code_file && *m->code_file) {
            sk_buf_putc(b, ' ');
            sk_buf_puts(b, m->code_file);
        }
        sk_buf_putc(b, '\n');
    }
    if (m->generator) {
        PUT(b, "INFO GENERATOR ");
        sk_buf_puts(b, m->generator);
        sk_buf_putc(b, '\n');
    }
    for (size_t i = 0; i < m->ninfo; i++) {
        if (!m->info[i])
            continue;
        PUT(b, "INFO ");
        sk_buf_puts(b, m->info[i]);
        sk_buf_putc(b, '\n');
    }
}

static void write_ids(writer *w, const char *kw, size_t kwlen, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!names[i])
            continue;
        put(w->b, kw, kwlen);
        sk_buf_dec(w->b, i);
        sk_buf_putc(w->b, ' ');
        sk_buf_puts(w->b, names[i]);
        sk_buf_putc(w->b, '\n');
        flush(w, false);
    }
}

static void write_func(writer *w, const sym_func *f)
{
    sk_buf *b = w->b;
    if (f->multiple)
        PUT(b, "FUNC m ");
    else
        PUT(b, "FUNC ");
    sk_buf_hex(b, f->addr);
    sk_buf_putc(b, ' ');
    sk_buf_hex(b, f->size);
    sk_buf_putc(b, ' ');
    sk_buf_hex(b, f->param_size);
    sk_buf_putc(b, ' ');
    puts_or_empty(b, f->name);
    sk_buf_putc(b, '\n');
    /* INLINE and line records (millions in a big C++ module) are
     * formatted straight into the buffer, a record at a time. */
    size_t k = 0; /* the next INLINE's first range */
    for (size_t i = 0; i < f->ninlines; i++) {
        const sym_inline *in = &f->inlines[i];
        char *p = sk_buf_room(b, 7 + 4 * 21);
        memcpy(p, "INLINE ", 7);
        p = sk_fmt_dec(p + 7, in->depth);
        *p++ = ' ';
        p = sk_fmt_dec(p, in->call_line);
        *p++ = ' ';
        p = sk_fmt_dec(p, in->call_file);
        *p++ = ' ';
        p = sk_fmt_dec(p, in->origin);
        sk_buf_commit(b, p);
        for (uint32_t r = 0; r < in->nranges; r++) {
            sym_range rg = sym_range_at(f, k++);
            p = sk_buf_room(b, 2 * 17 + 1);
            *p++ = ' ';
            p = sk_fmt_hex(p, rg.addr);
            *p++ = ' ';
            p = sk_fmt_hex(p, rg.size);
            sk_buf_commit(b, p);
        }
        sk_buf_putc(b, '\n');
    }
    for (size_t i = 0; i < f->nlines; i++) {
        const sym_line *l = &f->lines[i];
        char *p = sk_buf_room(b, 2 * 17 + 2 * 21);
        p = sk_fmt_hex(p, l->addr);
        *p++ = ' ';
        p = sk_fmt_hex(p, l->size);
        *p++ = ' ';
        p = sk_fmt_dec(p, l->line);
        *p++ = ' ';
        p = sk_fmt_dec(p, l->file);
        *p++ = '\n';
        sk_buf_commit(b, p);
        if ((i & 1023) == 1023)
            flush(w, false);
    }
    flush(w, false);
}

static void write_public(writer *w, const sym_public *p)
{
    sk_buf *b = w->b;
    if (p->multiple)
        PUT(b, "PUBLIC m ");
    else
        PUT(b, "PUBLIC ");
    sk_buf_hex(b, p->addr);
    sk_buf_putc(b, ' ');
    sk_buf_hex(b, p->param_size);
    sk_buf_putc(b, ' ');
    puts_or_empty(b, p->name);
    sk_buf_putc(b, '\n');
    flush(w, false);
}

/* "STACK CFI <addr> <rules>\n" at one go: the rows are most of what a
 * module without DWARF writes (libLLVM: a million), and a call per field
 * was most of the time spent writing them. */
static void write_cfi_row(sk_buf *b, const char *kw, size_t kwlen, uint64_t addr, const uint64_t *size,
                          const char *rules)
{
    size_t n = rules ? strlen(rules) : 0;
    char *p = sk_buf_room(b, kwlen + 17 + 17 + n + 1);
    memcpy(p, kw, kwlen);
    p = sk_fmt_hex(p + kwlen, addr);
    *p++ = ' ';
    if (size) {
        p = sk_fmt_hex(p, *size);
        *p++ = ' ';
    }
    if (n)
        memcpy(p, rules, n);
    p[n] = '\n';
    sk_buf_commit(b, p + n + 1);
}

static void write_stack(writer *w, const sym_module *m)
{
    sk_buf *b = w->b;
    for (size_t i = 0; i < m->ncfi; i++) {
        const sym_cfi *c = &m->cfi[i];
        write_cfi_row(b, "STACK CFI INIT ", 15, c->addr, &c->size, c->init_rules);
        for (size_t r = 0; r < c->nrows; r++)
            write_cfi_row(b, "STACK CFI ", 10, c->rows[r].addr, NULL, c->rows[r].rules);
        flush(w, false);
    }
    for (size_t i = 0; i < m->nstack_win; i++) {
        PUT(b, "STACK WIN ");
        puts_or_empty(b, m->stack_win[i].text);
        sk_buf_putc(b, '\n');
        flush(w, false);
    }
}

static void write_all(writer *w, const sym_module *m, const sym_write_options *opt)
{
    static const sym_write_options none = {0};
    if (!opt)
        opt = &none;
    write_header(w, m);
    if (opt->header_only)
        return;
    if (!opt->cfi_only) {
        write_ids(w, "FILE ", 5, m->files, m->nfiles);
        write_ids(w, "INLINE_ORIGIN ", 14, m->origins, m->norigins);
        /* FUNC and PUBLIC interleaved by address; at a tie the FUNC first. */
        size_t i = 0, j = 0;
        while (i < m->nfuncs || j < m->npublics) {
            if (j >= m->npublics || (i < m->nfuncs && m->funcs[i].addr <= m->publics[j].addr))
                write_func(w, &m->funcs[i++]);
            else
                write_public(w, &m->publics[j++]);
        }
    }
    if (!opt->no_cfi)
        write_stack(w, m);
}

void sym_write_buf(const sym_module *m, const sym_write_options *opt, sk_buf *out)
{
    writer w = {.b = out};
    write_all(&w, m, opt);
}

bool sym_write_to(const sym_module *m, const sym_write_options *opt, sym_sink_fn sink, void *ctx)
{
    sk_buf b;
    sk_buf_init(&b);
    /* Room for what is written between flushes, once: grown from nothing
     * it was reallocated (and copied) a score of times per module. */
    sk_buf_room(&b, FLUSH_AT + FLUSH_AT / 4);
    writer w = {.b = &b, .sink = sink, .ctx = ctx};
    write_all(&w, m, opt);
    flush(&w, true);
    sk_buf_free(&b);
    return !w.failed;
}

static bool to_stdio(const char *data, size_t len, void *ctx)
{
    return fwrite(data, 1, len, ctx) == len;
}

int sym_write(const sym_module *m, const sym_write_options *opt, FILE *out, sk_error *err)
{
    bool ok = sym_write_to(m, opt, to_stdio, out);
    if (ok && fflush(out) != 0)
        ok = false;
    if (!ok)
        return sk_fail(err, SK_EIO, "writing .sym failed: %s", strerror(errno));
    return SK_OK;
}
