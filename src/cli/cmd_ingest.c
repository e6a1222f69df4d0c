/* sheriff ingest: feed snapshots (files or URLs) into the store. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/ingest.h"

static void help(FILE *f)
{
	fprintf(f, "usage: sheriff ingest [--format NAME] [--source NAME] [--at TIME] [--db PATH] [--json]\n"
		   "                      FILE|URL...\n\n"
		   "Each input is a snapshot of a feed, taken at the time in its own header (e.g.\n"
		   "'! Updated:', '# Last updated:', DROP's metadata line), else at --at, else at the\n"
		   "file's modification time. Snapshots of one source are applied in time order: for a\n"
		   "full-list feed an indicator missing from a later snapshot went offline at that\n"
		   "snapshot; incremental feeds (URLhaus CSV, ThreatFox, Feodo, STIX) carry their own\n"
		   "dates and status. Ingesting the same snapshot again changes nothing. Gzip inputs are\n"
		   "read as they are; '-' is not accepted (give a file).\n\n"
		   "  --format NAME   skip detection; one of:\n");
	for (size_t i = 0; sh_feed_formats[i]; i++)
		fprintf(f, "                    %-15s %s\n", sh_feed_formats[i]->name,
			sh_feed_formats[i]->description);
	fprintf(f, "  --source NAME   the feed's name (default: the file name without extensions and\n"
		   "                  without a trailing date stamp)\n"
		   "  --at TIME       snapshot time for every input (RFC 3339)\n\n"
		   "Bad lines are reported on stderr as FILE:LINE: reason and skipped; the exit code is\n"
		   "then 2. With --json, one summary object per source goes to stdout.\n");
}

struct ui {
	bool progress;
	unsigned long shown_bad;
};

static void on_diag(void *arg, const char *input, unsigned long line, const char *msg)
{
	struct ui *ui = arg;
	if (ui->progress)
		fputs("\r\033[K", stderr);
	if (line)
		fprintf(stderr, "%s:%lu: %s\n", input, line, msg);
	else
		fprintf(stderr, "%s: %s\n", input, msg);
	ui->shown_bad++;
}

static void on_progress(void *arg, size_t done, size_t total)
{
	struct ui *ui = arg;
	if (ui->progress)
		fprintf(stderr, "\r\033[Kingest: %zu/%zu inputs", done, total);
}

int cmd_ingest(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_COMMON_LONGOPTS,
		{"format", required_argument, NULL, 'f'},
		{"source", required_argument, NULL, 's'},
		{"at", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	struct cli_common c = {0};
	struct ui ui = {.progress = cli_progress_wanted()};
	struct sh_ingest_opts o = {.at = SH_TIME_NONE, .diag = on_diag, .progress = on_progress, .arg = &ui};
	int opt;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (cli_common_opt(&c, opt, optarg))
			continue;
		switch (opt) {
		case 'f':
			if (!sh_feed_format_find(optarg)) {
				cli_err("unknown format '%s' (see sheriff ingest --help)", optarg);
				return CLI_USAGE;
			}
			o.format = optarg;
			break;
		case 's':
			if (!*optarg || strlen(optarg) >= sizeof(((struct sh_ingest_result *)0)->source)) {
				cli_err("--source: give a name of 1 to 127 characters");
				return CLI_USAGE;
			}
			o.source = optarg;
			break;
		case 'a':
			if (!cli_parse_time("--at", optarg, &o.at))
				return CLI_USAGE;
			break;
		case 'h':
			help(stdout);
			return CLI_OK;
		default:
			help(stderr);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		cli_err("ingest: give at least one FILE or URL");
		help(stderr);
		return CLI_USAGE;
	}
	struct sh_store *s;
	if (cli_open_store(&c, &s) != CLI_OK)
		return CLI_FAIL;
	struct sh_ingest_summary sum;
	int rc = sh_engine_ingest(s, &o, argv + optind, (size_t)(argc - optind), &sum);
	if (ui.progress)
		fputs("\r\033[K", stderr);
	for (size_t i = 0; i < sum.n_sources; i++) {
		const struct sh_ingest_result *r = &sum.sources[i];
		if (r->rc != 0)
			cli_err("source %s: not stored: %s (%s)", r->source, sh_strerror(r->rc),
				sh_store_errmsg(s));
		if (c.json) {
			json_t *j = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:b}",
					      "source", r->source, "format", r->format ? r->format : "",
					      "inputs", (json_int_t)r->inputs,
					      "snapshots", (json_int_t)r->stats.snapshots,
					      "skipped", (json_int_t)r->stats.skipped,
					      "items", (json_int_t)r->stats.items,
					      "new_indicators", (json_int_t)r->stats.new_indicators,
					      "runs_opened", (json_int_t)r->stats.runs_opened,
					      "runs_closed", (json_int_t)r->stats.runs_closed,
					      "bad_lines", (json_int_t)r->bad_lines,
					      "refused", (json_int_t)r->refused, "stored", r->rc == 0);
			cli_json_line(j);
		} else {
			fprintf(stderr,
				"%s (%s): %lu snapshots applied, %lu already stored, %lu items, %lu new "
				"indicators, %lu runs opened, %lu closed, %lu bad lines%s\n",
				r->source, r->format ? r->format : "?", r->stats.snapshots, r->stats.skipped,
				r->stats.items, r->stats.new_indicators, r->stats.runs_opened,
				r->stats.runs_closed, r->bad_lines, r->refused ? ", some inputs refused" : "");
		}
	}
	int ret = CLI_OK;
	if (rc != 0)
		ret = CLI_FAIL;
	else if (sum.unreadable && sum.n_sources == 0)
		ret = CLI_FAIL;
	else if (sum.unreadable || sum.bad_lines || sum.refused)
		ret = CLI_PARTIAL;
	sh_ingest_summary_fini(&sum);
	sh_store_close(s);
	return ret;
}
