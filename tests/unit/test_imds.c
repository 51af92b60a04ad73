/* metadata/imds.c: IMDSv2 tokens, every status code, listings, traversal
 * attempts, pipelining and partial input, against a temporary imds/ tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/util.h"
#include "metadata/imds.h"

#define NOW 1700000000
#define IID "i-0123456789abcdef0"
#define SECRET "OUTSIDE-SECRET"

static char top[PATH_MAX];   /* holds imds/ and a file outside it */
static char dir[PATH_MAX + 8];   /* the instance's imds/ */
static int dfd = -1;
static struct imds_config cfg;
static struct imds_ctx ctx;

/* ---- fixture --------------------------------------------------------- */

static void put_file(const char *rel, const void *data, size_t n)
{
	char path[PATH_MAX * 2];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	f = fopen(path, "wb");
	if (!f || fwrite(data, 1, n, f) != n || fclose(f))
		fail_msg("cannot write %s", path);
}

static void put_str(const char *rel, const char *s)
{
	put_file(rel, s, strlen(s));
}

static void mk(const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if (mkdir(path, 0700) < 0)
		fail_msg("mkdir %s: %s", path, strerror(errno));
}

static void symlink_at(const char *target, const char *rel)
{
	char path[PATH_MAX * 2];

	snprintf(path, sizeof(path), "%s/%s", top, rel);
	if (symlink(target, path) < 0)
		fail_msg("symlink %s: %s", path, strerror(errno));
}

static const unsigned char key[IMDS_KEY_LEN] = "0123456789abcdef0123456789abcdef";
static const char user_data[] = "#!/bin/sh\necho hi\n\0\xff raw";

static int group_setup(void **state)
{
	char path[PATH_MAX * 2];

	snprintf(top, sizeof(top), "/tmp/test_imds.XXXXXX");
	if (!mkdtemp(top))
		return -1;
	snprintf(dir, sizeof(dir), "%s/imds", top);
	put_str("secret", SECRET);
	mk("imds");
	mk("imds/meta-data");
	put_str("imds/meta-data/ami-id", "ami-0abcdef1234567890");
	put_str("imds/meta-data/instance-id", IID);
	mk("imds/meta-data/placement");
	put_str("imds/meta-data/placement/availability-zone", "us-east-1a");
	mk("imds/meta-data/public-keys");
	put_str("imds/meta-data/public-keys/.listing", "0=my-key");
	mk("imds/meta-data/public-keys/0");
	put_str("imds/meta-data/public-keys/0/openssh-key", "ssh-ed25519 AAAAC3 my-key");
	mk("imds/meta-data/network");
	mk("imds/meta-data/network/interfaces");
	mk("imds/meta-data/network/interfaces/macs");
	mk("imds/meta-data/network/interfaces/macs/02:29:96:8f:6a:2d");
	put_str("imds/meta-data/network/interfaces/macs/02:29:96:8f:6a:2d/subnet-id", "subnet-be9b61d7");
	mk("imds/meta-data/tags");
	mk("imds/meta-data/tags/instance");
	put_str("imds/meta-data/tags/instance/Name", "web");
	put_str("imds/meta-data/tags/instance/a=b@c", "odd key");
	/* Never listed, never served: */
	put_str("imds/meta-data/.hidden", "hidden");
	put_str("imds/meta-data/sp ace", "bad name");
	symlink_at("../../secret", "imds/meta-data/leak");
	symlink_at("/etc", "imds/meta-data/etc");
	symlink_at("../options", "imds/meta-data/opts");
	snprintf(path, sizeof(path), "%s/imds/meta-data/fifo", top);
	if (mkfifo(path, 0600) < 0)
		return -1;
	mk("imds/dynamic");
	mk("imds/dynamic/instance-identity");
	put_str("imds/dynamic/instance-identity/document", "{\"instanceId\" : \"" IID "\"}");
	put_file("imds/user-data", user_data, sizeof(user_data) - 1);
	put_str("imds/options", "instance_id=" IID "\nhttp_tokens=optional\nhttp_endpoint=enabled\nhop_limit=1\n");
	put_file("imds/token.key", key, sizeof(key));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0 || imds_config_load(dfd, &cfg) < 0)
		return -1;
	(void)state;
	return 0;
}

static int group_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	close(dfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	return system(cmd) == 0 ? 0 : -1;
}

static int reset(void **state)
{
	(void)state;
	if (imds_config_load(dfd, &cfg) < 0)
		return -1;
	ctx = (struct imds_ctx){ .dirfd = dfd, .cfg = &cfg, .now = NOW, .last = false };
	return 0;
}

/* ---- running requests ------------------------------------------------ */

struct resp {
	ssize_t used;
	bool close;
	int status;
	char head[4096];
	char *body;
	size_t body_len;
};

/* Handles req (copied to an exactly-sized buffer so ASan sees any read
 * past its end) and splits the response. */
static struct resp run_n(const char *req, size_t n)
{
	struct resp r = { 0 };
	struct buf out = BUF_INIT;
	char *copy = malloc(n ? n : 1), *sep;
	size_t hlen;

