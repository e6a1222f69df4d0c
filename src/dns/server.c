/* The DNSBL server: UDP workers, a TCP thread, and safe generation swaps.
 *
 * Each UDP worker owns one SO_REUSEPORT socket per listening address, so the kernel spreads
 * queries over the workers with no shared queue; it reads a batch with recvmmsg, answers
 * every query with sh_dns_answer and sends the batch with sendmmsg.
 *
 * Reclamation is quiescent-state based: a worker publishes the global epoch while it holds
 * a generation pointer (one batch) and 0 while it blocks. A swap exchanges the pointer,
 * bumps the epoch, and frees the old generation once every worker is either idle or has
 * started a batch after the bump. Readers never take a lock and never wait. */
#include "dns/server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "dns/answer.h"

#define VLEN 64
#define INBUF 2048
#define TCP_OUT_HIGH (256 * 1024)

/* Response rate limiting: a token bucket per client network, in a small per-worker table
 * (a client whose queries reach several workers gets the rate from each). */
#define RRL_SLOTS 8192
struct rrl_slot {
	uint64_t key;
	uint32_t sec;
	int32_t balance;
};

struct worker {
	struct sh_dns_server *s;
	struct rrl_slot *rrl;
	unsigned slip_count;
	pthread_t th;
	int *fds;
	size_t nfds;
	bool tcp;
	_Atomic uint64_t epoch;
	_Atomic uint64_t queries, truncated, dropped, refused_conns, transfers, rrl_dropped, rrl_slipped;
};

struct sh_dns_server {
	struct sh_dns_listen *listen;
	size_t nlisten;
	unsigned tcp_max, tcp_idle_ms;
	const struct sh_dns_acl *xfr_acl;
	unsigned rrl_rate, rrl_slip;
	_Atomic(struct sh_dns_gen *) gen;
	_Atomic uint64_t gepoch;
	atomic_bool stop;
	struct worker *w;
	unsigned nw; /* UDP workers, then the TCP worker */
	bool started;
};

