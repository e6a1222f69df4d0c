/* Stub DNS client: many questions in flight over one UDP socket to a recursive resolver, TCP
 * for truncated answers, and a bounds-checked parser of the answers.
 *
 * Design: the questions are worked through with a fixed table of slots (the concurrency). A
 * slot holds one question until it is answered or out of tries; its id is random and unique
 * among the slots, so a datagram is matched by id first and then must also carry the slot's
 * question (name, type, class) to count. The socket is connected, so the kernel drops
 * datagrams from other addresses and reports ICMP errors; such an error cannot be tied to one
 * question, so it ends the current try of every slot in flight (each retried as after a
 * timeout, and reported unreachable when that was its last try). A truncated answer is asked
 * again over TCP right away, while the other slots wait: rare enough (answers of more than
 * 1232 bytes) not to be worth a second event source; the waiting slots keep their deadlines
 * and at worst are sent again. */
#include "dns/client.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* ---- parsing -------------------------------------------------------------------------- */

/* Expands the possibly compressed name at off into out (uncompressed, lowercased). Every
 * pointer must point before the place it jumped from last, so jumps strictly decrease and
 * a pointer loop cannot run forever. Reads only p[0..len). */
static int name_get(const uint8_t *p, size_t len, size_t off, uint8_t out[256], size_t *out_len)
{
	size_t o = off, seg = off, n = 0;
	unsigned jumps = 0;
	for (;;) {
		if (o >= len)
			return SH_EINVAL;
		uint8_t l = p[o];
		if ((l & 0xc0) == 0xc0) {
			if (o + 2 > len)
				return SH_EINVAL;
			size_t t = ((size_t)(l & 0x3f) << 8) | p[o + 1];
			if (t >= seg || ++jumps > SH_DNS_MAXLABELS)
				return SH_EINVAL;
			o = seg = t;
			continue;
		}
		if (l & 0xc0 || n + 1 + l > 255)
			return SH_EINVAL;
		out[n++] = l;
		if (l == 0)
			break;
		if (o + 1 + l > len)
			return SH_EINVAL;
		for (size_t i = 0; i < l; i++) {
			uint8_t c = p[o + 1 + i];
			out[n++] = c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
		}
		o += 1 + (size_t)l;
	}
	*out_len = n;
	return 0;
}

