/*
 * object.h (internal) — the container-neutral object layer.  The DWARF, CFI
 * and symbol readers see an object file only through this interface:
 *
 *   - identity: format, cpu and Breakpad arch name, address size, byte
 *     order, file kind, entry point, load address, the linker's id
 *     (ELF build-id, Mach-O LC_UUID);
 *   - sections, looked up by their DWARF role: ".debug_info" finds ELF's
 *     .debug_info (or legacy .zdebug_info) and Mach-O's
 *     __DWARF,__debug_info; ".eh_frame" finds __TEXT,__eh_frame; each with
 *     neutral flags (allocated, executable, no file bytes) and kinds
 *     (symbol table, ARM exception index, ...);
 *   - executable address ranges (ELF PT_LOAD with PF_X, Mach-O segments
 *     with VM_PROT_EXECUTE);
 *   - a symbol iterator over the static and the dynamic symbol table.
 *
 * A container backend fills a ds_object and its ops: elf/elf_object.c
 * (libelf) and macho/ (our own reader).  Nothing outside elf/ calls libelf
 * and nothing outside macho/ knows a load command.
 *
 * The file is mapped once; section bytes are handed out on demand,
 * decompressed (ELF SHF_COMPRESSED zlib/zstd, legacy .zdebug_*) the first
 * time they are asked for and shared read-only by all worker threads after
 * that, or streamed (ds_stream_*) by a reader that needs each byte only
 * once.
 */
#ifndef SYMKIT_DUMPSYMS_OBJECT_H
#define SYMKIT_DUMPSYMS_OBJECT_H

#include <pthread.h>

#include "common.h"

typedef enum ds_format {
    DS_FORMAT_NONE = 0,
    DS_FORMAT_ELF,
    DS_FORMAT_MACHO,
} ds_format;

/* The processor, as far as the readers care (register numbering, Thumb
 * bits, disassembly).  DS_CPU_OTHER: a machine Breakpad has a name for but
 * no reader here treats specially. */
typedef enum ds_cpu {
    DS_CPU_UNKNOWN = 0,
    DS_CPU_X86,
    DS_CPU_X86_64,
    DS_CPU_ARM,
    DS_CPU_ARM64,
    DS_CPU_RISCV,
    DS_CPU_S390,
    DS_CPU_PPC64,
    DS_CPU_OTHER,
} ds_cpu;

typedef enum ds_file_kind {
    DS_FILE_OTHER = 0,
    DS_FILE_EXEC,   /* ELF ET_EXEC, Mach-O MH_EXECUTE */
    DS_FILE_SHARED, /* ELF ET_DYN (libraries and PIE), Mach-O MH_DYLIB / MH_BUNDLE */
    DS_FILE_RELOC,  /* ELF ET_REL, Mach-O MH_OBJECT: addresses are not final */
    DS_FILE_DEBUG,  /* Mach-O MH_DSYM: a dSYM's DWARF companion */
} ds_file_kind;

/* ds_section.flags */
#define DS_SEC_ALLOC 0x1u      /* occupies memory at run time */
#define DS_SEC_EXEC 0x2u       /* holds instructions */
#define DS_SEC_NOBITS 0x4u     /* no bytes in the file (.bss, stripped debug files' NOBITS) */
#define DS_SEC_COMPRESSED 0x8u /* ELF SHF_COMPRESSED: an Elf_Chdr precedes the data */

/* ds_section.kind: the few section types readers ask for by type. */
typedef enum ds_section_kind {
    DS_SECT_OTHER = 0,
    DS_SECT_SYMTAB,       /* ELF SHT_SYMTAB */
    DS_SECT_DYNSYM,       /* ELF SHT_DYNSYM */
    DS_SECT_NOTE,         /* ELF SHT_NOTE */
    DS_SECT_ARM_EXIDX,    /* ELF SHT_ARM_EXIDX */
} ds_section_kind;

typedef struct ds_section {
    const char *name;       /* as in the file (".zdebug_info", "__debug_info") */
    const char *dwarf_name; /* its role: ".debug_info" for .zdebug_info and __DWARF,__debug_info */
    ds_section_kind kind;
    uint32_t flags;         /* DS_SEC_* */
    uint64_t addr;          /* address in memory (ELF sh_addr, Mach-O addr) */
    uint64_t size;          /* size as in the header (compressed size for a compressed one) */
    uint64_t entsize;       /* entry size of a table section, else 0 */
    uint32_t link;          /* ELF sh_link (a symbol table's string table), else 0 */
    const uint8_t *raw;     /* bytes in the file (NULL for DS_SEC_NOBITS) */
    size_t raw_size;
    /* Filled on first ds_section_data(): */
    bool loaded;
    int load_status;
    const uint8_t *data;  /* raw, or the decompressed copy */
    size_t data_size;     /* bytes at data */
    uint8_t *owned;       /* decompressed copy we must free */
    char *load_msg;       /* why loading failed (malloc'd), when it did */
    /* Per section, so threads loading different sections (say .debug_info
     * and .debug_line, each hundreds of MB of zlib) do not wait on each
     * other. */
    pthread_mutex_t lock;
} ds_section;

