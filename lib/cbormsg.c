#include "lib/cbormsg.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

/* Field bits, to require each field once and only where its type has it. */
enum { F_T = 1, F_VPC = 2, F_ID = 4, F_IPS = 8, F_ST = 16 };

static unsigned fields_of(int type)
{
	switch (type) {
	case CBORMSG_LISTEN:
	case CBORMSG_UNLISTEN:
		return F_T | F_VPC;
	case CBORMSG_RECORD:
		return F_T | F_ID | F_VPC | F_IPS;
	case CBORMSG_FORGET:
		return F_T | F_ID;
	case CBORMSG_STATS:
		return F_T | F_ST;
	default:
		return 0;
	}
}

int cbormsg_nfds(int type)
{
	if (!fields_of(type))
		return -1;
	return type == CBORMSG_LISTEN || type == CBORMSG_RECORD ? 1 : 0;
}

/* Ids are hostd's own (vpc-..., i-...): letters, digits and '-'. */
static bool id_ok(const char *s, size_t n)
{
	if (n == 0 || n >= CBORMSG_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* ---- encoding ---- */

static bool add(cbor_item_t *map, const char *key, cbor_item_t *val)
{
	cbor_item_t *k = cbor_build_string(key);
	bool ok = k && val && cbor_map_add(map, (struct cbor_pair){ .key = k, .value = val });

	if (k)
		cbor_decref(&k);
	if (val)
		cbor_decref(&val);
	return ok;
}

static cbor_item_t *build_stat(const struct cbormsg_stat *s)
{
	cbor_item_t *m = cbor_new_definite_map(4);

	if (!m)
		return NULL;
	if (!add(m, "id", cbor_build_string(s->id)) || !add(m, "req", cbor_build_uint64(s->requests)) ||
	    !add(m, "nt", cbor_build_uint64(s->no_token)) ||
	    !add(m, "last", cbor_build_uint64(s->last_contact > 0 ? (uint64_t)s->last_contact : 0)))
		cbor_decref(&m);
	return m;
}

static cbor_item_t *build(const struct cbormsg *m)
{
	unsigned f = fields_of(m->type);
	size_t n = (size_t)__builtin_popcount(f);
	cbor_item_t *map = cbor_new_definite_map(n), *arr;
	bool ok;

	if (!map)
		return NULL;
	ok = add(map, "t", cbor_build_uint8((uint8_t)m->type));
	if (ok && (f & F_VPC))
		ok = add(map, "vpc", cbor_build_string(m->vpc));
	if (ok && (f & F_ID))
		ok = add(map, "id", cbor_build_string(m->id));
	if (ok && (f & F_IPS)) {
		arr = cbor_new_definite_array(m->nips);
		for (size_t i = 0; arr && i < m->nips; i++) {
			cbor_item_t *v = cbor_build_uint32(m->ips[i]);

			ok = v && cbor_array_push(arr, v);
			if (v)
				cbor_decref(&v);
			if (!ok)
				break;
		}
		ok = ok && add(map, "ips", arr);
	}
	if (ok && (f & F_ST)) {
		arr = cbor_new_definite_array(m->nstats);
		for (size_t i = 0; arr && i < m->nstats; i++) {
			cbor_item_t *v = build_stat(&m->stats[i]);

			ok = v && cbor_array_push(arr, v);
			if (v)
				cbor_decref(&v);
			if (!ok)
				break;
		}
		ok = ok && add(map, "st", arr);
	}
	if (!ok)
		cbor_decref(&map);
	return map;
}

int cbormsg_encode(const struct cbormsg *m, struct buf *out)
{
	unsigned f = fields_of(m->type);
	unsigned char *data = NULL, pre[4];
	size_t cap = 0, n;
	cbor_item_t *item;

	if (!f || ((f & F_VPC) && !id_ok(m->vpc, strnlen(m->vpc, CBORMSG_ID_MAX))) ||
	    ((f & F_ID) && !id_ok(m->id, strnlen(m->id, CBORMSG_ID_MAX))) || m->nips > CBORMSG_IPS_MAX ||
	    m->nstats > CBORMSG_STATS_MAX)
		return -EINVAL;
	for (size_t i = 0; (f & F_ST) && i < m->nstats; i++)
		if (!id_ok(m->stats[i].id, strnlen(m->stats[i].id, CBORMSG_ID_MAX)))
			return -EINVAL;
	item = build(m);
	if (!item)
		return -ENOMEM;
	n = cbor_serialize_alloc(item, &data, &cap);
	cbor_decref(&item);
	if (n == 0) {
		free(data);
		return -ENOMEM;
	}
	if (n > CBORMSG_MAX - 4) {
		free(data);
		return -EMSGSIZE;
	}
	pre[0] = (unsigned char)(n >> 24);
	pre[1] = (unsigned char)(n >> 16);
	pre[2] = (unsigned char)(n >> 8);
	pre[3] = (unsigned char)n;
	buf_add(out, pre, 4);
	buf_add(out, data, n);
	free(data);
	return 0;
}

/* ---- decoding ---- */

/* A pass over the raw items before libcbor builds a tree: every declared
 * array or map length must fit in the bytes left (each element takes at
 * least one), so a 10-byte frame cannot make the loader allocate gigabytes. */
struct scan {
	size_t left;
	bool bad;
};

static void scan_array(void *ctx, size_t n)
{
	struct scan *s = ctx;

	if (n > s->left)
		s->bad = true;
}

static void scan_map(void *ctx, size_t n)
{
	struct scan *s = ctx;

	if (n > s->left / 2)
		s->bad = true;
}

static bool sizes_sane(const uint8_t *p, size_t len)
{
	struct cbor_callbacks cb = cbor_empty_callbacks;
	struct scan s = { 0, false };
	size_t off = 0;

	cb.array_start = scan_array;
	cb.map_start = scan_map;
	while (off < len) {
		struct cbor_decoder_result r;

		s.left = len - off;
		r = cbor_stream_decode(p + off, len - off, &cb, &s);
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0 || s.bad)
			return false;
		off += r.read;
	}
	return true;
}

static bool get_uint(const cbor_item_t *v, uint64_t max, uint64_t *out)
{
	if (!cbor_isa_uint(v))
		return false;
	*out = cbor_get_int(v);
	return *out <= max;
}

static bool get_id(const cbor_item_t *v, char out[CBORMSG_ID_MAX])
{
	size_t n;

	if (!cbor_isa_string(v) || !cbor_string_is_definite(v))
		return false;
	n = cbor_string_length(v);
	if (!id_ok((const char *)cbor_string_handle(v), n))
		return false;
	memcpy(out, cbor_string_handle(v), n);
	out[n] = '\0';
	return true;
}

static bool key_is(const cbor_item_t *k, const char *name)
{
	size_t n = strlen(name);

	return cbor_isa_string(k) && cbor_string_is_definite(k) && cbor_string_length(k) == n &&
	       !memcmp(cbor_string_handle(k), name, n);
}

static bool get_stat(const cbor_item_t *v, struct cbormsg_stat *s)
{
	struct cbor_pair *pairs;
	unsigned seen = 0;
	uint64_t last;

	if (!cbor_isa_map(v) || !cbor_map_is_definite(v) || cbor_map_size(v) != 4)
		return false;
	pairs = cbor_map_handle(v);
	for (size_t i = 0; i < 4; i++) {
		const cbor_item_t *k = pairs[i].key, *x = pairs[i].value;

		if (key_is(k, "id") && !(seen & 1) && get_id(x, s->id))
			seen |= 1;
		else if (key_is(k, "req") && !(seen & 2) && get_uint(x, UINT64_MAX, &s->requests))
			seen |= 2;
		else if (key_is(k, "nt") && !(seen & 4) && get_uint(x, UINT64_MAX, &s->no_token))
			seen |= 4;
		else if (key_is(k, "last") && !(seen & 8) && get_uint(x, INT64_MAX, &last))
			seen |= 8, s->last_contact = (int64_t)last;
		else
			return false;
	}
	return seen == 15;
}

static bool get_array(const cbor_item_t *v, size_t max, size_t *n)
{
	if (!cbor_isa_array(v) || !cbor_array_is_definite(v) || cbor_array_size(v) > max)
		return false;
	*n = cbor_array_size(v);
	return true;
}

static int walk(const cbor_item_t *root, struct cbormsg *m)
{
	struct cbor_pair *pairs;
	unsigned seen = 0, want;
	size_t n;
	uint64_t t = 0;

	if (!cbor_isa_map(root) || !cbor_map_is_definite(root))
		return -EBADMSG;
	n = cbor_map_size(root);
	pairs = cbor_map_handle(root);
	/* The type first, wherever it is, so every other key is judged by it. */
	for (size_t i = 0; i < n; i++)
		if (key_is(pairs[i].key, "t")) {
			if ((seen & F_T) || !get_uint(pairs[i].value, 255, &t))
				return -EBADMSG;
			seen |= F_T;
		}
	want = fields_of((int)t);
	if (!(seen & F_T) || !want || n != (size_t)__builtin_popcount(want))
		return -EBADMSG;
	m->type = (int)t;
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *k = pairs[i].key, *v = pairs[i].value;
		unsigned bit;

		if (key_is(k, "t"))
			continue;
		bit = key_is(k, "vpc") ? F_VPC : key_is(k, "id") ? F_ID : key_is(k, "ips") ? F_IPS : key_is(k, "st") ? F_ST : 0;
		if (!bit || !(want & bit) || (seen & bit))
			return -EBADMSG;
		seen |= bit;
		if (bit == F_VPC && !get_id(v, m->vpc))
			return -EBADMSG;
		if (bit == F_ID && !get_id(v, m->id))
			return -EBADMSG;
		if (bit == F_IPS) {
			cbor_item_t **a;

			if (!get_array(v, CBORMSG_IPS_MAX, &m->nips))
				return -EBADMSG;
			a = cbor_array_handle(v);
			for (size_t j = 0; j < m->nips; j++) {
				uint64_t ip;

				if (!get_uint(a[j], UINT32_MAX, &ip))
					return -EBADMSG;
				m->ips[j] = (uint32_t)ip;
			}
		}
		if (bit == F_ST) {
			cbor_item_t **a;

			if (!get_array(v, CBORMSG_STATS_MAX, &m->nstats))
				return -EBADMSG;
			a = cbor_array_handle(v);
			for (size_t j = 0; j < m->nstats; j++)
				if (!get_stat(a[j], &m->stats[j]))
					return -EBADMSG;
		}
	}
	return seen == want ? 0 : -EBADMSG;
}

int cbormsg_decode(const uint8_t *p, size_t len, struct cbormsg *m)
{
	struct cbor_load_result res;
	cbor_item_t *root;
	size_t n;
	int ret;

	memset(m, 0, sizeof(*m));
	if (!p || len < 5 || len > CBORMSG_MAX)
		return -EBADMSG;
	n = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (n != len - 4 || !sizes_sane(p + 4, n))
		return -EBADMSG;
	root = cbor_load(p + 4, n, &res);
	if (!root)
		return -EBADMSG;
	ret = res.error.code == CBOR_ERR_NONE && res.read == n ? walk(root, m) : -EBADMSG;
	cbor_decref(&root);
	if (ret < 0)
		memset(m, 0, sizeof(*m));
	return ret;
}
