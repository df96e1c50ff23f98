/* args.c - flag parsing for kpctl; see args.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>

#include "cli/kpctl/args.h"

static struct kpc_opt *find_long(struct kpc_opt *a, struct kpc_opt *b, const char *name, size_t len)
{
	struct kpc_opt *t[2] = { a, b };
	for (int i = 0; i < 2; i++)
		for (struct kpc_opt *o = t[i]; o && o->name; o++)
			if (strlen(o->name) == len && !strncmp(o->name, name, len))
				return o;
	return NULL;
}

static struct kpc_opt *find_short(struct kpc_opt *a, struct kpc_opt *b, char c)
{
	struct kpc_opt *t[2] = { a, b };
	for (int i = 0; i < 2; i++)
		for (struct kpc_opt *o = t[i]; o && o->name; o++)
			if (o->shorthand && o->shorthand == c)
				return o;
	return NULL;
}

static int set_value(struct kpc_opt *o, const char *val, char **errmsg)
{
	o->seen = true;
	switch (o->type) {
	case KPC_OPT_BOOL:
		if (!val || !strcmp(val, "true") || !strcmp(val, "1") || !strcmp(val, "t") ||
		    !strcmp(val, "T") || !strcmp(val, "TRUE") || !strcmp(val, "True"))
			*(bool *)o->dest = true;
		else if (!strcmp(val, "false") || !strcmp(val, "0") || !strcmp(val, "f") ||
			 !strcmp(val, "F") || !strcmp(val, "FALSE") || !strcmp(val, "False"))
			*(bool *)o->dest = false;
		else
			return kp_error_set(errmsg, KP_EINVAL,
					    "invalid argument \"%s\" for \"--%s\" flag: strconv.ParseBool: parsing \"%s\": invalid syntax",
					    val, o->name, val);
		return 0;
	case KPC_OPT_STRING:
		*(const char **)o->dest = val;
		return 0;
	case KPC_OPT_INT: {
		char *end;
		errno = 0;
		long v = strtol(val, &end, 10);
		if (!*val || *end || errno)
			return kp_error_set(errmsg, KP_EINVAL,
					    "invalid argument \"%s\" for \"--%s\" flag: strconv.ParseInt: parsing \"%s\": invalid syntax",
					    val, o->name, val);
		*(long *)o->dest = v;
		return 0;
	}
	case KPC_OPT_LIST: {
		struct kpc_strlist *l = o->dest;
		const char **nv = realloc(l->v, (size_t)(l->n + 1) * sizeof(*nv));
		if (!nv)
			return KP_ENOMEM;
		nv[l->n++] = val;
		l->v = nv;
		return 0;
	}
	}
	return KP_EINVAL;
}

int kpc_args_parse(int argc, char **argv, struct kpc_opt *a, struct kpc_opt *b,
		   char ***pos, int *npos, char **errmsg)
{
	char **p = calloc((size_t)argc + 1, sizeof(*p));
	int np = 0, rc = 0;
	if (!p)
		return KP_ENOMEM;
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (!strcmp(arg, "--")) {
			while (++i < argc)
				p[np++] = argv[i];
			break;
		}
		if (arg[0] != '-' || !arg[1]) { /* "-" alone is a value (stdin) */
			p[np++] = argv[i];
			continue;
		}
		if (arg[1] == '-') {
			const char *name = arg + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			struct kpc_opt *o = find_long(a, b, name, len);
			if (!o) {
				rc = kp_error_set(errmsg, KP_EINVAL, "unknown flag: --%.*s", (int)len, name);
				goto out;
			}
			const char *val = eq ? eq + 1 : NULL;
			if (!val && o->type != KPC_OPT_BOOL) {
				if (i + 1 >= argc) {
					rc = kp_error_set(errmsg, KP_EINVAL, "flag needs an argument: --%s", o->name);
					goto out;
				}
				val = argv[++i];
			}
			if ((rc = set_value(o, val, errmsg)))
				goto out;
			continue;
		}
		/* Short flags, possibly clustered: -Aw, -nfoo, -n foo, -n=foo. */
		for (const char *c = arg + 1; *c; c++) {
			struct kpc_opt *o = find_short(a, b, *c);
			if (!o) {
				rc = kp_error_set(errmsg, KP_EINVAL, "unknown shorthand flag: '%c' in %s", *c, arg);
				goto out;
			}
			if (o->type == KPC_OPT_BOOL) {
				if (c[1] == '=') {
					rc = set_value(o, c + 2, errmsg);
					if (rc)
						goto out;
					break;
				}
				set_value(o, NULL, errmsg);
				continue;
			}
			const char *val = c[1] ? c + 1 + (c[1] == '=') : NULL;
			if (!val) {
				if (i + 1 >= argc) {
					rc = kp_error_set(errmsg, KP_EINVAL, "flag needs an argument: '%c' in -%c", *c, *c);
					goto out;
				}
				val = argv[++i];
			}
			if ((rc = set_value(o, val, errmsg)))
				goto out;
			break;
		}
	}
out:
	if (rc) {
		free(p);
		return rc;
	}
	*pos = p;
	*npos = np;
	return 0;
}

void kpc_strlist_release(struct kpc_strlist *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void kpc_args_help(const struct kpc_opt *opts)
{
	for (const struct kpc_opt *o = opts; o && o->name; o++) {
		char left[64];
		if (o->shorthand)
			snprintf(left, sizeof(left), "-%c, --%s", o->shorthand, o->name);
		else
			snprintf(left, sizeof(left), "    --%s", o->name);
		printf("  %-28s %s\n", left, o->help ? o->help : "");
	}
}
