/* Bump allocator for objects that die together (a feed load, a request). */
#ifndef SH_ARENA_H
#define SH_ARENA_H
#include <stddef.h>

#include "lib/err.h"

struct sh_arena_block;

/* Caller-owned; zero-initialised state is not valid, call sh_arena_init. */
struct sh_arena {
	struct sh_arena_block *head;
	size_t block_size;
};

void sh_arena_init(struct sh_arena *a, size_t block_size);
/* 16-byte aligned memory, or NULL when out of memory or size overflows. */
void *sh_arena_alloc(struct sh_arena *a, size_t size);
/* Copy of s[0..n) with a terminating NUL, or NULL. */
char *sh_arena_strndup(struct sh_arena *a, const char *s, size_t n);
/* Frees all but the newest block so the arena can be reused without new mallocs. */
void sh_arena_reset(struct sh_arena *a);
void sh_arena_fini(struct sh_arena *a);

/* Growable heap arrays: makes *p (with *cap elements of elem bytes) hold at least need,
 * doubling; 0, or SH_ENOMEM (on overflow too) with *p and *cap unchanged. */
SH_MUST_CHECK int sh_array_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif
