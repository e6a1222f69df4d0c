/* Indicators (IP, CIDR, domain, URL): classification and canonical form.
 *
 * Dotted quads and plain names, most feed lines, are tried first. Otherwise one scan finds
 * the first character that can only belong to a URL or CIDR (":/?#[@\"): bare tokens are
 * hosts (numeric IPv4 forms, percent-encoding), a '/' followed only by 1-3 digits after an
 * address is a CIDR, a bare IPv6 address is an IP, and everything else is parsed as a URL.
 * Nothing here allocates; plain ASCII never reaches libidn2 or libpsl. */
#include "lib/indicator.h"

#include <string.h>

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* The characters that can only appear in a URL or CIDR, as a table for the hot scan. */
static const bool url_char[256] = {
	[':'] = true, ['/'] = true, ['?'] = true, ['#'] = true,
	['['] = true, ['@'] = true, ['\\'] = true,
};

/* The host's canonical text into buf (SH_DOMAIN_MAX or more); IPv6 in brackets when
 * bracket is set. */
static size_t host_text(const struct sh_host *h, bool bracket, char *buf)
{
	if (h->type == SH_HOST_DOMAIN) {
		size_t len = strlen(h->name);
		memcpy(buf, h->name, len + 1);
		return len;
	}
	if (h->ip.af == SH_AF_V6 && bracket) {
		buf[0] = '[';
		size_t len = sh_ip_format(&h->ip, buf + 1);
		buf[len + 1] = ']';
		buf[len + 2] = '\0';
		return len + 2;
	}
	return sh_ip_format(&h->ip, buf);
}

static void set_ip(struct sh_indicator *out, const struct sh_ip *ip)
{
	out->type = SH_IND_IP;
	out->host.type = SH_HOST_IP;
	out->host.ip = *ip;
	out->host.name[0] = '\0';
	out->prefix.ip = *ip;
	out->prefix.len = ip->af == SH_AF_V4 ? 32 : 128;
	out->value_len = sh_ip_format(ip, out->value);
}

static void clear_prefix(struct sh_indicator *out)
{
	memset(&out->prefix, 0, sizeof(out->prefix));
}

/* The indicator for a parsed host alone: an IP or a domain. */
static void set_host(struct sh_indicator *out, const struct sh_host *h)
{
	if (h->type == SH_HOST_IP) {
		struct sh_ip ip = h->ip;
		set_ip(out, &ip);
		return;
	}
	out->type = SH_IND_DOMAIN;
	clear_prefix(out);
	out->value_len = strlen(h->name);
	memcpy(out->value, h->name, out->value_len + 1);
	if (h != &out->host)
		out->host = *h;
}

static void set_prefix(struct sh_indicator *out, const struct sh_prefix *p)
{
	if (p->len == (p->ip.af == SH_AF_V4 ? 32 : 128)) {
		set_ip(out, &p->ip);
		return;
	}
	out->type = SH_IND_CIDR;
	out->prefix = *p;
	out->host.type = 0;
	out->host.name[0] = '\0';
	memset(&out->host.ip, 0, sizeof(out->host.ip));
	out->value_len = sh_prefix_format(p, out->value);
}

static int parse_host_only(const char *s, size_t n, struct sh_indicator *out)
{
	int rc = sh_host_parse(s, n, &out->host);
	if (rc)
		return rc;
	set_host(out, &out->host);
	return 0;
}

