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
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509.h>

#include <fcntl.h>
#include <pthread.h>

#include "hostd/config.h"
#include "hostd/hostca.h"
#include "hostd/hostd.h"
#include "hostd/imdstree.h"
#include "hostd/store.h"
#include "hostd/vpcs.h"
#include "lib/buf.h"
#include "lib/ids.h"
#include "lib/util.h"
#include "metadata/imds.h"
#include "net/cidr.h"

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


/* ---- the tree hostd writes, served by the real request handler -------- */

#define IID "i-0123456789abcdef0"
#define ACCT "111111111111"

struct served {
	int status;
	char body[8192];
};

static void get(int dirfd, const char *path, struct served *out)
{
	struct imds_config cfg;
	struct imds_ctx ctx = { .dirfd = dirfd, .cfg = &cfg, .now = 1700000000 };
	struct buf req = BUF_INIT, resp = BUF_INIT;
	bool close_after = false;
	const char *body;

	assert_int_equal(imds_config_load(dirfd, &cfg), 0);
	buf_printf(&req, "GET %s HTTP/1.1\r\nHost: 169.254.169.254\r\n\r\n", path);
	assert_true(imds_handle(&ctx, req.data, req.len, &resp, &close_after) > 0);
	out->status = atoi(resp.data + 9);
	body = strstr(resp.data, "\r\n\r\n");
	assert_non_null(body);
	snprintf(out->body, sizeof(out->body), "%s", body + 4);
	buf_free(&req);
	buf_free(&resp);
}

static void expect(int dirfd, const char *path, int status, const char *body)
{
	struct served r;

	get(dirfd, path, &r);
	if (r.status != status || (body && strcmp(r.body, body)))
		fail_msg("%s: %d '%s', want %d '%s'", path, r.status, r.body, status, body ? body : "*");
}

/* cloud-init's crawl: every listed entry answers 200. */
static int crawl(int dirfd, const char *path)
{
	struct served r;
	char *list, *save = NULL;
	int n = 0;

	get(dirfd, path, &r);
	if (r.status != 200)
		fail_msg("%s: %d", path, r.status);
	list = xstrdup(r.body);
	for (char *name = strtok_r(list, "\n", &save); name; name = strtok_r(NULL, "\n", &save)) {
		char sub[1024];
		char *eq = strchr(name, '=');

		if (eq)
			snprintf(sub, sizeof(sub), "%s%.*s/", path, (int)(eq - name), name);
		else
			snprintf(sub, sizeof(sub), "%s%s", path, name);
		if (sub[strlen(sub) - 1] == '/') {
			n += crawl(dirfd, sub);
		} else {
			expect(dirfd, sub, 200, NULL);
			n++;
		}
	}
	free(list);
	return n;
}

static void sql(struct store *s, const char *q)
{
	assert_int_equal(store_exec(s, q), 0);
}

