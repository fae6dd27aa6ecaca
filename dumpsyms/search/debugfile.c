/*
 * debugfile.c — finding a binary's separate debug file, the way gdb and
 * the distributions lay them out:
 *   1. by build-id: <root>/.build-id/<first byte>/<rest>.debug for every
 *      debug root (--debug-dir, default /usr/lib/debug);
 *   2. by .gnu_debuglink (file name + CRC32 of the whole debug file):
 *      beside the binary, in .debug/ beside it, then under each debug root
 *      followed by the binary's (absolute) directory;
 *   3. when a debuginfod client is given (--debuginfod), fetched by
 *      build-id from its servers, and checked like any other candidate.
 * A candidate is only accepted when it is an ELF whose build-id equals the
 * binary's (when both have one) and, for a debuglink, whose CRC matches.
 * Refused candidates are remembered so the caller can say why nothing was
 * used.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "collect.h"

typedef struct search {
    ds_object *bin;
    ds_object *found; /* the accepted candidate, left open for the dump */
    struct stat bin_st;
    int bin_st_state; /* 0: not taken yet, 1: taken, -1: stat() failed */
    sk_buf refused; /* "; "-separated reasons */
} search;

static void refuse(search *s, const char *fmt, const char *path, const char *why)
{
    if (s->refused.len)
        sk_buf_puts(&s->refused, "; ");
    sk_buf_printf(&s->refused, fmt, path, why);
}

/* Whether st is the binary itself.  The binary is only stat()ed once a
 * candidate exists: most binaries have none. */
static bool is_bin(search *s, const struct stat *st)
{
    if (!s->bin_st_state)
        s->bin_st_state = stat(s->bin->path, &s->bin_st) == 0 ? 1 : -1;
    return s->bin_st_state > 0 && st->st_dev == s->bin_st.st_dev && st->st_ino == s->bin_st.st_ino;
}

/* Accepts path when it is an ELF with the binary's build-id and (when
 * check_crc) the expected CRC, and leaves it open in s->found: the dump
 * reads it next, and opening it again would map it and read its section
 * table a second time. */
static bool try_candidate_as(search *s, const char *path, const char *shown, bool check_crc, uint32_t crc)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || is_bin(s, &st))
        return false;
    ds_object cand;
    sk_error err = {0};
    if (ds_object_open(&cand, path, &err) != SK_OK) {
        refuse(s, "%s: %s", shown, "not a readable ELF file");
        ds_object_close(&cand);
        return false;
    }
    bool ok = true;
    if (s->bin->build_id_len && cand.build_id_len &&
        (s->bin->build_id_len != cand.build_id_len ||
         memcmp(s->bin->build_id, cand.build_id, cand.build_id_len) != 0)) {
        refuse(s, "%s: %s", shown, "build-id differs from the binary's");
        ok = false;
    }
    if (ok && check_crc) {
        /* zlib's CRC-32 is the debuglink one, and several times faster than
         * a byte-wise table on a few hundred MB of debug file. */
        uint32_t got = (uint32_t)crc32_z(0, cand.map.data, cand.map.size);
        if (got != crc) {
            char why[96];
            snprintf(why, sizeof why, "CRC32 %08x differs from the .gnu_debuglink CRC %08x", got, crc);
            refuse(s, "%s: %s", shown, why);
            ok = false;
        }
    }
    if (ok)
        *s->found = cand;
    else
        ds_object_close(&cand);
    return ok;
}

static bool try_candidate(search *s, const char *path, bool check_crc, uint32_t crc)
{
    return try_candidate_as(s, path, path, check_crc, crc);
}

