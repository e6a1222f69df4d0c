/* DNS wire format: query parsing (question, EDNS0 OPT). Untrusted bytes from the network:
 * every read is bounds-checked against the packet length. */
#include "dns/wire.h"

#include <stdio.h>
#include <string.h>

bool sh_dns_skip_name(const uint8_t *p, size_t len, size_t *off)
{
	size_t o = *off;
	for (unsigned n = 0; n < 128; n++) {
		if (o >= len)
			return false;
		uint8_t l = p[o];
		if (l == 0) {
			*off = o + 1;
			return true;
		}
		if ((l & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return false;
			*off = o + 2;
			return true;
		}
		if (l & 0xc0)
			return false;
		o += (size_t)l + 1;
	}
	return false;
}

static const uint8_t lower[256] = {
#define L4(i) L1(i), L1(i + 1), L1(i + 2), L1(i + 3)
#define L1(i) (uint8_t)((i) >= 'A' && (i) <= 'Z' ? (i) | 0x20 : (i))
#define L16(i) L4(i), L4(i + 4), L4(i + 8), L4(i + 12)
#define L64(i) L16(i), L16(i + 16), L16(i + 32), L16(i + 48)
	L64(0), L64(64), L64(128), L64(192)
#undef L64
#undef L16
#undef L1
#undef L4
};

int sh_dns_parse_query(const uint8_t *pkt, size_t len, struct sh_dns_query *q)
{
	q->question_ok = false;
	q->edns = false;
	q->rcode = SH_DNS_R_NOERROR;
	if (len < SH_DNS_HDR || (pkt[2] & 0x80))
		return SH_ENOENT;
	q->id = sh_dns_get16(pkt);
	q->opcode = (pkt[2] >> 3) & 15;
	q->rd = pkt[2] & 1;
	q->cd = (pkt[3] & 0x10) != 0;
	uint16_t qd = sh_dns_get16(pkt + 4);
	q->ancount = sh_dns_get16(pkt + 6);
	q->nscount = sh_dns_get16(pkt + 8);
	q->arcount = sh_dns_get16(pkt + 10);
	q->rcode = SH_DNS_R_FORMERR;
	if (qd != 1)
		return SH_EINVAL;
	size_t o = SH_DNS_HDR, n = 0;
	q->nlabels = 0;
	for (;;) {
		if (o >= len)
			return SH_EINVAL;
		uint8_t l = pkt[o];
		if (l == 0)
			break;
		if (l > 63 || n + l + 1 >= 255 || o + 1 + l > len || q->nlabels >= SH_DNS_MAXLABELS)
			return SH_EINVAL;
		q->lab[q->nlabels++] = (uint8_t)n;
		q->qname[n++] = l;
		const uint8_t *src = pkt + o + 1;
		for (unsigned i = 0; i < l; i++)
			q->qname[n + i] = lower[src[i]];
		n += l;
		o += (size_t)l + 1;
	}
	q->qname[n++] = 0;
	q->qname_len = n;
	o++;
	if (o + 4 > len)
		return SH_EINVAL;
	q->qtype = sh_dns_get16(pkt + o);
	q->qclass = sh_dns_get16(pkt + o + 2);
	q->qend = o + 4;
	q->question_ok = true;
	/* answer and authority sections are not expected in a query; skip them, then look for
	 * the OPT record among the additional ones */
	o = q->qend;
	unsigned total = (unsigned)q->ancount + q->nscount + q->arcount;
	for (unsigned i = 0; i < total; i++) {
		size_t start = o;
		if (!sh_dns_skip_name(pkt, len, &o) || o + 10 > len)
			return SH_EINVAL;
		uint16_t type = sh_dns_get16(pkt + o), rdlen = sh_dns_get16(pkt + o + 8);
		if (o + 10 + rdlen > len)
			return SH_EINVAL;
		if (type == SH_DNS_T_OPT) {
			if (i < (unsigned)q->ancount + q->nscount || q->edns || pkt[start] != 0)
				return SH_EINVAL;
			q->edns = true;
			q->edns_udp = sh_dns_get16(pkt + o + 2);
			q->edns_version = pkt[o + 5];
			q->edns_do = (pkt[o + 6] & 0x80) != 0;
			/* options must be well-formed TLVs */
			size_t r = o + 10, re = r + rdlen;
			while (r < re) {
				if (r + 4 > re || r + 4 + sh_dns_get16(pkt + r + 2) > re)
					return SH_EINVAL;
				r += 4 + (size_t)sh_dns_get16(pkt + r + 2);
			}
		}
		o += 10 + (size_t)rdlen;
	}
	q->rcode = SH_DNS_R_NOERROR;
	return 0;
}

size_t sh_dns_name_str(const uint8_t *w, size_t len, char *buf)
{
	size_t o = 0, b = 0;
	while (o < len && w[o]) {
		size_t l = w[o++];
		if (b)
			buf[b++] = '.';
		for (size_t i = 0; i < l && o < len; i++, o++) {
			uint8_t c = w[o];
			if (c == '.' || c == '\\' || c == '"')
				b += (size_t)sprintf(buf + b, "\\%c", c);
			else if (c <= ' ' || c >= 127)
				b += (size_t)sprintf(buf + b, "\\%03u", c);
			else
				buf[b++] = (char)c;
		}
	}
	if (!b)
		buf[b++] = '.';
	buf[b] = 0;
	return b;
}