static void enter(struct worker *w)
{
	atomic_store(&w->epoch, atomic_load(&w->s->gepoch));
}
static void leave(struct worker *w) { atomic_store(&w->epoch, 0); }

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int udp_socket(const struct sh_dns_listen *l)
{
	int fd = socket(l->addr.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1, rcv = 4 << 20;
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	struct timeval tv = {0, 200000}; /* wake up to notice a stop */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->len) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int tcp_socket(const struct sh_dns_listen *l)
{
	int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (l->addr.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&l->addr, l->len) != 0 || listen(fd, 128) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int sh_dns_server_new(const struct sh_dns_server_conf *c, struct sh_dns_server **out)
{
	*out = NULL;
	if (!c->nlisten || !c->threads)
		return SH_EINVAL;
	struct sh_dns_server *s = calloc(1, sizeof(*s));
	if (!s)
		return SH_ENOMEM;
	s->nlisten = c->nlisten;
	s->tcp_max = c->tcp_max ? c->tcp_max : 1;
	s->tcp_idle_ms = c->tcp_idle_ms ? c->tcp_idle_ms : 10000;
	s->xfr_acl = c->xfr_acl;
	s->rrl_rate = c->rrl_rate;
	s->rrl_slip = c->rrl_slip;
	atomic_init(&s->gepoch, 1);
	s->nw = c->threads + 1;
	s->listen = calloc(c->nlisten, sizeof(*s->listen));
	s->w = calloc(s->nw, sizeof(*s->w));
	if (!s->listen || !s->w) {
		sh_dns_server_free(s);
		return SH_ENOMEM;
	}
	memcpy(s->listen, c->listen, c->nlisten * sizeof(*s->listen));
	int rc = 0;
	for (unsigned i = 0; i < s->nw && !rc; i++) {
		struct worker *w = &s->w[i];
		w->s = s;
		w->tcp = i == s->nw - 1;
		w->fds = malloc(c->nlisten * sizeof(int));
		if (!w->fds) {
			rc = SH_ENOMEM;
			break;
		}
		for (size_t j = 0; j < c->nlisten; j++) {
			int fd = w->tcp ? tcp_socket(&c->listen[j]) : udp_socket(&c->listen[j]);
			if (fd < 0) {
				rc = SH_EIO;
				break;
			}
			w->fds[w->nfds++] = fd;
		}
	}
	if (rc) {
		int e = errno;
		sh_dns_server_free(s);
		errno = e;
		return rc;
	}
	*out = s;
	return 0;
}

/* The client's /24 (IPv4) or /56 (IPv6), folded to 64 bits. */
static uint64_t rrl_key(const struct sockaddr_storage *a)
{
	if (a->ss_family == AF_INET) {
		const uint8_t *p = (const uint8_t *)&((const struct sockaddr_in *)a)->sin_addr;
		return 0x4000000000000000ull | (uint64_t)p[0] << 16 | (uint64_t)p[1] << 8 | p[2];
	}
	const uint8_t *p = (const uint8_t *)&((const struct sockaddr_in6 *)a)->sin6_addr;
	uint64_t k = 0x6000000000000000ull;
	for (int i = 0; i < 7; i++)
		k = (k << 8) ^ p[i];
	return k;
}

/* True when a response to this client may go out now. */
static bool rrl_allow(struct worker *w, const struct sockaddr_storage *a, uint32_t now)
{
	uint64_t k = rrl_key(a);
	uint64_t h = k * 0x9e3779b97f4a7c15ull;
	struct rrl_slot *sl = &w->rrl[h >> (64 - 13)];
	int32_t rate = (int32_t)w->s->rrl_rate;
	if (sl->key != k) {
		sl->key = k;
		sl->sec = now;
		sl->balance = rate;
	} else if (sl->sec != now) {
		int64_t b = (int64_t)sl->balance + (int64_t)(now - sl->sec) * rate;
		sl->balance = (int32_t)(b > rate ? rate : b);
		sl->sec = now;
	}
	if (sl->balance > -rate) /* bounded debt, so a flood does not stay limited forever */
		sl->balance--;
	return sl->balance >= 0;
}

static void udp_batch(struct worker *w, int fd, struct mmsghdr *in, int n, uint8_t (*outb)[SH_DNS_UDP_MAX],
		      struct mmsghdr *outm, struct iovec *oiov)
{
	enter(w);
	const struct sh_dns_gen *g = atomic_load(&w->s->gen);
	uint32_t now = 0;
	if (w->rrl) {
		struct timespec ts;
		clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
		now = (uint32_t)ts.tv_sec;
	}
	int m = 0;
	for (int k = 0; k < n; k++) {
		struct sh_dns_ainfo info;
		size_t len = sh_dns_answer(g, in[k].msg_hdr.msg_iov->iov_base, in[k].msg_len, false,
					   outb[k], SH_DNS_UDP_MAX, &info);
		if (!len) {
			atomic_fetch_add_explicit(&w->dropped, 1, memory_order_relaxed);
			continue;
		}
		if (w->rrl && !rrl_allow(w, in[k].msg_hdr.msg_name, now)) {
			unsigned slip = w->s->rrl_slip;
			if (!slip || ++w->slip_count % slip != 0) {
				atomic_fetch_add_explicit(&w->rrl_dropped, 1, memory_order_relaxed);
				continue;
			}
			/* slip: an empty truncated answer sends a real client to TCP */
			len = info.qend;
			outb[k][2] |= 2;
			memset(outb[k] + 6, 0, 6);
			atomic_fetch_add_explicit(&w->rrl_slipped, 1, memory_order_relaxed);
		}
		if (info.truncated)
			atomic_fetch_add_explicit(&w->truncated, 1, memory_order_relaxed);
		oiov[m].iov_base = outb[k];
		oiov[m].iov_len = len;
		memset(&outm[m].msg_hdr, 0, sizeof(outm[m].msg_hdr));
		outm[m].msg_hdr.msg_name = in[k].msg_hdr.msg_name;
		outm[m].msg_hdr.msg_namelen = in[k].msg_hdr.msg_namelen;
		outm[m].msg_hdr.msg_iov = &oiov[m];
		outm[m].msg_hdr.msg_iovlen = 1;
		m++;
	}
	leave(w);
	atomic_fetch_add_explicit(&w->queries, (uint64_t)n, memory_order_relaxed);
	for (int sent = 0; sent < m;) {
		int r = sendmmsg(fd, outm + sent, (unsigned)(m - sent), 0);
		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			sent++; /* skip the message that failed (e.g. an unreachable peer) */
			continue;
		}
		sent += r;
	}
}

static void *udp_main(void *arg)
{
	struct worker *w = arg;
	struct udp_bufs {
		uint8_t in[VLEN][INBUF];
		uint8_t out[VLEN][SH_DNS_UDP_MAX];
		struct sockaddr_storage from[VLEN];
		struct iovec iiov[VLEN], oiov[VLEN];
		struct mmsghdr inm[VLEN], outm[VLEN];
	} *b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	struct pollfd *pfd = calloc(w->nfds, sizeof(*pfd));
	if (w->s->rrl_rate)
		w->rrl = calloc(RRL_SLOTS, sizeof(*w->rrl));
	if (!pfd || (w->s->rrl_rate && !w->rrl)) {
		free(pfd);
		free(b);
		return NULL;
	}
	for (size_t j = 0; j < w->nfds; j++) {
		pfd[j].fd = w->fds[j];
		pfd[j].events = POLLIN;
	}
	for (int k = 0; k < VLEN; k++) {
		b->iiov[k].iov_base = b->in[k];
		b->iiov[k].iov_len = INBUF;
		b->inm[k].msg_hdr.msg_name = &b->from[k];
		b->inm[k].msg_hdr.msg_namelen = sizeof(b->from[k]);
		b->inm[k].msg_hdr.msg_iov = &b->iiov[k];
		b->inm[k].msg_hdr.msg_iovlen = 1;
	}
	while (!atomic_load_explicit(&w->s->stop, memory_order_relaxed)) {
		bool got = false;
		for (size_t j = 0; j < w->nfds; j++) {
			/* one socket: block for the first packet, then take what is queued */
			int flags = w->nfds == 1 ? MSG_WAITFORONE : MSG_DONTWAIT;
			int n = recvmmsg(w->fds[j], b->inm, VLEN, flags, NULL);
			if (n > 0) {
				got = true;
				udp_batch(w, w->fds[j], b->inm, n, b->out, b->outm, b->oiov);
				/* the kernel wrote these: restore them for the next call */
				for (int k = 0; k < n; k++) {
					b->inm[k].msg_hdr.msg_namelen = sizeof(b->from[k]);
					b->inm[k].msg_hdr.msg_controllen = 0;
					b->inm[k].msg_hdr.msg_flags = 0;
				}
			}
		}
		if (!got && w->nfds > 1)
			poll(pfd, w->nfds, 200);
	}
	free(w->rrl);
	free(pfd);
	free(b);
	return NULL;
}

struct conn {
	int fd;
	struct sockaddr_storage peer;
	uint8_t *in;
	size_t inlen, incap;
	uint8_t *out;
	size_t outlen, outoff, outcap;
	int64_t last;
	bool want_out;
};

static void conn_close(int ep, struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->in);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* Sends what is pending; false when the connection broke. */
static bool conn_flush(int ep, struct conn *c, size_t idx)
{
	while (c->outoff < c->outlen) {
		ssize_t r = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
		if (r > 0) {
			c->outoff += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (!c->want_out) {
				struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.u64 = idx};
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				c->want_out = true;
			}
			return true;
		}
		return false;
	}
	c->outoff = c->outlen = 0;
	if (c->want_out) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = idx};
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->want_out = false;
	}
	return true;
}

