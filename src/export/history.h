/* Private to src/export: the state file of an output (last publish and version history). */
#ifndef SH_EXPORT_HISTORY_H
#define SH_EXPORT_HISTORY_H
#include "export/export.h"

/* Reads path: *previous gets the entry count of the last publish of this format there (-1
 * when the file does not exist), h (may be NULL) the versions. A malformed file is an error
 * (SH_EFORMAT, with why): publishing on without it would disarm the shrink check. */
SH_MUST_CHECK int sh_export_state_load(const char *path, const char *format, long long *previous,
				       struct sh_export_history *h, char *why, size_t why_len);
/* Replaces path atomically; h may be NULL. */
SH_MUST_CHECK int sh_export_state_save(const char *path, const char *format,
				       unsigned long entries, int64_t at,
				       const struct sh_export_history *h);

#endif
