/*
 * cache.h — internal: the on-disk symbol cache many stackwalk processes
 * share (--symbols-cache, --symbols-tmp).
 *
 * A fill is written under a unique name in the temporary directory, synced,
 * then renamed to its store path, so a reader sees the whole file or none.
 * While one process downloads a key it holds an exclusive flock(2) on the
 * key's lock file (KEY.lock beside the entry); others wanting the same key
 * wait for it and then find the file already there instead of downloading
 * it again.  flock locks die with their process, so a crashed downloader
 * never blocks the others.
 */
#ifndef SYMKIT_STACKWALK_CACHE_H
#define SYMKIT_STACKWALK_CACHE_H

#include "common.h"

/* Takes the key's lock (creating directories as needed); -1 when it cannot
 * (the caller then downloads without it). */
int sw_cache_lock(const char *cache, const char *key);
void sw_cache_unlock(int fd);
/* Stores data as cache/key through tmp (NULL: the entry's own directory);
 * *path_out is the final path (malloc'd). */
int sw_cache_store(const char *cache, const char *tmp, const char *key, const void *data, size_t len,
                   char **path_out, sk_error *err);

#endif
