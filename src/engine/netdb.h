/* Attribution of addresses to networks with the tables in force on a date, plus hosting
 * ranges: the glue between the store's tables and compiled netmaps. */
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
/* Number of ASN and country tables known. */
unsigned sh_netdb_tables(const struct sh_netdb *db);
void sh_netdb_free(struct sh_netdb *db);

#endif
