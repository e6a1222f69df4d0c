/* IPv4/IPv6 addresses and prefixes: strict parsing, RFC 5952 text, ranges, special space.
 *
 * Addresses are handled as 128-bit unsigned integers for range arithmetic (IPv4 uses the
 * low 32 bits). The special-purpose tables follow the IANA IPv4 and IPv6 Special-Purpose
 * Address Registries (RFC 6890 and its updates) plus multicast, keeping the entries that are
 * not globally reachable or not routed at all; more specific blocks come first so the name
 * returned is the most specific one. */
#include "lib/addr.h"

#include <string.h>

__extension__ typedef unsigned __int128 u128;

static int dec_val(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : -1;
}

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

/* Strict dotted quad: four decimal parts 0..255, no leading zeros, nothing else. */
static int parse_v4(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;
	for (int part = 0; part < 4; part++) {
		if (part > 0) {
			if (i >= n || s[i] != '.')
				return SH_EINVAL;
			i++;
		}
		size_t start = i;
		unsigned v = 0;
		while (i < n && i - start < 4 && dec_val(s[i]) >= 0)
			v = v * 10 + (unsigned)dec_val(s[i++]);
		size_t len = i - start;
		if (len == 0 || len > 3 || v > 255 || (len > 1 && s[start] == '0'))
			return SH_EINVAL;
		out[part] = (uint8_t)v;
	}
	return i == n ? 0 : SH_EINVAL;
}

/* RFC 4291 section 2.2 text forms, including "::" and a trailing dotted quad. */
static int parse_v6(const char *s, size_t n, uint8_t out[16])
{
	uint16_t w[8];
	int nw = 0, gap = -1;
	size_t i = 0;
	if (n < 2)
		return SH_EINVAL;
	if (s[0] == ':') {
		if (s[1] != ':')
			return SH_EINVAL;
		gap = 0;
		i = 2;
	}
	while (i < n) {
		size_t start = i;
		unsigned v = 0;
		while (i < n && i - start < 5 && hex_val(s[i]) >= 0)
			v = v * 16 + (unsigned)hex_val(s[i++]);
		if (i < n && s[i] == '.') {
			uint8_t b4[4];
			if (nw > 6 || (gap < 0 && nw != 6) || parse_v4(s + start, n - start, b4))
				return SH_EINVAL;
			w[nw++] = (uint16_t)(b4[0] << 8 | b4[1]);
			w[nw++] = (uint16_t)(b4[2] << 8 | b4[3]);
			i = n;
			break;
		}
		size_t nd = i - start;
		if (nd == 0 || nd > 4 || nw == 8)
			return SH_EINVAL;
		w[nw++] = (uint16_t)v;
		if (i == n)
			break;
		if (s[i] != ':')
			return SH_EINVAL;
		i++;
		if (i < n && s[i] == ':') {
			if (gap >= 0)
				return SH_EINVAL;
			gap = nw;
			i++;
		} else if (i == n) {
			return SH_EINVAL;
		}
	}
	if (gap < 0 ? nw != 8 : nw > 7)
		return SH_EINVAL;
	memset(out, 0, 16);
	int tail = gap < 0 ? 0 : nw - gap;
	int head = nw - tail;
	for (int k = 0; k < head; k++) {
		out[2 * k] = (uint8_t)(w[k] >> 8);
		out[2 * k + 1] = (uint8_t)w[k];
	}
	for (int k = 0; k < tail; k++) {
		int pos = 8 - tail + k;
		out[2 * pos] = (uint8_t)(w[head + k] >> 8);
		out[2 * pos + 1] = (uint8_t)w[head + k];
	}
	return 0;
}

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static bool is_mapped(const uint8_t b[16])
{
	return memcmp(b, mapped_prefix, 12) == 0;
}

static void fold_mapped(struct sh_ip *ip)
{
	uint8_t v4[4];
	memcpy(v4, ip->b + 12, 4);
	memset(ip->b, 0, 16);
	memcpy(ip->b, v4, 4);
	ip->af = SH_AF_V4;
}

/* Parses without folding mapped addresses; the caller decides. */
static int parse_any(const char *s, size_t n, struct sh_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (memchr(s, ':', n)) {
		out->af = SH_AF_V6;
		return parse_v6(s, n, out->b);
	}
	out->af = SH_AF_V4;
	return parse_v4(s, n, out->b);
}