static bool name_eq(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* One resource record of the answer section. */
struct rr {
	size_t owner; /* offset of its owner name */
	uint16_t type, klass;
	size_t rdata, rdlen;
};

/* Reads the record at *off and moves past it. */
static int rr_get(const uint8_t *p, size_t len, size_t *off, struct rr *r)
{
	size_t o = *off;
	r->owner = o;
	if (!sh_dns_skip_name(p, len, &o) || o + 10 > len)
		return SH_EINVAL;
	r->type = sh_dns_get16(p + o);
	r->klass = sh_dns_get16(p + o + 2);
	r->rdlen = sh_dns_get16(p + o + 8);
	r->rdata = o + 10;
	if (r->rdlen > len - r->rdata)
		return SH_EINVAL;
	*off = r->rdata + r->rdlen;
	return 0;
}

/* Finds the CNAME of IN class owned by name in the answer section; 1 with its target in
 * next, 0 when there is none. */
static int cname_of(const uint8_t *p, size_t len, size_t an, unsigned ancount,
		    const uint8_t *name, size_t name_len, uint8_t next[256], size_t *next_len)
{
	uint8_t own[256];
	size_t own_len, o = an;
	for (unsigned i = 0; i < ancount; i++) {
		struct rr r;
		if (rr_get(p, len, &o, &r) != 0)
			return SH_EINVAL;
		if (r.type != SH_DNS_T_CNAME || r.klass != SH_DNS_C_IN)
			continue;
		int rc = name_get(p, len, r.owner, own, &own_len);
		if (rc != 0)
			return rc;
		if (!name_eq(own, own_len, name, name_len))
			continue;
		/* the target must lie inside the RDATA (its pointers may leave it) */
		size_t t = r.rdata;
		if (!sh_dns_skip_name(p, r.rdata + r.rdlen, &t) || t != r.rdata + r.rdlen)
			return SH_EINVAL;
		rc = name_get(p, len, r.rdata, next, next_len);
		return rc != 0 ? rc : 1;
	}
	return 0;
}

int sh_dns_client_parse(const uint8_t *pkt, size_t len, const uint8_t *qname, size_t qname_len,
			uint16_t qtype, struct sh_dns_reply *out)
{
	out->rcode = 0;
	out->tc = false;
	out->cname_hops = 0;
	out->cname_loop = false;
	out->n_ip = out->n_ns = out->n_dropped = 0;
	if (len < SH_DNS_HDR)
		return SH_EINVAL;
	if (!(pkt[2] & 0x80) || ((pkt[2] >> 3) & 15) != SH_DNS_OP_QUERY)
		return SH_ENOENT;
	if (sh_dns_get16(pkt + 4) != 1)
		return sh_dns_get16(pkt + 4) > 1 ? SH_EINVAL : SH_ENOENT;
	uint8_t name[256], next[256];
	size_t name_len, name_len2, o = SH_DNS_HDR;
	int rc = name_get(pkt, len, o, name, &name_len);
	if (rc != 0)
		return rc;
	if (!sh_dns_skip_name(pkt, len, &o) || o + 4 > len)
		return SH_EINVAL;
	if (!name_eq(name, name_len, qname, qname_len) || sh_dns_get16(pkt + o) != qtype ||
	    sh_dns_get16(pkt + o + 2) != SH_DNS_C_IN)
		return SH_ENOENT;
	size_t an = o + 4;
	unsigned ancount = sh_dns_get16(pkt + 6);
	out->rcode = pkt[3] & 15;
	out->tc = (pkt[2] & 2) != 0;

	/* every answer record must be well-formed, whether or not it is ours */
	o = an;
	for (unsigned i = 0; i < ancount; i++) {
		struct rr r;
		if (rr_get(pkt, len, &o, &r) != 0 || name_get(pkt, len, r.owner, next, &name_len2) != 0)
			return SH_EINVAL;
	}

	/* follow the chain from the name asked */
	for (;;) {
		size_t next_len;
		rc = cname_of(pkt, len, an, ancount, name, name_len, next, &next_len);
		if (rc < 0)
			return rc;
		if (rc == 0)
			break;
		if (out->cname_hops == SH_DNS_CNAME_MAX) {
			out->cname_loop = true;
			return 0;
		}
		out->cname_hops++;
		memcpy(name, next, next_len);
		name_len = next_len;
	}

	o = an;
	for (unsigned i = 0; i < ancount; i++) {
		struct rr r;
		uint8_t own[256];
		size_t own_len;
		if (rr_get(pkt, len, &o, &r) != 0)
			return SH_EINVAL;
		if (r.type != qtype || r.klass != SH_DNS_C_IN)
			continue;
		rc = name_get(pkt, len, r.owner, own, &own_len);
		if (rc != 0)
			return rc;
		if (!name_eq(own, own_len, name, name_len))
			continue;
		if (qtype == SH_DNS_T_A || qtype == SH_DNS_T_AAAA) {
			size_t alen = qtype == SH_DNS_T_A ? 4 : 16;
			if (r.rdlen != alen)
				return SH_EINVAL;
			if (out->n_ip == SH_DNS_REPLY_MAX) {
				out->n_dropped++;
				continue;
			}
			struct sh_ip *ip = &out->ip[out->n_ip++];
			memset(ip, 0, sizeof(*ip));
			ip->af = qtype == SH_DNS_T_A ? SH_AF_V4 : SH_AF_V6;
			memcpy(ip->b, pkt + r.rdata, alen);
		} else if (qtype == SH_DNS_T_NS) {
			size_t t = r.rdata;
			if (!sh_dns_skip_name(pkt, r.rdata + r.rdlen, &t) || t != r.rdata + r.rdlen)
				return SH_EINVAL;
			rc = name_get(pkt, len, r.rdata, next, &own_len);
			if (rc != 0)
				return rc;
			if (out->n_ns == SH_DNS_REPLY_MAX) {
				out->n_dropped++;
				continue;
			}
			sh_dns_name_str(next, own_len, out->ns[out->n_ns++]);
		}
	}
	return 0;
}

int sh_dns_client_qname(const char *name, uint8_t out[256], size_t *len)
{
	struct sh_dns_wbuf w = {out, 0, 255, false};
	const char *s = name;
	size_t n = strlen(name);
	if (n && name[n - 1] == '.')
		n--;
	if (n == 0)
		return SH_EINVAL;
	const char *end = name + n;
	while (s < end) {
		const char *dot = memchr(s, '.', (size_t)(end - s));
		size_t l = dot ? (size_t)(dot - s) : (size_t)(end - s);
		if (l == 0 || l > 63)
			return SH_EINVAL;
		uint8_t lab[64];
		lab[0] = (uint8_t)l;
		for (size_t i = 0; i < l; i++) {
			unsigned char c = (unsigned char)s[i];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			      c == '-' || c == '_'))
				return SH_EINVAL;
			lab[1 + i] = c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
		}
		sh_dns_put(&w, lab, l + 1);
		s += l + (dot ? 1 : 0);
	}
	sh_dns_put(&w, "", 1);
	if (w.overflow)
		return SH_EINVAL;
	*len = w.len;
	return 0;
}

