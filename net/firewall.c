/* The security group / NACL / anti-spoofing compiler and its applier.
 *
 * Layout in the VPC namespace (filter table; every name starts "hd-"):
 *   FORWARD -> hd-fwd: the metadata service, NACL chains for traffic
 *     crossing a subnet bridge,
 *     then RELATED,ESTABLISHED accept, INVALID drop, then per attached ENI
 *     the egress gate (physdev-in tap -> hd-o-<eni>: RETURN if allowed, else
 *     DROP) and the ingress gate (bridged: physdev-out tap; routed into the
 *     subnet: -o bridge -d ip -> hd-i-<eni>: ACCEPT if allowed, else DROP),
 *     and a DROP for anything else going into a subnet bridge. An ENI's
 *     chains jump to its groups' chains, hd-gi-<sg> (ACCEPT) and hd-ge-<sg>
 *     (allowed: mark 0x400000 and RETURN; the ENI chain returns on the
 *     mark), so each group's rules are loaded once.
 *   INPUT -> hd-in: from a subnet bridge only DHCP, DNS and the metadata
 *     service (169.254.169.254:80, also when DNATed) reach the namespace.
 *   NACLs: hd-ni-<subnet> (entering) and hd-ne-<subnet> (leaving).
 * Bridge family (ebtables): FORWARD -> hd-eb-fwd and INPUT -> hd-eb-in send
 * each tap's frames through hd-as-<eni>, its anti-spoofing chain.
 * Sets: hd-<sg> (hash:ip), built as hd-<sg>-n and swapped in. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/cmd.h"
#include "net/firewall.h"

#define ID_HEX_MAX 17
#define IFNAME_MAX 15
#define NS_MAX 64

/* ---- validation helpers ---- */

