/*
 * debugmap.c — a Mach-O image's DWARF read from its object files through
 * the debug map (see debugmap.h for the why).
 *
 * Rebasing: an object file's sections start at address 0, and the DWARF
 * reader rightly takes a function at 0 for one the linker dropped.  So each
 * object is copied and "linked" at OBJ_BASE: its segment and section
 * addresses and its symbols move up by OBJ_BASE, and so does every address
 * field its relocations name in the __DWARF sections (a plain address
 * relocation: X86_64/ARM64_RELOC_UNSIGNED, GENERIC/ARM_RELOC_VANILLA;
 * differences of two symbols are left alone, they do not move).  That is
 * the only relocation work: the distance from the rebased object to the
 * image is then one number per function, taken from the symbol tables.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "debugmap.h"
#include "macho.h"
#include "macho_object.h"

/* Where each object is rebased: above 0 and 1 (ld's marks for dropped
 * code), page-aligned so no section's alignment changes. */
#define OBJ_BASE 0x10000u

#define LC_SEGMENT 0x1u
#define LC_SYMTAB 0x2u
#define LC_SEGMENT_64 0x19u

/* ---- little helpers over possibly big-endian bytes ----------------------- */

static uint32_t rd32(const uint8_t *p, bool le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 | (uint32_t)p[0] << 24;
}

static uint64_t rd64(const uint8_t *p, bool le)
{
    uint64_t lo = rd32(p + (le ? 0 : 4), le), hi = rd32(p + (le ? 4 : 0), le);
    return lo | hi << 32;
}

static void wr32(uint8_t *p, uint32_t v, bool le)
{
    for (int i = 0; i < 4; i++)
        p[le ? i : 3 - i] = (uint8_t)(v >> (8 * i));
}

static void wr64(uint8_t *p, uint64_t v, bool le)
{
    wr32(p + (le ? 0 : 4), (uint32_t)v, le);
    wr32(p + (le ? 4 : 0), (uint32_t)(v >> 32), le);
}

/* Adds delta to the n-byte address field at p (4 or 8 bytes). */
static void add_addr(uint8_t *p, unsigned n, uint64_t delta, bool le)
{
    if (n == 8)
        wr64(p, rd64(p, le) + delta, le);
    else
        wr32(p, rd32(p, le) + (uint32_t)delta, le);
}

/* ---- reading one object file --------------------------------------------- */

/* An archive member's bytes ("lib.a(member.o)"), with its mtime.
 * SK_ENOTFOUND when the archive or the member is not there. */
static int read_member(const char *archive_path, const char *member, uint8_t **data, size_t *size,
                       uint64_t *mtime, sk_error *err)
{
    struct archive *a = archive_read_new();
    archive_read_support_format_ar(a);
    if (archive_read_open_filename(a, archive_path, 1 << 16) != ARCHIVE_OK) {
        int rc = sk_fail(err, SK_ENOTFOUND, "%s: %s", archive_path, archive_error_string(a));
        archive_read_free(a);
        return rc;
    }
    int rc = sk_fail(err, SK_ENOTFOUND, "%s: no member %s", archive_path, member);
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(e);
        if (!name || strcmp(name, member) != 0)
            continue;
        int64_t n = archive_entry_size(e);
        if (n <= 0 || (uint64_t)n > SIZE_MAX / 2) {
            rc = sk_fail(err, SK_EFORMAT, "%s(%s): member of size %lld", archive_path, member, (long long)n);
            break;
        }
        uint8_t *buf = sk_xmalloc((size_t)n);
        size_t have = 0;
        while (have < (size_t)n) {
            la_ssize_t got = archive_read_data(a, buf + have, (size_t)n - have);
            if (got <= 0)
                break;
            have += (size_t)got;
        }
        if (have != (size_t)n) {
            free(buf);
            rc = sk_fail(err, SK_EFORMAT, "%s(%s): member ends early", archive_path, member);
            break;
        }
        *data = buf;
        *size = have;
        *mtime = (uint64_t)archive_entry_mtime(e);
        rc = SK_OK;
        break;
    }
    if (r != ARCHIVE_OK && r != ARCHIVE_EOF && rc == SK_ENOTFOUND)
        rc = sk_fail(err, SK_EFORMAT, "%s: %s", archive_path, archive_error_string(a));
    archive_read_free(a);
    return rc;
}

