/* Runs a fuzz target's LLVMFuzzerTestOneInput over every file of its saved corpus, with no
 * fuzzer linked, so the ordinary test run (and its sanitizer build) replays the corpus. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	struct stat st;
	if (fstat(fileno(f), &st) != 0) {
		fclose(f);
		return -1;
	}
	size_t n = (size_t)st.st_size;
	/* an exact-size heap copy so ASan catches reads past the end */
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf || fread(buf, 1, n, f) != n) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long files = 0, errors = 0;
	for (int i = 1; i < argc; i++) {
		DIR *d = opendir(argv[i]);
		if (!d) {
			errors += run_file(argv[i]) != 0;
			files++;
			continue;
		}
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char path[4096];
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			errors += run_file(path) != 0;
			files++;
		}
		closedir(d);
	}
	printf("replayed %lu inputs, %lu unreadable\n", files, errors);
	return files == 0 || errors ? 1 : 0;
}
