/*
 * args.h - kpctl's command-line flag parser (pflag's syntax, as kubectl).
 *
 * Accepted forms: `--name=value`, `--name value`, `-n value`, `-nvalue`,
 * clustered short booleans (`-Aw`), `--bool`, `--bool=false`, and `--`
 * to end the flags. Flags may appear before, between or after positional
 * arguments. Owned by the kpctl work (cli/kpctl/).
 */
#ifndef KPCTL_ARGS_H
#define KPCTL_ARGS_H

#include <stdbool.h>

enum kpc_opt_type {
	KPC_OPT_BOOL,   /* dest is bool * */
	KPC_OPT_STRING, /* dest is const char ** (borrowed from argv) */
	KPC_OPT_INT,    /* dest is long * ; decimal, may be negative */
	KPC_OPT_LIST,   /* dest is struct kpc_strlist *; repeatable */
};

/* A repeatable string flag (`-f a -f b`); values borrowed from argv. */
struct kpc_strlist {
	int n;
	const char **v; /* malloc'ed array; release with kpc_strlist_release() */
};

struct kpc_opt {
	const char *name; /* long name without "--", NULL ends a table */
	char shorthand;   /* 0 when none */
	enum kpc_opt_type type;
	void *dest;
	const char *help;
	bool seen; /* set by the parser when the flag was given */
};

/*
 * Parses argv[1..argc-1] (argv[0] is the command name) against the tables
 * `a` and `b` (either may be NULL; `b` usually holds the global flags).
 * Positional arguments go to *pos (malloc'ed array of borrowed argv
 * strings, caller frees the array) and their count to *npos.
 * Returns 0, or KP_EINVAL with pflag's wording in *errmsg
 * ("unknown flag: --foo", "flag needs an argument: 'n' in -n",
 * "invalid argument \"x\" for \"--replicas\" flag: ...").
 */
int kpc_args_parse(int argc, char **argv, struct kpc_opt *a, struct kpc_opt *b,
		   char ***pos, int *npos, char **errmsg);

/* Frees the array of a list flag (the strings are argv's). */
void kpc_strlist_release(struct kpc_strlist *l);

/* Prints the flag tables as help text ("  -n, --namespace=''  help"). */
void kpc_args_help(const struct kpc_opt *opts);

#endif
