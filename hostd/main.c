/* hostd: an EC2-compatible host. Parses the command line, opens the state,
 * serves the API until SIGINT/SIGTERM. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hostd/accounts.h"
#include "hostd/api.h"
#include "hostd/config.h"
#include "hostd/hostca.h"
#include "hostd/hostd.h"
#include "hostd/http.h"
#include "hostd/imdstree.h"
#include "hostd/instances.h"
#include "hostd/store.h"
#include "hostd/throttle.h"
#include "images/registry.h"
#include "lib/log.h"
#include "lib/util.h"
#include "storage/storage.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hostd --state-dir DIR [--listen ADDR:PORT] [--config FILE] [--debug]\n"
		   "       hostd --list-actions\n");
}

/* The supported-actions list, generated from the action table. */
static void list_actions(void)
{
	for (size_t i = 0; i < api_nactions; i++) {
		const struct api_action *a = &api_actions[i];

		printf("%s\t%s\t", a->name, a->mutating ? "mutating" : "describe");
		for (size_t p = 0; a->params[p].pattern; p++)
			printf("%s%s", p ? " " : "", a->params[p].pattern);
		printf("\n");
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 's' },
		{ "listen", required_argument, NULL, 'l' },
		{ "config", required_argument, NULL, 'c' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "list-actions", no_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	const char *state_dir = NULL, *listen = NULL, *config_path = NULL;
	struct config cfg;
	struct hostd h;
	struct http_server *http = NULL;
	char err[512], dbpath[4096], *abs_state = NULL;
	sigset_t sigs;
	int c, sig, ret = 1;

	memset(&h, 0, sizeof(h));
	config_defaults(&cfg);
	while ((c = getopt_long(argc, argv, "s:l:c:dh", opts, NULL)) != -1) {
		switch (c) {
		case 's': state_dir = optarg; break;
		case 'l': listen = optarg; break;
		case 'c': config_path = optarg; break;
		case 'd': log_set_level(LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		case 'A': list_actions(); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!state_dir || optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((config_path ? config_load(&cfg, config_path, err, sizeof(err))
			 : config_parse(&cfg, "", err, sizeof(err))) < 0) {
		log_err("main", "config %s: %s", config_path ? config_path : "(defaults)", err);
		goto out;
	}
	if (listen && snprintf(cfg.listen, sizeof(cfg.listen), "%s", listen) >= (int)sizeof(cfg.listen)) {
		log_err("main", "--listen too long");
		goto out;
	}
	if (mkdir(state_dir, 0711) < 0 && errno != EEXIST) {
		log_err("main", "mkdir %s: %s", state_dir, strerror(errno));
		goto out;
	}
	/* libvirt and qemu-img need absolute paths for disks and logs. */
	abs_state = realpath(state_dir, NULL);
	if (!abs_state) {
		log_err("main", "realpath %s: %s", state_dir, strerror(errno));
		goto out;
	}
	state_dir = abs_state;
	if (snprintf(dbpath, sizeof(dbpath), "%s/state.db", state_dir) >= (int)sizeof(dbpath)) {
		log_err("main", "state dir path too long");
		goto out;
	}
	pthread_mutex_init(&h.lock, NULL);
	if (store_open(&h.store, dbpath) < 0)
		goto out;
	h.cfg = &cfg;
	h.state_dir = state_dir;
	if (random_bytes(h.token_key, sizeof(h.token_key)) < 0)
		goto out;
	{
		const double rate[] = { cfg.describe_rate, cfg.mutate_rate };
		const double burst[] = { cfg.describe_burst, cfg.mutate_burst };

		h.throttle = throttle_new(rate, burst);
	}
	if (accounts_sync(h.store, &cfg, state_dir) < 0)
		goto out;
	/* The CA that signs identity documents: made on first start. */
	{
		struct hostca *ca = NULL;
		char cadir[4200];

		if (state_path(&h, "ca", cadir, sizeof(cadir)) < 0 || hostca_open(cadir, "hostd", &ca) < 0)
			goto out;
		hostca_free(ca);
	}
	pthread_mutex_lock(&h.lock);
	(void)imdstree_refresh_running(&h); /* logs its own failures */
	pthread_mutex_unlock(&h.lock);
	/* Signals are taken synchronously by this thread only; every other
	 * thread (HTTP, reconciler, libvirt's) inherits the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (instmgr_start(&h) < 0)
		goto out;
	if (storage_start(&h) < 0)
		goto out;

	if (images_start(&h) < 0)
		goto out;

	if (http_start(&http, &h, cfg.listen) < 0)
		goto out;
	log_info("main", "hostd listening on %s (port %u), region %s, zone %s, state %s", cfg.listen,
		 http_port(http), cfg.region, cfg.availability_zone, state_dir);
	if (sigwait(&sigs, &sig) == 0)
		log_info("main", "signal %d: shutting down", sig);
	ret = 0;
out:
	http_stop(http);
	storage_stop(&h);
	instmgr_stop(&h);
	images_stop(&h);
	throttle_free(h.throttle);
	store_close(h.store);
	config_free(&cfg);
	free(abs_state);
	return ret;
}
