/* Campaigns and respawns: evidence from the store and the network tables, linked in time
 * order, grouped, summarised. */
#include "engine/campaign.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/netdb.h"
#include "lib/arena.h"
#include "lib/domain.h"
#include "lib/timefmt.h"
#include "lib/url.h"
#include "netmap/asmap.h"

struct sh_campaigns_priv {
	struct sh_arena arena;
	struct sh_netdb *db; /* owns the org and country strings */
	uint32_t *members;   /* every campaign's member list, end to end */
};

/* Malware family and tags per store id, read before the walk. */
struct feed_ev {
	int64_t id;
	const char *malware, *tags;
};

/* A stored resolution (sheriff resolve), in the store's (name, rtype, value) order. */
struct resolved {
	const char *name, *value;
	int rtype;
	int64_t first_seen;
};

struct ctx {
	struct sh_campaigns *c;
	const struct sh_allowlist *allow;
	struct feed_ev *ev;
	size_t n_ev, cap_ev, next_ev;
	struct resolved *res;
	size_t n_res, cap_res;
	struct sh_linker_run *runs;
	size_t cap_runs;
	size_t cap_inds;
	int fields; /* SH_ASMAP_HAS_* attributed */
};

/* Registrable domains of shared content platforms (file and paste hosting, cloud storage and
 * documents, code hosting, free site builders, mail marketing): unrelated people upload
 * there, so the name links nobody, as MISP's warninglists of file-hosting and cloud
 * services keep such values from correlating. Subdomains match too. */
static const char *const shared_services[] = {
	"000webhostapp.com", "1drv.com", "1drv.ms", "aliyuncs.com", "amazonaws.com", "beget.tech",
	"bitbucket.org", "blogspot.com", "box.com", "cloudfront.net", "discord.com",
	"discordapp.com", "discordapp.net", "docs.google.com", "dropbox.com",
	"dropboxusercontent.com", "firebasestorage.googleapis.com", "free.fr", "github.com",
	"githubusercontent.com", "gitlab.com", "google.com", "googleapis.com",
	"googleusercontent.com", "live.com", "mediafire.com", "mega.nz", "myqcloud.com",
	"onedrive.com", "pardot.com", "pastebin.com", "pbworks.com", "sendspace.com",
	"sharepoint.com", "top4top.io", "top4top.net", "transfer.sh", "weebly.com",
	"wetransfer.com", "windows.net", "wixsite.com", "wixstatic.com", "x10host.com", "yadi.sk",
	"zippyshare.com",
};

/* Registrable domains of the name servers of DNS hosting shared by unrelated customers
 * (registrars, DNS providers, clouds) and of domain parking: a name server there links
 * nobody. */
static const char *const shared_dns[] = {
	"above.com", "afternic.com", "akam.net", "awsdns-cn-00.com", "azure-dns.com",
	"azure-dns.info", "azure-dns.net", "azure-dns.org", "bodis.com", "cloudflare.com",
	"digitalocean.com", "dnsmadeeasy.com", "dnsowl.com", "domaincontrol.com", "dynect.net",
	"gandi.net", "googledomains.com", "hostgator.com", "hostinger.com", "linode.com",
	"name-services.com", "namebrightdns.com", "nsone.net", "ovh.net", "parkingcrew.net",
	"parklogic.com", "registrar-servers.com", "sedoparking.com", "ultradns.com", "ultradns.net",
	"ultradns.org", "wixdns.net", "yandex.net",
};

static bool in_list(const char *d, const char *const *list, size_t n_list)
{
	size_t n = strlen(d);
	for (size_t i = 0; i < n_list; i++) {
		size_t m = strlen(list[i]);
		if (n >= m && strcmp(d + n - m, list[i]) == 0 && (n == m || d[n - m - 1] == '.'))
			return true;
	}
	return false;
}

static bool shared_service(const char *d)
{
	return in_list(d, shared_services, sizeof(shared_services) / sizeof(shared_services[0]));
}

/* Amazon's name servers are awsdns-NN under several TLDs. */
static bool shared_name_server(const char *d)
{
	return strncmp(d, "awsdns-", 7) == 0 ||
	       in_list(d, shared_dns, sizeof(shared_dns) / sizeof(shared_dns[0]));
}

