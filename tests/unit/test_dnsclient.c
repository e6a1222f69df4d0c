/* Unit tests for dns/client: the response parser on hand-built packets (A, AAAA, NS, CNAME
 * chains and loops, compression loops, wrong questions, truncation, rcodes), question names,
 * server addresses, and the client against a scripted server on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "dns/client.h"

/* ---- a packet builder ----------------------------------------------------------------- */

struct pkt {
	uint8_t b[4096];
	struct sh_dns_wbuf w;
};

static void name(struct pkt *p, const char *s)
{
	uint8_t wire[256];
	size_t n;
	assert_int_equal(sh_dns_client_qname(s, wire, &n), 0);
	sh_dns_put(&p->w, wire, n);
}

/* A response header and the question s/type; an, ns: section counts. */
static void start(struct pkt *p, unsigned flags, const char *s, unsigned type, unsigned an,
		  unsigned ns)
{
	p->w = (struct sh_dns_wbuf){p->b, 0, sizeof(p->b), false};
	sh_dns_put16(&p->w, 0x1234);
	sh_dns_put16(&p->w, flags);
	sh_dns_put16(&p->w, 1);
	sh_dns_put16(&p->w, an);
	sh_dns_put16(&p->w, ns);
	sh_dns_put16(&p->w, 0);
	name(p, s);
	sh_dns_put16(&p->w, type);
	sh_dns_put16(&p->w, SH_DNS_C_IN);
}

/* A record header; owner NULL: a pointer to the question name. */
static void rr(struct pkt *p, const char *owner, unsigned type, unsigned rdlen)
{
	if (owner)
		name(p, owner);
	else
		sh_dns_put16(&p->w, 0xc00c);
	sh_dns_put16(&p->w, type);
	sh_dns_put16(&p->w, SH_DNS_C_IN);
	sh_dns_put32(&p->w, 300);
	sh_dns_put16(&p->w, rdlen);
}

static void rr_a(struct pkt *p, const char *owner, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	rr(p, owner, SH_DNS_T_A, 4);
	uint8_t ip[4] = {a, b, c, d};
	sh_dns_put(&p->w, ip, 4);
}

static void rr_name(struct pkt *p, const char *owner, unsigned type, const char *target)
{
	uint8_t wire[256];
	size_t n;
	assert_int_equal(sh_dns_client_qname(target, wire, &n), 0);
	rr(p, owner, type, (unsigned)n);
	sh_dns_put(&p->w, wire, n);
}

#define QR_RD_RA 0x8180

static int parse(const struct pkt *p, const char *q, unsigned type, struct sh_dns_reply *r)
{
	uint8_t wire[256];
	size_t n;
	assert_int_equal(sh_dns_client_qname(q, wire, &n), 0);
	assert_false(p->w.overflow);
	return sh_dns_client_parse(p->b, p->w.len, wire, n, (uint16_t)type, r);
}

static struct sh_dns_reply rep; /* 33 KB: not on the stack */

static const char *ipstr(const struct sh_ip *ip)
{
	static char buf[SH_IP_STRLEN];
	sh_ip_format(ip, buf);
	return buf;
}

/* ---- the parser --------------------------------------------------------------------------- */

static void test_a(void **state)
{
	(void)state;
	struct pkt p;
	start(&p, QR_RD_RA, "www.Example.test", SH_DNS_T_A, 4, 0);
	rr_a(&p, NULL, 192, 0, 2, 1);
	rr_a(&p, "other.test", 192, 0, 2, 99); /* another name: ignored */
	rr_a(&p, "WWW.EXAMPLE.TEST", 192, 0, 2, 2);
	rr_name(&p, NULL, SH_DNS_T_NS, "ns.example.test"); /* another type: ignored */
	assert_int_equal(parse(&p, "www.example.test", SH_DNS_T_A, &rep), 0);
	assert_int_equal(rep.rcode, 0);
	assert_false(rep.tc);
	assert_int_equal(rep.n_ip, 2);
	assert_string_equal(ipstr(&rep.ip[0]), "192.0.2.1");
	assert_string_equal(ipstr(&rep.ip[1]), "192.0.2.2");
	assert_int_equal(rep.n_ns, 0);
	assert_int_equal(rep.cname_hops, 0);
}

