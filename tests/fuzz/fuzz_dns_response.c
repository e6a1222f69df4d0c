/* Fuzz target: the stub client's response parser, for the question the packet itself carries
 * (so the answer section is reached) and for fixed questions of each type. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/client.h"

static struct sh_dns_reply reply;

static void check(const uint8_t *d, size_t n, const uint8_t *q, size_t qlen, uint16_t type)
{
	int rc = sh_dns_client_parse(d, n, q, qlen, type, &reply);
	if (rc != 0 && rc != SH_EINVAL && rc != SH_ENOENT)
		abort();
	if (rc == 0 && (reply.n_ip > SH_DNS_REPLY_MAX || reply.n_ns > SH_DNS_REPLY_MAX ||
			reply.cname_hops > SH_DNS_CNAME_MAX || (reply.cname_loop && reply.n_ip + reply.n_ns)))
		abort();
	for (size_t i = 0; rc == 0 && i < reply.n_ns; i++)
		if (strlen(reply.ns[i]) >= SH_DNS_NAME_STRLEN)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	static const uint16_t types[] = {SH_DNS_T_A, SH_DNS_T_AAAA, SH_DNS_T_NS};
	/* the packet's own question, lowercased, when it is a plain uncompressed name */
	uint8_t q[256];
	size_t o = SH_DNS_HDR, l = 0;
	while (o < n && l < 255 && d[o] && d[o] < 64 && l + 1 + d[o] < 255 && o + 1 + d[o] <= n) {
		q[l++] = d[o];
		for (size_t i = 0; i < d[o]; i++) {
			uint8_t c = d[o + 1 + i];
			q[l++] = c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
		}
		o += 1 + (size_t)d[o];
	}
	q[l++] = 0;
	for (size_t t = 0; t < 3; t++)
		check(d, n, q, l, types[t]);
	uint8_t fixed[256];
	size_t flen;
	if (sh_dns_client_qname("www.example.test", fixed, &flen) == 0)
		check(d, n, fixed, flen, SH_DNS_T_A);
	return 0;
}
