/*
 * collect.h (internal) — the pieces ds_dump() puts together.
 *
 * Each collector adds the records it is responsible for to ctx->m (in any
 * order: sym_module_finalize() sorts), with addresses relative to
 * ctx->load_addr.  A problem confined to one unit of input (a corrupt
 * compilation unit, one bad FDE) is logged as a warning and counted; only a
 * problem that makes the whole output wrong returns an error.
 */
#ifndef SYMKIT_DUMPSYMS_COLLECT_H
#define SYMKIT_DUMPSYMS_COLLECT_H

#include "dumpsyms.h"
#include "object.h"

typedef struct ds_context {
    ds_object *bin;      /* the binary: ids, .eh_frame, symbol tables */
    ds_object *dbg;      /* where DWARF lives: bin itself, a separate debug file, or NULL */
    uint64_t load_addr;  /* subtracted from every address */
    const ds_options *opt;
    sym_module *m;
    ds_summary *summary;
    /* The sections ctx->dbg is inflating in the background, or NULL: the
     * DWARF walk reads units ahead while they are busy. */
    ds_prefetch *prefetch;
} ds_context;

/* ds_dump() over objects already open (members of packages read into
 * memory): dbg NULL means bin itself or a debug file searched on disk.
 * name gives the module name (its last component) and is bin's name in
 * messages; the objects stay the caller's. */
int ds_dump_object(ds_object *bin, ds_object *dbg, const char *name, const ds_options *opt,
                   sym_module *m, ds_summary *summary, sk_error *err);

/* FILE/FUNC/line (and INLINE with opt->inlines) from ctx->dbg's DWARF. */
int ds_collect_dwarf(ds_context *ctx, sk_error *err);
/* STACK CFI from bin's .eh_frame and dbg's (or bin's) .debug_frame. */
int ds_collect_cfi(ds_context *ctx, sk_error *err);
/* PUBLIC from .symtab (else .dynsym) of dbg and bin, with their raw
 * (mangled) names; ds_name_publics() gives them display names once
 * sym_module_finalize() has dropped those a FUNC covers. */
int ds_collect_publics(ds_context *ctx, sk_error *err);
void ds_name_publics(sym_module *m);
/* Finds bin's separate debug file (build-id tree, .gnu_debuglink) under
 * opt->debug_dirs, then from opt->debuginfod; SK_ENOTFOUND when there is
 * none, SK_EMISMATCH when a candidate is refused (wrong build-id or CRC).
 * On SK_OK *found is the debug file, open (ds_object_close() it; its path
 * names it), else zeroed; *url is malloc'd when the file was fetched (else
 * NULL). */
int ds_find_debug_file(ds_object *bin, const ds_options *opt, ds_object *found, char **url,
                       sk_error *err);
/* Sets out to the place under debug_dir where bin's build-id names its
 * debug file (DIR/.build-id/xx/rest.debug); false when bin has no
 * build-id to look it up by. */
bool ds_build_id_debug_path(const ds_object *bin, const char *debug_dir, sk_buf *out);

/* dSYM companions (search/dsym.c).  ds_dsym_resolve: DSYM named by the
 * user, a Foo.dSYM bundle (its Contents/Resources/DWARF/<binary's name>,
 * else the only file there) or the companion file itself; SK_ENOTFOUND
 * naming it when there is none.  ds_dsym_beside: BINARY.dSYM's companion
 * beside the binary, NULL when there is none.  Paths are malloc'd. */
int ds_dsym_resolve(const char *dsym, const char *binary_path, char **out, sk_error *err);
char *ds_dsym_beside(const char *binary_path);

/* Hook for a Mach-O binary without a dSYM: FILE/FUNC/line/INLINE from the
 * object files its stabs debug map (N_OSO) names, relocated through the
 * map (macho/debug_map.c).  SK_ENOTFOUND when there is no debug map to
 * follow; the caller then writes PUBLIC and CFI only. */
int ds_collect_debug_map(ds_context *ctx, sk_error *err);

#endif