/* Answers every complete message in the input buffer (pipelining, RFC 7766). */
static bool conn_process(struct worker *w, struct conn *c, uint8_t *resp)
{
	size_t off = 0;
	bool ok = true;
	enter(w);
	const struct sh_dns_gen *g = atomic_load(&w->s->gen);
	while (c->inlen - off >= 2 && c->outlen - c->outoff < TCP_OUT_HIGH) {
		size_t ml = sh_dns_get16(c->in + off);
		if (c->inlen - off - 2 < ml)
			break;
		struct sh_dns_ainfo info;
		size_t rl = sh_dns_answer(g, c->in + off + 2, ml, true, resp, 65535, &info);
		atomic_fetch_add_explicit(&w->queries, 1, memory_order_relaxed);
		if (!rl) {
			ok = false; /* not a query: the stream cannot be trusted */
			break;
		}
		if (info.transfer && info.zone && info.zone->xfr && w->s->xfr_acl &&
		    sh_dns_acl_match(w->s->xfr_acl, (const struct sockaddr *)&c->peer)) {
			/* the whole transfer goes to the output buffer (REFUSED below otherwise) */
			int xrc = sh_dns_xfr_respond(g, c->in + off + 2, ml, info.zone, &c->out, &c->outlen,
						     &c->outcap);
			off += 2 + ml;
			atomic_fetch_add_explicit(&w->transfers, 1, memory_order_relaxed);
			if (xrc) {
				ok = false;
				break;
			}
			continue;
		}
		off += 2 + ml;
		size_t need = c->outlen + 2 + rl;
		if (need > c->outcap) {
			size_t nc = c->outcap ? c->outcap : 4096;
			while (nc < need)
				nc *= 2;
			uint8_t *no = realloc(c->out, nc);
			if (!no) {
				ok = false;
				break;
			}
			c->out = no;
			c->outcap = nc;
		}
		c->out[c->outlen] = (uint8_t)(rl >> 8);
		c->out[c->outlen + 1] = (uint8_t)rl;
		memcpy(c->out + c->outlen + 2, resp, rl);
		c->outlen += 2 + rl;
	}
	leave(w);
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	return ok;
}

