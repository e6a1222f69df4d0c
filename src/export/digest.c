/* SHA-1 for name-based UUIDs (RFC 4122 version 5) and MD5 for MISP's hashes.csv, through
 * OpenSSL's libcrypto. Both formats mandate these digests; neither serves a security purpose
 * here (stable ids, cache keys). */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "export/export.h"

/* "sheriff" namespace for indicator and event ids: uuid5(DNS namespace, "sheriff.invalid"). */
const uint8_t sh_uuid_ns_sheriff[16] = {0xec, 0xad, 0xf9, 0x48, 0xa8, 0xbc, 0x50, 0xa7,
					0x9d, 0x3f, 0x1c, 0x56, 0x04, 0x0a, 0x37, 0x06};

enum { D_SHA1, D_MD5 };

/* One context and one fetched algorithm each per thread, reused, since exports hash millions
 * of ids (EVP_sha1() and EVP_md5() would fetch the implementation again, under a lock, on
 * every init); freed when the thread ends (exports format in threads of their own). */
struct digest_state {
	EVP_MD_CTX *ctx;
	EVP_MD *md[2];
};

static pthread_key_t state_key;
static pthread_once_t state_once = PTHREAD_ONCE_INIT;
static bool state_keyed;

static void state_free(void *p)
{
	struct digest_state *st = p;
	EVP_MD_CTX_free(st->ctx);
	EVP_MD_free(st->md[0]);
	EVP_MD_free(st->md[1]);
	free(st);
}

static void state_key_create(void)
{
	state_keyed = pthread_key_create(&state_key, state_free) == 0;
}

static struct digest_state *thread_state(void)
{
	pthread_once(&state_once, state_key_create);
	if (!state_keyed)
		return NULL;
	struct digest_state *st = pthread_getspecific(state_key);
	if (!st) {
		st = calloc(1, sizeof(*st));
		if (st && pthread_setspecific(state_key, st) != 0) {
			free(st);
			st = NULL;
		}
	}
	return st;
}

/* Digest of a then b. On a libcrypto failure the digest is all zeros: a nil id rather than a
 * wrong one. */
static void digest(int which, const void *a, size_t na, const void *b, size_t nb, uint8_t *out)
{
	struct digest_state *st = thread_state();
	size_t size = which == D_SHA1 ? 20 : 16;
	unsigned len;
	if (st && !st->ctx)
		st->ctx = EVP_MD_CTX_new();
	if (st && !st->md[which])
		st->md[which] = EVP_MD_fetch(NULL, which == D_SHA1 ? "SHA1" : "MD5", NULL);
	if (!st || !st->ctx || !st->md[which] || !EVP_DigestInit_ex2(st->ctx, st->md[which], NULL) ||
	    !EVP_DigestUpdate(st->ctx, a, na) || (nb && !EVP_DigestUpdate(st->ctx, b, nb)) ||
	    !EVP_DigestFinal_ex(st->ctx, out, &len))
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

void sh_uuid5_raw(const uint8_t ns[16], const char *name, size_t n, uint8_t out[16])
{
	uint8_t d[20];
	digest(D_SHA1, ns, 16, name, n, d);
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
