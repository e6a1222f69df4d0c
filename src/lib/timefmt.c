/* Timestamps: parsing the forms feeds use, formatting as RFC 3339 UTC.
 *
 * Calendar arithmetic is done here with Howard Hinnant's days-from-civil algorithm (proleptic
 * Gregorian, exact for every year) instead of timegm()/gmtime(), so results do not depend on
 * the locale, TZ or the C library. Every field is range-checked (day against the month's
 * length, leap years included) and nothing is normalised silently: "2020-02-30" is an error,
 * not March 1st. A leap second (":60") is accepted as RFC 3339 allows and counts as the
 * first second of the next minute. */
#include "lib/timefmt.h"

#include <stdbool.h>
#include <string.h>

/* 9999-12-31T23:59:59Z: the last instant a four-digit year can write. */
#define MAX_EPOCH INT64_C(253402300799)
/* 0000-01-01T00:00:00Z */
#define MIN_EPOCH INT64_C(-62167219200)

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned month_days(int64_t y, unsigned m)
{
	static const unsigned char len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/* A cursor over the input; every reader checks the bound itself. */
struct cur {
	const char *p, *end;
};

static bool at_end(const struct cur *c)
{
	return c->p == c->end;
}

static bool peek(const struct cur *c, char ch)
{
	return c->p < c->end && *c->p == ch;
}

static bool eat(struct cur *c, char ch)
{
	if (!peek(c, ch))
		return false;
	c->p++;
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static size_t skip_spaces(struct cur *c)
{
	size_t k = 0;
	while (c->p < c->end && *c->p == ' ') {
		c->p++;
		k++;
	}
	return k;
}

/* Exactly `width` digits. */
static bool digits(struct cur *c, unsigned width, unsigned *out)
{
	if ((size_t)(c->end - c->p) < width)
		return false;
	unsigned v = 0;
	for (unsigned i = 0; i < width; i++) {
		if (!is_digit(c->p[i]))
			return false;
		v = v * 10 + (unsigned)(c->p[i] - '0');
	}
	c->p += width;
	*out = v;
	return true;
}

/* One or two digits (RFC 2822 and ctime days). */
static bool digits12(struct cur *c, unsigned *out)
{
	if (at_end(c) || !is_digit(*c->p))
		return false;
	unsigned v = (unsigned)(*c->p++ - '0');
	if (c->p < c->end && is_digit(*c->p))
		v = v * 10 + (unsigned)(*c->p++ - '0');
	*out = v;
	return true;
}

/* Case-insensitive match of a word; ASCII only so the locale plays no part. */
static bool eat_word(struct cur *c, const char *w)
{
	size_t n = strlen(w);
	if ((size_t)(c->end - c->p) < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char a = c->p[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != w[i])
			return false;
	}
	c->p += n;
	return true;
}

static const char *const months[12] = {"jan", "feb", "mar", "apr", "may", "jun",
				       "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const weekdays[7] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static bool month_name(struct cur *c, unsigned *m)
{
	for (unsigned i = 0; i < 12; i++) {
		if (eat_word(c, months[i])) {
			*m = i + 1;
			return true;
		}
	}
	return false;
}

static bool weekday_name(struct cur *c)
{
	for (unsigned i = 0; i < 7; i++)
		if (eat_word(c, weekdays[i]))
			return true;
	return false;
}

/* The broken-down time, validated and converted; offset in seconds east of UTC. */
static int make_time(int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s,
		     int64_t offset, int64_t *out)
{
	if (y < 0 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) ||
	    h > 23 || mi > 59 || s > 60)
		return SH_EINVAL;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
	return 0;
}

/* "hh:mm:ss" (RFC 2822 also allows "hh:mm"). */
static bool clock_time(struct cur *c, bool seconds_optional, unsigned *h, unsigned *mi,
		       unsigned *s)
{
	if (!digits(c, 2, h) || !eat(c, ':') || !digits(c, 2, mi))
		return false;
	*s = 0;
	if (eat(c, ':'))
		return digits(c, 2, s);
	return seconds_optional;
}

/* "+hh:mm" / "-hh:mm" (colon optional); seconds east of UTC. */
static bool numeric_offset(struct cur *c, bool colon_allowed, int64_t *off)
{
	if (at_end(c) || (*c->p != '+' && *c->p != '-'))
		return false;
	int sign = *c->p++ == '-' ? -1 : 1;
	unsigned oh, om;
	if (!digits(c, 2, &oh))
		return false;
	if (colon_allowed)
		eat(c, ':');
	if (!digits(c, 2, &om) || oh > 23 || om > 59)
		return false;
	*off = sign * (int64_t)(oh * 3600 + om * 60);
	return true;
}

/* RFC 3339 and the "YYYY-MM-DD[ hh:mm:ss[ UTC]]" variants. */
static int parse_iso(struct cur *c, int64_t *out)
{
	unsigned y, mo, d, h = 0, mi = 0, s = 0;
	int64_t off = 0;
	if (!digits(c, 4, &y) || !eat(c, '-') || !digits(c, 2, &mo) || !eat(c, '-') ||
	    !digits(c, 2, &d))
		return SH_EINVAL;
	if (!at_end(c)) {
		if (!eat(c, 'T') && !eat(c, 't') && !eat(c, ' '))
			return SH_EINVAL;
		if (!clock_time(c, false, &h, &mi, &s))
			return SH_EINVAL;
		if (eat(c, '.') || eat(c, ',')) {
			if (at_end(c) || !is_digit(*c->p))
				return SH_EINVAL;
			while (c->p < c->end && is_digit(*c->p))
				c->p++;
		}
		if (eat(c, 'Z') || eat(c, 'z')) {
			/* UTC */
		} else if (peek(c, '+') || peek(c, '-')) {
			if (!numeric_offset(c, true, &off))
				return SH_EINVAL;
		} else if (peek(c, ' ')) {
			c->p++;
			if (!eat_word(c, "utc"))
				return SH_EINVAL;
		}
	}
	if (!at_end(c))
		return SH_EINVAL;
	return make_time(y, mo, d, h, mi, s, off, out);
}

/* RFC 2822 date-time after the optional "Www," was consumed. */
static int parse_rfc2822(struct cur *c, int64_t *out)
{
	unsigned d, mo, y, h, mi, s;
	int64_t off = 0;
	skip_spaces(c);
	if (!digits12(c, &d) || !skip_spaces(c) || !month_name(c, &mo) || !skip_spaces(c) ||
	    !digits(c, 4, &y) || !skip_spaces(c) || !clock_time(c, true, &h, &mi, &s) ||
	    !skip_spaces(c))
		return SH_EINVAL;
	if (peek(c, '+') || peek(c, '-')) {
		if (!numeric_offset(c, false, &off))
			return SH_EINVAL;
	} else if (!eat_word(c, "utc") && !eat_word(c, "gmt") && !eat_word(c, "ut") &&
		   !eat_word(c, "z")) {
		return SH_EINVAL;
	}
	if (!at_end(c))
		return SH_EINVAL;
	return make_time(y, mo, d, h, mi, s, off, out);
}

/* ctime-like "Www Mmm d hh:mm:ss [UTC|GMT ]yyyy" after the weekday was consumed. */
static int parse_ctime(struct cur *c, int64_t *out)
{
	unsigned mo, d, h, mi, s, y;
	if (!skip_spaces(c) || !month_name(c, &mo) || !skip_spaces(c) || !digits12(c, &d) ||
	    !skip_spaces(c) || !clock_time(c, false, &h, &mi, &s) || !skip_spaces(c))
		return SH_EINVAL;
	if (eat_word(c, "utc") || eat_word(c, "gmt")) {
		if (!skip_spaces(c))
			return SH_EINVAL;
	}
	if (!digits(c, 4, &y) || !at_end(c))
		return SH_EINVAL;
	return make_time(y, mo, d, h, mi, s, 0, out);
}

static int parse_epoch(struct cur *c, int64_t *out)
{
	if (at_end(c))
		return SH_EINVAL;
	int64_t v = 0;
	while (!at_end(c)) {
		if (!is_digit(*c->p))
			return SH_EINVAL;
		v = v * 10 + (*c->p++ - '0');
		if (v > MAX_EPOCH)
			return SH_EINVAL;
	}
	*out = v;
	return 0;
}

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

int sh_time_parse(const char *s, size_t n, int64_t *out)
{
	if (!s)
		return SH_EINVAL;
	struct cur c = {s, s + n};
	while (c.p < c.end && is_space(*c.p))
		c.p++;
	while (c.end > c.p && is_space(c.end[-1]))
		c.end--;
	if (at_end(&c))
		return SH_EINVAL;

	int64_t t;
	int rc;
	size_t len = (size_t)(c.end - c.p);
	if (*c.p == '@') {
		c.p++;
		rc = parse_epoch(&c, &t);
	} else if (len >= 5 && is_digit(c.p[0]) && is_digit(c.p[1]) && is_digit(c.p[2]) &&
		   is_digit(c.p[3]) && c.p[4] == '-') {
		rc = parse_iso(&c, &t);
	} else if (is_digit(*c.p) && len >= 3 && (c.p[1] == ' ' || c.p[2] == ' ')) {
		rc = parse_rfc2822(&c, &t);
	} else if (is_digit(*c.p)) {
		rc = parse_epoch(&c, &t);
	} else if (weekday_name(&c)) {
		rc = eat(&c, ',') ? parse_rfc2822(&c, &t) : parse_ctime(&c, &t);
	} else {
		rc = SH_EINVAL;
	}
	if (rc == 0)
		*out = t;
	return rc;
}

static void put_digits(char *p, unsigned v, unsigned width)
{
	for (unsigned i = width; i-- > 0;) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
}

/* Times outside what a four-digit year can write are clamped to 0000-01-01T00:00:00Z and
 * 9999-12-31T23:59:59Z, so the output always has the fixed RFC 3339 shape. */
size_t sh_time_format(int64_t t, char buf[SH_TIME_STRLEN])
{
	if (t < MIN_EPOCH)
		t = MIN_EPOCH;
	if (t > MAX_EPOCH)
		t = MAX_EPOCH;
	int64_t days = t / 86400, secs = t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	int64_t y;
	unsigned m, d;
	civil_from_days(days, &y, &m, &d);
	put_digits(buf, (unsigned)y, 4);
	buf[4] = '-';
	put_digits(buf + 5, m, 2);
	buf[7] = '-';
	put_digits(buf + 8, d, 2);
	buf[10] = 'T';
	put_digits(buf + 11, (unsigned)(secs / 3600), 2);
	buf[13] = ':';
	put_digits(buf + 14, (unsigned)(secs / 60 % 60), 2);
	buf[16] = ':';
	put_digits(buf + 17, (unsigned)(secs % 60), 2);
	buf[19] = 'Z';
	buf[20] = '\0';
	return 20;
}
