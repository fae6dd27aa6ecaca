/*
 * symfile — the Breakpad .sym format: an in-memory model, a canonical
 * writer, a tolerant streaming parser and (for stackwalk) a lookup index.
 *
 * Producers (dumpsyms) fill a sym_module in any order and call
 * sym_module_finalize(), which puts everything in the one canonical form
 * (sorted, deduplicated, non-overlapping, dense FILE/INLINE_ORIGIN ids), so
 * that writing is a plain walk and output is byte-identical for the same
 * input.  Consumers either stream records through sym_parse() or load a
 * whole module with sym_module_read() (symverify lint/diff, round-trip
 * tests).  The parser follows Breakpad's tolerance: a bad line is skipped and
 * counted, never a reason to reject the module.
 *
 * Format facts: ../shared/reference.md section 1, docs/sym-format.md.
 */
#ifndef SYMKIT_SYMFILE_H
#define SYMKIT_SYMFILE_H

#include "common.h"

/* ---- model ------------------------------------------------------------- */

typedef struct sym_range {
    uint64_t addr, size;
} sym_range;

/* A line record.  `file` is an index into sym_module.files before finalize
 * and the dense FILE id after it.  Packed to 20 bytes (4-byte aligned, the
 * address read unaligned): a big module holds millions. */
#pragma pack(push, 4)
typedef struct sym_line {
    uint64_t addr;
    uint32_t size;
    uint32_t line;
    uint32_t file;
} sym_line;
#pragma pack(pop)

/* An INLINE record: depth 0 is inlined straight into its FUNC.  Its ranges
 * are the next nranges entries of its function's range array after those
 * of the records before it (read them with sym_range_at, counting along),
 * one array per function rather than a pointer or an index each. */
typedef struct sym_inline {
    uint32_t depth;
    uint32_t call_line;
    uint32_t call_file;  /* index into files */
    uint32_t origin;     /* index into origins */
    uint32_t nranges;    /* sorted, inside the parent's ranges */
} sym_inline;

/* An inline range as the model stores it: where it starts relative to its
 * FUNC's address, and its size.  Half a sym_range (ceph-osd --inlines holds
 * two million of them).  It can only describe the first 4 GiB of a
 * function; see sym_func.ranges_wide for the rest. */
typedef struct sym_func_range {
    uint32_t off, size;
} sym_func_range;

typedef struct sym_func {
    uint64_t addr, size;
    uint32_t param_size;
    bool multiple;        /* the 'm' flag: identical code folding */
    /* lines / inlines / ranges were given by sym_func_reserve (they live
     * in the module's pool, not malloc'd on their own) */
    bool lines_pooled, inlines_pooled, ranges_pooled;
    const char *name;     /* never NULL or empty after finalize */
    sym_line *lines;
    size_t nlines, lines_cap;
    sym_inline *inlines;  /* depth-first order */
    size_t ninlines, inlines_cap;
    /* Every INLINE record's ranges, in turn, clipped to the function when
     * they were added (sym_func_add_inline).  They are sym_func_ranges
     * until one reaches past the function's first 4 GiB (only a hostile or
     * broken input has such a function): then the whole array turns into
     * sym_ranges (ranges_wide), so that no range is ever cut or wrapped. */
    union {
        sym_func_range *ranges;
        sym_range *wide_ranges;
    };
    size_t nranges, ranges_cap;
    bool ranges_wide;
} sym_func;

/* Entry k of the function's range array, in module addresses. */
static inline sym_range sym_range_at(const sym_func *f, size_t k)
{
    if (f->ranges_wide)
        return f->wide_ranges[k];
    return (sym_range){f->addr + f->ranges[k].off, f->ranges[k].size};
}

typedef struct sym_public {
    uint64_t addr;
    uint32_t param_size;
    bool multiple;
    const char *name;
} sym_public;

/* One STACK CFI delta row: rules changed at addr. */
typedef struct sym_cfi_row {
    uint64_t addr;
    const char *rules; /* e.g. ".cfa: $rsp 16 + $rbp: .cfa -16 + ^" */
} sym_cfi_row;

/* STACK CFI INIT plus its delta rows. */
typedef struct sym_cfi {
    uint64_t addr, size;
    const char *init_rules; /* must define .cfa and .ra */
    sym_cfi_row *rows;
    size_t nrows, rows_cap;
} sym_cfi;

/* A STACK WIN record, kept verbatim (we read them, we do not produce them). */
typedef struct sym_stack_win {
    const char *text; /* everything after "STACK WIN " */
} sym_stack_win;

