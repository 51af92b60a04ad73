/* The daemon's shared context, handed to every action handler. */
#pragma once
#include <stdint.h>

struct config;
struct store;
struct throttle;

struct hostd {
	const struct config *cfg;
	struct store *store;
	struct throttle *throttle;
	const char *state_dir;
	/* Keys NextToken values so a client cannot forge or replay one across
	 * accounts or actions; random per start, so tokens die with hostd. */
	unsigned char token_key[32];
};
