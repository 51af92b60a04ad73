#include "hostd/keycrypto.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>

#include "lib/buf.h"
#include "lib/util.h"

#define RSA_CREATE_BITS 2048
#define RSA_MIN_BITS 1024
#define RSA_MAX_BITS 16384
#define ED25519_LEN 32
/* Far above any key we accept (a 16384-bit key in RFC 4716 form with a long
 * comment is under 4 KiB); bounds the work one request can cause. */
#define IMPORT_MAX_LEN 65536

/* The caller puts EC2's "Key is not in valid OpenSSH public key format" in
 * front of our reason, so reasons say what in particular is wrong. */
static const char BAD_FORMAT[] = "Unrecognized key format";
static const char SSH_RSA[] = "ssh-rsa";
static const char SSH_ED25519[] = "ssh-ed25519";
static const char RFC4716_BEGIN[] = "---- BEGIN SSH2 PUBLIC KEY ----";
static const char RFC4716_END[] = "---- END SSH2 PUBLIC KEY ----";

/* A public key reduced to its numbers, whatever format it came in. */
struct pubkey {
	enum key_type type;
	unsigned char *n, *e; /* RSA: big-endian magnitudes, no leading zeros */
	size_t nlen, elen;
	unsigned char ed[ED25519_LEN];
};

static void pubkey_free(struct pubkey *k)
{
	free(k->n);
	free(k->e);
	k->n = k->e = NULL;
}

static int reject(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int reject(char *why, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (!why)
		return -EINVAL;
	va_start(ap, fmt);
	r = vsnprintf(why, KEY_WHY_MAX, fmt, ap);
	va_end(ap);
	/* None of our reasons is that long; a cut one would read badly. */
	_Static_assert(sizeof(BAD_FORMAT) <= KEY_WHY_MAX, "BAD_FORMAT fits why");
	if (r < 0 || r >= KEY_WHY_MAX)
		memcpy(why, BAD_FORMAT, sizeof(BAD_FORMAT));
	return -EINVAL;
}

/* Wipes the whole allocation: these buffers held private key material. */
static void buf_wipe_free(struct buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	buf_free(b);
}

static bool memeq(const void *p, size_t n, const char *s)
{
	return n == strlen(s) && memcmp(p, s, n) == 0;
}

static bool has_prefix(const void *p, size_t n, const char *s)
{
	size_t l = strlen(s);

	return n >= l && memcmp(p, s, l) == 0;
}

/* ---- SSH wire format (RFC 4251 section 5) ---- */

struct rd {
	const unsigned char *p;
	size_t n;
};

static int rd_u32(struct rd *r, uint32_t *v)
{
	if (r->n < 4)
		return -EINVAL;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->n -= 4;
	return 0;
}

static int rd_string(struct rd *r, const unsigned char **s, size_t *len)
{
	uint32_t l;

	if (rd_u32(r, &l) < 0 || l > r->n)
		return -EINVAL;
	*s = r->p;
	*len = l;
	r->p += l;
	r->n -= l;
	return 0;
}

/* A positive mpint in minimal encoding, as RFC 4251 requires; returns the
 * magnitude without the sign byte. */
static int rd_mpint_pos(struct rd *r, const unsigned char **s, size_t *len)
{
	if (rd_string(r, s, len) < 0 || *len == 0 || (**s & 0x80))
		return -EINVAL;
	if (**s == 0) {
		/* A zero byte is only allowed to keep the next one's top bit clear. */
		if (*len == 1 || !((*s)[1] & 0x80))
			return -EINVAL;
		(*s)++;
		(*len)--;
	}
	return 0;
}

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16, v >> 8, v };

	buf_add(b, x, 4);
}

static void put_string(struct buf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	buf_add(b, p, n);
}

/* mag is a positive magnitude without leading zeros. */
static void put_mpint(struct buf *b, const unsigned char *mag, size_t n)
{
	bool pad = n && (mag[0] & 0x80);

	put_u32(b, (uint32_t)(n + pad));
	if (pad)
		buf_addc(b, 0);
	buf_add(b, mag, n);
}

