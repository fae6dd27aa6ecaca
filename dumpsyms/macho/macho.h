/*
 * macho.h (internal) — our own bounds-checked reader of Mach-O files: thin
 * 32- and 64-bit images in either byte order, fat/universal files
 * (FAT_MAGIC, FAT_MAGIC_64), the load commands a symbol dumper needs
 * (segments and sections, LC_SYMTAB, LC_DYSYMTAB, LC_UUID, LC_ID_DYLIB,
 * LC_FUNCTION_STARTS, LC_BUILD_VERSION), the nlist symbol table, the stabs
 * debug map (N_OSO/N_FUN/N_STSYM/N_GSYM).  Compact unwind
 * (__TEXT,__unwind_info) is decoded by cfi/compact_unwind.c, which sees
 * only the section's bytes.
 *
 * Why our own: nothing packaged in Debian 12 reads Mach-O as a library
 * (libelf is ELF only; LLVM's Object library is C++ and not a stable API),
 * and a symbol dumper is fed hostile files, so every load command, segment,
 * section, symbol and string offset is checked against
 * the bytes it was given before it is read.  A problem is one sk_error line
 * naming the file and what is wrong; nothing here prints or aborts.
 *
 * Everything works over a byte range the caller keeps mapped; parsed
 * structures point into it.  Names use the ds_macho_ prefix.
 */
#ifndef SYMKIT_DUMPSYMS_MACHO_H
#define SYMKIT_DUMPSYMS_MACHO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* ---- constants ----------------------------------------------------------- */

#define DS_MH_MAGIC 0xfeedfaceu
#define DS_MH_MAGIC_64 0xfeedfacfu
#define DS_FAT_MAGIC 0xcafebabeu
#define DS_FAT_MAGIC_64 0xcafebabfu

#define DS_CPU_ARCH_ABI64 0x01000000u
#define DS_CPU_TYPE_X86 7u
#define DS_CPU_TYPE_X86_64 (DS_CPU_TYPE_X86 | DS_CPU_ARCH_ABI64)
#define DS_CPU_TYPE_ARM 12u
#define DS_CPU_TYPE_ARM64 (DS_CPU_TYPE_ARM | DS_CPU_ARCH_ABI64)
#define DS_CPU_TYPE_ARM64_32 (DS_CPU_TYPE_ARM | 0x02000000u)
#define DS_CPU_TYPE_PPC 18u
#define DS_CPU_TYPE_PPC64 (DS_CPU_TYPE_PPC | DS_CPU_ARCH_ABI64)
#define DS_CPU_SUBTYPE_MASK 0xff000000u

#define DS_MH_OBJECT 0x1u
#define DS_MH_EXECUTE 0x2u
#define DS_MH_DYLIB 0x6u
#define DS_MH_BUNDLE 0x8u
#define DS_MH_DSYM 0xau

/* nlist n_type bits */
#define DS_N_STAB 0xe0u
#define DS_N_PEXT 0x10u
#define DS_N_TYPE 0x0eu
#define DS_N_EXT 0x01u
#define DS_N_UNDF 0x0u
#define DS_N_ABS 0x2u
#define DS_N_SECT 0xeu
#define DS_N_INDR 0xau
/* n_desc */
#define DS_N_ARM_THUMB_DEF 0x0008u
/* stabs */
#define DS_N_GSYM 0x20u
#define DS_N_FUN 0x24u
#define DS_N_STSYM 0x26u
#define DS_N_BNSYM 0x2eu
#define DS_N_SO 0x64u
#define DS_N_OSO 0x66u
#define DS_N_ENSYM 0x4eu

/* section flags */
#define DS_S_ATTR_PURE_INSTRUCTIONS 0x80000000u
#define DS_S_ATTR_SOME_INSTRUCTIONS 0x00000400u
#define DS_S_ZEROFILL 0x1u
#define DS_S_TYPE_MASK 0xffu

/* ---- fat files ----------------------------------------------------------- */

typedef struct ds_macho_slice {
    uint32_t cputype, cpusubtype;
    uint64_t offset, size; /* in the fat file */
    uint32_t align;
    const char *arch; /* Breakpad arch name; never NULL ("cpu-<n>" style names live in arch_buf) */
    char arch_buf[32];
} ds_macho_slice;

typedef struct ds_macho_fat {
    bool fat;           /* false: a thin file, one slice covering it */
    ds_macho_slice *slices;
    size_t nslices;
} ds_macho_fat;

/* What the first bytes say: 0 not Mach-O, 1 thin Mach-O, 2 fat.  A
 * 0xcafebabe Java class file (a large "nfat_arch", its version numbers) is
 * 0. */
int ds_macho_probe(const uint8_t *data, size_t size);
/* The slices of a thin or fat file, each checked to lie inside the file and
 * not to overlap another.  path names the file in messages. */
int ds_macho_fat_parse(const char *path, const uint8_t *data, size_t size, ds_macho_fat *out, sk_error *err);
void ds_macho_fat_free(ds_macho_fat *f);

/* Breakpad's name for a CPU (the mac dumper's: x86, x86_64, arm64, arm64e,
 * armv7, armv7s, …).  NULL when unknown. */
const char *ds_macho_arch_name(uint32_t cputype, uint32_t cpusubtype);

/* ---- one image ----------------------------------------------------------- */

typedef struct ds_macho_section {
    char segname[17], sectname[17];
    uint64_t addr, size;
    uint32_t offset, flags;
    const uint8_t *data; /* file bytes, NULL for zerofill or no file contents (dSYM's __TEXT) */
    size_t data_size;
    size_t segment;      /* index in ds_macho.segments */
} ds_macho_section;

