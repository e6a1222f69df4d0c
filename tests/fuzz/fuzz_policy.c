/* Fuzz target for the listing policy parser: any input is parsed without crashing, every
 * problem is reported with a line inside the input, and a policy that parses cleanly dumps to
 * a file that parses to the same dump (the canonical form is a fixed point). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/policy.h"

struct lines {
	unsigned long max;
};

static void diag(void *arg, const char *file, unsigned long line, const char *msg)
{
	struct lines *l = arg;
	if (line > l->max || !msg || !*msg)
		abort();
}

static char *dump(const struct sh_policy *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		abort();
	sh_policy_dump(p, f);
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sh_policy *p;
	if (sh_policy_new(&p) != 0)
		return 0;
	struct lines l = {1};
	for (size_t i = 0; i < size; i++)
		l.max += data[i] == '\n';
	int rc = sh_policy_parse(p, (const char *)data, size, "fuzz", diag, &l);
	if (rc == 0) {
		char *a = dump(p);
		struct sh_policy *q;
		if (sh_policy_new(&q) != 0) {
			free(a);
			sh_policy_free(p);
			return 0;
		}
		struct lines lq = {1};
		for (const char *c = a; *c; c++)
			lq.max += *c == '\n';
		if (sh_policy_parse(q, a, strlen(a), "dump", diag, &lq) != 0)
			abort();
		char *b = dump(q);
		if (strcmp(a, b) != 0)
			abort();
		free(a);
		free(b);
		sh_policy_free(q);
	}
	sh_policy_free(p);
	return 0;
}