	memcpy(copy, req, n);
	r.used = imds_handle(&ctx, copy, n, &out, &r.close);
	free(copy);
	if (r.used <= 0) {
		assert_int_equal(out.len, 0);
		buf_free(&out);
		return r;
	}
	sep = memmem(out.data, out.len, "\r\n\r\n", 4);
	assert_non_null(sep);
	hlen = (size_t)(sep - out.data) + 2;
	assert_true(hlen < sizeof(r.head));
	memcpy(r.head, out.data, hlen);
	r.head[hlen] = '\0';
	assert_int_equal(sscanf(r.head, "HTTP/1.1 %d ", &r.status), 1);
	r.body_len = out.len - hlen - 2;
	r.body = malloc(r.body_len + 1);
	memcpy(r.body, sep + 4, r.body_len);
	r.body[r.body_len] = '\0';
	buf_free(&out);
	return r;
}

static struct resp run(const char *req)
{
	return run_n(req, strlen(req));
}

/* The value of header name (any case), or NULL; in a static buffer. */
static const char *hdr(const struct resp *r, const char *name)
{
	static char val[1024];
	size_t nlen = strlen(name);

	for (const char *l = strstr(r->head, "\r\n"); l && l[2]; l = strstr(l + 2, "\r\n")) {
		const char *s = l + 2, *e = strstr(s, "\r\n");

		if (!strncasecmp(s, name, nlen) && s[nlen] == ':') {
			snprintf(val, sizeof(val), "%.*s", (int)(e - s - nlen - 2), s + nlen + 2);
			return val;
		}
	}
	return NULL;
}

/* Runs req, checks the framing every response must have, and frees it. */
static void expect(const char *req, int status, const char *body)
{
	struct resp r = run(req);
	char len[32];

	if (r.used != (ssize_t)strlen(req))
		fail_msg("%s: used %zd of %zu", req, r.used, strlen(req));
	if (r.status != status)
		fail_msg("%s: status %d, want %d\n%s%s", req, r.status, status, r.head, r.body);
	snprintf(len, sizeof(len), "%zu", r.body_len);
	assert_string_equal(hdr(&r, "Content-Length"), len);
	assert_string_equal(hdr(&r, "Server"), "EC2ws");
	assert_non_null(hdr(&r, "Date"));
	assert_string_equal(hdr(&r, "Content-Type"), status == 200 ? "text/plain" : "text/html");
	if (body && strcmp(r.body, body))
		fail_msg("%s: body\n[%s]\nwant\n[%s]", req, r.body, body);
	if (status != 200)
		assert_non_null(strstr(r.body, status == 404 ? "<title>404 - Not Found</title>" : "</title>"));
	free(r.body);
}

static void get(const char *target, int status, const char *body)
{
	char req[2048];

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n", target);
	expect(req, status, body);
}

static void mint(char tok[IMDS_TOKEN_LEN + 1], int64_t now, int ttl)
{
	assert_int_equal(imds_token_mint(&cfg, now, ttl, tok), 0);
}

/* ---- tokens ---------------------------------------------------------- */

