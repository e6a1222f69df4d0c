/* Longest-prefix match over IPv4 or IPv6: built once from prefixes, then immutable and
 * lock-free to read. */
#ifndef SH_LPM_H
#define SH_LPM_H
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define SH_LPM_NONE UINT32_MAX

struct sh_lpm;
struct sh_lpm_builder;

/* af is SH_AF_V4 or SH_AF_V6. */
SH_MUST_CHECK int sh_lpm_builder_new(int af, struct sh_lpm_builder **out);
/* addr in network order (4 or 16 bytes), len <= 32/128, value != SH_LPM_NONE. Adding the
 * same prefix again replaces its value. */
SH_MUST_CHECK int sh_lpm_builder_add(struct sh_lpm_builder *b, const uint8_t *addr, unsigned len,
				     uint32_t value);
/* Compiles what was added; the builder may be freed afterwards. */
SH_MUST_CHECK int sh_lpm_build(const struct sh_lpm_builder *b, struct sh_lpm **out);
void sh_lpm_builder_free(struct sh_lpm_builder *b);

/* The value of the longest prefix containing the address, or SH_LPM_NONE. */
uint32_t sh_lpm_lookup4(const struct sh_lpm *t, uint32_t addr_host_order);
uint32_t sh_lpm_lookup6(const struct sh_lpm *t, const uint8_t addr[16]);
/* out[i] = sh_lpm_lookup4(t, addrs[i]) for i < n; faster than single lookups because the
 * memory accesses of several lookups overlap. */
void sh_lpm_lookup4_batch(const struct sh_lpm *t, const uint32_t *addrs, size_t n,
			  uint32_t *out);
/* Bytes held by the compiled structure. */
size_t sh_lpm_memsize(const struct sh_lpm *t);
void sh_lpm_free(struct sh_lpm *t);

#endif
