/* IPv4 addresses and CIDR blocks in the dotted forms EC2 accepts. */
#pragma once
#include <stdbool.h>
#include <stdint.h>

/* "a.b.c.d/n", n 0..32, each octet decimal without leading zeros or signs.
 * addr is in host byte order. Returns 0 or -EINVAL. */
int cidr4_parse(const char *s, uint32_t *addr, int *len);
/* true when the address has no bits set past the prefix. */
bool cidr4_canonical(uint32_t addr, int len);
uint32_t cidr4_mask(int len);
/* Writes "a.b.c.d" (16 bytes). */
void ip4_format(uint32_t addr, char out[16]);
