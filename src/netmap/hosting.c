/* Hosting and cloud providers' published IP ranges: every prefix or address string anywhere
 * in a JSON document (jansson), whatever its shape.
 *
 * Providers publish the same fact in many shapes (AWS "prefixes":[{"ip_prefix":..}], GCP
 * "ipv4Prefix", plain arrays, "IPv4Prefixes", nested per-service maps), so the walk does not
 * know any of them: it visits every string and keeps those that parse as a prefix or an
 * address. A string that does not parse is counted as bad when its key looks like it should
 * hold a prefix, or when it sits in an array that also holds prefixes. Keys naming masks
 * ("mask": "255.255.252.0") are skipped: a netmask parses as an address but is none. */
#include <jansson.h>
#include <string.h>

#include "netmap/asmap.h"

struct hwalk {
	sh_netrow_cb cb;
	void *arg;
	unsigned long n_bad;
};

static bool is_upper(char c)
{
	return c >= 'A' && c <= 'Z';
}

static bool is_lower_or_digit(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* The last word of a key, lower-cased: "ip_prefix" -> "prefix", "IPv4Prefixes" ->
 * "prefixes", "network_border_group" -> "group". Empty when it does not fit out. */
static void last_word(const char *key, char *out, size_t size)
{
	size_t n = strlen(key), b = 0;
	for (size_t i = 1; i <= n; i++) {
		char c = key[i - 1];
		if (!is_upper(c) && !is_lower_or_digit(c))
			b = i;
		else if (i < n && is_lower_or_digit(c) && is_upper(key[i]))
			b = i;
	}
	out[0] = '\0';
	if (n - b >= size)
		return;
	for (size_t i = b; i < n; i++)
		out[i - b] = is_upper(key[i]) ? (char)(key[i] | 0x20) : key[i];
	out[n - b] = '\0';
}

/* Keys whose values are expected to be prefixes or addresses, judged by their last word. */
static bool prefix_key(const char *key)
{
	static const char *const words[] = {"prefix", "prefixes", "cidr",	 "cidrs", "subnet",
					    "subnets", "ip",	    "ips",	 "ipv4",  "ipv6",
					    "address", "addresses", "network", "networks", "range",
					    "ranges",  "net",	    "nets"};
	char w[16];
	last_word(key, w, sizeof(w));
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(w, words[i]) == 0)
			return true;
	return false;
}

/* Keys naming netmasks: "mask", "netmask", "subnet_mask". */
static bool mask_key(const char *key)
{
	char w[16];
	last_word(key, w, sizeof(w));
	size_t n = strlen(w);
	return n >= 4 && strcmp(w + n - 4, "mask") == 0;
}

/* Hands s to the callback when it is a prefix or an address; *taken says whether it was. */
static int take(struct hwalk *w, json_t *str, bool *taken)
{
	struct sh_netrow row = {.org = ""};
	size_t n = json_string_length(str);
	*taken = n > 0 && sh_prefix_parse(json_string_value(str), n, false, &row.prefix) == 0;
	return *taken ? w->cb(&row, w->arg) : 0;
}

static int walk(struct hwalk *w, json_t *v, bool expect_prefix);

static int walk_array(struct hwalk *w, json_t *a, bool expect_prefix)
{
	size_t i, n_failed = 0, n_taken = 0;
	json_t *x;
	json_array_foreach(a, i, x) {
		bool taken = false;
		int rc = json_is_string(x) ? take(w, x, &taken) : walk(w, x, expect_prefix);
		if (rc)
			return rc;
		n_taken += taken;
		n_failed += json_is_string(x) && !taken && json_string_length(x) > 0;
	}
	/* a list that holds prefixes, or sits under a prefix key, should hold only prefixes */
	if (n_taken || expect_prefix)
		w->n_bad += n_failed;
	return 0;
}

static int walk(struct hwalk *w, json_t *v, bool expect_prefix)
{
	if (json_is_array(v))
		return walk_array(w, v, expect_prefix);
	if (json_is_string(v)) {
		bool taken;
		int rc = take(w, v, &taken);
		w->n_bad += !taken && expect_prefix && json_string_length(v) > 0;
		return rc;
	}
	const char *key;
	json_t *x;
	json_object_foreach(v, key, x) {
		if (mask_key(key))
			continue;
		int rc = walk(w, x, prefix_key(key));
		if (rc)
			return rc;
	}
	return 0;
}

int sh_hosting_parse_json(const char *buf, size_t len, sh_netrow_cb cb, void *arg,
			  unsigned long *n_bad)
{
	if (n_bad)
		*n_bad = 0;
	if ((!buf && len) || !cb)
		return SH_EINVAL;
	json_error_t err;
	json_t *doc = json_loadb(buf ? buf : "", len, JSON_DECODE_ANY, &err);
	if (!doc)
		return SH_EINVAL;
	struct hwalk w = {.cb = cb, .arg = arg};
	int rc = walk(&w, doc, false);
	json_decref(doc);
	if (n_bad)
		*n_bad = w.n_bad;
	return rc;
}
