#include "hostd/hostca.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/log.h"
#include "lib/util.h"

#define CA_DAYS (20 * 365)

struct hostca {
	EVP_PKEY *key;
	X509 *cert;
};

/* temp -> fsync -> rename of one in-memory BIO's bytes. */
static int write_bio(const char *dir, const char *name, BIO *b, mode_t mode)
{
	char path[4200], tmp[4300];
	char *data;
	long n = BIO_get_mem_data(b, &data);
	int fd, ret = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	if (n <= 0 || write(fd, data, (size_t)n) != n || fchmod(fd, mode) < 0 || fsync(fd) < 0)
		ret = -EIO;
	close(fd);
	if (ret == 0 && rename(tmp, path) < 0)
		ret = -errno;
	if (ret < 0)
		unlink(tmp);
	return ret;
}

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -EINVAL;
	ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -EINVAL;
}

/* A new key and self-signed certificate, written key first. */
static int create(const char *dir, const char *cn)
{
	EVP_PKEY *key = EVP_RSA_gen(2048);
	X509 *cert = X509_new();
	BIO *kb = BIO_new(BIO_s_mem()), *cb = BIO_new(BIO_s_mem());
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	X509_NAME *name;
	int ret = -EIO;

	if (!key || !cert || !kb || !cb || random_bytes(serial, sizeof(serial)) < 0)
		goto out;
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	name = X509_get_subject_name(cert);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) || !X509_set_version(cert, 2) ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), (long)CA_DAYS * 86400) || !X509_set_pubkey(cert, key) ||
	    !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"hostd", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(cert, name))
		goto out;
	if (add_ext(cert, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
	    add_ext(cert, NID_key_usage, "critical,digitalSignature,keyCertSign,cRLSign") < 0 ||
	    add_ext(cert, NID_subject_key_identifier, "hash") < 0 || !X509_sign(cert, key, EVP_sha256()))
		goto out;
	if (!PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL) || !PEM_write_bio_X509(cb, cert))
		goto out;
	if ((ret = write_bio(dir, "ca.key", kb, 0600)) < 0 || (ret = write_bio(dir, "ca.pem", cb, 0644)) < 0)
		goto out;
	log_info("hostca", "created the host CA %s/ca.pem", dir);
	ret = 0;
out:
	if (ret == -EIO)
		log_err("hostca", "cannot create the host CA in %s", dir);
	BN_free(bn);
	BIO_free(kb);
	BIO_free(cb);
	X509_free(cert);
	EVP_PKEY_free(key);
	return ret;
}

int hostca_open(const char *dir, const char *cn, struct hostca **out)
{
	struct hostca *ca = xcalloc(1, sizeof(*ca));
	char kpath[4200], cpath[4200];
	FILE *f = NULL;
	int ret = 0;

	if (snprintf(kpath, sizeof(kpath), "%s/ca.key", dir) >= (int)sizeof(kpath) ||
	    snprintf(cpath, sizeof(cpath), "%s/ca.pem", dir) >= (int)sizeof(cpath)) {
		ret = -ENAMETOOLONG;
		goto out;
	}
	if (mkdir(dir, 0711) < 0 && errno != EEXIST) {
		ret = -errno;
		goto out;
	}
	if ((access(kpath, R_OK) < 0 || access(cpath, R_OK) < 0) && (ret = create(dir, cn)) < 0)
		goto out;
	ret = -EIO;
	if (!(f = fopen(kpath, "re")) || !(ca->key = PEM_read_PrivateKey(f, NULL, NULL, NULL)))
		goto out;
	fclose(f);
	if (!(f = fopen(cpath, "re")) || !(ca->cert = PEM_read_X509(f, NULL, NULL, NULL)) ||
	    X509_check_private_key(ca->cert, ca->key) != 1)
		goto out;
	ret = 0;
out:
	if (f)
		fclose(f);
	if (ret < 0) {
		log_err("hostca", "cannot load the host CA from %s: %s", dir, strerror(-ret));
		hostca_free(ca);
		ca = NULL;
	}
	*out = ca;
	return ret;
}

void hostca_free(struct hostca *ca)
{
	if (!ca)
		return;
	EVP_PKEY_free(ca->key);
	X509_free(ca->cert);
	free(ca);
}

static void b64_lines(struct buf *b, const unsigned char *p, size_t n)
{
	char *s = base64_encode(p, n);
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i += 64) {
		if (i)
			buf_addc(b, '\n');
		buf_add(b, s + i, len - i < 64 ? len - i : 64);
	}
	free(s);
}

static int p7_der(const struct hostca *ca, const void *doc, size_t len, bool detached, struct buf *out)
{
	BIO *in = BIO_new_mem_buf(doc, (int)len);
	int flags = PKCS7_BINARY | (detached ? PKCS7_DETACHED | PKCS7_NOCERTS : 0);
	PKCS7 *p7 = in ? PKCS7_sign(ca->cert, ca->key, NULL, in, flags) : NULL;
	unsigned char *der = NULL;
	int n = p7 ? i2d_PKCS7(p7, &der) : -1;

	if (n > 0)
		b64_lines(out, der, (size_t)n);
	OPENSSL_free(der);
	PKCS7_free(p7);
	BIO_free(in);
	return n > 0 ? 0 : -EIO;
}

int hostca_sign(const struct hostca *ca, const void *doc, size_t len, struct buf *sig, struct buf *pkcs7,
		struct buf *rsa2048)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char s[512];
	size_t slen = sizeof(s);
	int ret = -EIO;

	if (!ca || len > INT32_MAX)
		goto out;
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, ca->key) != 1 ||
	    EVP_DigestSign(md, s, &slen, doc, len) != 1)
		goto out;
	b64_lines(sig, s, slen);
	if ((ret = p7_der(ca, doc, len, true, pkcs7)) < 0 || (ret = p7_der(ca, doc, len, false, rsa2048)) < 0)
		goto out;
	ret = 0;
out:
	EVP_MD_CTX_free(md);
	return ret;
}
