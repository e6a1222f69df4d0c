/* Shared pieces of the sheriff subcommands: exit codes, options common to all, output. */
#ifndef SH_CLI_H
#define SH_CLI_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "store/store.h"

enum { CLI_OK = 0, CLI_USAGE = 1, CLI_PARTIAL = 2, CLI_FAIL = 3 };

/* Options every subcommand takes. */
struct cli_common {
	const char *db;
	bool json;
};

/* Long options shared by all subcommands; getopt_long returns these values. */
enum { OPT_DB = 1000, OPT_JSON, OPT_HELP };
#define CLI_COMMON_LONGOPTS                                                                    \
	{"db", required_argument, NULL, OPT_DB}, {"json", no_argument, NULL, OPT_JSON},          \
		{"help", no_argument, NULL, 'h'}

/* Handles a common option; true when c was one. */
bool cli_common_opt(struct cli_common *c, int opt, const char *arg);

/* --db, else $SHERIFF_DB, else ./sheriff.db */
const char *cli_db_path(const struct cli_common *c);
/* Opens the store or prints why not; CLI_OK or CLI_FAIL. */
int cli_open_store(const struct cli_common *c, struct sh_store **s);

__attribute__((format(printf, 1, 2))) void cli_err(const char *fmt, ...);
/* Prints obj as one compact JSON line on stdout and releases it. */
void cli_json_line(json_t *obj);
/* RFC 3339 string or JSON null for SH_TIME_NONE. */
json_t *cli_json_time(int64_t t);
/* RFC 3339 or "-" into buf. */
const char *cli_time(int64_t t, char buf[SH_TIME_STRLEN]);
/* Parses a time argument (any sh_time_parse form); prints an error when bad. */
bool cli_parse_time(const char *opt, const char *s, int64_t *out);
/* Parses a decimal count for option opt within [min, max]; prints an error when bad. */
bool cli_parse_count(const char *opt, const char *s, unsigned long min, unsigned long max,
		     unsigned long *out);
/* True when stderr is a terminal (progress lines are shown then). */
bool cli_progress_wanted(void);

int cmd_asmap(int argc, char **argv);
int cmd_campaigns(int argc, char **argv);
int cmd_dnsbl(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_hosting(int argc, char **argv);
int cmd_ingest(int argc, char **argv);
int cmd_lifetimes(int argc, char **argv);
int cmd_lookup(int argc, char **argv);
int cmd_networks(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_resolve(int argc, char **argv);
int cmd_respawns(int argc, char **argv);

#endif
