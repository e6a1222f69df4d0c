/* Input loading: zlib's gzread reads plain and gzip files alike; libcurl fetches URLs. */
#include "engine/loader.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

static int grow(struct sh_blob *b, size_t *cap, size_t need)
{
	if (need > SH_LOAD_MAX)
		return SH_ETOOLONG;
	if (need + 1 <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 65536;
	while (ncap < need + 1)
		ncap *= 2;
	char *p = realloc(b->data, ncap);
	if (!p)
		return SH_ENOMEM;
	b->data = p;
	*cap = ncap;
	return 0;
}

static void finish(struct sh_blob *b)
{
	b->data[b->len] = '\0';
	uLong crc = crc32_z(0L, (const Bytef *)b->data, b->len);
	uLong adl = adler32_z(1L, (const Bytef *)b->data, b->len);
	b->hash = ((uint64_t)(crc & 0xffffffffu) << 32) | (adl & 0xffffffffu);
}

static int load_file(const char *path, struct sh_blob *b)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		snprintf(b->errmsg, sizeof(b->errmsg), "%s", strerror(errno));
		return SH_EIO;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(b->errmsg, sizeof(b->errmsg), "is a directory");
		return SH_EIO;
	}
	b->mtime = st.st_mtime;
	gzFile gz = gzopen(path, "rb");
	if (!gz) {
		snprintf(b->errmsg, sizeof(b->errmsg), "%s", strerror(errno ? errno : ENOMEM));
		return SH_EIO;
	}
	gzbuffer(gz, 1 << 17);
	size_t cap = 0;
	int rc = grow(b, &cap, st.st_size > 0 ? (size_t)st.st_size : 0);
	while (rc == 0) {
		if (cap - b->len < 65536 + 1 && (rc = grow(b, &cap, b->len + 65536)) != 0)
			break;
		size_t want = cap - b->len - 1;
		if (want > (1u << 30))
			want = 1u << 30;
		int n = gzread(gz, b->data + b->len, (unsigned)want);
		if (n < 0) {
			int zerr;
			snprintf(b->errmsg, sizeof(b->errmsg), "%s", gzerror(gz, &zerr));
			rc = SH_EIO;
			break;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
	}
	gzclose(gz);
	if (rc == SH_ETOOLONG)
		snprintf(b->errmsg, sizeof(b->errmsg), "larger than %zu bytes", SH_LOAD_MAX);
	else if (rc == SH_ENOMEM)
		snprintf(b->errmsg, sizeof(b->errmsg), "out of memory");
	if (rc == 0 && (rc = grow(b, &cap, b->len)) == 0)
		finish(b);
	return rc;
}

struct fetch {
	struct sh_blob *b;
	size_t cap;
	int rc;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetch *f = arg;
	size_t n = size * nmemb;
	if (f->b->len > SIZE_MAX - n || (f->rc = grow(f->b, &f->cap, f->b->len + n)) != 0)
		return 0;
	memcpy(f->b->data + f->b->len, ptr, n);
	f->b->len += n;
	return n;
}

static int load_url(const char *url, struct sh_blob *b)
{
	static int inited;
	if (!inited) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			return SH_ENOMEM;
		inited = 1;
	}
	CURL *c = curl_easy_init();
	if (!c)
		return SH_ENOMEM;
	struct fetch f = {.b = b};
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 600L);
	curl_easy_setopt(c, CURLOPT_FILETIME, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sheriff/0.1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &f);
	CURLcode cc = curl_easy_perform(c);
	int rc = 0;
	if (cc != CURLE_OK) {
		snprintf(b->errmsg, sizeof(b->errmsg), "%s", f.rc ? sh_strerror(f.rc) : curl_easy_strerror(cc));
		rc = f.rc ? f.rc : SH_EIO;
	} else {
		curl_off_t ft = -1;
		if (curl_easy_getinfo(c, CURLINFO_FILETIME_T, &ft) == CURLE_OK && ft >= 0)
			b->mtime = (int64_t)ft;
		if ((rc = grow(b, &f.cap, b->len)) == 0)
			finish(b);
	}
	curl_easy_cleanup(c);
	return rc;
}

int sh_blob_is_url(const char *s)
{
	return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

int sh_blob_load(const char *path_or_url, struct sh_blob *out)
{
	memset(out, 0, sizeof(*out));
	out->mtime = SH_TIME_NONE;
	int rc = sh_blob_is_url(path_or_url) ? load_url(path_or_url, out) : load_file(path_or_url, out);
	if (rc != 0) {
		free(out->data);
		out->data = NULL;
		out->len = 0;
	}
	return rc;
}

void sh_blob_fini(struct sh_blob *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
}
