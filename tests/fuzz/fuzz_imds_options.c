/* libFuzzer target for imds_config_load (metadata/imds.c): the input is
 * the options file hostd writes, beside a valid token.key. On success the
 * result must be sane: an instance id of EC2's characters, a hop limit in
 * 1..64, the key as written; on failure nothing is left in cfg. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metadata/imds.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)
#define KEY "fuzz-imds-token-key-32-bytes-abc"

static char top[64];
static int dfd = -1;

static void cleanup(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/options", top);
	unlink(p);
	snprintf(p, sizeof(p), "%s/token.key", top);
	unlink(p);
	rmdir(top);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char p[128];
	int fd;

	(void)argc;
	(void)argv;
	snprintf(top, sizeof(top), "/tmp/fuzz-imds-opt-XXXXXX");
	CHECK(mkdtemp(top) != NULL);
	atexit(cleanup);
	snprintf(p, sizeof(p), "%s/token.key", top);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && write(fd, KEY, 32) == 32 && close(fd) == 0);
	dfd = open(top, O_RDONLY | O_DIRECTORY);
	CHECK(dfd >= 0);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imds_config c;
	char p[128];
	int fd, rc;

	snprintf(p, sizeof(p), "%s/options", top);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(fd >= 0 && (size == 0 || write(fd, data, size) == (ssize_t)size) && close(fd) == 0);
	rc = imds_config_load(dfd, &c);
	if (rc < 0) {
		static const struct imds_config zero;

		CHECK(!memcmp(&c, &zero, sizeof(c)));
		return 0;
	}
	CHECK(c.hop_limit >= 1 && c.hop_limit <= 64);
	CHECK(c.instance_id[0] && strlen(c.instance_id) < IMDS_ID_MAX);
	for (const char *s = c.instance_id; *s; s++)
		CHECK((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '-');
	CHECK(!memcmp(c.key, KEY, 32));
	return 0;
}