/* The object file's bytes (a malloc'd copy we may rebase) and its mtime. */
static int read_object(const char *oso, uint8_t **data, size_t *size, uint64_t *mtime, sk_error *err)
{
    size_t len = strlen(oso);
    const char *open = strrchr(oso, '(');
    if (len > 2 && oso[len - 1] == ')' && open && open != oso) {
        char *archive_path = sk_xstrdup(oso);
        archive_path[open - oso] = '\0';
        char *member = sk_xstrdup(open + 1);
        member[strlen(member) - 1] = '\0';
        struct stat st;
        int rc;
        if (stat(archive_path, &st) != 0)
            rc = sk_fail(err, SK_ENOTFOUND, "%s is missing", archive_path);
        else
            rc = read_member(archive_path, member, data, size, mtime, err);
        free(archive_path);
        free(member);
        return rc;
    }
    struct stat st;
    if (stat(oso, &st) != 0 || !S_ISREG(st.st_mode))
        return sk_fail(err, SK_ENOTFOUND, "%s is missing", oso);
    *mtime = (uint64_t)st.st_mtime;
    char *buf = NULL;
    int rc = sk_read_file(oso, &buf, size, err);
    if (rc)
        return rc;
    *data = (uint8_t *)buf;
    return SK_OK;
}

/* Relocations of one section; ptr: the section header in the copy. */
static void rebase_relocs(uint8_t *img, size_t size, const ds_macho *o, uint32_t sect_off,
                          uint32_t sect_size, uint32_t reloff, uint32_t nreloc, const uint64_t *sym_value,
                          uint32_t nsyms)
{
    bool le = o->le;
    if (reloff > size || nreloc > (size - reloff) / 8)
        return; /* ds_macho_parse does not check relocations; we need only the good ones */
    bool skip_next = false;
    for (uint32_t i = 0; i < nreloc; i++) {
        const uint8_t *r = img + reloff + (size_t)i * 8;
        uint32_t w0 = rd32(r, le), w1 = rd32(r + 4, le);
        if (skip_next) {
            skip_next = false;
            continue;
        }
        uint32_t addr, type, length;
        bool ext = false, scattered = false;
        uint32_t symnum = 0;
        if (!o->is64 && (w0 & 0x80000000u)) {
            /* scattered_relocation_info: the target address in r_value */
            scattered = true;
            addr = w0 & 0x00ffffffu;
            type = (w0 >> 24) & 0xfu;
            length = (w0 >> 28) & 0x3u;
        } else {
            addr = w0;
            symnum = le ? (w1 & 0x00ffffffu) : (w1 >> 8);
            length = le ? (w1 >> 25) & 0x3u : (w1 >> 5) & 0x3u;
            ext = le ? (w1 >> 27) & 1u : (w1 >> 4) & 1u;
            type = le ? (w1 >> 28) & 0xfu : w1 & 0xfu;
        }
        /* The subtractor halves of A - B: x86_64 SUBTRACTOR (5) and arm64
         * SUBTRACTOR (1) are followed by the UNSIGNED they pair with. */
        if (o->is64 && ((o->cputype == DS_CPU_TYPE_X86_64 && type == 5) ||
                        (o->cputype == DS_CPU_TYPE_ARM64 && type == 1))) {
            skip_next = true;
            continue;
        }
        if (type != 0) /* only plain addresses move; 32-bit SECTDIFFs and PAIRs do not */
            continue;
        (void)scattered;
        unsigned n = length == 3 ? 8 : length == 2 ? 4 : 0;
        if (!n || addr > sect_size || n > sect_size - addr)
            continue;
        uint8_t *field = img + sect_off + addr;
        if (ext) {
            /* The field holds the addend; the symbol its object address. */
            if (symnum >= nsyms || sym_value[symnum] == UINT64_MAX)
                continue;
            add_addr(field, n, sym_value[symnum] + OBJ_BASE, le);
        } else {
            add_addr(field, n, OBJ_BASE, le);
        }
    }
}

