/*
 * multi.c — one turn of the curl multi loop that the Tecken poster
 * (post.c) and the S3 uploader (s3.c) both drive: they differ in what a
 * transfer is and what happens when it ends, not in how the transfers run.
 */
#include <curl/curl.h>
#include <string.h>
#include <strings.h>

#include "su_internal.h"

void su_multi_turn(CURLM *multi, double next_wake, su_transfer_done done, void *ctx)
{
    int running = 0;
    curl_multi_perform(multi, &running);
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        void *transfer = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&transfer);
        if (transfer)
            done(ctx, transfer, msg->data.result);
    }
    /* At most 200 ms, so a caller's own deadlines (and a worker thread's
     * curl_multi_wakeup) are seen promptly; sooner when a retry is due. */
    int wait_ms = 200;
    if (next_wake >= 0) {
        double d = (next_wake - sk_now()) * 1000.0;
        if (d < wait_ms)
            wait_ms = d < 0 ? 0 : (int)d + 1;
    }
    curl_multi_poll(multi, NULL, 0, wait_ms, NULL);
}

size_t su_reply_append(sk_buf *resp, size_t cap, const char *p, size_t n)
{
    if (resp->len < cap) {
        size_t take = cap - resp->len;
        sk_buf_append(resp, p, n < take ? n : take);
    }
    return n;
}

bool su_header_value(const char *line, size_t n, const char *name, char *dst, size_t cap)
{
    size_t nl = strlen(name);
    if (n < nl || strncasecmp(line, name, nl) != 0)
        return false;
    const char *v = line + nl;
    n -= nl;
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ' || v[n - 1] == '\t'))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
    return true;
}
