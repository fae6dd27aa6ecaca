/*
 * common — the small foundation every symkit module stands on.
 *
 * Errors travel as return values plus an sk_error that carries a message a
 * user can act on ("libfoo.so: .debug_info is truncated at offset 0x1234").
 * The library never prints, never exits and never aborts on bad input: the
 * tools' main.c files decide what to show.  Also here: growable buffers,
 * arenas for per-module data, read-only file mapping, atomic file writes,
 * the debug-id / code-id text forms, symbol-store paths and a tiny logger
 * whose sink the tools install.
 *
 * Nothing in this module knows about DWARF, minidumps or HTTP.
 */
#ifndef SYMKIT_COMMON_H
#define SYMKIT_COMMON_H

#include <stdarg.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef SK_VERSION /* set by meson.build from the project version */
#define SK_VERSION "0.0.0-unknown"
#endif

#if defined(__GNUC__)
#define SK_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SK_PRINTF(fmt, args)
#endif

/* ---- errors ------------------------------------------------------------ */

typedef enum sk_status {
    SK_OK = 0,
    SK_EIO,        /* the operating system refused (open, read, write) */
    SK_EFORMAT,    /* the input is not what it claims to be, or corrupt */
    SK_ENOMEM,     /* out of memory */
    SK_EUSAGE,     /* wrong flags or arguments */
    SK_ENOTFOUND,  /* something looked for is absent (no debug info, ...) */
    SK_EMISMATCH,  /* two inputs that must agree do not (build-id, CRC) */
    SK_ENET,       /* network / server failure */
    SK_EUNSUPPORTED, /* valid input we do not handle (yet) */
} sk_status;

typedef struct sk_error {
    sk_status code;
    char msg[1024];
} sk_error;

/* Records `code` and a formatted message in err (may be NULL) and returns
 * code, so callers can write `return sk_fail(err, SK_EFORMAT, "...")`. */
int sk_fail(sk_error *err, sk_status code, const char *fmt, ...) SK_PRINTF(3, 4);
/* Prefixes an existing message with "prefix: " (e.g. the file name). */
void sk_error_prefix(sk_error *err, const char *fmt, ...) SK_PRINTF(2, 3);
void sk_error_clear(sk_error *err);
const char *sk_status_name(sk_status code);

/* ---- memory ------------------------------------------------------------ */

/* Allocation helpers that never return NULL: running out of memory is the
 * one failure we do not try to recover from (it aborts with a message). */
/* A zeroed block of its own pages (mmap), for big short-lived buffers that
 * should go back to the system when released rather than stay in malloc's
 * heap; release it with sk_xunmap and the same size. */
void *sk_xmap(size_t n);
void sk_xunmap(void *p, size_t n);
/* Page buffers handed from one short-lived user to the next (the units of
 * a streamed .debug_info, one after another): a buffer taken again keeps
 * the pages its last user touched, where fresh pages would each cost a
 * page fault and the kernel's zeroing.  A taken buffer is mapped for just
 * the bytes asked for (rounded to a page), and the pool keeps few and
 * small buffers waiting, so the resident set stays that of fresh
 * buffers.  Take and give may run on different threads. */
typedef struct sk_pages {
    uint8_t *p; /* n usable bytes, not zeroed; NULL when not taken */
    size_t n;
    size_t cap; /* bytes mapped */
} sk_pages;
typedef struct sk_page_pool sk_page_pool;
sk_page_pool *sk_page_pool_new(void);
sk_pages sk_page_pool_take(sk_page_pool *pool, size_t n);
/* Hands pg back (nothing when pg->p is NULL) and clears it. */
void sk_page_pool_give(sk_page_pool *pool, sk_pages *pg);
void sk_page_pool_free(sk_page_pool *pool);
void *sk_xmalloc(size_t n);
void *sk_xcalloc(size_t count, size_t size);
void *sk_xrealloc(void *p, size_t n);
/* Grows *p (an array of elem-sized items with capacity *cap) to hold need.
 * Inline for the check alone: the DWARF readers call it some 20 million
 * times for ceph-osd, nearly always with room to spare. */