/* Rebases the object image (a private copy) at OBJ_BASE: see the file
 * comment.  o is the parse of the same bytes, so every command is known to
 * lie inside them. */
static void rebase_object(uint8_t *img, size_t size, const ds_macho *o)
{
    bool le = o->le;
    /* Each symbol's value before rebasing, for extern relocations. */
    uint64_t *sym_value = sk_xcalloc(o->nsyms ? o->nsyms : 1, sizeof *sym_value);
    for (uint32_t i = 0; i < o->nsyms; i++) {
        ds_macho_nlist n;
        sk_error e = {0};
        sym_value[i] = UINT64_MAX;
        if (ds_macho_nlist_at(o, i, &n, &e) == SK_OK && !(n.type & DS_N_STAB) &&
            (n.type & DS_N_TYPE) == DS_N_SECT)
            sym_value[i] = n.value;
    }
    size_t off = o->is64 ? 32 : 28;
    uint32_t ncmds = rd32(img + 16, le);
    for (uint32_t c = 0; c < ncmds && off + 8 <= size; c++) {
        uint32_t cmd = rd32(img + off, le), cmdsize = rd32(img + off + 4, le);
        if (cmdsize < 8 || cmdsize > size - off)
            break;
        if (cmd == LC_SEGMENT_64 && cmdsize >= 72) {
            add_addr(img + off + 24, 8, OBJ_BASE, le); /* vmaddr */
            uint32_t nsects = rd32(img + off + 64, le);
            for (uint32_t s = 0; s < nsects && 72 + (size_t)(s + 1) * 80 <= cmdsize; s++) {
                uint8_t *sh = img + off + 72 + (size_t)s * 80;
                uint64_t ssize = rd64(sh + 40, le);
                uint32_t soff = rd32(sh + 48, le), reloff = rd32(sh + 56, le), nreloc = rd32(sh + 60, le);
                if (memcmp(sh + 16, "__DWARF", 8) == 0 && soff <= size && ssize <= size - soff)
                    rebase_relocs(img, size, o, soff, (uint32_t)ssize, reloff, nreloc, sym_value, o->nsyms);
                add_addr(sh + 32, 8, OBJ_BASE, le); /* addr */
            }
        } else if (cmd == LC_SEGMENT && cmdsize >= 56) {
            add_addr(img + off + 24, 4, OBJ_BASE, le);
            uint32_t nsects = rd32(img + off + 48, le);
            for (uint32_t s = 0; s < nsects && 56 + (size_t)(s + 1) * 68 <= cmdsize; s++) {
                uint8_t *sh = img + off + 56 + (size_t)s * 68;
                uint32_t ssize = rd32(sh + 36, le), soff = rd32(sh + 40, le);
                uint32_t reloff = rd32(sh + 48, le), nreloc = rd32(sh + 52, le);
                if (memcmp(sh + 16, "__DWARF", 8) == 0 && soff <= size && ssize <= size - soff)
                    rebase_relocs(img, size, o, soff, ssize, reloff, nreloc, sym_value, o->nsyms);
                add_addr(sh + 32, 4, OBJ_BASE, le);
            }
        } else if (cmd == LC_SYMTAB && cmdsize >= 24) {
            uint32_t symoff = rd32(img + off + 8, le), nsyms = rd32(img + off + 12, le);
            size_t esize = o->is64 ? 16 : 12;
            if (symoff <= size && nsyms <= (size - symoff) / esize)
                for (uint32_t i = 0; i < nsyms; i++) {
                    uint8_t *nl = img + symoff + (size_t)i * esize;
                    if (!(nl[4] & DS_N_STAB) && (nl[4] & DS_N_TYPE) == DS_N_SECT)
                        add_addr(nl + 8, o->is64 ? 8 : 4, OBJ_BASE, le);
                }
        }
        off += cmdsize;
    }
    free(sym_value);
}

