/* Fuzz target for indicator classification: the canonical value is a fixed point. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/indicator.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sh_indicator ind, again;
	if (sh_indicator_parse((const char *)data, size, &ind) != 0)
		return 0;
	if (ind.value_len >= SH_IND_MAX || ind.value_len != strlen(ind.value))
		abort();
	if (sh_indicator_parse(ind.value, ind.value_len, &again) != 0 || again.type != ind.type ||
	    strcmp(again.value, ind.value) != 0)
		abort();
	if (ind.type == SH_IND_IP || ind.type == SH_IND_CIDR) {
		if (memcmp(&again.prefix, &ind.prefix, sizeof(ind.prefix)) != 0)
			abort();
	} else if (again.host.type != ind.host.type ||
		   (ind.host.type == SH_HOST_DOMAIN && strcmp(again.host.name, ind.host.name))) {
		abort();
	}
	(void)sh_ind_type_name(ind.type);
	return 0;
}