static void *tcp_main(void *arg)
{
	struct worker *w = arg;
	struct sh_dns_server *s = w->s;
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct conn *conns = calloc(s->tcp_max, sizeof(*conns));
	uint8_t *resp = malloc(65535);
	if (ep < 0 || !conns || !resp) {
		if (ep >= 0)
			close(ep);
		free(conns);
		free(resp);
		return NULL;
	}
	for (unsigned i = 0; i < s->tcp_max; i++)
		conns[i].fd = -1;
	const uint64_t LISTEN = 1ull << 40;
	for (size_t j = 0; j < w->nfds; j++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = LISTEN | j};
		epoll_ctl(ep, EPOLL_CTL_ADD, w->fds[j], &ev);
	}
	unsigned nconn = 0;
	int64_t last_sweep = now_ms();
	struct epoll_event evs[64];
	while (!atomic_load_explicit(&s->stop, memory_order_relaxed)) {
		int n = epoll_wait(ep, evs, 64, 200);
		int64_t now = now_ms();
		for (int i = 0; i < n; i++) {
			uint64_t d = evs[i].data.u64;
			if (d & LISTEN) {
				int lfd = w->fds[d & 0xffff];
				for (;;) {
					struct sockaddr_storage peer;
					socklen_t pl = sizeof(peer);
					int fd = accept4(lfd, (struct sockaddr *)&peer, &pl, SOCK_NONBLOCK | SOCK_CLOEXEC);
					if (fd < 0)
						break;
					if (nconn >= s->tcp_max) {
						atomic_fetch_add_explicit(&w->refused_conns, 1, memory_order_relaxed);
						close(fd);
						continue;
					}
					unsigned k = 0;
					while (conns[k].fd >= 0)
						k++;
					conns[k].fd = fd;
					conns[k].peer = peer;
					conns[k].last = now;
					struct epoll_event ev = {.events = EPOLLIN, .data.u64 = k};
					if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
						close(fd);
						conns[k].fd = -1;
						continue;
					}
					nconn++;
				}
				continue;
			}
			struct conn *c = &conns[d];
			if (c->fd < 0)
				continue;
			bool ok = true, eof = false;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
				for (;;) {
					if (c->incap - c->inlen < 4096) {
						size_t nc = c->incap ? c->incap * 2 : 8192;
						if (nc > 2 * 65538)
							nc = 2 * 65538;
						if (nc <= c->incap)
							break; /* full: wait until the output drains */
						uint8_t *ni = realloc(c->in, nc);
						if (!ni) {
							ok = false;
							break;
						}
						c->in = ni;
						c->incap = nc;
					}
					ssize_t r = recv(c->fd, c->in + c->inlen, c->incap - c->inlen, 0);
					if (r > 0) {
						c->inlen += (size_t)r;
						c->last = now;
						continue;
					}
					if (r == 0)
						eof = true;
					else if (errno == EINTR)
						continue;
					else if (errno != EAGAIN && errno != EWOULDBLOCK)
						ok = false;
					break;
				}
			}
			if (ok)
				ok = conn_process(w, c, resp);
			if (ok)
				ok = conn_flush(ep, c, (size_t)d);
			if (!ok || (eof && c->outoff >= c->outlen)) {
				conn_close(ep, c);
				nconn--;
			}
		}
		if (now - last_sweep >= 200) {
			last_sweep = now;
			for (unsigned k = 0; k < s->tcp_max; k++)
				if (conns[k].fd >= 0 && now - conns[k].last > (int64_t)s->tcp_idle_ms) {
					conn_close(ep, &conns[k]);
					nconn--;
				}
		}
	}
	for (unsigned k = 0; k < s->tcp_max; k++)
		if (conns[k].fd >= 0)
			conn_close(ep, &conns[k]);
	close(ep);
	free(conns);
	free(resp);
	return NULL;
}

