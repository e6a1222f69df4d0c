/* Domain names: normalisation (case, trailing dot, IDNA, LDH check) and registrable domain.
 *
 * Pure-ASCII names (nearly every feed line) take a fast path: lowercase and check in one
 * pass, no allocation, no libidn2 (A-labels are taken as they are: valid LDH names in DNS
 * whatever their Punycode holds). Names with non-ASCII bytes go through libidn2 (UTS#46
 * non-transitional, as browsers resolve them) without STD3 rules, because STD3 silently
 * deletes disallowed characters; our own LDH/underscore check then runs on its output. */
#include "lib/domain.h"

#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#define LABEL_MAX 63
#define NAME_MAX_LEN 253
/* a UTF-8 name that can map to at most 253 octets; longer input is rejected up front */
#define UTF8_INPUT_MAX 1024

/* Checks the label out[start..end): length and hyphens. */
static inline bool label_ok(const char *out, size_t start, size_t end)
{
	size_t len = end - start;
	return len > 0 && len <= LABEL_MAX && out[start] != '-' && out[end - 1] != '-';
}

/* Host name bytes, lowercased; 0 for everything else ('.', other ASCII, bytes >= 0x80). */
static const char name_byte[256] = {
	['-'] = '-', ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4', ['5'] = '5',
	['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9', ['A'] = 'a', ['B'] = 'b', ['C'] = 'c',
	['D'] = 'd', ['E'] = 'e', ['F'] = 'f', ['G'] = 'g', ['H'] = 'h', ['I'] = 'i', ['J'] = 'j',
	['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n', ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q',
	['R'] = 'r', ['S'] = 's', ['T'] = 't', ['U'] = 'u', ['V'] = 'v', ['W'] = 'w', ['X'] = 'x',
	['Y'] = 'y', ['Z'] = 'z', ['_'] = '_', ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd',
	['e'] = 'e', ['f'] = 'f', ['g'] = 'g', ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k',
	['l'] = 'l', ['m'] = 'm', ['n'] = 'n', ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r',
	['s'] = 's', ['t'] = 't', ['u'] = 'u', ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y',
	['z'] = 'z',
};

/* One pass over ASCII: lowercases into out and checks the LDH/underscore rules. Returns 0,
 * SH_EINVAL, or NON_ASCII at the first byte >= 0x80 (whatever was checked before it cannot
 * become valid through IDNA mapping, which leaves ASCII alone). This is the hot path of
 * every feed load: one table look-up per byte, branches only at dots and bad bytes. */
#define NON_ASCII 1

static int ascii_name(const char *in, size_t n, char *out)
{
	size_t start = 0, labels = 1;
	unsigned nonnum = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		char t = name_byte[c];
		out[i] = t;
		if (!t) {
			if (c != '.')
				return c >= 0x80 ? NON_ASCII : SH_EINVAL;
			if (!label_ok(out, start, i))
				return SH_EINVAL;
			out[i] = '.';
			labels++;
			start = i + 1;
			nonnum = 0;
			continue;
		}
		nonnum |= (unsigned)(t - '0') > 9u;
	}
	out[n] = '\0';
	if (!label_ok(out, start, n) || labels < 2 || !nonnum)
		return SH_EINVAL;
	return 0;
}

/* libidn2 lookup of a NUL-terminated name; the A-label form goes to out. UTS#46 maps
 * ideographic full stops to '.', so the output may end in a dot that the input did not show;
 * one is dropped unless the caller dropped one already. */
static int idna_to_ascii(const char *in, bool drop_dot, char out[SH_DOMAIN_MAX], size_t *out_len)
{
	uint8_t *ascii = NULL;
	int rc = idn2_lookup_u8((const uint8_t *)in, &ascii, IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK) {
		idn2_free(ascii);
		return rc == IDN2_MALLOC ? SH_ENOMEM : SH_EINVAL;
	}
	size_t len = strlen((const char *)ascii);
	if (drop_dot && len > 0 && ascii[len - 1] == '.')
		len--;
	if (len > NAME_MAX_LEN) {
		idn2_free(ascii);
		return SH_EINVAL;
	}
	for (size_t i = 0; i < len; i++) {
		char c = (char)ascii[i];
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
	}
	out[len] = '\0';
	*out_len = len;
	idn2_free(ascii);
	return 0;
}

int sh_domain_normalise(const char *in, size_t n, char out[SH_DOMAIN_MAX])
{
	bool dropped = n > 0 && in[n - 1] == '.';
	if (dropped)
		n--;
	int rc;
	if (n <= NAME_MAX_LEN) {
		rc = ascii_name(in, n, out);
		if (rc != NON_ASCII)
			return rc;
	} else {
		/* too long as ASCII; only UTF-8 (which may shrink to A-labels) goes on */
		bool ascii = true;
		for (size_t i = 0; i < n && ascii; i++)
			ascii = (unsigned char)in[i] < 0x80;
		if (ascii)
			return SH_EINVAL;
	}
	if (n > UTF8_INPUT_MAX || memchr(in, '\0', n))
		return SH_EINVAL;
	char buf[UTF8_INPUT_MAX + 1];
	memcpy(buf, in, n);
	buf[n] = '\0';
	size_t len;
	rc = idna_to_ascii(buf, !dropped, out, &len);
	if (rc)
		return rc;
	char checked[SH_DOMAIN_MAX];
	rc = ascii_name(out, len, checked);
	return rc == NON_ASCII ? SH_EINVAL : rc;
}

int sh_domain_to_ascii(const char *in, size_t n, char out[SH_DOMAIN_MAX], size_t *out_len)
{
	bool ascii = true;
	for (size_t i = 0; i < n && ascii; i++)
		ascii = (unsigned char)in[i] < 0x80;
	if (ascii) {
		if (n > NAME_MAX_LEN || memchr(in, '\0', n))
			return SH_EINVAL;
		for (size_t i = 0; i < n; i++) {
			char c = in[i];
			out[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
		}
		out[n] = '\0';
		*out_len = n;
		return 0;
	}
	if (n > UTF8_INPUT_MAX || memchr(in, '\0', n))
		return SH_EINVAL;
	char buf[UTF8_INPUT_MAX + 1];
	memcpy(buf, in, n);
	buf[n] = '\0';
	return idna_to_ascii(buf, false, out, out_len);
}

static pthread_once_t psl_once = PTHREAD_ONCE_INIT;
static const psl_ctx_t *psl_ctx;

/* The distribution's list (Debian's publicsuffix package) when newer than the built-in. */
static void psl_load(void)
{
	psl_ctx_t *ctx = psl_latest(NULL);
	psl_ctx = ctx ? ctx : psl_builtin();
}

bool sh_domain_is_public_suffix(const char *norm)
{
	pthread_once(&psl_once, psl_load);
	return psl_ctx && psl_is_public_suffix(psl_ctx, norm);
}

int sh_domain_registrable(const char *norm, char out[SH_DOMAIN_MAX])
{
	size_t n = strnlen(norm, SH_DOMAIN_MAX);
	if (n == 0 || n >= SH_DOMAIN_MAX)
		return SH_EINVAL;
	pthread_once(&psl_once, psl_load);
	if (!psl_ctx)
		return SH_EUNSUP;
	const char *reg = psl_registrable_domain(psl_ctx, norm);
	if (!reg)
		return SH_ENOENT;
	size_t len = n - (size_t)(reg - norm);
	memcpy(out, reg, len + 1);
	return 0;
}
