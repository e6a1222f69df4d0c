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

static bool covers(const struct table *t, int field, int af)
{
	int fam = t->info.fields & (SH_NETDB_HAS_V4 | SH_NETDB_HAS_V6);
	return (t->info.fields & field) &&
	       (!fam || (fam & (af == SH_AF_V4 ? SH_NETDB_HAS_V4 : SH_NETDB_HAS_V6)));
}

/* The as_of date in force: the newest date not after when among tables with the field and
 * family, else the oldest such date. False when no table qualifies. */
static bool pick_date(const struct sh_netdb *db, int field, int af, int64_t when, int64_t *as_of)
{
	bool any = false, found = false;
	int64_t oldest = 0, best = 0;
	for (size_t i = 0; i < db->n; i++) {
		const struct table *t = &db->tables[i];
		if (!covers(t, field, af))
			continue;
		if (!any || t->info.as_of < oldest)
			oldest = t->info.as_of;
		any = true;
		if ((when == SH_TIME_NONE || t->info.as_of <= when) && (!found || t->info.as_of > best)) {
			best = t->info.as_of;
			found = true;
		}
	}
	*as_of = found ? best : oldest;
	return any;
}

/* Longest match among the tables of that date, the most recently imported first. */
static int lookup_at(struct sh_netdb *db, int field, const struct sh_ip *ip, int64_t when,
		     struct sh_netinfo *ni, int64_t *as_of)
{
	if (!pick_date(db, field, ip->af, when, as_of))
		return SH_ENOENT;
	for (size_t i = db->n; i-- > 0;) {
		struct table *t = &db->tables[i];
		if (t->info.as_of != *as_of || !covers(t, field, ip->af))
			continue;
		struct sh_netmap *m = table_map(db, t);
		if (!m)
			return t->load_rc;
		if (sh_netmap_lookup(m, ip, ni) == 0 && (field != SH_ASMAP_HAS_COUNTRY || (ni->country && *ni->country)))
			return 0;
	}
	return SH_ENOENT;
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
	int64_t as_of;
	int rc = lookup_at(db, SH_ASMAP_HAS_ASN, ip, when, &ni, &as_of);
	if (rc == 0) {
		out->mapped = true;
		out->prefix = ni.prefix;
		out->asn = ni.asn;
		out->org = ni.org;
		out->asn_table_as_of = as_of;
		if (ni.country && *ni.country) {
			out->country = ni.country;
			out->country_table_as_of = as_of;
		}
	} else if (rc != SH_ENOENT) {
		return rc;
	}
	rc = lookup_at(db, SH_ASMAP_HAS_COUNTRY, ip, when, &ni, &as_of);
	if (rc == 0) {
		out->country = ni.country;
		out->country_table_as_of = as_of;
	} else if (rc != SH_ENOENT) {
		return rc;
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
