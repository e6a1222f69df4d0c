/* Fuzz target for address and prefix parsing: round trips, special space, range splitting. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/addr.h"

struct range_walk {
	struct sh_ip next; /* where the next prefix must start */
	bool done;         /* the previous prefix ended at the top of the space */
	unsigned count;
};

static int walk_cb(const struct sh_prefix *p, void *arg)
{
	struct range_walk *w = arg;
	if (w->done || sh_ip_cmp(&p->ip, &w->next) != 0)
		abort();
	struct sh_prefix check;
	sh_prefix_from_ip(&p->ip, p->len, &check);
	if (memcmp(&check, p, sizeof(check)) != 0) /* host bits must be zero */
		abort();
	struct sh_ip last;
	sh_prefix_last(p, &last);
	unsigned bytes = p->ip.af == SH_AF_V4 ? 4 : 16;
	unsigned k = bytes;
	while (k > 0 && last.b[k - 1] == 0xff) {
		last.b[k - 1] = 0;
		k--;
	}
	if (k == 0)
		w->done = true;
	else
		last.b[k - 1]++;
	w->next = last;
	w->count++;
	return 0;
}

/* Splits the range between two addresses built from raw input bytes and checks that the
 * prefixes tile it exactly, in order, and are few. */
static void fuzz_range(const uint8_t *data, size_t size)
{
	if (size < 33)
		return;
	struct sh_ip a = {.af = data[0] & 1 ? SH_AF_V6 : SH_AF_V4}, b = a;
	unsigned bytes = a.af == SH_AF_V4 ? 4 : 16;
	memcpy(a.b, data + 1, bytes);
	memcpy(b.b, data + 17, bytes);
	if (sh_ip_cmp(&a, &b) > 0) {
		struct sh_ip t = a;
		a = b;
		b = t;
	}
	struct range_walk w = {.next = a};
	if (sh_range_to_prefixes(&a, &b, walk_cb, &w) != 0)
		abort();
	if (w.count > 2 * 8 * bytes)
		abort();
	/* the walk ends just past b: either at the top of the space or at b + 1 */
	struct sh_prefix whole = {.ip = b, .len = (uint8_t)(8 * bytes)};
	struct range_walk end = {.next = b};
	walk_cb(&whole, &end);
	if (end.done != w.done || (!w.done && sh_ip_cmp(&end.next, &w.next) != 0))
		abort();
	struct range_walk back = {.next = b};
	int rc = sh_range_to_prefixes(&b, &a, walk_cb, &back);
	if (sh_ip_cmp(&a, &b) != 0 ? rc != SH_EINVAL : rc != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	struct sh_ip ip, ip2;
	char buf[SH_PREFIX_STRLEN];
	if (sh_ip_parse(s, size, &ip) == 0) {
		size_t n = sh_ip_format(&ip, buf);
		if (n != strlen(buf) || sh_ip_parse(buf, n, &ip2) != 0 || memcmp(&ip, &ip2, sizeof(ip)))
			abort();
		(void)sh_ip_special(&ip);
	}
	struct sh_prefix p, p2;
	for (int strict = 0; strict < 2; strict++) {
		if (sh_prefix_parse(s, size, strict, &p) != 0)
			continue;
		size_t n = sh_prefix_format(&p, buf);
		if (n != strlen(buf) || sh_prefix_parse(buf, n, true, &p2) != 0 ||
		    memcmp(&p, &p2, sizeof(p)))
			abort();
		if (!sh_prefix_contains(&p, &p.ip))
			abort();
		struct sh_ip last;
		sh_prefix_last(&p, &last);
		if (!sh_prefix_contains(&p, &last) || sh_ip_cmp(&p.ip, &last) > 0)
			abort();
		const char *sp = sh_prefix_special(&p);
		if (sh_ip_special(&p.ip) && !sp)
			abort();
	}
	fuzz_range(data, size);
	return 0;
}
