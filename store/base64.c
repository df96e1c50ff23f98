/*
 * base64.c - base64 for the etcd v3 JSON gateway's keys and values, shared
 * by the etcd client (etcd.c) and the API server's store gateway.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>

#include "store/base64.h"

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *kp__b64_encode(const char *src, size_t n)
{
	const unsigned char *s = (const unsigned char *)src;
	char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)s[i + 1] << 8;
		if (i + 2 < n)
			v |= s[i + 2];
		*o++ = b64chars[v >> 18 & 63];
		*o++ = b64chars[v >> 12 & 63];
		*o++ = i + 1 < n ? b64chars[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? b64chars[v & 63] : '=';
	}
	*o = 0;
	return out;
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

int kp__b64_decode(const char *s, char **out, size_t *outlen)
{
	size_t n = strlen(s), o = 0;
	uint32_t acc = 0;
	int bits = 0;
	char *buf = malloc(n / 4 * 3 + 4);

	if (!buf)
		return KP_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int v;

		if (s[i] == '=')
			break;
		v = b64_val((unsigned char)s[i]);
		if (v < 0) {
			free(buf);
			return KP_EIO;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (char)(acc >> bits & 0xff);
		}
	}
	buf[o] = 0;
	*out = buf;
	*outlen = o;
	return 0;
}