int sh_ip_parse(const char *s, size_t n, struct sh_ip *out)
{
	struct sh_ip ip;
	int rc = parse_any(s, n, &ip);
	if (rc)
		return rc;
	if (ip.af == SH_AF_V6 && is_mapped(ip.b))
		fold_mapped(&ip);
	*out = ip;
	return 0;
}

static unsigned max_len(const struct sh_ip *ip)
{
	return ip->af == SH_AF_V4 ? 32 : 128;
}

/* Clears every bit from position len on; returns true when any was set. */
static bool mask_host_bits(uint8_t b[16], unsigned len)
{
	bool had = false;
	for (unsigned k = 0; k < 16; k++) {
		uint8_t keep;
		if (len >= 8 * (k + 1))
			keep = 0xff;
		else if (len <= 8 * k)
			keep = 0;
		else
			keep = (uint8_t)(0xff00u >> (len - 8 * k));
		had |= (b[k] & (uint8_t)~keep) != 0;
		b[k] &= keep;
	}
	return had;
}

int sh_prefix_parse(const char *s, size_t n, bool strict, struct sh_prefix *out)
{
	const char *slash = memchr(s, '/', n);
	size_t alen = slash ? (size_t)(slash - s) : n;
	struct sh_ip ip;
	int rc = parse_any(s, alen, &ip);
	if (rc)
		return rc;
	unsigned len = max_len(&ip);
	if (slash) {
		size_t i = alen + 1;
		if (i == n || n - i > 3)
			return SH_EINVAL;
		len = 0;
		for (; i < n; i++) {
			if (dec_val(s[i]) < 0)
				return SH_EINVAL;
			len = len * 10 + (unsigned)dec_val(s[i]);
		}
		if (len > max_len(&ip))
			return SH_EINVAL;
	}
	if (mask_host_bits(ip.b, len) && strict)
		return SH_EINVAL;
	if (ip.af == SH_AF_V6 && len >= 96 && is_mapped(ip.b)) {
		fold_mapped(&ip);
		len -= 96;
	}
	out->ip = ip;
	out->len = (uint8_t)len;
	return 0;
}

static size_t format_v4(const uint8_t b[4], char *buf)
{
	size_t o = 0;
	for (int k = 0; k < 4; k++) {
		unsigned v = b[k];
		if (k)
			buf[o++] = '.';
		if (v >= 100)
			buf[o++] = (char)('0' + v / 100);
		if (v >= 10)
			buf[o++] = (char)('0' + v / 10 % 10);
		buf[o++] = (char)('0' + v % 10);
	}
	buf[o] = '\0';
	return o;
}

/* RFC 5952: lowercase, no leading zeros, the longest run (first on a tie) of two or more
 * zero groups becomes "::". */
static size_t format_v6(const uint8_t b[16], char *buf)
{
	static const char hexd[] = "0123456789abcdef";
	unsigned w[8];
	for (int k = 0; k < 8; k++)
		w[k] = (unsigned)b[2 * k] << 8 | b[2 * k + 1];
	int best = -1, best_len = 1;
	for (int k = 0; k < 8;) {
		if (w[k]) {
			k++;
			continue;
		}
		int e = k;
		while (e < 8 && !w[e])
			e++;
		if (e - k > best_len) {
			best = k;
			best_len = e - k;
		}
		k = e;
	}
	size_t o = 0;
	for (int k = 0; k < 8; k++) {
		if (k == best) {
			buf[o++] = ':';
			buf[o++] = ':';
			k += best_len - 1;
			continue;
		}
		if (k && k != best + best_len)
			buf[o++] = ':';
		bool started = false;
		for (int shift = 12; shift >= 0; shift -= 4) {
			unsigned d = (w[k] >> shift) & 0xf;
			if (d || started || shift == 0) {
				buf[o++] = hexd[d];
				started = true;
			}
		}
	}
	buf[o] = '\0';
	return o;
}

size_t sh_ip_format(const struct sh_ip *ip, char buf[SH_IP_STRLEN])
{
	return ip->af == SH_AF_V4 ? format_v4(ip->b, buf) : format_v6(ip->b, buf);
}

size_t sh_prefix_format(const struct sh_prefix *p, char buf[SH_PREFIX_STRLEN])
{
	size_t o = sh_ip_format(&p->ip, buf);
	unsigned len = p->len;
	buf[o++] = '/';
	if (len >= 100)
		buf[o++] = (char)('0' + len / 100);
	if (len >= 10)
		buf[o++] = (char)('0' + len / 10 % 10);
	buf[o++] = (char)('0' + len % 10);
	buf[o] = '\0';
	return o;
}

