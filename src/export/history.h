/* Private to src/export: the state file of an output (last publish and version history). */
#ifndef SH_EXPORT_HISTORY_H
#define SH_EXPORT_HISTORY_H
#include "export/export.h"

/* Reads path: *previous gets the entry count of the last publish of this format there (-1
 * when the file does not exist), h (may be NULL) the versions. A malformed file is an error
 * (SH_EFORMAT, with why): publishing on without it would disarm the shrink check. The records
 * of a version 3 file are read as the export needs them: a damaged one makes the call that
 * meets it fail with SH_EFORMAT, and sh_export_history_damaged names it. */
SH_MUST_CHECK int sh_export_state_load(const char *path, const char *format, long long *previous,
				       struct sh_export_history *h, char *why, size_t why_len);
/* why gets the message for a damaged state file: where ("line", "entry") and which. */
void sh_export_state_damaged(const char *path, const char *format, const char *where,
			     unsigned long n, char *why, size_t why_len);
/* A state file being written beside path, which it replaces when it ends: the header now, the
 * versions' records (version 3; a header of version 2 without versions) through
 * sh_export_state_records while the export runs, then at the end those of h's versions not
 * yet saved. */
struct sh_export_state;
SH_MUST_CHECK int sh_export_state_begin(const char *path, const char *format,
					unsigned long entries, int64_t at, bool versions,
					struct sh_export_state **out);
struct sh_wbuf *sh_export_state_records(struct sh_export_state *s);
/* Adds the records of h's versions (may be NULL) not saved yet and makes the file durable;
 * once done, later calls do nothing. */
SH_MUST_CHECK int sh_export_state_finish(struct sh_export_state *s, struct sh_export_history *h);
/* Renames the finished file over path; frees s. */
SH_MUST_CHECK int sh_export_state_publish(struct sh_export_state *s);
/* finish and publish; frees s also on failure. */
SH_MUST_CHECK int sh_export_state_end(struct sh_export_state *s, struct sh_export_history *h);
/* Drops the unfinished file; s may be NULL. */
void sh_export_state_abort(struct sh_export_state *s);
/* begin and end in one: replaces path atomically; h may be NULL. */
SH_MUST_CHECK int sh_export_state_save(const char *path, const char *format,
				       unsigned long entries, int64_t at,
				       struct sh_export_history *h);

#endif
