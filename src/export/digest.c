/* SHA-1 for name-based UUIDs (RFC 4122 version 5) and MD5 for MISP's hashes.csv, through
 * OpenSSL's libcrypto. Both formats mandate these digests; neither serves a security purpose
 * here (stable ids, cache keys). */
#include <openssl/evp.h>
#include <string.h>

#include "export/export.h"

/* "sheriff" namespace for indicator and event ids: uuid5(DNS namespace, "sheriff.invalid"). */
const uint8_t sh_uuid_ns_sheriff[16] = {0xec, 0xad, 0xf9, 0x48, 0xa8, 0xbc, 0x50, 0xa7,
					0x9d, 0x3f, 0x1c, 0x56, 0x04, 0x0a, 0x37, 0x06};

enum { D_SHA1, D_MD5 };

/* Digest of a then b; one context and one fetched algorithm per thread, reused, since exports
 * hash millions of ids (EVP_sha1() and EVP_md5() would fetch the implementation again, under
 * a lock, on every init). On a libcrypto failure the digest is all zeros: a nil id rather than
 * a wrong one. */
static void digest(int which, const void *a, size_t na, const void *b, size_t nb, uint8_t *out)
{
	static _Thread_local EVP_MD_CTX *ctx;
	static _Thread_local EVP_MD *md[2];
	size_t size = which == D_SHA1 ? 20 : 16;
	unsigned len;
	if (!ctx)
		ctx = EVP_MD_CTX_new();
	if (!md[which])
		md[which] = EVP_MD_fetch(NULL, which == D_SHA1 ? "SHA1" : "MD5", NULL);
	if (!ctx || !md[which] || !EVP_DigestInit_ex2(ctx, md[which], NULL) ||
	    !EVP_DigestUpdate(ctx, a, na) || (nb && !EVP_DigestUpdate(ctx, b, nb)) ||
	    !EVP_DigestFinal_ex(ctx, out, &len))
		memset(out, 0, size);
}

void sh_sha1(const void *data, size_t n, uint8_t out[20])
{
	digest(D_SHA1, data, n, NULL, 0, out);
}

void sh_md5(const void *data, size_t n, uint8_t out[16])
{
	digest(D_MD5, data, n, NULL, 0, out);
}

void sh_uuid5(const uint8_t ns[16], const char *name, size_t n, char out[37])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t d[20];
	digest(D_SHA1, ns, 16, name, n, d);
	d[6] = (uint8_t)((d[6] & 0x0f) | 0x50);
	d[8] = (uint8_t)((d[8] & 0x3f) | 0x80);
	size_t k = 0;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[k++] = '-';
		out[k++] = hex[d[i] >> 4];
		out[k++] = hex[d[i] & 15];
	}
	out[k] = '\0';
}
