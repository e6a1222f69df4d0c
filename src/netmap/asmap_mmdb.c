/* MaxMind DB network tables: walks the search tree with libmaxminddb and emits one row per
 * leaf that carries an ASN or a country.
 *
 * The walk is a depth-first descent over MMDB_read_node, carrying the bits of the path so
 * far. In an IPv6 tree IPv4 lives under ::/96 and is emitted as IPv4; the same IPv4 subtree
 * is usually also reachable through aliases: ::ffff:0:0/96 and 2002::/16 are never walked,
 * and any other record pointing at the IPv4 subtree's node (Teredo 2001::/32 in some files)
 * is recognised as an alias and skipped.
 * A corrupt file could make nodes point back up the tree, so the walk gives up after visiting
 * more nodes than a tree of node_count nodes can hold. Leaves usually share a few data
 * records, so field look-ups are cached by data offset. */
#include <maxminddb.h>
#include <stdlib.h>
#include <string.h>

#include "netmap/asmap.h"

#define CACHE_SLOTS 4096
/* Longer organisation names are not names: dropped, the row is kept. */
#define ORG_MAX 1024

struct leaf_fields {
	uint32_t offset; /* data offset + 1; 0 when the slot is empty */
	uint32_t asn;
	const char *org; /* into the mapped file, not NUL-terminated */
	size_t org_len;
	char country[3];
};

struct walk {
	MMDB_s db;
	sh_netrow_cb cb;
	void *arg;
	int fields;
	uint32_t ipv4_node; /* UINT32_MAX: no IPv4 subtree */
	struct leaf_fields cache[CACHE_SLOTS];
	char org[ORG_MAX + 1];
};

/* SH_EINVAL for a corrupt record, 0 otherwise (an absent or mistyped field is left unset). */
static int get_field(MMDB_entry_s *e, MMDB_entry_data_s *d, const char *const *path)
{
	int rc = MMDB_aget_value(e, d, path);
	if (rc == MMDB_SUCCESS)
		return 0;
	d->has_data = false;
	if (rc == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || rc == MMDB_INVALID_LOOKUP_PATH_ERROR)
		return 0;
	return SH_EINVAL;
}

static void take_country(const MMDB_entry_data_s *d, char out[3])
{
	if (!d->has_data || d->type != MMDB_DATA_TYPE_UTF8_STRING || d->data_size != 2)
		return;
	for (int i = 0; i < 2; i++) {
		char c = d->utf8_string[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c < 'A' || c > 'Z')
			return;
		out[i] = c;
	}
	out[2] = '\0';
	if (strcmp(out, "ZZ") == 0)
		out[0] = '\0';
}

static int read_fields(MMDB_entry_s *e, struct leaf_fields *f)
{
	static const char *const p_asn[] = {"autonomous_system_number", NULL};
	static const char *const p_org[] = {"autonomous_system_organization", NULL};
	static const char *const p_iso[] = {"country", "iso_code", NULL};
	static const char *const p_cc[] = {"country_code", NULL};
	memset(f, 0, sizeof(*f));
	MMDB_entry_data_s d;
	int rc = get_field(e, &d, p_asn);
	if (rc)
		return rc;
	if (d.has_data) {
		if (d.type == MMDB_DATA_TYPE_UINT32)
			f->asn = d.uint32;
		else if (d.type == MMDB_DATA_TYPE_UINT16)
			f->asn = d.uint16;
		else if (d.type == MMDB_DATA_TYPE_UINT64 && d.uint64 <= UINT32_MAX)
			f->asn = (uint32_t)d.uint64;
		else if (d.type == MMDB_DATA_TYPE_INT32 && d.int32 >= 0)
			f->asn = (uint32_t)d.int32;
	}
	if ((rc = get_field(e, &d, p_org)))
		return rc;
	if (d.has_data && d.type == MMDB_DATA_TYPE_UTF8_STRING && d.data_size <= ORG_MAX) {
		f->org = d.utf8_string;
		f->org_len = d.data_size;
	}
	if ((rc = get_field(e, &d, p_iso)))
		return rc;
	take_country(&d, f->country);
	if (!f->country[0]) {
		if ((rc = get_field(e, &d, p_cc)))
			return rc;
		take_country(&d, f->country);
	}
	return 0;
}

static int emit(struct walk *w, MMDB_entry_s *e, const uint8_t path[16], unsigned len)
{
	struct leaf_fields *f = &w->cache[e->offset % CACHE_SLOTS];
	if (f->offset != e->offset + 1) {
		int rc = read_fields(e, f);
		if (rc)
			return rc;
		f->offset = e->offset + 1;
	}
	if (!f->asn && !f->country[0])
		return 0;
	struct sh_netrow row = {.asn = f->asn, .org = ""};
	memcpy(row.country, f->country, sizeof(row.country));
	if (f->asn && f->org && sh_asmap_org_clean(f->org, f->org_len, w->org))
		row.org = w->org;
	struct sh_ip ip = {.af = SH_AF_V6};
	memcpy(ip.b, path, 16);
	if (w->db.metadata.ip_version == 4) {
		ip.af = SH_AF_V4;
	} else if (len >= 96 && memcmp(path, (const uint8_t[12]){0}, 12) == 0) {
		ip.af = SH_AF_V4;
		memmove(ip.b, path + 12, 4);
		memset(ip.b + 4, 0, 12);
		len -= 96;
	}
	sh_prefix_from_ip(&ip, len, &row.prefix);
	w->fields |= (f->asn ? SH_ASMAP_HAS_ASN : 0) | (f->country[0] ? SH_ASMAP_HAS_COUNTRY : 0);
	return w->cb(&row, w->arg);
}