/* ---- server addresses ----------------------------------------------------------------- */

static int addr_port(const char *host, const char *port, struct sockaddr_storage *out,
		     socklen_t *out_len)
{
	struct addrinfo hints = {0}, *ai;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	hints.ai_socktype = SOCK_DGRAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return SH_EINVAL;
	int rc = SH_EINVAL;
	if (ai->ai_addrlen <= sizeof(*out)) {
		memset(out, 0, sizeof(*out));
		memcpy(out, ai->ai_addr, ai->ai_addrlen);
		*out_len = ai->ai_addrlen;
		rc = 0;
	}
	freeaddrinfo(ai);
	return rc;
}

int sh_dns_client_server(const char *spec, struct sockaddr_storage *out, socklen_t *out_len)
{
	char host[INET6_ADDRSTRLEN + 32];
	const char *port = "53", *hash = strchr(spec, '#');
	size_t n = hash ? (size_t)(hash - spec) : strlen(spec);
	if (n == 0 || n >= sizeof(host))
		return SH_EINVAL;
	memcpy(host, spec, n);
	host[n] = 0;
	if (hash) {
		port = hash + 1;
		char *end;
		errno = 0;
		unsigned long v = strtoul(port, &end, 10);
		if (*port < '0' || *port > '9' || *end || errno || v == 0 || v > 65535)
			return SH_EINVAL;
	}
	return addr_port(host, port, out, out_len);
}

int sh_dns_client_default_server(const char *path, struct sockaddr_storage *out,
				 socklen_t *out_len)
{
	FILE *f = fopen(path ? path : "/etc/resolv.conf", "r");
	char line[512], addr[256] = "127.0.0.1";
	while (f && fgets(line, sizeof(line), f)) {
		char word[16];
		if (sscanf(line, "%15s %255s", word, addr) == 2 && strcmp(word, "nameserver") == 0)
			break;
		strcpy(addr, "127.0.0.1");
	}
	if (f)
		fclose(f);
	return addr_port(addr, "53", out, out_len);
}

const char *sh_dns_outcome_name(enum sh_dns_outcome o)
{
	switch (o) {
	case SH_DNS_ANSWERED:
		return "answered";
	case SH_DNS_TIMEOUT:
		return "timeout";
	case SH_DNS_UNREACHABLE:
		return "unreachable";
	case SH_DNS_MALFORMED:
		return "malformed";
	case SH_DNS_BADNAME:
		return "badname";
	}
	return "unknown";
}

/* ---- the client ------------------------------------------------------------------------- */

struct slot {
	bool busy;
	size_t qi;
	uint16_t id, qtype;
	unsigned tries;
	bool refused, malformed; /* how its latest tries ended */
	int64_t deadline;        /* ms, monotonic */
	uint8_t qname[256];
	size_t qname_len;
};

