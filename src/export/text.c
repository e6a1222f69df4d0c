/* CSV (RFC 4180, one header line) and JSON (one object per line) exports: every listing with
 * all its evidence, for spreadsheets, SIEMs and scripts. */
#include <stdint.h>
#include <string.h>

#include "export/export.h"

static bool wants_all(const struct sh_export_ctx *c, const struct sh_listing *l)
{
	return !(l->flags & SH_LF_TEST);
}

static const char *type_name(const struct sh_listing *l)
{
	return sh_ind_type_name(l->type);
}

/* ---- CSV ------------------------------------------------------------------------------------ */
/* Whether eight bytes hold none of , " CR LF (a zero byte in x ^ c marks a c). */
static bool csv_plain8(const char *p)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t x;
	memcpy(&x, p, 8);
	uint64_t a = x ^ (ones * ','), b = x ^ (ones * '"'), c = x ^ (ones * '\r'), d = x ^ (ones * '\n');
	return !((((a - ones) & ~a) | ((b - ones) & ~b) | ((c - ones) & ~c) | ((d - ones) & ~d)) &
		 high);
}

static void csv_field(struct sh_wbuf *w, const char *s)
{
	if (!s)
		return;
	/* most fields need no quotes: find out eight bytes a step */
	size_t n = strlen(s), i = 0;
	while (i + 8 <= n && csv_plain8(s + i))
		i += 8;
	for (; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			break;
	if (i == n) {
		sh_wb_put(w, s, n);
		return;
	}
	sh_wb_char(w, '"');
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			sh_wb_char(w, '"');
		sh_wb_char(w, *p);
	}
	sh_wb_char(w, '"');
}

static void csv_line(const struct sh_export_ctx *c, const struct sh_listing *l, struct sh_wbuf *w)
{
	char ev[512];
	csv_field(w, l->value);
	sh_wb_char(w, ',');
	sh_wb_str(w, type_name(l));
	sh_wb_char(w, ',');
	sh_wb_str(w, c->policy->cats[l->cat].name);
	sh_wb_char(w, ',');
	if (l->type != SH_IND_URL)
		sh_wb_ipv4(w, sh_export_code(c, l));
	sh_wb_str(w, l->flags & SH_LF_ONLINE ? ",true," : ",false,");
	sh_wb_time(w, l->first_seen);
	sh_wb_char(w, ',');
	sh_wb_time(w, l->last_seen);
	sh_wb_char(w, ',');
	sh_wb_time(w, l->expires);
	sh_wb_char(w, ',');
	csv_field(w, l->sources);
	sh_wb_char(w, ',');
	csv_field(w, l->threat);
	sh_wb_char(w, ',');
	csv_field(w, l->malware);
	sh_wb_char(w, ',');
	csv_field(w, l->tags);
	sh_wb_char(w, ',');
	csv_field(w, l->ref);
	sh_wb_char(w, ',');
	sh_export_evidence(c, l, NULL, 511, ev);
	csv_field(w, ev);
	sh_wb_str(w, "\r\n");
}

static int csv_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	struct sh_wbuf *w;
	int rc = sh_export_open(t, "listings.csv", &w);
	if (rc != 0)
		return rc;
	sh_wb_str(w, "indicator,type,category,code,online,first_seen,last_seen,expires,sources,"
		     "threat,malware,tags,reference,evidence\r\n");
	rc = sh_export_each(c, w, wants_all, csv_line, NULL);
	return rc != 0 ? rc : sh_export_commit(t, w);
}

const struct sh_export_format sh_export_csv = {
	.name = "csv",
	.description = "CSV with a header line: every listing and its evidence",
	.wants = wants_all,
	.write = csv_write,
};

/* ---- JSON ----------------------------------------------------------------------------------- */
/* A string member, left out when there is no value. */
static void json_opt(struct sh_wbuf *w, const char *key, const char *v)
{
	if (!v)
		return;
	sh_wb_str(w, key);
	sh_wb_json_str(w, v);
}

/* The sources as a JSON array. */
static void json_sources(struct sh_wbuf *w, const char *sources)
{
	sh_wb_char(w, '[');
	const char *p = sources;
	bool first = true;
	while (p && *p) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char name[256];
		if (n < sizeof(name)) {
			memcpy(name, p, n);
			name[n] = '\0';
			if (!first)
				sh_wb_char(w, ',');
			sh_wb_json_str(w, name);
			first = false;
		}
		p = comma ? comma + 1 : NULL;
	}
	sh_wb_char(w, ']');
}

static void json_line(const struct sh_export_ctx *c, const struct sh_listing *l, struct sh_wbuf *w)
{
	char ev[512];
	sh_wb_str(w, "{\"indicator\":");
	sh_wb_json_str(w, l->value);
	sh_wb_str(w, ",\"type\":\"");
	sh_wb_str(w, type_name(l));
	sh_wb_str(w, "\",\"category\":\"");
	sh_wb_str(w, c->policy->cats[l->cat].name);
	sh_wb_char(w, '"');
	if (l->type != SH_IND_URL) {
		sh_wb_str(w, ",\"code\":\"");
		sh_wb_ipv4(w, sh_export_code(c, l));
		sh_wb_char(w, '"');
	}
	sh_wb_str(w, l->flags & SH_LF_ONLINE ? ",\"online\":true" : ",\"online\":false");
	if (l->flags & SH_LF_FROM_URL)
		sh_wb_str(w, ",\"from_urls\":true");
	sh_wb_char(w, ',');
	sh_wb_json_times(w, l);
	sh_wb_str(w, ",\"sources\":");
	json_sources(w, l->sources);
	json_opt(w, ",\"threat\":", l->threat);
	json_opt(w, ",\"malware\":", l->malware);
	json_opt(w, ",\"tags\":", l->tags);
	json_opt(w, ",\"reference\":", l->ref);
	sh_listing_evidence(c->set, l, ev, sizeof(ev));
	json_opt(w, ",\"reason\":", ev);
	sh_wb_str(w, "}\n");
}

static int json_write(const struct sh_export_ctx *c, struct sh_export_target *t)
{
	struct sh_wbuf *w;
	int rc = sh_export_open(t, "listings.json", &w);
	if (rc != 0)
		return rc;
	rc = sh_export_each(c, w, wants_all, json_line, NULL);
	return rc != 0 ? rc : sh_export_commit(t, w);
}

const struct sh_export_format sh_export_json = {
	.name = "json",
	.description = "JSON, one object per listing and line, with its evidence",
	.wants = wants_all,
	.write = json_write,
};