/* The node reached from the root by 96 zero bits, if the tree has one. */
static uint32_t find_ipv4_node(const MMDB_s *db)
{
	uint32_t node = 0;
	for (int i = 0; i < 96; i++) {
		MMDB_search_node_s n;
		if (MMDB_read_node(db, node, &n) != MMDB_SUCCESS ||
		    n.left_record_type != MMDB_RECORD_TYPE_SEARCH_NODE)
			return UINT32_MAX;
		node = (uint32_t)n.left_record;
	}
	return node;
}

/* The IPv6 spellings of IPv4 space that MMDB writers alias to the ::/96 subtree. */
static bool ipv4_alias_path(const uint8_t path[16], unsigned len)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	return (len == 96 && memcmp(path, mapped, 12) == 0) ||
	       (len == 16 && path[0] == 0x20 && path[1] == 0x02);
}

struct walk_item {
	uint32_t node;
	unsigned depth;
	uint8_t path[16];
};

static int walk_tree(struct walk *w)
{
	const unsigned bits = w->db.metadata.ip_version == 4 ? 32 : 128;
	const uint64_t node_count = w->db.metadata.node_count;
	/* depth-first with the right child pushed first: at most one pending item per level */
	struct walk_item stack[130] = {{.node = 0, .depth = 0}};
	int sp = 1;
	uint64_t visits = 0;
	while (sp > 0) {
		struct walk_item it = stack[--sp];
		if (++visits > node_count || it.depth >= bits)
			return SH_EINVAL;
		MMDB_search_node_s n;
		if (MMDB_read_node(&w->db, it.node, &n) != MMDB_SUCCESS)
			return SH_EINVAL;
		for (int side = 1; side >= 0; side--) {
			struct walk_item kid = {.depth = it.depth + 1};
			memcpy(kid.path, it.path, 16);
			if (side)
				kid.path[it.depth / 8] |= (uint8_t)(0x80 >> (it.depth % 8));
			uint8_t type = side ? n.right_record_type : n.left_record_type;
			uint64_t rec = side ? n.right_record : n.left_record;
			if (type == MMDB_RECORD_TYPE_EMPTY ||
			    (bits == 128 && ipv4_alias_path(kid.path, kid.depth)))
				continue;
			if (type == MMDB_RECORD_TYPE_DATA) {
				int rc = emit(w, side ? &n.right_record_entry : &n.left_record_entry,
					      kid.path, kid.depth);
				if (rc)
					return rc;
				continue;
			}
			if (type != MMDB_RECORD_TYPE_SEARCH_NODE || rec >= node_count)
				return SH_EINVAL;
			bool v4_root = kid.depth == 96 && memcmp(kid.path, (const uint8_t[12]){0}, 12) == 0;
			if (bits == 128 && rec == w->ipv4_node && !v4_root)
				continue; /* an alias of the IPv4 subtree */
			if (sp == (int)(sizeof(stack) / sizeof(stack[0])))
				return SH_EINVAL;
			kid.node = (uint32_t)rec;
			stack[sp++] = kid;
		}
	}
	return 0;
}

int sh_asmap_parse_mmdb(const char *path, sh_netrow_cb cb, void *arg, int *fields)
{
	if (fields)
		*fields = 0;
	if (!path || !cb)
		return SH_EINVAL;
	struct walk *w = calloc(1, sizeof(*w));
	if (!w)
		return SH_ENOMEM;
	int mrc = MMDB_open(path, MMDB_MODE_MMAP, &w->db);
	if (mrc != MMDB_SUCCESS) {
		free(w);
		return mrc == MMDB_FILE_OPEN_ERROR || mrc == MMDB_IO_ERROR ? SH_EIO
		       : mrc == MMDB_OUT_OF_MEMORY_ERROR			 ? SH_ENOMEM
										 : SH_EINVAL;
	}
	w->cb = cb;
	w->arg = arg;
	int rc = SH_EINVAL;
	unsigned v = w->db.metadata.ip_version;
	if ((v == 4 || v == 6) && w->db.metadata.node_count > 0) {
		w->ipv4_node = v == 6 ? find_ipv4_node(&w->db) : UINT32_MAX;
		rc = walk_tree(w);
	}
	if (fields)
		*fields = w->fields;
	MMDB_close(&w->db);
	free(w);
	return rc;
}