int sh_dns_server_start(struct sh_dns_server *s, struct sh_dns_gen *g)
{
	atomic_store(&s->gen, g);
	for (unsigned i = 0; i < s->nw; i++) {
		if (pthread_create(&s->w[i].th, NULL, s->w[i].tcp ? tcp_main : udp_main, &s->w[i]) != 0) {
			atomic_store(&s->stop, true);
			for (unsigned j = 0; j < i; j++)
				pthread_join(s->w[j].th, NULL);
			return SH_ENOMEM;
		}
	}
	s->started = true;
	return 0;
}

const struct sh_dns_gen *sh_dns_server_gen(const struct sh_dns_server *s)
{
	return atomic_load(&((struct sh_dns_server *)s)->gen);
}

void sh_dns_server_swap(struct sh_dns_server *s, struct sh_dns_gen *g)
{
	struct sh_dns_gen *old = atomic_exchange(&s->gen, g);
	uint64_t e = atomic_fetch_add(&s->gepoch, 1) + 1;
	for (unsigned i = 0; i < s->nw; i++) {
		for (;;) {
			uint64_t we = atomic_load(&s->w[i].epoch);
			if (we == 0 || we >= e)
				break;
			struct timespec ts = {0, 100000};
			nanosleep(&ts, NULL);
		}
	}
	sh_dns_gen_free(old);
}

void sh_dns_server_stats(const struct sh_dns_server *s, struct sh_dns_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < s->nw; i++) {
		struct worker *w = &s->w[i];
		uint64_t q = atomic_load(&w->queries);
		if (w->tcp)
			out->tcp_queries += q;
		else
			out->udp_queries += q;
		out->truncated += atomic_load(&w->truncated);
		out->dropped += atomic_load(&w->dropped);
		out->tcp_refused_conns += atomic_load(&w->refused_conns);
		out->transfers += atomic_load(&w->transfers);
		out->rrl_dropped += atomic_load(&w->rrl_dropped);
		out->rrl_slipped += atomic_load(&w->rrl_slipped);
	}
}

void sh_dns_server_free(struct sh_dns_server *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, true);
	if (s->started)
		for (unsigned i = 0; i < s->nw; i++)
			pthread_join(s->w[i].th, NULL);
	for (unsigned i = 0; s->w && i < s->nw; i++) {
		for (size_t j = 0; j < s->w[i].nfds; j++)
			close(s->w[i].fds[j]);
		free(s->w[i].fds);
	}
	free(s->w);
	free(s->listen);
	sh_dns_gen_free(atomic_load(&s->gen));
	free(s);
}