static void quiet(void *arg, const char *file, unsigned long line, const char *msg)
{
	(void)arg;
	(void)file;
	(void)line;
	(void)msg;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}


static int on_evidence(int64_t id, const char *malware, const char *tags, void *arg)
{
	struct ctx *x = arg;
	struct sh_arena *a = &x->c->priv->arena;
	int rc = sh_array_grow((void **)&x->ev, &x->cap_ev, x->n_ev + 1, sizeof(*x->ev));
	if (rc != 0)
		return rc;
	struct feed_ev *e = &x->ev[x->n_ev++];
	e->id = id;
	e->malware = malware ? sh_arena_strndup(a, malware, strlen(malware)) : NULL;
	e->tags = tags ? sh_arena_strndup(a, tags, strlen(tags)) : NULL;
	if ((malware && !e->malware) || (tags && !e->tags))
		return SH_ENOMEM;
	return 0;
}

static int on_resolution(const struct sh_resolution *r, void *arg)
{
	struct ctx *x = arg;
	struct sh_arena *a = &x->c->priv->arena;
	int rc = sh_array_grow((void **)&x->res, &x->cap_res, x->n_res + 1, sizeof(*x->res));
	if (rc != 0)
		return rc;
	struct resolved *e = &x->res[x->n_res];
	*e = (struct resolved){
		.name = sh_arena_strndup(a, r->name, strlen(r->name)),
		.value = sh_arena_strndup(a, r->value, strlen(r->value)),
		.rtype = r->rtype, .first_seen = r->first_seen,
	};
	if (!e->name || !e->value)
		return SH_ENOMEM;
	x->n_res++;
	return 0;
}

