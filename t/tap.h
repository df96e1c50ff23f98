/*
 * tap.h - a tiny TAP producer for C tests (header-only).
 *
 *   plan(3);
 *   ok(x > 0, "x is positive");
 *   is_int(f(2), 4, "f doubles");
 *   is_str(name, "web-0", "first pod name");
 *   return done_testing();
 *
 * Failed comparisons print both sides as TAP diagnostics. Every test program
 * prints a plan (up front with plan(), or at the end with done_testing()).
 */
#ifndef KP_TAP_H
#define KP_TAP_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n_, tap_failed_, tap_planned_;

static inline void plan(int n)
{
	tap_planned_ = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	fflush(stdout);
}

static inline int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_ok_(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	tap_n_++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n_);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	if (!cond) {
		tap_failed_++;
		printf("#   Failed test at %s line %d.\n", file, line);
	}
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define pass(...) ok(1, __VA_ARGS__)
#define fail(...) ok(0, __VA_ARGS__)

#define is_int(got, want, ...) do { \
	long long tap_g_ = (long long)(got), tap_w_ = (long long)(want); \
	if (!ok(tap_g_ == tap_w_, __VA_ARGS__)) \
		diag("         got: %lld\n#     expected: %lld", tap_g_, tap_w_); \
} while (0)

#define is_uint(got, want, ...) do { \
	unsigned long long tap_g_ = (unsigned long long)(got), tap_w_ = (unsigned long long)(want); \
	if (!ok(tap_g_ == tap_w_, __VA_ARGS__)) \
		diag("         got: %llu\n#     expected: %llu", tap_g_, tap_w_); \
} while (0)

#define is_double(got, want, eps, ...) do { \
	double tap_g_ = (got), tap_w_ = (want); \
	if (!ok(tap_g_ - tap_w_ <= (eps) && tap_w_ - tap_g_ <= (eps), __VA_ARGS__)) \
		diag("         got: %.9g\n#     expected: %.9g", tap_g_, tap_w_); \
} while (0)

#define is_str(got, want, ...) do { \
	const char *tap_g_ = (got), *tap_w_ = (want); \
	int tap_eq_ = (tap_g_ == NULL || tap_w_ == NULL) ? tap_g_ == tap_w_ : strcmp(tap_g_, tap_w_) == 0; \
	if (!ok(tap_eq_, __VA_ARGS__)) \
		diag("         got: %s%s%s\n#     expected: %s%s%s", \
		     tap_g_ ? "'" : "", tap_g_ ? tap_g_ : "NULL", tap_g_ ? "'" : "", \
		     tap_w_ ? "'" : "", tap_w_ ? tap_w_ : "NULL", tap_w_ ? "'" : ""); \
} while (0)

static inline void skip(int n, const char *why)
{
	for (int i = 0; i < n; i++) {
		tap_n_++;
		printf("ok %d # SKIP %s\n", tap_n_, why);
	}
	fflush(stdout);
}

/* Prints the plan if none was given; returns the exit status. */
static inline int done_testing(void)
{
	if (!tap_planned_)
		printf("1..%d\n", tap_n_);
	else if (tap_planned_ != tap_n_)
		printf("# planned %d tests but ran %d\n", tap_planned_, tap_n_);
	fflush(stdout);
	return tap_failed_ || (tap_planned_ && tap_planned_ != tap_n_) ? 1 : 0;
}

#endif
