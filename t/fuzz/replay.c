/*
 * replay.c - runs LLVMFuzzerTestOneInput of one harness over files named on
 * the command line (the regression inputs in t/fuzz/regress/<target>/), so
 * make check replays what the fuzzer found with the ordinary compiler and
 * sanitizer build. Prints TAP: one line per file.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "t/fuzz/fuzz-common.h"

int main(int argc, char **argv)
{
	printf("1..%d\n", argc - 1);
	for (int i = 1; i < argc; i++) {
		FILE *f = fopen(argv[i], "rb");
		if (!f) {
			printf("not ok %d - %s: cannot open\n", i, argv[i]);
			continue;
		}
		size_t cap = 1 << 16, n = 0;
		unsigned char *buf = malloc(cap);
		size_t got;
		while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
			n += got;
			if (n == cap && !(buf = realloc(buf, cap *= 2)))
				break;
		}
		fclose(f);
		if (!buf)
			return 1;
		/* A crash ends the program: reaching the print is the pass. */
		LLVMFuzzerTestOneInput(buf, n);
		printf("ok %d - %s\n", i, argv[i]);
		free(buf);
	}
	return 0;
}