static void test_aaaa(void **state)
{
	(void)state;
	struct pkt p;
	start(&p, QR_RD_RA | 0x0200, "v6.example.test", SH_DNS_T_AAAA, 1, 0); /* TC set */
	rr(&p, NULL, SH_DNS_T_AAAA, 16);
	uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 0x10};
	sh_dns_put(&p.w, a6, 16);
	assert_int_equal(parse(&p, "v6.example.test", SH_DNS_T_AAAA, &rep), 0);
	assert_true(rep.tc);
	assert_int_equal(rep.n_ip, 1);
	assert_string_equal(ipstr(&rep.ip[0]), "2001:db8::10");
	/* an AAAA of 4 bytes is malformed */
	start(&p, QR_RD_RA, "v6.example.test", SH_DNS_T_AAAA, 1, 0);
	rr(&p, NULL, SH_DNS_T_AAAA, 4);
	sh_dns_put32(&p.w, 1);
	assert_int_equal(parse(&p, "v6.example.test", SH_DNS_T_AAAA, &rep), SH_EINVAL);
}

static void test_ns(void **state)
{
	(void)state;
	struct pkt p;
	start(&p, QR_RD_RA, "example.test", SH_DNS_T_NS, 3, 0);
	rr_name(&p, NULL, SH_DNS_T_NS, "NS1.Example.TEST");
	/* a compressed target: "ns2" then a pointer to the question's "example.test" */
	rr(&p, NULL, SH_DNS_T_NS, 6);
	sh_dns_put(&p.w, "\3NS2", 4);
	sh_dns_put16(&p.w, 0xc00c);
	rr_name(&p, "sub.example.test", SH_DNS_T_NS, "ns.elsewhere.test"); /* a child: ignored */
	assert_int_equal(parse(&p, "example.test", SH_DNS_T_NS, &rep), 0);
	assert_int_equal(rep.n_ns, 2);
	assert_string_equal(rep.ns[0], "ns1.example.test");
	assert_string_equal(rep.ns[1], "ns2.example.test");
	assert_int_equal(rep.n_ip, 0);
	/* a target that runs past its RDATA */
	start(&p, QR_RD_RA, "example.test", SH_DNS_T_NS, 1, 0);
	rr(&p, NULL, SH_DNS_T_NS, 3);
	sh_dns_put(&p.w, "\3ns1\0", 5);
	assert_int_equal(parse(&p, "example.test", SH_DNS_T_NS, &rep), SH_EINVAL);
}

static void test_cname_chain(void **state)
{
	(void)state;
	struct pkt p;
	/* out of order: the chain is followed by owner, not by position */
	start(&p, QR_RD_RA, "www.site.test", SH_DNS_T_A, 5, 0);
	rr_a(&p, "edge.cdn.test", 203, 0, 113, 5);
	rr_name(&p, "alias.site.test", SH_DNS_T_CNAME, "edge.cdn.test");
	rr_a(&p, "www.site.test", 198, 51, 100, 1); /* beside a CNAME: not the chain's end */
	rr_name(&p, NULL, SH_DNS_T_CNAME, "alias.site.test");
	rr_a(&p, "edge.cdn.test", 203, 0, 113, 6);
	assert_int_equal(parse(&p, "www.site.test", SH_DNS_T_A, &rep), 0);
	assert_int_equal(rep.cname_hops, 2);
	assert_false(rep.cname_loop);
	assert_int_equal(rep.n_ip, 2);
	assert_string_equal(ipstr(&rep.ip[0]), "203.0.113.5");
	assert_string_equal(ipstr(&rep.ip[1]), "203.0.113.6");
	/* a chain of SH_DNS_CNAME_MAX hops is followed, one more is not */
	for (unsigned hops = SH_DNS_CNAME_MAX; hops <= SH_DNS_CNAME_MAX + 1; hops++) {
		start(&p, QR_RD_RA, "c0.test", SH_DNS_T_A, hops + 1, 0);
		char o[16], t[16];
		for (unsigned i = 0; i < hops; i++) {
			snprintf(o, sizeof(o), "c%u.test", i);
			snprintf(t, sizeof(t), "c%u.test", i + 1);
			rr_name(&p, o, SH_DNS_T_CNAME, t);
		}
		rr_a(&p, t, 192, 0, 2, 7);
		assert_int_equal(parse(&p, "c0.test", SH_DNS_T_A, &rep), 0);
		assert_int_equal(rep.n_ip, hops == SH_DNS_CNAME_MAX ? 1 : 0);
		assert_int_equal(rep.cname_loop, hops > SH_DNS_CNAME_MAX);
	}
}

