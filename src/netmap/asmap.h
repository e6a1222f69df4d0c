/* Parsers for network tables: ip-location-db CSV, CAIDA pfx2as, iptoasn TSV, MMDB, and the
 * hosting providers' published range files. */
#ifndef SH_ASMAP_H
#define SH_ASMAP_H
#include <stdbool.h>
#include <stddef.h>

#include "lib/netmap.h"

enum sh_asmap_format {
	SH_ASMAP_IPLDB = 1, /* start,end,asn,org  or  start,end,country (inclusive ranges) */
	SH_ASMAP_PFX2AS,    /* prefix<TAB>len<TAB>asn (asn may be "a_b" or "a,b": first kept) */
	SH_ASMAP_IPTOASN,   /* start<TAB>end<TAB>asn<TAB>country<TAB>description */
	SH_ASMAP_MMDB,      /* MaxMind DB: ASN, org and/or country fields */
};

/* Which fields a table provides (bit mask). */
enum { SH_ASMAP_HAS_ASN = 1, SH_ASMAP_HAS_COUNTRY = 2 };

/* "ipldb", "pfx2as", "iptoasn", "mmdb" <-> enum; 0 / NULL when unknown. */
enum sh_asmap_format sh_asmap_format_from_name(const char *name);
const char *sh_asmap_format_name(enum sh_asmap_format f);
/* Guesses a text format from the first bytes of a file, or returns 0. */
enum sh_asmap_format sh_asmap_format_detect(const char *head, size_t n);

/* Called for every row; a non-zero return stops the parse and is returned. */
typedef int (*sh_netrow_cb)(const struct sh_netrow *row, void *arg);
/* Called for every bad line with its 1-based number and a short reason. */
typedef void (*sh_asmap_bad_cb)(unsigned long line, const char *why, void *arg);

/* Parses a text table held in buf (CRLF, comments '#', blank lines tolerated). Ranges are
 * split into CIDRs. Returns 0 (bad lines reported through bad, the rest kept), or the first
 * non-zero cb result. *fields gets the SH_ASMAP_HAS_* mask this file provides. */
SH_MUST_CHECK int sh_asmap_parse_text(enum sh_asmap_format f, const char *buf, size_t len,
				      sh_netrow_cb cb, sh_asmap_bad_cb bad, void *arg, int *fields);

/* Copies an organisation name s[0..n) into dst (room for n + 1 bytes) as clean text: blanks
 * trimmed at both ends, control characters turned into spaces, NUL-terminated. Returns false
 * (and dst = "") when s is not well-formed UTF-8. */
bool sh_asmap_org_clean(const char *s, size_t n, char *dst);

/* Walks every network of an MMDB file (libmaxminddb) and emits a row per leaf that has data
 * (fields autonomous_system_number, autonomous_system_organization, country.iso_code or
 * country_code). IPv4 in an IPv6 tree is taken from ::/96 only. */
SH_MUST_CHECK int sh_asmap_parse_mmdb(const char *path, sh_netrow_cb cb, void *arg, int *fields);

/* Hosting ranges: any JSON document (jansson); every string value anywhere in it that is
 * an IPv4/IPv6 prefix or address is a range of the provider. cb gets rows with only prefix
 * set. SH_EINVAL when the JSON does not parse. *n_bad counts strings under prefix-like keys
 * that do not parse as prefixes. */
SH_MUST_CHECK int sh_hosting_parse_json(const char *buf, size_t len, sh_netrow_cb cb, void *arg,
					unsigned long *n_bad);

#endif