/* Memory: the builders copy strings and inline ranges into the module's
 * own pool; the growable arrays (those with a _cap field) are malloc'd, or
 * come from the pool when sym_func_reserve sized them; sym_module_free
 * releases it all, so build them with the builders below rather than by
 * hand.  Strings a caller hangs off the model itself go in the arena. */
struct sym_pool;
typedef struct sym_module {
    sk_arena *arena; /* for strings set by hand; freed with the module */
    struct sym_pool *pool; /* private to symfile (pool.c) */

    const char *os;        /* "Linux", "mac", "windows" */
    const char *arch;      /* "x86_64", "arm64", ... */
    const char *debug_id;  /* 33 upper-case hex */
    const char *name;      /* debug file name */
    const char *code_id;   /* NULL when none */
    const char *code_file; /* NULL when none */
    const char *generator; /* NULL: no INFO GENERATOR line */

    const char **files;  /* paths; index = id before finalize */
    size_t nfiles, files_cap;
    const char **origins; /* inline origin names */
    size_t norigins, origins_cap;

    sym_func *funcs;
    size_t nfuncs, funcs_cap;
    sym_public *publics;
    size_t npublics, publics_cap;
    sym_cfi *cfi;
    size_t ncfi, cfi_cap;
    sym_stack_win *stack_win;
    size_t nstack_win, stack_win_cap;

    /* Extra INFO lines other than CODE_ID/GENERATOR, kept verbatim. */
    const char **info;
    size_t ninfo, info_cap;
} sym_module;

void sym_module_init(sym_module *m);
void sym_module_free(sym_module *m);

/* Builders.  Strings are copied into the module.  The returned
 * sym_func / sym_cfi pointers point into m->funcs / m->cfi and are valid
 * only until the next sym_module_add_func / sym_module_add_cfi (keep an
 * index across calls).  add_file/add_origin do not look for an equal
 * string: finalize merges equal paths and names. */
uint32_t sym_module_add_file(sym_module *m, const char *path);
uint32_t sym_module_add_origin(sym_module *m, const char *name);
sym_func *sym_module_add_func(sym_module *m, uint64_t addr, uint64_t size, const char *name);
/* Room for exactly this many more lines / INLINE records / inline ranges
 * (summed over the INLINE records), for a producer that knows them before
 * adding them: the arrays then come from the module's pool rather than
 * malloc, with no slack.  Adding more than reserved still works (the array
 * moves to malloc).  Call it before the function's first line / INLINE. */
void sym_func_reserve(sym_module *m, sym_func *f, size_t nlines, size_t ninlines, size_t nranges);
void sym_func_add_line(sym_module *m, sym_func *f, uint64_t addr, uint32_t size, uint32_t line, uint32_t file);
/* The ranges are clipped to the function's [addr, addr + size) as it is
 * now (finalize clips to it anyway, and the model stores them relative to
 * addr: do not move a function after giving it INLINE records).  A range
 * wholly outside is left out; an INLINE left with none is dropped by
 * finalize, with its subtree, as before. */
sym_inline *sym_func_add_inline(sym_module *m, sym_func *f, uint32_t depth, uint32_t call_line,
                                uint32_t call_file, uint32_t origin, const sym_range *ranges,
                                uint32_t nranges);
void sym_module_add_public(sym_module *m, uint64_t addr, const char *name);
/* An extra INFO line (the text after "INFO "), copied into the module. */
void sym_module_add_info(sym_module *m, const char *text);
sym_cfi *sym_module_add_cfi(sym_module *m, uint64_t addr, uint64_t size, const char *init_rules);
void sym_cfi_add_row(sym_module *m, sym_cfi *c, uint64_t addr, const char *rules);
/* sym_module_add_cfi and sym_cfi_add_row for a producer that knows the
 * length of each rule string and how many rows (at most) an INIT gets:
 * dumpsyms' CFI gathering adds millions of rows, and strlen, hashing with
 * it and growing the rows array a row at a time were a tenth of its time. */
sym_cfi *sym_module_add_cfi_n(sym_module *m, uint64_t addr, uint64_t size, const char *init_rules, size_t len,
                              size_t nrows);
void sym_cfi_add_row_n(sym_module *m, sym_cfi *c, uint64_t addr, const char *rules, size_t len);