/* True when s[from..n) is 1 to 3 decimal digits. */
static bool digits_tail(const char *s, size_t from, size_t n)
{
	if (from >= n || n - from > 3)
		return false;
	for (size_t i = from; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int parse_url(const char *s, size_t n, struct sh_indicator *out)
{
	struct sh_url url;
	int rc = sh_url_parse(s, n, &url);
	if (rc)
		return rc;
	char *v = out->value;
	size_t o = 0, scheme_len = strlen(url.scheme);
	/* scheme "://" host ":" port: at most 15 + 3 + 255 + 6, so only rest can overflow */
	if (scheme_len) {
		memcpy(v, url.scheme, scheme_len);
		memcpy(v + scheme_len, "://", 3);
		o = scheme_len + 3;
	}
	size_t host_at = o, host_len = host_text(&url.host, true, v + o);
	o += host_len;
	if (url.port) {
		char digits[5];
		size_t nd = 0;
		for (unsigned p = url.port; p; p /= 10)
			digits[nd++] = (char)('0' + p % 10);
		v[o++] = ':';
		while (nd)
			v[o++] = digits[--nd];
	}
	if (!scheme_len && !url.port) {
		/* Schemeless with nothing after the host ("host:") or only "/len" after an address:
		 * the canonical text reads back as a host or a CIDR, so that is what it is. */
		if (url.rest_len == 0) {
			set_host(out, &url.host);
			return 0;
		}
		struct sh_prefix p;
		if (url.host.type == SH_HOST_IP && url.rest[0] == '/' &&
		    digits_tail(url.rest, 1, url.rest_len)) {
			memcpy(v + o, url.rest, url.rest_len);
			if (sh_prefix_parse(v, o + url.rest_len, false, &p) == 0) {
				set_prefix(out, &p);
				return 0;
			}
		}
	}
	if (url.rest_len >= SH_IND_MAX - o)
		return SH_ETOOLONG;
	memcpy(v + o, url.rest, url.rest_len);
	o += url.rest_len;
	v[o] = '\0';
	out->value_len = o;
	out->type = SH_IND_URL;
	out->host.type = url.host.type;
	out->host.ip = url.host.ip;
	if (url.host.type == SH_HOST_DOMAIN) {
		memcpy(out->host.name, v + host_at, host_len);
		out->host.name[host_len] = '\0';
	} else {
		out->host.name[0] = '\0';
	}
	clear_prefix(out);
	return 0;
}

/* True when the last label of a normalised name is "0x" and hex digits: such a host is
 * an IPv4 address to the WHATWG host parser (and then an invalid one, as the name has other
 * labels that are not numbers). */
static bool ends_in_hex(const char *name, size_t len)
{
	size_t i = len;
	while (i > 0 && name[i - 1] != '.')
		i--;
	if (len - i < 2 || name[i] != '0' || name[i + 1] != 'x')
		return false;
	for (i += 2; i < len; i++) {
		char c = name[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return false;
	}
	return true;
}

int sh_indicator_parse(const char *s, size_t n, struct sh_indicator *out)
{
	while (n > 0 && is_space(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_space(s[n - 1]))
		n--;
	if (n == 0)
		return SH_EINVAL;
	/* the common shapes first: a dotted quad, then a plain name (which fails fast on the
	 * first ':', '/' or other URL character) */
	struct sh_ip ip;
	if (s[0] >= '0' && s[0] <= '9' && sh_ip_parse(s, n, &ip) == 0) {
		set_ip(out, &ip);
		return 0;
	}
	if (sh_domain_normalise(s, n, out->host.name) == 0) {
		size_t len = strlen(out->host.name);
		if (!ends_in_hex(out->host.name, len)) {
			out->type = SH_IND_DOMAIN;
			out->host.type = SH_HOST_DOMAIN;
			memset(&out->host.ip, 0, sizeof(out->host.ip));
			clear_prefix(out);
			memcpy(out->value, out->host.name, len + 1);
			out->value_len = len;
			return 0;
		}
	}
	size_t first = 0;
	while (first < n && !url_char[(unsigned char)s[first]])
		first++;
	if (first == n || (s[0] == '[' && memchr(s, ']', n) == s + n - 1))
		return parse_host_only(s, n, out);
	const char *slash = memchr(s + first, '/', n - first);
	if (slash && digits_tail(s, (size_t)(slash - s) + 1, n)) {
		struct sh_prefix p;
		if (sh_prefix_parse(s, n, false, &p) == 0) {
			set_prefix(out, &p);
			return 0;
		}
	}
	if (s[first] == ':' && !slash && sh_ip_parse(s, n, &ip) == 0) {
		set_ip(out, &ip);
		return 0;
	}
	return parse_url(s, n, out);
}

const char *sh_ind_type_name(enum sh_ind_type t)
{
	switch (t) {
	case SH_IND_IP: return "ip";
	case SH_IND_CIDR: return "cidr";
	case SH_IND_DOMAIN: return "domain";
	case SH_IND_URL: return "url";
	}
	return "unknown";
}
