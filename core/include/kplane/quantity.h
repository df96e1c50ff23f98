/*
 * quantity.h - Kubernetes resource quantities ("250m", "64Mi", "1.5Gi", "1e3").
 *
 * Semantics follow k8s.io/apimachinery/pkg/api/resource.Quantity:
 *  - suffixes: binary Ki Mi Gi Ti Pi Ei, decimal n u m "" k M G T P E,
 *    exponent e/E followed by an integer (1e3, 1E-3);
 *  - precision finer than nano (10^-9) is rounded up (away from zero);
 *  - the canonical string keeps the format the input used (binary, decimal
 *    or exponent), chooses the largest suffix that keeps the mantissa an
 *    integer, and falls back to decimal SI when a binary value is not a
 *    whole multiple of 1024 ("1.5Gi" -> "1536Mi", "0.5" -> "500m").
 * Unlike Kubernetes, values beyond +/-(2^63-1) are rejected with KP_ERANGE
 * instead of being capped ("8Ei", "10E"), and so are the rare values whose
 * significant digits do not fit an int64 mantissa
 * ("9223372036854775806.5"); text without a digit ("Mi", ".", "-"), which
 * Kubernetes reads as zero, and leading or trailing whitespace are
 * KP_EINVAL.
 *
 * A quantity is a plain value type (no allocation): value * 10^scale.
 * Functions here keep it normalized (trailing zeros of value moved into
 * scale, -9 <= scale <= 18, magnitude <= 2^63-1 units); structs built by
 * hand should come from kp_quantity_make().
 */
#ifndef KPLANE_QUANTITY_H
#define KPLANE_QUANTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum kp_quantity_format {
	KP_QUANTITY_DECIMAL_SI = 0, /* m, k, M, G, ... and plain numbers */
	KP_QUANTITY_BINARY_SI,      /* Ki, Mi, Gi, ... */
	KP_QUANTITY_DECIMAL_EXP,    /* 1e3, 5E-2 */
};

struct kp_quantity {
	int64_t value; /* mantissa */
	int32_t scale; /* power of ten: the quantity is value * 10^scale, scale >= -9 */
	enum kp_quantity_format format;
};

/* Longest canonical string kp_quantity_format() writes, with the NUL. */
#define KP_QUANTITY_BUFSZ 48

/*
 * Parses s (borrowed; at most 256 characters). Errors: KP_EINVAL for
 * malformed input (message names the offending text), KP_ERANGE when the
 * magnitude exceeds 2^63-1. *q is unchanged on error.
 */
int kp_quantity_parse(const char *s, struct kp_quantity *q, char **errmsg);
/* Writes the canonical form into buf (KP_QUANTITY_BUFSZ bytes); returns buf. */
char *kp_quantity_format(const struct kp_quantity *q, char buf[KP_QUANTITY_BUFSZ]);

/*
 * Value in whole units, rounded up (Quantity.Value()); value in thousandths,
 * rounded up (Quantity.MilliValue()). "Up" is away from zero, as in
 * Kubernetes: -1.5 gives -2. KP_ERANGE if it does not fit int64 (then *out
 * holds the saturated value).
 */
int kp_quantity_value(const struct kp_quantity *q, int64_t *out);
int kp_quantity_milli(const struct kp_quantity *q, int64_t *out);
/* Same, saturating at INT64_MIN/INT64_MAX instead of failing. */
int64_t kp_quantity_value_sat(const struct kp_quantity *q);
int64_t kp_quantity_milli_sat(const struct kp_quantity *q);

/* Exact comparison: <0, 0, >0. */
int kp_quantity_cmp(const struct kp_quantity *a, const struct kp_quantity *b);
/*
 * *a += b / *a -= b, exactly; KP_ERANGE on overflow (a unchanged). A zero
 * *a takes b's format, as in Kubernetes.
 */
int kp_quantity_add(struct kp_quantity *a, const struct kp_quantity *b);
int kp_quantity_sub(struct kp_quantity *a, const struct kp_quantity *b);
/*
 * Builds value * 10^scale in the given format, normalized. Precision
 * finer than nano rounds away from zero; a magnitude beyond 2^63-1
 * saturates.
 */
struct kp_quantity kp_quantity_make(int64_t value, int32_t scale, enum kp_quantity_format f);
bool kp_quantity_is_zero(const struct kp_quantity *q);

#endif
