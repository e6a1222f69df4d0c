/* Shared pieces of the sheriff subcommands. */
#include "cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool cli_common_opt(struct cli_common *c, int opt, const char *arg)
{
	switch (opt) {
	case OPT_DB:
		c->db = arg;
		return true;
	case OPT_JSON:
		c->json = true;
		return true;
	}
	return false;
}

const char *cli_db_path(const struct cli_common *c)
{
	if (c->db)
		return c->db;
	const char *env = getenv("SHERIFF_DB");
	return env && *env ? env : "./sheriff.db";
}

int cli_open_store(const struct cli_common *c, struct sh_store **s)
{
	const char *path = cli_db_path(c);
	int rc = sh_store_open(path, s);
	if (rc != 0) {
		cli_err("cannot open database %s: %s (%s)", path, sh_strerror(rc), sh_store_errmsg(NULL));
		return CLI_FAIL;
	}
	return CLI_OK;
}

void cli_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("sheriff: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

void cli_json_line(json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
		free(s);
	}
	json_decref(obj);
}

json_t *cli_json_time(int64_t t)
{
	if (t == SH_TIME_NONE)
		return json_null();
	char buf[SH_TIME_STRLEN];
	sh_time_format(t, buf);
	return json_string(buf);
}

const char *cli_time(int64_t t, char buf[SH_TIME_STRLEN])
{
	if (t == SH_TIME_NONE)
		return "-";
	sh_time_format(t, buf);
	return buf;
}

bool cli_parse_time(const char *opt, const char *s, int64_t *out)
{
	if (sh_time_parse(s, strlen(s), out) != 0) {
		cli_err("%s: cannot read time '%s' (use RFC 3339, e.g. 2020-02-07T12:08:47Z)", opt, s);
		return false;
	}
	return true;
}

bool cli_parse_count(const char *opt, const char *s, unsigned long min, unsigned long max,
		     unsigned long *out)
{
	char *end;
	errno = 0;
	unsigned long v = isdigit((unsigned char)*s) ? strtoul(s, &end, 10) : 0;
	if (!isdigit((unsigned char)*s) || *end || errno || v < min || v > max) {
		cli_err("%s: give a number from %lu to %lu", opt, min, max);
		return false;
	}
	*out = v;
	return true;
}

bool cli_progress_wanted(void)
{
	return isatty(STDERR_FILENO) != 0;
}
