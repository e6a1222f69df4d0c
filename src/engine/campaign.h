/* Campaigns and respawns over the store: evidence values per indicator (address, /24 or /48,
 * routed prefix and ASN as of first sight, registrable domain, URL path shape, malware family
 * and tags from the feeds), the linking pass of lib/respawn.h, and the connected groups.
 * Definitions in docs/campaigns.md. */
#ifndef SH_ENGINE_CAMPAIGN_H
#define SH_ENGINE_CAMPAIGN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/intel.h"
#include "engine/policy.h"
#include "lib/indicator.h"
#include "lib/respawn.h"
#include "store/store.h"

#define SH_CAMPAIGN_WINDOW_DEFAULT (3 * 86400)
#define SH_CAMPAIGN_BOUND_DEFAULT 100u

struct sh_camp_ind {
	int64_t id;                /* store id */
	enum sh_ind_type type;
	const char *value;
	int64_t first_seen, last_seen;
	bool online;
	uint32_t asn;              /* 0 when not attributed */
	const char *prefix;        /* routed prefix text, NULL when not attributed */
	const char *org, *country; /* NULL when unknown */
};

/* A value and how many of the campaign's respawns it links. */
struct sh_camp_evidence {
	uint32_t vid;
	uint32_t respawns;
};

struct sh_campaign {
	/* 8 hex digits from its first member's value: the same in any store holding the same
	 * data, whatever the ingest order (store ids are not) */
	char id[9];
	const char *first_value;   /* its first member (by first sighting, then value) */
	size_t n_members, n_respawns;
	uint32_t *members;         /* indicator indices, by first sighting, then value */
	int64_t first_seen, last_seen;
	size_t online;             /* members online now */
	double median_delay_h;     /* of its respawns */
	size_t n_asns, n_prefixes, n_countries;
	struct sh_camp_evidence *evidence; /* by respawns, most first */
	size_t n_evidence;
};

struct sh_campaigns {
	struct sh_linker_config cfg;
	struct sh_linker *linker;
	struct sh_camp_ind *inds;   /* linker index order (store id order) */
	size_t n_inds;
	uint32_t *camp_of;          /* per indicator: index into camps or UINT32_MAX */
	struct sh_campaign *camps;  /* by members, then first sighting */
	size_t n_camps;
	int64_t end;                /* the last sighting in the store: "now" for the data */
	struct {
		double read, link;
	} timing;
	struct sh_campaigns_priv *priv;
};

/* Reads and links the whole store. The allowlist al (NULL: the built-in policy's) and a
 * built-in list of shared content platforms keep shared front ends, resolvers, special space
 * and upload sites from linking. countries: also attribute countries (a country table costs
 * more to load than the ASN table); else country is the ASN table's, if any. */
SH_MUST_CHECK int sh_campaigns_compute(struct sh_store *s, const struct sh_allowlist *al,
				       const struct sh_linker_config *cfg, bool countries,
				       struct sh_campaigns **out);
void sh_campaigns_free(struct sh_campaigns *c);

/* Live campaign infrastructure that an address or host name lands on. */
struct sh_camp_infra {
	enum sh_evkey key;                 /* SH_EV_IP, SH_EV_NET or SH_EV_DOMAIN */
	const char *value;                 /* "192.0.2.7", "192.0.2.0/24", "example.net" */
	const struct sh_campaign *campaign;
	int64_t until;                     /* SH_TIME_NONE while a member stays online */
};
/* Whether ip (NULL: none) or the normalised host name (NULL: none) lands on infrastructure
 * of a campaign live at the end of the data: its address, /24 or /48, or registrable domain.
 * Such a site is listed at first sight, with reason "infrastructure", until *until. */
bool sh_campaigns_infrastructure(const struct sh_campaigns *c, const struct sh_ip *ip,
				 const char *name, struct sh_camp_infra *out);

/* Respawns per network, keyed as sh_intel keys them ("AS4837", a prefix, an org, a country
 * code): the network where the new indicator came back. */
struct sh_respawn_net {
	const char *key;
	unsigned long respawns;
	double median_delay_h;
};
/* Sorted by key; *out is malloc'ed. */
SH_MUST_CHECK int sh_campaigns_by_network(const struct sh_campaigns *c, enum sh_intel_by by,
					  struct sh_respawn_net **out, size_t *n);
const struct sh_respawn_net *sh_respawn_net_find(const struct sh_respawn_net *v, size_t n,
						 const char *key);

#endif
