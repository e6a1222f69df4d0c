/* Zone transfers out (AXFR, RFC 5936; IXFR from a history of diffs, RFC 1995) and NOTIFY
 * (RFC 1996), so standard secondaries (Knot, NSD, BIND) replicate sheriff's zones. */
#ifndef SH_DNS_XFR_H
#define SH_DNS_XFR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/data.h"
#include "dns/wire.h"

/* A sorted, duplicate-free set of records: each [owner length][owner, relative to the zone,
 * uncompressed, no root byte][type 2][TTL 4][rdlength 2][rdata]. */
struct sh_dns_rrs {
	uint8_t *buf;
	size_t len;
	uint32_t *off;
	size_t n;
};

/* One step of history: what changed from serial `from` to serial `to`. */
struct sh_dns_diff {
	uint32_t from, to;
	struct sh_dns_rrs del, add;
	int refs; /* atomic */
};

/* Per-zone transfer data of a generation: its records and the diffs that lead to it. */
struct sh_dns_xfr {
	struct sh_dns_rrs rrs;
	struct sh_dns_diff **hist; /* oldest first; the last one ends at the zone's serial */
	size_t nhist;
};

/* The records of zone z as a standard secondary must hold them (except the SOA): NS, and
 * A/TXT per listed name, address blocks that do not fall on label boundaries expanded to
 * wildcards on the next boundary. */
SH_MUST_CHECK int sh_dns_xfr_records(const struct sh_dns_zone *z, struct sh_dns_rrs *out);
void sh_dns_rrs_fini(struct sh_dns_rrs *r);

/* Builds the transfer data of every zone of g, with a diff from the same zone in prev (kept
 * up to `keep` diffs). A zone whose records changed but whose serial did not grow gets the
 * previous serial + 1, so secondaries notice. */
SH_MUST_CHECK int sh_dns_xfr_attach(struct sh_dns_gen *g, const struct sh_dns_gen *prev, size_t keep);
void sh_dns_xfr_free(struct sh_dns_xfr *x);

/* Access list for transfers: prefixes; empty refuses every transfer. */
struct sh_dns_acl {
	struct sh_dns_acl_entry {
		int af;
		uint8_t addr[16];
		unsigned len;
	} *e;
	size_t n;
};
SH_MUST_CHECK int sh_dns_acl_add(struct sh_dns_acl *acl, const char *prefix);
bool sh_dns_acl_match(const struct sh_dns_acl *acl, const struct sockaddr *sa);
void sh_dns_acl_fini(struct sh_dns_acl *acl);

/* Answers an AXFR or IXFR query (TCP) for the zone in info: appends the whole response
 * stream, each message preceded by its 2-byte length, to *out (grown with realloc).
 * Returns 0 or SH_ENOMEM. */
SH_MUST_CHECK int sh_dns_xfr_respond(const struct sh_dns_gen *g, const uint8_t *pkt, size_t len,
				     const struct sh_dns_zone *z, uint8_t **out, size_t *outlen,
				     size_t *outcap);

/* Sends NOTIFY for zone z to addr and waits for the answer (up to `tries` tries, 1 s each).
 * Returns 0 when acknowledged. */
SH_MUST_CHECK int sh_dns_notify(const struct sh_dns_zone *z, const struct sockaddr *addr,
				socklen_t alen, unsigned tries);

#endif