static void pubkey_blob(const struct pubkey *k, struct buf *b)
{
	if (k->type == KEY_TYPE_RSA) {
		put_string(b, SSH_RSA, strlen(SSH_RSA));
		put_mpint(b, k->e, k->elen);
		put_mpint(b, k->n, k->nlen);
	} else {
		put_string(b, SSH_ED25519, strlen(SSH_ED25519));
		put_string(b, k->ed, ED25519_LEN);
	}
}

/* ---- checks shared by every input format ---- */

static size_t mag_bits(const unsigned char *p, size_t n)
{
	size_t bits;

	if (!n)
		return 0;
	bits = (n - 1) * 8;
	for (unsigned c = p[0]; c; c >>= 1)
		bits++;
	return bits;
}

static int check_rsa(const struct pubkey *k, char *why)
{
	size_t bits = mag_bits(k->n, k->nlen);

	if (bits < RSA_MIN_BITS)
		return reject(why, "RSA key is %zu bits; the minimum is %d", bits, RSA_MIN_BITS);
	if (bits > RSA_MAX_BITS)
		return reject(why, "RSA key is larger than %d bits", RSA_MAX_BITS);
	if (!(k->n[k->nlen - 1] & 1))
		return reject(why, "RSA modulus is invalid");
	/* e must be odd, at least 3 and below n. */
	if (!k->elen || !(k->e[k->elen - 1] & 1) || (k->elen == 1 && k->e[0] < 3) ||
	    k->elen > k->nlen || (k->elen == k->nlen && memcmp(k->e, k->n, k->nlen) >= 0))
		return reject(why, "RSA public exponent is invalid");
	return 0;
}

/* Why a key type we recognise by name is refused. */
static int reject_type(const unsigned char *t, size_t n, char *why)
{
	if (memmem(t, n, "-cert-", 6))
		return reject(why, "OpenSSH certificates are not supported");
	if (has_prefix(t, n, "sk-"))
		return reject(why, "Security key (FIDO) keys are not supported");
	if (memeq(t, n, "ssh-dss"))
		return reject(why, "DSA keys are not supported; use RSA or ED25519");
	if (has_prefix(t, n, "ecdsa-"))
		return reject(why, "ECDSA keys are not supported; use RSA or ED25519");
	return reject(why, "Unsupported key type; use RSA or ED25519");
}

/* An SSH public key blob; want_type is the type the surrounding text
 * claimed, if any. */
static int parse_blob(const unsigned char *blob, size_t len, const char *want_type, struct pubkey *k,
		      char *why)
{
	struct rd r = { blob, len };
	const unsigned char *t, *a, *b;
	size_t tlen, alen, blen;

	if (rd_string(&r, &t, &tlen) < 0)
		return reject(why, "Malformed key data");
	if (want_type && !memeq(t, tlen, want_type))
		return reject(why, "Key type does not match the key data");
	if (memeq(t, tlen, SSH_RSA)) {
		if (rd_mpint_pos(&r, &a, &alen) < 0 || rd_mpint_pos(&r, &b, &blen) < 0)
			return reject(why, "RSA key data is malformed");
		if (r.n)
			return reject(why, "Key data has trailing bytes");
		k->type = KEY_TYPE_RSA;
		k->e = xmalloc(alen);
		memcpy(k->e, a, alen);
		k->elen = alen;
		k->n = xmalloc(blen);
		memcpy(k->n, b, blen);
		k->nlen = blen;
		return check_rsa(k, why);
	}
	if (memeq(t, tlen, SSH_ED25519)) {
		if (rd_string(&r, &a, &alen) < 0 || alen != ED25519_LEN)
			return reject(why, "ED25519 key data is malformed");
		if (r.n)
			return reject(why, "Key data has trailing bytes");
		k->type = KEY_TYPE_ED25519;
		memcpy(k->ed, a, ED25519_LEN);
		return 0;
	}
	return reject_type(t, tlen, why);
}

/* ---- OpenSSL keys ---- */

static int bn_param(const EVP_PKEY *pkey, const char *name, unsigned char **mag, size_t *len)
{
	BIGNUM *bn = NULL;
	int ret = -EINVAL;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1 || BN_is_negative(bn) || BN_is_zero(bn))
		goto out;
	*len = (size_t)BN_num_bytes(bn);
	*mag = xmalloc(*len);
	if (BN_bn2bin(bn, *mag) != (int)*len) {
		free(*mag);
		*mag = NULL;
		goto out;
	}
	ret = 0;
