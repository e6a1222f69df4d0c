/* sheriff resolve: asks a recursive resolver for the A and AAAA records of the host names
 * sheriff tracks and the NS records of their registrable domains, and stores what came back
 * as evidence (docs/resolve.md). */
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "dns/client.h"
#include "lib/arena.h"
#include "lib/domain.h"

static void help(FILE *f)
{
	fprintf(f,
		"usage: sheriff resolve [--server ADDR[#PORT]] [--at TIME] [--all] [--concurrency N]\n"
		"                       [--timeout MS] [--retries N] [--db PATH] [--json]\n\n"
		"Resolves the host names of the domain and URL indicators online at --at (with --all:\n"
		"every one ever seen): A and AAAA of each name, NS of each registrable domain, through\n"
		"the recursive resolver --server (default: the first nameserver of /etc/resolv.conf),\n"
		"never the suspects' own servers. What came back is stored with time --at. Prints a\n"
		"summary; with --json one object per name (name, domain, rcode, a, aaaa, ns).\n"
		"  --server A[#P]   resolver address and port (default port 53)\n"
		"  --at TIME        which names are online, and the time stored (default now)\n"
		"  --all            every name ever seen, online or not\n"
		"  --concurrency N  questions in flight (default 32)\n"
		"  --timeout MS     per try (default 2000)\n"
		"  --retries N      tries after the first (default 2)\n"
		"Exit 0 when every question was answered, 2 when some failed, 3 when none was.\n");
}

/* Values one question gave: address texts or name server names. */
struct values {
	char **v;
	size_t n, cap;
};

/* The outcome of one question. */
struct answer {
	enum sh_dns_outcome oc;
	int rcode;
	struct values values;
};

struct name {
	char *name;
	char *reg;           /* its registrable domain */
	size_t domain;       /* index into domains */
	struct answer a, aaaa;
};

struct domain {
	const char *name;    /* the reg of one of the names */
	struct answer ns;
};

struct run {
	struct name *names;
	size_t n_names, cap_names;
	struct domain *domains;
	size_t n_domains;
	unsigned long skipped_suffix, skipped_bad;
	unsigned long dropped; /* records beyond SH_DNS_REPLY_MAX in an answer */
	struct sh_dns_question *q;
	struct answer **qa; /* where each question's outcome goes */
	int64_t at;
	bool all;
};

static int values_add(struct values *v, const char *s)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], s) == 0)
			return 0;
	if (sh_array_grow((void **)&v->v, &v->cap, v->n + 1, sizeof(*v->v)) != 0)
		return SH_ENOMEM;
	if (!(v->v[v->n] = strdup(s)))
		return SH_ENOMEM;
	v->n++;
	return 0;
}

static void values_fini(struct values *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
}

static int name_cb(const char *name, void *arg)
{
	struct run *r = arg;
	struct sh_ip ip;
	char reg[SH_DOMAIN_MAX];
	if (sh_ip_parse(name, strlen(name), &ip) == 0) {
		r->skipped_bad++;
		return 0;
	}
	int rc = sh_domain_registrable(name, reg);
	if (rc == SH_ENOENT) {
		r->skipped_suffix++;
		return 0;
	}
	if (rc != 0) {
		r->skipped_bad++;
		return 0;
	}
	if (sh_array_grow((void **)&r->names, &r->cap_names, r->n_names + 1,
			  sizeof(*r->names)) != 0)
		return SH_ENOMEM;
	struct name *n = &r->names[r->n_names];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	n->reg = strdup(reg);
	r->n_names++;
	return n->name && n->reg ? 0 : SH_ENOMEM;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct registrable domains, sorted, and every name pointed at its own. */
static int domains_collect(struct run *r)
{
	if (r->n_names == 0)
		return 0;
	char **regs = malloc(r->n_names * sizeof(*regs));
	r->domains = calloc(r->n_names, sizeof(*r->domains));
	if (!regs || !r->domains) {
		free(regs);
		return SH_ENOMEM;
	}
	for (size_t i = 0; i < r->n_names; i++)
		regs[i] = r->names[i].reg;
	qsort(regs, r->n_names, sizeof(*regs), str_cmp);
	for (size_t i = 0; i < r->n_names; i++)
		if (i == 0 || strcmp(regs[i - 1], regs[i]) != 0)
			r->domains[r->n_domains++].name = regs[i];
	free(regs);
	for (size_t i = 0; i < r->n_names; i++) {
		size_t lo = 0, hi = r->n_domains;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(r->domains[mid].name, r->names[i].reg) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		r->names[i].domain = lo;
	}
	return 0;
}

static int result_cb(size_t i, enum sh_dns_outcome oc, const struct sh_dns_reply *rep, void *arg)
{
	struct run *r = arg;
	struct answer *a = r->qa[i];
	a->oc = oc;
	if (!rep)
		return 0;
	a->rcode = rep->rcode;
	r->dropped += rep->n_dropped;
	char buf[SH_IP_STRLEN];
	for (size_t k = 0; k < rep->n_ip; k++) {
		sh_ip_format(&rep->ip[k], buf);
		int rc = values_add(&a->values, buf);
		if (rc != 0)
			return rc;
	}
	for (size_t k = 0; k < rep->n_ns; k++) {
		if (strcmp(rep->ns[k], ".") == 0)
			continue;
		int rc = values_add(&a->values, rep->ns[k]);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static const char *rcode_name(int rcode, char buf[16])
{
	static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
					    "NOTIMP", "REFUSED"};
	if (rcode >= 0 && rcode < 6)
		return names[rcode];
	snprintf(buf, 16, "RCODE%d", rcode);
	return buf;
}

/* A question counts as answered when the resolver gave NOERROR or NXDOMAIN. */
static bool answer_ok(const struct answer *a)
{
	return a->oc == SH_DNS_ANSWERED &&
	       (a->rcode == SH_DNS_R_NOERROR || a->rcode == SH_DNS_R_NXDOMAIN);
}

/* What went wrong with a question, or NULL. */
static const char *answer_error(const struct answer *a, char buf[16])
{
	if (a->oc != SH_DNS_ANSWERED)
		return sh_dns_outcome_name(a->oc);
	return answer_ok(a) ? NULL : rcode_name(a->rcode, buf);
}

static json_t *values_json(const struct values *v)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < v->n; i++)
		json_array_append_new(arr, json_string(v->v[i]));
	return arr;
}