static void test_cname_loop(void **state)
{
	(void)state;
	struct pkt p;
	start(&p, QR_RD_RA, "a.loop.test", SH_DNS_T_A, 3, 0);
	rr_name(&p, NULL, SH_DNS_T_CNAME, "b.loop.test");
	rr_name(&p, "b.loop.test", SH_DNS_T_CNAME, "a.loop.test");
	rr_a(&p, "b.loop.test", 192, 0, 2, 8);
	assert_int_equal(parse(&p, "a.loop.test", SH_DNS_T_A, &rep), 0);
	assert_true(rep.cname_loop);
	assert_int_equal(rep.n_ip, 0);
}

static void test_pointer_loops(void **state)
{
	(void)state;
	struct pkt p;
	start(&p, QR_RD_RA, "x.test", SH_DNS_T_A, 1, 0);
	size_t own = p.w.len;
	sh_dns_put16(&p.w, 0xc000 | (unsigned)own); /* points at itself */
	sh_dns_put16(&p.w, SH_DNS_T_A);
	sh_dns_put16(&p.w, SH_DNS_C_IN);
	sh_dns_put32(&p.w, 0);
	sh_dns_put16(&p.w, 4);
	sh_dns_put32(&p.w, 0xc0000201);
	assert_int_equal(parse(&p, "x.test", SH_DNS_T_A, &rep), SH_EINVAL);
	/* a label, then a pointer back to that label: a loop through two hops */
	start(&p, QR_RD_RA, "x.test", SH_DNS_T_A, 1, 0);
	own = p.w.len;
	sh_dns_put(&p.w, "\1a", 2);
	sh_dns_put16(&p.w, 0xc000 | (unsigned)own);
	sh_dns_put16(&p.w, SH_DNS_T_A);
	sh_dns_put16(&p.w, SH_DNS_C_IN);
	sh_dns_put32(&p.w, 0);
	sh_dns_put16(&p.w, 4);
	sh_dns_put32(&p.w, 0xc0000201);
	assert_int_equal(parse(&p, "x.test", SH_DNS_T_A, &rep), SH_EINVAL);
	/* the same in a record of a type nobody asked for */
	p.b[own + 5] = SH_DNS_T_TXT;
	assert_int_equal(parse(&p, "x.test", SH_DNS_T_A, &rep), SH_EINVAL);
	/* a forward pointer in the question */
	start(&p, QR_RD_RA, "x.test", SH_DNS_T_A, 0, 0);
	p.b[12] = 0xc0;
	p.b[13] = 14;
	uint8_t wire[256];
	size_t n;
	assert_int_equal(sh_dns_client_qname("x.test", wire, &n), 0);
	assert_int_equal(sh_dns_client_parse(p.b, p.w.len, wire, n, SH_DNS_T_A, &rep), SH_EINVAL);
	/* a pointer past the packet */
	start(&p, QR_RD_RA, "x.test", SH_DNS_T_A, 1, 0);
	sh_dns_put16(&p.w, 0xcfff);
	sh_dns_put16(&p.w, SH_DNS_T_A);
	sh_dns_put16(&p.w, SH_DNS_C_IN);
	sh_dns_put32(&p.w, 0);
	sh_dns_put16(&p.w, 4);
	sh_dns_put32(&p.w, 0);
	assert_int_equal(parse(&p, "x.test", SH_DNS_T_A, &rep), SH_EINVAL);
}

static void test_wrong_question(void **state)
{
	(void)state;
	struct pkt p;
	start(&p, QR_RD_RA, "www.example.test", SH_DNS_T_A, 1, 0);
	rr_a(&p, NULL, 192, 0, 2, 1);
	assert_int_equal(parse(&p, "ww.example.test", SH_DNS_T_A, &rep), SH_ENOENT);
	assert_int_equal(parse(&p, "www.example.test", SH_DNS_T_AAAA, &rep), SH_ENOENT);
	assert_int_equal(parse(&p, "www.example.test.zz", SH_DNS_T_A, &rep), SH_ENOENT);
	p.b[2] &= 0x7f; /* a query, not a response */
	assert_int_equal(parse(&p, "www.example.test", SH_DNS_T_A, &rep), SH_ENOENT);
	p.b[2] |= 0x80;
	size_t cls = 12 + 18 + 2; /* the question's class */
	p.b[cls + 1] = 3;         /* CH */
	assert_int_equal(parse(&p, "www.example.test", SH_DNS_T_A, &rep), SH_ENOENT);
	p.b[cls + 1] = 1;
	p.b[5] = 0; /* no question */
	assert_int_equal(parse(&p, "www.example.test", SH_DNS_T_A, &rep), SH_ENOENT);
	p.b[5] = 2; /* two questions */
	assert_int_equal(parse(&p, "www.example.test", SH_DNS_T_A, &rep), SH_EINVAL);
}

