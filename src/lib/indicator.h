/* Indicators (IP, CIDR, domain, URL): classification and canonical form. */
#ifndef SH_INDICATOR_H
#define SH_INDICATOR_H
#include <stddef.h>

#include "lib/addr.h"
#include "lib/url.h"

enum sh_ind_type { SH_IND_IP = 1, SH_IND_CIDR = 2, SH_IND_DOMAIN = 3, SH_IND_URL = 4 };

#define SH_IND_MAX 2048 /* canonical value incl. NUL; longer URLs are SH_ETOOLONG */

struct sh_indicator {
	enum sh_ind_type type;
	/* Canonical text, the key the store uses:
	 *  IP: sh_ip_format; CIDR: sh_prefix_format (a /32 or /128 becomes an IP);
	 *  DOMAIN: sh_domain_normalise;
	 *  URL: [scheme "://"] host [":" port] rest, host canonical (IP text or normalised name,
	 *       IPv6 in brackets), scheme lowercase, default port dropped, rest as given. */
	char value[SH_IND_MAX];
	size_t value_len;
	struct sh_host host;     /* IP, DOMAIN and URL: the host */
	struct sh_prefix prefix; /* IP (full length) and CIDR */
};

/* Classifies and normalises one indicator given as text: "1.2.3.4", "10.0.0.0/8",
 * "2001:db8::1", "example.com", "http://x/y", "x.com/path", "1.2.3.4:8080/a" (a port or a
 * path makes it a URL). Surrounding ASCII whitespace is trimmed. SH_EINVAL when it is none of
 * these; SH_ETOOLONG when the canonical form would not fit. Special-purpose space is accepted
 * here (callers decide; see sh_ip_special). */
SH_MUST_CHECK int sh_indicator_parse(const char *s, size_t n, struct sh_indicator *out);

/* "ip", "cidr", "domain", "url". */
const char *sh_ind_type_name(enum sh_ind_type t);

#endif