struct tally {
	unsigned long names_answered, names_nx, names_failed;
	unsigned long domains_answered, domains_failed;
	unsigned long q_answered, q_servfail, q_refused, q_other, q_timeout, q_unreachable,
		q_malformed, q_badname;
	unsigned long rows_a, rows_aaaa, rows_ns;
	unsigned long warned;
};

static void tally_question(struct tally *t, const struct answer *a)
{
	switch (a->oc) {
	case SH_DNS_ANSWERED:
		t->q_answered++;
		if (a->rcode == SH_DNS_R_SERVFAIL)
			t->q_servfail++;
		else if (a->rcode == SH_DNS_R_REFUSED)
			t->q_refused++;
		else if (!answer_ok(a))
			t->q_other++;
		break;
	case SH_DNS_TIMEOUT:
		t->q_timeout++;
		break;
	case SH_DNS_UNREACHABLE:
		t->q_unreachable++;
		break;
	case SH_DNS_MALFORMED:
		t->q_malformed++;
		break;
	case SH_DNS_BADNAME:
		t->q_badname++;
		break;
	}
}

#define WARN_MAX 20 /* failed questions reported one by one */

static void warn_failed(struct tally *t, const char *name, const char *type, const struct answer *a)
{
	char buf[16];
	const char *e = answer_error(a, buf);
	if (!e)
		return;
	if (t->warned++ < WARN_MAX)
		cli_err("resolve: %s %s: %s", name, type, e);
}

static int resolutions_add(struct sh_resolution **out, size_t *n, size_t *cap, const char *name,
			   int rtype, const struct values *v, int64_t at)
{
	for (size_t i = 0; i < v->n; i++) {
		if (sh_array_grow((void **)out, cap, *n + 1, sizeof(**out)) != 0)
			return SH_ENOMEM;
		(*out)[(*n)++] = (struct sh_resolution){name, rtype, v->v[i], at, at};
	}
	return 0;
}

static void run_fini(struct run *r)
{
	for (size_t i = 0; i < r->n_names; i++) {
		free(r->names[i].name);
		free(r->names[i].reg);
		values_fini(&r->names[i].a.values);
		values_fini(&r->names[i].aaaa.values);
	}
	for (size_t i = 0; i < r->n_domains; i++) {
		values_fini(&r->domains[i].ns.values);
	}
	free(r->names);
	free(r->domains);
	free(r->q);
	free(r->qa);
}

