/* lazy_archive.c — libarchive, loaded when the first package (or Mach-O
 * static archive) is read rather than at every start: libarchive links
 * libxml2 and ICU, which cost a dump of one small ELF file more than the
 * dump itself (see sk_dynlib in common.h).  One stub per function we call;
 * a function added to package.c or debugmap.c needs its stub here, or the
 * link fails (nothing links -larchive). */
#include <archive.h>
#include <archive_entry.h>
#include <stdarg.h>
#include <stdio.h>

#include "common.h"

static sk_dynlib archive_lib = SK_DYNLIB_INIT(DS_LIBARCHIVE_SONAME, "reading packages and static archives");

SK_DYNLIB_STUB(archive_lib, struct archive *, archive_read_new, (void), ())
SK_DYNLIB_STUB(archive_lib, int, archive_read_free, (struct archive *a), (a))
SK_DYNLIB_STUB(archive_lib, const char *, archive_error_string, (struct archive *a), (a))
SK_DYNLIB_STUB(archive_lib, la_ssize_t, archive_read_data, (struct archive *a, void *buf, size_t n), (a, buf, n))
SK_DYNLIB_STUB(archive_lib, int, archive_read_next_header, (struct archive *a, struct archive_entry **e), (a, e))
SK_DYNLIB_STUB(archive_lib, int, archive_read_support_format_ar, (struct archive *a), (a))
SK_DYNLIB_STUB(archive_lib, int, archive_read_support_format_tar, (struct archive *a), (a))
SK_DYNLIB_STUB(archive_lib, int, archive_read_support_format_gnutar, (struct archive *a), (a))
SK_DYNLIB_STUB(archive_lib, int, archive_read_support_format_cpio, (struct archive *a), (a))
SK_DYNLIB_STUB(archive_lib, int, archive_read_support_filter_all, (struct archive *a), (a))
SK_DYNLIB_STUB(archive_lib, int, archive_read_open_filename, (struct archive *a, const char *path, size_t block),
               (a, path, block))
SK_DYNLIB_STUB(archive_lib, int, archive_read_open_memory, (struct archive *a, const void *buf, size_t n),
               (a, buf, n))
SK_DYNLIB_STUB(archive_lib, int, archive_read_open,
               (struct archive *a, void *ctx, archive_open_callback *open, archive_read_callback *read,
                archive_close_callback *close),
               (a, ctx, open, read, close))
SK_DYNLIB_STUB(archive_lib, const char *, archive_filter_name, (struct archive *a, int n), (a, n))
SK_DYNLIB_STUB(archive_lib, const char *, archive_entry_pathname, (struct archive_entry *e), (e))
SK_DYNLIB_STUB(archive_lib, la_int64_t, archive_entry_size, (struct archive_entry *e), (e))
SK_DYNLIB_STUB(archive_lib, int, archive_entry_size_is_set, (struct archive_entry *e), (e))
SK_DYNLIB_STUB(archive_lib, time_t, archive_entry_mtime, (struct archive_entry *e), (e))
SK_DYNLIB_STUB(archive_lib, const char *, archive_entry_hardlink, (struct archive_entry *e), (e))
SK_DYNLIB_STUB(archive_lib, __LA_MODE_T, archive_entry_filetype, (struct archive_entry *e), (e))

/* Variadic: formatted here, handed on as one string. */
void archive_set_error(struct archive *a, int err, const char *fmt, ...)
{
    static void *slot;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    ((void (*)(struct archive *, int, const char *, ...))sk_dynlib_fn(&archive_lib, &slot, "archive_set_error"))(
        a, err, "%s", msg);
}