void sk_grow_to(void **p, size_t *cap, size_t need, size_t elem);
static inline void sk_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need > *cap)
        sk_grow_to(p, cap, need, elem);
}
char *sk_xstrdup(const char *s);
char *sk_xstrndup(const char *s, size_t n);

/* Arena: many small allocations freed together (per module, per CU). */
typedef struct sk_arena sk_arena;
sk_arena *sk_arena_create(void);
void *sk_arena_alloc(sk_arena *a, size_t n); /* 16-byte aligned, zeroed */
char *sk_arena_strdup(sk_arena *a, const char *s);
/* x, y and z (any may be NULL) one after the other: cheaper than printf. */
char *sk_arena_concat(sk_arena *a, const char *x, const char *y, const char *z);
char *sk_arena_strndup(sk_arena *a, const char *s, size_t n);
char *sk_arena_printf(sk_arena *a, const char *fmt, ...) SK_PRINTF(2, 3);
size_t sk_arena_bytes(const sk_arena *a);
void sk_arena_destroy(sk_arena *a);

/* Growable byte buffer, always NUL-terminated when len > 0. */
typedef struct sk_buf {
    char *data;
    size_t len, cap;
} sk_buf;
void sk_buf_init(sk_buf *b);
void sk_buf_free(sk_buf *b);
void sk_buf_reset(sk_buf *b);
void sk_buf_append(sk_buf *b, const void *data, size_t n);
void sk_buf_puts(sk_buf *b, const char *s);
void sk_buf_putc(sk_buf *b, char c);
void sk_buf_printf(sk_buf *b, const char *fmt, ...) SK_PRINTF(2, 3);
void sk_buf_vprintf(sk_buf *b, const char *fmt, va_list ap);
/* Fast lower-case hex without 0x, the .sym number form. */
void sk_buf_hex(sk_buf *b, uint64_t v);
void sk_buf_dec(sk_buf *b, uint64_t v);
/* For a caller that formats a whole record at once: room for n more bytes
 * (and the NUL), returned as where to write; then sk_buf_commit with the
 * end of what was written.  Inline for the check alone: the .sym writer
 * and the CFI gatherer ask once per record (millions), nearly always
 * with room to spare. */
void sk_buf_grow(sk_buf *b, size_t n);
static inline char *sk_buf_room(sk_buf *b, size_t n)
{
    if (b->len + n + 1 > b->cap)
        sk_buf_grow(b, n);
    return b->data + b->len;
}
static inline void sk_buf_commit(sk_buf *b, char *end)
{
    b->len = (size_t)(end - b->data);
    *end = '\0';
}
/* v in lower-case hex / decimal at p (at most 16 / 20 bytes, no NUL);
 * returns the end. */
extern const char sk_hex_pairs[513];
extern const uint64_t sk_pow10[20];
static inline char *sk_fmt_hex(char *p, uint64_t v)
{
    /* Digits counted from the top bit, then written back to front, two at
     * a step (millions of addresses in a big .sym). */
    unsigned n = (unsigned)(67 - __builtin_clzll(v | 1)) / 4;
    char *e = p + n;
    for (; v > 0xf; v >>= 8) {
        e -= 2;
        memcpy(e, &sk_hex_pairs[(v & 0xff) * 2], 2);
    }
    if (e > p)
        *--e = "0123456789abcdef"[v];
    return p + n;
}
static inline char *sk_fmt_dec(char *p, uint64_t v)
{
    /* Digit count from the top bit (log10 2 ~ 1233/4096), then two digits
     * at a step. */
    unsigned t = (unsigned)((64 - __builtin_clzll(v | 1)) * 1233) >> 12;
    unsigned n = t + (v >= sk_pow10[t]);
    if (n == 0)
        n = 1;
    char *e = p + n;
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233"
                                   "34353637383940414243444546474849505152535455565758596061626364656667"
                                   "6869707172737475767778798081828384858687888990919293949596979899";
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        e -= 2;
        memcpy(e, &pairs[d], 2);
    }
    if (v >= 10)
        memcpy(e - 2, &pairs[v * 2], 2);
    else
        e[-1] = (char)('0' + v);
    return p + n;
}

/* ---- files ------------------------------------------------------------- */