typedef struct ds_macho_segment {
    char name[17];
    uint64_t vmaddr, vmsize, fileoff, filesize;
    uint32_t maxprot, initprot;
    size_t first_section, nsections;
} ds_macho_segment;

typedef struct ds_macho {
    char *path; /* for messages (owned copy) */
    const uint8_t *data; /* the image (one slice) */
    size_t size;
    bool is64, le;
    uint32_t cputype, cpusubtype, filetype, flags;
    const char *arch; /* Breakpad arch name, NULL if unknown */
    bool has_uuid;
    uint8_t uuid[16];
    ds_macho_segment *segments;
    size_t nsegments;
    ds_macho_section *sections;
    size_t nsections;
    bool has_text;
    uint64_t text_vmaddr; /* __TEXT's vmaddr: the load address */
    /* LC_SYMTAB (checked: symbols and strings inside the image) */
    const uint8_t *syms;
    uint32_t nsyms;
    const char *strtab;
    uint32_t strsize;
    /* LC_DYSYMTAB */
    bool has_dysymtab;
    uint32_t ilocalsym, nlocalsym, iextdefsym, nextdefsym, iundefsym, nundefsym;
    /* LC_ID_DYLIB's install name (points into the image, NUL-terminated inside the command) */
    const char *dylib_id;
    /* LC_FUNCTION_STARTS' data (checked to lie inside the image; ULEB128
     * deltas from __TEXT's vmaddr, decoded by ds_cu_function_starts) */
    const uint8_t *func_starts;
    size_t func_starts_size;
    /* LC_BUILD_VERSION */
    bool has_build_version;
    uint32_t platform, minos, sdk;
} ds_macho;

/* Parses one image (a thin file, or a fat file's slice).  Every load
 * command, segment, section and table is checked; a bad one is SK_EFORMAT
 * with "path: problem". */
int ds_macho_parse(ds_macho *m, const char *path, const uint8_t *data, size_t size, sk_error *err);
void ds_macho_free(ds_macho *m);

/* The section seg,sect (names compare on their first 16 bytes, as stored:
 * "__debug_str_offsets" finds "__debug_str_offs"). NULL when absent. */
const ds_macho_section *ds_macho_section_find(const ds_macho *m, const char *seg, const char *sect);
/* True when the section holds code (S_ATTR_PURE/SOME_INSTRUCTIONS, or it
 * is __TEXT,__text). */
bool ds_macho_section_is_code(const ds_macho_section *s);

/* Upper-case hex of the UUID (32 chars + NUL) and the Breakpad debug id
 * (that + "0"). false without LC_UUID. */
bool ds_macho_uuid_hex(const ds_macho *m, char out[33]);
bool ds_macho_debug_id(const ds_macho *m, char out[34]);

/* ---- symbols ------------------------------------------------------------- */

typedef struct ds_macho_nlist {
    const char *name; /* NUL-terminated inside the string table, or "" */
    uint8_t type, sect; /* sect: 1-based, 0 = NO_SECT */
    uint16_t desc;
    uint64_t value;
} ds_macho_nlist;

/* The i-th symbol table entry; SK_EFORMAT when its name lies outside the
 * string table or is not terminated inside it. */
int ds_macho_nlist_at(const ds_macho *m, uint32_t i, ds_macho_nlist *out, sk_error *err);

typedef struct ds_macho_public {
    const char *name; /* leading '_' dropped; points into the string table */
    uint64_t addr;    /* absolute, Thumb bit as in the file */
    bool thumb;       /* armv7: N_ARM_THUMB_DEF or an odd address */
    bool external;
} ds_macho_public;

/* The symbols worth a PUBLIC record: defined N_SECT symbols in code
 * sections, no stabs, no undefined, absolute or indirect ones.  *out is
 * malloc'd (free it), sorted by address then name. */
int ds_macho_publics(const ds_macho *m, ds_macho_public **out, size_t *n, sk_error *err);

/* ---- debug map (stabs) --------------------------------------------------- */

typedef struct ds_macho_mapsym {
    const char *name; /* as in the object file's symbol table (leading '_' kept) */
    uint64_t addr;    /* final address in the linked image */
    uint64_t size;    /* N_FUN: its size; 0 otherwise */
    uint8_t stab;     /* DS_N_FUN, DS_N_STSYM or DS_N_GSYM */
} ds_macho_mapsym;

typedef struct ds_macho_mapobj {
    const char *path;    /* N_OSO: the object file ("lib.a(foo.o)" for archive members) */
    uint64_t mtime;      /* N_OSO's n_value: its modification time (0 = unknown) */
    const char *so_dir, *so_name; /* the N_SO source directory and file, may be NULL */
    size_t first, nsyms; /* its symbols in ds_macho_debugmap.syms */
} ds_macho_mapobj;

typedef struct ds_macho_debugmap {
    ds_macho_mapobj *objs;
    size_t nobjs;
    ds_macho_mapsym *syms;
    size_t nsyms;
} ds_macho_debugmap;

/* Reads the stabs debug map.  N_GSYM carries no address: it is found by
 * name among the image's defined external symbols (as dsymutil does).
 * An image without stabs gives an empty map. */
int ds_macho_debug_map(const ds_macho *m, ds_macho_debugmap *out, sk_error *err);
void ds_macho_debug_map_free(ds_macho_debugmap *d);

#endif