static void test_token_roundtrip(void **state)
{
	char tok[IMDS_TOKEN_LEN + 1];

	(void)state;
	mint(tok, NOW, 60);
	/* The format, from an independent implementation (Python's hmac):
	 * base64url(1 || be64(expiry) || HMAC-SHA256(key, "imdsv2" || 1 ||
	 * be64(expiry) || instance id)), unpadded. */
	assert_string_equal(tok, "AQAAAABlU_E8OnHRLFRwog3uH0B3noto2lCBLg80JFjQsQBm3XjaNiY");
	assert_int_equal(strlen(tok), IMDS_TOKEN_LEN);
	for (size_t i = 0; i < IMDS_TOKEN_LEN; i++)
		assert_non_null(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", tok[i]));
	assert_int_equal(imds_token_check(&cfg, tok, IMDS_TOKEN_LEN, NOW), 60);
	assert_int_equal(imds_token_check(&cfg, tok, IMDS_TOKEN_LEN, NOW + 59), 1);
	/* Deterministic: the same instance, key and expiry give the same token. */
	{
		char again[IMDS_TOKEN_LEN + 1];

		mint(again, NOW + 30, 30);
		assert_string_equal(again, tok);
	}
	mint(tok, NOW, IMDS_TTL_MAX);
	assert_int_equal(imds_token_check(&cfg, tok, IMDS_TOKEN_LEN, NOW), IMDS_TTL_MAX);
	mint(tok, NOW, 1);
	assert_int_equal(imds_token_check(&cfg, tok, IMDS_TOKEN_LEN, NOW), 1);
	assert_int_equal(imds_token_mint(&cfg, NOW, 0, tok), -EINVAL);
	assert_int_equal(imds_token_mint(&cfg, NOW, IMDS_TTL_MAX + 1, tok), -EINVAL);
	assert_int_equal(imds_token_mint(&cfg, NOW, -1, tok), -EINVAL);
}

static void test_token_expiry(void **state)
{
	char tok[IMDS_TOKEN_LEN + 1];

	(void)state;
	mint(tok, NOW, 10);
	assert_int_equal(imds_token_check(&cfg, tok, IMDS_TOKEN_LEN, NOW + 9), 1);
	assert_int_equal(imds_token_check(&cfg, tok, IMDS_TOKEN_LEN, NOW + 10), -EACCES);
	assert_int_equal(imds_token_check(&cfg, tok, IMDS_TOKEN_LEN, NOW + 100000), -EACCES);
}

static void test_token_binding(void **state)
{
	struct imds_config other = cfg;
	char tok[IMDS_TOKEN_LEN + 1];

	(void)state;
	mint(tok, NOW, 600);
	/* Another instance with the same key (the future shared process). */
	snprintf(other.instance_id, sizeof(other.instance_id), "i-0123456789abcdef1");
	assert_int_equal(imds_token_check(&other, tok, IMDS_TOKEN_LEN, NOW), -EACCES);
	/* The same instance id under another key. */
	other = cfg;
	other.key[31] ^= 1;
	assert_int_equal(imds_token_check(&other, tok, IMDS_TOKEN_LEN, NOW), -EACCES);
	assert_int_equal(imds_token_check(&cfg, tok, IMDS_TOKEN_LEN, NOW), 600);
}

static void test_token_tampering(void **state)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char tok[IMDS_TOKEN_LEN + 2], bad[IMDS_TOKEN_LEN + 2];

	(void)state;
	mint(tok, NOW, 600);
	/* Every other character in every position is refused, including the
	 * last one, whose low bits plain base64 decoding would ignore. */
	for (size_t i = 0; i < IMDS_TOKEN_LEN; i++) {
		for (const char *c = alpha; *c; c++) {
			if (*c == tok[i])
				continue;
			memcpy(bad, tok, sizeof(tok));
			bad[i] = *c;
			if (imds_token_check(&cfg, bad, IMDS_TOKEN_LEN, NOW) != -EACCES)
				fail_msg("accepted %s (position %zu)", bad, i);
		}
	}
	/* Lengths, padding, other alphabets. */
	assert_int_equal(imds_token_check(&cfg, tok, IMDS_TOKEN_LEN - 1, NOW), -EACCES);
	memcpy(bad, tok, IMDS_TOKEN_LEN);
	bad[IMDS_TOKEN_LEN] = '=';
	assert_int_equal(imds_token_check(&cfg, bad, IMDS_TOKEN_LEN + 1, NOW), -EACCES);
	memcpy(bad, tok, sizeof(tok));
	bad[3] = '+';
	assert_int_equal(imds_token_check(&cfg, bad, IMDS_TOKEN_LEN, NOW), -EACCES);
	bad[3] = '\0';
	assert_int_equal(imds_token_check(&cfg, bad, IMDS_TOKEN_LEN, NOW), -EACCES);
	assert_int_equal(imds_token_check(&cfg, "", 0, NOW), -EACCES);
	assert_int_equal(imds_token_check(NULL, tok, IMDS_TOKEN_LEN, NOW), -EACCES);
	/* A later expiry with the original MAC. */
	memcpy(bad, tok, sizeof(tok));
	bad[4] = bad[4] == 'z' ? 'y' : 'z';
	assert_int_equal(imds_token_check(&cfg, bad, IMDS_TOKEN_LEN, NOW), -EACCES);
	assert_int_equal(imds_token_check(&cfg, tok, IMDS_TOKEN_LEN, NOW), 600);
}

/* ---- PUT /latest/api/token ------------------------------------------- */

static void test_put_token(void **state)
{
	struct resp r;

	(void)state;
	r = run("PUT /latest/api/token HTTP/1.1\r\nHost: 169.254.169.254\r\n"
		"X-aws-ec2-metadata-token-ttl-seconds: 21600\r\n\r\n");
	assert_int_equal(r.status, 200);
	assert_false(r.close);
	assert_string_equal(hdr(&r, "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"), "21600");
	assert_string_equal(hdr(&r, "Content-Type"), "text/plain");
	assert_string_equal(hdr(&r, "Connection"), "keep-alive");
	assert_int_equal(r.body_len, IMDS_TOKEN_LEN);
	assert_int_equal(imds_token_check(&cfg, r.body, r.body_len, NOW), 21600);
	free(r.body);
	/* Header names are case-insensitive; a body is read and ignored. */
	r = run("PUT /latest/api/token HTTP/1.1\r\nx-AWS-ec2-METADATA-token-TTL-seconds:1\r\n"
		"Content-Length: 5\r\n\r\nhello");
	assert_int_equal(r.status, 200);
	assert_int_equal(r.used, strlen("PUT /latest/api/token HTTP/1.1\r\nx-AWS-ec2-METADATA-token-TTL-seconds:1\r\n"
					"Content-Length: 5\r\n\r\nhello"));
	assert_int_equal(imds_token_check(&cfg, r.body, r.body_len, NOW), 1);
	free(r.body);
	/* The caller learns the hop limit for a new token only. */
	{
		int hops = 0;

		ctx.token_hops = &hops;
		cfg.hop_limit = 3;
		r = run("GET /latest/meta-data/instance-id HTTP/1.1\r\n\r\n");
		assert_int_equal(hops, 0);
		free(r.body);
		r = run("PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 0\r\n\r\n");
		assert_int_equal(r.status, 400);
		assert_int_equal(hops, 0);
		free(r.body);
		r = run("PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 5\r\n\r\n");
		assert_int_equal(r.status, 200);
		assert_int_equal(hops, 3);
		free(r.body);
		ctx.token_hops = NULL;
		cfg.hop_limit = 1;
	}
}

