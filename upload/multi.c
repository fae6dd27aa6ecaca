/*
 * multi.c — one turn of the curl multi loop that the Tecken poster
 * (post.c) and the S3 uploader (s3.c) both drive: they differ in what a
 * transfer is and what happens when it ends, not in how the transfers run.
 */
#include <curl/curl.h>

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
