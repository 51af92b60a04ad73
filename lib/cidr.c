#include "lib/cidr.h"

#include <errno.h>
#include <stdio.h>

/* One decimal field 0..max; no sign, no leading zero (inet_aton would read
 * "010" as octal, EC2 refuses it). Advances *p. */
static int field(const char **p, unsigned max, unsigned *out)
{
	const char *s = *p;
	unsigned v = 0;
	int n = 0;

	if (*s == '0' && s[1] >= '0' && s[1] <= '9')
		return -EINVAL;
	while (*s >= '0' && *s <= '9' && n < 4) {
		v = v * 10 + (unsigned)(*s - '0');
		s++;
		n++;
	}
	if (!n || n > 3 || v > max)
		return -EINVAL;
	*p = s;
	*out = v;
	return 0;
}

int cidr4_parse(const char *s, uint32_t *addr, int *len)
{
	uint32_t a = 0;
	unsigned v;

	if (!s)
		return -EINVAL;
	for (int i = 0; i < 4; i++) {
		if (field(&s, 255, &v) < 0)
			return -EINVAL;
		a = a << 8 | v;
		if (*s != (i < 3 ? '.' : '/'))
			return -EINVAL;
		s++;
	}
	if (field(&s, 32, &v) < 0 || *s)
		return -EINVAL;
	*addr = a;
	*len = (int)v;
	return 0;
}

uint32_t cidr4_mask(int len)
{
	return len <= 0 ? 0 : len >= 32 ? 0xffffffffu : ~(0xffffffffu >> len);
}

bool cidr4_canonical(uint32_t addr, int len)
{
	return (addr & ~cidr4_mask(len)) == 0;
}

void ip4_format(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}