out:
	BN_free(bn);
	return ret;
}

static int pubkey_from_evp(const EVP_PKEY *pkey, struct pubkey *k, char *why)
{
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		k->type = KEY_TYPE_RSA;
		if (bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &k->n, &k->nlen) < 0 ||
		    bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &k->e, &k->elen) < 0)
			return reject(why, "RSA key data is malformed");
		return check_rsa(k, why);
	}
	if (EVP_PKEY_is_a(pkey, "ED25519")) {
		size_t len = ED25519_LEN;

		k->type = KEY_TYPE_ED25519;
		if (EVP_PKEY_get_raw_public_key(pkey, k->ed, &len) != 1 || len != ED25519_LEN)
			return reject(why, "ED25519 key data is malformed");
		return 0;
	}
	if (EVP_PKEY_is_a(pkey, "EC"))
		return reject(why, "ECDSA keys are not supported; use RSA or ED25519");
	if (EVP_PKEY_is_a(pkey, "DSA"))
		return reject(why, "DSA keys are not supported; use RSA or ED25519");
	return reject(why, "Only RSA and ED25519 keys are supported");
}

/* DER SubjectPublicKeyInfo, or PKCS#1 RSAPublicKey when pkcs1. */
static int parse_der(const unsigned char *der, size_t len, bool pkcs1, struct pubkey *k, char *why)
{
	const unsigned char *p = der;
	EVP_PKEY *pkey;
	int ret;

	/* len is bounded by IMPORT_MAX_LEN, so it fits a long. */
	if (pkcs1)
		pkey = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)len);
	else
		pkey = d2i_PUBKEY(NULL, &p, (long)len);
	if (!pkey || p != der + len) {
		ret = reject(why, "%s", pkey ? "Key data has trailing bytes" : "Not a valid DER public key");
		goto out;
	}
	ret = pubkey_from_evp(pkey, k, why);
out:
	EVP_PKEY_free(pkey);
	return ret;
}

static int rsa_evp(const struct pubkey *k, EVP_PKEY **pkey)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *n = BN_bin2bn(k->n, (int)k->nlen, NULL);
	BIGNUM *e = BN_bin2bn(k->e, (int)k->elen, NULL);
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	int ret = -EIO;

	*pkey = NULL;
	if (!bld || !n || !e || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		goto out;
	params = OSSL_PARAM_BLD_to_param(bld);
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	ret = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return ret;
}

static int digest(const char *alg, const void *p, size_t n, unsigned char *md, unsigned *mdlen)
{
	EVP_MD *m = EVP_MD_fetch(NULL, alg, NULL);
	int ret = m && EVP_Digest(p, n, md, mdlen, m, NULL) == 1 ? 0 : -EIO;

	EVP_MD_free(m);
	return ret;
}