static void test_truncated(void **state)
{
	(void)state;
	struct pkt p;
	start(&p, QR_RD_RA, "www.example.test", SH_DNS_T_A, 2, 0);
	rr_a(&p, NULL, 192, 0, 2, 1);
	rr_name(&p, NULL, SH_DNS_T_CNAME, "x.example.test");
	uint8_t wire[256];
	size_t n;
	assert_int_equal(sh_dns_client_qname("www.example.test", wire, &n), 0);
	assert_int_equal(sh_dns_client_parse(p.b, p.w.len, wire, n, SH_DNS_T_A, &rep), 0);
	/* every shorter cut, copied to an exact-size buffer so ASan sees any overread */
	for (size_t len = 0; len < p.w.len; len++) {
		uint8_t *cut = malloc(len ? len : 1);
		memcpy(cut, p.b, len);
		assert_int_equal(sh_dns_client_parse(cut, len, wire, n, SH_DNS_T_A, &rep), SH_EINVAL);
		free(cut);
	}
	/* RDATA longer than the packet */
	start(&p, QR_RD_RA, "www.example.test", SH_DNS_T_A, 1, 0);
	rr(&p, NULL, SH_DNS_T_A, 40);
	sh_dns_put32(&p.w, 0);
	assert_int_equal(parse(&p, "www.example.test", SH_DNS_T_A, &rep), SH_EINVAL);
	/* an answer count larger than the records present */
	start(&p, QR_RD_RA, "www.example.test", SH_DNS_T_A, 3, 0);
	rr_a(&p, NULL, 192, 0, 2, 1);
	assert_int_equal(parse(&p, "www.example.test", SH_DNS_T_A, &rep), SH_EINVAL);
}

static void test_rcodes(void **state)
{
	(void)state;
	struct pkt p;
	/* NXDOMAIN with the SOA in the authority section */
	start(&p, QR_RD_RA | SH_DNS_R_NXDOMAIN, "nx.example.test", SH_DNS_T_A, 0, 1);
	rr(&p, "example.test", SH_DNS_T_SOA, 30);
	sh_dns_put(&p.w, "\2ns\300\17\2hm\300\17", 10); /* pointers to "example.test" */
	for (int i = 0; i < 5; i++)
		sh_dns_put32(&p.w, 1);
	assert_int_equal(parse(&p, "nx.example.test", SH_DNS_T_A, &rep), 0);
	assert_int_equal(rep.rcode, SH_DNS_R_NXDOMAIN);
	assert_int_equal(rep.n_ip, 0);
	start(&p, QR_RD_RA | SH_DNS_R_SERVFAIL, "sf.example.test", SH_DNS_T_AAAA, 0, 0);
	assert_int_equal(parse(&p, "sf.example.test", SH_DNS_T_AAAA, &rep), 0);
	assert_int_equal(rep.rcode, SH_DNS_R_SERVFAIL);
	/* NXDOMAIN at the end of a chain */
	start(&p, QR_RD_RA | SH_DNS_R_NXDOMAIN, "a.example.test", SH_DNS_T_A, 1, 0);
	rr_name(&p, NULL, SH_DNS_T_CNAME, "gone.example.test");
	assert_int_equal(parse(&p, "a.example.test", SH_DNS_T_A, &rep), 0);
	assert_int_equal(rep.rcode, SH_DNS_R_NXDOMAIN);
	assert_int_equal(rep.cname_hops, 1);
}

static void test_limits(void **state)
{
	(void)state;
	struct pkt p;
	start(&p, QR_RD_RA, "many.test", SH_DNS_T_A, SH_DNS_REPLY_MAX + 5, 0);
	for (unsigned i = 0; i < SH_DNS_REPLY_MAX + 5; i++)
		rr_a(&p, NULL, 10, 0, 0, (uint8_t)i);
	assert_int_equal(parse(&p, "many.test", SH_DNS_T_A, &rep), 0);
	assert_int_equal(rep.n_ip, SH_DNS_REPLY_MAX);
	assert_int_equal(rep.n_dropped, 5);
}

/* ---- names and servers ---------------------------------------------------------------------- */