static void test_put_token_bad_ttl(void **state)
{
	static const char *const bad[] = {
		"", "X-aws-ec2-metadata-token-ttl-seconds: 0\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: 21601\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: -1\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: abc\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: 10 0\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: 1e3\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds:\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: 99999999999999999999\r\n",
		"X-aws-ec2-metadata-token-ttl-seconds: 60\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		char req[512];
		struct resp r;

		snprintf(req, sizeof(req), "PUT /latest/api/token HTTP/1.1\r\n%s\r\n", bad[i]);
		expect(req, 400, NULL);
		r = run(req);
		assert_false(r.close); /* a well-formed request: the connection stays */
		assert_non_null(strstr(r.body, "<title>400 - Bad Request</title>"));
		free(r.body);
	}
}

static void test_put_refusals(void **state)
{
	struct resp r;

	(void)state;
	/* A PUT that came through a proxy. */
	expect("PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n"
	       "X-Forwarded-For: 10.0.0.1\r\n\r\n", 403, NULL);
	/* The user guide: the token path of a dated version answers 403. */
	expect("PUT /2021-03-23/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n", 403, NULL);
	r = run("PUT /latest/meta-data/ HTTP/1.1\r\n\r\n");
	assert_int_equal(r.status, 405);
	assert_string_equal(hdr(&r, "Allow"), "GET, HEAD");
	free(r.body);
	r = run("GET /latest/api/token HTTP/1.1\r\n\r\n");
	assert_int_equal(r.status, 405);
	assert_string_equal(hdr(&r, "Allow"), "PUT");
	free(r.body);
	expect("POST /latest/api/token HTTP/1.1\r\nContent-Length: 0\r\n\r\n", 405, NULL);
	expect("DELETE /latest/meta-data/ HTTP/1.1\r\n\r\n", 405, NULL);
	r = run("get /latest/meta-data/ HTTP/1.1\r\n\r\n");
	assert_int_equal(r.status, 405);
	assert_string_equal(hdr(&r, "Allow"), "GET, HEAD, PUT");
	assert_non_null(strstr(r.body, "<title>405 - Method Not Allowed</title>"));
	free(r.body);
}

/* ---- GET with and without tokens ------------------------------------- */

static void get_with_token(const char *tok, int status)
{
	char req[512];

	snprintf(req, sizeof(req), "GET /latest/meta-data/instance-id HTTP/1.1\r\n"
		 "X-aws-ec2-metadata-token: %s\r\n\r\n", tok);
	expect(req, status, status == 200 ? IID : NULL);
}

static void test_get_tokens(void **state)
{
	char tok[IMDS_TOKEN_LEN + 1], req[512];
	struct imds_config other = cfg;
	struct resp r;

	(void)state;
	mint(tok, NOW - 100, 400);
	snprintf(req, sizeof(req), "GET /latest/meta-data/instance-id HTTP/1.1\r\n"
		 "X-aws-ec2-metadata-token: %s\r\n\r\n", tok);
	r = run(req);
	assert_int_equal(r.status, 200);
	/* EC2 tells a token's remaining lifetime on every answer it allows. */
	assert_string_equal(hdr(&r, "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"), "300");
	free(r.body);
	get_with_token(tok, 200);
	/* Expired, garbage, empty, from another instance: 401 even though
	 * http_tokens is optional. */
	mint(tok, NOW - 100, 100);
	get_with_token(tok, 401);
	memset(tok, 'A', IMDS_TOKEN_LEN);
	tok[1] = 'Q'; /* version 1, expiry in the far future, MAC of zeros */
	tok[5] = 'z';
	get_with_token(tok, 401);
	get_with_token("", 401);
	snprintf(other.instance_id, sizeof(other.instance_id), "i-0fffffffffffffff0");
	assert_int_equal(imds_token_mint(&other, NOW, 60, tok), 0);
	get_with_token(tok, 401);
	/* Two token headers: refused. */
	mint(tok, NOW, 60);
	snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nX-aws-ec2-metadata-token: %s\r\n"
		 "X-aws-ec2-metadata-token: %s\r\n\r\n", tok, tok);
	expect(req, 401, NULL);
	/* IMDSv1: no token at all is fine while tokens are optional. */
	r = run("GET /latest/meta-data/instance-id HTTP/1.1\r\n\r\n");
	assert_int_equal(r.status, 200);
	assert_null(hdr(&r, "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"));
	free(r.body);
}

static void test_tokens_required(void **state)
{
	char tok[IMDS_TOKEN_LEN + 1];

	(void)state;
	cfg.tokens_required = true;
	get("/latest/meta-data/instance-id", 401, NULL);
	get("/", 401, NULL);
	get("/latest/meta-data/nonexistent", 401, NULL);
	mint(tok, NOW, 60);
	get_with_token(tok, 200);
	/* Minting needs no token. */
	expect("PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n", 200, NULL);
}

