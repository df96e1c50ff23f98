/*
 * fuzz-common.h - shared bits of the libFuzzer harnesses in t/fuzz/ (built
 * by `make fuzz` with clang, and replayed over t/fuzz/regress/ by t5011 in
 * make check through t/helper/api-fuzz-replay).
 */
#ifndef KPLANE_FUZZ_COMMON_H
#define KPLANE_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Each harness defines it; libFuzzer or the replay driver calls it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
