#include "lib/ids.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

int id_new(const char *prefix, char *out)
{
	unsigned char rnd[9];
	char hex[19];
	int r, n;

	r = random_bytes(rnd, sizeof(rnd));
	if (r < 0)
		return r;
	hex_encode(rnd, sizeof(rnd), hex);
	/* 17 digits; the first is never 0 so ids keep their full length look. */
	hex[ID_HEX_LEN] = '\0';
	if (hex[0] == '0')
		hex[0] = '1';
	n = snprintf(out, ID_MAX, "%s-%s", prefix, hex);
	if (n < 0 || n >= ID_MAX)
		return -ENAMETOOLONG;
	return 0;
}

bool id_valid(const char *prefix, const char *s)
{
	size_t pl = strlen(prefix), n;

	if (strncmp(s, prefix, pl) != 0 || s[pl] != '-')
		return false;
	s += pl + 1;
	n = strlen(s);
	if (n != 8 && n != ID_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int uuid_v4(char out[37])
{
	unsigned char u[16];
	char hex[33];
	int r;

	r = random_bytes(u, sizeof(u));
	if (r < 0)
		return r;
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	hex_encode(u, sizeof(u), hex);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
	return 0;
}
