/* URL and host parsing after the WHATWG URL standard's host rules (numeric IPv4 forms too).
 *
 * The host parser follows the standard's order: "[...]" is an IPv6 literal; otherwise the
 * host is percent-decoded and mapped to ASCII (IDNA for non-ASCII), and if its last label
 * "ends in a number" (all digits, or 0x and hex digits) it must be an IPv4 address in one of
 * the numeric forms (hex, octal, decimal parts, the last part filling the remaining bytes),
 * else it is a domain name and gets our own LDH check. Every scheme is parsed like a special
 * one (http, https, ftp, ws, wss): feeds carry hosts, not opaque paths. */
#include "lib/url.h"

#include <stdint.h>
#include <string.h>

/* a host longer than this cannot map to a 253-octet name */
#define HOST_INPUT_MAX 4096

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* The standard's "IPv4 number parser". Values above 2^32 saturate so that they still fail
 * the range checks without overflowing. */
static int ipv4_number(const char *s, size_t n, uint64_t *out)
{
	if (n == 0)
		return SH_EINVAL;
	unsigned radix = 10;
	if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		radix = 16;
		s += 2;
		n -= 2;
	} else if (n >= 2 && s[0] == '0') {
		radix = 8;
		s++;
		n--;
	}
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		int d = hex_val(s[i]);
		if (d < 0 || (unsigned)d >= radix)
			return SH_EINVAL;
		v = v * radix + (unsigned)d;
		if (v > UINT32_MAX)
			v = (uint64_t)UINT32_MAX + 1;
	}
	*out = v;
	return 0;
}

/* The standard's "ends in a number checker". */
static bool ends_in_number(const char *s, size_t n)
{
	if (n > 0 && s[n - 1] == '.')
		n--;
	size_t start = n;
	while (start > 0 && s[start - 1] != '.')
		start--;
	const char *last = s + start;
	size_t len = n - start;
	if (len == 0)
		return false;
	size_t i = 0;
	while (i < len && is_digit(last[i]))
		i++;
	if (i == len)
		return true;
	if (len < 2 || last[0] != '0' || (last[1] != 'x' && last[1] != 'X'))
		return false;
	for (i = 2; i < len; i++)
		if (hex_val(last[i]) < 0)
			return false;
	return true;
}

/* The standard's "IPv4 parser" (validation errors are not failures). */
static int ipv4_parse(const char *s, size_t n, struct sh_ip *out)
{
	if (n > 1 && s[n - 1] == '.')
		n--;
	uint64_t parts[4];
	size_t count = 0, start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (count == 4 || ipv4_number(s + start, i - start, &parts[count]))
			return SH_EINVAL;
		count++;
		start = i + 1;
	}
	for (size_t k = 0; k + 1 < count; k++)
		if (parts[k] > 255)
			return SH_EINVAL;
	uint64_t last = parts[count - 1];
	if (last >= (uint64_t)1 << (8 * (5 - count)))
		return SH_EINVAL;
	uint64_t v = last;
	for (size_t k = 0; k + 1 < count; k++)
		v += parts[k] << (8 * (3 - k));
	memset(out, 0, sizeof(*out));
	out->af = SH_AF_V4;
	out->b[0] = (uint8_t)(v >> 24);
	out->b[1] = (uint8_t)(v >> 16);
	out->b[2] = (uint8_t)(v >> 8);
	out->b[3] = (uint8_t)v;
	return 0;
}

/* Percent-decodes s into buf (at least n bytes); a '%' without two hex digits stays. */
static size_t percent_decode(const char *s, size_t n, char *buf)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hex_val(s[i + 1]) >= 0 && hex_val(s[i + 2]) >= 0) {
			buf[o++] = (char)(hex_val(s[i + 1]) << 4 | hex_val(s[i + 2]));
			i += 2;
		} else {
			buf[o++] = s[i];
		}
	}
	return o;
}

/* sh_host_parse; has_pct tells whether s holds a '%' (the URL parser knows already). */
static int host_parse(const char *s, size_t n, bool has_pct, struct sh_host *out)
{
	if (n == 0 || n > HOST_INPUT_MAX)
		return SH_EINVAL;
	if (s[0] == '[') {
		if (n < 4 || s[n - 1] != ']' || !memchr(s + 1, ':', n - 2))
			return SH_EINVAL;
		out->type = SH_HOST_IP;
		out->name[0] = '\0';
		return sh_ip_parse(s + 1, n - 2, &out->ip);
	}
	char decoded[HOST_INPUT_MAX];
	if (has_pct) {
		n = percent_decode(s, n, decoded);
		s = decoded;
	}
	/* Only a last label with non-ASCII bytes can turn into a number through IDNA mapping
	 * (full-width digits and full stops); every other name is decided on the raw bytes. */
	size_t last = n > 0 && s[n - 1] == '.' ? n - 1 : n;
	while (last > 0 && s[last - 1] != '.' && (unsigned char)s[last - 1] < 0x80)
		last--;
	bool ascii_tail = last == 0 || s[last - 1] == '.';
	char mapped[SH_DOMAIN_MAX];
	if (!ascii_tail || ends_in_number(s, n)) {
		bool ascii = true;
		for (size_t i = 0; i < n && ascii; i++)
			ascii = (unsigned char)s[i] < 0x80;
		if (!ascii) {
			size_t len;
			int rc = sh_domain_to_ascii(s, n, mapped, &len);
			if (rc)
				return rc;
			s = mapped;
			n = len;
		}
		if (ends_in_number(s, n)) {
			out->type = SH_HOST_IP;
			out->name[0] = '\0';
			return ipv4_parse(s, n, &out->ip);
		}
	}
	out->type = SH_HOST_DOMAIN;
	memset(&out->ip, 0, sizeof(out->ip));
	return sh_domain_normalise(s, n, out->name);
}