static void test_qname(void **state)
{
	(void)state;
	uint8_t w[256];
	size_t n;
	assert_int_equal(sh_dns_client_qname("WWW.Ex-am_ple.test.", w, &n), 0);
	assert_int_equal(n, 20);
	assert_memory_equal(w, "\3www\11ex-am_ple\4test", 20);
	assert_int_equal(sh_dns_client_qname("", w, &n), SH_EINVAL);
	assert_int_equal(sh_dns_client_qname(".", w, &n), SH_EINVAL);
	assert_int_equal(sh_dns_client_qname("a..test", w, &n), SH_EINVAL);
	assert_int_equal(sh_dns_client_qname("a b.test", w, &n), SH_EINVAL);
	assert_int_equal(sh_dns_client_qname("a\\.b.test", w, &n), SH_EINVAL);
	char lab[80];
	memset(lab, 'a', 64);
	strcpy(lab + 64, ".test");
	assert_int_equal(sh_dns_client_qname(lab, w, &n), SH_EINVAL);
	strcpy(lab + 63, ".test");
	assert_int_equal(sh_dns_client_qname(lab, w, &n), 0);
	/* 253 characters fit, 254 do not */
	char longn[300];
	size_t o = 0;
	while (o < 240) {
		memcpy(longn + o, "abcdefghi.", 10);
		o += 10;
	}
	memcpy(longn + o, "abcdefghijkl", 12);
	longn[o + 12] = 0;
	assert_int_equal(strlen(longn), 252);
	assert_int_equal(sh_dns_client_qname(longn, w, &n), 0);
	strcat(longn, "m");
	assert_int_equal(sh_dns_client_qname(longn, w, &n), 0);
	assert_int_equal(n, 255);
	strcat(longn, "n");
	assert_int_equal(sh_dns_client_qname(longn, w, &n), SH_EINVAL);
}