static void test_endpoint_disabled(void **state)
{
	char tok[IMDS_TOKEN_LEN + 1];

	(void)state;
	cfg.endpoint_disabled = true;
	get("/latest/meta-data/instance-id", 403, NULL);
	expect("PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n", 403, NULL);
	mint(tok, NOW, 60);
	get_with_token(tok, 403);
	expect("POST / HTTP/1.1\r\n\r\n", 403, NULL);
}

static void test_no_config(void **state)
{
	(void)state;
	ctx.cfg = NULL;
	get("/latest/meta-data/instance-id", 500, NULL);
	expect("PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\n\r\n", 500, NULL);
}

/* ---- paths and listings ---------------------------------------------- */

static void test_listings(void **state)
{
	(void)state;
	get("/", 200, "1.0\n2007-01-19\n2007-03-01\n2007-08-29\n2007-10-10\n2007-12-15\n2008-02-01\n"
		      "2008-09-01\n2009-04-04\n2011-01-01\n2011-05-01\n2012-01-12\n2014-02-25\n2014-11-05\n"
		      "2015-10-20\n2016-04-19\n2016-06-30\n2016-09-02\n2018-03-28\n2018-08-17\n2018-09-24\n"
		      "2019-10-01\n2020-10-27\n2021-01-03\n2021-03-23\n2021-07-15\n2022-07-09\n2022-09-24\nlatest");
	get("/latest", 200, "dynamic\nmeta-data\nuser-data");
	get("/latest/", 200, "dynamic\nmeta-data\nuser-data");
	get("/2009-04-04/", 200, "dynamic\nmeta-data\nuser-data");
	/* Sorted, directories with '/', no final newline; dotfiles, symlinks,
	 * FIFOs and names no request could spell are left out. */
	get("/latest/meta-data/", 200, "ami-id\ninstance-id\nnetwork/\nplacement/\npublic-keys/\ntags/");
	get("/latest/meta-data", 200, "ami-id\ninstance-id\nnetwork/\nplacement/\npublic-keys/\ntags/");
	get("/2016-09-02/meta-data/", 200, "ami-id\ninstance-id\nnetwork/\nplacement/\npublic-keys/\ntags/");
	get("/latest/meta-data/placement/", 200, "availability-zone");
	get("/latest/meta-data/public-keys/", 200, "0=my-key");
	get("/latest/meta-data/public-keys", 200, "0=my-key");
	get("/latest/meta-data/public-keys/0/", 200, "openssh-key");
	get("/latest/meta-data/tags/instance", 200, "Name\na=b@c");
	get("/latest/dynamic/", 200, "instance-identity/");
	get("/latest/dynamic/instance-identity", 200, "document");
	get("/latest/meta-data/network/interfaces/macs/", 200, "02:29:96:8f:6a:2d/");
}

static void test_leaves(void **state)
{
	struct resp r;

	(void)state;
	get("/latest/meta-data/instance-id", 200, IID);
	get("/latest/meta-data/instance-id/", 200, IID);
	get("/1.0/meta-data/instance-id", 200, IID);
	get("/2009-04-04/meta-data/placement/availability-zone", 200, "us-east-1a");
	get("/latest/meta-data/public-keys/0/openssh-key", 200, "ssh-ed25519 AAAAC3 my-key");
	get("/latest/meta-data/network/interfaces/macs/02:29:96:8f:6a:2d/subnet-id", 200, "subnet-be9b61d7");
	/* cloud-init quotes what is not [A-Za-z0-9_.~/:-]. */
	get("/latest/meta-data/tags/instance/a%3Db%40c", 200, "odd key");
	get("/latest/meta-data/tags/instance/a=b@c", 200, "odd key");
	get("/latest/meta-data/instance%2did", 200, IID);
	get("/latest/dynamic/instance-identity/document", 200, "{\"instanceId\" : \"" IID "\"}");
	/* absolute-form and a query string */
	get("http://169.254.169.254/latest/meta-data/instance-id", 200, IID);
	get("/latest/meta-data/instance-id?x=1", 200, IID);
	r = run("GET /latest/meta-data/ami-id HTTP/1.1\r\n\r\n");
	assert_string_equal(hdr(&r, "Content-Type"), "text/plain");
	assert_string_equal(hdr(&r, "Accept-Ranges"), "none");
	assert_non_null(hdr(&r, "Last-Modified"));
	assert_non_null(strstr(hdr(&r, "Last-Modified"), " GMT"));
	assert_string_equal(hdr(&r, "Date"), "Tue, 14 Nov 2023 22:13:20 GMT");
	free(r.body);
}

static void test_user_data(void **state)
{
	char from[PATH_MAX * 2], to[PATH_MAX * 2];
	struct resp r;

	(void)state;
	r = run("GET /latest/user-data HTTP/1.1\r\n\r\n");
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Content-Type"), "application/octet-stream");
	assert_int_equal(r.body_len, sizeof(user_data) - 1);
	assert_memory_equal(r.body, user_data, r.body_len);
	free(r.body);
	get("/latest/user-data/x", 404, NULL);
	snprintf(from, sizeof(from), "%s/user-data", dir);
	snprintf(to, sizeof(to), "%s/user-data.off", top);
	assert_int_equal(rename(from, to), 0);
	get("/latest/user-data", 404, NULL);
	get("/latest/", 200, "dynamic\nmeta-data");
	assert_int_equal(rename(to, from), 0);
	get("/latest/", 200, "dynamic\nmeta-data\nuser-data");
}

