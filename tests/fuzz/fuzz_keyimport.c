/* libFuzzer target for ImportKeyPair's parser: any bytes must give either a
 * key with consistent outputs or -EINVAL with a reason, never a crash. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hostd/keycrypto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char fp[KEY_FINGERPRINT_MAX], why[KEY_WHY_MAX];
	enum key_type type;
	char *pub = NULL;
	int ret = keycrypto_import(data, size, &type, &pub, fp, why);

	if (ret == 0) {
		/* What we hand out must import again to the same key. */
		char fp2[KEY_FINGERPRINT_MAX], why2[KEY_WHY_MAX];
		enum key_type type2;
		char *pub2 = NULL;

		if (!pub || !fp[0] || keycrypto_import((const uint8_t *)pub, strlen(pub), &type2, &pub2, fp2,
						     why2) != 0 ||
		    type2 != type || strcmp(pub, pub2) || strcmp(fp, fp2))
			abort();
		free(pub2);
	} else if (ret != -EINVAL || pub || fp[0] || !why[0] || !memchr(why, '\0', KEY_WHY_MAX)) {
		abort();
	}
	free(pub);
	return 0;
}
