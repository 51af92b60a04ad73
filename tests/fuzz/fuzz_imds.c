/* libFuzzer target for metadata/imds.c. The first input byte picks the
 * instance settings (bit 0 http_tokens=required, bit 1 http_endpoint=
 * disabled, bit 2 no config, bit 3 last response, bits 4-7 the hop limit
 * minus one); the rest is what a guest
 * sent on one connection, handled request by request as hostd-imds-pipe
 * does, against a small imds/ tree with a symlink and a FIFO in it.
 *
 * Checked on every response: a known status line, a head that ends,
 * Content-Length equal to the body (or an empty body for HEAD), nothing
 * from outside the tree, no options or key bytes; and the same answer
 * when only the bytes consumed are given (no look-ahead past a request).
 * The seeds' tokens are minted with KEY, IID and NOW below (expiry
 * NOW + 21600), so the valid-token path is reachable. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "metadata/imds.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define NOW 1714558830
#define IID "i-0fuzz0000000000a"
#define KEY "fuzz-imds-token-key-32-bytes-abc"
#define SECRET "OUTSIDE-THE-TREE"

static char top[64];
static int dfd = -1;
static struct imds_config cfg;

static void put(const char *rel, const char *s)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	f = fopen(path, "w");
	CHECK(f && fputs(s, f) >= 0 && fclose(f) == 0);
}

static void dir(const char *rel)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	CHECK(mkdir(path, 0700) == 0);
}

static void cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "fuzz_imds: could not remove %s\n", top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[256];

	(void)argc, (void)argv;
	snprintf(top, sizeof(top), "/tmp/fuzz_imds.XXXXXX");
	CHECK(mkdtemp(top));
	atexit(cleanup);
	put("secret", SECRET);
	dir("imds");
	dir("imds/meta-data");
	put("imds/meta-data/instance-id", IID);
	put("imds/meta-data/ami-id", "ami-0abcdef1234567890");
	dir("imds/meta-data/placement");
	put("imds/meta-data/placement/availability-zone", "us-east-1a");
	dir("imds/meta-data/public-keys");
	put("imds/meta-data/public-keys/.listing", "0=my-key");
	dir("imds/meta-data/public-keys/0");
	put("imds/meta-data/public-keys/0/openssh-key", "ssh-ed25519 AAAAC3 my-key");
	dir("imds/meta-data/tags");
	dir("imds/meta-data/tags/instance");
	put("imds/meta-data/tags/instance/a=b@c", "odd");
	dir("imds/dynamic");
	dir("imds/dynamic/instance-identity");
	put("imds/dynamic/instance-identity/document", "{}");
	put("imds/user-data", "#!/bin/sh\n");
	put("imds/options", "instance_id=" IID "\nhttp_tokens=optional\n");
	put("imds/token.key", KEY);
	snprintf(path, sizeof(path), "%s/imds/meta-data/leak", top);
	CHECK(symlink("../../secret", path) == 0);
	snprintf(path, sizeof(path), "%s/imds/meta-data/opts", top);
	CHECK(symlink("../options", path) == 0);
	snprintf(path, sizeof(path), "%s/imds/meta-data/fifo", top);
	CHECK(mkfifo(path, 0600) == 0);
	snprintf(path, sizeof(path), "%s/imds", top);
	dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(dfd >= 0 && imds_config_load(dfd, &cfg) == 0);
	return 0;
}

static void check_response(const struct buf *out)
{
	const char *sep, *cl;
	size_t hlen, blen;
	long want;
	int status;

	CHECK(out->len > 12 && !memcmp(out->data, "HTTP/1.1 ", 9));
	status = atoi(out->data + 9);
	CHECK(status == 200 || status == 400 || status == 401 || status == 403 || status == 404 ||
	      status == 405 || status == 500);
	sep = memmem(out->data, out->len, "\r\n\r\n", 4);
	CHECK(sep);
	hlen = (size_t)(sep - out->data) + 4;
	blen = out->len - hlen;
	cl = memmem(out->data, hlen, "\r\nContent-Length: ", 18);
	CHECK(cl);
	want = strtol(cl + 18, NULL, 10);
	CHECK(want >= 0 && ((size_t)want == blen || blen == 0));
	CHECK(!memmem(out->data, out->len, SECRET, strlen(SECRET)));
	CHECK(!memmem(out->data, out->len, KEY, 8));
	CHECK(!memmem(out->data, out->len, "instance_id=", 12));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imds_config c = cfg;
	int hops = 0;
	struct imds_ctx ctx = { .dirfd = dfd, .cfg = &c, .now = NOW, .token_hops = &hops };
	struct buf out = BUF_INIT, again = BUF_INIT;
	const char *in = (const char *)data + 1;
	size_t off = 0, len;

	if (size < 1)
		return 0;
	c.tokens_required = data[0] & 1;
	c.hop_limit = 1 + (data[0] >> 4);
	c.endpoint_disabled = data[0] & 2;
	if (data[0] & 4)
		ctx.cfg = NULL;
	ctx.last = data[0] & 8;
	len = size - 1;
	while (off < len) {
		bool close = false, close2 = false;
		ssize_t n = imds_handle(&ctx, in + off, len - off, &out, &close);
		char *exact;

		CHECK(n >= 0 && (size_t)n <= len - off);
		if (n == 0) {
			CHECK(out.len == 0 && len - off < IMDS_REQUEST_MAX);
			break;
		}
		check_response(&out);
		CHECK(!ctx.last || close);
		/* The hop limit is reported for a new token (a 200) only. */
		CHECK(hops == 0 || (hops == c.hop_limit && !memcmp(out.data, "HTTP/1.1 200 ", 13)));
		hops = 0;
		/* The same bytes, exactly, in a buffer of their own. */
		exact = malloc((size_t)n);
		memcpy(exact, in + off, (size_t)n);
		CHECK(imds_handle(&ctx, exact, (size_t)n, &again, &close2) == n);
		hops = 0;
		free(exact);
		CHECK(close2 == close && again.len == out.len && !memcmp(again.data, out.data, out.len));
		buf_reset(&out);
		buf_reset(&again);
		off += (size_t)n;
		if (close)
			break;
	}
	buf_free(&out);
	buf_free(&again);
	return 0;
}
