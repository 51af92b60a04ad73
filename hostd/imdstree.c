#include "hostd/imdstree.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "hostd/act_iam.h"
#include "hostd/actions.h"
#include "hostd/config.h"
#include "hostd/hostca.h"
#include "hostd/hostd.h"
#include "hostd/instances.h"
#include "hostd/publicips.h"
#include "hostd/store.h"
#include "hostd/vpcs.h"
#include "lib/cmd.h"
#include "lib/ids.h"
#include "lib/log.h"
#include "lib/util.h"
#include "net/cidr.h"
#include "net/imdsl.h"

/* The tree in memory: relative path -> bytes, written only once complete. */
struct tfile {
	char *rel;
	struct buf data;
};

struct tree {
	struct tfile *f;
	size_t n, cap;
};

static struct buf *tree_add(struct tree *t, const char *rel)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 64;
		t->f = realloc(t->f, t->cap * sizeof(*t->f));
		if (!t->f)
			abort();
	}
	t->f[t->n].rel = xstrdup(rel);
	t->f[t->n].data = (struct buf)BUF_INIT;
	return &t->f[t->n++].data;
}

__attribute__((format(printf, 3, 4))) static void put(struct tree *t, const char *rel, const char *fmt, ...)
{
	struct buf *b = tree_add(t, rel);
	va_list ap;

	va_start(ap, fmt);
	buf_vprintf(b, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 2, 3))) static const char *path(char out[512], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, 512, fmt, ap);
	va_end(ap);
	return (n < 0 || n >= 512) ? NULL : out;
}

static void tree_free(struct tree *t)
{
	for (size_t i = 0; i < t->n; i++) {
		free(t->f[i].rel);
		buf_free(&t->f[i].data);
	}
	free(t->f);
}

static void json_str(struct buf *b, const char *s)
{
	if (!s) {
		buf_adds(b, "null");
		return;
	}
	buf_addc(b, '"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			buf_printf(b, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			buf_printf(b, "\\u%04x", (unsigned char)*s);
		else
			buf_addc(b, *s);
	}
	buf_addc(b, '"');
}

void imdstree_document(const struct imds_identity *id, struct buf *out)
{
	char ts[32];
	time_t t = (time_t)(id->pending_ms / 1000);
	struct tm tm;
	const struct { const char *k, *v; } f[] = {
		{ "accountId", id->account_id },     { "architecture", id->architecture },
		{ "availabilityZone", id->availability_zone }, { "billingProducts", NULL },
		{ "devpayProductCodes", NULL },      { "marketplaceProductCodes", NULL },
		{ "imageId", id->image_id },         { "instanceId", id->instance_id },
		{ "instanceType", id->instance_type }, { "kernelId", NULL },
		{ "pendingTime", ts },               { "privateIp", id->private_ip },
		{ "ramdiskId", NULL },               { "region", id->region },
		{ "version", "2017-09-30" },
	};

	gmtime_r(&t, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	buf_adds(out, "{\n");
	for (size_t i = 0; i < ARRAY_SIZE(f); i++) {
		buf_printf(out, "  \"%s\" : ", f[i].k);
		json_str(out, f[i].v);
		buf_adds(out, i + 1 < ARRAY_SIZE(f) ? ",\n" : "\n");
	}
	buf_adds(out, "}");
}

/* Characters the IMDS serves in a name (metadata/imds.c): tags with other
 * keys are left out, as EC2 leaves them unreachable. */
static bool tag_key_ok(const char *s)
{
	if (!*s || *s == '.' || strlen(s) > 255)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr("-._:+=,@", *s)))
			return false;
	return true;
}

struct inst {
	char id[ID_MAX], account[16], image[ID_MAX], reservation[ID_MAX], type[32], az[72], root[64], arch[16];
	char tokens[16], endpoint[16], tags[16], key_name[256];
	char *pubkey;
	struct buf user_data;
	int launch_index, hop_limit;
	int64_t launch_ms;
};

static void cp(char *dst, size_t len, sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);

	snprintf(dst, len, "%s", s ? s : "");
}

