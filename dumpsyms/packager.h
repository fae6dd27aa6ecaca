/*
 * packager.h — the packager's scheduling, apart so that it can be tested
 * without timing.
 */
#ifndef DS_PACKAGER_H
#define DS_PACKAGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>


/* The order in which n files of the given costs (their sizes) are handed
 * to the dumping threads: order[i] is the index of the i-th file.  Biggest
 * first, so that a big file does not start late and run alone at the end;
 * equal costs keep their index order. */
void ds_pack_order(const uint64_t *cost, size_t n, size_t *order);

/* The next of the files [*front, *back) of a list in ds_pack_order()'s
 * order: the biggest left, unless another thread is dumping one taken from
 * the front (front_busy), then the smallest.  One thread at a time works
 * down from the biggest, so that two big files never add their peaks, and
 * the others take the small ones, whose commits wait on the disk, beside
 * it rather than all at the end; the two ends meet at a middling file.
 * Moves *front or *back past it; *from_front says which; false when none
 * is left. */
bool ds_pack_pick(size_t *front, size_t *back, bool front_busy, size_t *picked, bool *from_front);

#endif