/* The first stored resolution of name (x->res is in name order), or x->n_res. */
static size_t first_resolution(const struct ctx *x, const char *name)
{
	size_t lo = 0, hi = x->n_res;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(x->res[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Values of one indicator, built in a fixed buffer: a handful of keys plus tags. */
#define MAX_VALS 48
struct vals {
	struct sh_evval v[MAX_VALS];
	char text[MAX_VALS][SH_DOMAIN_MAX + 8];
	size_t n;
};

static void add_val(struct vals *vs, enum sh_evkey type, const char *s, size_t n, bool allow)
{
	if (vs->n == MAX_VALS || n == 0 || n >= sizeof(vs->text[0]))
		return;
	char *t = vs->text[vs->n];
	for (size_t i = 0; i < n; i++)
		t[i] = (char)tolower((unsigned char)s[i]);
	t[n] = '\0';
	vs->v[vs->n++] = (struct sh_evval){type, t, n, allow};
}

/* Tags as the feeds write them: comma- or space-separated. */
static void add_words(struct vals *vs, enum sh_evkey type, const char *s)
{
	while (s && *s) {
		size_t n = strcspn(s, ", \t");
		add_val(vs, type, s, n, false);
		s += n;
		s += strspn(s, ", \t");
	}
}

static bool prefix_allowed(const struct ctx *x, const struct sh_prefix *p)
{
	const char *why;
	return x->allow && sh_allowlist_prefix(x->allow, p, &why) != SH_AL_NONE;
}

static int address_values(struct ctx *x, const struct sh_ip *ip, int64_t when,
			  struct sh_camp_ind *ci, struct vals *vs)
{
	char buf[SH_PREFIX_STRLEN];
	struct sh_prefix full, net;
	sh_prefix_from_ip(ip, ip->af == SH_AF_V4 ? 32 : 128, &full);
	sh_ip_format(ip, buf);
	add_val(vs, SH_EV_IP, buf, strlen(buf), prefix_allowed(x, &full));
	sh_prefix_from_ip(ip, ip->af == SH_AF_V4 ? 24 : 48, &net);
	sh_prefix_format(&net, buf);
	add_val(vs, SH_EV_NET, buf, strlen(buf), prefix_allowed(x, &net));
	struct sh_attrib at;
	int rc = sh_netdb_attribute_fields(x->c->priv->db, ip, when,
					   x->fields, &at);
	if (rc != 0)
		return rc;
	if (at.special || !at.mapped || !at.asn)
		return 0;
	sh_prefix_format(&at.prefix, buf);
	add_val(vs, SH_EV_PREFIX, buf, strlen(buf), prefix_allowed(x, &at.prefix));
	char as[16];
	int n = snprintf(as, sizeof(as), "AS%u", at.asn);
	add_val(vs, SH_EV_ASN, as, (size_t)n, false);
	if (ci->prefix)
		return 0; /* a name that resolved to several networks is placed by the first */
	ci->prefix = sh_arena_strndup(&x->c->priv->arena, buf, strlen(buf));
	if (!ci->prefix)
		return SH_ENOMEM;
	ci->asn = at.asn;
	ci->org = at.org[0] ? at.org : NULL;
	ci->country = at.country[0] ? at.country : NULL;
	return 0;
}

static bool domain_allowed(const struct ctx *x, const char *d)
{
	const char *why;
	return x->allow && sh_allowlist_domain(x->allow, d, &why) != SH_AL_NONE;
}

#define RR_NS 2        /* the NS record type (RFC 1035); resolutions are otherwise addresses */
#define MAX_RESOLVED 4 /* resolved addresses per name that count, in the store's order */

/* A name's evidence: its registrable domain and what `sheriff resolve` found before until,
 * the takedown of the indicator (a live deployment resolves right after each ingest): the
 * addresses the name resolved to, which link as the indicator's own address would
 * (attributed as of first), and the name servers of its registrable domain. A name on a
 * shared platform gets neither. */
static int name_values(struct ctx *x, const char *host, int64_t first, int64_t until,
		       struct sh_camp_ind *ci, struct vals *vs)
{
	char reg[SH_DOMAIN_MAX];
	const char *d = sh_domain_registrable(host, reg) == 0 ? reg : host;
	bool allow = shared_service(d) || domain_allowed(x, d);
	add_val(vs, SH_EV_DOMAIN, d, strlen(d), allow);
	if (allow)
		return 0;
	size_t used = 0;
	for (size_t i = first_resolution(x, host);
	     i < x->n_res && strcmp(x->res[i].name, host) == 0 && used < MAX_RESOLVED; i++) {
		const struct resolved *r = &x->res[i];
		struct sh_ip ip;
		if (r->rtype == RR_NS || r->first_seen >= until ||
		    sh_ip_parse(r->value, strlen(r->value), &ip) != 0)
			continue;
		used++;
		int rc = address_values(x, &ip, first, ci, vs);
		if (rc != 0)
			return rc;
	}
	for (size_t i = first_resolution(x, d); i < x->n_res && strcmp(x->res[i].name, d) == 0;
	     i++) {
		const struct resolved *r = &x->res[i];
		if (r->rtype != RR_NS || r->first_seen >= until)
			continue;
		char ns_reg[SH_DOMAIN_MAX];
		const char *nd = sh_domain_registrable(r->value, ns_reg) == 0 ? ns_reg : r->value;
		add_val(vs, SH_EV_NS, nd, strlen(nd), shared_name_server(nd) || domain_allowed(x, nd));
	}
	return 0;
}

/* Runs over all sources merged into one timeline: online when any source has it online. */
static int merge_runs(struct ctx *x, const struct sh_intel_ind *ind, size_t *n_out)
{
	size_t n = 0;
	for (size_t s = 0; s < ind->n_sightings; s++) {
		const struct sh_intel_sighting *g = &ind->sightings[s];
		int rc = sh_array_grow((void **)&x->runs, &x->cap_runs, n + g->n_runs + 1, sizeof(*x->runs));
		if (rc != 0)
			return rc;
		for (size_t r = 0; r < g->n_runs; r++)
			x->runs[n++] = (struct sh_linker_run){g->runs[r].start, g->runs[r].end};
		if (g->n_runs == 0)
			x->runs[n++] = (struct sh_linker_run){g->first_seen,
							      g->online ? SH_TIME_NONE : g->last_seen};
	}
	/* insertion sort: an indicator has a handful of runs */
	for (size_t i = 1; i < n; i++) {
		struct sh_linker_run r = x->runs[i];
		size_t j = i;
		for (; j > 0 && x->runs[j - 1].start > r.start; j--)
			x->runs[j] = x->runs[j - 1];
		x->runs[j] = r;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && (x->runs[m - 1].end == SH_TIME_NONE ||
			      x->runs[m - 1].end >= x->runs[i].start)) {
			if (x->runs[m - 1].end != SH_TIME_NONE &&
			    (x->runs[i].end == SH_TIME_NONE || x->runs[i].end > x->runs[m - 1].end))
				x->runs[m - 1].end = x->runs[i].end;
			continue;
		}
		x->runs[m++] = x->runs[i];
	}
	*n_out = m;
	return 0;
}

/* Identifies a host (an address or a name) for the same-site rule; never 0. */
static uint64_t site_hash(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 1469598103934665603u;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 1099511628211u;
	}
	return h ? h : 1;
}

static int on_indicator(const struct sh_intel_ind *ind, void *arg)
{
	struct ctx *x = arg;
	struct sh_campaigns *c = x->c;
	if (ind->first_seen == SH_TIME_NONE || ind->n_sightings == 0)
		return 0;
	int rc = sh_array_grow((void **)&c->inds, &x->cap_inds, c->n_inds + 1, sizeof(*c->inds));
	if (rc != 0)
		return rc;
	struct sh_camp_ind *ci = &c->inds[c->n_inds];
	if (ind->last_seen > c->end)
		c->end = ind->last_seen;
	*ci = (struct sh_camp_ind){
		.id = ind->id, .type = ind->type, .first_seen = ind->first_seen,
		.last_seen = ind->last_seen, .online = ind->online,
	};
	ci->value = sh_arena_strndup(&c->priv->arena, ind->value, strlen(ind->value));
	if (!ci->value)
		return SH_ENOMEM;
	size_t n_runs;
	if ((rc = merge_runs(x, ind, &n_runs)) != 0)
		return rc;
	/* the takedown ending its last run (merged runs are disjoint and in order) */
	int64_t until = n_runs && x->runs[n_runs - 1].end != SH_TIME_NONE ? x->runs[n_runs - 1].end
								      : INT64_MAX;
	struct vals vs;
	vs.n = 0;
	uint64_t site = 0;
	if (ind->type == SH_IND_IP || (ind->type == SH_IND_URL && ind->has_addr)) {
		site = site_hash(&ind->prefix.ip, sizeof(ind->prefix.ip));
		rc = address_values(x, &ind->prefix.ip, ind->first_seen, ci, &vs);
		if (rc != 0)
			return rc;
	} else if (ind->type == SH_IND_DOMAIN) {
		if ((rc = name_values(x, ind->value, ind->first_seen, until, ci, &vs)) != 0)
			return rc;
		site = site_hash(ind->value, strlen(ind->value));
	}
	if (ind->type == SH_IND_URL) {
		struct sh_url u;
		if (sh_url_parse(ind->value, strlen(ind->value), &u) == 0) {
			char shape[256];
			if (u.host.type == SH_HOST_DOMAIN) {
				if ((rc = name_values(x, u.host.name, ind->first_seen, until, ci,
						       &vs)) != 0)
					return rc;
				site = site_hash(u.host.name, strlen(u.host.name));
			}
			if (sh_path_shape(u.rest, u.rest_len, shape, sizeof(shape)) == 0)
				add_val(&vs, SH_EV_SHAPE, shape, strlen(shape), false);
		}
	}
	while (x->next_ev < x->n_ev && x->ev[x->next_ev].id < ind->id)
		x->next_ev++;
	for (size_t e = x->next_ev; e < x->n_ev && x->ev[e].id == ind->id; e++) {
		add_words(&vs, SH_EV_FAMILY, x->ev[e].malware);
		add_words(&vs, SH_EV_TAG, x->ev[e].tags);
	}
	if ((rc = sh_linker_add(c->linker, ind->first_seen, site, ind->type != SH_IND_URL, x->runs,
				 n_runs, vs.v, vs.n)) != 0)
		return rc;
	c->n_inds++;
	return 0;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static double median_h(int64_t *v, size_t n)
{
	if (n == 0)
		return -1;
	qsort(v, n, sizeof(*v), cmp_i64);
	double m = n % 2 ? (double)v[n / 2] : ((double)v[n / 2 - 1] + (double)v[n / 2]) / 2;
	return m / 3600.0;
}

static int cmp_str(const void *a, const void *b)
{
	const char *x = *(const char *const *)a, *y = *(const char *const *)b;
	if (!x || !y)
		return (x != NULL) - (y != NULL);
	return strcmp(x, y);
}

static size_t distinct(const char **v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_str);
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] && (i == 0 || !v[i - 1] || strcmp(v[i - 1], v[i]) != 0))
			d++;
	return d;
}