/* Stores what came back; counts the rows by type. */
static int store_results(struct sh_store *s, struct run *r, struct tally *t)
{
	struct sh_resolution *res = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < r->n_names; i++) {
		const struct name *nm = &r->names[i];
		rc = resolutions_add(&res, &n, &cap, nm->name, SH_DNS_T_A, &nm->a.values, r->at);
		if (rc == 0)
			rc = resolutions_add(&res, &n, &cap, nm->name, SH_DNS_T_AAAA, &nm->aaaa.values,
					     r->at);
		t->rows_a += nm->a.values.n;
		t->rows_aaaa += nm->aaaa.values.n;
	}
	for (size_t i = 0; rc == 0 && i < r->n_domains; i++) {
		rc = resolutions_add(&res, &n, &cap, r->domains[i].name, SH_DNS_T_NS,
				     &r->domains[i].ns.values, r->at);
		t->rows_ns += r->domains[i].ns.values.n;
	}
	if (rc == 0 && n)
		rc = sh_store_resolutions_put(s, res, n);
	free(res);
	return rc;
}

static void report(const struct run *r, struct tally *t, bool json)
{
	for (size_t i = 0; i < r->n_names; i++) {
		const struct name *nm = &r->names[i];
		const struct domain *d = &r->domains[nm->domain];
		char buf[16];
		bool ok = answer_ok(&nm->a) && answer_ok(&nm->aaaa);
		bool nx = nm->a.oc == SH_DNS_ANSWERED && nm->a.rcode == SH_DNS_R_NXDOMAIN;
		const char *status;
		if (!ok) {
			t->names_failed++;
			status = answer_error(&nm->a, buf);
			if (!status)
				status = answer_error(&nm->aaaa, buf);
		} else if (nx) {
			t->names_nx++;
			status = "NXDOMAIN";
		} else {
			t->names_answered++;
			status = "NOERROR";
		}
		warn_failed(t, nm->name, "A", &nm->a);
		warn_failed(t, nm->name, "AAAA", &nm->aaaa);
		if (json) {
			json_t *o = json_object();
			json_object_set_new(o, "name", json_string(nm->name));
			json_object_set_new(o, "domain", json_string(d->name));
			json_object_set_new(o, "rcode", json_string(status));
			json_object_set_new(o, "a", values_json(&nm->a.values));
			json_object_set_new(o, "aaaa", values_json(&nm->aaaa.values));
			json_object_set_new(o, "ns", values_json(&d->ns.values));
			cli_json_line(o);
		}
	}
	for (size_t i = 0; i < r->n_domains; i++) {
		const struct domain *d = &r->domains[i];
		if (answer_ok(&d->ns))
			t->domains_answered++;
		else
			t->domains_failed++;
		warn_failed(t, d->name, "NS", &d->ns);
	}
	if (t->warned > WARN_MAX)
		cli_err("resolve: %lu more failed questions not shown", t->warned - WARN_MAX);
}

