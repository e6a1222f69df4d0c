/* Attribution of addresses to networks with the tables in force on a date, plus hosting
 * ranges: the glue between the store's tables and in-memory lookups. */
#ifndef SH_NETDB_H
#define SH_NETDB_H
#include <stdbool.h>
#include <stdint.h>

#include "lib/netmap.h"
#include "store/store.h"

struct sh_netdb;

/* Address families a stored table covers, kept beside its SH_ASMAP_HAS_* fields; a table with
 * neither bit is taken to cover both. */
enum { SH_NETDB_HAS_V4 = 0x100, SH_NETDB_HAS_V6 = 0x200 };

struct sh_attrib {
	const char *special;   /* RFC 6890 block name when special-purpose, else NULL */
	bool mapped;           /* an ASN table covers the address */
	struct sh_prefix prefix;
	uint32_t asn;          /* 0 when unknown */
	const char *org;       /* "" when unknown */
	const char *country;   /* "" when unknown */
	const char *hosting;   /* hosting provider whose ranges cover it, or NULL */
	int64_t asn_table_as_of, country_table_as_of; /* SH_TIME_NONE when no table */
};

/* Reads the list of tables; each table's rows are loaded and compiled on first use, so a
 * netdb is for one thread. */
SH_MUST_CHECK int sh_netdb_open(struct sh_store *s, struct sh_netdb **out);
/* Attributes ip as of time when (SH_TIME_NONE: the newest tables). For each field and address
 * family the tables used are those of the newest as_of date not after when (else of the oldest
 * date); when several tables share that date, the most recently imported match wins. */
SH_MUST_CHECK int sh_netdb_attribute(struct sh_netdb *db, const struct sh_ip *ip, int64_t when,
				     struct sh_attrib *out);
/* The same for the fields asked for only (SH_ASMAP_HAS_ASN and/or SH_ASMAP_HAS_COUNTRY), so a
 * caller that needs no country never loads a country table; the hosting range is always
 * looked up. */
SH_MUST_CHECK int sh_netdb_attribute_fields(struct sh_netdb *db, const struct sh_ip *ip,
					    int64_t when, int fields, struct sh_attrib *out);
/* Number of ASN and country tables known. */
unsigned sh_netdb_tables(const struct sh_netdb *db);
/* Address space as the tables map it, for density. One call of cb per row of the tables in
 * force at when for field (SH_ASMAP_HAS_ASN or SH_ASMAP_HAS_COUNTRY), for address family af
 * (SH_AF_V4 or SH_AF_V6; 0 for both);
 * a row's units are the addresses whose longest match it is, so a prefix that more specific
 * rows carve up counts only what is left, and nothing is counted twice. When several tables
 * share the date and list the same prefix, the most recently imported wins. */
struct sh_netspace {
	struct sh_prefix prefix;
	uint32_t asn;        /* 0 when unknown */
	const char *org;     /* "" when unknown; valid during the call */
	const char *country; /* "" when unknown; valid during the call */
	double units;        /* IPv4 addresses or IPv6 /48s (see sh_netdb_prefix_units) */
};
SH_MUST_CHECK int sh_netdb_foreach_space(struct sh_netdb *db, int field, int af, int64_t when,
					 int (*cb)(const struct sh_netspace *sp, void *arg),
					 void *arg);
/* Size of p in density units: IPv4 addresses, or IPv6 /48s (a longer IPv6 prefix is the
 * fraction of a /48 it covers). */
double sh_netdb_prefix_units(const struct sh_prefix *p);
void sh_netdb_free(struct sh_netdb *db);

#endif
