/* URL and host parsing after the WHATWG URL standard's host rules (numeric IPv4 forms too). */
#ifndef SH_URL_H
#define SH_URL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/addr.h"
#include "lib/domain.h"

enum sh_host_type { SH_HOST_DOMAIN = 1, SH_HOST_IP = 2 };

struct sh_host {
	enum sh_host_type type;
	struct sh_ip ip;         /* SH_HOST_IP */
	char name[SH_DOMAIN_MAX]; /* SH_HOST_DOMAIN: normalised (sh_domain_normalise) */
};

/* A host as the WHATWG "host parser" reads it: "[v6]", an IPv4 in any numeric form the
 * standard accepts (0x7f.1, 2130706433, 0177.0.0.1), or a domain (percent-decoded, then
 * sh_domain_normalise). SH_EINVAL otherwise. */
SH_MUST_CHECK int sh_host_parse(const char *s, size_t n, struct sh_host *out);

struct sh_url {
	char scheme[16];    /* lowercase, "" when the input had none ("host/path" lines) */
	struct sh_host host;
	uint16_t port;      /* 0 when absent or the scheme's default */
	const char *rest;   /* path, query and fragment as given, points into the input */
	size_t rest_len;
};

/* "scheme://[userinfo@]host[:port][/path][?q][#f]" or schemeless "host[:port]/path".
 * Surrounding whitespace is not accepted; userinfo is dropped. */
SH_MUST_CHECK int sh_url_parse(const char *s, size_t n, struct sh_url *out);

#endif