static int cmp_camp(const void *a, const void *b)
{
	const struct sh_campaign *x = a, *y = b;
	if (x->n_members != y->n_members)
		return x->n_members > y->n_members ? -1 : 1;
	if (x->first_seen != y->first_seen)
		return x->first_seen < y->first_seen ? -1 : 1;
	return strcmp(x->first_value, y->first_value);
}


static int cmp_ev(const void *a, const void *b, void *arg)
{
	const struct sh_camp_evidence *x = a, *y = b;
	if (x->respawns != y->respawns)
		return x->respawns > y->respawns ? -1 : 1;
	enum sh_evkey tx, ty;
	const char *sx = sh_linker_value(arg, x->vid, &tx, NULL);
	const char *sy = sh_linker_value(arg, y->vid, &ty, NULL);
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return strcmp(sx, sy);
}

/* Fills one campaign from its members (already set) and respawns (indices into edges). */
static int summarise(struct sh_campaigns *c, struct sh_campaign *k, uint32_t root,
		     const uint32_t *resp, size_t n_resp, int64_t *tmp_t, const char **tmp_s)
{
	const struct sh_respawn *e;
	sh_linker_respawns(c->linker, &e);
	const uint32_t *shared = sh_linker_shared(c->linker);
	const struct sh_camp_ind *first = &c->inds[root];
	k->first_value = first->value;
	k->first_seen = first->first_seen;
	k->last_seen = first->last_seen;
	for (size_t i = 0; i < k->n_members; i++) {
		const struct sh_camp_ind *m = &c->inds[k->members[i]];
		if (m->first_seen < k->first_seen)
			k->first_seen = m->first_seen;
		if (m->last_seen > k->last_seen)
			k->last_seen = m->last_seen;
		k->online += m->online;
	}
	for (size_t i = 0; i < k->n_members; i++)
		tmp_s[i] = c->inds[k->members[i]].prefix;
	k->n_prefixes = distinct(tmp_s, k->n_members);
	for (size_t i = 0; i < k->n_members; i++)
		tmp_s[i] = c->inds[k->members[i]].country;
	k->n_countries = distinct(tmp_s, k->n_members);
	for (size_t i = 0; i < k->n_members; i++)
		tmp_t[i] = c->inds[k->members[i]].asn ? (int64_t)c->inds[k->members[i]].asn : -1;
	qsort(tmp_t, k->n_members, sizeof(*tmp_t), cmp_i64);
	for (size_t i = 0; i < k->n_members; i++)
		k->n_asns += tmp_t[i] >= 0 && (i == 0 || tmp_t[i] != tmp_t[i - 1]);
	k->n_respawns = n_resp;
	size_t n_sh = 0;
	for (size_t i = 0; i < n_resp; i++) {
		tmp_t[i] = e[resp[i]].t_new - e[resp[i]].t_off;
		n_sh += e[resp[i]].n_shared;
	}
	k->median_delay_h = median_h(tmp_t, n_resp);
	k->evidence = calloc(n_sh ? n_sh : 1, sizeof(*k->evidence));
	if (!k->evidence)
		return SH_ENOMEM;
	for (size_t i = 0; i < n_resp; i++)
		for (uint32_t j = 0; j < e[resp[i]].n_shared; j++) {
			uint32_t vid = shared[e[resp[i]].first_shared + j];
			size_t q = 0;
			while (q < k->n_evidence && k->evidence[q].vid != vid)
				q++;
			if (q == k->n_evidence)
				k->evidence[k->n_evidence++] = (struct sh_camp_evidence){vid, 0};
			k->evidence[q].respawns++;
		}
	qsort_r(k->evidence, k->n_evidence, sizeof(*k->evidence), cmp_ev, c->linker);
	return 0;
}