static void test_not_found(void **state)
{
	struct resp r;

	(void)state;
	get("/latest/meta-data/nonexistent", 404, NULL);
	get("/latest/meta-data/instance-id/more", 404, NULL);
	get("/2030-01-01/meta-data/instance-id", 404, NULL);
	get("/2030-01-01/", 404, NULL);
	get("/latest/foo", 404, NULL);
	get("/latest/api", 404, NULL);
	get("/meta-data/", 404, NULL);
	r = run("GET /nope HTTP/1.1\r\n\r\n");
	assert_string_equal(hdr(&r, "Content-Type"), "text/html");
	assert_null(hdr(&r, "Last-Modified"));
	assert_null(hdr(&r, "Accept-Ranges"));
	assert_string_equal(r.body,
		"<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n"
		"<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n"
		"\t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n"
		"<html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n"
		" <head>\n  <title>404 - Not Found</title>\n </head>\n"
		" <body>\n  <h1>404 - Not Found</h1>\n </body>\n</html>");
	assert_false(r.close);
	free(r.body);
}

static void test_traversal(void **state)
{
	static const char *const targets[] = {
		"/latest/meta-data/../options", "/latest/meta-data/..", "/latest/meta-data/../../secret",
		"/latest/meta-data/%2e%2e/options", "/latest/meta-data/%2E%2E/%2E%2E/secret",
		"/latest/meta-data/..%2foptions", "/latest/meta-data/%2e%2e%2f%2e%2e%2fsecret",
		"/latest/meta-data/%2fetc%2fpasswd", "/latest/meta-data/placement%2favailability-zone",
		"/latest/meta-data//instance-id", "/latest//meta-data/instance-id", "//latest/meta-data/",
		"/latest/meta-data/./instance-id", "/latest/./meta-data/instance-id",
		"/latest/meta-data/instance-id%00", "/latest/meta-data/%00", "/latest/meta-data/instance-id%",
		"/latest/meta-data/instance-id%2", "/latest/meta-data/instance-id%zz",
		"/latest/meta-data/leak", "/latest/meta-data/etc/passwd", "/latest/meta-data/etc/",
		"/latest/meta-data/opts", "/latest/meta-data/fifo", "/latest/meta-data/.hidden",
		"/latest/meta-data/public-keys/.listing", "/latest/meta-data/sp%20ace",
		"/latest/../options", "/latest/../token.key", "/latest/dynamic/../../secret",
		"/latest/options", "/latest/token.key", "/latest/meta-data/%5c..%5coptions",
		"/latest/user-data/../options", "/../secret", "/..",
		"/latest/meta-data/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(targets); i++) {
		char req[512];
		struct resp r;

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n\r\n", targets[i]);
		r = run(req);
		if (r.status != 404)
			fail_msg("%s: %d\n%s", targets[i], r.status, r.body);
		assert_null(strstr(r.body, SECRET));
		assert_null(strstr(r.body, "instance_id="));
		assert_null(memmem(r.body, r.body_len, key, 8));
		free(r.body);
	}
}

/* ---- HTTP ------------------------------------------------------------ */

static void expect_malformed(const char *req, size_t n)
{
	struct resp r = run_n(req, n);

	if (r.status != 400 || r.used != (ssize_t)n || !r.close)
		fail_msg("'%.*s': status %d used %zd close %d", (int)n, req, r.status, r.used, r.close);
	assert_string_equal(hdr(&r, "Connection"), "close");
	free(r.body);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
		"GET\r\n\r\n", "GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n",
		"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "GET / HTTP/1.1\r\nName : v\r\n\r\n",
		"GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "GET / HTTP/1.1\r\nA: b\x01" "c\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", "GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
		"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
		"GET / HTTP/1.1\r\nContent-Length: 99999\r\n\r\n",
		"GET / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
		"GET foo HTTP/1.1\r\n\r\n", "G(T / HTTP/1.1\r\n\r\n", "GET / http/1.1\r\n\r\n", "GET / HTTP/1.1\r\r\n\r\n",
		"GET /\x7f HTTP/1.1\r\n\r\n", "GET /\xc3\xa9 HTTP/1.1\r\n\r\n", ": v\r\n\r\n", "GET / HTTP/1.1\r\n: v\r\n\r\n",
		/* Not HTTP at all: refused as soon as a line is complete. */
		"\x16\x03\x01\x02\x01\x01\x01\x01\xfc\x03\x03\n",
		"SSH-2.0-OpenSSH_9.2\r\n",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		expect_malformed(bad[i], strlen(bad[i]));
	expect_malformed("GET / HTTP/1.1\r\nA: b\0c\r\n\r\n", 26);
	expect_malformed("GET /\0 HTTP/1.1\r\n\r\n", 19);
}