/* A read-only mapping of a whole file (empty files map to data == NULL). */
typedef struct sk_mapped {
    const uint8_t *data;
    size_t size;
} sk_mapped;
int sk_map_file(const char *path, sk_mapped *m, sk_error *err);
void sk_unmap(sk_mapped *m);

/* Reads a whole (small) file into a malloc'd, NUL-terminated buffer. */
int sk_read_file(const char *path, char **data, size_t *size, sk_error *err);

/* Writes data to path atomically: a temporary file in the same directory,
 * fsync'd, then renamed over path, so readers never see a partial file and
 * a failure never leaves one behind. */
int sk_write_file_atomic(const char *path, const void *data, size_t len, sk_error *err);
/* The same for a writer that produces the file in pieces (a .sym of 160 MB
 * need not be held whole): open, write any number of times, then commit
 * (which reports the first failed write, if any) or abort.  Both commit and
 * abort release everything; after a failed commit nothing is left behind. */
typedef struct sk_atomic_file {
    char *path, *tmp;
    int fd;
    int error; /* errno of the first failed write, 0 while all went well */
} sk_atomic_file;
int sk_atomic_open(sk_atomic_file *f, const char *path, sk_error *err);
bool sk_atomic_write(sk_atomic_file *f, const void *data, size_t len);
int sk_atomic_commit(sk_atomic_file *f, sk_error *err);
void sk_atomic_abort(sk_atomic_file *f);
/* A committer finishes commits (fsync, rename) on a thread of its own, in
 * the order they are handed to it, so that writers need not wait on the
 * disk; done is then called with the writer's ticket, the file's path and
 * the commit's outcome (err is NULL on success), one call at a time.
 * sk_committer_hand() hands over an open, written file in place of
 * sk_atomic_commit() (a failed write included: done reports it); the
 * caller's f owns nothing afterwards.
 * sk_committer_post() passes a ticket without a file on to done, in turn
 * with the commits (results that are not files stay in order).  Without a
 * thread to be had, entries are run at once.  sk_committer_finish() waits
 * for everything handed over and frees the committer. */
typedef struct sk_committer sk_committer;
typedef void (*sk_commit_fn)(void *ticket, const char *path, int rc, const sk_error *err, void *ctx);
sk_committer *sk_committer_start(sk_commit_fn done, void *ctx);
void sk_committer_hand(sk_committer *c, sk_atomic_file *f, void *ticket);
void sk_committer_post(sk_committer *c, void *ticket);
void sk_committer_finish(sk_committer *c);
/* mkdir -p; existing directories are fine. */
int sk_mkdir_p(const char *path, sk_error *err);
bool sk_is_dir(const char *path);
bool sk_is_file(const char *path);
/* The last path component ("a/b/libfoo.so" -> "libfoo.so"). */
const char *sk_basename(const char *path);
/* Joins two path parts with one '/', into a malloc'd string. */
char *sk_path_join(const char *a, const char *b);

/* ---- ids --------------------------------------------------------------- */

#define SK_DEBUG_ID_LEN 33 /* 32 hex digits of GUID + 1 digit of age */

/* Upper-case hex of bytes into out (2*n+1 bytes). */
void sk_hex_upper(const uint8_t *bytes, size_t n, char *out);
/* Breakpad debug id from an ELF build-id (or .text hash): the first 16
 * bytes, zero-padded; fields 0-3, 4-5, 6-7 byte-swapped (GUID layout) only
 * for little-endian files; then age "0".  out gets 34 bytes. */
void sk_debug_id_from_build_id(const uint8_t *id, size_t n, bool little_endian, char out[34]);
/* The debug id of an ELF without build-id: XOR of the first min(4096, n)
 * bytes of .text folded into 16 bytes, then as above. */
void sk_debug_id_from_text(const uint8_t *text, size_t n, bool little_endian, char out[34]);
/* The code id Breakpad writes for such a file: the same 16-byte hash,
 * unswapped, as 32 upper-case hex digits (33 bytes with the NUL). */
void sk_code_id_from_text(const uint8_t *text, size_t n, char out[33]);
/* True for 33 upper-case hex characters (debug id with age). Lower-case
 * ids upload fine and are never found, so they are not accepted. */
bool sk_is_debug_id(const char *s);

/* ---- symbol stores ----------------------------------------------------- */

