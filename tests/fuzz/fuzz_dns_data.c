/* Fuzz target: the rbldnsd data-file parser. The first byte picks the dataset type; the
 * compiled dataset is then looked up a little. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dns/data.h"

static void ignore(void *ud, const char *file, unsigned line, const char *msg)
{
	(void)ud;
	(void)file;
	(void)line;
	(void)msg;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
	if (n < 1)
		return 0;
	struct sh_dns_opts o;
	sh_dns_opts_init(&o);
	o.accept_in_cidr = d[0] & 4;
	struct sh_dns_dataset *ds = NULL;
	if (sh_dns_dataset_parse(d[0] & 3, "fuzz", (const char *)d + 1, n - 1, &o, ignore, NULL, &ds))
		return 0;
	for (uint32_t a = 0; a < 16; a++) {
		(void)sh_dns_ds_lookup4(ds, a * 0x11111111u);
		(void)sh_dns_ds_lookup6(ds, (sh_u128)a << 124);
	}
	(void)sh_dns_ds_any4(ds, 0, 0xffffffffu);
	bool ex;
	const uint8_t *base;
	(void)sh_dns_ds_lookupd(ds, (const uint8_t *)"\7example\3com", 12, 2, &ex, &base);
	sh_dns_dataset_free(ds);
	return 0;
}
