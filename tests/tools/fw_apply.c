/* fw-apply: the firewall applier for the namespace integration test.
 *   fw-apply MODEL.json           apply the model to its namespace
 *   fw-apply --render MODEL.json  print the ipset, iptables and ebtables text
 * The JSON mirrors struct fw_vpc field by field (net/firewall.h); missing
 * numbers are -1, missing booleans false except source_dest_check (true). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/json.h"
#include "net/firewall.h"

static const char *str(const struct json *o, const char *k)
{
	return json_str(json_get(o, k));
}

static int num(const struct json *o, const char *k)
{
	int64_t v;

	return json_int(json_get(o, k), &v) ? (int)v : -1;
}

static bool flag(const struct json *o, const char *k, bool dflt)
{
	bool v;

	return json_bool(json_get(o, k), &v) ? v : dflt;
}

/* Every allocation of the model, freed at the end. */
static void *allocs[4096];
static size_t nallocs;

static void *zalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);

	if (!p || nallocs == sizeof(allocs) / sizeof(allocs[0]))
		abort();
	allocs[nallocs++] = p;
	return p;
}

static const char *const *strs(const struct json *a, size_t *n)
{
	const char **v;

	*n = json_len(a);
	v = zalloc(*n, sizeof(*v));
	for (size_t i = 0; i < *n; i++)
		v[i] = json_str(json_at(a, i));
	return v;
}

static const struct fw_sg_rule *rules(const struct json *a, size_t *n)
{
	struct fw_sg_rule *v;

	*n = json_len(a);
	v = zalloc(*n, sizeof(*v));
	for (size_t i = 0; i < *n; i++) {
		const struct json *r = json_at(a, i);

		v[i].protocol = str(r, "protocol");
		v[i].from_port = num(r, "from_port");
		v[i].to_port = num(r, "to_port");
		v[i].cidr = str(r, "cidr");
		v[i].group_id = str(r, "group_id");
	}
	return v;
}

static void parse_model(const struct json *j, struct fw_vpc *m)
{
	const struct json *a;
	struct fw_subnet *s;
	struct fw_group *g;
	struct fw_eni *e;

	m->ns = str(j, "ns");
	m->cidr = str(j, "cidr");
	a = json_get(j, "subnets");
	m->nsubnets = json_len(a);
	m->subnets = s = zalloc(m->nsubnets, sizeof(*s));
	for (size_t i = 0; i < m->nsubnets; i++) {
		const struct json *o = json_at(a, i), *na = json_get(o, "nacl");
		struct fw_nacl_entry *ne;

		s[i].id = str(o, "id");
		s[i].bridge = str(o, "bridge");
		s[i].cidr = str(o, "cidr");
		s[i].gateway = str(o, "gateway");
		s[i].nacl_id = str(o, "nacl_id");
		s[i].nnacl = json_len(na);
		s[i].nacl = ne = zalloc(s[i].nnacl, sizeof(*ne));
		for (size_t k = 0; k < s[i].nnacl; k++) {
			const struct json *r = json_at(na, k);

			ne[k].rule_number = num(r, "rule_number");
			ne[k].egress = flag(r, "egress", false);
			ne[k].protocol = str(r, "protocol");
			ne[k].allow = flag(r, "allow", false);
			ne[k].cidr = str(r, "cidr");
			ne[k].from_port = num(r, "from_port");
			ne[k].to_port = num(r, "to_port");
			ne[k].icmp_type = num(r, "icmp_type");
			ne[k].icmp_code = num(r, "icmp_code");
		}
	}
	a = json_get(j, "groups");
	m->ngroups = json_len(a);
	m->groups = g = zalloc(m->ngroups, sizeof(*g));
	for (size_t i = 0; i < m->ngroups; i++) {
		const struct json *o = json_at(a, i);

		g[i].id = str(o, "id");
		g[i].ingress = rules(json_get(o, "ingress"), &g[i].ningress);
		g[i].egress = rules(json_get(o, "egress"), &g[i].negress);
	}
	a = json_get(j, "enis");
	m->nenis = json_len(a);
	m->enis = e = zalloc(m->nenis, sizeof(*e));
	for (size_t i = 0; i < m->nenis; i++) {
		const struct json *o = json_at(a, i);

		e[i].id = str(o, "id");
		e[i].subnet_id = str(o, "subnet_id");
		e[i].tap = str(o, "tap");
		e[i].mac = str(o, "mac");
		e[i].ips = strs(json_get(o, "ips"), &e[i].nips);
		e[i].group_ids = strs(json_get(o, "group_ids"), &e[i].ngroups);
		e[i].source_dest_check = flag(o, "source_dest_check", true);
	}
}

int main(int argc, char **argv)
{
	bool render = argc == 3 && !strcmp(argv[1], "--render");
	const char *path = argv[argc - 1];
	struct buf text = BUF_INIT;
	struct json *j = NULL;
	struct fw_vpc m = { 0 };
	char why[256] = "";
	char chunk[4096];
	size_t n;
	FILE *f;
	int ret;

	if (argc != 2 && !render) {
		fprintf(stderr, "usage: fw-apply [--render] MODEL.json\n");
		return 2;
	}
	f = fopen(path, "r");
	if (!f) {
		perror(path);
		return 2;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_add(&text, chunk, n);
	fclose(f);
	ret = json_parse(text.data ? text.data : "", text.len, &j);
	if (ret < 0) {
		fprintf(stderr, "%s: not JSON\n", path);
		goto out;
	}
	parse_model(j, &m);
	if (render) {
		struct buf s = BUF_INIT, r = BUF_INIT, e = BUF_INIT;

		ret = fw_render(&m, &s, &r, &e);
		if (ret == 0)
			printf("%s%s%s", s.data ? s.data : "", r.data, e.data);
		buf_free(&s);
		buf_free(&r);
		buf_free(&e);
	} else {
		ret = fw_apply(&m, NULL, why, sizeof(why));
	}
	if (ret < 0)
		fprintf(stderr, "fw-apply: %s (%s)\n", strerror(-ret), why);
out:
	for (size_t i = 0; i < nallocs; i++)
		free(allocs[i]);
	json_free(j);
	buf_free(&text);
	return ret < 0 ? 1 : 0;
}