/* True when s is safe as one component of a local path: non-empty, not "."
 * or "..", no '/' and no control bytes (a file called "[" is fine).  What a
 * local store accepts. */
bool sk_is_safe_path_component(const char *s);
/* Stricter: what a symbol server (Tecken) accepts in a key or zip member
 * name — printable ASCII without \ and ^ ` > < { } [ ] # % " ' |, on top
 * of sk_is_safe_path_component(). */
bool sk_is_safe_key_component(const char *s);
/* "<debug_file>/<DEBUG_ID>/<debug_file without .pdb>.sym", malloc'd, or
 * NULL (with err) when debug_file is not a safe path component (see
 * sk_is_safe_path_component; uploaders check the stricter rules). */
char *sk_store_key(const char *debug_file, const char *debug_id, sk_error *err);

/* ---- logging ----------------------------------------------------------- */

typedef enum sk_log_level { SK_LOG_ERROR, SK_LOG_WARN, SK_LOG_INFO, SK_LOG_DEBUG } sk_log_level;
/* Libraries report through sk_log; the tools install a sink (default: none,
 * so a library used from tests stays silent). */
typedef void (*sk_log_sink)(sk_log_level level, const char *msg, void *ctx);
void sk_log_set_sink(sk_log_sink sink, void *ctx, sk_log_level max_level);
void sk_log(sk_log_level level, const char *fmt, ...) SK_PRINTF(2, 3);
/* The sink the tools use: "tool: level: message" on stderr. */
void sk_log_stderr_sink(sk_log_level level, const char *msg, void *ctx);

/* ---- misc -------------------------------------------------------------- */

/* CRC-32 (the gnu_debuglink / zlib polynomial), chainable from crc = 0. */
uint32_t sk_crc32(uint32_t crc, const void *data, size_t n);
/* Parses an unsigned hex number without 0x; false on junk or overflow. */
bool sk_parse_hex(const char *s, size_t n, uint64_t *out);
/* Parses an unsigned decimal number; false on junk or overflow. */
bool sk_parse_dec(const char *s, size_t n, uint64_t *out);
/* qsort that accepts an empty array with a NULL base (qsort's base is
 * declared nonnull, and UBSan rightly stops on qsort(NULL, 0, ...)). */
void sk_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));
/* Monotonic clock in seconds, for progress and timeouts (never for tests). */
double sk_now(void);

/* ---- JSON (json.c) ------------------------------------------------------
 * One writer and one reader for every JSON the tools speak: stackwalk's
 * minidump-stackwalk report, symverify's --json and --baseline, Tecken's
 * replies to symupload.
 *
 * The writer streams into an sk_buf; a NULL key writes a bare value (array
 * elements, the top-level document).  Pretty output puts each member on
 * its own line indented by two spaces per level, ": " after keys, and keeps
 * empty containers as {} and []; compact output has no whitespace at all.
 * Closing the outermost container ends the document with a line break.
 * Strings: control characters are escaped, other bytes (DEL, UTF-8, even
 * invalid UTF-8) are copied as they are; a NULL string writes null. */

typedef struct sk_json_writer {
    sk_buf *out;
    bool pretty;
    int depth;
    bool first; /* nothing written yet in the open container: no comma */
} sk_json_writer;

void sk_json_writer_init(sk_json_writer *w, sk_buf *out, bool pretty);
void sk_json_object(sk_json_writer *w, const char *key);
void sk_json_array(sk_json_writer *w, const char *key);
void sk_json_end_object(sk_json_writer *w);
void sk_json_end_array(sk_json_writer *w);
void sk_json_str(sk_json_writer *w, const char *key, const char *v);
void sk_json_uint(sk_json_writer *w, const char *key, uint64_t v);
void sk_json_int(sk_json_writer *w, const char *key, int64_t v);
/* An address as a string, "0x" and at least `digits` lower-case digits. */
void sk_json_hex(sk_json_writer *w, const char *key, uint64_t v, int digits);
/* A number with a fixed count of decimals; NaN and infinities write null. */
void sk_json_fixed(sk_json_writer *w, const char *key, double v, int decimals);
void sk_json_bool(sk_json_writer *w, const char *key, bool v);
void sk_json_null(sk_json_writer *w, const char *key);

