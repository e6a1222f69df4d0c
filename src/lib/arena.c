/* Bump allocator: blocks chained newest first; oversized requests get a block of their own. */
#include "lib/arena.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct sh_arena_block {
	struct sh_arena_block *next;
	size_t size, used;
	_Alignas(16) unsigned char data[];
};

#define ALIGN16(n) (((n) + 15u) & ~(size_t)15u)

void sh_arena_init(struct sh_arena *a, size_t block_size)
{
	a->head = NULL;
	a->block_size = block_size < 1024 ? 1024 : block_size;
}

void *sh_arena_alloc(struct sh_arena *a, size_t size)
{
	if (size > SIZE_MAX - 16 - sizeof(struct sh_arena_block))
		return NULL;
	size = ALIGN16(size ? size : 1);
	struct sh_arena_block *b = a->head;
	if (!b || b->size - b->used < size) {
		size_t cap = size > a->block_size ? size : a->block_size;
		b = malloc(sizeof(*b) + cap);
		if (!b)
			return NULL;
		b->size = cap;
		b->used = 0;
		if (a->head && cap > a->block_size) {
			/* keep the partly used block on top for small allocations */
			b->next = a->head->next;
			a->head->next = b;
		} else {
			b->next = a->head;
			a->head = b;
		}
	}
	void *p = b->data + b->used;
	b->used += size;
	return p;
}

char *sh_arena_strndup(struct sh_arena *a, const char *s, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *p = sh_arena_alloc(a, n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

void sh_arena_reset(struct sh_arena *a)
{
	if (!a->head)
		return;
	struct sh_arena_block *b = a->head->next;
	while (b) {
		struct sh_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head->next = NULL;
	a->head->used = 0;
}

void sh_arena_fini(struct sh_arena *a)
{
	sh_arena_reset(a);
	free(a->head);
	a->head = NULL;
}

int sh_array_grow(void **p, size_t *cap, size_t need, size_t elem)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 16;
	while (n < need) {
		if (n > SIZE_MAX / 2)
			return SH_ENOMEM;
		n *= 2;
	}
	if (elem == 0 || n > SIZE_MAX / elem)
		return SH_ENOMEM;
	void *q = realloc(*p, n * elem);
	if (!q)
		return SH_ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}
