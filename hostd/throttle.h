/* Per-account token buckets, one per request class (EC2 throttles
 * non-mutating and mutating calls separately). */
#pragma once
#include <stdbool.h>
#include <stdint.h>

enum throttle_class { THROTTLE_DESCRIBE, THROTTLE_MUTATE, THROTTLE_NCLASSES };

struct throttle;

/* rate: tokens per second; burst: bucket size, per class. */
struct throttle *throttle_new(const double rate[THROTTLE_NCLASSES], const double burst[THROTTLE_NCLASSES]);
void throttle_free(struct throttle *t);
/* Takes one token from the account's bucket at time now_ms; false when the
 * bucket is empty (the caller answers RequestLimitExceeded). */
bool throttle_take(struct throttle *t, const char *account, enum throttle_class c, int64_t now_ms);
