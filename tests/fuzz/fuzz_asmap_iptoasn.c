/* Fuzz target for the iptoasn TSV network-table parser. */
#include "fuzz_asmap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_asmap_text(SH_ASMAP_IPTOASN, data, size);
	return 0;
}