/* The reader parses a whole document into a tree.  It is strict (RFC 8259
 * grammar, no trailing commas or junk), reads only within len bytes, takes
 * at most SK_JSON_MAX_DEPTH levels of nesting (a lone scalar is level 1)
 * and refuses numbers no double can hold.
 * Errors read "bad JSON at byte N: what".  Strings are NUL-terminated
 * UTF-8: \u escapes are decoded (pairs joined; U+0000 and lone surrogates
 * become U+FFFD), raw bytes are kept as they are. */

#define SK_JSON_MAX_DEPTH 64

typedef enum sk_json_type {
    SK_JSON_NULL,
    SK_JSON_BOOL,
    SK_JSON_NUMBER,
    SK_JSON_STRING,
    SK_JSON_ARRAY,
    SK_JSON_OBJECT
} sk_json_type;

typedef struct sk_json_value {
    sk_json_type type;
    bool b;                       /* SK_JSON_BOOL */
    double num;                   /* SK_JSON_NUMBER */
    char *str;                    /* SK_JSON_STRING */
    struct sk_json_value *items;  /* SK_JSON_ARRAY and SK_JSON_OBJECT values */
    char **keys;                  /* SK_JSON_OBJECT keys, parallel to items */
    size_t n;
} sk_json_value;

/* On failure *out is left empty (SK_JSON_NULL) and needs no free. */
int sk_json_parse(const char *text, size_t len, sk_json_value *out, sk_error *err);
void sk_json_free(sk_json_value *v);
/* The member called key of an object; NULL when absent or v is no object. */
const sk_json_value *sk_json_get(const sk_json_value *v, const char *key);
/* A number member, or def when it is absent or not a number. */
double sk_json_get_number(const sk_json_value *v, const char *key, double def);
/* The first member called key at any depth, in document order. */
const sk_json_value *sk_json_find(const sk_json_value *v, const char *key);
/* A number that is a whole value in [0, 2^53); false otherwise. */
bool sk_json_u64(const sk_json_value *v, uint64_t *out);

/* ---- libraries loaded on first use (dynlib.c) --------------------------- */

/* A shared library the tools need only for some inputs (libarchive for
 * packages, libdebuginfod for a debuginfod server).  Linked normally, such
 * a library and everything it pulls in (libcurl, GnuTLS, Kerberos, ICU,
 * libxml2: 37 more libraries) is mapped and relocated at every start,
 * 7 ms and 15M instructions per process, paid by every CI step that dumps
 * one file.  Its stubs (beside its one user) load it with dlopen when it
 * is first called instead. */
typedef struct sk_dynlib {
    const char *soname;  /* as its -dev package links it, e.g. "libarchive.so.13" */
    const char *purpose; /* for the error: "reading packages" */
    pthread_mutex_t lock;
    void *handle;
} sk_dynlib;
#define SK_DYNLIB_INIT(soname, purpose) {(soname), (purpose), PTHREAD_MUTEX_INITIALIZER, NULL}

/* The address of the library's function `name`, loading the library on
 * the first call (thread-safe).  When the library or the function cannot
 * be had, says so in one line on stderr and exits with status 1, as the
 * dynamic loader would have at start-up, but only for a run that needs it. */
void *sk_dynlib_sym(sk_dynlib *lib, const char *name);
/* sk_dynlib_sym cached in *slot (one static per stub): after the first
 * call a stub costs one atomic load. */
void *sk_dynlib_fn(sk_dynlib *lib, void **slot, const char *name);
/* A stub with the library function's own name and prototype (the
 * library's header, included first, makes the compiler check it). */
#define SK_DYNLIB_STUB(lib, ret, name, params, args)                                     \
    ret name params                                                                     \
    {                                                                                   \
        static void *slot;                                                              \
        return ((ret(*) params)sk_dynlib_fn(&(lib), &slot, #name))args;                  \
    }
#define SK_DYNLIB_STUB_VOID(lib, name, params, args)                                     \
    void name params                                                                    \
    {                                                                                   \
        static void *slot;                                                              \
        ((void(*) params)sk_dynlib_fn(&(lib), &slot, #name))args;                        \
    }

#endif
