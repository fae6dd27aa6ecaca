/*
 * s3_source.h — internal: a symbol store kept in an S3-compatible bucket,
 * read with GETs signed by libcurl's AWS Signature V4 (CURLOPT_AWS_SIGV4),
 * for --symbols-url s3://BUCKET[/PREFIX].
 *
 * The bucket holds the store layout symupload --s3 writes
 * (PREFIX/<debug_file>/<DEBUGID>/<name>.sym, usually gzip-encoded, decoded
 * by curl).  Endpoint, region and addressing come from sw_options, else
 * from AWS_ENDPOINT_URL and AWS_REGION/AWS_DEFAULT_REGION; credentials only
 * from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN (without
 * them requests go unsigned, as for a public bucket).  A public bucket's
 * https:// URL needs none of this: it is an ordinary symbol server.
 */
#ifndef SYMKIT_STACKWALK_S3_SOURCE_H
#define SYMKIT_STACKWALK_S3_SOURCE_H

#include <curl/curl.h>

#include "stackwalk.h"

bool sw_s3_is_url(const char *url);

/* GETs the object <prefix>/<key> of the bucket s3_url names into body (at
 * most max bytes).  Returns 1 found, 0 absent, -1 error (logged); *url_out
 * gets the HTTP URL asked (malloc'd) in every case. */
int sw_s3_get(CURL *c, const sw_options *opt, const char *s3_url, const char *key, sk_buf *body,
              size_t max, char **url_out);

#endif
