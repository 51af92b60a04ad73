#include "net/cidr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int ip_parse(const char *s, uint32_t *out)
{
	uint32_t ip = 0;
	int parts = 0;

	if (!s)
		return -EINVAL;
	while (parts < 4) {
		unsigned v = 0;
		int digits = 0;

		while (*s >= '0' && *s <= '9') {
			v = v * 10 + (unsigned)(*s - '0');
			if (++digits > 3 || v > 255)
				return -EINVAL;
			s++;
		}
		if (!digits)
			return -EINVAL;
		ip = ip << 8 | v;
		parts++;
		if (parts < 4) {
			if (*s != '.')
				return -EINVAL;
			s++;
		}
	}
	if (*s)
		return -EINVAL;
	*out = ip;
	return 0;
}

void ip_format(uint32_t ip, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

uint32_t cidr_mask(int prefix)
{
	return prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1);
}

int cidr_parse(const char *s, struct cidr *out)
{
	char ip[16];
	const char *slash;
	size_t n;
	int prefix = 0, digits = 0;
	uint32_t a;

	if (!s || !(slash = strchr(s, '/')))
		return -EINVAL;
	n = (size_t)(slash - s);
	if (n == 0 || n >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, n);
	ip[n] = '\0';
	for (const char *p = slash + 1; *p; p++) {
		if (*p < '0' || *p > '9' || ++digits > 2)
			return -EINVAL;
		prefix = prefix * 10 + (*p - '0');
	}
	if (!digits || prefix > 32 || ip_parse(ip, &a) < 0)
		return -EINVAL;
	if (a & ~cidr_mask(prefix))
		return -EINVAL;
	out->base = a;
	out->prefix = prefix;
	return 0;
}

void cidr_format(const struct cidr *c, char out[19])
{
	char ip[16];

	ip_format(c->base, ip);
	snprintf(out, 19, "%s/%d", ip, c->prefix);
}

uint64_t cidr_size(const struct cidr *c) { return (uint64_t)1 << (32 - c->prefix); }

bool cidr_contains_ip(const struct cidr *c, uint32_t ip) { return (ip & cidr_mask(c->prefix)) == c->base; }

bool cidr_contains(const struct cidr *outer, const struct cidr *inner)
{
	return inner->prefix >= outer->prefix && cidr_contains_ip(outer, inner->base);
}

bool cidr_overlaps(const struct cidr *a, const struct cidr *b)
{
	return cidr_contains(a, b) || cidr_contains(b, a);
}

bool cidr_reserved(const struct cidr *c, uint32_t ip)
{
	uint32_t last = c->base + (uint32_t)(cidr_size(c) - 1);

	return ip - c->base <= 3 || ip == last;
}

int64_t cidr_available(const struct cidr *c)
{
	int64_t n = (int64_t)cidr_size(c) - CIDR_RESERVED;

	return n > 0 ? n : 0;
}

int cidr_alloc(const struct cidr *c, bool (*used)(uint32_t ip, void *arg), void *arg, uint32_t *out)
{
	uint64_t size = cidr_size(c);

	if (size <= CIDR_RESERVED)
		return -ENOSPC;
	for (uint64_t i = 4; i < size - 1; i++) {
		uint32_t ip = c->base + (uint32_t)i;

		if (!used || !used(ip, arg)) {
			*out = ip;
			return 0;
		}
	}
	return -ENOSPC;
}

void ip_hostname(uint32_t ip, char out[20])
{
	snprintf(out, 20, "ip-%u-%u-%u-%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int ip_domain(const char *region, char *out, size_t len)
{
	int n = !strcmp(region, "us-east-1") ? snprintf(out, len, "ec2.internal")
					     : snprintf(out, len, "%s.compute.internal", region);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The hex digits after "<prefix>-", or NULL. */
static const char *id_hex(const char *id, const char *prefix)
{
	size_t n = strlen(prefix), h;

	if (strncmp(id, prefix, n) || id[n] != '-')
		return NULL;
	id += n + 1;
	h = strlen(id);
	if (h != 8 && h != 17)
		return NULL;
	for (size_t i = 0; i < h; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'f')))
			return NULL;
	return id;
}

static int name_from(const char *id, const char *prefix, const char *dev, size_t take, char *out, size_t len)
{
	const char *hex = id_hex(id, prefix);
	int n;

	if (!hex)
		return -EINVAL;
	n = snprintf(out, len, "%s%.*s", dev, (int)take, hex + (strlen(hex) > take ? strlen(hex) - take : 0));
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int net_ns_name(const char *vpc_id, char *out, size_t len)
{
	return name_from(vpc_id, "vpc", "hostd-vpc-", 17, out, len);
}

int net_bridge_name(const char *subnet_id, char *out, size_t len)
{
	return name_from(subnet_id, "subnet", "br-", 12, out, len);
}

int net_tap_name(const char *eni_id, char *out, size_t len)
{
	return name_from(eni_id, "eni", "tap-", 11, out, len);
}

void net_mac_from(const unsigned char rnd[5], char out[18])
{
	snprintf(out, 18, "02:%02x:%02x:%02x:%02x:%02x", rnd[0], rnd[1], rnd[2], rnd[3], rnd[4]);
}