static int fail(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why && whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* The hex part of "<prefix>-<hex>", or NULL when id is not of that form. */
static const char *id_hex(const char *id)
{
	const char *d, *p;

	if (!id)
		return NULL;
	d = strchr(id, '-');
	if (!d || d == id || strchr(d + 1, '-'))
		return NULL;
	for (p = id; p < d; p++)
		if (!islower((unsigned char)*p))
			return NULL;
	for (p = d + 1; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
			return NULL;
	if (p == d + 1 || p - (d + 1) > ID_HEX_MAX)
		return NULL;
	return d + 1;
}

static bool ifname_ok(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > IFNAME_MAX || !strcmp(s, ".") || !strcmp(s, ".."))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static bool ns_ok(const char *s)
{
	size_t n;

	if (!s)
		return false;
	n = strlen(s);
	if (n == 0 || n > NS_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
			return false;
	return true;
}

static bool mac_ok(const char *s)
{
	if (!s || strlen(s) != 17)
		return false;
	for (int i = 0; i < 17; i++) {
		if (i % 3 == 2) {
			if (s[i] != ':')
				return false;
		} else if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) {
			return false;
		}
	}
	/* a unicast address: the low bit of the first octet clear */
	return (strtoul(s, NULL, 16) & 1) == 0;
}

static bool parse_ip(const char *s, uint32_t *out)
{
	struct in_addr a;

	if (!s || inet_pton(AF_INET, s, &a) != 1)
		return false;
	*out = ntohl(a.s_addr);
	return true;
}

static uint32_t mask_of(int prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

/* "a.b.c.d/n", host bits allowed (they are masked off when printed). */
static bool parse_cidr(const char *s, uint32_t *addr, int *prefix)
{
	char ip[INET_ADDRSTRLEN];
	const char *slash;
	char *end;
	long n;

	if (!s || !(slash = strchr(s, '/')) || (size_t)(slash - s) >= sizeof(ip))
		return false;
	memcpy(ip, s, (size_t)(slash - s));
	ip[slash - s] = '\0';
	if (!isdigit((unsigned char)slash[1]))
		return false;
	errno = 0;
	n = strtol(slash + 1, &end, 10);
	if (errno || *end || n < 0 || n > 32 || (slash[1] == '0' && slash[2]))
		return false;
	if (!parse_ip(ip, addr))
		return false;
	*prefix = (int)n;
	*addr &= mask_of(*prefix);
	return true;
}

static void add_ip(struct buf *b, uint32_t a)
{
	buf_printf(b, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void add_cidr(struct buf *b, const char *s)
{
	uint32_t a = 0;
	int p = 0;

	parse_cidr(s, &a, &p);
	add_ip(b, a);
	buf_printf(b, "/%d", p);
}

/* -1 for all protocols, 0..255 otherwise; -2 when not a protocol. */
static int parse_proto(const char *s)
{
	char *end;
	long n;

	if (!s || !*s)
		return -2;
	if (!strcmp(s, "-1") || !strcmp(s, "all"))
		return -1;
	if (!strcmp(s, "tcp"))
		return 6;
	if (!strcmp(s, "udp"))
		return 17;
	if (!strcmp(s, "icmp"))
		return 1;
	if (!isdigit((unsigned char)s[0]))
		return -2;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno || *end || n < 0 || n > 255)
		return -2;
	return (int)n;
}

static bool ports_ok(int proto, int from, int to)
{
	if (proto == 6 || proto == 17)
		return (from == -1 && to == -1) || (from >= 0 && from <= to && to <= 65535);
	if (proto == 1)
		return from >= -1 && from <= 255 && to >= -1 && to <= 255 && !(from == -1 && to != -1);
	return true;
}

static const struct fw_subnet *find_subnet(const struct fw_vpc *m, const char *id)
{
	for (size_t i = 0; i < m->nsubnets; i++)
		if (id && m->subnets[i].id && !strcmp(m->subnets[i].id, id))
			return &m->subnets[i];
	return NULL;
}

static const struct fw_group *find_group(const struct fw_vpc *m, const char *id)
{
	for (size_t i = 0; i < m->ngroups; i++)
		if (id && m->groups[i].id && !strcmp(m->groups[i].id, id))
			return &m->groups[i];
	return NULL;
}

static bool in_cidr(uint32_t ip, uint32_t net, int prefix)
{
	return (ip & mask_of(prefix)) == net;
}

static int check_rules(const struct fw_vpc *m, const struct fw_group *g, const struct fw_sg_rule *r, size_t n,
		       const char *dir, char *why, size_t whylen)
{
	if (n && !r)
		return fail(why, whylen, "%s: %s rules missing", g->id, dir);
	for (size_t i = 0; i < n; i++) {
		int p = parse_proto(r[i].protocol);
		uint32_t a;
		int pl;

		if (p == -2)
			return fail(why, whylen, "%s: %s rule %zu: bad protocol", g->id, dir, i);
		if (!ports_ok(p, r[i].from_port, r[i].to_port))
			return fail(why, whylen, "%s: %s rule %zu: bad port range", g->id, dir, i);
		if (!!r[i].cidr == !!r[i].group_id)
			return fail(why, whylen, "%s: %s rule %zu: needs exactly one of cidr and group", g->id, dir, i);
		if (r[i].cidr && !parse_cidr(r[i].cidr, &a, &pl))
			return fail(why, whylen, "%s: %s rule %zu: bad cidr", g->id, dir, i);
		if (r[i].group_id && !find_group(m, r[i].group_id))
			return fail(why, whylen, "%s: %s rule %zu: unknown group", g->id, dir, i);
	}
	return 0;
}

int fw_validate(const struct fw_vpc *m, char *why, size_t whylen)
{
	uint32_t vnet, a;
	int vp, p;
	int ret;

	if (!m)
		return fail(why, whylen, "no model");
	if (!ns_ok(m->ns))
		return fail(why, whylen, "bad namespace name");
	if (!parse_cidr(m->cidr, &vnet, &vp))
		return fail(why, whylen, "bad VPC cidr");
	if ((m->nsubnets && !m->subnets) || (m->ngroups && !m->groups) || (m->nenis && !m->enis))
		return fail(why, whylen, "missing arrays");
	for (size_t i = 0; i < m->nsubnets; i++) {
		const struct fw_subnet *s = &m->subnets[i];
		uint32_t snet, gw;
		int sp;

		if (!id_hex(s->id))
			return fail(why, whylen, "subnet %zu: bad id", i);
		if (!ifname_ok(s->bridge))
			return fail(why, whylen, "%s: bad bridge name", s->id);
		if (!parse_cidr(s->cidr, &snet, &sp) || sp < vp || !in_cidr(snet, vnet, vp))
			return fail(why, whylen, "%s: cidr not inside the VPC's", s->id);
		if (!parse_ip(s->gateway, &gw) || !in_cidr(gw, snet, sp))
			return fail(why, whylen, "%s: bad gateway", s->id);
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(id_hex(m->subnets[j].id), id_hex(s->id)) || !strcmp(m->subnets[j].bridge, s->bridge))
				return fail(why, whylen, "%s: duplicate subnet or bridge", s->id);
		}
		if (s->nacl_id && !id_hex(s->nacl_id))
			return fail(why, whylen, "%s: bad NACL id", s->id);
		if (!s->nacl_id && s->nnacl)
			return fail(why, whylen, "%s: NACL entries without a NACL", s->id);
		if (s->nnacl && !s->nacl)
			return fail(why, whylen, "%s: NACL entries missing", s->id);
		for (size_t j = 0; j < s->nnacl; j++) {
			const struct fw_nacl_entry *e = &s->nacl[j];

			if (e->rule_number < 1 || e->rule_number > 32766)
				return fail(why, whylen, "%s: NACL entry %zu: bad rule number", s->id, j);
			for (size_t k = 0; k < j; k++)
				if (s->nacl[k].rule_number == e->rule_number && s->nacl[k].egress == e->egress)
					return fail(why, whylen, "%s: NACL rule %d twice", s->id, e->rule_number);
			p = parse_proto(e->protocol);
			if (p == -2)
				return fail(why, whylen, "%s: NACL rule %d: bad protocol", s->id, e->rule_number);
			if ((p == 6 || p == 17) && !ports_ok(p, e->from_port, e->to_port))
				return fail(why, whylen, "%s: NACL rule %d: bad port range", s->id, e->rule_number);
			if (p == 1 && !ports_ok(p, e->icmp_type, e->icmp_code))
				return fail(why, whylen, "%s: NACL rule %d: bad icmp type/code", s->id, e->rule_number);
			if (!parse_cidr(e->cidr, &a, &p))
				return fail(why, whylen, "%s: NACL rule %d: bad cidr", s->id, e->rule_number);
		}
	}
	for (size_t i = 0; i < m->ngroups; i++) {
		const struct fw_group *g = &m->groups[i];

		if (!id_hex(g->id))
			return fail(why, whylen, "group %zu: bad id", i);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(id_hex(m->groups[j].id), id_hex(g->id)))
				return fail(why, whylen, "%s: duplicate group", g->id);
		ret = check_rules(m, g, g->ingress, g->ningress, "ingress", why, whylen);
		if (ret == 0)
			ret = check_rules(m, g, g->egress, g->negress, "egress", why, whylen);
		if (ret < 0)
			return ret;
	}
	for (size_t i = 0; i < m->nenis; i++) {
		const struct fw_eni *e = &m->enis[i];
		const struct fw_subnet *s;
		uint32_t snet = 0;
		int sp = 0;

		if (!id_hex(e->id))
			return fail(why, whylen, "eni %zu: bad id", i);
		if (!(s = find_subnet(m, e->subnet_id)))
			return fail(why, whylen, "%s: unknown subnet", e->id);
		parse_cidr(s->cidr, &snet, &sp);
		if (e->tap && !ifname_ok(e->tap))
			return fail(why, whylen, "%s: bad tap name", e->id);
		if (!mac_ok(e->mac))
			return fail(why, whylen, "%s: bad MAC (lowercase unicast aa:bb:cc:dd:ee:ff)", e->id);
		if (e->nips == 0 || !e->ips)
			return fail(why, whylen, "%s: no IP", e->id);
		for (size_t j = 0; j < e->nips; j++)
			if (!parse_ip(e->ips[j], &a) || !in_cidr(a, snet, sp))
				return fail(why, whylen, "%s: IP %zu not in its subnet", e->id, j);
		if (e->ngroups && !e->group_ids)
			return fail(why, whylen, "%s: groups missing", e->id);
		for (size_t j = 0; j < e->ngroups; j++)
			if (!find_group(m, e->group_ids[j]))
				return fail(why, whylen, "%s: unknown group", e->id);
		for (size_t j = 0; j < i; j++) {
			const struct fw_eni *o = &m->enis[j];

			if (!strcmp(id_hex(o->id), id_hex(e->id)))
				return fail(why, whylen, "%s: duplicate ENI", e->id);
			if (e->tap && o->tap && !strcmp(o->tap, e->tap))
				return fail(why, whylen, "%s: tap shared with %s", e->id, o->id);
			if (!strcmp(o->mac, e->mac))
				return fail(why, whylen, "%s: MAC shared with %s", e->id, o->id);
			for (size_t k = 0; k < e->nips; k++)
				for (size_t l = 0; l < o->nips; l++)
					if (!strcmp(e->ips[k], o->ips[l]))
						return fail(why, whylen, "%s: IP shared with %s", e->id, o->id);
		}
		for (size_t j = 0; j < m->nsubnets; j++)
			if (e->tap && !strcmp(e->tap, m->subnets[j].bridge))
				return fail(why, whylen, "%s: tap is a bridge", e->id);
	}
	return 0;
}

/* ---- rendering ---- */

/* Protocol and port/type matches of an iptables rule. */
static void add_proto(struct buf *b, int p, int from, int to)
{
	if (p == -1)
		return;
	if (p == 6 || p == 17) {
		buf_printf(b, " -p %s", p == 6 ? "tcp" : "udp");
		if (from == -1 || (from == 0 && to == 65535))
			return;
		if (from == to)
			buf_printf(b, " --dport %d", from);
		else
			buf_printf(b, " --dport %d:%d", from, to);
		return;
	}
	if (p == 1) {
		buf_adds(b, " -p icmp");
		if (from >= 0 && to >= 0)
			buf_printf(b, " --icmp-type %d/%d", from, to);
		else if (from >= 0)
			buf_printf(b, " --icmp-type %d", from);
		return;
	}
	buf_printf(b, " -p %d", p);
}

/* Egress allowed by some group: the group chain marks the packet and
 * returns, and the ENI's chain returns on the mark, so the packet goes on to
 * its destination's ingress gate in hd-fwd. */
#define EGRESS_MARK "0x400000/0x400000"

static void add_sg_rule(struct buf *b, const char *chain, const struct fw_sg_rule *r, bool egress)
{
	buf_printf(b, "-A %s", chain);
	if (r->cidr) {
		buf_adds(b, egress ? " -d " : " -s ");
		add_cidr(b, r->cidr);
	} else {
		buf_printf(b, " -m set --match-set hd-%s %s", id_hex(r->group_id), egress ? "dst" : "src");
	}
	add_proto(b, parse_proto(r->protocol), r->from_port, r->to_port);
	buf_adds(b, egress ? " -j MARK --set-xmark " EGRESS_MARK "\n" : " -j ACCEPT\n");
	if (egress)
		buf_printf(b, "-A %s -m mark --mark " EGRESS_MARK " -j RETURN\n", chain);
}

/* true when an attached ENI is a member of g: only those groups get chains. */
static bool group_used(const struct fw_vpc *m, const struct fw_group *g)
{
	for (size_t i = 0; i < m->nenis; i++) {
		if (!m->enis[i].tap)
			continue;
		for (size_t j = 0; j < m->enis[i].ngroups; j++)
			if (!strcmp(m->enis[i].group_ids[j], g->id))
				return true;
	}
	return false;
}

static int cmp_nacl(const void *a, const void *b)
{
	const struct fw_nacl_entry *x = *(const struct fw_nacl_entry *const *)a;
	const struct fw_nacl_entry *y = *(const struct fw_nacl_entry *const *)b;

	return (x->rule_number > y->rule_number) - (x->rule_number < y->rule_number);
}

static void add_nacl_chain(struct buf *b, const struct fw_subnet *s, bool egress)
{
	const struct fw_nacl_entry **v = calloc(s->nnacl ? s->nnacl : 1, sizeof(*v));
	size_t n = 0;
	char chain[32];

	if (!v)
		abort();
	snprintf(chain, sizeof(chain), "hd-n%c-%s", egress ? 'e' : 'i', id_hex(s->id));
	for (size_t i = 0; i < s->nnacl; i++)
		if (s->nacl[i].egress == egress)
			v[n++] = &s->nacl[i];
	qsort(v, n, sizeof(*v), cmp_nacl);
	for (size_t i = 0; i < n; i++) {
		const struct fw_nacl_entry *e = v[i];
		int p = parse_proto(e->protocol);

		buf_printf(b, "-A %s", chain);
		buf_adds(b, egress ? " -d " : " -s ");
		add_cidr(b, e->cidr);
		if (p == 1)
			add_proto(b, p, e->icmp_type, e->icmp_code);
		else
			add_proto(b, p, e->from_port, e->to_port);
		buf_printf(b, " -m comment --comment \"%s %d\" -j %s\n", s->nacl_id, e->rule_number,
			   e->allow ? "RETURN" : "DROP");
	}
	buf_printf(b, "-A %s -m comment --comment \"%s *\" -j DROP\n", chain, s->nacl_id);
	free(v);
}

/* The iptables-restore text without its final COMMIT line. */
static void render_ipt(const struct fw_vpc *m, struct buf *b)
{
	const char *meta = "169.254.169.254";

	buf_adds(b, "*filter\n:hd-fwd - [0:0]\n:hd-in - [0:0]\n");
	for (size_t i = 0; i < m->nsubnets; i++) {
		if (!m->subnets[i].nacl_id)
			continue;
		buf_printf(b, ":hd-ni-%s - [0:0]\n", id_hex(m->subnets[i].id));
		buf_printf(b, ":hd-ne-%s - [0:0]\n", id_hex(m->subnets[i].id));
	}
	for (size_t i = 0; i < m->nenis; i++) {
		if (!m->enis[i].tap)
			continue;
		buf_printf(b, ":hd-i-%s - [0:0]\n", id_hex(m->enis[i].id));
		buf_printf(b, ":hd-o-%s - [0:0]\n", id_hex(m->enis[i].id));
	}
	for (size_t i = 0; i < m->ngroups; i++) {
		if (!group_used(m, &m->groups[i]))
			continue;
		buf_printf(b, ":hd-gi-%s - [0:0]\n", id_hex(m->groups[i].id));
		buf_printf(b, ":hd-ge-%s - [0:0]\n", id_hex(m->groups[i].id));
	}

	/* FORWARD: the metadata service when it is served beyond this
	 * namespace (neither NACLs nor groups filter it; the original
	 * destination matches both directions, also when DNATed), then NACLs
	 * (stateless: replies too), then state. */
	buf_printf(b, "-A hd-fwd -p tcp -m conntrack --ctorigdst %s --ctorigdstport 80 -j ACCEPT\n", meta);
	for (size_t i = 0; i < m->nsubnets; i++) {
		const struct fw_subnet *s = &m->subnets[i];

		if (!s->nacl_id)
			continue;
		buf_printf(b, "-A hd-fwd -i %s ! -o %s -j hd-ne-%s\n", s->bridge, s->bridge, id_hex(s->id));
		buf_printf(b, "-A hd-fwd -o %s ! -i %s -j hd-ni-%s\n", s->bridge, s->bridge, id_hex(s->id));
	}
	buf_adds(b, "-A hd-fwd -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n");
	buf_adds(b, "-A hd-fwd -m conntrack --ctstate INVALID -j DROP\n");
	for (size_t i = 0; i < m->nenis; i++) {
		const struct fw_eni *e = &m->enis[i];

		if (e->tap)
			buf_printf(b, "-A hd-fwd -m physdev --physdev-in %s -j hd-o-%s\n", e->tap, id_hex(e->id));
	}
	for (size_t i = 0; i < m->nenis; i++) {
		const struct fw_eni *e = &m->enis[i];

		if (e->tap)
			buf_printf(b, "-A hd-fwd -m physdev --physdev-out %s --physdev-is-bridged -j hd-i-%s\n", e->tap,
				   id_hex(e->id));
	}
	for (size_t i = 0; i < m->nenis; i++) {
		const struct fw_eni *e = &m->enis[i];
		const struct fw_subnet *s = find_subnet(m, e->subnet_id);

		if (!e->tap)
			continue;
		for (size_t j = 0; j < e->nips; j++)
			buf_printf(b, "-A hd-fwd -o %s -d %s/32 -j hd-i-%s\n", s->bridge, e->ips[j], id_hex(e->id));
	}
	for (size_t i = 0; i < m->nsubnets; i++)
		buf_printf(b, "-A hd-fwd -o %s -j DROP\n", m->subnets[i].bridge);

	/* INPUT: the namespace's own services only. */
	for (size_t i = 0; i < m->nsubnets; i++) {
		const char *br = m->subnets[i].bridge;

		buf_printf(b, "-A hd-in -i %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n", br);
		buf_printf(b, "-A hd-in -i %s -p udp --dport 67 -j ACCEPT\n", br);
		buf_printf(b, "-A hd-in -i %s -p udp --dport 53 -j ACCEPT\n", br);
		buf_printf(b, "-A hd-in -i %s -p tcp --dport 53 -j ACCEPT\n", br);
		buf_printf(b, "-A hd-in -i %s -p tcp -m conntrack --ctorigdst %s --ctorigdstport 80 -j ACCEPT\n", br, meta);
		buf_printf(b, "-A hd-in -i %s -j DROP\n", br);
	}

	for (size_t i = 0; i < m->nsubnets; i++) {
		if (!m->subnets[i].nacl_id)
			continue;
		add_nacl_chain(b, &m->subnets[i], false);
		add_nacl_chain(b, &m->subnets[i], true);
	}

	/* Per group, its rules once: a host's rule count, not rules times
	 * members, is what a change costs to load. */
	for (size_t i = 0; i < m->ngroups; i++) {
		const struct fw_group *g = &m->groups[i];
		char in[32], out[32];

		if (!group_used(m, g))
			continue;
		snprintf(in, sizeof(in), "hd-gi-%s", id_hex(g->id));
		snprintf(out, sizeof(out), "hd-ge-%s", id_hex(g->id));
		for (size_t k = 0; k < g->ningress; k++)
			add_sg_rule(b, in, &g->ingress[k], false);
		for (size_t k = 0; k < g->negress; k++)
			add_sg_rule(b, out, &g->egress[k], true);
	}

	/* Per ENI: the union of its groups. */
	for (size_t i = 0; i < m->nenis; i++) {
		const struct fw_eni *e = &m->enis[i];
		char in[32], out[32];

		if (!e->tap)
			continue;
		snprintf(in, sizeof(in), "hd-i-%s", id_hex(e->id));
		snprintf(out, sizeof(out), "hd-o-%s", id_hex(e->id));
		for (size_t j = 0; j < e->ngroups; j++)
			buf_printf(b, "-A %s -j hd-gi-%s\n", in, id_hex(e->group_ids[j]));
		buf_printf(b, "-A %s -j DROP\n", in);
		if (e->ngroups)
			buf_printf(b, "-A %s -j MARK --set-xmark 0x0/0x400000\n", out);
		for (size_t j = 0; j < e->ngroups; j++)
			buf_printf(b, "-A %s -j hd-ge-%s\n-A %s -m mark --mark " EGRESS_MARK " -j RETURN\n", out,
				   id_hex(e->group_ids[j]), out);
		buf_printf(b, "-A %s -j DROP\n", out);
	}
}

/* The ebtables-restore text without its final COMMIT line. */
static void render_eb(const struct fw_vpc *m, struct buf *b)
{
	buf_adds(b, "*filter\n:hd-eb-fwd RETURN\n:hd-eb-in RETURN\n");
	for (size_t i = 0; i < m->nenis; i++)
		if (m->enis[i].tap)
			buf_printf(b, ":hd-as-%s RETURN\n", id_hex(m->enis[i].id));
	for (size_t i = 0; i < m->nenis; i++) {
		const struct fw_eni *e = &m->enis[i];

		if (!e->tap)
			continue;
		buf_printf(b, "-A hd-eb-fwd -i %s -j hd-as-%s\n", e->tap, id_hex(e->id));
		buf_printf(b, "-A hd-eb-in -i %s -j hd-as-%s\n", e->tap, id_hex(e->id));
	}
	for (size_t i = 0; i < m->nenis; i++) {
		const struct fw_eni *e = &m->enis[i];
		const char *h = id_hex(e->id);

		if (!e->tap)
			continue;
		buf_printf(b, "-A hd-as-%s -s ! %s -j DROP\n", h, e->mac);
		for (size_t j = 0; j < e->nips; j++)
			buf_printf(b, "-A hd-as-%s -p ARP --arp-mac-src %s --arp-ip-src %s -j RETURN\n", h, e->mac,
				   e->ips[j]);
		/* ARP probes (RFC 5227) before taking an address */
		buf_printf(b, "-A hd-as-%s -p ARP --arp-mac-src %s --arp-ip-src 0.0.0.0 -j RETURN\n", h, e->mac);
		if (e->source_dest_check) {
			for (size_t j = 0; j < e->nips; j++)
				buf_printf(b, "-A hd-as-%s -p IPv4 --ip-src %s -j RETURN\n", h, e->ips[j]);
		} else {
			buf_printf(b, "-A hd-as-%s -p IPv4 -j RETURN\n", h);
		}
		buf_printf(b, "-A hd-as-%s -p IPv4 --ip-src 0.0.0.0 --ip-dst 255.255.255.255 --ip-proto udp "
			   "--ip-sport 68 --ip-dport 67 -j RETURN\n", h);
		buf_printf(b, "-A hd-as-%s -j DROP\n", h);
	}
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void render_sets(const struct fw_vpc *m, struct buf *b)
{
	for (size_t i = 0; i < m->ngroups; i++) {
		const char *h = id_hex(m->groups[i].id);
		uint32_t *ips = NULL;
		size_t n = 0, cap = 0;

		for (size_t j = 0; j < m->nenis; j++) {
			const struct fw_eni *e = &m->enis[j];
			bool member = false;

			for (size_t k = 0; k < e->ngroups; k++)
				member |= !strcmp(e->group_ids[k], m->groups[i].id);
			for (size_t k = 0; member && k < e->nips; k++) {
				if (n == cap) {
					cap = cap ? 2 * cap : 16;
					ips = realloc(ips, cap * sizeof(*ips));
					if (!ips)
						abort();
				}
				parse_ip(e->ips[k], &ips[n++]);
			}
		}
		if (n)
			qsort(ips, n, sizeof(*ips), cmp_u32);
		buf_printf(b, "create hd-%s hash:ip family inet -exist\n", h);
		buf_printf(b, "create hd-%s-n hash:ip family inet -exist\n", h);
		buf_printf(b, "flush hd-%s-n\n", h);
		for (size_t k = 0; k < n; k++) {
			if (k && ips[k] == ips[k - 1])
				continue;
			buf_printf(b, "add hd-%s-n ", h);
			add_ip(b, ips[k]);
			buf_adds(b, "\n");
		}
		buf_printf(b, "swap hd-%s-n hd-%s\n", h, h);
		buf_printf(b, "destroy hd-%s-n\n", h);
		free(ips);
	}
}

int fw_render(const struct fw_vpc *m, struct buf *ipsets, struct buf *rules, struct buf *ebrules)
{
	int ret = fw_validate(m, NULL, 0);

	if (ret < 0)
		return ret;
	render_sets(m, ipsets);
	render_ipt(m, rules);
	buf_adds(rules, "COMMIT\n");
	render_eb(m, ebrules);
	buf_adds(ebrules, "COMMIT\n");
	return 0;
}

/* ---- applying ---- */

static int real_run(void *arg, const char *const *argv, const char *input, struct buf *out)
{
	struct buf *err = arg;
	struct cmd_opts o = { .input = input, .input_len = input ? strlen(input) : 0 };

	buf_reset(err);
	return cmd_run_ex(argv, &o, out, err);
}

struct applier {
	const struct fw_vpc *m;
	const struct fw_runner *r;
	struct buf err;
	char *why;
	size_t whylen;
};

/* Runs `ip netns exec NS <args...>`; a failure is -EIO with why filled. */
static int run_ns(struct applier *a, const char *input, struct buf *out, const char *const *args)
{
	const char *argv[16] = { "ip", "netns", "exec", a->m->ns };
	size_t n = 4;
	int ret;

	for (size_t i = 0; args[i] && n < 15; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	ret = a->r->run(a->r->arg, argv, input, out);
	if (ret != 0) {
		const char *last = a->r->run == real_run ? cmd_last_line(&a->err) : "";

		fail(a->why, a->whylen, "%s %s: %s (%d)", args[0], args[1] ? args[1] : "", last, ret);
		return -EIO;
	}
	return 0;
}

/* Lines of a *-save output declaring hd- chains absent from want become
 * a flush (redeclaration) and a delete appended to tail; returns whether
 * the exact jump line is present. */
static bool stale_chains(const char *saved, const char *want, bool eb, struct buf *decl, struct buf *del,
			 const char *jump1, const char *jump2, bool *has2)
{
	bool has1 = false;
	const char *l = saved ? saved : "";

	*has2 = false;
	while (*l) {
		const char *nl = strchr(l, '\n');
		size_t len = nl ? (size_t)(nl - l) : strlen(l);

		if (len == strlen(jump1) && !strncmp(l, jump1, len))
			has1 = true;
		if (len == strlen(jump2) && !strncmp(l, jump2, len))
			*has2 = true;
		if (len > 4 && !strncmp(l, ":hd-", 4)) {
			const char *sp = memchr(l, ' ', len);
			size_t nlen = sp ? (size_t)(sp - l - 1) : len - 1;
			char name[64], line[96];

			if (nlen < sizeof(name)) {
				memcpy(name, l + 1, nlen);
				name[nlen] = '\0';
				snprintf(line, sizeof(line), "\n:%s %s\n", name, eb ? "RETURN" : "- [0:0]");
				if (!strstr(want, line)) {
					buf_adds(decl, line + 1);
					buf_printf(del, "-X %s\n", name);
				}
			}
		}
		l += len + (nl ? 1 : 0);
	}
	return has1;
}

static int apply_table(struct applier *a, bool eb, const char *text)
{
	struct buf saved = BUF_INIT, all = BUF_INIT, decl = BUF_INIT, del = BUF_INIT;
	const char *save[] = { eb ? "ebtables-save" : "iptables-save", "-t", "filter", NULL };
	const char *restore[] = { eb ? "ebtables-restore" : "iptables-restore", "--noflush", NULL };
	const char *j1 = eb ? "-A FORWARD -j hd-eb-fwd" : "-A FORWARD -j hd-fwd";
	const char *j2 = eb ? "-A INPUT -j hd-eb-in" : "-A INPUT -j hd-in";
	bool has1, has2;
	int ret;

	ret = run_ns(a, NULL, &saved, save);
	if (ret < 0)
		goto out;
	has1 = stale_chains(saved.data, text, eb, &decl, &del, j1, j2, &has2);
	buf_adds(&all, text);
	if (decl.len)
		buf_adds(&all, decl.data);
	if (!has1)
		buf_printf(&all, "-I FORWARD 1 -j %s\n", eb ? "hd-eb-fwd" : "hd-fwd");
	if (!has2)
		buf_printf(&all, "-I INPUT 1 -j %s\n", eb ? "hd-eb-in" : "hd-in");
	if (del.len)
		buf_adds(&all, del.data);
	buf_adds(&all, "COMMIT\n");
	ret = run_ns(a, all.data, NULL, restore);
out:
	buf_free(&saved);
	buf_free(&all);
	buf_free(&decl);
	buf_free(&del);
	return ret;
}

int fw_apply(const struct fw_vpc *m, const struct fw_runner *r, char *why, size_t whylen)
{
	struct fw_runner real;
	struct applier a = { m, r, BUF_INIT, why, whylen };
	struct buf sets = BUF_INIT, ipt = BUF_INIT, eb = BUF_INIT, names = BUF_INIT;
	int ret;

	ret = fw_validate(m, why, whylen);
	if (ret < 0)
		goto out;
	if (!r) {
		real.run = real_run;
		real.arg = &a.err;
		a.r = &real;
	}
	render_sets(m, &sets);
	render_ipt(m, &ipt);
	render_eb(m, &eb);

	if (sets.len) {
		const char *restore[] = { "ipset", "restore", NULL };

		ret = run_ns(&a, sets.data, NULL, restore);
		if (ret < 0)
			goto out;
	}
	ret = apply_table(&a, false, ipt.data);
	if (ret == 0)
		ret = apply_table(&a, true, eb.data);
	if (ret < 0)
		goto out;
	/* After the rules: on a stock kernel the physdev match is what loads
	 * br_netfilter, and with it this sysctl (per namespace, default 1). */
	{
		const char *sysctl[] = { "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1", NULL };

		ret = run_ns(&a, NULL, NULL, sysctl);
		if (ret < 0)
			goto out;
	}

	/* Sets of groups gone from the model (no rule uses them any more). */
	{
		const char *list[] = { "ipset", "list", "-n", NULL };
		const char *l;

		ret = run_ns(&a, NULL, &names, list);
		if (ret < 0)
			goto out;
		for (l = names.data ? names.data : ""; *l;) {
			const char *nl = strchr(l, '\n');
			size_t len = nl ? (size_t)(nl - l) : strlen(l);
			char name[64], line[96];

			if (len > 3 && len < sizeof(name) && !strncmp(l, "hd-", 3)) {
				memcpy(name, l, len);
				name[len] = '\0';
				snprintf(line, sizeof(line), "create %s hash:ip", name);
				if (!strstr(sets.data ? sets.data : "", line) || (len > 2 && !strcmp(name + len - 2, "-n"))) {
					const char *destroy[] = { "ipset", "destroy", name, NULL };

					ret = run_ns(&a, NULL, NULL, destroy);
					if (ret < 0)
						goto out;
				}
			}
			l += len + (nl ? 1 : 0);
		}
	}
	ret = 0;
out:
	buf_free(&a.err);
	buf_free(&sets);
	buf_free(&ipt);
	buf_free(&eb);
	buf_free(&names);
	return ret;
}
