/*
 * base64.h - base64 as etcd's JSON gateway speaks it (standard alphabet,
 * padded; the URL-safe characters are accepted on input). Internal.
 */
#ifndef KPLANE_STORE_BASE64_H
#define KPLANE_STORE_BASE64_H

#include <stddef.h>

/* The base64 of n bytes as a new NUL-terminated string (caller frees); NULL: no memory. */
char *kp__b64_encode(const char *src, size_t n);
/*
 * Decodes s into a new NUL-terminated buffer (*out, caller frees; *outlen
 * excludes the NUL). KP_EIO on a character outside the alphabet, KP_ENOMEM.
 */
int kp__b64_decode(const char *s, char **out, size_t *outlen);

#endif
