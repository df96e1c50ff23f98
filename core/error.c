/* error.c - kp_strerror() and kp_error_set(); see <kplane/error.h>. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <kplane/error.h>
#include <kplane/kplane.h>

const char *kp_version(void)
{
	return PACKAGE_VERSION;
}

const char *kp_strerror(int err)
{
	switch (err) {
	case KP_OK: return "success";
	case KP_ENOMEM: return "out of memory";
	case KP_EINVAL: return "invalid argument";
	case KP_ENOENT: return "not found";
	case KP_EEXIST: return "already exists";
	case KP_ECONFLICT: return "conflict: the object has been modified";
	case KP_EEXPIRED: return "revision expired (compacted)";
	case KP_EIO: return "input/output error";
	case KP_ERANGE: return "value out of range";
	case KP_ENOTSUP: return "not supported";
	case KP_ECLOSED: return "closed";
	case KP_ETIMEDOUT: return "timed out";
	case KP_EABI: return "plugin ABI mismatch";
	case KP_EBUSY: return "resource busy";
	case KP_E2BIG: return "input too large";
	}
	return "unknown error";
}

int kp_error_set(char **errmsg, int err, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL;

	if (!errmsg)
		return err;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	free(*errmsg);
	*errmsg = msg;
	return err;
}