int sh_ip_cmp(const struct sh_ip *a, const struct sh_ip *b)
{
	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	int c = memcmp(a->b, b->b, a->af == SH_AF_V4 ? 4 : 16);
	return c < 0 ? -1 : c > 0;
}

/* True when the first len bits of a and b agree. */
static bool same_bits(const uint8_t *a, const uint8_t *b, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(a, b, full) != 0)
		return false;
	if (!rest)
		return true;
	uint8_t m = (uint8_t)(0xff00u >> rest);
	return ((a[full] ^ b[full]) & m) == 0;
}

bool sh_prefix_contains(const struct sh_prefix *p, const struct sh_ip *ip)
{
	return p->ip.af == ip->af && p->len <= max_len(ip) && same_bits(p->ip.b, ip->b, p->len);
}

void sh_prefix_from_ip(const struct sh_ip *ip, unsigned len, struct sh_prefix *out)
{
	if (len > max_len(ip))
		len = max_len(ip);
	out->ip = *ip;
	mask_host_bits(out->ip.b, len);
	out->len = (uint8_t)len;
}

void sh_prefix_last(const struct sh_prefix *p, struct sh_ip *out)
{
	*out = p->ip;
	unsigned bytes = p->ip.af == SH_AF_V4 ? 4 : 16;
	for (unsigned k = 0; k < bytes; k++) {
		if (p->len >= 8 * (k + 1))
			continue;
		if (p->len <= 8 * k)
			out->b[k] = 0xff;
		else
			out->b[k] |= (uint8_t)(0xffu >> (p->len - 8 * k));
	}
}

struct special_block {
	uint8_t af, len;
	uint8_t b[16];
	const char *name;
};

#define V4(a, b_, c, d) {a, b_, c, d}
#define V6(w0, w1, w2, w3) \
	{(w0) >> 8, (w0) & 0xff, (w1) >> 8, (w1) & 0xff, (w2) >> 8, (w2) & 0xff, (w3) >> 8, (w3) & 0xff}

static const struct special_block special_blocks[] = {
	{SH_AF_V4, 32, V4(0, 0, 0, 0), "this-host"},
	{SH_AF_V4, 8, V4(0, 0, 0, 0), "this-network"},
	{SH_AF_V4, 8, V4(10, 0, 0, 0), "private-use"},
	{SH_AF_V4, 10, V4(100, 64, 0, 0), "shared-address-space"},
	{SH_AF_V4, 8, V4(127, 0, 0, 0), "loopback"},
	{SH_AF_V4, 16, V4(169, 254, 0, 0), "link-local"},
	{SH_AF_V4, 12, V4(172, 16, 0, 0), "private-use"},
	{SH_AF_V4, 24, V4(192, 0, 0, 0), "ietf-protocol-assignments"},
	{SH_AF_V4, 24, V4(192, 0, 2, 0), "documentation"},
	{SH_AF_V4, 24, V4(192, 88, 99, 0), "6to4-relay-anycast"},
	{SH_AF_V4, 16, V4(192, 168, 0, 0), "private-use"},
	{SH_AF_V4, 15, V4(198, 18, 0, 0), "benchmarking"},
	{SH_AF_V4, 24, V4(198, 51, 100, 0), "documentation"},
	{SH_AF_V4, 24, V4(203, 0, 113, 0), "documentation"},
	{SH_AF_V4, 4, V4(224, 0, 0, 0), "multicast"},
	{SH_AF_V4, 32, V4(255, 255, 255, 255), "limited-broadcast"},
	{SH_AF_V4, 4, V4(240, 0, 0, 0), "reserved"},

	{SH_AF_V6, 128, V6(0, 0, 0, 0), "unspecified"},
	{SH_AF_V6, 128, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "loopback"},
	/* deprecated IPv4-compatible addresses (RFC 4291 2.5.5.1): never routed */
	{SH_AF_V6, 96, V6(0, 0, 0, 0), "ipv4-compatible"},
	{SH_AF_V6, 96, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, "ipv4-mapped"},
	{SH_AF_V6, 96, V6(0x64, 0xff9b, 0, 0), "ipv4-ipv6-translation"},
	{SH_AF_V6, 48, V6(0x64, 0xff9b, 1, 0), "local-use-translation"},
	{SH_AF_V6, 64, V6(0x100, 0, 0, 0), "discard-only"},
	{SH_AF_V6, 64, V6(0x100, 0, 0, 1), "dummy-prefix"},
	/* inside the IETF protocol assignments block 2001::/23 only these entries; the anycast
	 * service addresses (PCP, TURN, AMT, AS112) are globally reachable and stay out */
	{SH_AF_V6, 32, V6(0x2001, 0, 0, 0), "teredo"},
	{SH_AF_V6, 48, V6(0x2001, 2, 0, 0), "benchmarking"},
	{SH_AF_V6, 28, V6(0x2001, 0x10, 0, 0), "orchid"},
	/* ORCHIDv2 and DRIP DETs are identifiers that RFC 7343 / RFC 9374 keep out of routing */
	{SH_AF_V6, 28, V6(0x2001, 0x20, 0, 0), "orchid-v2"},
	{SH_AF_V6, 28, V6(0x2001, 0x30, 0, 0), "drip-det"},
	{SH_AF_V6, 32, V6(0x2001, 0xdb8, 0, 0), "documentation"},
	{SH_AF_V6, 16, V6(0x2002, 0, 0, 0), "6to4"},
	{SH_AF_V6, 20, V6(0x3fff, 0, 0, 0), "documentation"},
	{SH_AF_V6, 16, V6(0x5f00, 0, 0, 0), "segment-routing-sid"},
	{SH_AF_V6, 7, V6(0xfc00, 0, 0, 0), "unique-local"},
	{SH_AF_V6, 10, V6(0xfe80, 0, 0, 0), "link-local"},
	{SH_AF_V6, 8, V6(0xff00, 0, 0, 0), "multicast"},
};

