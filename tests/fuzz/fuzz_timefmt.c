/* libFuzzer target for timestamp parsing: whatever parses must format to RFC 3339 and parse
 * back to the same instant; formatting any 64-bit value yields the fixed 20-byte shape. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/timefmt.h"

/* Four-digit years, widened by the largest UTC offset a parsed time can carry. */
#define LOW (INT64_C(-62167219200) - 86400)
#define HIGH (INT64_C(253402300799) + 86400)

static void check_shape(const char *s, size_t n)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	if (n != 20 || s[20] != '\0')
		abort();
	for (size_t i = 0; i < 20; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int64_t t;
	char buf[SH_TIME_STRLEN];
	if (sh_time_parse(s, size, &t) == 0) {
		if (t < LOW || t > HIGH)
			abort();
		size_t n = sh_time_format(t, buf);
		check_shape(buf, n);
		int64_t back;
		bool in_range = t >= INT64_C(-62167219200) && t <= INT64_C(253402300799);
		if (sh_time_parse(buf, n, &back) != 0 || (in_range && back != t))
			abort();
	} else if (sh_time_parse(s, size, &t) == 0) {
		abort(); /* not deterministic */
	}
	if (size >= 8) {
		int64_t v;
		memcpy(&v, data, sizeof(v));
		check_shape(buf, sh_time_format(v, buf));
	}
	return 0;
}
