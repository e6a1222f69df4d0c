/* Network attribution: picks the table in force per field and date, compiles it on first use. */
#include "engine/netdb.h"

#include <stdlib.h>
#include <string.h>

#include "netmap/asmap.h"

struct table {
	struct sh_asmap_table info;
	struct sh_netmap *map; /* NULL until first use */
	int load_rc;
};

struct sh_netdb {
	struct sh_store *store;
	struct sh_arena arena;
	struct table *tables; /* oldest first */
	size_t n;
	struct sh_netmap *hosting;
};

static int add_row(const struct sh_netrow *row, void *arg)
{
	return sh_netmap_add(arg, row);
}

static int add_hosting(const char *provider, const struct sh_prefix *p, void *arg)
{
	struct sh_netrow row = {.prefix = *p, .org = provider};
	return sh_netmap_add(arg, &row);
}

int sh_netdb_open(struct sh_store *s, struct sh_netdb **out)
{
	*out = NULL;
	struct sh_netdb *db = calloc(1, sizeof(*db));
	if (!db)
		return SH_ENOMEM;
	db->store = s;
	sh_arena_init(&db->arena, 16384);
	struct sh_asmap_table *t;
	int rc = sh_store_asmap_tables(s, &db->arena, &t, &db->n);
	if (rc == 0 && db->n) {
		db->tables = calloc(db->n, sizeof(*db->tables));
		if (!db->tables)
			rc = SH_ENOMEM;
		for (size_t i = 0; rc == 0 && i < db->n; i++)
			db->tables[i].info = t[i];
	}
	if (rc == 0)
		rc = sh_netmap_new(&db->hosting);
	if (rc == 0)
		rc = sh_store_hosting_foreach(s, add_hosting, db->hosting);
	if (rc == 0)
		rc = sh_netmap_build(db->hosting);
	if (rc != 0) {
		sh_netdb_free(db);
		return rc;
	}
	*out = db;
	return 0;
}

static struct sh_netmap *table_map(struct sh_netdb *db, struct table *t)
{
	if (t->map || t->load_rc)
		return t->map;
	struct sh_netmap *m;
	int rc = sh_netmap_new(&m);
	if (rc == 0) {
		rc = sh_store_asmap_rows(db->store, t->info.id, add_row, m);
		if (rc == 0)
			rc = sh_netmap_build(m);
		if (rc != 0)
			sh_netmap_free(m);
	}
	if (rc != 0) {
		t->load_rc = rc;
		return NULL;
	}
	t->map = m;
	return m;
}

/* Newest table with the field whose as_of <= when; else the oldest with the field. */
static struct table *pick(struct sh_netdb *db, int field, int64_t when)
{
	struct table *best = NULL, *oldest = NULL;
	for (size_t i = 0; i < db->n; i++) {
		struct table *t = &db->tables[i];
		if (!(t->info.fields & field))
			continue;
		if (!oldest)
			oldest = t;
		if (when == SH_TIME_NONE || t->info.as_of <= when)
			best = t;
	}
	return best ? best : oldest;
}

int sh_netdb_attribute(struct sh_netdb *db, const struct sh_ip *ip, int64_t when,
		       struct sh_attrib *out)
{
	memset(out, 0, sizeof(*out));
	out->org = "";
	out->country = "";
	out->asn_table_as_of = SH_TIME_NONE;
	out->country_table_as_of = SH_TIME_NONE;
	out->special = sh_ip_special(ip);
	if (out->special)
		return 0;
	struct sh_netinfo ni;
	struct table *t = pick(db, SH_ASMAP_HAS_ASN, when);
	struct sh_netmap *m = t ? table_map(db, t) : NULL;
	if (t && !m)
		return t->load_rc;
	if (m && sh_netmap_lookup(m, ip, &ni) == 0) {
		out->mapped = true;
		out->prefix = ni.prefix;
		out->asn = ni.asn;
		out->org = ni.org;
		if (ni.country && *ni.country)
			out->country = ni.country;
		out->asn_table_as_of = t->info.as_of;
	}
	struct table *tc = pick(db, SH_ASMAP_HAS_COUNTRY, when);
	if (tc && tc != t) {
		m = table_map(db, tc);
		if (!m)
			return tc->load_rc;
		if (sh_netmap_lookup(m, ip, &ni) == 0 && ni.country && *ni.country) {
			out->country = ni.country;
			out->country_table_as_of = tc->info.as_of;
		}
	} else if (tc && *out->country) {
		out->country_table_as_of = tc->info.as_of;
	}
	if (sh_netmap_lookup(db->hosting, ip, &ni) == 0)
		out->hosting = ni.org;
	return 0;
}

unsigned sh_netdb_tables(const struct sh_netdb *db)
{
	return (unsigned)db->n;
}

void sh_netdb_free(struct sh_netdb *db)
{
	if (!db)
		return;
	for (size_t i = 0; i < db->n; i++)
		sh_netmap_free(db->tables[i].map);
	free(db->tables);
	sh_netmap_free(db->hosting);
	sh_arena_fini(&db->arena);
	free(db);
}
