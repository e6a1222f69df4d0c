/* SHA-1 for name-based UUIDs (RFC 4122 version 5) and MD5 for MISP's hashes.csv, through
 * OpenSSL's libcrypto. Both formats mandate these digests; neither serves a security purpose
 * here (stable ids, cache keys).
 *
 * Through the digests' own functions, which OpenSSL 3 keeps but marks deprecated, rather than
 * EVP: a first STIX or MISP export digests a million short names, and each EVP digest, even
 * with its context and algorithm fetched once and reused, creates and frees a provider context
 * (a malloc, a free and a cleanse); the write phase of a first MISP export of a million
 * attributes went from 0.95 to 0.77 s. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/md5.h>
#include <openssl/sha.h>
#include <string.h>

#include "export/export.h"

/* "sheriff" namespace for indicator and event ids: uuid5(DNS namespace, "sheriff.invalid"). */
const uint8_t sh_uuid_ns_sheriff[16] = {0xec, 0xad, 0xf9, 0x48, 0xa8, 0xbc, 0x50, 0xa7,
					0x9d, 0x3f, 0x1c, 0x56, 0x04, 0x0a, 0x37, 0x06};

/* (not SHA1() and MD5(), which OpenSSL 3 implements through EVP, fetching the algorithm) */
void sh_sha1(const void *data, size_t n, uint8_t out[20])
{
	SHA_CTX c;
	SHA1_Init(&c);
	SHA1_Update(&c, data, n);
	SHA1_Final(out, &c);
}

void sh_md5(const void *data, size_t n, uint8_t out[16])
{
	MD5_CTX c;
	MD5_Init(&c);
	MD5_Update(&c, data, n);
	MD5_Final(out, &c);
}

void sh_uuid5_raw(const uint8_t ns[16], const char *name, size_t n, uint8_t out[16])
{
	uint8_t d[20];
	SHA_CTX c;
	SHA1_Init(&c);
	SHA1_Update(&c, ns, 16);
	SHA1_Update(&c, name, n);
	SHA1_Final(d, &c);
	d[6] = (uint8_t)((d[6] & 0x0f) | 0x50);
	d[8] = (uint8_t)((d[8] & 0x3f) | 0x80);
	memcpy(out, d, 16);
}

void sh_uuid_text(const uint8_t u[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[u[i] >> 4];
		out[k++] = hex[u[i] & 15];
	}
	out[k] = '\0';
}

void sh_uuid5(const uint8_t ns[16], const char *name, size_t n, char out[37])
{
	uint8_t u[16];
	sh_uuid5_raw(ns, name, n, u);
	sh_uuid_text(u, out);
}