static int fingerprint_hex(const char *alg, const void *p, size_t n, char fp[KEY_FINGERPRINT_MAX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen;
	int ret = digest(alg, p, n, md, &mdlen);

	if (ret < 0)
		return ret;
	if (3 * (size_t)mdlen > KEY_FINGERPRINT_MAX)
		return -EOVERFLOW;
	hex_colon_encode(md, mdlen, fp);
	return 0;
}

/* "ssh-xxx AAAA..." and, for ed25519, EC2's fingerprint of the blob. */
static int pubkey_outputs(const struct pubkey *k, char **openssh, char fp_ed25519[KEY_FINGERPRINT_MAX])
{
	struct buf blob = BUF_INIT, line = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen;
	char *b64;
	int ret;

	pubkey_blob(k, &blob);
	b64 = base64_encode((unsigned char *)blob.data, blob.len);
	buf_printf(&line, "%s %s", k->type == KEY_TYPE_RSA ? SSH_RSA : SSH_ED25519, b64);
	free(b64);
	if (k->type == KEY_TYPE_ED25519) {
		ret = digest("SHA256", blob.data, blob.len, md, &mdlen);
		if (ret < 0)
			goto out;
		b64 = base64_encode(md, mdlen);
		ret = snprintf(fp_ed25519, KEY_FINGERPRINT_MAX, "%s", b64);
		free(b64);
		if (ret < 0 || ret >= KEY_FINGERPRINT_MAX) {
			ret = -EOVERFLOW;
			goto out;
		}
	}
	*openssh = buf_steal(&line);
	ret = 0;
out:
	buf_free(&line);
	buf_free(&blob);
	return ret;
}

/* ---- ImportKeyPair's text formats ---- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The next line of s[*pos..n) without its line ending or trailing blanks. */
static bool next_line(const char *s, size_t n, size_t *pos, const char **line, size_t *llen)
{
	const char *nl;
	size_t l;

	if (*pos >= n)
		return false;
	*line = s + *pos;
	nl = memchr(*line, '\n', n - *pos);
	l = nl ? (size_t)(nl - *line) : n - *pos;
	*pos += l + (nl != NULL);
	while (l && is_ws((*line)[l - 1]))
		l--;
	*llen = l;
	return true;
}

static int parse_b64_blob(const char *b64, size_t n, const char *want_type, struct pubkey *k, char *why)
{
	unsigned char *blob;
	size_t len;
	int ret;

	if (!n || base64_decode(b64, n, &blob, &len) < 0)
		return reject(why, "Invalid base64 key data");
	ret = parse_blob(blob, len, want_type, k, why);
	free(blob);
	return ret;
}

/* "ssh-rsa AAAA... comment" */
static int parse_openssh(const char *s, size_t n, struct pubkey *k, char *why)
{
	size_t i = 0, t, b;

	if (memchr(s, '\n', n) || memchr(s, '\r', n))
		return reject(why, "Key material must be a single public key on one line");
	while (i < n && s[i] != ' ' && s[i] != '\t')
		i++;
	t = i;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	b = i;
	while (i < n && s[i] != ' ' && s[i] != '\t')
		i++;
	/* The rest is the comment, which EC2 drops. */
	if (memeq(s, t, SSH_RSA))
		return parse_b64_blob(s + b, i - b, SSH_RSA, k, why);
	if (memeq(s, t, SSH_ED25519))
		return parse_b64_blob(s + b, i - b, SSH_ED25519, k, why);
	return reject_type((const unsigned char *)s, t, why);
}

/* RFC 4716 section 3.3: 1..64 printable ASCII characters other than ':'. */
static bool rfc4716_header(const char *l, size_t n)
{
	const char *colon = memchr(l, ':', n);
	size_t tag = colon ? (size_t)(colon - l) : 0;

	if (tag < 1 || tag > 64)
		return false;
	for (size_t i = 0; i < tag; i++)
		if (l[i] <= ' ' || l[i] > '~')
			return false;
	return true;
}

static int parse_rfc4716(const char *s, size_t n, struct pubkey *k, char *why)
{
	struct buf body = BUF_INIT;
	bool in_body = false, ended = false, cont = false;
	size_t pos = 0, ll;
	const char *l;
	int ret;

	next_line(s, n, &pos, &l, &ll);
	if (!memeq(l, ll, RFC4716_BEGIN)) {
		ret = reject(why, "%s", has_prefix(l, ll, "---- BEGIN SSH2 ENCRYPTED PRIVATE KEY") ?
			     "Private keys are not accepted; import the public key" : "Unrecognized RFC 4716 key");
		goto out;
	}
	while (next_line(s, n, &pos, &l, &ll)) {
		if (cont) {
			/* Continuation of a header value: its content is irrelevant. */
			cont = ll && l[ll - 1] == '\\';
			continue;
		}
		if (!ll)
			continue;
		if (ended) {
			ret = reject(why, "Unexpected data after the end of the key");
			goto out;
		}
		if (memeq(l, ll, RFC4716_END)) {
			ended = true;
			continue;
		}
		if (memchr(l, ':', ll)) {
			if (in_body || !rfc4716_header(l, ll)) {
				ret = reject(why, "Malformed RFC 4716 header");
				goto out;
			}
			cont = l[ll - 1] == '\\';
			continue;
		}
		in_body = true;
		buf_add(&body, l, ll);
	}
	if (!ended) {
		ret = reject(why, "Missing RFC 4716 END line");
		goto out;
	}
	ret = parse_b64_blob(body.data, body.len, NULL, k, why);
out:
	buf_free(&body);
	return ret;
}

/* "-----BEGIN PUBLIC KEY-----" (SPKI) or "-----BEGIN RSA PUBLIC KEY-----". */
static int parse_pem(const char *s, size_t n, struct pubkey *k, char *why)
{
	static const char pre[] = "-----BEGIN ", post[] = "-----";
	struct buf body = BUF_INIT;
	unsigned char *der = NULL;
	char end[64];
	size_t pos = 0, ll, dlen, lablen;
	const char *l, *label;
	bool pkcs1, ended = false;
	int ret, r;

	next_line(s, n, &pos, &l, &ll);
	if (ll < strlen(pre) + strlen(post) || memcmp(l + ll - strlen(post), post, strlen(post))) {
		ret = reject(why, "Malformed PEM BEGIN line");
		goto out;
	}
	label = l + strlen(pre);
	lablen = ll - strlen(pre) - strlen(post);
	if (memmem(label, lablen, "PRIVATE KEY", 11)) {
		ret = reject(why, "Private keys are not accepted; import the public key");
		goto out;
	}
	if (memeq(label, lablen, "PUBLIC KEY")) {
		pkcs1 = false;
	} else if (memeq(label, lablen, "RSA PUBLIC KEY")) {
		pkcs1 = true;
	} else {
		ret = reject(why, "Unsupported PEM type; use PUBLIC KEY or RSA PUBLIC KEY");
		goto out;
	}
	r = snprintf(end, sizeof(end), "-----END %.*s-----", (int)lablen, label);
	if (r < 0 || (size_t)r >= sizeof(end)) {
		ret = -EOVERFLOW;
		goto out;
	}
	while (next_line(s, n, &pos, &l, &ll)) {
		if (!ll)
			continue;
		if (ended) {
			ret = reject(why, "Unexpected data after the end of the key");
			goto out;
		}
		if (memeq(l, ll, end))
			ended = true;
		else
			buf_add(&body, l, ll); /* PEM headers fail base64 below */
	}
	if (!ended || !body.len || base64_decode(body.data, body.len, &der, &dlen) < 0) {
		ret = reject(why, "Missing PEM END line or invalid base64");
		goto out;
	}
	ret = parse_der(der, dlen, pkcs1, k, why);
out:
	free(der);
	buf_free(&body);
	return ret;
}

static int parse_b64_der(const char *s, size_t n, struct pubkey *k, char *why)
{
	unsigned char *der = NULL;
	size_t dlen = 0;
	int ret;

	if (base64_decode(s, n, &der, &dlen) < 0 || !dlen)
		ret = reject(why, "%s", BAD_FORMAT);
	else
		ret = parse_der(der, dlen, false, k, why);
	free(der);
	return ret;
}

static int parse_material(const unsigned char *material, size_t len, struct pubkey *k, char *why)
{
	const char *s = (const char *)material;
	size_t n = len, i;

	if (!material || !len)
		return reject(why, "Key material is empty");
	if (len > IMPORT_MAX_LEN)
		return reject(why, "Key material is too large");
	for (i = 0; i < len; i++) {
		if (!material[i])
			return reject(why, "Key material contains NUL bytes");
		if ((material[i] < ' ' && !is_ws((char)material[i])) || material[i] == 0x7f)
			return reject(why, "Key material contains control characters");
	}
	while (n && is_ws(*s))
		s++, n--;
	while (n && is_ws(s[n - 1]))
		n--;
	if (!n)
		return reject(why, "Key material is empty");

	if (has_prefix(s, n, "---- BEGIN "))
		return parse_rfc4716(s, n, k, why);
	if (has_prefix(s, n, "-----BEGIN "))
		return parse_pem(s, n, k, why);
	/* A blank before the first line break means "type base64 [comment]";
	 * otherwise the whole text should be base64 DER. */
	for (i = 0; i < n && s[i] != '\n' && s[i] != '\r'; i++)
		if (s[i] == ' ' || s[i] == '\t')
			return parse_openssh(s, n, k, why);
	return parse_b64_der(s, n, k, why);
}

int keycrypto_import(const unsigned char *material, size_t len, enum key_type *type,
		     char **public_openssh, char fingerprint[KEY_FINGERPRINT_MAX],
		     char why[KEY_WHY_MAX])
{
	struct pubkey k = { 0 };
	EVP_PKEY *pkey = NULL;
	unsigned char *der = NULL;
	char *line = NULL;
	int ret, dlen;

	*public_openssh = NULL;
	fingerprint[0] = '\0';
	if (why)
		why[0] = '\0';
	ret = parse_material(material, len, &k, why);
	if (ret < 0)
		goto out;
	ret = pubkey_outputs(&k, &line, fingerprint);
	if (ret < 0)
		goto out;
	if (k.type == KEY_TYPE_RSA) {
		/* EC2 fingerprints imported RSA keys by their DER SPKI. */
		ret = rsa_evp(&k, &pkey);
		if (ret < 0)
			goto out;
		dlen = i2d_PUBKEY(pkey, &der);
		if (dlen <= 0) {
			ret = -EIO;
			goto out;
		}
		ret = fingerprint_hex("MD5", der, (size_t)dlen, fingerprint);
		if (ret < 0)
			goto out;
	}
	*type = k.type;
	*public_openssh = line;
	line = NULL;
	ret = 0;
out:
	if (ret < 0) {
		fingerprint[0] = '\0';
		if (why && !why[0])
			(void)reject(why, "Internal error processing the key");
		/* Keep our parse failures out of other modules' error reports. */
		ERR_clear_error();
	}
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	free(line);
	pubkey_free(&k);
	return ret;
}

/* ---- CreateKeyPair ---- */

static int encode_pkey(const EVP_PKEY *pkey, const char *format, const char *structure,
		       unsigned char **data, size_t *len)
{
	OSSL_ENCODER_CTX *ctx;
	int ret = -EIO;

	*data = NULL;
	ctx = OSSL_ENCODER_CTX_new_for_pkey(pkey, EVP_PKEY_KEYPAIR, format, structure, NULL);
	if (ctx && OSSL_ENCODER_CTX_get_num_encoders(ctx) > 0 &&
	    OSSL_ENCODER_to_data(ctx, data, len) == 1)
		ret = 0;
	OSSL_ENCODER_CTX_free(ctx);
	return ret;
}

static int create_rsa(struct key_created *out)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_CREATE_BITS);
	struct pubkey k = { 0 };
	unsigned char *pem = NULL, *der = NULL;
	size_t pemlen = 0, derlen = 0;
	int ret = -EIO;

	if (!pkey)
		goto out;
	/* "type-specific" is PKCS#1: "-----BEGIN RSA PRIVATE KEY-----". */
	ret = encode_pkey(pkey, "PEM", "type-specific", &pem, &pemlen);
	if (ret < 0)
		goto out;
	ret = encode_pkey(pkey, "DER", "PrivateKeyInfo", &der, &derlen);
	if (ret < 0)
		goto out;
	ret = fingerprint_hex("SHA1", der, derlen, out->fingerprint);
	if (ret < 0)
		goto out;
	ret = pubkey_from_evp(pkey, &k, NULL);
	if (ret < 0) {
		ret = -EIO;
		goto out;
	}
	ret = pubkey_outputs(&k, &out->public_openssh, NULL);
	if (ret < 0)
		goto out;
	out->private_key = xmalloc(pemlen + 1);
	memcpy(out->private_key, pem, pemlen);
	out->private_key[pemlen] = '\0';
	ret = 0;