/* ---- moving functions ---------------------------------------------------- */

typedef struct moved {
    uint64_t obj_addr; /* in the rebased object */
    uint64_t final;    /* in the image */
    uint64_t size;     /* N_FUN's size (0: unknown) */
} moved;

static int cmp_moved(const void *a, const void *b)
{
    const moved *x = a, *y = b;
    return x->obj_addr < y->obj_addr ? -1 : x->obj_addr > y->obj_addr;
}

static const moved *find_moved(const moved *v, size_t n, uint64_t addr)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid].obj_addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo && v[lo - 1].obj_addr == addr ? &v[lo - 1] : NULL;
}

typedef struct name_addr {
    const char *name;
    uint64_t addr;
} name_addr;

static int cmp_name_addr(const void *a, const void *b)
{
    const name_addr *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The object's defined symbols by name (rebased addresses), sorted. */
static name_addr *object_symbols(const ds_macho *o, size_t *n)
{
    name_addr *v = sk_xcalloc(o->nsyms ? o->nsyms : 1, sizeof *v);
    *n = 0;
    for (uint32_t i = 0; i < o->nsyms; i++) {
        ds_macho_nlist nl;
        sk_error e = {0};
        if (ds_macho_nlist_at(o, i, &nl, &e) != SK_OK || (nl.type & DS_N_STAB) ||
            (nl.type & DS_N_TYPE) != DS_N_SECT || !nl.name[0])
            continue;
        v[(*n)++] = (name_addr){nl.name, nl.value};
    }
    qsort(v, *n, sizeof *v, cmp_name_addr);
    return v;
}

static const name_addr *find_name(const name_addr *v, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v[mid].name, name);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(v[lo].name, name) == 0 ? &v[lo] : NULL;
}

/* Copies the scratch model's functions the map knows into ctx->m, moved. */
static size_t move_functions(ds_context *ctx, sym_module *scratch, const moved *mv, size_t nmv)
{
    sym_module *m = ctx->m;
    uint32_t *file_map = sk_xcalloc(scratch->nfiles ? scratch->nfiles : 1, sizeof *file_map);
    uint32_t *origin_map = sk_xcalloc(scratch->norigins ? scratch->norigins : 1, sizeof *origin_map);
    bool *file_done = sk_xcalloc(scratch->nfiles ? scratch->nfiles : 1, 1);
    bool *origin_done = sk_xcalloc(scratch->norigins ? scratch->norigins : 1, 1);
    size_t kept = 0;
    for (size_t i = 0; i < scratch->nfuncs; i++) {
        const sym_func *sf = &scratch->funcs[i];
        /* Addresses in the scratch model are the rebased object's (load 0). */
        const moved *mvd = find_moved(mv, nmv, sf->addr);
        if (!mvd)
            continue; /* dead-stripped, or code no symbol names */
        uint64_t delta = mvd->final - mvd->obj_addr;
        sym_func *f = sym_module_add_func(m, sf->addr + delta - ctx->load_addr, sf->size, sf->name);
        f->param_size = sf->param_size;
        f->multiple = sf->multiple;
        for (size_t l = 0; l < sf->nlines; l++) {
            const sym_line *ln = &sf->lines[l];
            uint32_t fi = 0;
            if (ln->file < scratch->nfiles) {
                if (!file_done[ln->file]) {
                    file_map[ln->file] = sym_module_add_file(m, scratch->files[ln->file]);
                    file_done[ln->file] = true;
                }
                fi = file_map[ln->file];
            }
            sym_func_add_line(m, f, ln->addr + delta - ctx->load_addr, ln->size, ln->line, fi);
        }
        size_t sk = 0; /* the next INLINE's first range in sf */
        for (size_t k = 0; k < sf->ninlines; k++) {
            const sym_inline *in = &sf->inlines[k];
            uint32_t cf = 0, og = 0;
            if (in->call_file < scratch->nfiles) {
                if (!file_done[in->call_file]) {
                    file_map[in->call_file] = sym_module_add_file(m, scratch->files[in->call_file]);
                    file_done[in->call_file] = true;
                }
                cf = file_map[in->call_file];
            }
            if (in->origin < scratch->norigins) {
                if (!origin_done[in->origin]) {
                    origin_map[in->origin] = sym_module_add_origin(m, scratch->origins[in->origin]);
                    origin_done[in->origin] = true;
                }
                og = origin_map[in->origin];
            }
            sym_range *rs = sk_xcalloc(in->nranges ? in->nranges : 1, sizeof *rs);
            for (uint32_t r = 0; r < in->nranges; r++) {
                rs[r] = sym_range_at(sf, sk++);
                rs[r].addr += delta - ctx->load_addr;
            }
            sym_func_add_inline(m, f, in->depth, in->call_line, cf, og, rs, in->nranges);
            free(rs);
        }
        kept++;
    }
    free(file_map);
    free(origin_map);
    free(file_done);
    free(origin_done);
    return kept;
}

