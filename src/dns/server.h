/* The DNSBL server: UDP workers (SO_REUSEPORT, recvmmsg/sendmmsg), a TCP thread with
 * bounded, pipelined connections, and generation swaps that never make a query wait. */
#ifndef SH_DNS_SERVER_H
#define SH_DNS_SERVER_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/data.h"
#include "dns/xfr.h"
#include "lib/err.h"

struct sh_dns_server;

struct sh_dns_listen {
	struct sockaddr_storage addr;
	socklen_t len;
};

struct sh_dns_server_conf {
	const struct sh_dns_listen *listen;
	size_t nlisten;
	unsigned threads;      /* UDP workers */
	unsigned tcp_max;      /* concurrent TCP connections */
	unsigned tcp_idle_ms;  /* idle TCP connections are closed after this */
	const struct sh_dns_acl *xfr_acl; /* who may transfer zones (NULL: nobody) */
	unsigned rrl_rate;     /* UDP responses per second per client /24 or /56; 0: no limit */
	unsigned rrl_slip;     /* every slip-th limited response goes out truncated (0: none) */
};

/* Creates and binds every socket (so privileges can be dropped afterwards). */
SH_MUST_CHECK int sh_dns_server_new(const struct sh_dns_server_conf *c, struct sh_dns_server **out);
/* Starts the worker threads serving g (the server owns g from now on). */
SH_MUST_CHECK int sh_dns_server_start(struct sh_dns_server *s, struct sh_dns_gen *g);
/* The generation being served (valid for the caller until its next swap). */
const struct sh_dns_gen *sh_dns_server_gen(const struct sh_dns_server *s);
/* Publishes g, waits until no worker can still read the old one, and frees it. */
void sh_dns_server_swap(struct sh_dns_server *s, struct sh_dns_gen *g);
/* Stops the threads, closes the sockets and frees everything. */
void sh_dns_server_free(struct sh_dns_server *s);

struct sh_dns_stats {
	uint64_t udp_queries, tcp_queries, truncated, dropped, tcp_refused_conns, transfers;
	uint64_t rrl_dropped, rrl_slipped;
};
void sh_dns_server_stats(const struct sh_dns_server *s, struct sh_dns_stats *out);

#endif
