/* The DNSBL answer engine: one query packet and a data generation in, one response out.
 * Pure and allocation-free, so it is tested with byte fixtures and fuzzed without sockets. */
#ifndef SH_DNS_ANSWER_H
#define SH_DNS_ANSWER_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/data.h"
#include "dns/wire.h"

/* What the answer engine tells the server about a response (statistics, RRL). */
struct sh_dns_ainfo {
	uint8_t rcode;
	bool truncated;
	bool transfer;         /* an AXFR or IXFR over TCP: the server handles it */
	const struct sh_dns_zone *zone; /* zone of the query, NULL when refused */
	bool listed;           /* the name is listed (positive DNSBL answer) */
	size_t qend;           /* end of the question in the response (0: no question) */
};

/* Writes the response to pkt[0..len) into out (cap bytes, at least 512) and returns its
 * length, or 0 when nothing must be sent (not a query, too short). tcp selects the size
 * limit (65535 bytes instead of 512, or the EDNS0 buffer size). */
size_t sh_dns_answer(const struct sh_dns_gen *g, const uint8_t *pkt, size_t len, bool tcp,
		     uint8_t *out, size_t cap, struct sh_dns_ainfo *info);

/* Writes zone z's apex SOA record (TTL and serial as given) with owner the name at offset
 * owner_off of w (its question), names compressed against it. Used by transfers. */
void sh_dns_put_soa(struct sh_dns_wbuf *w, const struct sh_dns_zone *z, size_t owner_off,
		    uint32_t ttl, uint32_t serial);

/* Expands a TXT template with rbldnsd's rules ('$' is subst, $0-$9 the dataset's
 * variables, $= the entry text under a "$=" base template, $$ a dollar); returns the
 * length written to out (at most 254 bytes). */
size_t sh_dns_txt_expand(const struct sh_dns_dataset *ds, const char *tpl, size_t tlen,
			 const char *subst, size_t slen, char out[256]);

#endif