/* What finalize changed, for -v output and quality reports. */
typedef struct sym_finalize_stats {
    size_t funcs_folded;      /* same address, other name: kept one, flagged 'm' */
    size_t funcs_deduplicated; /* same address and name: one function described twice */
    size_t funcs_trimmed;     /* overlapping a neighbour: shortened or dropped */
    size_t lines_dropped;     /* outside their FUNC or overlapping */
    size_t publics_dropped;   /* covered by a FUNC, or duplicate */
    size_t cfi_dropped;       /* duplicate INIT for the same range, or no .cfa/.ra */
} sym_finalize_stats;

/* Puts the model in canonical form (see the file comment): FUNCs sorted by
 * address, folded ('m') when they share one, never overlapping; lines sorted,
 * clipped to their FUNC, non-overlapping; PUBLICs sorted, dropped where a
 * FUNC covers them; FILE and INLINE_ORIGIN ids dense and in first-use
 * order; CFI sorted with duplicate INITs dropped; empty names become
 * "<name omitted>", newlines in names become spaces.  Idempotent.
 * Ties: among FUNCs at one address the smallest name is kept; among INITs at
 * one address the first added.  A line/INLINE pointing at a missing file or
 * origin gets a "<name omitted>" record.  Full rules: docs/sym-format.md. */
void sym_module_finalize(sym_module *m, sym_finalize_stats *stats);

/* ---- writer ------------------------------------------------------------ */

typedef struct sym_write_options {
    bool header_only; /* MODULE and INFO only (dump_syms -i) */
    bool no_cfi;      /* leave out STACK records */
    bool cfi_only;    /* MODULE, INFO and STACK records only */
} sym_write_options;

/* Writes a finalized module in canonical order to out. */
int sym_write(const sym_module *m, const sym_write_options *opt, FILE *out, sk_error *err);
/* The same, appended to a buffer. */
void sym_write_buf(const sym_module *m, const sym_write_options *opt, sk_buf *out);
/* The same, handed to sink in pieces of about a megabyte as they are
 * formatted (a big module's text need never be held whole).  sink returns
 * false when it failed; nothing more is sent then, and sym_write_to returns
 * false. */
typedef bool (*sym_sink_fn)(const char *data, size_t len, void *ctx);
bool sym_write_to(const sym_module *m, const sym_write_options *opt, sym_sink_fn sink, void *ctx);

/* ---- parser ------------------------------------------------------------ */

typedef enum sym_record_kind {
    SYM_REC_MODULE,
    SYM_REC_INFO,
    SYM_REC_FILE,
    SYM_REC_INLINE_ORIGIN,
    SYM_REC_FUNC,
    SYM_REC_LINE,
    SYM_REC_INLINE,
    SYM_REC_PUBLIC,
    SYM_REC_STACK_CFI_INIT,
    SYM_REC_STACK_CFI,
    SYM_REC_STACK_WIN,
} sym_record_kind;

/* One parsed record.  Strings point into a scratch buffer valid only during
 * the callback (they are NUL-terminated copies). */
typedef struct sym_record {
    sym_record_kind kind;
    size_t line_no; /* 1-based line in the file */
    union {
        struct { const char *os, *arch, *debug_id, *name; } module;
        struct { const char *text; } info; /* after "INFO " */
        struct { uint32_t id; const char *path; } file;
        struct { uint32_t id; const char *name; } origin;
        struct { bool multiple; uint64_t addr, size; uint32_t param_size; const char *name; } func;
        struct { uint64_t addr, size; uint32_t line, file; } line;
        struct {
            uint32_t depth, call_line, call_file, origin;
            uint32_t nranges;
            const sym_range *ranges;
        } inl;
        struct { bool multiple; uint64_t addr; uint32_t param_size; const char *name; } pub;
        struct { uint64_t addr, size; const char *rules; } cfi_init;
        struct { uint64_t addr; const char *rules; } cfi;
        struct { const char *text; } win;
    } u;
} sym_record;

/* Return non-zero from the callback to stop parsing early. */
typedef int (*sym_record_fn)(const sym_record *rec, void *ctx);
/* Called for each malformed line (line_no, a short reason). */
typedef void (*sym_bad_line_fn)(size_t line_no, const char *reason, void *ctx);

typedef struct sym_parse_stats {
    size_t lines;      /* lines seen */
    size_t records;    /* records delivered */
    size_t bad_lines;  /* skipped as malformed */
} sym_parse_stats;

/* Parses .sym text.  Malformed lines are skipped and counted (bad_fn may be
 * NULL).  Fails only when the first record is not a valid MODULE line or a
 * callback stops the parse (then returns that callback's value). */
