/*
 * collect.c — finding .sym files and deciding, before anything is sent,
 * which of them may go: the key comes from the MODULE line alone (a file's
 * own path may be anything), and two different files must never race for
 * one key.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "su_internal.h"
#include "symfile.h"

void su_set_init(su_set *set)
{
    memset(set, 0, sizeof *set);
}

void su_set_free(su_set *set)
{
    for (size_t i = 0; i < set->n; i++) {
        free(set->files[i].path);
        free(set->files[i].key);
        free(set->files[i].reason);
        free(set->files[i].store_reason);
        free(set->files[i].s3_reason);
    }
    free(set->files);
    memset(set, 0, sizeof *set);
}

void su_file_fail_reason(su_file *f, const char *fmt, ...)
{
    sk_buf b;
    sk_buf_init(&b);
    va_list ap;
    va_start(ap, fmt);
    sk_buf_vprintf(&b, fmt, ap);
    va_end(ap);
    free(f->reason);
    f->reason = sk_xstrndup(b.len ? b.data : "", b.len);
    sk_buf_free(&b);
}

static void add_file(su_set *set, const char *path, uint64_t size)
{
    sk_grow((void **)&set->files, &set->cap, set->n + 1, sizeof *set->files);
    su_file *f = &set->files[set->n++];
    memset(f, 0, sizeof *f);
    f->path = sk_xstrdup(path);
    f->size = size;
}

static bool has_sym_suffix(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && strcmp(name + n - 4, ".sym") == 0;
}

static int walk(su_set *set, const char *dir, unsigned depth, sk_error *err)
{
    /* Store trees are three levels deep; anything near this is a loop or
     * a mistake, not symbols. */
    if (depth > 64)
        return sk_fail(err, SK_EUNSUPPORTED, "%s: directories nested too deeply", dir);
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    if (n < 0)
        return sk_fail(err, SK_EIO, "%s: cannot read directory: %s", dir, strerror(errno));
    int rc = SK_OK;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (rc == SK_OK && strcmp(name, ".") != 0 && strcmp(name, "..") != 0) {
            char *p = sk_path_join(dir, name);
            struct stat lst, st;
            if (lstat(p, &lst) == 0) {
                if (S_ISDIR(lst.st_mode)) {
                    rc = walk(set, p, depth + 1, err);
                } else if (has_sym_suffix(name) && stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                    add_file(set, p, (uint64_t)st.st_size);
                }
            }
            free(p);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int su_collect(su_set *set, const char *path, sk_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return sk_fail(err, SK_ENOTFOUND, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode))
        return walk(set, path, 0, err);
    add_file(set, path, (uint64_t)st.st_size);
    return SK_OK;
}

int su_key_from_module_line(const char *text, size_t len, char **key, sk_error *err)
{
    *key = NULL;
    const char *nl = memchr(text, '\n', len);
    size_t line_len = nl ? (size_t)(nl - text) : len;
    if (line_len > 0 && text[line_len - 1] == '\r')
        line_len--;
    if (line_len == 0)
        return sk_fail(err, SK_EFORMAT, "no MODULE line (empty first line)");

    /* Tecken splits the line on whitespace and wants exactly 5 tokens, so
     * a name with a space is refused there: refuse it here first. */
    size_t ntok = 0;
    for (size_t i = 0; i < line_len;) {
        while (i < line_len && (text[i] == ' ' || text[i] == '\t'))
            i++;
        if (i >= line_len)
            break;
        ntok++;
        while (i < line_len && text[i] != ' ' && text[i] != '\t')
            i++;
    }
    if (line_len < 7 || memcmp(text, "MODULE ", 7) != 0)
        return sk_fail(err, SK_EFORMAT, "first line is not a MODULE record");
    if (ntok != 5)
        return sk_fail(err, SK_EFORMAT, "MODULE line has %zu fields, want 5", ntok);

    char os[64], arch[64], id[64], name[1024];
    sk_error perr;
    sk_error_clear(&perr);
    if (sym_parse_module_line(text, line_len, os, sizeof os, arch, sizeof arch, id, sizeof id, name,
                              sizeof name, &perr) != SK_OK)
        return sk_fail(err, SK_EFORMAT, "bad MODULE line: %s", perr.msg);
    if (!sk_is_debug_id(id))
        return sk_fail(err, SK_EFORMAT,
                       "debug id '%s' is not 33 upper-case hex digits (a lower-case id uploads "
                       "but is never found)",
                       id);
    if (!sk_is_safe_path_component(name))
        return sk_fail(err, SK_EFORMAT, "module name '%s' cannot be part of a symbol key", name);
    sk_error kerr;
    sk_error_clear(&kerr);
    char *k = sk_store_key(name, id, &kerr);
    if (!k)
        return sk_fail(err, SK_EFORMAT, "cannot make a key: %s", kerr.msg);
    *key = k;
    return SK_OK;
}