static int load_inst(struct hostd *h, const char *id, struct inst *in)
{
	sqlite3_stmt *st = store_stmt(h->store,
				      "SELECT i.id, i.account_id, i.image_id, i.reservation_id, i.instance_type, i.az, "
				      "i.root_device_name, COALESCE(m.architecture, 'x86_64'), i.md_http_tokens, "
				      "i.md_http_endpoint, i.md_tags, i.key_name, k.public_key, i.user_data, "
				      "i.launch_index, i.md_hop_limit, i.launch_ms FROM instances i "
				      "LEFT JOIN images m ON m.id = i.image_id "
				      "LEFT JOIN key_pairs k ON k.account_id = i.account_id AND k.name = i.key_name "
				      "WHERE i.id = ?1");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW)
		return -ENOENT;
	cp(in->id, sizeof(in->id), st, 0);
	cp(in->account, sizeof(in->account), st, 1);
	cp(in->image, sizeof(in->image), st, 2);
	cp(in->reservation, sizeof(in->reservation), st, 3);
	cp(in->type, sizeof(in->type), st, 4);
	cp(in->az, sizeof(in->az), st, 5);
	cp(in->root, sizeof(in->root), st, 6);
	cp(in->arch, sizeof(in->arch), st, 7);
	cp(in->tokens, sizeof(in->tokens), st, 8);
	cp(in->endpoint, sizeof(in->endpoint), st, 9);
	cp(in->tags, sizeof(in->tags), st, 10);
	cp(in->key_name, sizeof(in->key_name), st, 11);
	in->pubkey = sqlite3_column_text(st, 12) && in->key_name[0] ? xstrdup((const char *)sqlite3_column_text(st, 12))
								     : NULL;
	if (sqlite3_column_bytes(st, 13) > 0)
		buf_add(&in->user_data, sqlite3_column_blob(st, 13), (size_t)sqlite3_column_bytes(st, 13));
	in->launch_index = sqlite3_column_int(st, 14);
	in->hop_limit = sqlite3_column_int(st, 15);
	in->launch_ms = sqlite3_column_int64(st, 16);
	sqlite3_reset(st);
	return 0;
}

static const char *dev_short(const char *d)
{
	return strncmp(d, "/dev/", 5) ? d : d + 5;
}

static void block_devices(struct hostd *h, const struct inst *in, struct tree *t)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT device FROM volumes WHERE instance_id = ?1 AND device IS NOT "
						"NULL AND attach_state = 'attached' ORDER BY attach_ms, id");
	char p[512];
	int n = 0;

	put(t, "meta-data/block-device-mapping/ami", "%s", in->root);
	put(t, "meta-data/block-device-mapping/root", "%s", in->root);
	if (!st)
		return;
	sqlite3_bind_text(st, 1, in->id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *d = (const char *)sqlite3_column_text(st, 0);

		if (!d || !strcmp(d, in->root) || !strcmp(dev_short(d), dev_short(in->root)))
			continue;
		if (path(p, "meta-data/block-device-mapping/ebs%d", ++n))
			put(t, p, "%s", dev_short(d));
	}
	sqlite3_reset(st);
}

static void instance_tags(struct hostd *h, const struct inst *in, struct tree *t)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT key, value FROM tags WHERE account_id = ?1 AND "
						"resource_id = ?2 ORDER BY key");
	char p[512];

	if (!st)
		return;
	sqlite3_bind_text(st, 1, in->account, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, in->id, -1, SQLITE_STATIC);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0), *v = (const char *)sqlite3_column_text(st, 1);

		if (k && tag_key_ok(k) && path(p, "meta-data/tags/instance/%s", k))
			put(t, p, "%s", v ? v : "");
	}
	sqlite3_reset(st);
}

/* network/interfaces/macs/<mac>/ for every ENI; the primary one also gives
 * the top-level local-ipv4, mac, hostnames, public address and groups. */