#define N_SPECIAL (sizeof(special_blocks) / sizeof(special_blocks[0]))

const char *sh_ip_special(const struct sh_ip *ip)
{
	for (size_t k = 0; k < N_SPECIAL; k++) {
		const struct special_block *s = &special_blocks[k];
		if (s->af == ip->af && same_bits(s->b, ip->b, s->len))
			return s->name;
	}
	return NULL;
}

const char *sh_prefix_special(const struct sh_prefix *p)
{
	const char *inside = sh_ip_special(&p->ip);
	for (size_t k = 0; inside && k < N_SPECIAL; k++) {
		const struct special_block *s = &special_blocks[k];
		if (s->af == p->ip.af && s->len <= p->len && same_bits(s->b, p->ip.b, s->len))
			return s->name;
	}
	for (size_t k = 0; k < N_SPECIAL; k++) {
		const struct special_block *s = &special_blocks[k];
		if (s->af == p->ip.af && p->len < s->len && same_bits(s->b, p->ip.b, p->len))
			return s->name;
	}
	return NULL;
}

static u128 ip_to_u128(const struct sh_ip *ip)
{
	u128 v = 0;
	unsigned bytes = ip->af == SH_AF_V4 ? 4 : 16;
	for (unsigned k = 0; k < bytes; k++)
		v = v << 8 | ip->b[k];
	return v;
}

static void u128_to_ip(u128 v, uint8_t af, struct sh_ip *ip)
{
	memset(ip, 0, sizeof(*ip));
	ip->af = af;
	unsigned bytes = af == SH_AF_V4 ? 4 : 16;
	for (unsigned k = bytes; k-- > 0;) {
		ip->b[k] = (uint8_t)v;
		v >>= 8;
	}
}

static u128 low_mask(unsigned k)
{
	return k >= 128 ? ~(u128)0 : ((u128)1 << k) - 1;
}

int sh_range_to_prefixes(const struct sh_ip *first, const struct sh_ip *last, sh_prefix_cb cb,
			 void *arg)
{
	if (first->af != last->af || (first->af != SH_AF_V4 && first->af != SH_AF_V6) ||
	    sh_ip_cmp(first, last) > 0)
		return SH_EINVAL;
	unsigned bits = max_len(first);
	u128 cur = ip_to_u128(first), end = ip_to_u128(last);
	for (;;) {
		/* the largest aligned block that starts at cur and ends at or before end */
		unsigned k = 0;
		while (k < bits && !((cur >> k) & 1))
			k++;
		while (low_mask(k) > end - cur)
			k--;
		struct sh_prefix p;
		u128_to_ip(cur, first->af, &p.ip);
		p.len = (uint8_t)(bits - k);
		int rc = cb(&p, arg);
		if (rc)
			return rc;
		u128 block_end = cur + low_mask(k);
		if (block_end == end)
			return 0;
		cur = block_end + 1;
	}
}
