/* The database schema as numbered migrations; PRAGMA user_version counts those applied.
 *
 * Never edit a migration that has shipped: append a new one. Conventions: times are Unix
 * seconds (INTEGER), NULL where unknown or still open; addresses are BLOBs in network order,
 * 4 bytes for IPv4 and 16 for IPv6, next to a family column (4 or 6), so a range comparison
 * on (af, addr) is a plain memcmp and fits an index. Indicator ids are never reused (rows are
 * never deleted), which lets snapshots keep their members as compact id lists. */
#include "store/internal.h"

const char *const sh_store_migrations[] = {
	/* 1: feeds, indicators, sightings and runs */
	"PRAGMA application_id = 1397248582;"  /* 'SHRF' */
	"CREATE TABLE source ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  format TEXT NOT NULL,"
	"  full_list INTEGER NOT NULL"           /* 1: absence from a snapshot means offline */
	");"
	/* One file of a source at a time. members: the indicator ids in it, ascending, as
	 * LEB128 deltas; item_fields (incremental sources only): per member, in the same order,
	 * LEB128 flags (bits 0-1 status, bit 2 first_seen given, bit 3 last_online given)
	 * followed by the given times as zigzag LEB128 offsets from t. Commit replays these to
	 * recompute a source when an older snapshot arrives late. */
	"CREATE TABLE snapshot ("
	"  id INTEGER PRIMARY KEY,"
	"  source_id INTEGER NOT NULL REFERENCES source(id),"
	"  t INTEGER NOT NULL,"
	"  content_hash INTEGER NOT NULL,"
	"  file_name TEXT,"
	"  n_items INTEGER NOT NULL,"
	"  n_bad_lines INTEGER NOT NULL,"
	"  ingested_at INTEGER NOT NULL,"
	"  members BLOB NOT NULL,"
	"  item_fields BLOB,"
	"  UNIQUE (source_id, t)"
	");"
	/* type: enum sh_ind_type. host: the host name or IP text of domains and URLs. af, addr_lo,
	 * addr_hi, plen: the address range of IPs, CIDRs and URLs on an IP. */
	"CREATE TABLE indicator ("
	"  id INTEGER PRIMARY KEY,"
	"  type INTEGER NOT NULL,"
	"  value TEXT NOT NULL UNIQUE,"
	"  host TEXT,"
	"  af INTEGER,"
	"  addr_lo BLOB,"
	"  addr_hi BLOB,"
	"  plen INTEGER"
	");"
	"CREATE INDEX indicator_url_host ON indicator (host) WHERE type = 4;"
	"CREATE INDEX indicator_range ON indicator (af, addr_lo, addr_hi) WHERE af IS NOT NULL;"
	/* What one source says about one indicator; online: it has an open run. */
	"CREATE TABLE sighting ("
	"  indicator_id INTEGER NOT NULL REFERENCES indicator(id),"
	"  source_id INTEGER NOT NULL REFERENCES source(id),"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  online INTEGER NOT NULL,"
	"  threat TEXT,"
	"  malware TEXT,"
	"  tags TEXT,"
	"  ref TEXT,"
	"  meta_t INTEGER,"  /* time of the snapshot that gave threat .. ref */
	"  PRIMARY KEY (indicator_id, source_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX sighting_source ON sighting (source_id);"
	/* A continuous stretch online in one source; t_end NULL while open. */
	"CREATE TABLE run ("
	"  indicator_id INTEGER NOT NULL,"
	"  source_id INTEGER NOT NULL,"
	"  t_start INTEGER NOT NULL,"
	"  t_end INTEGER,"
	"  PRIMARY KEY (indicator_id, source_id, t_start),"
	"  FOREIGN KEY (indicator_id, source_id) REFERENCES sighting (indicator_id, source_id)"
	"   ON DELETE CASCADE"
	") WITHOUT ROWID;"
	"CREATE INDEX run_open ON run (source_id, indicator_id) WHERE t_end IS NULL;",

	/* 2: network tables (prefix -> ASN, org, country) and hosting ranges */
	"CREATE TABLE org ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE"
	");"
	/* One imported file; fields: SH_ASMAP_HAS_* mask (-1 while its import is open). */
	"CREATE TABLE asmap_table ("
	"  id INTEGER PRIMARY KEY,"
	"  format TEXT NOT NULL,"
	"  file TEXT NOT NULL,"
	"  as_of INTEGER NOT NULL,"
	"  fields INTEGER NOT NULL,"
	"  n_rows INTEGER NOT NULL,"
	"  imported_at INTEGER NOT NULL"
	");"
	"CREATE UNIQUE INDEX asmap_table_key ON asmap_table (format, file, as_of, fields);"
	/* id: table id << 32 | row number in the file, so a table is one range of ids. */
	"CREATE TABLE asmap ("
	"  id INTEGER PRIMARY KEY,"
	"  af INTEGER NOT NULL,"
	"  addr BLOB NOT NULL,"
	"  plen INTEGER NOT NULL,"
	"  asn INTEGER NOT NULL,"
	"  org_id INTEGER,"  /* org(id); not declared, see src/store/asmap.c */
	"  country TEXT"
	");"
	"CREATE TABLE hosting ("
	"  provider TEXT NOT NULL,"
	"  af INTEGER NOT NULL,"
	"  addr BLOB NOT NULL,"
	"  plen INTEGER NOT NULL,"
	"  PRIMARY KEY (provider, af, addr, plen)"
	") WITHOUT ROWID;",

	/* 3: what tracked names resolved to (rtype 1 A, 28 AAAA: an address as sh_ip_format
	 * writes it) and the name servers of registrable domains (rtype 2: a lowercased host
	 * name without the trailing dot), from `sheriff resolve` */
	"CREATE TABLE resolution ("
	"  name TEXT NOT NULL,"
	"  rtype INTEGER NOT NULL,"
	"  value TEXT NOT NULL,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL,"
	"  PRIMARY KEY (name, rtype, value)"
	") WITHOUT ROWID;",
};

const int sh_store_n_migrations =
	(int)(sizeof(sh_store_migrations) / sizeof(sh_store_migrations[0]));
