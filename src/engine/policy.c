/* Listing policy: built-in defaults, the "key = value" / [section] parser, the canonical dump.
 * The allowlist built from a policy lives in allowlist.c. */
#include "engine/policy.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/loader.h"
#include "lib/score.h"

#define CODE(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))
#define HOUR INT64_C(3600)
#define DAY (24 * HOUR)
#define DURATION_MAX (INT64_C(100) * 365 * DAY)

/* ---- durations --------------------------------------------------------------------------- */
int sh_duration_parse(const char *s, size_t n, int64_t *out)
{
	int64_t total = 0;
	size_t i = 0;
	bool any = false;
	while (i < n) {
		if (s[i] < '0' || s[i] > '9')
			return SH_EINVAL;
		int64_t v = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			v = v * 10 + (s[i++] - '0');
			if (v > DURATION_MAX)
				return SH_ERANGE;
		}
		int64_t unit = 1;
		if (i < n) {
			switch (s[i]) {
			case 's': unit = 1; break;
			case 'm': unit = 60; break;
			case 'h': unit = HOUR; break;
			case 'd': unit = DAY; break;
			case 'w': unit = 7 * DAY; break;
			default: return SH_EINVAL;
			}
			i++;
		} else if (any) {
			return SH_EINVAL; /* "1h30" is ambiguous */
		}
		if (v > DURATION_MAX / unit || total > DURATION_MAX - v * unit)
			return SH_ERANGE;
		total += v * unit;
		any = true;
	}
	if (!any)
		return SH_EINVAL;
	*out = total;
	return 0;
}

void sh_duration_format(int64_t secs, char buf[32])
{
	static const struct {
		int64_t len;
		char c;
	} units[] = {{7 * DAY, 'w'}, {DAY, 'd'}, {HOUR, 'h'}, {60, 'm'}, {1, 's'}};
	size_t off = 0;
	if (secs <= 0) {
		snprintf(buf, 32, "0s");
		return;
	}
	for (size_t k = 0; k < sizeof(units) / sizeof(units[0]); k++) {
		if (secs >= units[k].len) {
			off += (size_t)snprintf(buf + off, 32 - off, "%" PRId64 "%c", secs / units[k].len,
						units[k].c);
			secs %= units[k].len;
		}
	}
}

/* ---- defaults ------------------------------------------------------------------------------ */
struct default_cat {
	const char *name, *description;
	uint32_t ip_code, domain_code;
	unsigned score;
	const char *threats, *sources, *tags;
};

/* Most specific first: the first match wins. Keep in step with etc/sheriff-policy.conf. */
static const struct default_cat default_cats[] = {
	{"botnet_cc", "botnet command-and-control server", CODE(127, 0, 0, 4), CODE(127, 0, 1, 4),
	 120, "botnet_cc, c2, command-and-control, *c2*", "feodo*", NULL},
	{"phishing", "phishing site", CODE(127, 0, 0, 3), CODE(127, 0, 1, 3), 100,
	 "phishing, *phish*", "phishtank*, openphish*", NULL},
	{"malware", "malware distribution", CODE(127, 0, 0, 2), CODE(127, 0, 1, 2), 100,
	 "malware_download, payload_delivery, malware, malicious-activity", "urlhaus*", NULL},
	{"drop", "network run by or hijacked for criminals (DROP)", CODE(127, 0, 0, 5),
	 CODE(127, 0, 1, 5), 110, NULL, "*drop*", NULL},
	{"abuse", "other abuse", CODE(127, 0, 0, 10), CODE(127, 0, 1, 10), 60, NULL, NULL, NULL},
	/* network_category: whole prefixes of networks with a BPH verdict, no indicators */
	{"bph_network", "network with a bulletproof-hosting verdict", CODE(127, 0, 0, 6),
	 CODE(127, 0, 1, 6), 110, NULL, NULL, NULL},
	/* infrastructure_category: live infrastructure of respawn campaigns, no indicators */
	{"infrastructure", "live infrastructure of a respawn campaign", CODE(127, 0, 0, 7),
	 CODE(127, 0, 1, 7), 90, NULL, NULL, NULL},
};

