/*
 * cfi_ehconv.c — .eh_frame (or a damaged .debug_frame) rewritten as a
 * clean .debug_frame, entry by entry.
 *
 * libdwarf 20210528 reads .eh_frame as one list and gives up on all of it
 * when any entry is bad — and on every big-endian .eh_frame (s390x), which
 * it misreads.  Its .debug_frame reader has neither problem.  The two
 * formats differ only in their headers (CIE id, FDE-to-CIE pointer,
 * augmentation, encoded pointers), so when libdwarf refuses an .eh_frame we
 * rewrite the headers into .debug_frame form, skipping (and naming) bad
 * entries, and hand the result back to libdwarf, which still decodes every
 * CFA instruction.  A .debug_frame libdwarf refuses goes through the same
 * pass, which then only drops the bad entries and renumbers CIE pointers.
 *
 * Limits: DW_CFA_set_loc inside instructions keeps its .eh_frame encoding
 * (GCC and LLVM never emit it); pointer encodings other than absolute and
 * pc-relative (datarel, indirect) make the FDE unusable and it is skipped.
 */
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "cfi_int.h"

#ifndef DW_EH_PE_indirect
#define DW_EH_PE_indirect 0x80
#endif

typedef ds_bytes rd;

static bool get_encoded(rd *r, uint8_t enc, unsigned addr_size, uint64_t place, bool apply, uint64_t *v)
{
    if (enc == DW_EH_PE_omit)
        return false;
    uint64_t x;
    int64_t s;
    switch (enc & 0x0f) {
    case DW_EH_PE_absptr:
        if (!ds_bytes_fixed(r, addr_size, &x))
            return false;
        break;
    case DW_EH_PE_uleb128:
        if (!ds_bytes_uleb(r, &x))
            return false;
        break;
    case DW_EH_PE_udata2:
        if (!ds_bytes_fixed(r, 2, &x))
            return false;
        break;
    case DW_EH_PE_udata4:
        if (!ds_bytes_fixed(r, 4, &x))
            return false;
        break;
    case DW_EH_PE_udata8:
        if (!ds_bytes_fixed(r, 8, &x))
            return false;
        break;
    case DW_EH_PE_sleb128:
        if (!ds_bytes_sleb(r, &s))
            return false;
        x = (uint64_t)s;
        break;
    case DW_EH_PE_sdata2:
        if (!ds_bytes_fixed(r, 2, &x))
            return false;
        x = (uint64_t)(int64_t)(int16_t)x;
        break;
    case DW_EH_PE_sdata4:
        if (!ds_bytes_fixed(r, 4, &x))
            return false;
        x = (uint64_t)(int64_t)(int32_t)x;
        break;
    case DW_EH_PE_sdata8:
        if (!ds_bytes_fixed(r, 8, &x))
            return false;
        break;
    default:
        return false;
    }
    if (apply) {
        switch (enc & 0x70) {
        case DW_EH_PE_absptr: break;
        case DW_EH_PE_pcrel: x += place; break;
        default: return false;
        }
        if (enc & DW_EH_PE_indirect)
            return false;
    }
    if (addr_size == 4)
        x &= 0xffffffffu;
    *v = x;
    return true;
}

static void put(sk_buf *b, uint64_t v, unsigned n, bool le)
{
    uint8_t tmp[8];
    for (unsigned i = 0; i < n; i++)
        tmp[le ? i : n - 1 - i] = (uint8_t)(v >> (8 * i));
    sk_buf_append(b, tmp, n);
}

static void put_uleb(sk_buf *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        sk_buf_putc(b, (char)c);
    } while (v);
}

static void put_sleb(sk_buf *b, int64_t v)
{
    for (;;) {
        uint8_t c = v & 0x7f;
        v >>= 7; /* arithmetic on gcc/clang */
        bool done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
        if (!done)
            c |= 0x80;
        sk_buf_putc(b, (char)c);
        if (done)
            break;
    }
}

typedef struct cie_info {
    size_t in_off, out_off;
    uint8_t fde_enc;
    bool z;
} cie_info;

static void warn_entry(const ds_object *obj, bool eh, size_t off, const char *what)
{
    sk_log(SK_LOG_WARN, "%s: %s: entry at offset 0x%zx: %s; skipped", obj->path,
           eh ? ".eh_frame" : ".debug_frame", off, what);
}

