/* The daemon's shared context, handed to every action handler. */
#pragma once
#include <pthread.h>
#include <stdint.h>

struct config;
struct store;
struct throttle;
struct vmm;
struct instmgr;
struct images;
struct imdsl;
struct storage;

struct hostd {
	const struct config *cfg;
	struct store *store;
	struct throttle *throttle;
	const char *state_dir;
	/* Keys NextToken values so a client cannot forge or replay one across
	 * accounts or actions; random per start, so tokens die with hostd. */
	unsigned char token_key[32];
	/* Serialises the store (one SQLite connection) and instance state
	 * between the API thread and the background workers. Never held across
	 * slow work (booting, converting images). */
	pthread_mutex_t lock;
	struct vmm *vmm;           /* NULL when virtualisation is off (unit tests) */
	struct instmgr *instmgr;
	struct images *images;     /* the ImportImage worker; NULL when not started */
	struct imdsl *imdsl;       /* 169.254.169.254 in every VPC namespace; NULL when not started */
	struct storage *storage;   /* volumes and snapshots (storage/); NULL when not started */
};
