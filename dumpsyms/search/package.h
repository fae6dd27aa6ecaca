/*
 * package.h (internal) — distribution packages read directly, never
 * unpacked to disk: Debian .deb/.ddeb (an ar archive whose data.tar is
 * xz, zstd, gzip or bzip2 compressed, or plain) and RPM (lead, headers and
 * a compressed cpio payload), both through libarchive.
 *
 * ds_pkg_read() hands every regular-file member that is an ELF file to a
 * callback, whole, in memory; everything else is skipped.  A damaged
 * package (truncated ar member, broken tar header, a data.tar whose
 * compression is not what its name says, corrupt compressed data) stops
 * the walk with one message naming the package and the member.
 *
 * ds_package_archives() is packager mode over packages: binaries are
 * paired by build-id (else .gnu_debuglink name and CRC) with the debug files
 * of the debug packages given beside them, dwz supplementary files among
 * those are used from memory, and each binary is dumped as if the packages
 * were installed, on a pool of threads.
 */
#ifndef SYMKIT_DUMPSYMS_PACKAGE_H
#define SYMKIT_DUMPSYMS_PACKAGE_H

#include "dumpsyms.h"

typedef enum ds_pkg_kind { DS_PKG_NONE, DS_PKG_DEB, DS_PKG_RPM } ds_pkg_kind;

/* By content: "!<arch>\n" (a .deb), the RPM lead magic.  DS_PKG_NONE for
 * anything else and for files that cannot be read. */
ds_pkg_kind ds_pkg_detect(const char *path);

/* data is malloc'd and becomes the callback's; member is the path inside
 * the package ("usr/bin/foo", no leading "./").  A non-zero return stops
 * the walk and is returned. */
typedef int (*ds_pkg_member_fn)(void *ctx, const char *member, uint8_t *data, size_t size);

/* xz_threads: liblzma threads for a data.tar.xz (<= 1: one); each holds
 * up to 128 MiB, the decoder uses fewer when blocks are bigger. */
int ds_pkg_read(const char *path, int xz_threads, ds_pkg_member_fn fn, void *ctx, sk_error *err);
/* The same over a package in memory; name is used in messages. */
int ds_pkg_read_mem(const char *name, const uint8_t *data, size_t size, ds_pkg_member_fn fn,
                    void *ctx, sk_error *err);

/* Packager mode over packages (see above): one report per binary member
 * (input "PACKAGE:MEMBER") and per package that could not be read. */
int ds_package_archives(const char *const *pkgs, size_t npkgs, const char *store_dir,
                        const ds_options *opt, int file_jobs, ds_pack_report_fn report,
                        void *report_ctx, ds_pack_totals *totals);

#endif