int sym_parse(const char *data, size_t len, sym_record_fn fn, sym_bad_line_fn bad_fn, void *ctx,
              sym_parse_stats *stats, sk_error *err);

/* Parses a MODULE line alone (for symupload's lint, store keys). Accepts the
 * text up to the first newline. */
int sym_parse_module_line(const char *line, size_t len, char *os, size_t os_cap, char *arch,
                          size_t arch_cap, char *debug_id, size_t id_cap, char *name, size_t name_cap,
                          sk_error *err);

/* Loads a whole .sym file into a model (ids as in the file; FILE and ORIGIN
 * ids become indexes: a FILE record with id N is files[N], gaps NULL).
 * m is initialized by the call (do not sym_module_init it first); free it
 * with sym_module_free, which is also safe after a failure.  Records the
 * model cannot hold (an id far beyond the file size, a repeated id, a line
 * size over 32 bits) count as bad lines.  stats may be NULL.  Call
 * sym_module_finalize before writing it again. */
int sym_module_read(const char *path, sym_module *m, sym_parse_stats *stats, sk_error *err);
int sym_module_read_mem(const char *data, size_t len, sym_module *m, sym_parse_stats *stats,
                        sk_error *err);

/* ---- lookup index (stackwalk) -----------------------------------------
 * Owned by the stackwalk work: a mapped .sym indexed on first use, for
 * address -> function/line/inline and CFI rules, without parsing the whole
 * file line by line.  Declarations below this line. */

typedef struct sym_index sym_index;

/* Maps a .sym file and reads its MODULE line; everything else is indexed
 * on the first lookup (one pass recording where FUNC, PUBLIC, FILE,
 * INLINE_ORIGIN and STACK records start), and a FUNC's line and INLINE
 * records are parsed only when an address lands in it.  Fails only when
 * the file cannot be read or does not start with a MODULE line. */
int sym_index_open(const char *path, sym_index **out, sk_error *err);
/* The same over a malloc'd buffer the index takes ownership of (downloads). */
int sym_index_open_owned(char *data, size_t len, sym_index **out, sk_error *err);
void sym_index_close(sym_index *ix);

/* MODULE line fields (valid until close). */
const char *sym_index_os(const sym_index *ix);
const char *sym_index_arch(const sym_index *ix);
const char *sym_index_debug_id(const sym_index *ix);
const char *sym_index_name(const sym_index *ix);

typedef struct sym_lookup_inline {
    const char *name;      /* the inlined function (INLINE_ORIGIN) */
    const char *call_file; /* where it was called from, NULL if unknown */
    uint32_t call_line;
} sym_lookup_inline;

typedef struct sym_lookup {
    const char *function; /* FUNC or PUBLIC name; NULL when nothing covers addr */
    uint64_t function_addr, function_size; /* size 0 for PUBLIC */
    uint32_t param_size;
    bool is_public;
    const char *file; /* innermost source location (line record), or NULL */
    uint32_t line;
    uint64_t line_addr; /* where that line record starts (valid with file) */
    /* INLINE records covering addr, outermost (depth 0) first. */
    sym_lookup_inline *inlines;
    size_t ninlines;
} sym_lookup;

/* Looks up a module-relative address.  Strings stay valid until close. */
bool sym_index_lookup(sym_index *ix, uint64_t addr, sym_lookup *out);
/* True when a FUNC contains addr or a PUBLIC precedes it (cheap: no
 * strings), for judging stack-scan candidates. */
bool sym_index_covers(sym_index *ix, uint64_t addr);
/* The STACK CFI rules in effect at addr: the INIT rules followed by every
 * delta row at or below addr, space-separated, into out (reset first).
 * Later definitions of a register override earlier ones. */
bool sym_index_cfi(sym_index *ix, uint64_t addr, sk_buf *out);

typedef struct sym_win_frame {
    unsigned type; /* 0 FPO, 4 FrameData */
    uint64_t addr, size;
    uint32_t prolog_size, epilog_size, param_size, saved_regs_size, locals_size, max_stack_size;
    bool allocates_base_pointer;
    const char *program; /* NULL when the record has none; valid until close */
} sym_win_frame;
/* The STACK WIN record covering addr (FrameData preferred over FPO). */
bool sym_index_stack_win(sym_index *ix, uint64_t addr, sym_win_frame *out);

/* Malformed lines skipped so far (by the indexing pass and by the lazy
 * parsing of functions that lookups touched). */
size_t sym_index_bad_lines(const sym_index *ix);
/* Records indexed (0 until the first lookup). */
size_t sym_index_func_count(sym_index *ix);

#endif
