/* The host CA that signs instance identity documents, as EC2's regional
 * certificate does: an RSA 2048 key and a self-signed certificate under
 * <state>/ca/ (ca.key 0600, ca.pem world-readable, published for users to
 * verify documents with openssl). */
#pragma once
#include <stddef.h>

#include "lib/buf.h"

struct hostca;

/* Creates <dir>/ca.key and <dir>/ca.pem when either is missing (each
 * temp -> fsync -> rename), then loads them. cn names the certificate. */
int hostca_open(const char *dir, const char *cn, struct hostca **out);
void hostca_free(struct hostca *ca);

/* The three forms EC2 serves for doc[0..len), base64 in 64-column lines:
 * sig: the RSA-SHA256 signature; pkcs7: PKCS#7 signed data, detached, no
 * certificate (verify with -content document -certfile ca.pem);
 * rsa2048: PKCS#7 signed data with the document and the certificate
 * embedded (verify with -CAfile ca.pem). Appends to the bufs. */
int hostca_sign(const struct hostca *ca, const void *doc, size_t len, struct buf *sig, struct buf *pkcs7,
		struct buf *rsa2048);
