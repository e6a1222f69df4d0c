/* sheriff dnsbl: a foreground DNSBL server over rbldnsd data files (RFC 5782). */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <malloc.h>
#include <netdb.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dns/data.h"
#include "dns/server.h"
#include "dns/wire.h"
#include "dns/xfr.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sheriff dnsbl [-b ADDR/PORT]... [-t THREADS] [OPTIONS] ZONE:TYPE:FILE[,FILE...]...\n\n"
		"Serves DNSBL zones from rbldnsd data files, unchanged (TYPE: ip4set, ip4trie, ip6trie,\n"
		"dnset; files may be gzip-compressed), over UDP and TCP, in the foreground.\n\n"
		"  -b ADDR[/PORT]  listen address (repeatable; port 53 by default)\n"
		"  -t THREADS      UDP worker threads (default: the CPUs this process may use)\n"
		"  --ttl DEF[:MIN[:MAX]]  default TTL and TTL limits (rbldnsd's -t; default 35m)\n"
		"  -c INTERVAL     check data files for changes this often (default 1m, 0: never)\n"
		"  -e              accept CIDRs with host bits set (10.1.2.3/24 is 10.1.2.0/24)\n"
		"  -w DIR          change to DIR before loading (relative file names)\n"
		"  -u USER[:GROUP] drop privileges after binding\n"
		"  -p PIDFILE      write the process id there\n"
		"  -q              quiet: no loading messages\n"
		"  --tcp-max N     concurrent TCP connections (default 256)\n"
		"  --tcp-idle SEC  close idle TCP connections after SEC seconds (default 10)\n"
		"  --allow-transfer PREFIX  clients that may AXFR/IXFR (repeatable; default: none)\n"
		"  --notify ADDR[:PORT]     send NOTIFY there on every new serial (repeatable;\n"
		"                  IPv6 as [ADDR]:PORT; port 53 by default)\n"
		"  --ixfr-history N keep N diffs for IXFR (default 16)\n"
		"  --rrl QPS       response rate limit per client /24 (IPv6 /56) over UDP; 0: off\n"
		"  --rrl-slip N    every Nth limited response is sent truncated (default 2; 0: drop all)\n"
		"rbldnsd's -n, -f, -a, -A, -4, -6, -C and -v are accepted and change nothing: sheriff\n"
		"stays in the foreground, never stalls on reload and answers minimally. SIGHUP reloads\n"
		"changed files; a file that fails to load keeps its old data. See docs/dnsbl.md.\n");
}

static unsigned long warnings;
static bool quiet;

static void warn_cb(void *ud, const char *file, unsigned line, const char *msg)
{
	(void)ud;
	warnings++;
	if (line)
		fprintf(stderr, "sheriff dnsbl: %s:%u: %s\n", file ? file : "-", line, msg);
	else
		fprintf(stderr, "sheriff dnsbl: %s: %s\n", file ? file : "-", msg);
}

static bool parse_time_arg(const char *s, uint32_t *out)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (e == s || errno)
		return false;
	unsigned long m = 1;
	switch (*e) {
	case 'w': case 'W': m = 604800; e++; break;
	case 'd': case 'D': m = 86400; e++; break;
	case 'h': case 'H': m = 3600; e++; break;
	case 'm': case 'M': m = 60; e++; break;
	case 's': case 'S': e++; break;
	}
	if (*e || v > UINT32_MAX / m)
		return false;
	*out = (uint32_t)(v * m);
	return true;
}

static bool parse_ttl_arg(char *s, struct sh_dns_opts *o)
{
	char *parts[3] = {s, NULL, NULL};
	for (int i = 1; i < 3; i++) {
		char *c = parts[i - 1] ? strchr(parts[i - 1], ':') : NULL;
		if (!c)
			break;
		*c = 0;
		parts[i] = c + 1;
	}
	uint32_t *dst[3] = {&o->def_ttl, &o->min_ttl, &o->max_ttl};
	for (int i = 0; i < 3; i++)
		if (parts[i] && *parts[i] && !parse_time_arg(parts[i], dst[i]))
			return false;
	return true;
}

static bool parse_listen(const char *arg, struct sh_dns_listen *out)
{
	char host[256];
	const char *slash = strrchr(arg, '/');
	const char *port = slash ? slash + 1 : "53";
	size_t hl = slash ? (size_t)(slash - arg) : strlen(arg);
	if (hl >= sizeof(host) || !*port)
		return false;
	memcpy(host, arg, hl);
	host[hl] = 0;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_PASSIVE}, *res = NULL;
	if (getaddrinfo(hl ? host : NULL, port, &hints, &res) != 0 || !res)
		return false;
	memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

