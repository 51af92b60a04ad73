#include "hostd/throttle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

struct bucket {
	char account[13];
	double tokens[THROTTLE_NCLASSES];
	int64_t last_ms[THROTTLE_NCLASSES];
};

struct throttle {
	double rate[THROTTLE_NCLASSES], burst[THROTTLE_NCLASSES];
	struct bucket *b;
	size_t n, cap;
};

struct throttle *throttle_new(const double rate[THROTTLE_NCLASSES], const double burst[THROTTLE_NCLASSES])
{
	struct throttle *t = xcalloc(1, sizeof(*t));

	memcpy(t->rate, rate, sizeof(t->rate));
	memcpy(t->burst, burst, sizeof(t->burst));
	return t;
}

void throttle_free(struct throttle *t)
{
	if (!t)
		return;
	free(t->b);
	free(t);
}

/* Accounts are few (they come from the config), so a linear scan is fine. */
static struct bucket *find(struct throttle *t, const char *account, int64_t now)
{
	struct bucket *b;

	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->b[i].account, account))
			return &t->b[i];
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 4;
		t->b = realloc(t->b, t->cap * sizeof(*t->b));
		if (!t->b)
			abort();
	}
	b = &t->b[t->n++];
	memset(b, 0, sizeof(*b));
	snprintf(b->account, sizeof(b->account), "%s", account);
	for (int c = 0; c < THROTTLE_NCLASSES; c++) {
		b->tokens[c] = t->burst[c];
		b->last_ms[c] = now;
	}
	return b;
}

bool throttle_take(struct throttle *t, const char *account, enum throttle_class c, int64_t now)
{
	struct bucket *b = find(t, account, now);
	int64_t dt = now - b->last_ms[c];

	if (dt > 0) {
		b->tokens[c] += (double)dt * t->rate[c] / 1000.0;
		if (b->tokens[c] > t->burst[c])
			b->tokens[c] = t->burst[c];
		b->last_ms[c] = now;
	}
	if (b->tokens[c] < 1.0)
		return false;
	b->tokens[c] -= 1.0;
	return true;
}
