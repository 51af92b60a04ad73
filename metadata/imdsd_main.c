/* hostd-imds: the metadata service of every VPC, one long-running,
 * unprivileged, seccomp-confined process (metadata/imdsd.h). hostd starts
 * it as root with its end of a SOCK_SEQPACKET socketpair as --fd; it drops
 * to its own uid/gid and installs its filter before reading anything.
 *
 * --seccomp-selftest WHAT (for tests) goes through exactly the same
 * privilege drop and filter, then attempts WHAT (metadata/sandbox.h): a
 * forbidden call must end the process by SIGSYS. HOSTD_IMDS_SELFTEST=WHAT
 * in the environment (tests only: hostd passes its own on) makes the
 * server itself attempt WHAT once sandboxed, so the supervisor's answer
 * to a SIGSYS death can be watched. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "metadata/imdsd.h"
#include "metadata/sandbox.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hostd-imds --fd N\n"
		   "Serves 169.254.169.254 for hostd, fed over the control socket N (started by hostd).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "fd", required_argument, NULL, 'f' },
		{ "seccomp-selftest", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *selftest = NULL;
	int64_t fd = -1;
	int c, type = 0, r;
	socklen_t len = sizeof(type);

	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (parse_int64(optarg, &fd) < 0 || fd < 3 || fd > 1024) {
				usage(stderr);
				return 2;
			}
			break;
		case 's':
			selftest = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (fd < 0) == !selftest) {
		usage(stderr);
		return 2;
	}
	if (selftest) {
		if ((r = sandbox_enter()) < 0) {
			fprintf(stderr, "hostd-imds: sandbox: %s\n", strerror(-r));
			return 1;
		}
		r = sandbox_selftest(selftest);
		if (r == -EINVAL) {
			fprintf(stderr, "hostd-imds: unknown selftest %s\n", selftest);
			return 2;
		}
		if (r < 0)
			fprintf(stderr, "hostd-imds: %s was NOT stopped by the filter\n", selftest);
		return r < 0 ? 1 : 0;
	}
	if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0 || type != SOCK_SEQPACKET) {
		log_err("imds", "--fd %d is not a SOCK_SEQPACKET socket", (int)fd);
		return 2;
	}
	r = imdsd_run((int)fd, getenv("HOSTD_IMDS_SELFTEST"));
	if (r < 0) {
		log_err("imds", "hostd-imds: %s", strerror(-r));
		return 1;
	}
	return 0;
}
