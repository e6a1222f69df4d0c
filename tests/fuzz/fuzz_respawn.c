/* Fuzz target for lib/respawn: the path-shape parser over the input, then a linking pass
 * over indicators decoded from it, checking the pass's invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/respawn.h"

static const char *const values[] = {"192.0.2.0/24", "192.0.2.1", "example.net", "AS64500",
				     "/bins/x.*", "203.0.113.0/22", "elf", "mozi"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char shape[64];
	if (sh_path_shape((const char *)data, size, shape, sizeof(shape)) == 0 &&
	    strlen(shape) >= sizeof(shape))
		abort();
	/* 4 bytes per indicator: first sight (hours), run length (0: still online), two values */
	struct sh_linker_config cfg = {72 * 3600, 1 + (size ? data[0] % 8 : 0)};
	struct sh_linker *l;
	if (sh_linker_new(&cfg, &l) != 0)
		return 0;
	for (size_t i = 1; i + 4 <= size; i += 4) {
		int64_t first = (int64_t)data[i] * 3600;
		struct sh_linker_run run = {first, data[i + 1] ? first + data[i + 1] * 3600 : INT64_MIN};
		struct sh_evval v[2];
		for (int k = 0; k < 2; k++) {
			uint8_t b = data[i + 2 + k];
			const char *s = values[b % 8];
			v[k] = (struct sh_evval){(enum sh_evkey)((b >> 3) % SH_EV_N), s, strlen(s),
						 (b & 0x80) != 0};
		}
		if (sh_linker_add(l, first, data[i + 1] % 3, (data[i] & 1) != 0, &run, 1, v, 2) != 0)
			abort();
	}
	if (sh_linker_run(l, NULL) != 0)
		abort();
	const struct sh_respawn *e;
	size_t n = sh_linker_respawns(l, &e);
	for (size_t i = 0; i < n; i++) {
		if (e[i].t_new < e[i].t_off || e[i].t_new - e[i].t_off > cfg.window ||
		    e[i].weight < SH_LINK_MIN || e[i].old_ind == e[i].new_ind)
			abort();
		if (sh_linker_campaign(l, e[i].old_ind) != sh_linker_campaign(l, e[i].new_ind))
			abort();
	}
	for (size_t i = 0; i < sh_linker_count(l); i++) {
		uint32_t c = sh_linker_campaign(l, (uint32_t)i);
		if (c != UINT32_MAX && c > i)
			abort();
	}
	sh_linker_free(l);
	return 0;
}
