/*
 * object.h (internal) — the object-access layer in front of libelf.  An ELF
 * file is mapped once; section bytes are handed out on demand, decompressed
 * (SHF_COMPRESSED zlib/zstd, legacy .zdebug_*) the first time they are
 * asked for and shared read-only by all worker threads after that, or
 * streamed (ds_stream_*) by a reader that needs each byte only once.
 */
#ifndef SYMKIT_DUMPSYMS_OBJECT_H
#define SYMKIT_DUMPSYMS_OBJECT_H

#include <gelf.h>
#include <libelf.h>
#include <pthread.h>

#include "common.h"

typedef struct ds_section {
    const char *name;     /* as in the file (".zdebug_info" stays so) */
    const char *dwarf_name; /* the plain DWARF name (".debug_info" for ".zdebug_info") */
    GElf_Shdr shdr;
    const uint8_t *raw;   /* bytes in the file (NULL for SHT_NOBITS) */
    size_t raw_size;
    /* Filled on first ds_section_data(): */
    bool loaded;
    int load_status;
    const uint8_t *data;  /* raw, or the decompressed copy */
    size_t size;
    uint8_t *owned;       /* decompressed copy we must free */
    char *load_msg;       /* why loading failed (malloc'd), when it did */
    /* Per section, so threads loading different sections (say .debug_info
     * and .debug_line, each hundreds of MB of zlib) do not wait on each
     * other. */
    pthread_mutex_t lock;
} ds_section;

typedef struct ds_object {
    char *path;
    sk_mapped map;
    uint8_t *image;       /* malloc'd image (ds_object_open_mem), else NULL */
    Elf *elf;
    int elf_class;        /* ELFCLASS32 / ELFCLASS64 */
    bool little_endian;
    uint16_t machine;     /* EM_* */
    uint16_t type;        /* ET_* */
    uint32_t flags;       /* e_flags */
    const char *arch;     /* Breakpad MODULE arch name, NULL if unknown */
    uint64_t load_addr;   /* lowest PT_LOAD p_vaddr */
    bool has_load_addr;
    uint8_t build_id[64];
    size_t build_id_len;
    ds_section *sections; /* index = ELF section index; [0] is the null one */
    size_t nsections;
} ds_object;

/* Opens and validates an ELF file: a non-ELF, truncated or inconsistent file
 * gives SK_EFORMAT with a message naming the file. */
int ds_object_open(ds_object *obj, const char *path, sk_error *err);
/* The same over an ELF image in memory (e.g. decompressed MiniDebugInfo);
 * takes ownership of image (malloc'd) whatever the outcome.  name is used
 * in messages. */
int ds_object_open_mem(ds_object *obj, const char *name, uint8_t *image, size_t size, sk_error *err);
/* Safe on an object whose open failed, and on a zeroed one. */
void ds_object_close(ds_object *obj);

/* The ELF embedded in bin's .gnu_debugdata (MiniDebugInfo: xz-compressed),
 * opened in memory.  SK_ENOTFOUND when there is none. */
int ds_open_minidebuginfo(ds_object *bin, ds_object *out, sk_error *err);

/* The first section with this name (NULL if none).  ".debug_x" also finds a
 * legacy ".zdebug_x". */
ds_section *ds_object_section(ds_object *obj, const char *name);
/* The section's contents, decompressed when needed.  Thread-safe. */
int ds_section_data(ds_object *obj, ds_section *sec, const uint8_t **data, size_t *size,
                    sk_error *err);
/* Decompresses, on up to `jobs` threads at once, the compressed sections
 * among `names` (NULL-terminated; ".debug_x" also means ".zdebug_x"), so
 * that the big ones inflate in parallel instead of one after the other on
 * first use.  Errors are left for ds_section_data() to report. */
void ds_object_prefetch(ds_object *obj, const char *const *names, int jobs);
/* Frees the decompressed copies of the sections among `names` (same
 * naming as ds_object_prefetch) once no reader holds a pointer into them;
 * a later ds_section_data() inflates them again.  Lets the caller drop the
 * DWARF sections before building the rest of the model. */
void ds_object_release(ds_object *obj, const char *const *names);
/* True when the file has DWARF debug information (.debug_info). */
bool ds_object_has_dwarf(ds_object *obj);

/* The Breakpad debug id (33 chars + NUL) and the code id: hex of the whole
 * build-id, or without one the .text hash as Breakpad writes it. */
int ds_object_debug_id(ds_object *obj, char debug_id[34], sk_error *err);
bool ds_object_code_id(ds_object *obj, char *out, size_t cap);
/* DT_SONAME of a shared library (false when it has none): the name
 * Breakpad's Linux client gives the module in a minidump. */
bool ds_object_soname(ds_object *obj, char *out, size_t cap);

/* Breakpad arch name for an ELF machine (NULL when unknown). */
const char *ds_arch_name(uint16_t machine, int elf_class, uint32_t e_flags);

/* A compressed section read from start to end without ever holding all of
 * it: the reader of a 360 MB .debug_info keeps only the units in flight.
 * Pages of the compressed bytes are handed back as they are consumed.
 * One thread at a time per stream. */
typedef struct ds_stream ds_stream;
bool ds_section_compressed(const ds_section *sec);
int ds_stream_open(ds_object *obj, ds_section *sec, ds_stream **out, sk_error *err);
/* The next n bytes; SK_EFORMAT (naming the file and section) when the
 * compressed data is corrupt, ends early or runs longer than its header
 * says (checked when the last byte is read). */
int ds_stream_read(ds_stream *st, uint8_t *buf, size_t n, sk_error *err);
uint64_t ds_stream_size(const ds_stream *st);   /* decompressed size */
uint64_t ds_stream_offset(const ds_stream *st); /* bytes read so far */
void ds_stream_close(ds_stream *st);

/* The size a section has once decompressed, read from its compression header
 * without decompressing (0 for SHT_NOBITS or an unreadable header). */
uint64_t ds_section_size(ds_object *obj, ds_section *sec);

#endif
