/* hostd/imdstree.c's identity document and hostd/hostca.c: the document's
 * exact format, the CA made once and reused, and the three signature forms
 * verified with OpenSSL's own verifiers (a changed document fails). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include "hostd/hostca.h"
#include "hostd/imdstree.h"
#include "lib/buf.h"
#include "lib/util.h"

static const char want_doc[] =
	"{\n"
	"  \"accountId\" : \"111111111111\",\n"
	"  \"architecture\" : \"x86_64\",\n"
	"  \"availabilityZone\" : \"us-east-1a\",\n"
	"  \"billingProducts\" : null,\n"
	"  \"devpayProductCodes\" : null,\n"
	"  \"marketplaceProductCodes\" : null,\n"
	"  \"imageId\" : \"ami-0123456789abcdef0\",\n"
	"  \"instanceId\" : \"i-0123456789abcdef0\",\n"
	"  \"instanceType\" : \"t3.nano\",\n"
	"  \"kernelId\" : null,\n"
	"  \"pendingTime\" : \"2023-11-14T22:13:20Z\",\n"
	"  \"privateIp\" : \"172.31.0.5\",\n"
	"  \"ramdiskId\" : null,\n"
	"  \"region\" : \"us-east-1\",\n"
	"  \"version\" : \"2017-09-30\"\n"
	"}";

static void doc(struct buf *b, const char *ip)
{
	struct imds_identity id = {
		.account_id = "111111111111", .architecture = "x86_64", .availability_zone = "us-east-1a",
		.image_id = "ami-0123456789abcdef0", .instance_id = "i-0123456789abcdef0", .instance_type = "t3.nano",
		.private_ip = ip, .region = "us-east-1", .pending_ms = 1700000000123LL,
	};

	imdstree_document(&id, b);
}

static void test_document_format(void **state)
{
	struct buf b = BUF_INIT;

	(void)state;
	doc(&b, "172.31.0.5");
	assert_string_equal(b.data, want_doc);
	buf_reset(&b);
	doc(&b, "a\"b\\c\n");
	assert_non_null(strstr(b.data, "\"privateIp\" : \"a\\\"b\\\\c\\u000a\","));
	buf_reset(&b);
	doc(&b, NULL);
	assert_non_null(strstr(b.data, "\"privateIp\" : null,"));
	buf_free(&b);
}

static char dir[PATH_MAX];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/hostca-unit-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char p[PATH_MAX + 16];

	(void)state;
	snprintf(p, sizeof(p), "%s/ca.key", dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	unlink(p);
	return rmdir(dir);
}

static X509 *load_cert(void)
{
	char p[PATH_MAX + 16];
	FILE *f;
	X509 *c;

	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	f = fopen(p, "r");
	assert_non_null(f);
	c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(c);
	return c;
}

static PKCS7 *p7_of(const struct buf *b64)
{
	unsigned char *der = NULL;
	size_t n = 0;
	char *flat = xmalloc(b64->len + 1);
	size_t k = 0;
	const unsigned char *p;
	PKCS7 *p7;

	for (size_t i = 0; i < b64->len; i++)
		if (b64->data[i] != '\n')
			flat[k++] = b64->data[i];
	assert_int_equal(base64_decode(flat, k, &der, &n), 0);
	free(flat);
	p = der;
	p7 = d2i_PKCS7(NULL, &p, (long)n);
	free(der);
	assert_non_null(p7);
	return p7;
}

static int p7_verify(PKCS7 *p7, X509 *ca, const char *content, bool use_store)
{
	X509_STORE *store = X509_STORE_new();
	STACK_OF(X509) *certs = sk_X509_new_null();
	BIO *in = content ? BIO_new_mem_buf(content, (int)strlen(content)) : NULL;
	BIO *out = BIO_new(BIO_s_mem());
	int ok;

	X509_STORE_add_cert(store, ca);
	sk_X509_push(certs, ca);
	ok = PKCS7_verify(p7, use_store ? NULL : certs, store, in, out,
			  PKCS7_BINARY | (use_store ? 0 : PKCS7_NOVERIFY));
	sk_X509_free(certs);
	X509_STORE_free(store);
	BIO_free(in);
	BIO_free(out);
	return ok;
}

static void test_ca_and_signatures(void **state)
{
	struct hostca *ca = NULL, *again = NULL;
	struct buf d = BUF_INIT, sig = BUF_INIT, p7 = BUF_INIT, rsa = BUF_INIT, sig2 = BUF_INIT, p72 = BUF_INIT,
		   rsa2 = BUF_INIT;
	char kpath[PATH_MAX + 16];
	struct stat st;
	X509 *cert;
	PKCS7 *det, *emb;

	(void)state;
	assert_int_equal(hostca_open(dir, "hostd-test", &ca), 0);
	snprintf(kpath, sizeof(kpath), "%s/ca.key", dir);
	assert_int_equal(stat(kpath, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	doc(&d, "172.31.0.5");
	assert_int_equal(hostca_sign(ca, d.data, d.len, &sig, &p7, &rsa), 0);
	/* base64 in 64-column lines, nothing else */
	for (size_t i = 0, col = 0; i < p7.len; i++, col++) {
		if (p7.data[i] == '\n') {
			assert_int_equal(col, 64);
			col = (size_t)-1;
		}
	}
	/* the second open reuses the same key: same signature (PKCS#1 v1.5) */
	assert_int_equal(hostca_open(dir, "hostd-test", &again), 0);
	assert_int_equal(hostca_sign(again, d.data, d.len, &sig2, &p72, &rsa2), 0);
	assert_string_equal(sig.data, sig2.data);
	cert = load_cert();

	{
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		unsigned char *raw = NULL;
		size_t n = 0, k = 0;
		char *flat = xmalloc(sig.len + 1);

		for (size_t i = 0; i < sig.len; i++)
			if (sig.data[i] != '\n')
				flat[k++] = sig.data[i];
		assert_int_equal(base64_decode(flat, k, &raw, &n), 0);
		assert_int_equal(n, 256);
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)), 1);
		assert_int_equal(EVP_DigestVerify(md, raw, n, (const unsigned char *)d.data, d.len), 1);
		raw[0] ^= 1;
		assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, X509_get0_pubkey(cert)), 1);
		assert_int_not_equal(EVP_DigestVerify(md, raw, n, (const unsigned char *)d.data, d.len), 1);
		free(raw);
		free(flat);
		EVP_MD_CTX_free(md);
	}

	det = p7_of(&p7);
	assert_true(PKCS7_get_detached(det));
	assert_int_equal(p7_verify(det, cert, d.data, false), 1);
	assert_int_not_equal(p7_verify(det, cert, "{}", false), 1);
	emb = p7_of(&rsa);
	assert_false(PKCS7_get_detached(emb));
	assert_int_equal(p7_verify(emb, cert, NULL, true), 1);

	PKCS7_free(det);
	PKCS7_free(emb);
	X509_free(cert);
	hostca_free(ca);
	hostca_free(again);
	buf_free(&d);
	buf_free(&sig);
	buf_free(&p7);
	buf_free(&rsa);
	buf_free(&sig2);
	buf_free(&p72);
	buf_free(&rsa2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document_format),
		cmocka_unit_test_setup_teardown(test_ca_and_signatures, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
