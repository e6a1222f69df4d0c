/* Unit tests for the bump allocator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "lib/arena.h"
#include "lib/err.h"

static void test_alignment_and_reuse(void **state)
{
	struct sh_arena a;
	sh_arena_init(&a, 1024);
	for (size_t i = 1; i < 3000; i += 7) {
		unsigned char *p = sh_arena_alloc(&a, i);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xab, i);
	}
	sh_arena_reset(&a);
	void *p = sh_arena_alloc(&a, 100);
	assert_non_null(p);
	sh_arena_fini(&a);
}

static void test_large_blocks_keep_small_block(void **state)
{
	struct sh_arena a;
	sh_arena_init(&a, 4096);
	char *small = sh_arena_alloc(&a, 16);
	char *big = sh_arena_alloc(&a, 1 << 20);
	char *small2 = sh_arena_alloc(&a, 16);
	assert_non_null(small);
	assert_non_null(big);
	assert_non_null(small2);
	/* the small allocation after a big one continues the partly used block */
	assert_ptr_equal(small2, small + 16);
	memset(big, 1, 1 << 20);
	sh_arena_fini(&a);
}

static void test_strndup_and_overflow(void **state)
{
	struct sh_arena a;
	sh_arena_init(&a, 0);
	char *s = sh_arena_strndup(&a, "hello world", 5);
	assert_string_equal(s, "hello");
	assert_null(sh_arena_alloc(&a, SIZE_MAX - 8));
	assert_null(sh_arena_strndup(&a, "x", SIZE_MAX));
	sh_arena_fini(&a);
	assert_string_equal(sh_strerror(SH_ENOMEM), "out of memory");
	assert_string_equal(sh_strerror(12345), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alignment_and_reuse),
		cmocka_unit_test(test_large_blocks_keep_small_block),
		cmocka_unit_test(test_strndup_and_overflow),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
