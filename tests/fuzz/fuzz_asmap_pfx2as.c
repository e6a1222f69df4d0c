/* Fuzz target for the CAIDA pfx2as network-table parser. */
#include "fuzz_asmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_asmap_text(SH_ASMAP_PFX2AS, data, size);
	return 0;
}