/* Rewrites one CIE.  false (with *why) when it cannot be read. */
static bool conv_cie(rd *r, unsigned addr_size, cie_info *ci, sk_buf *out, const char **why)
{
    uint64_t version, code_align, ra;
    int64_t data_align;
    if (!ds_bytes_fixed(r, 1, &version) || (version != 1 && version != 3 && version != 4)) {
        *why = "unknown CIE version";
        return false;
    }
    const uint8_t *aug = r->p;
    while (r->p < r->end && *r->p)
        r->p++;
    if (r->p >= r->end) {
        *why = "unterminated augmentation string";
        return false;
    }
    size_t aug_len = (size_t)(r->p - aug);
    r->p++;
    if (version == 4) {
        uint64_t asz, ssz;
        if (!ds_bytes_fixed(r, 1, &asz) || !ds_bytes_fixed(r, 1, &ssz)) {
            *why = "truncated CIE";
            return false;
        }
    }
    if (!ds_bytes_uleb(r, &code_align) || !ds_bytes_sleb(r, &data_align) ||
        !(version == 1 ? ds_bytes_fixed(r, 1, &ra) : ds_bytes_uleb(r, &ra))) {
        *why = "truncated CIE";
        return false;
    }
    ci->fde_enc = DW_EH_PE_absptr;
    ci->z = aug_len && aug[0] == 'z';
    if (aug_len && !ci->z) {
        *why = "unsupported augmentation";
        return false;
    }
    if (ci->z) {
        uint64_t len;
        if (!ds_bytes_uleb(r, &len) || len > (uint64_t)(r->end - r->p)) {
            *why = "bad augmentation length";
            return false;
        }
        rd a = {r->base, r->p, r->p + len, r->le};
        r->p += len;
        for (size_t i = 1; i < aug_len; i++) {
            uint64_t v, enc;
            if (aug[i] == 'R') {
                if (!ds_bytes_fixed(&a, 1, &enc)) {
                    *why = "bad augmentation data";
                    return false;
                }
                ci->fde_enc = (uint8_t)enc;
            } else if (aug[i] == 'P') {
                if (!ds_bytes_fixed(&a, 1, &enc) || !get_encoded(&a, (uint8_t)(enc & 0x0f), addr_size, 0, false, &v)) {
                    *why = "bad personality pointer";
                    return false;
                }
            } else if (aug[i] == 'L') {
                if (!ds_bytes_fixed(&a, 1, &enc)) {
                    *why = "bad augmentation data";
                    return false;
                }
            } else if (aug[i] != 'S' && aug[i] != 'B' && aug[i] != 'G') {
                break; /* the length lets us skip what we do not know */
            }
        }
    }
    /* Version 3: the return-address column is a ULEB128 there. */
    sk_buf body;
    sk_buf_init(&body);
    put(&body, 0xffffffffu, 4, r->le);
    sk_buf_putc(&body, 3);
    sk_buf_putc(&body, 0); /* no augmentation */
    put_uleb(&body, code_align);
    put_sleb(&body, data_align);
    put_uleb(&body, ra);
    sk_buf_append(&body, r->p, (size_t)(r->end - r->p));
    ci->out_off = out->len;
    put(out, body.len, 4, r->le);
    sk_buf_append(out, body.data, body.len);
    sk_buf_free(&body);
    return true;
}

static bool conv_fde(rd *r, unsigned addr_size, uint64_t sec_addr, const cie_info *ci, sk_buf *out,
                     const char **why)
{
    uint64_t begin, range;
    uint64_t place = sec_addr + (uint64_t)(r->p - r->base);
    if (!get_encoded(r, ci->fde_enc, addr_size, place, true, &begin) ||
        !get_encoded(r, ci->fde_enc & 0x0f, addr_size, 0, false, &range)) {
        *why = "unreadable or unsupported address encoding";
        return false;
    }
    if (ci->z) {
        uint64_t len;
        if (!ds_bytes_uleb(r, &len) || len > (uint64_t)(r->end - r->p)) {
            *why = "bad augmentation length";
            return false;
        }
        r->p += len;
    }
    size_t ninstr = (size_t)(r->end - r->p);
    put(out, 4 + 2 * addr_size + ninstr, 4, r->le);
    put(out, ci->out_off, 4, r->le);
    put(out, begin, addr_size, r->le);
    put(out, range, addr_size, r->le);
    sk_buf_append(out, r->p, ninstr);
    return true;
}

int ds_cfi_rewrite_frames(ds_object *obj, const uint8_t *eh, size_t n, uint64_t sec_addr, bool is_eh,
                          sk_buf *out)
{
    unsigned addr_size = obj->elf_class == ELFCLASS64 ? 8 : 4;
    bool le = obj->little_endian;
    cie_info *cies = NULL;
    size_t ncies = 0, cies_cap = 0;
    int nfdes = 0;
    size_t pos = 0;
    while (pos + 4 <= n) {
        size_t start = pos;
        rd r = {eh, eh + pos, eh + n, le};
        uint64_t len = 0, id = 0;
        ds_bytes_fixed(&r, 4, &len);
        if (len == 0) {
            if (is_eh)
                break; /* terminator */
            pos += 4;  /* padding */
            continue;
        }
        if (len == 0xffffffffu || len > (uint64_t)(r.end - r.p) || len < 4) {
            warn_entry(obj, is_eh, start, len == 0xffffffffu ? "64-bit DWARF entries are not supported here"
                                                             : "length runs past the end of the section");
            break; /* no way to find the next entry */
        }
        pos = (size_t)(r.p - eh) + (size_t)len;
        r.end = eh + pos;
        size_t id_off = (size_t)(r.p - eh);
        ds_bytes_fixed(&r, 4, &id);
        const char *why = NULL;
        if (id == (is_eh ? 0 : 0xffffffffu)) {
            sk_grow((void **)&cies, &cies_cap, ncies + 1, sizeof *cies);
            cie_info *ci = &cies[ncies];
            ci->in_off = start;
            if (conv_cie(&r, addr_size, ci, out, &why))
                ncies++;
        } else {
            const cie_info *ci = NULL;
            /* .eh_frame points back from the field, .debug_frame from the
             * section start. */
            if (!is_eh || id <= id_off) {
                size_t cie_off = is_eh ? id_off - (size_t)id : (size_t)id;
                for (size_t i = ncies; i-- > 0;) {
                    if (cies[i].in_off == cie_off) {
                        ci = &cies[i];
                        break;
                    }
                }
            }
            if (!ci)
                why = "FDE points to no readable CIE";
            else if (conv_fde(&r, addr_size, sec_addr, ci, out, &why))
                nfdes++;
        }
        if (why)
            warn_entry(obj, is_eh, start, why);
    }
    free(cies);
    return nfdes;
}
