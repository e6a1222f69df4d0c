/* Respawn linking: evidence keys, URL path shapes, and the time-ordered pass that links a new
 * indicator to one taken down shortly before it, with an over-correlation guard.
 *
 * Design: the caller adds every indicator with its online runs and evidence values; the pass
 * then replays three kinds of events in time order (goes offline, comes back, first seen) and
 * decides each link from what it knew at that moment only, so the same pass serves both the
 * campaign report and the no-look-ahead replay. Per evidence value it keeps how many
 * indicators carried it so far (the guard), the member most recently taken down (the
 * candidate predecessor) and whether a campaign member carrying it is live (infrastructure
 * that a new site landing on it is listed by). Memory is linear in indicators and distinct
 * values. */
#ifndef SH_LIB_RESPAWN_H
#define SH_LIB_RESPAWN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* Evidence kinds; their link weights (halves) are in sh_evkey_weight. */
enum sh_evkey {
	SH_EV_IP = 0,   /* the host address */
	SH_EV_NET,      /* its /24 (IPv4) or /48 (IPv6) */
	SH_EV_DOMAIN,   /* registrable domain of a named host */
	SH_EV_PREFIX,   /* routed prefix as of first sight */
	SH_EV_SHAPE,    /* URL path shape (sh_path_shape) */
	SH_EV_FAMILY,   /* malware family given by a feed */
	SH_EV_NS,       /* registrable domain of a name server of its domain (sheriff resolve) */
	SH_EV_TAG,      /* a feed tag */
	SH_EV_ASN,      /* origin ASN as of first sight */
	SH_EV_N
};

/* "ip", "net", "domain", "prefix", "shape", "family", "ns", "tag", "asn". */
const char *sh_evkey_name(enum sh_evkey k);
/* Link weight in halves: a link needs SH_LINK_MIN. IP, NET and DOMAIN link alone; PREFIX,
 * SHAPE, FAMILY and NS need a second key; TAG and ASN only add to others. */
unsigned sh_evkey_weight(enum sh_evkey k);
#define SH_LINK_MIN 4u
/* Keys whose live values are published as infrastructure (addresses blocks and names). */
bool sh_evkey_listable(enum sh_evkey k);

/* Shape of a URL path (query and fragment dropped): lowercased; per segment, a token that
 * looks generated (a digit and a letter and 5+ characters, or 20+ characters) becomes '*',
 * digit runs become '#', and the last segment's extension becomes '*':
 * "/bins/Mozi.arm7" -> "/bins/mozi.*", "/wp/2019/x.exe" -> "/wp/#/x.*", and a last segment
 * "p_406nxh4v1.jpg" gives "*.*". Writes a NUL-terminated shape into out; SH_EINVAL for an empty or "/" path
 * (nothing to compare), SH_ERANGE when out is too small. */
SH_MUST_CHECK int sh_path_shape(const char *path, size_t n, char *out, size_t cap);

struct sh_linker_config {
	int64_t window;   /* longest takedown-to-respawn delay linked, seconds */
	uint32_t bound;   /* a value carried by more indicators than this does not link */
};

/* One evidence value of an indicator; allowlisted values never link. */
struct sh_evval {
	enum sh_evkey type;
	const char *value;
	size_t len;
	bool allowlisted;
};

/* A stretch online; end == INT64_MIN while open (SH_TIME_NONE). */
struct sh_linker_run {
	int64_t start, end;
};

/* A respawn: old went offline at t_off, new was first seen at t_new (t_new >= t_off). A
 * takedown is answered by one respawn, the first that links to it. */
struct sh_respawn {
	uint32_t old_ind, new_ind;
	int64_t t_off, t_new;
	unsigned weight;          /* sum of the shared values' weights, halves */
	uint32_t first_shared;    /* index into sh_linker_shared */
	uint32_t n_shared;
};

/* What the pass knew at an indicator's first sight. */
enum {
	SH_SIGHT_LINKED = 1,      /* it respawned an indicator taken down within the window */
	SH_SIGHT_COVERED = 2,     /* it landed on live campaign infrastructure (listed before) */
	SH_SIGHT_GUARDED = 4,     /* a shared value was over the bound or allowlisted */
	SH_SIGHT_HOST = 8,        /* its host was listed: the indicator naming that address or
				   * name itself was online (a URL on a listed host) */
	SH_SIGHT_SEEN = 16,       /* an address, net or domain value of it was carried by an
				   * earlier indicator, whatever the window, the bound or whether
				   * that one was still online (allowlisted values excepted): the
				   * most that links on those keys could ever reach */
};

struct sh_linker;

SH_MUST_CHECK int sh_linker_new(const struct sh_linker_config *cfg, struct sh_linker **out);
void sh_linker_free(struct sh_linker *l);
/* Adds indicator number sh_linker_count() (before the call); runs ascending by start; the
 * strings are copied. Values repeated within vals count once. site: a hash of its host (0
 * when none); a new indicator on the host of the one taken down is the same site listed
 * another way (a URL after its host), not a respawn. is_host: the indicator is that host
 * itself (an address or a name), not a URL on it. */
SH_MUST_CHECK int sh_linker_add(struct sh_linker *l, int64_t first_seen, uint64_t site,
				bool is_host, const struct sh_linker_run *runs, size_t n_runs,
				const struct sh_evval *vals, size_t n_vals);
size_t sh_linker_count(const struct sh_linker *l);
/* The time-ordered pass; call once after the last add. order (NULL: the order of adding)
 * ranks the indicators for every tie (events at the same time, equally good predecessors,
 * the campaign's representative), so that a caller that adds in an arbitrary order gets the
 * same answer by passing a canonical rank. */
SH_MUST_CHECK int sh_linker_run(struct sh_linker *l, const uint32_t *order);

/* Results of the pass. */
size_t sh_linker_respawns(const struct sh_linker *l, const struct sh_respawn **out);
/* Value ids shared by respawns (see first_shared). */
const uint32_t *sh_linker_shared(const struct sh_linker *l);
/* A value's kind, text and number of indicators carrying it. */
const char *sh_linker_value(const struct sh_linker *l, uint32_t vid, enum sh_evkey *type,
			    uint32_t *carriers);
/* SH_SIGHT_* bits of indicator i. */
unsigned sh_linker_sight(const struct sh_linker *l, uint32_t i);
/* Campaign of indicator i: the member of its connected group that ranks first, or
 * UINT32_MAX when it has none. */
uint32_t sh_linker_campaign(const struct sh_linker *l, uint32_t i);
/* Live campaign infrastructure once the pass is over, as of now (not before the last event):
 * cb gets each listable, unguarded value a campaign member online now carries (until is
 * INT64_MIN: as long as it stays online), or one taken down within the window before now
 * (until: that takedown plus the window). */
void sh_linker_live(const struct sh_linker *l, int64_t now,
		    void (*cb)(uint32_t vid, int64_t until, void *arg), void *arg);
/* The id of a value, or UINT32_MAX when no indicator carries it. */
uint32_t sh_linker_find(const struct sh_linker *l, enum sh_evkey type, const char *value,
			size_t len);
/* Whether value vid is live campaign infrastructure at now (as sh_linker_live), until when
 * (INT64_MIN: while a member stays online) and the member that carried it last. */
bool sh_linker_live_value(const struct sh_linker *l, uint32_t vid, int64_t now, int64_t *until,
			  uint32_t *member);
/* Values that were live campaign infrastructure at some time (listable kinds only), and the
 * time each first was. */
size_t sh_linker_listed(const struct sh_linker *l, const uint32_t **vids, const int64_t **since);

#endif