static void test_oversized(void **state)
{
	char *big = malloc(IMDS_REQUEST_MAX + 1);
	size_t n;
	struct resp r;

	(void)state;
	/* A head that never ends: wait until IMDS_HEAD_MAX, then 400. */
	n = (size_t)snprintf(big, 64, "GET / HTTP/1.1\r\nX-Pad: ");
	memset(big + n, 'a', IMDS_REQUEST_MAX - n);
	r = run_n(big, IMDS_HEAD_MAX - 1);
	assert_int_equal(r.used, 0);
	expect_malformed(big, IMDS_HEAD_MAX);
	expect_malformed(big, IMDS_REQUEST_MAX);
	/* The largest head that fits is served. */
	memcpy(big + IMDS_HEAD_MAX - 4, "\r\n\r\n", 4);
	r = run_n(big, IMDS_HEAD_MAX);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.used, IMDS_HEAD_MAX);
	free(r.body);
	big[IMDS_HEAD_MAX - 4] = 'a';
	memcpy(big + IMDS_HEAD_MAX - 3, "\r\n\r\n", 4);
	expect_malformed(big, IMDS_HEAD_MAX + 1);
	free(big);
}

static void test_pipelining(void **state)
{
	static const char *const reqs[] = {
		"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\n\r\n",
		"PUT /latest/api/token HTTP/1.1\r\nX-aws-ec2-metadata-token-ttl-seconds: 5\r\nContent-Length: 3\r\n\r\nabc",
		"GET /nope HTTP/1.1\r\n\r\n",
		"HEAD /latest/meta-data/placement/availability-zone HTTP/1.1\r\n\r\n",
		"GET /latest/meta-data/ami-id HTTP/1.1\r\nConnection: close\r\n\r\n",
	};
	static const int statuses[] = { 200, 200, 404, 200, 200 };
	struct buf all = BUF_INIT;
	size_t off = 0;

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(reqs); i++)
		buf_adds(&all, reqs[i]);
	for (size_t i = 0; i < ARRAY_SIZE(reqs); i++) {
		struct resp r = run_n(all.data + off, all.len - off);

		assert_int_equal(r.used, strlen(reqs[i]));
		assert_int_equal(r.status, statuses[i]);
		assert_int_equal(r.close, i == ARRAY_SIZE(reqs) - 1);
		if (i == 3) /* HEAD: the length of what GET would send, no body */
			assert_true(!strcmp(hdr(&r, "Content-Length"), "10") && r.body_len == 0);
		off += (size_t)r.used;
		free(r.body);
	}
	assert_int_equal(off, all.len);
	buf_free(&all);
}

static void test_partial(void **state)
{
	static const char req[] = "\r\n\r\nPUT /latest/api/token HTTP/1.1\r\n"
				  "X-aws-ec2-metadata-token-ttl-seconds: 5\r\nContent-Length: 4\r\n\r\nbody"
				  "GET / HTTP/1.1\r\n\r\n";
	size_t first = strlen(req) - strlen("GET / HTTP/1.1\r\n\r\n");

	(void)state;
	/* Every strict prefix of the first request asks for more bytes; the
	 * leading empty lines belong to it. */
	for (size_t n = 0; n < first; n++) {
		struct resp r = run_n(req, n);

		if (r.used != 0)
			fail_msg("prefix %zu: used %zd", n, r.used);
	}
	for (size_t n = first; n <= strlen(req); n++) {
		struct resp r = run_n(req, n);

		assert_int_equal(r.used, first);
		assert_int_equal(r.status, 200);
		free(r.body);
	}
	/* Bare LF line ends. */
	expect("GET /latest/meta-data/instance-id HTTP/1.1\nHost: x\n\n", 200, IID);
}

static void test_connection(void **state)
{
	static const struct { const char *req; bool close; } cases[] = {
		{ "GET / HTTP/1.1\r\n\r\n", false },
		{ "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nConnection: TE, Close\r\n\r\n", true },
		{ "GET / HTTP/1.1\r\nconnection:keep-alive\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\n\r\n", true },
		{ "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", false },
		{ "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", true },
		{ "GET /nope HTTP/1.0\r\n\r\n", true },
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct resp r = run(cases[i].req);

		if (r.close != cases[i].close)
			fail_msg("%s: close %d", cases[i].req, r.close);
		assert_string_equal(hdr(&r, "Connection"), cases[i].close ? "close" : "keep-alive");
		free(r.body);
	}
	/* The caller's last response closes whatever the client asked. */
	ctx.last = true;
	{
		struct resp r = run("GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n");

		assert_true(r.close);
		assert_string_equal(hdr(&r, "Connection"), "close");
		free(r.body);
	}
}

static void test_bad_args(void **state)
{
	struct buf out = BUF_INIT;
	bool close;

	(void)state;
	assert_int_equal(imds_handle(NULL, "GET", 3, &out, &close), -EINVAL);
	assert_int_equal(imds_handle(&ctx, NULL, 3, &out, &close), -EINVAL);
	assert_int_equal(imds_handle(&ctx, "", 0, &out, &close), 0);
	assert_int_equal(out.len, 0);
}

/* ---- options and token.key ------------------------------------------- */