/* One object of the map: read, check, rebase, collect, move.  Problems
 * confined to this object are warnings; only an error that makes the whole
 * output wrong is returned. */
static int collect_object(ds_context *ctx, const ds_macho *img, const ds_macho_debugmap *dm,
                          const ds_macho_mapobj *mo, sk_error *err)
{
    const char *bin_name = ctx->bin->path;
    uint8_t *data = NULL;
    size_t size = 0;
    uint64_t mtime = 0;
    sk_error e = {0};
    int rc = read_object(mo->path, &data, &size, &mtime, &e);
    if (rc == SK_ENOTFOUND) {
        sk_log(SK_LOG_WARN, "%s: debug map: object file %s is missing; its functions get no line records",
               bin_name, mo->path);
        ctx->summary->debug_map_missing++;
        return SK_OK;
    }
    if (rc) {
        sk_log(SK_LOG_WARN, "%s: debug map: object file %s cannot be read (%s); left out", bin_name,
               mo->path, e.msg);
        ctx->summary->debug_map_unreadable++;
        return SK_OK;
    }
    if (mo->mtime && mtime != mo->mtime) {
        /* Rebuilt or touched since the link: its DWARF may describe other
         * code than the image holds, and a wrong line is worse than none. */
        sk_log(SK_LOG_WARN,
               "%s: debug map: object file %s was modified after the link (modification time %llu, "
               "the debug map says %llu); left out",
               bin_name, mo->path, (unsigned long long)mtime, (unsigned long long)mo->mtime);
        ctx->summary->debug_map_changed++;
        free(data);
        return SK_OK;
    }
    ds_macho o;
    rc = ds_macho_parse(&o, mo->path, data, size, &e);
    if (rc == SK_OK && o.filetype != DS_MH_OBJECT)
        rc = sk_fail(&e, SK_EFORMAT, "%s: not a Mach-O object file (file type %u)", mo->path, o.filetype);
    if (rc == SK_OK && (o.cputype != img->cputype))
        rc = sk_fail(&e, SK_EMISMATCH, "%s: CPU type %u, the image's is %u", mo->path, o.cputype,
                     img->cputype);
    if (rc) {
        sk_log(SK_LOG_WARN, "%s: debug map: %s; left out", bin_name, e.msg);
        ctx->summary->debug_map_unreadable++;
        ds_macho_free(&o);
        free(data);
        return SK_OK;
    }
    if (!ds_macho_section_find(&o, "__DWARF", "__debug_info")) {
        /* Built without -g: nothing to read, nothing wrong. */
        ds_macho_free(&o);
        free(data);
        return SK_OK;
    }

    /* Where each of the map's symbols was in the object, and went in the
     * image.  Names are looked up as they are spelled in both tables. */
    size_t nnames = 0;
    name_addr *names = object_symbols(&o, &nnames);
    moved *mv = sk_xcalloc(mo->nsyms ? mo->nsyms : 1, sizeof *mv);
    size_t nmv = 0;
    for (size_t i = 0; i < mo->nsyms; i++) {
        const ds_macho_mapsym *ms = &dm->syms[mo->first + i];
        if (ms->stab != DS_N_FUN || !ms->name || !ms->name[0])
            continue;
        const name_addr *na = find_name(names, nnames, ms->name);
        if (!na)
            continue;
        mv[nmv++] = (moved){na->addr + OBJ_BASE, ms->addr, ms->size};
    }
    qsort(mv, nmv, sizeof *mv, cmp_moved);
    rebase_object(data, size, &o);
    ds_macho_free(&o);
    free(names); /* (they pointed into data's string table) */

    ds_object obj;
    rc = ds_object_open_mem(&obj, mo->path, data, size, &e); /* owns data from here */
    if (rc) {
        sk_log(SK_LOG_WARN, "%s: debug map: %s; left out", bin_name, e.msg);
        ctx->summary->debug_map_unreadable++;
        ds_object_close(&obj);
        free(mv);
        return SK_OK;
    }
    /* The ordinary DWARF collector, into a model of its own: addresses are
     * the rebased object's until move_functions() moves them. */
    ds_options sopt = *ctx->opt;
    sopt.cfi = false;
    sopt.cfi_only = false;
    sopt.header_only = false;
    ds_summary ssum;
    memset(&ssum, 0, sizeof ssum);
    sym_module scratch;
    sym_module_init(&scratch);
    ds_context sctx = {.bin = &obj, .dbg = &obj, .load_addr = 0, .opt = &sopt, .m = &scratch,
                       .summary = &ssum};
    rc = ds_collect_dwarf(&sctx, &e);
    if (rc == SK_OK) {
        move_functions(ctx, &scratch, mv, nmv);
        ctx->summary->debug_map_objects++;
    } else {
        sk_log(SK_LOG_WARN, "%s: debug map: %s; left out", bin_name, e.msg);
        ctx->summary->debug_map_unreadable++;
        rc = SK_OK;
    }
    ctx->summary->compile_units += ssum.compile_units;
    ctx->summary->dwarf_errors += ssum.dwarf_errors;
    ctx->summary->funcs_described_again += ssum.funcs_described_again;
    sym_module_free(&scratch);
    ds_object_close(&obj);
    free(mv);
    (void)err;
    return rc;
}