out:
	OPENSSL_clear_free(pem, pemlen);
	OPENSSL_clear_free(der, derlen);
	pubkey_free(&k);
	EVP_PKEY_free(pkey);
	return ret;
}

/* openssh-key-v1 (OpenSSH's PROTOCOL.key), unencrypted, one key, empty
 * comment, wrapped at 70 columns like ssh-keygen. */
static int openssh_private_ed25519(const unsigned char seed[ED25519_LEN],
				   const unsigned char pub[ED25519_LEN], const struct buf *pubblob,
				   char **pem)
{
	static const char magic[] = "openssh-key-v1"; /* written with its NUL */
	/* Reserved up front so no realloc leaves unwiped copies behind. */
	struct buf priv = BUF_INIT, raw = BUF_INIT, text = BUF_INIT;
	unsigned char sk[2 * ED25519_LEN];
	uint32_t check;
	char *b64 = NULL;
	size_t b64len;
	int ret;

	ret = random_bytes(&check, sizeof(check));
	if (ret < 0)
		goto out;
	buf_reserve(&priv, 256);
	buf_reserve(&raw, 512);
	put_u32(&priv, check);
	put_u32(&priv, check);
	put_string(&priv, SSH_ED25519, strlen(SSH_ED25519));
	put_string(&priv, pub, ED25519_LEN);
	/* OpenSSH stores the 64-byte form: seed followed by the public key. */
	memcpy(sk, seed, ED25519_LEN);
	memcpy(sk + ED25519_LEN, pub, ED25519_LEN);
	put_string(&priv, sk, sizeof(sk));
	put_string(&priv, "", 0);
	for (unsigned char pad = 1; priv.len % 8; pad++)
		buf_addc(&priv, (char)pad);

	buf_add(&raw, magic, sizeof(magic));
	put_string(&raw, "none", 4); /* cipher */
	put_string(&raw, "none", 4); /* kdf */
	put_string(&raw, "", 0);     /* kdf options */
	put_u32(&raw, 1);
	put_string(&raw, pubblob->data, pubblob->len);
	put_string(&raw, priv.data, priv.len);

	b64 = base64_encode((unsigned char *)raw.data, raw.len);
	b64len = strlen(b64);
	buf_reserve(&text, b64len + b64len / 70 + 128);
	buf_adds(&text, "-----BEGIN OPENSSH PRIVATE KEY-----\n");
	for (size_t i = 0; i < b64len; i += 70) {
		buf_add(&text, b64 + i, b64len - i < 70 ? b64len - i : 70);
		buf_addc(&text, '\n');
	}
	buf_adds(&text, "-----END OPENSSH PRIVATE KEY-----\n");
	*pem = buf_steal(&text);
	ret = 0;
out:
	OPENSSL_cleanse(sk, sizeof(sk));
	if (b64) {
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	}
	buf_wipe_free(&priv);
	buf_wipe_free(&raw);
	buf_wipe_free(&text);
	return ret;
}