struct client {
	int fd;
	const struct sockaddr *server;
	socklen_t server_len;
	const struct sh_dns_client_opts *o;
	struct slot *slots;
	size_t busy;
	uint16_t ids[256]; /* random ids not handed out yet */
	size_t n_ids;
	struct sh_dns_reply reply;
	struct sh_dns_client_stats st;
	uint8_t buf[65535];
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int random_id(struct client *c, uint16_t *out)
{
	for (;;) {
		if (c->n_ids == 0) {
			ssize_t r = getrandom(c->ids, sizeof(c->ids), 0);
			if (r != (ssize_t)sizeof(c->ids))
				return SH_EIO;
			c->n_ids = sizeof(c->ids) / sizeof(c->ids[0]);
		}
		uint16_t id = c->ids[--c->n_ids];
		bool used = false;
		for (size_t i = 0; i < c->o->concurrency && !used; i++)
			used = c->slots[i].busy && c->slots[i].id == id;
		if (!used) {
			*out = id;
			return 0;
		}
	}
}

/* The query of slot s: header, question, an OPT record offering SH_DNS_UDP_MAX. */
static size_t query_build(const struct slot *s, uint8_t *buf, size_t cap)
{
	struct sh_dns_wbuf w = {buf, 0, cap, false};
	sh_dns_put16(&w, s->id);
	sh_dns_put16(&w, 0x0100); /* RD */
	sh_dns_put16(&w, 1);
	sh_dns_put16(&w, 0);
	sh_dns_put16(&w, 0);
	sh_dns_put16(&w, 1);
	sh_dns_put(&w, s->qname, s->qname_len);
	sh_dns_put16(&w, s->qtype);
	sh_dns_put16(&w, SH_DNS_C_IN);
	sh_dns_put(&w, "", 1);
	sh_dns_put16(&w, SH_DNS_T_OPT);
	sh_dns_put16(&w, SH_DNS_UDP_MAX);
	sh_dns_put32(&w, 0);
	sh_dns_put16(&w, 0);
	return w.overflow ? 0 : w.len;
}

static bool net_error(int e)
{
	return e == ECONNREFUSED || e == EHOSTUNREACH || e == ENETUNREACH || e == EHOSTDOWN ||
	       e == ENETDOWN || e == EADDRNOTAVAIL;
}

/* Sends the slot's query (again); an unreachable error ends this try at once. */
static int slot_send(struct client *c, struct slot *s)
{
	uint8_t q[300];
	size_t n = query_build(s, q, sizeof(q));
	s->tries++;
	s->refused = false;
	s->deadline = now_ms() + c->o->timeout_ms;
	c->st.sent++;
	if (send(c->fd, q, n, 0) < 0) {
		if (net_error(errno)) {
			s->refused = true;
			s->deadline = 0;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS) {
			return SH_EIO;
		}
	}
	return 0;
}

static int slot_finish(struct client *c, struct slot *s, enum sh_dns_outcome oc,
		       sh_dns_client_cb cb, void *arg)
{
	s->busy = false;
	c->busy--;
	return cb(s->qi, oc, oc == SH_DNS_ANSWERED ? &c->reply : NULL, arg);
}

/* Waits for fd to be ready for events until deadline; false on timeout or error. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd pfd = {fd, events, 0};
		int r = poll(&pfd, 1, (int)left);
		if (r > 0)
			return (pfd.revents & events) != 0;
		if (r == 0 || errno != EINTR)
			return false;
	}
}

static bool tcp_io(int fd, uint8_t *p, size_t n, bool out, int64_t deadline)
{
	while (n) {
		if (!wait_fd(fd, out ? POLLOUT : POLLIN, deadline))
			return false;
		ssize_t r = out ? send(fd, p, n, MSG_NOSIGNAL) : recv(fd, p, n, 0);
		if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
			return false;
		if (r > 0) {
			p += r;
			n -= (size_t)r;
		}
	}
	return true;
}

/* Asks slot s's question over TCP; true with c->reply filled when a matching answer came. */
static bool tcp_ask(struct client *c, const struct slot *s)
{
	int fd = socket(c->server->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	int64_t deadline = now_ms() + c->o->timeout_ms;
	bool ok = false;
	uint8_t q[302];
	size_t n = query_build(s, q + 2, sizeof(q) - 2);
	q[0] = (uint8_t)(n >> 8);
	q[1] = (uint8_t)n;
	int err = 0;
	socklen_t el = sizeof(err);
	if (connect(fd, c->server, c->server_len) != 0) {
		if (errno != EINPROGRESS || !wait_fd(fd, POLLOUT, deadline) ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0)
			goto out;
	}
	uint8_t lenb[2];
	if (!tcp_io(fd, q, n + 2, true, deadline) || !tcp_io(fd, lenb, 2, false, deadline))
		goto out;
	size_t rlen = sh_dns_get16(lenb);
	if (!tcp_io(fd, c->buf, rlen, false, deadline))
		goto out;
	ok = rlen >= 2 && sh_dns_get16(c->buf) == s->id &&
	     sh_dns_client_parse(c->buf, rlen, s->qname, s->qname_len, s->qtype, &c->reply) == 0;
out:
	close(fd);
	return ok;
}

/* Handles one datagram; a completed question is reported through cb. */
static int datagram(struct client *c, size_t n, sh_dns_client_cb cb, void *arg)
{
	if (n < SH_DNS_HDR) {
		c->st.ignored++;
		return 0;
	}
	uint16_t id = sh_dns_get16(c->buf);
	struct slot *s = NULL;
	for (size_t i = 0; i < c->o->concurrency && !s; i++)
		if (c->slots[i].busy && c->slots[i].id == id)
			s = &c->slots[i];
	if (!s) {
		c->st.ignored++;
		return 0;
	}
	int rc = sh_dns_client_parse(c->buf, n, s->qname, s->qname_len, s->qtype, &c->reply);
	if (rc == SH_ENOENT) {
		c->st.ignored++;
		return 0;
	}
	if (rc != 0) {
		c->st.malformed++;
		s->malformed = true;
		return 0;
	}
	c->st.received++;
	if (c->reply.tc) {
		c->st.tcp++;
		struct sh_dns_reply *keep = malloc(sizeof(*keep));
		if (!keep)
			return SH_ENOMEM;
		*keep = c->reply;
		if (!tcp_ask(c, s))
			c->reply = *keep;
		free(keep);
	}
	return slot_finish(c, s, SH_DNS_ANSWERED, cb, arg);
}

/* Reads every datagram waiting; an ICMP error ends the current try of all slots. */
static int drain(struct client *c, sh_dns_client_cb cb, void *arg)
{
	for (;;) {
		ssize_t r = recv(c->fd, c->buf, sizeof(c->buf), MSG_DONTWAIT);
		if (r >= 0) {
			int rc = datagram(c, (size_t)r, cb, arg);
			if (rc != 0)
				return rc;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (!net_error(errno))
			return SH_EIO;
		for (size_t i = 0; i < c->o->concurrency; i++)
			if (c->slots[i].busy) {
				c->slots[i].refused = true;
				c->slots[i].deadline = 0;
			}
	}
}

/* Retries or ends every slot whose try is over. */
static int expire(struct client *c, sh_dns_client_cb cb, void *arg)
{
	int64_t now = now_ms();
	for (size_t i = 0; i < c->o->concurrency; i++) {
		struct slot *s = &c->slots[i];
		if (!s->busy || s->deadline > now)
			continue;
		if (s->tries <= c->o->retries) {
			c->st.retried++;
			int rc = slot_send(c, s);
			if (rc != 0)
				return rc;
			continue;
		}
		enum sh_dns_outcome oc = s->refused ? SH_DNS_UNREACHABLE
				       : s->malformed ? SH_DNS_MALFORMED
						      : SH_DNS_TIMEOUT;
		int rc = slot_finish(c, s, oc, cb, arg);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Puts question qi into a free slot and sends it. */
static int start(struct client *c, const struct sh_dns_question *q, size_t qi,
		 sh_dns_client_cb cb, void *arg)
{
	struct slot *s = c->slots;
	while (s->busy)
		s++;
	memset(s, 0, sizeof(*s));
	if (sh_dns_client_qname(q->name, s->qname, &s->qname_len) != 0)
		return cb(qi, SH_DNS_BADNAME, NULL, arg);
	int rc = random_id(c, &s->id);
	if (rc != 0)
		return rc;
	s->busy = true;
	s->qi = qi;
	s->qtype = q->qtype;
	c->busy++;
	return slot_send(c, s);
}

int sh_dns_client_resolve(const struct sockaddr *server, socklen_t server_len,
			  const struct sh_dns_client_opts *o, const struct sh_dns_question *q,
			  size_t n, sh_dns_client_cb cb, void *arg, struct sh_dns_client_stats *st)
{
	if (o->concurrency == 0 || o->timeout_ms == 0)
		return SH_EINVAL;
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return SH_ENOMEM;
	c->slots = calloc(o->concurrency, sizeof(*c->slots));
	c->o = o;
	c->server = server;
	c->server_len = server_len;
	c->fd = socket(server->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int rc = !c->slots ? SH_ENOMEM : c->fd < 0 ? SH_EIO : 0;
	if (rc == 0 && connect(c->fd, server, server_len) != 0)
		rc = SH_EIO;
	size_t next = 0;
	while (rc == 0 && (next < n || c->busy)) {
		while (rc == 0 && next < n && c->busy < o->concurrency) {
			rc = start(c, &q[next], next, cb, arg);
			next++;
		}
		if (rc != 0 || !c->busy)
			continue;
		int64_t first = INT64_MAX;
		for (size_t i = 0; i < o->concurrency; i++)
			if (c->slots[i].busy && c->slots[i].deadline < first)
				first = c->slots[i].deadline;
		int64_t wait = first - now_ms();
		struct pollfd pfd = {c->fd, POLLIN, 0};
		if (wait > 0 && poll(&pfd, 1, (int)(wait > 60000 ? 60000 : wait)) < 0 && errno != EINTR)
			rc = SH_EIO;
		if (rc == 0)
			rc = drain(c, cb, arg);
		if (rc == 0)
			rc = expire(c, cb, arg);
	}
	if (st)
		*st = c->st;
	if (c->fd >= 0)
		close(c->fd);
	free(c->slots);
	free(c);
	return rc;
}
