/* Fuzz target for domain normalisation and the registrable domain. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	char out[SH_DOMAIN_MAX], again[SH_DOMAIN_MAX], reg[SH_DOMAIN_MAX];
	size_t len;
	if (sh_domain_to_ascii(s, size, out, &len) == 0 && len != strlen(out))
		abort();
	if (sh_domain_normalise(s, size, out) != 0)
		return 0;
	len = strlen(out);
	if (len == 0 || len > 253)
		abort();
	for (size_t i = 0; i < len; i++) {
		char c = out[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			abort();
	}
	/* normalising is idempotent */
	if (sh_domain_normalise(out, len, again) != 0 || strcmp(out, again) != 0)
		abort();
	int rc = sh_domain_registrable(out, reg);
	if (rc == 0) {
		size_t rlen = strlen(reg);
		if (rlen > len || strcmp(out + len - rlen, reg) != 0 ||
		    (rlen < len && out[len - rlen - 1] != '.'))
			abort();
	} else if (rc != SH_ENOENT) {
		abort();
	}
	return 0;
}
