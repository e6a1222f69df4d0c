/* Fuzz target for the WHATWG host parser and URL splitting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/url.h"

/* A parsed host re-parses to itself from its canonical text. */
static void check_host(const struct sh_host *h)
{
	struct sh_host again;
	char buf[SH_DOMAIN_MAX + 2];
	size_t n;
	if (h->type == SH_HOST_IP) {
		if (h->ip.af == SH_AF_V6) {
			buf[0] = '[';
			n = sh_ip_format(&h->ip, buf + 1) + 1;
			buf[n++] = ']';
		} else {
			n = sh_ip_format(&h->ip, buf);
		}
	} else if (h->type == SH_HOST_DOMAIN) {
		n = strlen(h->name);
		memcpy(buf, h->name, n);
	} else {
		abort();
	}
	if (sh_host_parse(buf, n, &again) != 0 || again.type != h->type)
		abort();
	if (h->type == SH_HOST_IP ? memcmp(&again.ip, &h->ip, sizeof(h->ip)) != 0
				  : strcmp(again.name, h->name) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct sh_host h;
	if (sh_host_parse(s, size, &h) == 0)
		check_host(&h);
	struct sh_url u;
	if (sh_url_parse(s, size, &u) == 0) {
		check_host(&u.host);
		if (u.rest < s || u.rest > s + size || u.rest + u.rest_len != s + size)
			abort();
		if (strlen(u.scheme) >= sizeof(u.scheme))
			abort();
	}
	return 0;
}
