/* Stub DNS client: asks one recursive resolver many questions at once over one UDP socket
 * (TCP when an answer is truncated) and reads the A, AAAA and NS data of the answers. */
#ifndef SH_DNS_CLIENT_H
#define SH_DNS_CLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/wire.h"
#include "lib/addr.h"

enum { SH_DNS_T_CNAME = 5 };

#define SH_DNS_REPLY_MAX 32      /* records of the asked type kept per answer */
#define SH_DNS_NAME_STRLEN 1025  /* a presentation name as sh_dns_name_str writes it, + NUL */
#define SH_DNS_CNAME_MAX 8       /* CNAME hops followed inside one answer */

/* What an answer says about the name asked: the data of the asked type owned by that name or
 * by the end of the CNAME chain that starts at it; records owned by other names are ignored. */
struct sh_dns_reply {
	uint8_t rcode;         /* SH_DNS_R_* */
	bool tc;               /* truncated (the client then asks again over TCP) */
	unsigned cname_hops;   /* CNAMEs followed */
	bool cname_loop;       /* the chain loops or is longer than SH_DNS_CNAME_MAX: no data */
	size_t n_ip;           /* A or AAAA */
	struct sh_ip ip[SH_DNS_REPLY_MAX];
	size_t n_ns;           /* NS targets, lowercased presentation form, no trailing dot */
	char ns[SH_DNS_REPLY_MAX][SH_DNS_NAME_STRLEN];
	size_t n_dropped;      /* records of the asked type beyond SH_DNS_REPLY_MAX */
};

/* The wire form of a host name as sheriff normalises them (LDH labels, '_', no escapes, one
 * optional trailing dot), lowercased. SH_EINVAL when it is not such a name or too long. */
SH_MUST_CHECK int sh_dns_client_qname(const char *name, uint8_t out[256], size_t *len);

/* Parses a response to the question (qname: lowercased wire form, qtype, class IN). Returns 0
 * with out filled, SH_ENOENT when pkt is well-formed but not a response to this question
 * (wrong name, type or class, not a response, another opcode), SH_EINVAL when it is
 * malformed (truncated, bad compression pointers, a pointer loop, RDATA of the wrong size).
 * Reads only pkt[0..len). */
SH_MUST_CHECK int sh_dns_client_parse(const uint8_t *pkt, size_t len, const uint8_t *qname,
				      size_t qname_len, uint16_t qtype, struct sh_dns_reply *out);

/* "ADDR" or "ADDR#PORT" (IPv4 or IPv6, numeric; default port 53). SH_EINVAL when malformed. */
SH_MUST_CHECK int sh_dns_client_server(const char *spec, struct sockaddr_storage *out,
				       socklen_t *out_len);
/* The first `nameserver` of a resolv.conf file (path NULL: /etc/resolv.conf), port 53;
 * 127.0.0.1 when the file has none, as the C library does. SH_EINVAL when that entry is not
 * a numeric address. */
SH_MUST_CHECK int sh_dns_client_default_server(const char *path, struct sockaddr_storage *out,
					       socklen_t *out_len);

struct sh_dns_question {
	const char *name; /* a host name as sh_dns_client_qname takes it */
	uint16_t qtype;
};

enum sh_dns_outcome {
	SH_DNS_ANSWERED,    /* a response was parsed: see its rcode */
	SH_DNS_TIMEOUT,     /* no response after every try */
	SH_DNS_UNREACHABLE, /* the server could not be reached (ICMP unreachable, no route) */
	SH_DNS_MALFORMED,   /* only malformed responses came back */
	SH_DNS_BADNAME,     /* the name cannot be asked */
};
const char *sh_dns_outcome_name(enum sh_dns_outcome o);

struct sh_dns_client_opts {
	unsigned concurrency; /* questions in flight at most (>= 1) */
	unsigned timeout_ms;  /* per try (>= 1) */
	unsigned retries;     /* tries after the first */
};

struct sh_dns_client_stats {
	unsigned long sent;      /* UDP queries sent, retries included */
	unsigned long received;  /* responses matched to a question */
	unsigned long tcp;       /* questions asked again over TCP */
	unsigned long ignored;   /* datagrams that matched no question in flight */
	unsigned long malformed; /* responses with a matching id that did not parse */
	unsigned long retried;   /* tries after a timeout or an unreachable error */
};

/* Called once per question, in completion order, with its index in q; r is the response when
 * o is SH_DNS_ANSWERED, else NULL. A non-zero result stops the run and is returned. */
typedef int (*sh_dns_client_cb)(size_t i, enum sh_dns_outcome o, const struct sh_dns_reply *r,
				void *arg);

/* Asks server the n questions of q with recursion desired and EDNS0, at most o->concurrency
 * at once over one connected UDP socket (a kernel-chosen source port, random 16-bit ids unique
 * among the questions in flight). A datagram counts as the response only when its id and its
 * question match one in flight; anything else is ignored. A question unanswered within
 * o->timeout_ms is sent again up to o->retries times. A truncated response is asked again over
 * TCP (its own timeout_ms); when that fails the truncated data is used. Returns 0, a cb
 * result, or SH_EIO / SH_ENOMEM when the socket or memory could not be had. st may be NULL. */
SH_MUST_CHECK int sh_dns_client_resolve(const struct sockaddr *server, socklen_t server_len,
					const struct sh_dns_client_opts *o,
					const struct sh_dns_question *q, size_t n, sh_dns_client_cb cb,
					void *arg, struct sh_dns_client_stats *st);

#endif