/* The first line is all lint needs; 64 KiB covers any sane MODULE line. */
static int read_head(const char *path, char *buf, size_t cap, size_t *len, sk_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sk_fail(err, SK_EIO, "cannot open: %s", strerror(errno));
    size_t got = 0;
    while (got < cap) {
        ssize_t r = read(fd, buf + got, cap - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            return sk_fail(err, SK_EIO, "cannot read: %s", strerror(e));
        }
        if (r == 0)
            break;
        got += (size_t)r;
        if (memchr(buf, '\n', got))
            break;
    }
    close(fd);
    *len = got;
    return SK_OK;
}

static bool same_contents(const char *a, const char *b)
{
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    bool same = false;
    if (sk_read_file(a, &da, &la, NULL) == SK_OK && sk_read_file(b, &db, &lb, NULL) == SK_OK)
        same = la == lb && (la == 0 || memcmp(da, db, la) == 0);
    free(da);
    free(db);
    return same;
}

static bool same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static const su_set *sort_set;
static int cmp_by_key(const void *a, const void *b)
{
    const su_file *fa = &sort_set->files[*(const size_t *)a];
    const su_file *fb = &sort_set->files[*(const size_t *)b];
    int c = strcmp(fa->key, fb->key);
    if (c)
        return c;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    return ia < ib ? -1 : ia > ib;
}

void su_lint(su_set *set)
{
    enum { HEAD_CAP = 64 * 1024 };
    char *buf = sk_xmalloc(HEAD_CAP);
    for (size_t i = 0; i < set->n; i++) {
        su_file *f = &set->files[i];
        if (f->lint != SU_LINT_OK || f->key)
            continue;
        size_t len = 0;
        sk_error err;
        sk_error_clear(&err);
        if (read_head(f->path, buf, HEAD_CAP, &len, &err) != SK_OK ||
            su_key_from_module_line(buf, len, &f->key, &err) != SK_OK) {
            f->lint = SU_LINT_INVALID;
            su_file_fail_reason(f, "%s", err.msg);
        }
    }
    free(buf);

    /* Equal keys: identical bytes are one file given twice (send it once);
     * different bytes are a collision nobody can settle for the user. */
    size_t *order = sk_xmalloc((set->n ? set->n : 1) * sizeof *order);
    size_t m = 0;
    for (size_t i = 0; i < set->n; i++)
        if (set->files[i].lint == SU_LINT_OK)
            order[m++] = i;
    sort_set = set;
    sk_sort(order, m, sizeof *order, cmp_by_key);
    sort_set = NULL;
    for (size_t i = 0; i < m;) {
        size_t j = i + 1;
        while (j < m && strcmp(set->files[order[i]].key, set->files[order[j]].key) == 0)
            j++;
        su_file *first = &set->files[order[i]];
        for (size_t k = i + 1; k < j; k++) {
            su_file *f = &set->files[order[k]];
            if (same_file(first->path, f->path)) {
                f->lint = SU_LINT_DUPLICATE;
                su_file_fail_reason(f, "given twice (also as %s)", first->path);
            } else if (f->size == first->size && same_contents(first->path, f->path)) {
                f->lint = SU_LINT_DUPLICATE;
                su_file_fail_reason(f, "same key and contents as %s", first->path);
            } else {
                f->lint = SU_LINT_COLLISION;
                su_file_fail_reason(f, "same key as %s, different contents", first->path);
                if (first->lint == SU_LINT_OK) {
                    first->lint = SU_LINT_COLLISION;
                    su_file_fail_reason(first, "same key as %s, different contents", f->path);
                }
            }
        }
        i = j;
    }
    free(order);
}