bool ds_build_id_debug_path(const ds_object *bin, const char *debug_dir, sk_buf *out)
{
    if (bin->build_id_len < 2)
        return false;
    char hex[129];
    sk_hex_upper(bin->build_id, bin->build_id_len, hex);
    for (char *p = hex; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    sk_buf_reset(out);
    sk_buf_printf(out, "%s/.build-id/%.2s/%s.debug", debug_dir, hex, hex + 2);
    return true;
}

static bool by_build_id(search *s, const ds_options *opt)
{
    bool found = false;
    sk_buf b;
    sk_buf_init(&b);
    for (size_t i = 0; i < opt->ndebug_dirs && !found; i++)
        found = ds_build_id_debug_path(s->bin, opt->debug_dirs[i], &b) && try_candidate(s, b.data, false, 0);
    sk_buf_free(&b);
    return found;
}

/* Reads .gnu_debuglink: a NUL-terminated file name, padding to 4 bytes,
 * then the CRC32 in the file's byte order. */
static bool read_debuglink(ds_object *bin, char *name, size_t cap, uint32_t *crc)
{
    ds_section *sec = ds_object_section(bin, ".gnu_debuglink");
    if (!sec || !sec->raw || sec->raw_size < 8)
        return false;
    const uint8_t *d = sec->raw;
    size_t n = strnlen((const char *)d, sec->raw_size);
    if (n == 0 || n >= cap || n == sec->raw_size)
        return false;
    size_t crc_off = (n + 1 + 3) & ~(size_t)3;
    if (crc_off + 4 > sec->raw_size)
        return false;
    /* A debuglink names a file in a directory, never a path. */
    if (memchr(d, '/', n))
        return false;
    memcpy(name, d, n + 1);
    const uint8_t *c = d + crc_off;
    *crc = bin->little_endian
               ? (uint32_t)c[0] | (uint32_t)c[1] << 8 | (uint32_t)c[2] << 16 | (uint32_t)c[3] << 24
               : (uint32_t)c[3] | (uint32_t)c[2] << 8 | (uint32_t)c[1] << 16 | (uint32_t)c[0] << 24;
    return true;
}

/* The candidates for one directory holding the binary; abs_dir is that
 * directory made absolute, for the "<root>/<dir>/<name>" form. */
static bool debuglink_in(search *s, const ds_options *opt, const char *bin_dir, const char *abs_dir,
                          const char *name, uint32_t crc)
{
    sk_buf b;
    sk_buf_init(&b);
    bool found = false;
    for (size_t i = 0; i < 2 + opt->ndebug_dirs && !found; i++) {
        sk_buf_reset(&b);
        if (i == 0)
            sk_buf_printf(&b, "%s/%s", bin_dir, name);
        else if (i == 1)
            sk_buf_printf(&b, "%s/.debug/%s", bin_dir, name);
        else
            sk_buf_printf(&b, "%s%s/%s", opt->debug_dirs[i - 2], abs_dir, name);
        found = try_candidate(s, b.data, true, crc);
    }
    sk_buf_free(&b);
    return found;
}

/* The directory the binary really is in, when it differs from abs_dir
 * (the one it was named in, resolved; NULL when that failed).  Only a
 * binary that is itself a symbolic link can be elsewhere: realpath()
 * costs a readlink per path component, so it is skipped for the others. */
static bool real_dir_elsewhere(const char *bin_path, const char *abs_dir, char real[PATH_MAX])
{
    struct stat st;
    if (abs_dir && lstat(bin_path, &st) == 0 && !S_ISLNK(st.st_mode))
        return false;
    if (!realpath(bin_path, real))
        return false;
    char *rslash = strrchr(real, '/');
    if (!rslash)
        return false;
    *rslash = '\0';
    return !abs_dir || strcmp(abs_dir, real) != 0;
}

static bool by_debuglink(search *s, const ds_options *opt)
{
    char name[1024];
    uint32_t crc;
    if (!read_debuglink(s->bin, name, sizeof name, &crc))
        return false;
    char *bin_dir = sk_xstrdup(s->bin->path);
    char *slash = strrchr(bin_dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(bin_dir, ".");
    char abs_buf[PATH_MAX];
    const char *abs_dir = realpath(bin_dir, abs_buf);
    bool found = debuglink_in(s, opt, bin_dir, abs_dir ? abs_dir : bin_dir, name, crc);
    /* Reached through a symbolic link (libfoo.so.1 -> ../lib/libfoo.so.1.2):
     * gdb looks beside the real file, so do we. */
    char real[PATH_MAX];
    if (!found && real_dir_elsewhere(s->bin->path, abs_dir, real))
        found = debuglink_in(s, opt, real, real, name, crc);
    free(bin_dir);
    return found;
}

/* The debug file a debuginfod server has for the binary's build-id, checked
 * like a local one: its build-id, and the .gnu_debuglink CRC when the
 * binary has a debuglink.  Refusals and failures name the URL. */
static bool by_debuginfod(search *s, const ds_options *opt, char **url)
{
    if (!opt->debuginfod || !s->bin->build_id_len)
        return false;
    ds_fetch f;
    sk_error err;
    int rc = ds_debuginfod_fetch(opt->debuginfod, s->bin->build_id, s->bin->build_id_len,
                                 DS_DEBUGINFOD_DEBUGINFO, &f, &err);
    if (rc == SK_ENOTFOUND) {
        sk_log(SK_LOG_INFO, "%s: %s", s->bin->path, err.msg);
        return false;
    }
    if (rc) {
        sk_log(SK_LOG_WARN, "%s: %s", s->bin->path, err.msg);
        return false;
    }
    char name[1024];
    uint32_t crc = 0;
    bool have_link = read_debuglink(s->bin, name, sizeof name, &crc);
    bool found = try_candidate_as(s, f.path, f.url, have_link, crc);
    if (found) {
        *url = f.url;
        f.url = NULL;
        if (opt->verbose)
            sk_log(SK_LOG_INFO, "%s: fetched %s (%llu bytes) in %.2f s", s->bin->path, *url,
                   (unsigned long long)f.bytes, f.seconds);
    }
    ds_fetch_free(&f);
    return found;
}

int ds_find_debug_file(ds_object *bin, const ds_options *opt, ds_object *found_obj, char **url,
                       sk_error *err)
{
    memset(found_obj, 0, sizeof *found_obj);
    *url = NULL;
    search s = {.bin = bin, .found = found_obj};
    sk_buf_init(&s.refused);
    int rc;
    if (by_build_id(&s, opt) || by_debuglink(&s, opt) || by_debuginfod(&s, opt, url)) {
        rc = SK_OK;
    } else if (s.refused.len) {
        rc = sk_fail(err, SK_EMISMATCH, "%s: separate debug file refused: %s", bin->path, s.refused.data);
    } else {
        rc = sk_fail(err, SK_ENOTFOUND, "%s: no separate debug file found", bin->path);
    }
    sk_buf_free(&s.refused);
    return rc;
}