static void interfaces(struct hostd *h, const struct inst *in, struct tree *t, char *primary_ip)
{
	struct eni_view *v = NULL;
	size_t n = 0;
	char p[512], dns[256], pub[16], owner[16], cidr[19], vcidr[19];

	if (eni_views(h->store, in->account, in->id, NULL, &v, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		const struct eni_view *e = &v[i];
		struct subnet_info sn;
		bool has_pub = pubip_of_eni(h, e->id, pub, owner) == 0;
		struct buf *b;

#define MAC(rel) path(p, "meta-data/network/interfaces/macs/%s/" rel, e->mac)
		eni_dns_name(h, e->ip, dns, sizeof(dns));
		if (MAC("device-number"))
			put(t, p, "%d", e->device_index);
		if (MAC("interface-id"))
			put(t, p, "%s", e->id);
		if (MAC("local-hostname"))
			put(t, p, "%s", dns);
		if (MAC("local-ipv4s")) {
			b = tree_add(t, p);
			buf_adds(b, e->ip);
			for (size_t k = 0; k < e->nsec; k++)
				buf_printf(b, "\n%s", e->sec[k]);
		}
		if (MAC("mac"))
			put(t, p, "%s", e->mac);
		if (MAC("owner-id"))
			put(t, p, "%s", e->account);
		if (MAC("subnet-id"))
			put(t, p, "%s", e->subnet);
		if (MAC("vpc-id"))
			put(t, p, "%s", e->vpc);
		if (e->ngroups && MAC("security-group-ids")) {
			b = tree_add(t, p);
			for (size_t g = 0; g < e->ngroups; g++)
				buf_printf(b, "%s%s", g ? "\n" : "", e->group_ids[g]);
		}
		if (e->ngroups && MAC("security-groups")) {
			b = tree_add(t, p);
			for (size_t g = 0; g < e->ngroups; g++)
				buf_printf(b, "%s%s", g ? "\n" : "", e->group_names[g]);
		}
		if (subnet_lookup(h, e->account, e->subnet, &sn) == 0) {
			cidr_format(&sn.cidr, cidr);
			cidr_format(&sn.vpc_cidr, vcidr);
			if (MAC("subnet-ipv4-cidr-block"))
				put(t, p, "%s", cidr);
			if (MAC("vpc-ipv4-cidr-block"))
				put(t, p, "%s", vcidr);
			if (MAC("vpc-ipv4-cidr-blocks"))
				put(t, p, "%s", vcidr);
		}
		if (has_pub) {
			char pdns[256];

			pubip_dns_name(h, pub, pdns, sizeof(pdns));
			if (MAC("public-ipv4s"))
				put(t, p, "%s", pub);
			if (MAC("public-hostname"))
				put(t, p, "%s", pdns);
			if (path(p, "meta-data/network/interfaces/macs/%s/ipv4-associations/%s", e->mac, pub))
				put(t, p, "%s", e->ip);
			if (e->device_index == 0) {
				put(t, "meta-data/public-ipv4", "%s", pub);
				put(t, "meta-data/public-hostname", "%s", pdns);
			}
		}
#undef MAC
		if (e->device_index != 0)
			continue;
		snprintf(primary_ip, 16, "%s", e->ip);
		put(t, "meta-data/local-ipv4", "%s", e->ip);
		put(t, "meta-data/mac", "%s", e->mac);
		put(t, "meta-data/hostname", "%s", dns);
		put(t, "meta-data/local-hostname", "%s", dns);
		if (e->ngroups) {
			b = tree_add(t, "meta-data/security-groups");
			for (size_t g = 0; g < e->ngroups; g++)
				buf_printf(b, "%s%s", g ? "\n" : "", e->group_names[g]);
		}
	}
	eni_views_free(v, n);
}

static int identity(struct hostd *h, const struct inst *in, const char *ip, struct tree *t)
{
	struct imds_identity id = {
		.account_id = in->account, .architecture = in->arch, .availability_zone = in->az,
		.image_id = in->image, .instance_id = in->id, .instance_type = in->type,
		.private_ip = ip[0] ? ip : NULL, .region = h->cfg->region, .pending_ms = in->launch_ms,
	};
	struct buf *doc = tree_add(t, "dynamic/instance-identity/document");
	struct buf *sig, *p7, *rsa;
	struct hostca *ca = NULL;
	char dir[4200];
	int ret;

	imdstree_document(&id, doc);
	if ((ret = state_path(h, "ca", dir, sizeof(dir))) < 0 || (ret = hostca_open(dir, "hostd", &ca)) < 0)
		return ret;
	sig = tree_add(t, "dynamic/instance-identity/signature");
	p7 = tree_add(t, "dynamic/instance-identity/pkcs7");
	rsa = tree_add(t, "dynamic/instance-identity/rsa2048");
	/* tree_add may move the array: doc's bytes are re-fetched. */
	doc = &t->f[t->n - 4].data;
	ret = hostca_sign(ca, doc->data, doc->len, sig, p7, rsa);
	hostca_free(ca);
	return ret;
}

static void iso_time(char out[32], int64_t ms)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* iam/ only while a profile is associated, in EC2's JSON layout: info, and
 * security-credentials/<role> with the association's current credentials. */
static int iam(struct hostd *h, const struct inst *in, struct tree *t)
{
	struct iam_tree c;
	char p[512], upd[32], exp[32];
	struct buf *b;
	int ret = iam_tree_creds(h, in->id, &c);

	if (ret == -ENOENT)
		return 0;
	if (ret < 0)
		return ret;
	iso_time(upd, c.issued_ms);
	iso_time(exp, c.cred.expires_ms);
	b = tree_add(t, "meta-data/iam/info");
	buf_printf(b, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"%s\",\n  \"InstanceProfileArn\" : ", upd);
	json_str(b, c.arn);
	buf_printf(b, ",\n  \"InstanceProfileId\" : \"%s\"\n}", c.profile_id);
	if (!path(p, "meta-data/iam/security-credentials/%s", c.role))
		return -ENAMETOOLONG;
	b = tree_add(t, p);
	buf_printf(b, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"%s\",\n  \"Type\" : \"AWS-HMAC\",\n"
		      "  \"AccessKeyId\" : \"%s\",\n  \"SecretAccessKey\" : ", upd, c.cred.access_key);
	json_str(b, c.cred.secret_key);
	buf_adds(b, ",\n  \"Token\" : ");
	json_str(b, c.cred.session_token);
	buf_printf(b, ",\n  \"Expiration\" : \"%s\"\n}", exp);
	OPENSSL_cleanse(&c, sizeof(c));
	return 0;
}

static int token_key(const char *idir, unsigned char key[32]);

/* Label || period, keyed with the instance's token key: the identity
 * credentials of one period, the same at every rewrite of the tree and
 * unguessable without the key. */
static void derive(const unsigned char key[32], const char *label, int64_t period, unsigned char out[32])
{
	unsigned char msg[64];
	unsigned int len = 32;
	size_t n = strlen(label);

	memcpy(msg, label, n);
	for (int i = 0; i < 8; i++)
		msg[n + i] = (unsigned char)((uint64_t)period >> (56 - 8 * i));
	HMAC(EVP_sha256(), key, 32, msg, n + 8, out, &len);
}

/* identity-credentials/ec2/: the instance identity role EC2 gives every
 * instance (for EC2 features to recognise the instance, with no API
 * permissions). Served in EC2's layout, rotating like role credentials;
 * hostd's API does not know these keys (AuthFailure). */
static int identity_creds(struct hostd *h, const struct inst *in, struct tree *t)
{
	static const char b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char key[32], m[3][32];
	char idir[4200], ak[21], sk[41], upd[32], exp[32], *tok;
	int64_t issued, expires, period = iam_identity_period(h, now_ms(), &issued, &expires);
	struct buf *b;
	int ret;

	if ((ret = instance_dir(h, in->id, idir, sizeof(idir))) < 0 || (ret = token_key(idir, key)) < 0)
		return ret;
	derive(key, "ec2-instance-key", period, m[0]);
	derive(key, "ec2-instance-secret", period, m[1]);
	memcpy(ak, "ASIA", 4);
	for (int i = 0; i < 16; i++)
		ak[4 + i] = b32[m[0][i] & 31];
	ak[20] = '\0';
	for (int i = 0; i < 40; i++)
		sk[i] = b64[m[1][i % 32] >> (i < 32 ? 2 : 0) & 63];
	sk[40] = '\0';
	derive(key, "ec2-instance-token-1", period, m[0]);
	derive(key, "ec2-instance-token-2", period, m[1]);
	derive(key, "ec2-instance-token-3", period, m[2]);
	tok = base64_encode(&m[0][0], sizeof(m));
	iso_time(upd, issued);
	iso_time(exp, expires);
	put(t, "meta-data/identity-credentials/ec2/info",
	    "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"%s\",\n  \"AccountId\" : \"%s\"\n}", upd, in->account);
	b = tree_add(t, "meta-data/identity-credentials/ec2/security-credentials/ec2-instance");
	buf_printf(b, "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"%s\",\n  \"Type\" : \"AWS-HMAC\",\n"
		      "  \"AccessKeyId\" : \"%s\",\n  \"SecretAccessKey\" : \"%s\",\n  \"Token\" : \"%s\",\n"
		      "  \"Expiration\" : \"%s\"\n}", upd, ak, sk, tok, exp);
	free(tok);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(m, sizeof(m));
	OPENSSL_cleanse(sk, sizeof(sk));
	return 0;
}

static int build(struct hostd *h, const struct inst *in, struct tree *t)
{
	int ret;
	char zid[64], ip[16] = "", domain[200];

	put(t, "meta-data/ami-id", "%s", in->image);
	put(t, "meta-data/ami-launch-index", "%d", in->launch_index);
	put(t, "meta-data/ami-manifest-path", "(unknown)");
	put(t, "meta-data/instance-id", "%s", in->id);
	put(t, "meta-data/instance-type", "%s", in->type);
	put(t, "meta-data/instance-action", "none");
	put(t, "meta-data/instance-life-cycle", "on-demand");
	put(t, "meta-data/profile", "default-hvm");
	put(t, "meta-data/reservation-id", "%s", in->reservation);
	put(t, "meta-data/system", "nitro");
	put(t, "meta-data/events/maintenance/history", "[]");
	put(t, "meta-data/events/maintenance/scheduled", "[]");
	put(t, "meta-data/services/domain", "amazonaws.com");
	put(t, "meta-data/services/partition", "aws");
	put(t, "meta-data/metrics/vhostmd", "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
	put(t, "meta-data/placement/availability-zone", "%s", in->az);
	zone_id(h->cfg->region, in->az, zid, sizeof(zid));
	put(t, "meta-data/placement/availability-zone-id", "%s", zid);
	put(t, "meta-data/placement/region", "%s", h->cfg->region);
	block_devices(h, in, t);
	if (in->pubkey) {
		put(t, "meta-data/public-keys/.listing", "0=%s", in->key_name);
		put(t, "meta-data/public-keys/0/openssh-key", "%s", in->pubkey);
	}
	interfaces(h, in, t, ip);
	if (!ip[0] && ip_domain(h->cfg->region, domain, sizeof(domain)) == 0) {
		/* no VPC ENI (the user-mode NIC): a name all the same */
		put(t, "meta-data/hostname", "%s.%s", in->id, domain);
		put(t, "meta-data/local-hostname", "%s.%s", in->id, domain);
	}
	if (!strcmp(in->tags, "enabled"))
		instance_tags(h, in, t);
	if ((ret = iam(h, in, t)) < 0 || (ret = identity_creds(h, in, t)) < 0)
		return ret;
	put(t, "dynamic/fws/instance-monitoring", "disabled");
	if (in->user_data.len)
		buf_add(tree_add(t, "user-data"), in->user_data.data, in->user_data.len);
	put(t, "options", "instance_id=%s\nhttp_tokens=%s\nhttp_endpoint=%s\nhop_limit=%d\n", in->id, in->tokens,
	    in->endpoint, in->hop_limit);
	return identity(h, in, ip, t);
}

/* dir/rel, its parents made; no fsync here (one syncfs for the tree). */
static int write_rel(const char *dir, const char *rel, const void *data, size_t len)
{
	char p[4800];
	int fd, ret = 0;

	if (snprintf(p, sizeof(p), "%s/%s", dir, rel) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	for (char *s = p + strlen(dir) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			ret = -errno;
		*s = '/';
		if (ret < 0)
			return ret;
	}
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (len && write(fd, data, len) != (ssize_t)len)
		ret = -EIO;
	close(fd);
	return ret;
}

static int read_key(const char *file, unsigned char key[32])
{
	int fd = open(file, O_RDONLY | O_CLOEXEC), ret = 0;

	if (fd < 0)
		return -errno;
	if (read(fd, key, 32) != 32)
		ret = -EIO;
	close(fd);
	return ret;
}

/* One key per instance for its IMDSv2 tokens, kept across restarts of the
 * instance so live tokens stay valid until they expire. */
static int token_key(const char *idir, unsigned char key[32])
{
	char file[4300], tmp[4400];
	int fd, ret = 0;

	snprintf(file, sizeof(file), "%s/token.key", idir);
	if (read_key(file, key) == 0)
		return 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", file);
	if (random_bytes(key, 32) < 0)
		return -EIO;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (write(fd, key, 32) != 32 || fsync(fd) < 0)
		ret = -EIO;
	close(fd);
	if (ret == 0 && rename(tmp, file) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

static void rm_rf(const char *p)
{
	const char *argv[] = { "rm", "-rf", "--", p, NULL };

	cmd_run(argv, NULL, NULL);
}

int imdstree_write(struct hostd *h, const char *instance_id)
{
	struct inst in = { .user_data = BUF_INIT };
	struct tree t = { 0 };
	unsigned char key[32];
	char idir[4200], cur[4300], next[4300];
	int ret, fd;

	if ((ret = instance_dir(h, instance_id, idir, sizeof(idir))) < 0)
		return ret;
	snprintf(cur, sizeof(cur), "%s/imds", idir);
	snprintf(next, sizeof(next), "%s/imds.new", idir);
	if ((ret = load_inst(h, instance_id, &in)) < 0 || (ret = build(h, &in, &t)) < 0)
		goto out;
	if ((ret = token_key(idir, key)) < 0)
		goto out;
	buf_add(tree_add(&t, "token.key"), key, sizeof(key));
	rm_rf(next);
	if (mkdir(next, 0700) < 0) {
		ret = -errno;
		goto out;
	}
	for (size_t i = 0; i < t.n; i++)
		if ((ret = write_rel(next, t.f[i].rel, t.f[i].data.data, t.f[i].data.len)) < 0)
			goto out;
	/* Readable by the unprivileged responder in the VPC namespaces. */
	if ((ret = imdsl_share(next)) < 0)
		goto out;
	if ((fd = open(next, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		syncfs(fd);
		close(fd);
	}
	if (renameat2(AT_FDCWD, next, AT_FDCWD, cur, RENAME_EXCHANGE) < 0) {
		if (errno != ENOENT || rename(next, cur) < 0) {
			ret = -errno;
			goto out;
		}
	}
	/* The metadata service holds the old tree open: the new one goes to
	 * it before the old one is removed. */
	(void)vpcs_imds_push(h, instance_id);
	rm_rf(next);
out:
	if (ret < 0) {
		log_err("imds", "%s: cannot write the metadata tree: %s", instance_id, strerror(-ret));
		rm_rf(next);
	}
	OPENSSL_cleanse(key, sizeof(key));
	tree_free(&t);
	free(in.pubkey);
	buf_free(&in.user_data);
	return ret;
}

int imdstree_refresh(struct hostd *h, const char *instance_id)
{
	char idir[4200];
	struct stat st;

	if (instance_dir(h, instance_id, idir, sizeof(idir)) < 0 || stat(idir, &st) < 0)
		return 0;
	return imdstree_write(h, instance_id);
}

int imdstree_refresh_running(struct hostd *h)
{
	sqlite3_stmt *st = store_stmt(h->store, "SELECT id FROM instances WHERE state IN ('pending', 'running', "
						"'stopping') ORDER BY id");
	char (*ids)[ID_MAX] = NULL;
	size_t n = 0, cap = 0;
	int ret = 0;

	if (!st)
		return -EIO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			ids = realloc(ids, cap * sizeof(*ids));
			if (!ids)
				abort();
		}
		snprintf(ids[n++], ID_MAX, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	for (size_t i = 0; i < n; i++) {
		int r = imdstree_refresh(h, ids[i]);

		if (r < 0)
			ret = r;
	}
	free(ids);
	return ret;
}