static int load(const char *options, const void *k, size_t klen, struct imds_config *c)
{
	char d[PATH_MAX * 2], cmd[PATH_MAX * 3];
	int fd, rc;

	snprintf(d, sizeof(d), "%s/cfg", top);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d);
	if (system(cmd) != 0)
		fail_msg("rm");
	mk("cfg");
	if (options)
		put_str("cfg/options", options);
	if (k)
		put_file("cfg/token.key", k, klen);
	fd = open(d, O_RDONLY | O_DIRECTORY);
	assert_true(fd >= 0);
	rc = imds_config_load(fd, c);
	close(fd);
	return rc;
}

static void test_config(void **state)
{
	struct imds_config c;

	(void)state;
	assert_int_equal(load("instance_id=i-1\n", key, 32, &c), 0);
	assert_string_equal(c.instance_id, "i-1");
	assert_memory_equal(c.key, key, 32);
	assert_false(c.tokens_required);
	assert_false(c.endpoint_disabled);
	assert_int_equal(load("# comment\r\n\r\nhttp_tokens=required\r\nhttp_endpoint=disabled\r\n"
			      "hop_limit=2\r\nfuture_key=x\r\ninstance_id=i-0abc\r\n", key, 32, &c), 0);
	assert_string_equal(c.instance_id, "i-0abc");
	assert_true(c.tokens_required);
	assert_true(c.endpoint_disabled);
	assert_int_equal(c.hop_limit, 2);
	assert_int_equal(load("instance_id=i-1\n", key, 32, &c), 0);
	assert_int_equal(c.hop_limit, 1);
	assert_int_equal(load("instance_id=i-1\nhop_limit=64\n", key, 32, &c), 0);
	assert_int_equal(c.hop_limit, 64);
	assert_int_equal(load("instance_id=i-1\nhop_limit=0\n", key, 32, &c), -EINVAL);
	assert_int_equal(load("instance_id=i-1\nhop_limit=65\n", key, 32, &c), -EINVAL);
	assert_int_equal(load("instance_id=i-1\nhop_limit=1x\n", key, 32, &c), -EINVAL);
	assert_int_equal(load("instance_id=i-1\nhop_limit=\n", key, 32, &c), -EINVAL);
	assert_int_equal(load("instance_id=i-1\nhop_limit=100\n", key, 32, &c), -EINVAL);
	/* Unknown values fail closed rather than guess. */
	assert_int_equal(load("instance_id=i-1\nhttp_tokens=maybe\n", key, 32, &c), -EINVAL);
	assert_int_equal(load("instance_id=i-1\nhttp_endpoint=\n", key, 32, &c), -EINVAL);
	assert_int_equal(load("http_tokens=optional\n", key, 32, &c), -EINVAL);
	assert_int_equal(load("instance_id=\n", key, 32, &c), -EINVAL);
	assert_int_equal(load("instance_id=i-1/../x\n", key, 32, &c), -EINVAL);
	assert_int_equal(load("instance_id=i-1\nnonsense\n", key, 32, &c), -EINVAL);
	assert_int_equal(load("instance_id=i-1\n", key, 31, &c), -EINVAL);
	assert_int_equal(load("instance_id=i-1\n", "0123456789abcdef0123456789abcdef!", 33, &c), -EINVAL);
	assert_int_equal(load("instance_id=i-1\n", NULL, 0, &c), -ENOENT);
	assert_int_equal(load(NULL, key, 32, &c), -ENOENT);
	/* Nothing is read through a symlink. */
	assert_int_equal(load(NULL, key, 32, &c), -ENOENT);
	symlink_at("../imds/options", "cfg/options");
	{
		char d[PATH_MAX * 2];
		int fd;

		snprintf(d, sizeof(d), "%s/cfg", top);
		fd = open(d, O_RDONLY | O_DIRECTORY);
		assert_int_equal(imds_config_load(fd, &c), -ENOENT);
		close(fd);
	}
	/* A failed load leaves no key behind. */
	for (size_t i = 0; i < sizeof(c.key); i++)
		assert_int_equal(c.key[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_token_roundtrip, reset),
		cmocka_unit_test_setup(test_token_expiry, reset),
		cmocka_unit_test_setup(test_token_binding, reset),
		cmocka_unit_test_setup(test_token_tampering, reset),
		cmocka_unit_test_setup(test_put_token, reset),
		cmocka_unit_test_setup(test_put_token_bad_ttl, reset),
		cmocka_unit_test_setup(test_put_refusals, reset),
		cmocka_unit_test_setup(test_get_tokens, reset),
		cmocka_unit_test_setup(test_tokens_required, reset),
		cmocka_unit_test_setup(test_endpoint_disabled, reset),
		cmocka_unit_test_setup(test_no_config, reset),
		cmocka_unit_test_setup(test_listings, reset),
		cmocka_unit_test_setup(test_leaves, reset),
		cmocka_unit_test_setup(test_user_data, reset),
		cmocka_unit_test_setup(test_not_found, reset),
		cmocka_unit_test_setup(test_traversal, reset),
		cmocka_unit_test_setup(test_malformed, reset),
		cmocka_unit_test_setup(test_oversized, reset),
		cmocka_unit_test_setup(test_pipelining, reset),
		cmocka_unit_test_setup(test_partial, reset),
		cmocka_unit_test_setup(test_connection, reset),
		cmocka_unit_test_setup(test_bad_args, reset),
		cmocka_unit_test_setup(test_config, reset),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