/* A loaded segment: an address range the program has at run time. */
typedef struct ds_segment {
    uint64_t vaddr;
    uint64_t memsz;
    bool exec;
} ds_segment;

/* One symbol as the table holds it; the reader applies its own filter. */
typedef enum ds_symbol_type {
    DS_SYM_OTHER = 0,
    DS_SYM_FUNC,   /* ELF STT_FUNC; Mach-O: defined in an instruction section */
    DS_SYM_IFUNC,  /* ELF STT_GNU_IFUNC */
    DS_SYM_OBJECT, /* data */
} ds_symbol_type;

typedef enum ds_symbol_bind {
    DS_BIND_LOCAL = 0,
    DS_BIND_GLOBAL, /* ELF STB_GLOBAL, Mach-O N_EXT */
    DS_BIND_WEAK,   /* ELF STB_WEAK, Mach-O N_WEAK_DEF */
} ds_symbol_bind;

typedef struct ds_symbol {
    const char *name;     /* as the source language spells it (Mach-O's leading '_' dropped) */
    uint64_t value;       /* as stored: ELF ARM keeps its Thumb bit here */
    uint64_t size;        /* 0 when the table does not say (Mach-O) */
    ds_symbol_type type;
    ds_symbol_bind bind;
    size_t section;       /* index into ds_object.sections; 0 when undefined or absolute */
    bool defined;         /* not undefined (ELF SHN_UNDEF, Mach-O N_UNDF); absolute and
                           * common symbols are defined but have no section */
    bool absolute;        /* ELF SHN_ABS, Mach-O N_ABS */
    bool thumb;           /* ARM Thumb code (ELF: value bit 0 of a function; Mach-O: N_ARM_THUMB_DEF) */
} ds_symbol;

typedef enum ds_symtab_which {
    DS_SYMTAB_STATIC,  /* ELF .symtab, Mach-O LC_SYMTAB (stabs left out) */
    DS_SYMTAB_DYNAMIC, /* ELF .dynsym; Mach-O has none apart from LC_SYMTAB */
} ds_symtab_which;

/* Called for each symbol in table order; a non-zero return stops the walk
 * and is handed back by ds_object_symbols(). */
typedef int (*ds_symbol_fn)(void *arg, const ds_symbol *sym);

typedef struct ds_object ds_object;

/* What a container backend provides beyond the fields it fills. */
typedef struct ds_object_ops {
    /* Breakpad debug id (33 upper-case hex chars + NUL). */
    int (*debug_id)(ds_object *obj, char debug_id[34], sk_error *err);
    /* Code id as Breakpad writes it in INFO CODE_ID; false when none. */
    bool (*code_id)(ds_object *obj, char *out, size_t cap);
    /* The name a crash client gives the module in a minidump when it is
     * not the file name (ELF DT_SONAME); false when none. */
    bool (*soname)(ds_object *obj, char *out, size_t cap);
    /* SK_ENOTFOUND when the object has no such table; SK_EFORMAT (message
     * naming the file) when it is unreadable. */
    int (*symbols)(ds_object *obj, ds_symtab_which which, ds_symbol_fn fn, void *arg, sk_error *err);
    /* A second object inside this one holding the symbols a stripped file
     * lost (ELF MiniDebugInfo in .gnu_debugdata); NULL or SK_ENOTFOUND
     * when the container has none. */
    int (*open_symbol_supplement)(ds_object *obj, ds_object *out, sk_error *err);
    void (*close)(ds_object *obj);
} ds_object_ops;

struct ds_object {
    char *path;
    sk_mapped map;          /* the whole file (a fat file's other slices included) */
    uint8_t *image;         /* malloc'd image (ds_object_open_mem), else NULL */
    const ds_object_ops *ops;
    void *backend;          /* the backend's own state (libelf handle, parsed load commands) */

    /* Identity */
    ds_format format;
    const char *os;         /* Breakpad MODULE os: "Linux", "mac" */
    ds_cpu cpu;
    const char *arch;       /* Breakpad MODULE arch name, NULL if unknown */
    char machine_desc[32];  /* for messages: "ELF machine 21", "Mach-O cputype 18" */
    unsigned addr_size;     /* 4 or 8 */
    bool little_endian;
    ds_file_kind kind;
    uint64_t entry;         /* entry point (as stored: ARM keeps its Thumb bit) */
    bool has_entry;
    uint64_t load_addr;     /* lowest loaded address (ELF PT_LOAD, Mach-O __TEXT vmaddr) */
    bool has_load_addr;
    uint8_t build_id[64];   /* ELF NT_GNU_BUILD_ID, Mach-O LC_UUID */
    size_t build_id_len;

    /* Sections; [0] is always an empty one (ELF's null section), so index
     * 0 can mean "none". */
    ds_section *sections;
    size_t nsections;
    ds_segment *segments;
    size_t nsegments;
};

/* Opens an object file of any supported container (ELF now); an unknown,
 * truncated or inconsistent file gives SK_EFORMAT with a message naming
 * the file. */