/* The index of the category named name, or -1. */
static int find_category(const struct sh_policy *p, const char *name)
{
	for (size_t i = 0; i < p->n_cats; i++)
		if (strcmp(p->cats[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void set_text(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

static void trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/* Splits a comma-separated list into the arena-backed pattern list (replacing it). */
static int set_list(struct sh_policy *p, struct sh_pattern_list *l, const char *s, size_t n)
{
	size_t count = 0;
	for (size_t i = 0; i < n; i++)
		count += s[i] == ',';
	char **v = sh_arena_alloc(&p->arena, (count + 1) * sizeof(*v));
	if (!v)
		return SH_ENOMEM;
	size_t k = 0;
	while (n) {
		const char *comma = memchr(s, ',', n);
		size_t len = comma ? (size_t)(comma - s) : n;
		const char *item = s;
		size_t in = len;
		trim(&item, &in);
		if (in) {
			v[k] = sh_arena_strndup(&p->arena, item, in);
			if (!v[k])
				return SH_ENOMEM;
			k++;
		}
		if (!comma)
			break;
		s = comma + 1;
		n -= len + 1;
	}
	l->v = v;
	l->n = k;
	return 0;
}

static int append_list(struct sh_policy *p, struct sh_pattern_list *l, const char *s, size_t n)
{
	struct sh_pattern_list add;
	int rc = set_list(p, &add, s, n);
	if (rc != 0 || add.n == 0)
		return rc;
	char **v = sh_arena_alloc(&p->arena, (l->n + add.n) * sizeof(*v));
	if (!v)
		return SH_ENOMEM;
	if (l->n)
		memcpy(v, l->v, l->n * sizeof(*v));
	memcpy(v + l->n, add.v, add.n * sizeof(*v));
	l->v = v;
	l->n += add.n;
	return 0;
}

static int set_list_str(struct sh_policy *p, struct sh_pattern_list *l, const char *s)
{
	if (!s) {
		l->v = NULL;
		l->n = 0;
		return 0;
	}
	return set_list(p, l, s, strlen(s));
}

static void cat_unset(struct sh_policy_category *c)
{
	memset(c, 0, sizeof(*c));
	c->ttl = c->expiry = c->offline_grace = -1;
	c->score = 100;
	c->list = true;
}

int sh_policy_new(struct sh_policy **out)
{
	*out = NULL;
	struct sh_policy *p = calloc(1, sizeof(*p));
	if (!p)
		return SH_ENOMEM;
	sh_arena_init(&p->arena, 4096);
	p->offline_grace = 3 * DAY;
	p->stale_after = 7 * DAY;
	p->expiry = DAY;
	p->types = 1u << SH_IND_IP | 1u << SH_IND_CIDR | 1u << SH_IND_DOMAIN | 1u << SH_IND_URL;
	p->url_ip_hosts = true;
	p->url_domain_hosts = false;
	p->min_sources = 1;
	p->network_verdicts = 1u << SH_VERDICT_BPH;
	snprintf(p->network_category, sizeof(p->network_category), "bph_network");
	p->network_min_prefix_v4 = 16;
	p->network_min_prefix_v6 = 32;
	p->infrastructure = false;
	p->infrastructure_window = 3 * DAY;
	snprintf(p->infrastructure_category, sizeof(p->infrastructure_category), "infrastructure");
	p->ttl = HOUR;
	p->negative_ttl = 5 * 60;
	p->refresh = HOUR;
	p->retry = 15 * 60;
	p->soa_expire = 7 * DAY;
	snprintf(p->zone, sizeof(p->zone), "bl.example");
	snprintf(p->rpz_zone, sizeof(p->rpz_zone), "rpz.example");
	snprintf(p->ns, sizeof(p->ns), "ns.example");
	snprintf(p->hostmaster, sizeof(p->hostmaster), "hostmaster.example");
	p->rpz_ip_triggers = false;
	p->max_shrink = 0.5;
	p->shrink_min_entries = 100;
	p->min_prefix_v4 = 10;
	p->min_prefix_v6 = 20;
	p->allow_special = true;
	p->allow_resolvers = true;
	snprintf(p->publisher, sizeof(p->publisher), "sheriff");
	p->withdrawn_keep = 30 * DAY;
	int rc = set_list_str(p, &p->shared_hosting,
			      "cloudflare, fastly, akamai, bunny, cdn77, imperva, google except gcp");
	for (size_t i = 0; rc == 0 && i < sizeof(default_cats) / sizeof(default_cats[0]); i++) {
		const struct default_cat *d = &default_cats[i];
		struct sh_policy_category *c = &p->cats[p->n_cats++];
		cat_unset(c);
		snprintf(c->name, sizeof(c->name), "%s", d->name);
		snprintf(c->description, sizeof(c->description), "%s", d->description);
		c->ip_code = d->ip_code;
		c->domain_code = d->domain_code;
		c->score = d->score;
		rc = set_list_str(p, &c->threats, d->threats);
		if (rc == 0)
			rc = set_list_str(p, &c->sources, d->sources);
		if (rc == 0)
			rc = set_list_str(p, &c->tags, d->tags);
	}
	p->network_cat = find_category(p, p->network_category);
	p->infra_cat = find_category(p, p->infrastructure_category);
	if (rc == 0) {
		for (size_t i = 0; i < p->n_cats; i++) {
			p->cats[i].ttl = p->ttl;
			p->cats[i].expiry = p->expiry;
			p->cats[i].offline_grace = p->offline_grace;
		}
	}
	if (rc != 0) {
		sh_policy_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void sh_policy_free(struct sh_policy *p)
{
	if (!p)
		return;
	free(p->allow);
	sh_arena_fini(&p->arena);
	free(p);
}

/* ---- parser -------------------------------------------------------------------------------- */
enum section { SEC_NONE, SEC_LISTING, SEC_DNS, SEC_GUARD, SEC_ALLOW, SEC_PUBLISH, SEC_CATEGORY,
	       SEC_BAD };

struct parser {
	struct sh_policy *p;
	const char *file;
	sh_policy_diag diag;
	void *arg;
	unsigned long line;
	unsigned long errors;
	enum section sec;
	struct sh_policy_category *cat;
	bool cats_from_file;
	/* which category values the file set, so the rest inherit the [listing]/[dns] values */
	bool set_ttl[SH_POLICY_MAX_CATEGORIES], set_expiry[SH_POLICY_MAX_CATEGORIES],
		set_grace[SH_POLICY_MAX_CATEGORIES];
	bool global_ttl, global_expiry, global_grace;
	unsigned long network_category_line; /* where network_category was set, 0: not */
	unsigned long infra_category_line;   /* where infrastructure_category was set, 0: not */
	int rc; /* out of memory */
};

__attribute__((format(printf, 2, 3))) static void bad(struct parser *ps, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ps->errors++;
	if (ps->diag)
		ps->diag(ps->arg, ps->file, ps->line, msg);
}

/* A value for messages: at most 40 bytes, non-printable bytes as '?'. */
static const char *shown(const char *s, size_t n, char buf[48])
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < 40; i++)
		buf[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n > 40) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = '\0';
	return buf;
}

static bool is_word(const char *s, size_t n, const char *w)
{
	return strlen(w) == n && strncasecmp(s, w, n) == 0;
}

static bool parse_bool(struct parser *ps, const char *v, size_t n, bool *out)
{
	if (is_word(v, n, "yes") || is_word(v, n, "true") || is_word(v, n, "on") || is_word(v, n, "1")) {
		*out = true;
		return true;
	}
	if (is_word(v, n, "no") || is_word(v, n, "false") || is_word(v, n, "off") || is_word(v, n, "0")) {
		*out = false;
		return true;
	}
	char b[48];
	bad(ps, "expected yes or no, not '%s'", shown(v, n, b));
	return false;
}

static bool parse_dur(struct parser *ps, const char *v, size_t n, int64_t *out)
{
	char b[48];
	if (sh_duration_parse(v, n, out) == 0)
		return true;
	bad(ps, "expected a duration such as 90s, 15m, 12h, 7d or 1d12h, not '%s'", shown(v, n, b));
	return false;
}

static bool parse_uint(struct parser *ps, const char *v, size_t n, unsigned long lo,
		       unsigned long hi, unsigned long *out)
{
	unsigned long x = 0;
	char b[48];
	bool ok = n > 0 && n <= 12;
	for (size_t i = 0; ok && i < n; i++) {
		ok = v[i] >= '0' && v[i] <= '9';
		x = x * 10 + (unsigned long)(v[i] - '0');
	}
	if (!ok || x < lo || x > hi) {
		bad(ps, "expected a whole number from %lu to %lu, not '%s'", lo, hi, shown(v, n, b));
		return false;
	}
	*out = x;
	return true;
}

/* "50%" or "0.5" */
static bool parse_share(struct parser *ps, const char *v, size_t n, double *out)
{
	char buf[32], b[48];
	bool pct = n && v[n - 1] == '%';
	size_t len = pct ? n - 1 : n;
	if (len == 0 || len >= sizeof(buf)) {
		bad(ps, "expected a share such as 50%% or 0.5, not '%s'", shown(v, n, b));
		return false;
	}
	memcpy(buf, v, len);
	buf[len] = '\0';
	for (size_t i = 0; i < len; i++) {
		if (!((buf[i] >= '0' && buf[i] <= '9') || buf[i] == '.')) {
			bad(ps, "expected a share such as 50%% or 0.5, not '%s'", shown(v, n, b));
			return false;
		}
	}
	char *end;
	errno = 0;
	double x = strtod(buf, &end);
	if (pct)
		x /= 100.0;
	if (errno || *end || !(x >= 0.0 && x <= 1.0)) {
		bad(ps, "expected a share from 0%% to 100%%, not '%s'", shown(v, n, b));
		return false;
	}
	*out = x;
	return true;
}

static bool parse_name(struct parser *ps, const char *v, size_t n, char out[SH_DOMAIN_MAX])
{
	char b[48];
	if (sh_domain_normalise(v, n, out) == 0)
		return true;
	bad(ps, "expected a domain name, not '%s'", shown(v, n, b));
	return false;
}

/* 127.a.b.c in host order. */
static bool parse_code(const char *v, size_t n, uint32_t *out)
{
	struct sh_ip ip;
	if (sh_ip_parse(v, n, &ip) != 0 || ip.af != SH_AF_V4 || ip.b[0] != 127)
		return false;
	*out = CODE(ip.b[0], ip.b[1], ip.b[2], ip.b[3]);
	return true;
}

/* IP lists: 127.0.0.2 and up, never 127.0.0.0/1, the domain block 127.0.1.0/24, or
 * 127.255.255.0/24 (RFC 5782 clients read those as errors). */
static bool ip_code_ok(uint32_t c)
{
	return c >= CODE(127, 0, 0, 2) && (c >> 8) != CODE(0, 127, 0, 1) &&
	       (c >> 8) != CODE(0, 127, 255, 255) && (c & 0xff) != 0 && (c & 0xff) != 255;
}

static bool domain_code_ok(uint32_t c)
{
	return (c >> 8) == CODE(0, 127, 0, 1) && (c & 0xff) >= 2 && (c & 0xff) <= 254;
}

static bool category_name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= SH_POLICY_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

static bool publisher_ok(const char *s, size_t n)
{
	if (n == 0 || n >= sizeof(((struct sh_policy *)0)->publisher))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == ' ' || s[i] == '.' || s[i] == '_' ||
		      s[i] == '-'))
			return false;
	return true;
}

static void section_header(struct parser *ps, const char *s, size_t n)
{
	char b[48];
	trim(&s, &n);
	ps->cat = NULL;
	if (is_word(s, n, "listing")) {
		ps->sec = SEC_LISTING;
	} else if (is_word(s, n, "dns")) {
		ps->sec = SEC_DNS;
	} else if (is_word(s, n, "guard")) {
		ps->sec = SEC_GUARD;
	} else if (is_word(s, n, "allow")) {
		ps->sec = SEC_ALLOW;
	} else if (is_word(s, n, "publish")) {
		ps->sec = SEC_PUBLISH;
	} else if (n > 9 && strncmp(s, "category", 8) == 0 && (s[8] == ' ' || s[8] == '\t')) {
		const char *name = s + 9;
		size_t nn = n - 9;
		trim(&name, &nn);
		ps->sec = SEC_BAD;
		if (!category_name_ok(name, nn)) {
			bad(ps, "category names are 1 to %d characters of a-z, 0-9, _ and -: '%s'",
			    SH_POLICY_NAME_MAX - 1, shown(name, nn, b));
			return;
		}
		struct sh_policy *p = ps->p;
		if (!ps->cats_from_file) {
			ps->cats_from_file = true;
			p->n_cats = 0;
		}
		for (size_t i = 0; i < p->n_cats; i++) {
			if (is_word(name, nn, p->cats[i].name)) {
				bad(ps, "category '%s' is defined twice", p->cats[i].name);
				return;
			}
		}
		if (p->n_cats == SH_POLICY_MAX_CATEGORIES) {
			bad(ps, "more than %d categories", SH_POLICY_MAX_CATEGORIES);
			return;
		}
		ps->cat = &p->cats[p->n_cats];
		ps->set_ttl[p->n_cats] = ps->set_expiry[p->n_cats] = ps->set_grace[p->n_cats] = false;
		p->n_cats++;
		cat_unset(ps->cat);
		set_text(ps->cat->name, sizeof(ps->cat->name), name, nn);
		ps->sec = SEC_CATEGORY;
	} else {
		ps->sec = SEC_BAD;
		bad(ps, "unknown section [%s] (its settings are ignored)", shown(s, n, b));
	}
}

/* A setting naming a category (network_category, infrastructure_category): kept with its
 * line, checked once all categories are known (resolve_category_ref). */
static void category_ref(struct parser *ps, const char *v, size_t vn, char *dst, size_t cap,
			 unsigned long *line)
{
	char b[48];
	if (!category_name_ok(v, vn)) {
		bad(ps, "not a category name: '%s'", shown(v, vn, b));
		return;
	}
	set_text(dst, cap, v, vn);
	*line = ps->line;
}

/* The index of the category a setting names; a file that set it to a category it does not
 * define, while the feature is on, is in error at that line. */
static int resolve_category_ref(struct parser *ps, const char *setting, const char *name,
				unsigned long line, bool on)
{
	int cat = find_category(ps->p, name);
	if (cat < 0 && line && on) {
		ps->line = line;
		bad(ps, "%s '%s' is not a [category] of this policy", setting, name);
	}
	return cat;
}

static void key_listing(struct parser *ps, const char *k, size_t kn, const char *v, size_t vn)
{
	struct sh_policy *p = ps->p;
	unsigned long u;
	char b[48];
	if (is_word(k, kn, "offline_grace")) {
		ps->global_grace |= parse_dur(ps, v, vn, &p->offline_grace);
	} else if (is_word(k, kn, "stale_after")) {
		parse_dur(ps, v, vn, &p->stale_after);
	} else if (is_word(k, kn, "expiry")) {
		if (parse_dur(ps, v, vn, &p->expiry)) {
			ps->global_expiry = true;
			if (p->expiry == 0)
				bad(ps, "expiry must be longer than 0s");
		}
	} else if (is_word(k, kn, "types")) {
		unsigned types = 0;
		struct sh_pattern_list l;
		if ((ps->rc = set_list(p, &l, v, vn)) != 0)
			return;
		for (size_t i = 0; i < l.n; i++) {
			if (strcasecmp(l.v[i], "ip") == 0)
				types |= 1u << SH_IND_IP;
			else if (strcasecmp(l.v[i], "cidr") == 0)
				types |= 1u << SH_IND_CIDR;
			else if (strcasecmp(l.v[i], "domain") == 0)
				types |= 1u << SH_IND_DOMAIN;
			else if (strcasecmp(l.v[i], "url") == 0)
				types |= 1u << SH_IND_URL;
			else {
				bad(ps, "unknown indicator type '%s' (ip, cidr, domain, url)",
				    shown(l.v[i], strlen(l.v[i]), b));
				return;
			}
		}
		p->types = types;
	} else if (is_word(k, kn, "url_ip_hosts")) {
		parse_bool(ps, v, vn, &p->url_ip_hosts);
	} else if (is_word(k, kn, "url_domain_hosts")) {
		parse_bool(ps, v, vn, &p->url_domain_hosts);
	} else if (is_word(k, kn, "min_sources")) {
		if (parse_uint(ps, v, vn, 1, 100, &u))
			p->min_sources = (unsigned)u;
	} else if (is_word(k, kn, "network_verdicts")) {
		struct sh_pattern_list l;
		unsigned verdicts = 0;
		if ((ps->rc = set_list(p, &l, v, vn)) != 0)
			return;
		for (size_t i = 0; i < l.n; i++) {
			int found = -1;
			for (int x = SH_VERDICT_CLEAN; x <= SH_VERDICT_BPH; x++)
				if (strcasecmp(l.v[i], sh_verdict_name((enum sh_verdict)x)) == 0)
					found = x;
			if (found < 0 && !(l.n == 1 && strcasecmp(l.v[i], "none") == 0)) {
				bad(ps, "unknown verdict '%s' (bph, suspicious, abused, clean, or none)",
				    shown(l.v[i], strlen(l.v[i]), b));
				return;
			}
			if (found >= 0)
				verdicts |= 1u << found;
		}
		p->network_verdicts = verdicts;
	} else if (is_word(k, kn, "network_category")) {
		category_ref(ps, v, vn, p->network_category, sizeof(p->network_category),
			     &ps->network_category_line);
	} else if (is_word(k, kn, "network_min_prefix_v4")) {
		if (parse_uint(ps, v, vn, 1, 32, &u))
			p->network_min_prefix_v4 = (unsigned)u;
	} else if (is_word(k, kn, "network_min_prefix_v6")) {
		if (parse_uint(ps, v, vn, 1, 128, &u))
			p->network_min_prefix_v6 = (unsigned)u;
	} else if (is_word(k, kn, "infrastructure")) {
		parse_bool(ps, v, vn, &p->infrastructure);
	} else if (is_word(k, kn, "infrastructure_window")) {
		int64_t w;
		if (parse_dur(ps, v, vn, &w)) {
			if (w <= 0)
				bad(ps, "infrastructure_window must be longer than 0s");
			else
				p->infrastructure_window = w;
		}
	} else if (is_word(k, kn, "infrastructure_category")) {
		category_ref(ps, v, vn, p->infrastructure_category, sizeof(p->infrastructure_category),
			     &ps->infra_category_line);
	} else {
		bad(ps, "unknown setting '%s' in [listing]", shown(k, kn, b));
	}
}

static void key_dns(struct parser *ps, const char *k, size_t kn, const char *v, size_t vn)
{
	struct sh_policy *p = ps->p;
	char b[48];
	if (is_word(k, kn, "ttl"))
		ps->global_ttl |= parse_dur(ps, v, vn, &p->ttl);
	else if (is_word(k, kn, "negative_ttl"))
		parse_dur(ps, v, vn, &p->negative_ttl);
	else if (is_word(k, kn, "refresh"))
		parse_dur(ps, v, vn, &p->refresh);
	else if (is_word(k, kn, "retry"))
		parse_dur(ps, v, vn, &p->retry);
	else if (is_word(k, kn, "expire"))
		parse_dur(ps, v, vn, &p->soa_expire);
	else if (is_word(k, kn, "zone"))
		parse_name(ps, v, vn, p->zone);
	else if (is_word(k, kn, "rpz_zone"))
		parse_name(ps, v, vn, p->rpz_zone);
	else if (is_word(k, kn, "ns"))
		parse_name(ps, v, vn, p->ns);
	else if (is_word(k, kn, "hostmaster"))
		parse_name(ps, v, vn, p->hostmaster);
	else if (is_word(k, kn, "rpz_ip_triggers"))
		parse_bool(ps, v, vn, &p->rpz_ip_triggers);
	else
		bad(ps, "unknown setting '%s' in [dns]", shown(k, kn, b));
}

static void key_guard(struct parser *ps, const char *k, size_t kn, const char *v, size_t vn)
{
	struct sh_policy *p = ps->p;
	unsigned long u;
	char b[48];
	if (is_word(k, kn, "max_shrink")) {
		parse_share(ps, v, vn, &p->max_shrink);
	} else if (is_word(k, kn, "shrink_min_entries")) {
		if (parse_uint(ps, v, vn, 0, 1000000000000ul, &u))
			p->shrink_min_entries = u;
	} else if (is_word(k, kn, "min_prefix_v4")) {
		if (parse_uint(ps, v, vn, 1, 32, &u))
			p->min_prefix_v4 = (unsigned)u;
	} else if (is_word(k, kn, "min_prefix_v6")) {
		if (parse_uint(ps, v, vn, 1, 128, &u))
			p->min_prefix_v6 = (unsigned)u;
	} else {
		bad(ps, "unknown setting '%s' in [guard]", shown(k, kn, b));
	}
}

static void allow_entries(struct parser *ps, const char *v, size_t vn)
{
	struct sh_policy *p = ps->p;
	struct sh_pattern_list l;
	char b[48];
	if ((ps->rc = set_list(p, &l, v, vn)) != 0)
		return;
	for (size_t i = 0; i < l.n; i++) {
		struct sh_indicator *ind = malloc(sizeof(*ind));
		if (!ind) {
			ps->rc = SH_ENOMEM;
			return;
		}
		size_t n = strlen(l.v[i]);
		int rc = sh_indicator_parse(l.v[i], n, ind);
		if (rc != 0 || ind->type == SH_IND_URL) {
			bad(ps, "allow entries are IPs, CIDRs or domains: '%s'", shown(l.v[i], n, b));
			free(ind);
			continue;
		}
		struct sh_policy_allow *na = realloc(p->allow, (p->n_allow + 1) * sizeof(*na));
		if (!na) {
			free(ind);
			ps->rc = SH_ENOMEM;
			return;
		}
		p->allow = na;
		struct sh_policy_allow *a = &p->allow[p->n_allow++];
		memset(a, 0, sizeof(*a));
		a->type = ind->type;
		if (ind->type == SH_IND_DOMAIN)
			set_text(a->domain, sizeof(a->domain), ind->value, ind->value_len);
		else
			a->prefix = ind->prefix;
		free(ind);
	}
}

static void key_allow(struct parser *ps, const char *k, size_t kn, const char *v, size_t vn)
{
	struct sh_policy *p = ps->p;
	char b[48];
	if (is_word(k, kn, "special")) {
		parse_bool(ps, v, vn, &p->allow_special);
	} else if (is_word(k, kn, "resolvers")) {
		parse_bool(ps, v, vn, &p->allow_resolvers);
	} else if (is_word(k, kn, "shared_hosting")) {
		ps->rc = set_list(p, &p->shared_hosting, v, vn);
	} else if (is_word(k, kn, "entry")) {
		allow_entries(ps, v, vn);
	} else if (is_word(k, kn, "file")) {
		if (vn == 0)
			bad(ps, "file needs a path");
		else
			ps->rc = append_list(p, &p->allow_files, v, vn);
	} else {
		bad(ps, "unknown setting '%s' in [allow]", shown(k, kn, b));
	}
}

static void key_publish(struct parser *ps, const char *k, size_t kn, const char *v, size_t vn)
{
	struct sh_policy *p = ps->p;
	char b[48];
	if (is_word(k, kn, "publisher")) {
		if (publisher_ok(v, vn))
			set_text(p->publisher, sizeof(p->publisher), v, vn);
		else
			bad(ps, "publisher is 1 to 63 letters, digits, spaces, '.', '_' or '-': '%s'",
			    shown(v, vn, b));
	} else if (is_word(k, kn, "withdrawn_keep")) {
		parse_dur(ps, v, vn, &p->withdrawn_keep);
	} else {
		bad(ps, "unknown setting '%s' in [publish]", shown(k, kn, b));
	}
}

static void key_category(struct parser *ps, const char *k, size_t kn, const char *v, size_t vn)
{
	struct sh_policy_category *c = ps->cat;
	size_t idx = (size_t)(c - ps->p->cats);
	unsigned long u;
	uint32_t code;
	char b[48];
	if (is_word(k, kn, "description")) {
		bool ok = vn < sizeof(c->description);
		for (size_t i = 0; ok && i < vn; i++)
			ok = v[i] >= 0x20 && v[i] < 0x7f && v[i] != '"' && v[i] != '\\' && v[i] != '$';
		if (ok)
			set_text(c->description, sizeof(c->description), v, vn);
		else
			bad(ps, "description is up to 127 printable ASCII characters without '\"', '\\' or '$'");
	} else if (is_word(k, kn, "ip_code")) {
		if (parse_code(v, vn, &code) && ip_code_ok(code))
			c->ip_code = code;
		else
			bad(ps, "ip_code must be 127.0.0.2 or above, outside 127.0.1.0/24 and "
				"127.255.255.0/24, not '%s'", shown(v, vn, b));
	} else if (is_word(k, kn, "domain_code")) {
		if (parse_code(v, vn, &code) && domain_code_ok(code))
			c->domain_code = code;
		else
			bad(ps, "domain_code must be in 127.0.1.2 .. 127.0.1.254, not '%s'",
			    shown(v, vn, b));
	} else if (is_word(k, kn, "ttl")) {
		ps->set_ttl[idx] |= parse_dur(ps, v, vn, &c->ttl);
	} else if (is_word(k, kn, "expiry")) {
		if (parse_dur(ps, v, vn, &c->expiry)) {
			ps->set_expiry[idx] = true;
			if (c->expiry == 0)
				bad(ps, "expiry must be longer than 0s");
		}
	} else if (is_word(k, kn, "offline_grace")) {
		ps->set_grace[idx] |= parse_dur(ps, v, vn, &c->offline_grace);
	} else if (is_word(k, kn, "score")) {
		if (parse_uint(ps, v, vn, 1, 127, &u))
			c->score = (unsigned)u;
	} else if (is_word(k, kn, "list")) {
		parse_bool(ps, v, vn, &c->list);
	} else if (is_word(k, kn, "threats")) {
		ps->rc = set_list(ps->p, &c->threats, v, vn);
	} else if (is_word(k, kn, "sources")) {
		ps->rc = set_list(ps->p, &c->sources, v, vn);
	} else if (is_word(k, kn, "tags")) {
		ps->rc = set_list(ps->p, &c->tags, v, vn);
	} else {
		bad(ps, "unknown setting '%s' in [category %s]", shown(k, kn, b), c->name);
	}
}

static void parse_line(struct parser *ps, const char *s, size_t n)
{
	char b[48];
	if (memchr(s, '\0', n)) {
		bad(ps, "NUL byte in line");
		return;
	}
	/* '#' starts a comment at the start of a line or after white space */
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '#' && (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
			n = i;
			break;
		}
	}
	trim(&s, &n);
	if (n == 0)
		return;
	if (s[0] == '[') {
		if (s[n - 1] != ']') {
			ps->sec = SEC_BAD;
			bad(ps, "section header without ']': '%s'", shown(s, n, b));
			return;
		}
		section_header(ps, s + 1, n - 2);
		return;
	}
	const char *eq = memchr(s, '=', n);
	if (!eq) {
		bad(ps, "expected 'key = value': '%s'", shown(s, n, b));
		return;
	}
	const char *k = s, *v = eq + 1;
	size_t kn = (size_t)(eq - s), vn = n - kn - 1;
	trim(&k, &kn);
	trim(&v, &vn);
	if (kn == 0) {
		bad(ps, "setting without a name");
		return;
	}
	switch (ps->sec) {
	case SEC_NONE:
		bad(ps, "setting '%s' before any [section]", shown(k, kn, b));
		break;
	case SEC_LISTING:
		key_listing(ps, k, kn, v, vn);
		break;
	case SEC_DNS:
		key_dns(ps, k, kn, v, vn);
		break;
	case SEC_GUARD:
		key_guard(ps, k, kn, v, vn);
		break;
	case SEC_ALLOW:
		key_allow(ps, k, kn, v, vn);
		break;
	case SEC_PUBLISH:
		key_publish(ps, k, kn, v, vn);
		break;
	case SEC_CATEGORY:
		key_category(ps, k, kn, v, vn);
		break;
	case SEC_BAD:
		break; /* the section header was reported */
	}
}

int sh_policy_parse(struct sh_policy *p, const char *buf, size_t len, const char *file,
		    sh_policy_diag diag, void *arg)
{
	struct parser ps = {.p = p, .file = file, .diag = diag, .arg = arg, .sec = SEC_NONE};
	/* categories that came with the defaults inherit changed global values as well */
	for (size_t i = 0; i < p->n_cats; i++)
		ps.set_ttl[i] = ps.set_expiry[i] = ps.set_grace[i] = false;
	size_t off = 0;
	while (off < len && ps.rc == 0) {
		const char *s = buf + off;
		const char *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off;
		off += n + (nl ? 1 : 0);
		ps.line++;
		if (n && s[n - 1] == '\r')
			n--;
		parse_line(&ps, s, n);
	}
	if (ps.rc != 0)
		return ps.rc;
	if (ps.cats_from_file && p->n_cats == 0) {
		ps.line = 0;
		bad(&ps, "no valid [category] section");
	}
	for (size_t i = 0; i < p->n_cats; i++) {
		struct sh_policy_category *c = &p->cats[i];
		if (!ps.set_ttl[i] && (c->ttl < 0 || ps.global_ttl))
			c->ttl = p->ttl;
		if (!ps.set_expiry[i] && (c->expiry < 0 || ps.global_expiry))
			c->expiry = p->expiry;
		if (!ps.set_grace[i] && (c->offline_grace < 0 || ps.global_grace))
			c->offline_grace = p->offline_grace;
		if (c->ip_code == 0 || c->domain_code == 0) {
			ps.line = 0;
			bad(&ps, "category '%s' needs ip_code and domain_code", c->name);
		}
	}
	/* a file with categories of its own lists networks only where it names their category */
	p->network_cat = resolve_category_ref(&ps, "network_category", p->network_category,
					      ps.network_category_line, p->network_verdicts != 0);
	p->infra_cat = resolve_category_ref(&ps, "infrastructure_category",
					    p->infrastructure_category, ps.infra_category_line,
					    p->infrastructure);
	return ps.errors ? SH_EINVAL : 0;
}

int sh_policy_load(const char *path, sh_policy_diag diag, void *arg, struct sh_policy **out)
{
	struct sh_blob b;
	int rc = sh_blob_load(path, &b);
	*out = NULL;
	if (rc != 0) {
		if (diag)
			diag(arg, path, 0, b.errmsg[0] ? b.errmsg : sh_strerror(rc));
		return rc;
	}
	struct sh_policy *p;
	rc = sh_policy_new(&p);
	if (rc == 0) {
		rc = sh_policy_parse(p, b.data, b.len, path, diag, arg);
		if (rc != 0) {
			sh_policy_free(p);
			p = NULL;
		}
	}
	sh_blob_fini(&b);
	*out = p;
	return rc;
}

/* ---- dump ---------------------------------------------------------------------------------- */
static void dump_list(FILE *f, const char *key, const struct sh_pattern_list *l)
{
	fprintf(f, "%s =", key);
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%s %s", i ? "," : "", l->v[i]);
	fputc('\n', f);
}

static void dump_dur(FILE *f, const char *key, int64_t v)
{
	char b[32];
	sh_duration_format(v, b);
	fprintf(f, "%s = %s\n", key, b);
}

static void dump_code(FILE *f, const char *key, uint32_t c)
{
	fprintf(f, "%s = %u.%u.%u.%u\n", key, c >> 24, (c >> 16) & 0xff, (c >> 8) & 0xff, c & 0xff);
}

void sh_policy_dump(const struct sh_policy *p, FILE *f)
{
	static const char *const type_names[] = {NULL, "ip", "cidr", "domain", "url"};
	fprintf(f, "[listing]\n");
	dump_dur(f, "offline_grace", p->offline_grace);
	dump_dur(f, "stale_after", p->stale_after);
	dump_dur(f, "expiry", p->expiry);
	fprintf(f, "types =");
	bool first = true;
	for (int t = SH_IND_IP; t <= SH_IND_URL; t++) {
		if (p->types & (1u << t)) {
			fprintf(f, "%s %s", first ? "" : ",", type_names[t]);
			first = false;
		}
	}
	fprintf(f, "\nurl_ip_hosts = %s\nurl_domain_hosts = %s\nmin_sources = %u\n",
		p->url_ip_hosts ? "yes" : "no", p->url_domain_hosts ? "yes" : "no", p->min_sources);
	fprintf(f, "network_verdicts =");
	first = true;
	/* without its category no network is listed: say so, so the dump parses back */
	unsigned verdicts = p->network_cat >= 0 ? p->network_verdicts : 0;
	for (int x = SH_VERDICT_BPH; x >= SH_VERDICT_CLEAN; x--) {
		if (verdicts & (1u << x)) {
			fprintf(f, "%s %s", first ? "" : ",", sh_verdict_name((enum sh_verdict)x));
			first = false;
		}
	}
	fprintf(f, "%s\nnetwork_category = %s\nnetwork_min_prefix_v4 = %u\n"
		   "network_min_prefix_v6 = %u\n",
		first ? " none" : "", p->network_category, p->network_min_prefix_v4,
		p->network_min_prefix_v6);
	fprintf(f, "infrastructure = %s\n", p->infrastructure && p->infra_cat >= 0 ? "yes" : "no");
	dump_dur(f, "infrastructure_window", p->infrastructure_window);
	fprintf(f, "infrastructure_category = %s\n", p->infrastructure_category);
	fprintf(f, "\n[dns]\n");
	dump_dur(f, "ttl", p->ttl);
	dump_dur(f, "negative_ttl", p->negative_ttl);
	dump_dur(f, "refresh", p->refresh);
	dump_dur(f, "retry", p->retry);
	dump_dur(f, "expire", p->soa_expire);
	fprintf(f, "zone = %s\nrpz_zone = %s\nns = %s\nhostmaster = %s\nrpz_ip_triggers = %s\n",
		p->zone, p->rpz_zone, p->ns, p->hostmaster, p->rpz_ip_triggers ? "yes" : "no");
	fprintf(f, "\n[guard]\nmax_shrink = %g%%\nshrink_min_entries = %lu\n"
		   "min_prefix_v4 = %u\nmin_prefix_v6 = %u\n",
		p->max_shrink * 100.0, p->shrink_min_entries, p->min_prefix_v4, p->min_prefix_v6);
	fprintf(f, "\n[allow]\nspecial = %s\nresolvers = %s\n", p->allow_special ? "yes" : "no",
		p->allow_resolvers ? "yes" : "no");
	dump_list(f, "shared_hosting", &p->shared_hosting);
	for (size_t i = 0; i < p->n_allow; i++) {
		char b[SH_PREFIX_STRLEN];
		if (p->allow[i].type == SH_IND_DOMAIN)
			fprintf(f, "entry = %s\n", p->allow[i].domain);
		else
			fprintf(f, "entry = %.*s\n", (int)sh_prefix_format(&p->allow[i].prefix, b), b);
	}
	for (size_t i = 0; i < p->allow_files.n; i++)
		fprintf(f, "file = %s\n", p->allow_files.v[i]);
	fprintf(f, "\n[publish]\npublisher = %s\n", p->publisher);
	dump_dur(f, "withdrawn_keep", p->withdrawn_keep);
	for (size_t i = 0; i < p->n_cats; i++) {
		const struct sh_policy_category *c = &p->cats[i];
		fprintf(f, "\n[category %s]\ndescription = %s\n", c->name, c->description);
		dump_code(f, "ip_code", c->ip_code);
		dump_code(f, "domain_code", c->domain_code);
		dump_dur(f, "ttl", c->ttl);
		dump_dur(f, "expiry", c->expiry);
		dump_dur(f, "offline_grace", c->offline_grace);
		fprintf(f, "score = %u\nlist = %s\n", c->score, c->list ? "yes" : "no");
		dump_list(f, "threats", &c->threats);
		dump_list(f, "sources", &c->sources);
		dump_list(f, "tags", &c->tags);
	}
}
