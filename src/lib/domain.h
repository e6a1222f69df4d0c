/* Domain names: normalisation (case, trailing dot, IDNA, LDH check) and registrable domain. */
#ifndef SH_DOMAIN_H
#define SH_DOMAIN_H
#include <stddef.h>

#include "lib/err.h"

#define SH_DOMAIN_MAX 254 /* 253 characters + NUL */

/* Lowercases, drops one trailing dot, converts U-labels to A-labels (libidn2, IDNA2008 with
 * transitional UTS#46 mapping) and then checks every label ourselves: 1..63 octets of
 * letters, digits, '-' (not first or last) and '_' (seen in real feeds), total <= 253, at least
 * two labels, last label not all-numeric. libidn2 alone silently drops bad characters, hence
 * the own check. SH_EINVAL when not a valid host name. */
SH_MUST_CHECK int sh_domain_normalise(const char *in, size_t n, char out[SH_DOMAIN_MAX]);

/* Registrable domain (eTLD+1) of a normalised name via libpsl, e.g. "a.b.example.co.uk" ->
 * "example.co.uk". SH_ENOENT when the name is itself a public suffix. */
SH_MUST_CHECK int sh_domain_registrable(const char *norm, char out[SH_DOMAIN_MAX]);

#endif
