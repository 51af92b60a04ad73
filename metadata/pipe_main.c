/* hostd-imds-pipe: the IMDS for one guest TCP connection. QEMU's user-mode
 * NIC starts it for every connection to 169.254.169.254:80
 * (guestfwd=tcp:169.254.169.254:80-cmd:hostd-imds-pipe --dir DIR) with the
 * connection on stdin/stdout, so it serves exactly the instance whose imds/
 * directory DIR is. Keep-alive; exits on EOF, after IDLE_MS without a
 * complete request, after MAX_REQUESTS, or when a response says close.
 *
 * libslirp splits the command line on spaces (no quoting: DIR cannot hold
 * one) and hands the connection over as stderr too. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "lib/util.h"
#include "metadata/imds.h"

#define IDLE_MS 10000
#define MAX_REQUESTS 1000

static void usage(FILE *f)
{
	fprintf(f, "usage: hostd-imds-pipe --dir DIR\n"
		   "Serves one IMDS connection on stdin/stdout from DIR (an instance's imds/).\n");
}

/* With stderr on the guest's connection (libslirp's fork_exec), a log line
 * would end up in the HTTP stream and tell the guest about the host:
 * diagnostics go nowhere then. */
static void quiet_stderr(void)
{
	struct stat in, err;
	int fd;

	if (fstat(STDERR_FILENO, &err) < 0 || fstat(STDIN_FILENO, &in) < 0 || !S_ISSOCK(err.st_mode) ||
	    in.st_dev != err.st_dev || in.st_ino != err.st_ino)
		return;
	fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && fd != STDERR_FILENO) {
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* A new token leaves with IP TTL = the instance's hop limit, as on EC2, so
 * it dies one router past the allowed hops (a container behind the guest
 * gets none with the default of 1). Only a TCP connection has a TTL (the
 * VPC namespace listener's, net/imdsl.c); under QEMU's guestfwd the pipe's
 * stdout is a socketpair and there is nothing to set. The TTL stays for the
 * rest of the connection: restoring it would let the retransmission of a
 * dropped response through. */
static void token_ttl(int hops)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(STDOUT_FILENO, (struct sockaddr *)&ss, &len) < 0 || ss.ss_family != AF_INET)
		return;
	if (setsockopt(STDOUT_FILENO, IPPROTO_IP, IP_TTL, &hops, sizeof(hops)) < 0)
		log_warn("imds", "IP_TTL %d: %s", hops, strerror(errno));
}

/* Answers every complete request at the start of in; returns the bytes
 * left over, or -1 when the connection is done. */
static ssize_t serve_buffered(int dirfd, char *in, size_t len, unsigned *served)
{
	struct buf out = BUF_INIT;
	ssize_t rc = (ssize_t)len;

	while (len > 0) {
		struct imds_config cfg;
		int hops = 0;
		struct imds_ctx ctx = { .dirfd = dirfd, .last = *served + 1 >= MAX_REQUESTS, .token_hops = &hops };
		bool close = false;
		ssize_t n;
		int lr;

		/* hostd may rewrite options and token.key at any time. */
		lr = imds_config_load(dirfd, &cfg);
		if (lr < 0)
			log_warn("imds", "cannot load options/token.key: %s", strerror(-lr));
		ctx.cfg = lr < 0 ? NULL : &cfg;
		ctx.now = now_ms() / 1000;
		n = imds_handle(&ctx, in, len, &out, &close);
		OPENSSL_cleanse(&cfg, sizeof(cfg));
		if (n <= 0)
			break;
		(*served)++;
		if (hops > 0)
			token_ttl(hops);
		if (write_all(STDOUT_FILENO, out.data, out.len) < 0 || close) {
			rc = -1;
			goto out;
		}
		buf_reset(&out);
		memmove(in, in + n, len - (size_t)n);
		len -= (size_t)n;
		rc = (ssize_t)len;
	}
out:
	buf_free(&out);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL;
	unsigned served = 0;
	int64_t deadline;
	size_t len = 0;
	char *in = NULL;
	int c, dirfd;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dir || optind != argc) {
		usage(stderr);
		return 2;
	}
	quiet_stderr();
	/* A guest that hangs up early must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		log_err("imds", "%s: %s", dir, strerror(errno));
		return 1;
	}
	in = xmalloc(IMDS_REQUEST_MAX);
	deadline = mono_ms() + IDLE_MS;
	while (served < MAX_REQUESTS) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		int64_t wait = deadline - mono_ms();
		unsigned before = served;
		ssize_t n;

		/* Idle means no complete request: a trickle of bytes cannot keep
		 * the process alive either. */
		if (wait <= 0)
			break;
		n = poll(&pfd, 1, (int)wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		n = read(STDIN_FILENO, in + len, IMDS_REQUEST_MAX - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		n = serve_buffered(dirfd, in, len, &served);
		if (n < 0)
			break;
		len = (size_t)n;
		if (served != before)
			deadline = mono_ms() + IDLE_MS;
		/* Cannot happen (imds_handle answers any full buffer); be sure. */
		if (len == IMDS_REQUEST_MAX)
			break;
	}
	free(in);
	close(dirfd);
	return 0;
}
