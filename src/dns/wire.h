/* DNS wire format: query parsing (question, EDNS0 OPT) and a bounded response writer. */
#ifndef SH_DNS_WIRE_H
#define SH_DNS_WIRE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/err.h"

enum {
	SH_DNS_T_A = 1, SH_DNS_T_NS = 2, SH_DNS_T_SOA = 6, SH_DNS_T_TXT = 16, SH_DNS_T_AAAA = 28,
	SH_DNS_T_OPT = 41, SH_DNS_T_IXFR = 251, SH_DNS_T_AXFR = 252, SH_DNS_T_ANY = 255,
};
enum { SH_DNS_C_IN = 1, SH_DNS_C_ANY = 255 };
enum {
	SH_DNS_R_NOERROR = 0, SH_DNS_R_FORMERR = 1, SH_DNS_R_SERVFAIL = 2, SH_DNS_R_NXDOMAIN = 3,
	SH_DNS_R_NOTIMP = 4, SH_DNS_R_REFUSED = 5, SH_DNS_R_NOTAUTH = 9, SH_DNS_R_BADVERS = 16,
};
enum { SH_DNS_OP_QUERY = 0, SH_DNS_OP_NOTIFY = 4 };

#define SH_DNS_HDR 12
#define SH_DNS_UDP_MAX 1232 /* our EDNS buffer size (DNS flag day 2020) */
#define SH_DNS_MAXLABELS 128

/* A parsed query. qname is lowercased; the question's original bytes stay in the packet. */
struct sh_dns_query {
	uint16_t id;
	uint8_t opcode;
	bool rd, cd;
	uint16_t qtype, qclass;
	uint8_t qname[256];
	size_t qname_len;                  /* wire bytes including the root byte */
	uint8_t lab[SH_DNS_MAXLABELS];     /* offset of each label in qname */
	unsigned nlabels;
	size_t qend;                       /* offset after the question in the packet */
	bool edns;                         /* a valid OPT record was present */
	uint8_t edns_version;
	bool edns_do;
	uint16_t edns_udp;
	uint16_t ancount, nscount, arcount;
	uint8_t rcode; /* SH_DNS_R_FORMERR when the packet is malformed beyond the header */
	bool question_ok; /* the question section parsed */
};

/* Parses pkt. Returns 0 (query usable), SH_EINVAL when the packet must be answered with
 * q->rcode (FORMERR), or SH_ENOENT when it must be dropped (too short, or a response). */
SH_MUST_CHECK int sh_dns_parse_query(const uint8_t *pkt, size_t len, struct sh_dns_query *q);

/* Bounded writer: writes past cap set overflow and are dropped. */
struct sh_dns_wbuf {
	uint8_t *p;
	size_t len, cap;
	bool overflow;
};
static inline void sh_dns_put(struct sh_dns_wbuf *w, const void *d, size_t n)
{
	if (w->overflow || n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	memcpy(w->p + w->len, d, n);
	w->len += n;
}
static inline void sh_dns_put16(struct sh_dns_wbuf *w, unsigned v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	sh_dns_put(w, b, 2);
}
static inline void sh_dns_put32(struct sh_dns_wbuf *w, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	sh_dns_put(w, b, 4);
}
static inline uint16_t sh_dns_get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Skips a (possibly compressed) name at *off; false when malformed or past len. */
bool sh_dns_skip_name(const uint8_t *p, size_t len, size_t *off);

/* Presentation form of a wire name (escaped, no trailing dot, "." for the root); returns
 * the length written (buf holds at least 1024 bytes). */
size_t sh_dns_name_str(const uint8_t *wire, size_t len, char *buf);

#endif
