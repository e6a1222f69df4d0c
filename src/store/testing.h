/* Test hooks of the store, for tests/unit/test_store.c; nothing else should need them. */
#ifndef SH_STORE_TESTING_H
#define SH_STORE_TESTING_H

#include "store/store.h"

/* Number of schema migrations this build knows (the schema version of a new database). */
extern const int sh_store_n_migrations;

/* Opens like sh_store_open but migrates no further than max_version, for tests that need a
 * database at an older schema. */
SH_MUST_CHECK int sh_store_open_at(const char *path, int max_version, struct sh_store **out);

/* Called at named points inside ingest commits when set: "indicators", "replayed",
 * "sightings", "runs", "written"; tests use it to simulate a crash. */
extern void (*sh_store_test_hook)(const char *point);

#endif