static int cmp_by_sight(const void *a, const void *b, void *arg)
{
	const struct sh_camp_ind *v = arg;
	const struct sh_camp_ind *x = &v[*(const uint32_t *)a], *y = &v[*(const uint32_t *)b];
	if (x->first_seen != y->first_seen)
		return x->first_seen < y->first_seen ? -1 : 1;
	return strcmp(x->value, y->value);
}

/* Ids from the first member's value, in the campaigns' canonical order; a clash (rare with
 * 32 bits) takes the next free number, so ids are unique and still reproducible. */
static int name_campaigns(struct sh_campaigns *c)
{
	size_t n_slots = 16;
	while (n_slots < 2 * c->n_camps)
		n_slots *= 2;
	uint32_t *used = calloc(n_slots, sizeof(*used));
	uint8_t *full = calloc(n_slots, 1);
	if (!used || !full) {
		free(used);
		free(full);
		return SH_ENOMEM;
	}
	for (size_t j = 0; j < c->n_camps; j++) {
		uint32_t id = (uint32_t)site_hash(c->camps[j].first_value, strlen(c->camps[j].first_value));
		for (;;) {
			size_t k = (id * 2654435761u) & (n_slots - 1);
			while (full[k] && used[k] != id)
				k = (k + 1) & (n_slots - 1);
			if (!full[k]) {
				full[k] = 1;
				used[k] = id;
				break;
			}
			id++;
		}
		snprintf(c->camps[j].id, sizeof(c->camps[j].id), "%08x", id);
	}
	free(used);
	free(full);
	return 0;
}