int ds_object_open(ds_object *obj, const char *path, sk_error *err);
/* The same, choosing a fat Mach-O file's slice by its arch name (NULL:
 * the only one; a fat file with several is refused, listing them). */
int ds_object_open_arch(ds_object *obj, const char *path, const char *arch, sk_error *err);
/* The same over an image in memory (e.g. decompressed MiniDebugInfo);
 * takes ownership of image (malloc'd) whatever the outcome.  name is used
 * in messages. */
int ds_object_open_mem(ds_object *obj, const char *name, uint8_t *image, size_t size, sk_error *err);
/* Safe on an object whose open failed, and on a zeroed one. */
void ds_object_close(ds_object *obj);

/* The architectures a file holds, each with its id (hex UUID or build-id,
 * "" when none): every slice of a fat Mach-O, else the one object.
 * *out malloc'd. */
typedef struct ds_object_slice {
    char arch[32];
    char id[129];
} ds_object_slice;
int ds_object_slices(const char *path, ds_object_slice **out, size_t *n, sk_error *err);

/* For backends: checks that `path` is a regular file (open() on a FIFO or
 * a tty would block) and maps it into obj->map. */
int ds_object_map_file(ds_object *obj, const char *path, sk_error *err);
/* For backends: allocates n sections (plus the empty [0]) with their locks. */
void ds_object_alloc_sections(ds_object *obj, size_t n);

/* The first section with this name, else the first whose DWARF role it is
 * (NULL if none): ".debug_x" also finds a legacy ".zdebug_x" and Mach-O's
 * "__debug_x". */
ds_section *ds_object_section(ds_object *obj, const char *name);
/* The first section with this name and kind (NULL if none). */
ds_section *ds_object_section_of_kind(ds_object *obj, const char *name, ds_section_kind kind);
/* The allocated section with file bytes that holds [addr, addr+size), NULL if none. */
ds_section *ds_object_section_at(ds_object *obj, uint64_t addr, uint64_t size);
/* The section's contents, decompressed when needed.  Thread-safe. */
int ds_section_data(ds_object *obj, ds_section *sec, const uint8_t **data, size_t *size,
                    sk_error *err);
/* Decompresses, on up to `jobs` threads of their own, the compressed
 * sections among `names` (NULL-terminated; ".debug_x" also means
 * ".zdebug_x"), biggest first, so that the big ones inflate in parallel
 * instead of one after the other on first use, and in the background: it
 * returns at once, so the caller can do what needs none of them meanwhile.
 * A reader needs no handle: ds_section_data() on a section being inflated
 * waits for it (one lock a section), and one not yet begun is inflated by
 * the reader itself.  Errors are left for ds_section_data() to report.
 * ds_object_prefetch_finish() waits for the threads and frees the handle
 * (NULL is fine). */
typedef struct ds_prefetch ds_prefetch;
ds_prefetch *ds_object_prefetch_start(ds_object *obj, const char *const *names, int jobs);
/* True while some of its sections are still inflating (false for NULL). */
bool ds_object_prefetch_busy(ds_prefetch *p);
void ds_object_prefetch_finish(ds_prefetch *p);
/* Frees the decompressed copies of the sections among `names` (same
 * naming as ds_object_prefetch_start) once no reader holds a pointer into them;
 * a later ds_section_data() inflates them again.  Lets the caller drop the
 * DWARF sections before building the rest of the model. */
void ds_object_release(ds_object *obj, const char *const *names);
/* True when the file has DWARF debug information (.debug_info). */
bool ds_object_has_dwarf(ds_object *obj);

/* The Breakpad debug id (33 chars + NUL) and the code id (see ds_object_ops). */
int ds_object_debug_id(ds_object *obj, char debug_id[34], sk_error *err);
bool ds_object_code_id(ds_object *obj, char *out, size_t cap);
/* DT_SONAME of a shared library (false when it has none): the name
 * Breakpad's Linux client gives the module in a minidump. */
bool ds_object_soname(ds_object *obj, char *out, size_t cap);
/* Walks one symbol table (see ds_object_ops.symbols). */
int ds_object_symbols(ds_object *obj, ds_symtab_which which, ds_symbol_fn fn, void *arg, sk_error *err);
/* Opens the symbol supplement (see ds_object_ops); SK_ENOTFOUND when there is none. */
int ds_object_open_symbol_supplement(ds_object *obj, ds_object *out, sk_error *err);

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
/* Reads past the next n bytes (the same checks as ds_stream_read). */
int ds_stream_skip(ds_stream *st, uint64_t n, sk_error *err);
uint64_t ds_stream_size(const ds_stream *st);   /* decompressed size */
uint64_t ds_stream_offset(const ds_stream *st); /* bytes read so far */
void ds_stream_close(ds_stream *st);

/* The size a section has once decompressed, read from its compression header
 * without decompressing (0 for DS_SEC_NOBITS or an unreadable header). */
uint64_t ds_section_size(ds_object *obj, ds_section *sec);

#endif
