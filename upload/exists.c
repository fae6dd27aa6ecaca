/*
 * exists.c — --skip-existing: HEAD <symbols_url>/<key> for each file, a
 * few at a time, so what the server already has is neither zipped nor
 * sent.  Any doubt (errors, odd statuses) means "send it": a duplicate
 * upload is cheap, a missing symbol file is not.
 */
#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>

#include "su_internal.h"

static size_t discard(char *p, size_t s, size_t n, void *c)
{
    (void)p;
    (void)c;
    return s * n;
}

/* <base>/<key> with each key component escaped: keys may hold characters
 * such as '?' or '+' that mean something in a URL. */
static char *key_url(CURL *c, const char *base, size_t base_len, const char *key)
{
    sk_buf url;
    sk_buf_init(&url);
    sk_buf_append(&url, base, base_len);
    const char *p = key;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t len = slash ? (size_t)(slash - p) : strlen(p);
        char *esc = curl_easy_escape(c, p, (int)len);
        sk_buf_putc(&url, '/');
        sk_buf_puts(&url, esc ? esc : "");
        curl_free(esc);
        p += len;
        if (*p == '/')
            p++;
    }
    char *r = sk_xstrdup(url.data);
    sk_buf_free(&url);
    return r;
}

static void head_result(su_file *f, CURLcode rc, long status)
{
    if (rc == CURLE_OK && status == 200) {
        f->upload = SU_UP_EXISTING;
        sk_log(SK_LOG_DEBUG, "%s: already on the server", f->key);
    } else if (rc != CURLE_OK) {
        sk_log(SK_LOG_WARN, "%s: HEAD failed (%s); sending it", f->key, curl_easy_strerror(rc));
    } else if (status != 404 && status != 403) {
        /* S3 answers 403 for a missing key when listing is not allowed. */
        sk_log(SK_LOG_WARN, "%s: HEAD answered HTTP %ld; sending it", f->key, status);
    }
}

void su_skip_existing(su_set *set, const su_options *opt)
{
    CURLM *multi = curl_multi_init();
    if (!multi) {
        sk_log(SK_LOG_WARN, "--skip-existing: cannot set up HTTP; sending everything");
        return;
    }
    size_t base_len = strlen(opt->symbols_url);
    while (base_len > 0 && opt->symbols_url[base_len - 1] == '/')
        base_len--;
    /* HEADs are tiny: a few more at once than posts is still polite. */
    unsigned limit = (opt->jobs ? opt->jobs : 1) * 2;
    if (limit > 16)
        limit = 16;
    unsigned active = 0;
    size_t next = 0;
    for (;;) {
        if (opt->cancel && *opt->cancel)
            next = set->n; /* start no more; the upload loop reports it */
        while (active < limit && next < set->n) {
            size_t i = next++;
            su_file *f = &set->files[i];
            if (f->upload != SU_UP_PENDING)
                continue;
            CURL *c = curl_easy_init();
            if (!c) {
                sk_log(SK_LOG_WARN, "%s: cannot set up a HEAD request; sending it", f->key);
                continue;
            }
            char *url = key_url(c, opt->symbols_url, base_len, f->key);
            curl_easy_setopt(c, CURLOPT_URL, url);
            free(url); /* curl keeps its own copy */
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
            curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
            curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
            curl_easy_setopt(c, CURLOPT_USERAGENT, "symkit/" SK_VERSION);
            curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(opt->timeout * 1000.0));
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
            curl_easy_setopt(c, CURLOPT_PRIVATE, (void *)f);
            if (curl_multi_add_handle(multi, c) != CURLM_OK) {
                curl_easy_cleanup(c);
                sk_log(SK_LOG_WARN, "%s: cannot start a HEAD request; sending it", f->key);
                continue;
            }
            active++;
        }
        if (active == 0 && next >= set->n)
            break;
        int running = 0;
        curl_multi_perform(multi, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            CURL *c = msg->easy_handle;
            CURLcode rc = msg->data.result;
            su_file *f = NULL;
            long status = 0;
            curl_easy_getinfo(c, CURLINFO_PRIVATE, (char **)&f);
            if (rc == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
            if (f)
                head_result(f, rc, status);
            curl_multi_remove_handle(multi, c);
            curl_easy_cleanup(c);
            active--;
        }
        if (active > 0)
            curl_multi_poll(multi, NULL, 0, 200, NULL);
    }
    curl_multi_cleanup(multi);
}