static void test_tree(void **state)
{
	struct config cfg;
	struct hostd h = { 0 };
	struct subnet_info sn;
	struct cidr vc, sc;
	char db[PATH_MAX + 16], p[PATH_MAX + 256], vpc[ID_MAX], subnet[ID_MAX], gid[ID_MAX], eni[ID_MAX], ip[16];
	char err[256], want[512];
	const char *groups[1];
	struct eni_new e = { 0 };
	int dirfd;

	(void)state;
	config_defaults(&cfg);
	assert_int_equal(config_parse(&cfg, "[host]\nregion = us-east-1\n", err, sizeof(err)), 0);
	snprintf(db, sizeof(db), "%s/state.db", dir);
	assert_int_equal(store_open(&h.store, db), 0);
	h.cfg = &cfg;
	h.state_dir = dir;
	pthread_mutex_init(&h.lock, NULL);
	sql(h.store, "INSERT INTO accounts VALUES ('" ACCT "', 0);"
		     "INSERT INTO reservations (id, account_id, created_ms) VALUES ('r-0123456789abcdef0', '" ACCT "', 0);"
		     "INSERT INTO key_pairs VALUES ('key-1', '" ACCT "', 'k1', 'rsa', 'f', 'ssh-rsa AAAA k1', 0);"
		     "INSERT INTO instances (id, account_id, reservation_id, launch_index, image_id, instance_type, vcpus, "
		     "memory_mib, key_name, user_data, az, root_device_name, uuid, state, launch_ms) VALUES ('" IID "', '"
		     ACCT "', 'r-0123456789abcdef0', 0, 'ami-0123456789abcdef0', 't3.nano', 2, 512, 'k1', "
		     "X'00ff', 'us-east-1a', '/dev/xvda', 'ec2x', 'running', 1700000000000);"
		     "INSERT INTO tags VALUES ('" ACCT "', '" IID "', 'instance', 'Name', 'web');"
		     "INSERT INTO tags VALUES ('" ACCT "', '" IID "', 'instance', 'has space', 'x');");
	assert_int_equal(cidr_parse("172.31.0.0/16", &vc), 0);
	assert_int_equal(cidr_parse("172.31.16.0/20", &sc), 0);
	assert_int_equal(vpc_insert(h.store, ACCT, &vc, true, vpc), 0);
	assert_int_equal(subnet_insert(h.store, ACCT, vpc, &sc, "us-east-1a", true, subnet), 0);
	assert_int_equal(subnet_lookup(&h, ACCT, subnet, &sn), 0);
	assert_int_equal(vpc_group_by_name(h.store, vpc, "default", gid), 0);
	groups[0] = gid;
	e.sn = &sn;
	e.groups = groups;
	e.ngroups = 1;
	e.instance_id = IID;
	e.delete_on_termination = true;
	e.description = "";
	assert_int_equal(eni_insert(&h, ACCT, &e, eni, ip), 0);

	snprintf(p, sizeof(p), "%s/instances", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/instances/" IID, dir);
	assert_int_equal(mkdir(p, 0700), 0);
	pthread_mutex_lock(&h.lock);
	assert_int_equal(imdstree_write(&h, IID), 0);
	pthread_mutex_unlock(&h.lock);
	snprintf(p, sizeof(p), "%s/instances/" IID "/imds", dir);
	dirfd = open(p, O_RDONLY | O_DIRECTORY);
	assert_true(dirfd >= 0);

	assert_true(crawl(dirfd, "/latest/meta-data/") > 30);
	assert_int_equal(crawl(dirfd, "/latest/dynamic/"), 5);
	expect(dirfd, "/latest/meta-data/local-ipv4", 200, ip);
	snprintf(want, sizeof(want), "ip-%s.ec2.internal", ip);
	for (char *c = want; *c; c++)
		if (*c == '.' && c < want + 3 + strlen(ip))
			*c = '-';
	expect(dirfd, "/latest/meta-data/hostname", 200, want);
	expect(dirfd, "/latest/meta-data/local-hostname", 200, want);
	expect(dirfd, "/latest/meta-data/security-groups", 200, "default");
	expect(dirfd, "/latest/meta-data/public-keys/", 200, "0=k1");
	expect(dirfd, "/latest/meta-data/public-keys/0/openssh-key", 200, "ssh-rsa AAAA k1");
	expect(dirfd, "/latest/meta-data/placement/availability-zone", 200, "us-east-1a");
	expect(dirfd, "/latest/meta-data/block-device-mapping/", 200, "ami\nroot");
	expect(dirfd, "/latest/meta-data/public-ipv4", 404, NULL);
	expect(dirfd, "/latest/meta-data/tags/instance/Name", 404, NULL);
	{
		struct served r;
		char mac[64], base[256];

		get(dirfd, "/latest/meta-data/mac", &r);
		snprintf(mac, sizeof(mac), "%.17s", r.body);
		snprintf(base, sizeof(base), "/latest/meta-data/network/interfaces/macs/%s/", mac);
		snprintf(p, sizeof(p), "%ssubnet-id", base);
		expect(dirfd, p, 200, subnet);
		snprintf(p, sizeof(p), "%ssubnet-ipv4-cidr-block", base);
		expect(dirfd, p, 200, "172.31.16.0/20");
		snprintf(p, sizeof(p), "%svpc-ipv4-cidr-blocks", base);
		expect(dirfd, p, 200, "172.31.0.0/16");
		snprintf(p, sizeof(p), "%sinterface-id", base);
		expect(dirfd, p, 200, eni);
		snprintf(p, sizeof(p), "%ssecurity-group-ids", base);
		expect(dirfd, p, 200, gid);
		snprintf(p, sizeof(p), "%sowner-id", base);
		expect(dirfd, p, 200, ACCT);
		get(dirfd, "/latest/dynamic/instance-identity/document", &r);
		snprintf(want, sizeof(want), "\"privateIp\" : \"%s\"", ip);
		assert_non_null(strstr(r.body, want));
		assert_non_null(strstr(r.body, "\"pendingTime\" : \"2023-11-14T22:13:20Z\""));
	}
	close(dirfd);

	/* InstanceMetadataTags=enabled: tags/instance/, the key EC2 cannot
	 * serve left out; the token key survives the rewrite. */
	snprintf(p, sizeof(p), "%s/instances/" IID "/token.key", dir);
	{
		unsigned char k1[32], k2[32];
		int fd = open(p, O_RDONLY);

		assert_int_equal(read(fd, k1, 32), 32);
		close(fd);
		sql(h.store, "UPDATE instances SET md_tags = 'enabled', md_http_tokens = 'required'");
		pthread_mutex_lock(&h.lock);
		assert_int_equal(imdstree_refresh_running(&h), 0);
		pthread_mutex_unlock(&h.lock);
		fd = open(p, O_RDONLY);
		assert_int_equal(read(fd, k2, 32), 32);
		close(fd);
		assert_memory_equal(k1, k2, 32);
	}
	snprintf(p, sizeof(p), "%s/instances/" IID "/imds", dir);
	dirfd = open(p, O_RDONLY | O_DIRECTORY);
	{
		struct imds_config c;

		assert_int_equal(imds_config_load(dirfd, &c), 0);
		assert_true(c.tokens_required);
	}
	close(dirfd);
	snprintf(p, sizeof(p), "%s/instances/" IID "/imds/meta-data/tags/instance/Name", dir);
	assert_int_equal(access(p, R_OK), 0);
	snprintf(p, sizeof(p), "%s/instances/" IID "/imds/meta-data/tags/instance/has space", dir);
	assert_int_not_equal(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/instances/" IID "/imds.new", dir);
	assert_int_not_equal(access(p, F_OK), 0);

	store_close(h.store);
	config_free(&cfg);
	pthread_mutex_destroy(&h.lock);
}

static int teardown_all(void **state)
{
	const char *argv[] = { "rm", "-rf", "--", dir, NULL };
	pid_t pid;

	(void)state;
	pid = fork();
	if (pid == 0) {
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, NULL, 0) == pid ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document_format),
		cmocka_unit_test_setup_teardown(test_ca_and_signatures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