static bool drop_privileges(const char *spec)
{
	char user[128];
	const char *colon = strchr(spec, ':');
	size_t ul = colon ? (size_t)(colon - spec) : strlen(spec);
	if (ul >= sizeof(user))
		return false;
	memcpy(user, spec, ul);
	user[ul] = 0;
	struct passwd *pw = getpwnam(user);
	if (!pw)
		return false;
	gid_t gid = pw->pw_gid;
	if (colon) {
		struct group *gr = getgrnam(colon + 1);
		if (!gr)
			return false;
		gid = gr->gr_gid;
	}
	return setgroups(1, &gid) == 0 && setgid(gid) == 0 && setuid(pw->pw_uid) == 0;
}

static void report(const struct sh_dns_gen *g, const struct sh_dns_gen *prev)
{
	if (quiet)
		return;
	for (size_t i = 0; i < g->nall; i++) {
		const struct sh_dns_dataset *d = g->all[i];
		bool kept = false;
		for (size_t j = 0; prev && j < prev->nall; j++)
			kept |= prev->all[j] == d;
		if (kept)
			continue;
		fprintf(stderr, "sheriff dnsbl: loaded %s:%s: %zu entries\n", sh_dns_dstype_name(d->type),
			d->files, d->entries);
	}
}

enum { OPT_TTL = 2000, OPT_TCP_MAX, OPT_TCP_IDLE, OPT_ALLOW_XFR, OPT_NOTIFY, OPT_HIST, OPT_RRL, OPT_SLIP };

static bool parse_notify(const char *arg, struct sh_dns_listen *out)
{
	char host[256];
	const char *port = "53";
	const char *h = arg, *he;
	if (arg[0] == '[') {
		h = arg + 1;
		he = strchr(h, ']');
		if (!he)
			return false;
		if (he[1] == ':')
			port = he + 2;
		else if (he[1])
			return false;
	} else {
		he = strrchr(arg, ':');
		if (he && strchr(arg, ':') == he)
			port = he + 1;
		else
			he = arg + strlen(arg);
	}
	if ((size_t)(he - h) >= sizeof(host))
		return false;
	memcpy(host, h, (size_t)(he - h));
	host[he - h] = 0;
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_flags = AI_NUMERICHOST}, *res = NULL;
	if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
		return false;
	memcpy(&out->addr, res->ai_addr, res->ai_addrlen);
	out->len = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

/* NOTIFY every target about every zone whose serial is new (prev NULL: all zones). */
static void notify_all(const struct sh_dns_gen *g, const struct sh_dns_gen *prev,
		       const struct sh_dns_listen *to, size_t nto)
{
	for (size_t i = 0; i < g->nzones; i++) {
		const struct sh_dns_zone *z = &g->zones[i];
		bool fresh = true;
		for (size_t j = 0; prev && j < prev->nzones; j++)
			if (prev->zones[j].name_len == z->name_len &&
			    memcmp(prev->zones[j].name, z->name, z->name_len) == 0)
				fresh = prev->zones[j].serial != z->serial;
		if (!fresh)
			continue;
		for (size_t t = 0; t < nto; t++) {
			char zn[1024];
			sh_dns_name_str(z->name, z->name_len, zn);
			if (sh_dns_notify(z, (const struct sockaddr *)&to[t].addr, to[t].len, 3) != 0)
				fprintf(stderr, "sheriff dnsbl: NOTIFY for %s serial %u not acknowledged\n", zn,
					z->serial);
			else if (!quiet)
				fprintf(stderr, "sheriff dnsbl: NOTIFY for %s serial %u acknowledged\n", zn,
					z->serial);
		}
	}
}