int sh_host_parse(const char *s, size_t n, struct sh_host *out)
{
	return host_parse(s, n, memchr(s, '%', n) != NULL, out);
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_scheme_char(char c)
{
	return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
}

struct special_scheme {
	const char *name;
	uint16_t port;
};

static const struct special_scheme special_schemes[] = {
	{"http", 80}, {"https", 443}, {"ftp", 21}, {"ws", 80}, {"wss", 443},
};

static const struct special_scheme *find_special(const char *scheme)
{
	for (size_t k = 0; k < sizeof(special_schemes) / sizeof(special_schemes[0]); k++)
		if (strcmp(scheme, special_schemes[k].name) == 0)
			return &special_schemes[k];
	return NULL;
}

/* Reads "scheme:" at the start of s. Special schemes may be followed by any number of
 * slashes or backslashes (as browsers accept "http:\\x" and "http:/x"); others need "//".
 * Returns the offset of the authority, or 0 when s has no scheme (a schemeless line such as
 * "example.com:8080/x" looks like a scheme "example.com" without "//"); then *plain is how
 * far s holds only scheme characters, none of which the authority scan looks for. SIZE_MAX
 * for "scheme://" with a scheme too long to keep. */
static size_t parse_scheme(const char *s, size_t n, struct sh_url *out,
			   const struct special_scheme **special, size_t *plain)
{
	size_t i = 0;
	*plain = 0;
	if (!is_alpha(s[0]))
		return 0;
	while (i < n && is_scheme_char(s[i]))
		i++;
	*plain = i;
	if (i == n || s[i] != ':')
		return 0;
	if (i >= sizeof(out->scheme))
		return n - i >= 3 && s[i + 1] == '/' && s[i + 2] == '/' ? SIZE_MAX : 0;
	char scheme[sizeof(out->scheme)];
	for (size_t k = 0; k < i; k++)
		scheme[k] = is_alpha(s[k]) ? (char)(s[k] | 0x20) : s[k];
	scheme[i] = '\0';
	const struct special_scheme *sp = find_special(scheme);
	size_t p = i + 1;
	if (sp) {
		while (p < n && (s[p] == '/' || s[p] == '\\'))
			p++;
	} else {
		if (n - p < 2 || s[p] != '/' || s[p + 1] != '/')
			return 0;
		p += 2;
	}
	memcpy(out->scheme, scheme, i + 1);
	*special = sp;
	return p;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* True when s holds a C0 control byte or DEL. Paths are most of a URL line, so this looks at
 * eight bytes at a time: a byte below 0x20 or a zero byte of x ^ 0x7f... sets its high bit
 * in the classic "has less than" bit trick (exact for the any-byte question asked here). */
static bool has_control(const char *s, size_t n)
{
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t x;
		memcpy(&x, s + i, 8);
		uint64_t del = x ^ (ONES * 0x7f);
		if (((x - ONES * 0x20) & ~x & HIGHS) | ((del - ONES) & ~del & HIGHS))
			return true;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return true;
	}
	return false;
}

enum { AUTH_END = 1, AUTH_AT, AUTH_COLON, AUTH_PCT };

/* What the authority scan stops at or notes; '\\' ends it as in special URLs. */
static const uint8_t auth_class[256] = {
	['/'] = AUTH_END, ['?'] = AUTH_END, ['#'] = AUTH_END, ['\\'] = AUTH_END,
	['@'] = AUTH_AT, [':'] = AUTH_COLON, ['%'] = AUTH_PCT,
};

int sh_url_parse(const char *s, size_t n, struct sh_url *out)
{
	if (n == 0 || s[n - 1] == ' ')
		return SH_EINVAL;
	out->scheme[0] = '\0';
	out->port = 0;
	const struct special_scheme *special = NULL;
	size_t plain;
	size_t p = parse_scheme(s, n, out, &special, &plain);
	if (p == SIZE_MAX)
		return SH_EINVAL;
	bool schemeless = out->scheme[0] == '\0';
	/* one pass over the authority: its end, the last '@', the first ':' after it, any '%' */
	size_t end = schemeless ? plain : p, colon = SIZE_MAX;
	bool at = false, pct = false;
	for (; end < n; end++) {
		uint8_t k = auth_class[(unsigned char)s[end]];
		if (!k)
			continue;
		if (k == AUTH_END)
			break;
		if (k == AUTH_AT) {
			at = true;
			p = end + 1;
			colon = SIZE_MAX;
			pct = false;
		} else if (k == AUTH_COLON) {
			if (colon == SIZE_MAX)
				colon = end;
		} else {
			pct = true;
		}
	}
	if (at && schemeless)
		return SH_EINVAL;
	size_t host_end = colon == SIZE_MAX ? end : colon;
	if (p < end && s[p] == '[') {
		const char *rb = memchr(s + p, ']', end - p);
		if (!rb)
			return SH_EINVAL;
		host_end = (size_t)(rb - s) + 1;
		if (host_end < end && s[host_end] != ':')
			return SH_EINVAL;
	}
	if (host_end == p)
		return SH_EINVAL;
	if (host_end < end) {
		uint32_t port = 0;
		for (size_t i = host_end + 1; i < end; i++) {
			if (!is_digit(s[i]))
				return SH_EINVAL;
			port = port * 10 + (uint32_t)(s[i] - '0');
			if (port > 65535)
				return SH_EINVAL;
		}
		out->port = special && special->port == port ? 0 : (uint16_t)port;
	}
	if (has_control(s + end, n - end))
		return SH_EINVAL;
	int rc = host_parse(s + p, host_end - p, pct, &out->host);
	if (rc)
		return rc;
	out->rest = s + end;
	out->rest_len = n - end;
	return 0;
}