static void test_server(void **state)
{
	(void)state;
	struct sockaddr_storage ss;
	socklen_t len;
	assert_int_equal(sh_dns_client_server("127.0.0.1", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 53);
	assert_int_equal(sh_dns_client_server("::1#5353", &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 5353);
	assert_int_equal(sh_dns_client_server("192.0.2.1#0", &ss, &len), SH_EINVAL);
	assert_int_equal(sh_dns_client_server("192.0.2.1#65536", &ss, &len), SH_EINVAL);
	assert_int_equal(sh_dns_client_server("192.0.2.1#", &ss, &len), SH_EINVAL);
	assert_int_equal(sh_dns_client_server("192.0.2.1#-5", &ss, &len), SH_EINVAL);
	assert_int_equal(sh_dns_client_server("resolver.test", &ss, &len), SH_EINVAL);
	assert_int_equal(sh_dns_client_server("#53", &ss, &len), SH_EINVAL);

	char path[] = "/tmp/sh-resolv-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char conf[] = "# generated\nsearch example.test\nnameserver 2001:db8::53\nnameserver 192.0.2.9\n";
	assert_int_equal(write(fd, conf, sizeof(conf) - 1), (ssize_t)sizeof(conf) - 1);
	close(fd);
	assert_int_equal(sh_dns_client_default_server(path, &ss, &len), 0);
	assert_int_equal(ss.ss_family, AF_INET6);
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 53);
	unlink(path);
	assert_int_equal(sh_dns_client_default_server(path, &ss, &len), 0); /* none: loopback */
	assert_int_equal(ss.ss_family, AF_INET);
	assert_int_equal(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
}

/* ---- the client against a scripted server ------------------------------------------------- */

/* A child on a loopback UDP socket that, per query: ignores the first try of "slow.test",
 * answers "spoof.test" first with a wrong id and then with a wrong question before the real
 * answer, answers "bad.test" with a malformed packet, and "www.test" and "x<N>.test" with
 * 192.0.2.1. It exits after `queries` datagrams. */
static pid_t serve(int fd, unsigned queries)
{
	pid_t pid = fork();
	if (pid != 0)
		return pid;
	uint8_t q[512], r[600];
	bool slow_seen = false;
	for (unsigned i = 0; i < queries; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n < 12)
			_exit(1);
		size_t qend = 12;
		while (q[qend])
			qend += (size_t)q[qend] + 1;
		qend += 5;
		char nm[256];
		sh_dns_name_str(q + 12, qend - 12 - 4, nm);
		memcpy(r, q, qend);
		r[2] = 0x81;
		r[3] = 0x80;
		r[7] = 1; /* one answer */
		r[9] = r[11] = 0;
		size_t n0 = qend;
		static const uint8_t a[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 1, 0, 0, 4, 192, 0, 2, 1};
		memcpy(r + n0, a, sizeof(a));
		size_t rl = n0 + sizeof(a);
		if (strcmp(nm, "slow.test") == 0 && !slow_seen) {
			slow_seen = true;
			continue;
		}
		if (strcmp(nm, "spoof.test") == 0) {
			r[0] ^= 0xff; /* another id */
			sendto(fd, r, rl, 0, (struct sockaddr *)&from, fl);
			r[0] ^= 0xff;
			r[13] ^= 0x01; /* "rpoof.test": another question */
			sendto(fd, r, rl, 0, (struct sockaddr *)&from, fl);
			r[13] ^= 0x01;
		}
		if (strcmp(nm, "bad.test") == 0)
			rl -= 2; /* the A record cut */
		sendto(fd, r, rl, 0, (struct sockaddr *)&from, fl);
	}
	_exit(0);
}

struct seen {
	enum sh_dns_outcome oc[64];
	size_t n_ip[64];
	unsigned calls;
};

static int seen_cb(size_t i, enum sh_dns_outcome oc, const struct sh_dns_reply *r, void *arg)
{
	struct seen *s = arg;
	s->oc[i] = oc;
	s->n_ip[i] = r ? r->n_ip : 0;
	s->calls++;
	return 0;
}

static void test_client(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	struct sh_dns_question q[24] = {
		{"www.test", SH_DNS_T_A},   {"slow.test", SH_DNS_T_A}, {"spoof.test", SH_DNS_T_A},
		{"bad.test", SH_DNS_T_A},   {"bad name.test", SH_DNS_T_A},
	};
	char names[19][16];
	for (int i = 0; i < 19; i++) {
		snprintf(names[i], sizeof(names[i]), "x%d.test", i);
		q[5 + i] = (struct sh_dns_question){names[i], SH_DNS_T_A};
	}
	/* 23 asked + slow's retry + bad's 2 retries */
	pid_t pid = serve(fd, 26);
	struct sh_dns_client_opts o = {4, 300, 2};
	struct seen s = {0};
	struct sh_dns_client_stats st;
	assert_int_equal(sh_dns_client_resolve((struct sockaddr *)&sa, sl, &o, q, 24, seen_cb, &s, &st), 0);
	int status;
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(fd);
	assert_int_equal(s.calls, 24);
	assert_int_equal(s.oc[0], SH_DNS_ANSWERED);
	assert_int_equal(s.n_ip[0], 1);
	assert_int_equal(s.oc[1], SH_DNS_ANSWERED); /* on its second try */
	assert_int_equal(s.oc[2], SH_DNS_ANSWERED);
	assert_int_equal(s.oc[3], SH_DNS_MALFORMED);
	assert_int_equal(s.oc[4], SH_DNS_BADNAME);
	for (int i = 5; i < 24; i++)
		assert_int_equal(s.oc[i], SH_DNS_ANSWERED);
	assert_int_equal(st.sent, 26);
	assert_int_equal(st.retried, 3);
	assert_int_equal(st.received, 22);
	assert_int_equal(st.malformed, 3);
	assert_int_equal(st.ignored, 2);
}

static void test_unreachable(void **state)
{
	(void)state;
	/* a port nothing listens on: bound and closed again */
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sl), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	struct sh_dns_question q[3] = {{"a.test", SH_DNS_T_A}, {"b.test", SH_DNS_T_AAAA},
				       {"c.test", SH_DNS_T_NS}};
	struct sh_dns_client_opts o = {2, 2000, 1};
	struct seen s = {0};
	assert_int_equal(sh_dns_client_resolve((struct sockaddr *)&sa, sl, &o, q, 3, seen_cb, &s, NULL), 0);
	assert_int_equal(s.calls, 3);
	for (int i = 0; i < 3; i++)
		assert_true(s.oc[i] == SH_DNS_UNREACHABLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a),
		cmocka_unit_test(test_aaaa),
		cmocka_unit_test(test_ns),
		cmocka_unit_test(test_cname_chain),
		cmocka_unit_test(test_cname_loop),
		cmocka_unit_test(test_pointer_loops),
		cmocka_unit_test(test_wrong_question),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_rcodes),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_qname),
		cmocka_unit_test(test_server),
		cmocka_unit_test(test_client),
		cmocka_unit_test(test_unreachable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
