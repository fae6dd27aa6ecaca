/* Unit tests of the packager's file order (ds_pack_order): no timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "packager.h"

static void check(const uint64_t *cost, size_t n, const size_t *want)
{
    size_t order[16];
    ds_pack_order(cost, n, order);
    for (size_t i = 0; i < n; i++)
        if (order[i] != want[i])
            fail_msg("order[%zu] = %zu, want %zu", i, order[i], want[i]);
}

static void test_biggest_first(void **state)
{
    (void)state;
    /* Name order: small files, a 230 MB one late in the list. */
    const uint64_t cost[] = {4096, 81920, 12288, 230000000, 117000000, 8192};
    const size_t want[] = {3, 4, 1, 2, 5, 0};
    check(cost, 6, want);
}

static void test_ties_keep_name_order(void **state)
{
    (void)state;
    const uint64_t cost[] = {100, 300, 100, 300, 100};
    const size_t want[] = {1, 3, 0, 2, 4};
    check(cost, 5, want);
}

static void test_empty_and_one(void **state)
{
    (void)state;
    ds_pack_order(NULL, 0, NULL);
    const uint64_t cost[] = {0};
    const size_t want[] = {0};
    check(cost, 1, want);
}

/* Two threads on a sorted list: while one works down from the biggest,
 * the other takes the smallest; the ends meet in the middle and every
 * file is handed out once. */
static void test_pick_keeps_big_apart(void **state)
{
    (void)state;
    size_t front = 0, back = 6, i;
    bool from_front;
    assert_true(ds_pack_pick(&front, &back, false, &i, &from_front));
    assert_int_equal(i, 0); /* thread A: the biggest */
    assert_true(from_front);
    assert_true(ds_pack_pick(&front, &back, true, &i, &from_front));
    assert_int_equal(i, 5); /* thread B, A on a big one: the smallest */
    assert_false(from_front);
    assert_true(ds_pack_pick(&front, &back, true, &i, &from_front));
    assert_int_equal(i, 4);
    assert_true(ds_pack_pick(&front, &back, false, &i, &from_front));
    assert_int_equal(i, 1); /* A done: the next biggest */
    assert_true(ds_pack_pick(&front, &back, true, &i, &from_front));
    assert_int_equal(i, 3);
    assert_true(ds_pack_pick(&front, &back, true, &i, &from_front));
    assert_int_equal(i, 2); /* the ends meet */
    assert_false(ds_pack_pick(&front, &back, false, &i, &from_front));
    assert_false(ds_pack_pick(&front, &back, true, &i, &from_front));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_biggest_first),
        cmocka_unit_test(test_ties_keep_name_order),
        cmocka_unit_test(test_empty_and_one),
        cmocka_unit_test(test_pick_keeps_big_apart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
