/* IPv4/IPv6 addresses and prefixes: parsing, formatting, ranges, RFC 6890 special-purpose space. */
#ifndef SH_ADDR_H
#define SH_ADDR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

enum { SH_AF_V4 = 4, SH_AF_V6 = 6 };

/* An address; IPv4 lives in b[0..3] (network order) and the rest of b is zero. */
struct sh_ip {
	uint8_t af;
	uint8_t b[16];
};

/* A prefix; host bits are always zero. */
struct sh_prefix {
	struct sh_ip ip;
	uint8_t len;
};

#define SH_IP_STRLEN 46     /* incl. NUL */
#define SH_PREFIX_STRLEN 50 /* incl. NUL */

/* Strict text forms: dotted quad (no leading zeros, no short forms) or RFC 4291 IPv6
 * (RFC 5952 or any valid form, embedded IPv4 allowed). IPv4-mapped IPv6 (::ffff:a.b.c.d)
 * is folded to IPv4. s need not be NUL-terminated. SH_EINVAL when malformed. */
SH_MUST_CHECK int sh_ip_parse(const char *s, size_t n, struct sh_ip *out);

/* "addr/len" or a bare address (full length). Host bits set: SH_EINVAL when strict,
 * masked off otherwise. A mapped IPv6 prefix ::ffff:0:0/96+ folds to IPv4 (len - 96). */
SH_MUST_CHECK int sh_prefix_parse(const char *s, size_t n, bool strict, struct sh_prefix *out);

/* Canonical text (RFC 5952 for IPv6) into buf; returns the length written (without NUL). */
size_t sh_ip_format(const struct sh_ip *ip, char buf[SH_IP_STRLEN]);
size_t sh_prefix_format(const struct sh_prefix *p, char buf[SH_PREFIX_STRLEN]);

/* Total order: IPv4 before IPv6, then by address bytes. */
int sh_ip_cmp(const struct sh_ip *a, const struct sh_ip *b);
/* True when ip lies inside p (same family). */
bool sh_prefix_contains(const struct sh_prefix *p, const struct sh_ip *ip);
/* The prefix of length len that contains ip. */
void sh_prefix_from_ip(const struct sh_ip *ip, unsigned len, struct sh_prefix *out);
/* Last address inside p. */
void sh_prefix_last(const struct sh_prefix *p, struct sh_ip *out);

/* The RFC 6890 / IANA special-purpose registry block that contains ip ("private-use",
 * "loopback", "documentation", ...), or NULL when the address is globally routable.
 * Special space is never attributed to a network. */
const char *sh_ip_special(const struct sh_ip *ip);
/* Same for a prefix: the block that p lies inside or overlaps, or NULL. */
const char *sh_prefix_special(const struct sh_prefix *p);

/* Splits the inclusive range [first, last] (same family, first <= last) into the minimal
 * list of prefixes, calling cb for each in ascending order; stops at and returns the first
 * non-zero cb result. SH_EINVAL when the families differ or first > last. */
typedef int (*sh_prefix_cb)(const struct sh_prefix *p, void *arg);
SH_MUST_CHECK int sh_range_to_prefixes(const struct sh_ip *first, const struct sh_ip *last,
				       sh_prefix_cb cb, void *arg);

#endif