int cmd_resolve(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"server", required_argument, NULL, 's'},
		{"at", required_argument, NULL, 'a'},
		{"all", no_argument, NULL, 'A'},
		{"concurrency", required_argument, NULL, 'c'},
		{"timeout", required_argument, NULL, 't'},
		{"retries", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	const char *server = NULL;
	struct run r = {0};
	r.at = (int64_t)time(NULL);
	unsigned long conc = 32, timeout = 2000, retries = 2;
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 's':
			server = optarg;
			break;
		case 'a':
			if (!cli_parse_time("--at", optarg, &r.at))
				return CLI_USAGE;
			break;
		case 'A':
			r.all = true;
			break;
		case 'c':
			if (!cli_parse_count("--concurrency", optarg, 1, 1024, &conc))
				return CLI_USAGE;
			break;
		case 't':
			if (!cli_parse_count("--timeout", optarg, 1, 600000, &timeout))
				return CLI_USAGE;
			break;
		case 'r':
			if (!cli_parse_count("--retries", optarg, 0, 20, &retries))
				return CLI_USAGE;
			break;
		case 'h':
			help(stdout);
			return CLI_OK;
		default:
			help(stderr);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_err("resolve: unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	struct sockaddr_storage ss;
	socklen_t sslen;
	if (server ? sh_dns_client_server(server, &ss, &sslen) != 0
		   : sh_dns_client_default_server(NULL, &ss, &sslen) != 0) {
		cli_err("resolve: %s: not a numeric address[#port]",
			server ? server : "the first nameserver of /etc/resolv.conf");
		return server ? CLI_USAGE : CLI_FAIL;
	}
	char host[NI_MAXHOST], port[NI_MAXSERV];
	if (getnameinfo((struct sockaddr *)&ss, sslen, host, sizeof(host), port, sizeof(port),
			NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		strcpy(host, "?");
		strcpy(port, "?");
	}

	struct sh_store *s;
	if (cli_open_store(&c, &s) != CLI_OK)
		return CLI_FAIL;
	int rc = sh_store_foreach_name_to_resolve(s, r.at, r.all, name_cb, &r);
	if (rc == 0)
		rc = domains_collect(&r);
	size_t nq = 2 * r.n_names + r.n_domains;
	if (rc == 0) {
		r.q = calloc(nq ? nq : 1, sizeof(*r.q));
		r.qa = calloc(nq ? nq : 1, sizeof(*r.qa));
		if (!r.q || !r.qa)
			rc = SH_ENOMEM;
	}
	for (size_t i = 0; rc == 0 && i < r.n_names; i++) {
		r.q[2 * i] = (struct sh_dns_question){r.names[i].name, SH_DNS_T_A};
		r.qa[2 * i] = &r.names[i].a;
		r.q[2 * i + 1] = (struct sh_dns_question){r.names[i].name, SH_DNS_T_AAAA};
		r.qa[2 * i + 1] = &r.names[i].aaaa;
	}
	for (size_t i = 0; rc == 0 && i < r.n_domains; i++) {
		r.q[2 * r.n_names + i] = (struct sh_dns_question){r.domains[i].name, SH_DNS_T_NS};
		r.qa[2 * r.n_names + i] = &r.domains[i].ns;
	}
	int exit_code = CLI_FAIL;
	if (rc != 0) {
		cli_err("resolve: %s %s", sh_strerror(rc), rc == SH_ESTORE ? sh_store_errmsg(s) : "");
		goto out;
	}
	if (r.skipped_suffix || r.skipped_bad)
		cli_err("resolve: skipped %lu public suffixes and %lu names that cannot be asked",
			r.skipped_suffix, r.skipped_bad);
	if (nq == 0) {
		cli_err("resolve: no names to resolve%s", r.all ? "" : " online at --at (see --all)");
		exit_code = CLI_OK;
		goto out;
	}

	struct sh_dns_client_opts o = {(unsigned)conc, (unsigned)timeout, (unsigned)retries};
	struct sh_dns_client_stats st;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = sh_dns_client_resolve((struct sockaddr *)&ss, sslen, &o, r.q, nq, result_cb, &r, &st);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc != 0) {
		cli_err("resolve: asking %s#%s: %s", host, port, sh_strerror(rc));
		goto out;
	}
	struct tally t = {0};
	for (size_t i = 0; i < nq; i++)
		tally_question(&t, r.qa[i]);
	if (t.q_answered == 0) {
		cli_err("resolve: no response from %s#%s to any of %zu questions (%lu timeouts, "
			"%lu unreachable, %lu malformed)",
			host, port, nq, t.q_timeout, t.q_unreachable, t.q_malformed);
		goto out;
	}
	rc = store_results(s, &r, &t);
	if (rc != 0) {
		cli_err("resolve: storing: %s %s", sh_strerror(rc),
			rc == SH_ESTORE ? sh_store_errmsg(s) : "");
		goto out;
	}
	report(&r, &t, c.json);
	if (t.names_answered + t.names_nx + t.domains_answered == 0)
		cli_err("resolve: %s#%s answered none of %zu questions (%lu SERVFAIL, %lu REFUSED, "
			"%lu other rcode)",
			host, port, nq, t.q_servfail, t.q_refused, t.q_other);
	else
		exit_code = t.names_failed || t.domains_failed ? CLI_PARTIAL : CLI_OK;
	char at[SH_TIME_STRLEN];
	FILE *f = c.json ? stderr : stdout;
	fprintf(f,
		"resolved via %s#%s at %s in %.1f s\n"
		"names:   %zu asked, %lu answered, %lu NXDOMAIN, %lu failed\n"
		"domains: %zu asked for NS, %lu answered, %lu failed\n"
		"failed questions: %lu SERVFAIL, %lu REFUSED, %lu other rcode, %lu timeouts, "
		"%lu unreachable, %lu malformed, %lu names that cannot be asked\n"
		"recorded: %lu addresses (%lu A, %lu AAAA), %lu name servers, %lu records beyond "
		"the %d kept per answer\n"
		"queries: %lu sent, %lu retried, %lu over TCP, %lu stray datagrams ignored\n",
		host, port, cli_time(r.at, at),
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		r.n_names, t.names_answered, t.names_nx, t.names_failed, r.n_domains,
		t.domains_answered, t.domains_failed, t.q_servfail, t.q_refused, t.q_other,
		t.q_timeout, t.q_unreachable, t.q_malformed, t.q_badname, t.rows_a + t.rows_aaaa,
		t.rows_a, t.rows_aaaa, t.rows_ns, r.dropped, SH_DNS_REPLY_MAX, st.sent, st.retried,
		st.tcp, st.ignored);
out:
	run_fini(&r);
	sh_store_close(s);
	return exit_code;
}
