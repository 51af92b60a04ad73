/* The crypto behind EC2 key pairs: CreateKeyPair generates a key and returns
 * its private half once; ImportKeyPair takes a user's public key in any of
 * the formats EC2 accepts. Fingerprints are computed exactly as EC2 does,
 * which differs by key type and by whether the key was created or imported. */
#pragma once
#include <stddef.h>

enum key_type { KEY_TYPE_RSA, KEY_TYPE_ED25519 };

#define KEY_FINGERPRINT_MAX 128
#define KEY_WHY_MAX 128

struct key_created {
	char *private_key;    /* CreateKeyPair's KeyMaterial (PEM text) */
	char *public_openssh; /* "ssh-rsa AAAA..." / "ssh-ed25519 AAAA...", no comment */
	char fingerprint[KEY_FINGERPRINT_MAX];
};

/* rsa: 2048-bit, KeyMaterial PEM PKCS#1, fingerprint colon-hex SHA-1 of the
 * PKCS#8 DER private key. ed25519: KeyMaterial in the OpenSSH private key
 * format, fingerprint base64 (padded) SHA-256 of the public key blob.
 * Returns 0, -EINVAL for an unknown type, or -EIO if OpenSSL fails. */
int keycrypto_create(enum key_type type, struct key_created *out);
/* Wipes and frees k's members; safe on a zeroed or already freed struct. */
void keycrypto_created_free(struct key_created *k);

/* ImportKeyPair's PublicKeyMaterial, already base64-decoded by the API layer
 * (the bytes of the user's file): an OpenSSH public key line, an RFC 4716
 * SSH2 public key, PEM "PUBLIC KEY" or "RSA PUBLIC KEY", or base64 DER
 * SubjectPublicKeyInfo. Accepts RSA of 1024..16384 bits and ed25519.
 * On success sets *type, *public_openssh (malloc'd, no comment) and the
 * fingerprint (rsa: colon-hex MD5 of the DER SubjectPublicKeyInfo; ed25519:
 * as for created keys). Returns -EINVAL for material EC2 would reject (the
 * caller answers InvalidKey.Format) with a short reason in why (may be NULL)
 * that fits after "Key is not in valid OpenSSH public key format: ", or
 * -EIO if OpenSSL fails internally (an internal error, not the user's). */
int keycrypto_import(const unsigned char *material, size_t len, enum key_type *type,
		     char **public_openssh, char fingerprint[KEY_FINGERPRINT_MAX],
		     char why[KEY_WHY_MAX]);