static int group(struct sh_campaigns *c)
{
	size_t n = c->n_inds;
	c->camp_of = malloc((n ? n : 1) * sizeof(*c->camp_of));
	if (!c->camp_of)
		return SH_ENOMEM;
	/* campaign numbers in order of first appearance (a member may come before its root);
	 * members are listed in index order, which is store id order */
	uint32_t *count = calloc(n ? n : 1, sizeof(*count));
	if (!count)
		return SH_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		c->camp_of[i] = UINT32_MAX;
	for (size_t i = 0; i < n; i++) {
		uint32_t r = sh_linker_campaign(c->linker, (uint32_t)i);
		if (r == UINT32_MAX)
			continue;
		if (c->camp_of[r] == UINT32_MAX)
			c->camp_of[r] = (uint32_t)k++;
		c->camp_of[i] = c->camp_of[r];
		count[c->camp_of[i]]++;
	}
	c->camps = calloc(k ? k : 1, sizeof(*c->camps));
	uint32_t *mem = malloc((n ? n : 1) * sizeof(*mem));
	int64_t *tmp_t = malloc((n ? n : 1) * sizeof(*tmp_t));
	const char **tmp_s = malloc((n ? n : 1) * sizeof(*tmp_s));
	const struct sh_respawn *e;
	size_t n_e = sh_linker_respawns(c->linker, &e);
	uint32_t *resp = malloc((n_e ? n_e : 1) * sizeof(*resp));
	size_t *resp_at = calloc(k + 1, sizeof(*resp_at));
	int rc = 0;
	if (!c->camps || !mem || !tmp_t || !tmp_s || !resp || !resp_at) {
		rc = SH_ENOMEM;
		goto out;
	}
	c->n_camps = k;
	size_t at = 0;
	for (size_t j = 0; j < k; j++) {
		c->camps[j].members = mem + at;
		at += count[j];
	}
	for (size_t i = 0; i < n; i++)
		if (c->camp_of[i] != UINT32_MAX) {
			struct sh_campaign *g = &c->camps[c->camp_of[i]];
			g->members[g->n_members++] = (uint32_t)i;
		}
	for (size_t j = 0; j < k; j++)
		qsort_r(c->camps[j].members, c->camps[j].n_members, sizeof(uint32_t), cmp_by_sight,
			c->inds);
	for (size_t i = 0; i < n_e; i++)
		resp_at[c->camp_of[e[i].new_ind] + 1]++;
	for (size_t j = 0; j < k; j++)
		resp_at[j + 1] += resp_at[j];
	for (size_t i = 0; i < n_e; i++)
		resp[resp_at[c->camp_of[e[i].new_ind]]++] = (uint32_t)i;
	for (size_t j = k; j > 0; j--)
		resp_at[j] = resp_at[j - 1];
	resp_at[0] = 0;
	for (size_t j = 0; j < k && rc == 0; j++)
		rc = summarise(c, &c->camps[j], sh_linker_campaign(c->linker, c->camps[j].members[0]),
			       resp + resp_at[j], resp_at[j + 1] - resp_at[j], tmp_t, tmp_s);
	if (rc == 0) {
		c->priv->members = mem;
		mem = NULL;
		/* campaign numbers change with the sort: map through the first member */
		qsort(c->camps, k, sizeof(*c->camps), cmp_camp);
		for (size_t j = 0; j < k; j++)
			for (size_t i = 0; i < c->camps[j].n_members; i++)
				c->camp_of[c->camps[j].members[i]] = (uint32_t)j;
		rc = name_campaigns(c);
	}
out:
	free(count);
	free(mem);
	free(tmp_t);
	free(tmp_s);
	free(resp);
	free(resp_at);
	return rc;
}


