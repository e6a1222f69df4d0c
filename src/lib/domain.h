/* Domain names: normalisation (case, trailing dot, IDNA, LDH check) and registrable domain. */
#ifndef SH_DOMAIN_H
#define SH_DOMAIN_H
#include <stdbool.h>
#include <stddef.h>

#include "lib/err.h"

#define SH_DOMAIN_MAX 254 /* 253 characters + NUL */

/* Lowercases, drops one trailing dot, converts U-labels to A-labels (libidn2, IDNA2008 with
 * non-transitional UTS#46 mapping, as browsers resolve names: "faß.de" -> "xn--fa-hia.de")
 * and then checks every label ourselves: 1..63 octets of letters, digits, '-' (not first or
 * last) and '_' (seen in real feeds), total <= 253, at least two labels, last label not
 * all-numeric. libidn2 alone silently drops bad characters, hence the own check.
 * SH_EINVAL when not a valid host name. */
SH_MUST_CHECK int sh_domain_normalise(const char *in, size_t n, char out[SH_DOMAIN_MAX]);

/* The first step of sh_domain_normalise only: lowercase ASCII, or libidn2's A-label form of a
 * name with non-ASCII bytes; no trailing-dot removal and no LDH check. The URL host parser
 * needs this form to decide whether a host ends in a number (an IPv4 address). Writes at
 * most SH_DOMAIN_MAX - 1 octets and a NUL; SH_EINVAL when libidn2 rejects the name or the
 * result does not fit. */
SH_MUST_CHECK int sh_domain_to_ascii(const char *in, size_t n, char out[SH_DOMAIN_MAX],
				     size_t *out_len);

/* Registrable domain (eTLD+1) of a normalised name via libpsl, e.g. "a.b.example.co.uk" ->
 * "example.co.uk". SH_ENOENT when the name is itself a public suffix. */
SH_MUST_CHECK int sh_domain_registrable(const char *norm, char out[SH_DOMAIN_MAX]);
/* Whether a normalised name is itself a public suffix (libpsl, the "*" rule included): what
 * sh_domain_registrable answers SH_ENOENT for, in one lookup instead of one per label. */
bool sh_domain_is_public_suffix(const char *norm);

#endif
