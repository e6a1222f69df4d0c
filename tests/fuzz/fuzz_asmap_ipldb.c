/* Fuzz target for the ip-location-db CSV network-table parser. */
#include "fuzz_asmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_asmap_text(SH_ASMAP_IPLDB, data, size);
	return 0;
}