/* Ranks by first sighting, then value: the store's ids depend on ingest order, this does not. */
static int canonical_order(const struct sh_campaigns *c, uint32_t **out)
{
	size_t n = c->n_inds;
	uint32_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	uint32_t *rank = malloc((n ? n : 1) * sizeof(*rank));
	if (!idx || !rank) {
		free(idx);
		free(rank);
		return SH_ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		idx[i] = (uint32_t)i;
	qsort_r(idx, n, sizeof(*idx), cmp_by_sight, c->inds);
	for (size_t i = 0; i < n; i++)
		rank[idx[i]] = (uint32_t)i;
	free(idx);
	*out = rank;
	return 0;
}

int sh_campaigns_compute(struct sh_store *s, const struct sh_allowlist *al,
			 const struct sh_linker_config *cfg, bool countries,
			 struct sh_campaigns **out)
{
	struct sh_campaigns *c = calloc(1, sizeof(*c));
	if (!c)
		return SH_ENOMEM;
	c->cfg = *cfg;
	c->end = SH_TIME_NONE;
	c->priv = calloc(1, sizeof(*c->priv));
	if (!c->priv) {
		free(c);
		return SH_ENOMEM;
	}
	sh_arena_init(&c->priv->arena, 1 << 16);
	struct ctx x = {
		.c = c,
		.fields = SH_ASMAP_HAS_ASN | (countries ? SH_ASMAP_HAS_COUNTRY : 0),
	};
	struct sh_policy *policy = NULL;
	struct sh_allowlist *own = NULL;
	double t0 = now_s();
	int rc = 0;
	if (!al) {
		/* the built-in policy's allowlist has no files of its own: nothing to report */
		rc = sh_policy_new(&policy);
		if (rc == 0)
			rc = sh_allowlist_build(policy, s, quiet, NULL, &own);
		al = own;
	}
	x.allow = al;
	if (rc == 0)
		rc = sh_netdb_open(s, &c->priv->db);
	if (rc == 0)
		rc = sh_linker_new(cfg, &c->linker);
	if (rc == 0)
		rc = sh_store_foreach_evidence(s, on_evidence, &x);
	if (rc == 0)
		rc = sh_store_foreach_resolution(s, on_resolution, &x);
	if (rc == 0) {
		struct sh_intel_source *sources;
		size_t n_sources;
		rc = sh_store_foreach_indicator_runs(s, &c->priv->arena, &sources, &n_sources,
						     on_indicator, &x);
	}
	double t1 = now_s();
	uint32_t *rank = NULL;
	if (rc == 0)
		rc = canonical_order(c, &rank);
	if (rc == 0)
		rc = sh_linker_run(c->linker, rank);
	free(rank);
	if (rc == 0)
		rc = group(c);
	c->timing.read = t1 - t0;
	c->timing.link = now_s() - t1;
	sh_allowlist_free(own);
	sh_policy_free(policy);
	free(x.ev);
	free(x.res);
	free(x.runs);
	if (rc != 0) {
		sh_campaigns_free(c);
		return rc;
	}
	*out = c;
	return 0;
}

void sh_campaigns_free(struct sh_campaigns *c)
{
	if (!c)
		return;
	for (size_t j = 0; j < c->n_camps; j++)
		free(c->camps[j].evidence);
	free(c->camps);
	free(c->camp_of);
	free(c->inds);
	sh_linker_free(c->linker);
	if (c->priv) {
		free(c->priv->members);
		sh_netdb_free(c->priv->db);
		sh_arena_fini(&c->priv->arena);
		free(c->priv);
	}
	free(c);
}

struct keyed {
	const char *key;
	int64_t delay;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;
	int d = strcmp(x->key, y->key);
	if (d)
		return d;
	return (x->delay > y->delay) - (x->delay < y->delay);
}

int sh_campaigns_by_network(const struct sh_campaigns *c, enum sh_intel_by by,
			    struct sh_respawn_net **out, size_t *n_out)
{
	const struct sh_respawn *e;
	size_t n_e = sh_linker_respawns(c->linker, &e);
	struct keyed *v = malloc((n_e ? n_e : 1) * sizeof(*v));
	char *asn = malloc((n_e ? n_e : 1) * 16);
	struct sh_respawn_net *r = malloc((n_e ? n_e : 1) * sizeof(*r));
	int64_t *d = malloc((n_e ? n_e : 1) * sizeof(*d));
	if (!v || !asn || !r || !d) {
		free(v);
		free(asn);
		free(r);
		free(d);
		return SH_ENOMEM;
	}
	size_t n = 0;
	for (size_t i = 0; i < n_e; i++) {
		const struct sh_camp_ind *m = &c->inds[e[i].new_ind];
		const char *key = NULL;
		switch (by) {
		case SH_INTEL_PREFIX:
			key = m->prefix;
			break;
		case SH_INTEL_ASN:
			if (m->asn) {
				snprintf(asn + 16 * i, 16, "AS%u", m->asn);
				key = asn + 16 * i;
			}
			break;
		case SH_INTEL_ORG:
			key = m->org;
			break;
		case SH_INTEL_COUNTRY:
			key = m->country;
			break;
		case SH_INTEL_ALL:
			key = "";
			break;
		}
		if (key)
			v[n++] = (struct keyed){key, e[i].t_new - e[i].t_off};
	}
	qsort(v, n, sizeof(*v), cmp_keyed);
	size_t k = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && strcmp(v[j].key, v[i].key) == 0) {
			d[j - i] = v[j].delay;
			j++;
		}
		r[k++] = (struct sh_respawn_net){v[i].key, (unsigned long)(j - i), median_h(d, j - i)};
		i = j;
	}
	/* keys pointing into asn[] must outlive this call: copy them into the arena */
	int rc = 0;
	for (size_t i = 0; i < k && rc == 0; i++) {
		char *s = sh_arena_strndup(&c->priv->arena, r[i].key, strlen(r[i].key));
		if (!s)
			rc = SH_ENOMEM;
		r[i].key = s;
	}
	free(v);
	free(asn);
	free(d);
	if (rc != 0) {
		free(r);
		return rc;
	}
	*out = r;
	*n_out = k;
	return 0;
}