int ds_collect_debug_map(ds_context *ctx, sk_error *err)
{
    const ds_macho *img = ds_macho_of(ctx->bin);
    if (!img)
        return sk_fail(err, SK_ENOTFOUND, "%s: not a Mach-O file", ctx->bin->path);
    ds_macho_debugmap dm = {0};
    int rc = ds_macho_debug_map(img, &dm, err);
    if (rc)
        return rc;
    if (dm.nobjs == 0) {
        ds_macho_debug_map_free(&dm);
        sk_log(SK_LOG_WARN, "%s: no dSYM and no debug map; writing PUBLIC%s records only", ctx->bin->path,
               ctx->opt->cfi ? " and STACK CFI" : "");
        return sk_fail(err, SK_ENOTFOUND, "%s: no dSYM and no debug map", ctx->bin->path);
    }
    for (size_t i = 0; rc == SK_OK && i < dm.nobjs; i++)
        rc = collect_object(ctx, img, &dm, &dm.objs[i], err);
    if (ctx->opt->verbose)
        sk_log(SK_LOG_INFO,
               "%s: debug map: %zu object file(s) read, %zu missing, %zu modified after the link, "
               "%zu unreadable",
               ctx->bin->path, ctx->summary->debug_map_objects, ctx->summary->debug_map_missing,
               ctx->summary->debug_map_changed, ctx->summary->debug_map_unreadable);
    ds_macho_debug_map_free(&dm);
    return rc;
}
