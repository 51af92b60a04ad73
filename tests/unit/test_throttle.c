/* hostd/throttle.c: token buckets per account and class, on a simulated
 * clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "hostd/throttle.h"

#define A "111111111111"
#define B "222222222222"

static struct throttle *mk(double drate, double dburst, double mrate, double mburst)
{
	const double rate[THROTTLE_NCLASSES] = { [THROTTLE_DESCRIBE] = drate, [THROTTLE_MUTATE] = mrate };
	const double burst[THROTTLE_NCLASSES] = { [THROTTLE_DESCRIBE] = dburst, [THROTTLE_MUTATE] = mburst };

	return throttle_new(rate, burst);
}

/* Takes until refused; returns how many were granted (at most limit). */
static int drain(struct throttle *t, const char *acct, enum throttle_class c, int64_t now, int limit)
{
	int n = 0;

	while (n < limit && throttle_take(t, acct, c, now))
		n++;
	return n;
}

static void test_burst_then_refill(void **state)
{
	struct throttle *t = mk(20, 100, 5, 200);
	int64_t now = 1700000000000LL;

	/* A new account starts with a full bucket. */
	assert_int_equal(drain(t, A, THROTTLE_DESCRIBE, now, 1000), 100);
	assert_false(throttle_take(t, A, THROTTLE_DESCRIBE, now));
	/* 20/s: one token per 50 ms. */
	assert_false(throttle_take(t, A, THROTTLE_DESCRIBE, now + 40));
	assert_true(throttle_take(t, A, THROTTLE_DESCRIBE, now + 51));
	assert_false(throttle_take(t, A, THROTTLE_DESCRIBE, now + 51));
	/* One second later: 20 more, not 21. */
	assert_int_equal(drain(t, A, THROTTLE_DESCRIBE, now + 1051, 1000), 20);
	/* A long idle refills to the burst and no further. */
	assert_int_equal(drain(t, A, THROTTLE_DESCRIBE, now + 3600 * 1000, 1000), 100);
	/* A steady stream at the rate is never refused. */
	for (int i = 1; i <= 1000; i++)
		assert_true(throttle_take(t, A, THROTTLE_DESCRIBE, now + 3600 * 1000 + i * 51));
	/* ... and one faster than it is, once the burst is spent. */
	{
		int64_t t0 = now + 7200 * 1000;
		int granted = 0;

		for (int i = 0; i < 1000; i++)
			granted += throttle_take(t, A, THROTTLE_DESCRIBE, t0 + i * 10);
		/* 100 burst + 10 s at 20/s = 300, give or take one at the edge. */
		assert_in_range(granted, 298, 301);
	}
	throttle_free(t);
}

static void test_refusals_do_not_cost(void **state)
{
	struct throttle *t = mk(1, 2, 1, 2);
	int64_t now = 5000;

	assert_int_equal(drain(t, A, THROTTLE_MUTATE, now, 10), 2);
	/* Hammering while empty does not push the next token further away. */
	for (int i = 0; i < 999; i++)
		assert_false(throttle_take(t, A, THROTTLE_MUTATE, now + i));
	assert_true(throttle_take(t, A, THROTTLE_MUTATE, now + 1001));
	assert_false(throttle_take(t, A, THROTTLE_MUTATE, now + 1001));
	throttle_free(t);
}

static void test_fractional_rate(void **state)
{
	struct throttle *t = mk(0.5, 1, 0.001, 1);
	int64_t now = 0;

	assert_true(throttle_take(t, A, THROTTLE_DESCRIBE, now));
	assert_false(throttle_take(t, A, THROTTLE_DESCRIBE, now + 1000));
	assert_false(throttle_take(t, A, THROTTLE_DESCRIBE, now + 1990));
	assert_true(throttle_take(t, A, THROTTLE_DESCRIBE, now + 2010));
	/* 0.001/s: one token per 1000 s. */
	assert_true(throttle_take(t, A, THROTTLE_MUTATE, now));
	assert_false(throttle_take(t, A, THROTTLE_MUTATE, now + 999 * 1000));
	assert_true(throttle_take(t, A, THROTTLE_MUTATE, now + 1001 * 1000));
	throttle_free(t);
}

static void test_independence(void **state)
{
	struct throttle *t = mk(1, 3, 1, 5);
	int64_t now = 1000;

	/* Classes of one account are separate buckets with their own bursts. */
	assert_int_equal(drain(t, A, THROTTLE_DESCRIBE, now, 100), 3);
	assert_int_equal(drain(t, A, THROTTLE_MUTATE, now, 100), 5);
	assert_false(throttle_take(t, A, THROTTLE_DESCRIBE, now));
	/* Accounts are separate too. */
	assert_int_equal(drain(t, B, THROTTLE_DESCRIBE, now, 100), 3);
	assert_int_equal(drain(t, B, THROTTLE_MUTATE, now, 100), 5);
	/* Refill of one class does not leak into the other. */
	assert_true(throttle_take(t, A, THROTTLE_DESCRIBE, now + 1000));
	assert_false(throttle_take(t, A, THROTTLE_DESCRIBE, now + 1000));
	assert_true(throttle_take(t, A, THROTTLE_MUTATE, now + 2000));
	assert_true(throttle_take(t, A, THROTTLE_MUTATE, now + 2000));
	assert_false(throttle_take(t, A, THROTTLE_MUTATE, now + 2000));
	throttle_free(t);

	/* Many accounts (the bucket table grows), each with its own bucket. */
	t = mk(1, 2, 1, 2);
	for (int i = 0; i < 200; i++) {
		char acct[13];

		snprintf(acct, sizeof(acct), "%012d", i);
		assert_int_equal(drain(t, acct, THROTTLE_DESCRIBE, now, 10), 2);
	}
	for (int i = 0; i < 200; i++) {
		char acct[13];

		snprintf(acct, sizeof(acct), "%012d", i);
		assert_false(throttle_take(t, acct, THROTTLE_DESCRIBE, now));
		assert_int_equal(drain(t, acct, THROTTLE_MUTATE, now, 10), 2);
	}
	throttle_free(t);
}

static void test_clock_oddities(void **state)
{
	struct throttle *t = mk(10, 5, 10, 5);
	int64_t now = 1000000;

	assert_int_equal(drain(t, A, THROTTLE_DESCRIBE, now, 100), 5);
	/* The clock stepping back neither refills nor breaks the bucket. */
	assert_false(throttle_take(t, A, THROTTLE_DESCRIBE, now - 60000));
	assert_false(throttle_take(t, A, THROTTLE_DESCRIBE, now));
	assert_true(throttle_take(t, A, THROTTLE_DESCRIBE, now + 101));
	/* A huge jump forward caps at the burst. */
	assert_int_equal(drain(t, A, THROTTLE_DESCRIBE, INT64_MAX / 2, 100), 5);
	/* An account first seen at time 0 still starts full. */
	assert_int_equal(drain(t, B, THROTTLE_MUTATE, 0, 100), 5);
	throttle_free(t);
	throttle_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_refill),
		cmocka_unit_test(test_refusals_do_not_cost),
		cmocka_unit_test(test_fractional_rate),
		cmocka_unit_test(test_independence),
		cmocka_unit_test(test_clock_oddities),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