const struct sh_respawn_net *sh_respawn_net_find(const struct sh_respawn_net *v, size_t n,
						 const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int d = strcmp(v[mid].key, key);
		if (d == 0)
			return &v[mid];
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool live(const struct sh_campaigns *c, enum sh_evkey key, const char *v,
		 struct sh_camp_infra *out)
{
	uint32_t vid = sh_linker_find(c->linker, key, v, strlen(v)), member;
	int64_t until;
	if (vid == UINT32_MAX || !sh_linker_live_value(c->linker, vid, c->end, &until, &member) ||
	    c->camp_of[member] == UINT32_MAX)
		return false;
	*out = (struct sh_camp_infra){key, sh_linker_value(c->linker, vid, NULL, NULL),
				      &c->camps[c->camp_of[member]], until};
	return true;
}

bool sh_campaigns_infrastructure(const struct sh_campaigns *c, const struct sh_ip *ip,
				 const char *name, struct sh_camp_infra *out)
{
	if (c->end == SH_TIME_NONE)
		return false;
	char buf[SH_PREFIX_STRLEN];
	if (ip) {
		sh_ip_format(ip, buf);
		if (live(c, SH_EV_IP, buf, out))
			return true;
		struct sh_prefix net;
		sh_prefix_from_ip(ip, ip->af == SH_AF_V4 ? 24 : 48, &net);
		sh_prefix_format(&net, buf);
		if (live(c, SH_EV_NET, buf, out))
			return true;
	}
	if (!name)
		return false;
	char reg[SH_DOMAIN_MAX];
	return live(c, SH_EV_DOMAIN, sh_domain_registrable(name, reg) == 0 ? reg : name, out);
}
