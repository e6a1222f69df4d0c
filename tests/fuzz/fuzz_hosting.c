/* Fuzz target for the hosting-ranges JSON walker. */
#include "fuzz_asmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_ctx c = {0};
	if (sh_netmap_new(&c.m) != 0)
		abort();
	unsigned long bad;
	int rc = sh_hosting_parse_json((const char *)data, size, fuzz_on_row, &c, &bad);
	if (rc != 0 && (rc != SH_EINVAL || c.rows))
		abort();
	fuzz_finish(&c);
	return 0;
}
