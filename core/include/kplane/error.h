/*
 * error.h - the one error convention of kplane (STYLE.md "Errors").
 *
 * Functions return int: 0 on success or a negative KP_E* code. Details for a
 * person go into an optional `char **errmsg` out-parameter: the callee
 * allocates it with malloc() (only on failure), the caller frees it with
 * free(). Passing NULL for errmsg is always allowed. Nothing is carried in
 * errno, nor in sentinel pointers.
 */
#ifndef KPLANE_ERROR_H
#define KPLANE_ERROR_H

enum kp_error {
	KP_OK = 0,
	KP_ENOMEM = -1,     /* out of memory */
	KP_EINVAL = -2,     /* malformed or invalid input */
	KP_ENOENT = -3,     /* not found (HTTP 404) */
	KP_EEXIST = -4,     /* already exists (409 AlreadyExists) */
	KP_ECONFLICT = -5,  /* compare-and-swap failed (409 Conflict) */
	KP_EEXPIRED = -6,   /* revision older than what is retained (410 Gone) */
	KP_EIO = -7,        /* I/O or backend failure */
	KP_ERANGE = -8,     /* value out of the representable range */
	KP_ENOTSUP = -9,    /* operation not supported by this backend/plugin */
	KP_ECLOSED = -10,   /* object was closed/stopped while waiting */
	KP_ETIMEDOUT = -11, /* a wait ran out of time */
	KP_EABI = -12,      /* plugin ABI/version mismatch */
	KP_EBUSY = -13,     /* resource busy (locked data dir, too many requests) */
	KP_E2BIG = -14,     /* input larger than allowed */
};

/* Returns a static, human-readable text for a KP_E* code (never NULL). */
const char *kp_strerror(int err);

/*
 * Formats a message into *errmsg (if errmsg is non-NULL; an old *errmsg is
 * freed first) and returns err, so that callers can write
 * `return kp_error_set(errmsg, KP_EINVAL, "field %s: ...", f);`.
 */
int kp_error_set(char **errmsg, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
