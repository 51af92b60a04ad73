/* libFuzzer target for cbormsg_decode (lib/cbormsg.c), the decoder
 * hostd-imds runs on every message from hostd and hostd on every message
 * from hostd-imds. A frame it accepts must be sane (a known type, ids of
 * the allowed characters, counts within bounds) and survive an
 * encode/decode round trip unchanged; a refused one leaves nothing behind. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/buf.h"
#include "lib/cbormsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

static struct cbormsg m, again, zero;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf b = BUF_INIT;

	if (cbormsg_decode(data, size, &m) < 0) {
		CHECK(!memcmp(&m, &zero, sizeof(m)));
		return 0;
	}
	CHECK(cbormsg_nfds(m.type) >= 0);
	CHECK(m.nips <= CBORMSG_IPS_MAX && m.nstats <= CBORMSG_STATS_MAX);
	CHECK(strlen(m.vpc) < CBORMSG_ID_MAX && strlen(m.id) < CBORMSG_ID_MAX);
	CHECK(cbormsg_encode(&m, &b) == 0);
	CHECK(cbormsg_decode((const uint8_t *)b.data, b.len, &again) == 0);
	CHECK(!memcmp(&m, &again, sizeof(m)));
	buf_free(&b);
	return 0;
}