int cmd_dnsbl(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"ttl", required_argument, NULL, OPT_TTL},
		{"tcp-max", required_argument, NULL, OPT_TCP_MAX},
		{"tcp-idle", required_argument, NULL, OPT_TCP_IDLE},
		{"allow-transfer", required_argument, NULL, OPT_ALLOW_XFR},
		{"notify", required_argument, NULL, OPT_NOTIFY},
		{"ixfr-history", required_argument, NULL, OPT_HIST},
		{"rrl", required_argument, NULL, OPT_RRL},
		{"rrl-slip", required_argument, NULL, OPT_SLIP},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sh_dns_opts o;
	sh_dns_opts_init(&o);
	struct sh_dns_listen listen[16];
	size_t nlisten = 0;
	unsigned threads = 0, tcp_max = 256, tcp_idle = 10, rrl = 0, slip = 2;
	struct sh_dns_acl acl = {0};
	struct sh_dns_listen notify[16];
	size_t nnotify = 0, keep = 16;
	unsigned long num;
	uint32_t check = 60;
	const char *user = NULL, *pidfile = NULL, *workdir = NULL;
	quiet = false;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "b:t:c:ew:u:p:qnfaA46Cvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'b':
			if (nlisten >= 16 || !parse_listen(optarg, &listen[nlisten])) {
				cli_err("dnsbl: bad listen address '%s' (ADDR/PORT)", optarg);
				return CLI_USAGE;
			}
			nlisten++;
			break;
		case 't': {
			unsigned long v;
			if (!cli_parse_count("-t (threads; rbldnsd's TTLs are --ttl)", optarg, 1, 256, &v))
				return CLI_USAGE;
			threads = (unsigned)v;
			break;
		}
		case OPT_TTL:
			if (!parse_ttl_arg(optarg, &o)) {
				cli_err("dnsbl: bad --ttl '%s' (DEF[:MIN[:MAX]])", optarg);
				return CLI_USAGE;
			}
			break;
		case 'c':
			if (!parse_time_arg(optarg, &check)) {
				cli_err("dnsbl: bad -c interval '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case 'e': o.accept_in_cidr = true; break;
		case 'w': workdir = optarg; break;
		case 'u': user = optarg; break;
		case 'p': pidfile = optarg; break;
		case 'q': quiet = true; break;
		case OPT_TCP_MAX:
			if (!cli_parse_count("--tcp-max", optarg, 1, 65535, &num))
				return CLI_USAGE;
			tcp_max = (unsigned)num;
			break;
		case OPT_TCP_IDLE:
			if (!cli_parse_count("--tcp-idle", optarg, 1, 3600, &num))
				return CLI_USAGE;
			tcp_idle = (unsigned)num;
			break;
		case OPT_ALLOW_XFR:
			if (sh_dns_acl_add(&acl, optarg) != 0) {
				cli_err("dnsbl: bad --allow-transfer prefix '%s'", optarg);
				sh_dns_acl_fini(&acl);
				return CLI_USAGE;
			}
			break;
		case OPT_NOTIFY:
			if (nnotify >= 16 || !parse_notify(optarg, &notify[nnotify])) {
				cli_err("dnsbl: bad --notify address '%s' (ADDR[:PORT], [ADDR6]:PORT)", optarg);
				sh_dns_acl_fini(&acl);
				return CLI_USAGE;
			}
			nnotify++;
			break;
		case OPT_HIST:
			if (!cli_parse_count("--ixfr-history", optarg, 0, 100000, &num))
				return CLI_USAGE;
			keep = num;
			break;
		case OPT_RRL:
			if (!cli_parse_count("--rrl", optarg, 0, 1000000, &num))
				return CLI_USAGE;
			rrl = (unsigned)num;
			break;
		case OPT_SLIP:
			if (!cli_parse_count("--slip", optarg, 0, 10, &num))
				return CLI_USAGE;
			slip = (unsigned)num;
			break;
		case 'n': case 'f': case 'a': case 'A': case '4': case '6': case 'C': case 'v':
			break;
		case 'h':
			help(stdout);
			return CLI_OK;
		default:
			help(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		cli_err("dnsbl: no ZONE:TYPE:FILE given");
		help(stderr);
		sh_dns_acl_fini(&acl);
		return CLI_USAGE;
	}
	bool xfr = acl.n || nnotify;
	if (nlisten == 0 && !parse_listen("0.0.0.0/53", &listen[nlisten++]))
		return CLI_FAIL;
	if (workdir && chdir(workdir) != 0) {
		cli_err("dnsbl: cannot change to %s: %s", workdir, strerror(errno));
		return CLI_FAIL;
	}
	if (threads == 0) {
		cpu_set_t cs;
		threads = sched_getaffinity(0, sizeof(cs), &cs) == 0 ? (unsigned)CPU_COUNT(&cs) : 1;
		if (threads == 0)
			threads = 1;
	}
	size_t nz = (size_t)(argc - optind);
	struct sh_dns_zonespec *zs = calloc(nz, sizeof(*zs));
	if (!zs)
		return CLI_FAIL;
	int ret = CLI_OK;
	for (size_t i = 0; i < nz; i++) {
		int rc = sh_dns_zonespec_parse(argv[optind + (int)i], &zs[i]);
		if (rc) {
			cli_err("dnsbl: bad zone spec '%s': %s (ZONE:TYPE:FILE[,FILE...], TYPE one of "
				"ip4set ip4trie ip6trie dnset)", argv[optind + (int)i], sh_strerror(rc));
			ret = CLI_USAGE;
		}
	}
	/* large allocations straight from mmap, so freed generations leave the process */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	struct sh_dns_gen *g = NULL;
	struct sh_dns_server *srv = NULL;
	bool changed;
	if (ret == CLI_OK) {
		int rc = sh_dns_gen_load(zs, nz, &o, NULL, warn_cb, NULL, &g, &changed);
		if (!rc && xfr)
			rc = sh_dns_xfr_attach(g, NULL, keep);
		if (rc) {
			cli_err("dnsbl: loading failed: %s", sh_strerror(rc));
			ret = CLI_FAIL;
		} else {
			report(g, NULL);
		}
	}
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	if (ret == CLI_OK) {
		struct sh_dns_server_conf sc = {listen, nlisten, threads, tcp_max, tcp_idle * 1000, &acl, rrl, slip};
		int rc = sh_dns_server_new(&sc, &srv);
		if (!rc && pidfile) { /* written before privileges are dropped, as rbldnsd does */
			FILE *pf = fopen(pidfile, "w");
			if (pf) {
				fprintf(pf, "%ld\n", (long)getpid());
				fclose(pf);
			} else {
				cli_err("dnsbl: cannot write %s: %s", pidfile, strerror(errno));
			}
		}
		if (rc) {
			cli_err("dnsbl: cannot listen: %s", strerror(errno));
			ret = CLI_FAIL;
		} else if (user && !drop_privileges(user)) {
			cli_err("dnsbl: cannot switch to user %s", user);
			ret = CLI_FAIL;
		} else if (sh_dns_server_start(srv, g) != 0) {
			cli_err("dnsbl: cannot start threads");
			ret = CLI_FAIL;
		} else {
			g = NULL;
		}
	}
	if (ret == CLI_OK) {
		if (!quiet)
			fprintf(stderr, "sheriff dnsbl: serving %zu zone(s) on %zu address(es), %u UDP thread(s)\n",
				sh_dns_server_gen(srv)->nzones, nlisten, threads);
		if (nnotify)
			notify_all(sh_dns_server_gen(srv), NULL, notify, nnotify);
		malloc_trim(0);
		/* reloads run at idle priority, so the workers keep the CPU they need */
		struct sched_param sp = {0};
		pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
		time_t last_check = time(NULL);
		for (;;) {
			struct timespec ts = {1, 0};
			int sig = sigtimedwait(&sigs, NULL, &ts);
			if (sig == SIGTERM || sig == SIGINT)
				break;
			time_t now = time(NULL);
			if (sig != SIGHUP && !(check && now - last_check >= (time_t)check))
				continue;
			last_check = now;
			const struct sh_dns_gen *cur = sh_dns_server_gen(srv);
			struct sh_dns_gen *ng = NULL;
			int rc = sh_dns_gen_load(zs, nz, &o, cur, warn_cb, NULL, &ng, &changed);
			if (!rc && changed && xfr && (rc = sh_dns_xfr_attach(ng, cur, keep)) != 0)
				sh_dns_gen_free(ng);
			if (rc) {
				cli_err("dnsbl: reload failed, still serving the old data: %s", sh_strerror(rc));
				continue;
			}
			if (!changed) {
				sh_dns_gen_free(ng);
				continue;
			}
			report(ng, cur);
			/* serials of the old generation, for NOTIFY: kept before it is freed */
			struct sh_dns_gen *old = NULL;
			uint32_t *serials = nnotify ? calloc(cur->nzones, sizeof(uint32_t)) : NULL;
			struct sh_dns_gen snap = {0};
			if (serials) {
				for (size_t i = 0; i < cur->nzones; i++)
					serials[i] = cur->zones[i].serial;
				snap.zones = calloc(cur->nzones, sizeof(*snap.zones));
				if (snap.zones) {
					snap.nzones = cur->nzones;
					for (size_t i = 0; i < cur->nzones; i++) {
						memcpy(snap.zones[i].name, cur->zones[i].name, cur->zones[i].name_len);
						snap.zones[i].name_len = cur->zones[i].name_len;
						snap.zones[i].serial = serials[i];
					}
					old = &snap;
				}
			}
			sh_dns_server_swap(srv, ng);
			if (nnotify)
				notify_all(ng, old, notify, nnotify);
			free(snap.zones);
			free(serials);
			malloc_trim(0);
		}
		struct sh_dns_stats st;
		sh_dns_server_stats(srv, &st);
		if (!quiet)
			fprintf(stderr, "sheriff dnsbl: stopping; %llu UDP and %llu TCP queries, %llu transfers, "
				"%llu responses rate-limited (%llu sent truncated)\n",
				(unsigned long long)st.udp_queries, (unsigned long long)st.tcp_queries,
				(unsigned long long)st.transfers, (unsigned long long)(st.rrl_dropped + st.rrl_slipped),
				(unsigned long long)st.rrl_slipped);
	}
	sh_dns_server_free(srv);
	sh_dns_gen_free(g);
	sh_dns_acl_fini(&acl);
	for (size_t i = 0; i < nz; i++)
		sh_dns_zonespec_fini(&zs[i]);
	free(zs);
	return ret;
}