static int create_ed25519(struct key_created *out)
{
	EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	struct pubkey k = { .type = KEY_TYPE_ED25519 };
	struct buf blob = BUF_INIT;
	unsigned char seed[ED25519_LEN];
	size_t slen = sizeof(seed), plen = sizeof(k.ed);
	int ret = -EIO;

	if (!pkey || EVP_PKEY_get_raw_private_key(pkey, seed, &slen) != 1 || slen != ED25519_LEN ||
	    EVP_PKEY_get_raw_public_key(pkey, k.ed, &plen) != 1 || plen != ED25519_LEN)
		goto out;
	ret = pubkey_outputs(&k, &out->public_openssh, out->fingerprint);
	if (ret < 0)
		goto out;
	pubkey_blob(&k, &blob);
	ret = openssh_private_ed25519(seed, k.ed, &blob, &out->private_key);
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	buf_free(&blob);
	EVP_PKEY_free(pkey);
	return ret;
}

int keycrypto_create(enum key_type type, struct key_created *out)
{
	int ret;

	memset(out, 0, sizeof(*out));
	switch (type) {
	case KEY_TYPE_RSA:
		ret = create_rsa(out);
		break;
	case KEY_TYPE_ED25519:
		ret = create_ed25519(out);
		break;
	default:
		return -EINVAL;
	}
	if (ret < 0) {
		keycrypto_created_free(out);
		ERR_clear_error();
	}
	return ret;
}

void keycrypto_created_free(struct key_created *k)
{
	if (k->private_key) {
		OPENSSL_cleanse(k->private_key, strlen(k->private_key));
		free(k->private_key);
	}
	free(k->public_openssh);
	memset(k, 0, sizeof(*k));
}
