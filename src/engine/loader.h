/* Reads an input into memory: a local file (plain or gzip) or an http(s) URL (libcurl). */
#ifndef SH_LOADER_H
#define SH_LOADER_H
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/timefmt.h"

struct sh_blob {
	char *data;          /* NUL-terminated for convenience; len excludes the NUL */
	size_t len;
	uint64_t hash;       /* identifies the content (zlib CRC-32 and Adler-32 together) */
	int64_t mtime;       /* file mtime or HTTP Last-Modified, SH_TIME_NONE if unknown */
	char errmsg[256];    /* why loading failed */
};

/* Max bytes accepted from one input (after decompression). */
#define SH_LOAD_MAX ((size_t)4 << 30)

/* Loads path (gzip is inflated transparently) or an http:// / https:// URL. */
SH_MUST_CHECK int sh_blob_load(const char *path_or_url, struct sh_blob *out);
void sh_blob_fini(struct sh_blob *b);
/* True when s looks like an http(s) URL rather than a path. */
int sh_blob_is_url(const char *s);

#endif
