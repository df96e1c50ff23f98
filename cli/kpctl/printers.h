/*
 * printers.h - kpctl output: kubectl-style tables, ages, JSON/YAML/name.
 * Owned by the kpctl work (cli/kpctl/).
 */
#ifndef KPCTL_PRINTERS_H
#define KPCTL_PRINTERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

#define KPC_AGE_BUFSZ 32

/*
 * kubectl's duration.HumanDuration: "45s", "3m20s", "15m", "5h30m", "20h",
 * "2d3h", "30d", "2y45d", "9y"; "<invalid>" below -1s, "0s" for -1s.
 * Writes into buf (KPC_AGE_BUFSZ bytes) and returns it.
 */
char *kpc_human_duration(int64_t seconds, char buf[KPC_AGE_BUFSZ]);
/*
 * Age of an RFC 3339 timestamp relative to `now` (unix seconds), humanised;
 * "<unknown>" when ts is NULL or does not parse.
 */
char *kpc_age(const char *ts, int64_t now, char buf[KPC_AGE_BUFSZ]);

/*
 * A table printed like kubectl's tabwriter (minimum cell width 6, padding
 * 3, the last column unpadded) that remembers column widths across flushes,
 * so that rows of a watch stay aligned with the header (liggitt/tabwriter's
 * RememberWidths, which kubectl uses).
 */
struct kpc_table {
	FILE *out;      /* borrowed */
	size_t ncols;   /* fixed by the first row */
	size_t nrows;
	size_t cap;
	char **cells;   /* nrows * ncols, owned copies */
	size_t *widths; /* remembered widths, ncols */
};

void kpc_table_init(struct kpc_table *t, FILE *out);
/* Appends a row; copies the strings (NULL prints as empty). */
int kpc_table_add(struct kpc_table *t, size_t ncols, const char *const *cells);
/* Writes the buffered rows and forgets them (widths are kept). */
void kpc_table_flush(struct kpc_table *t);
void kpc_table_release(struct kpc_table *t);

/*
 * Go's text/tabwriter (elastic tabstops: column blocks of consecutive
 * lines, trailing cells unpadded) over a whole text with '\t' cell
 * separators. describe uses minwidth 0, padding 2. Returns a malloc'ed
 * string; caller frees.
 */
char *kpc_tabwrite(const char *text, int minwidth, int padding);

/* Text width of a UTF-8 string in code points (what tabwriter counts). */
size_t kpc_text_width(const char *s);

/*
 * JSON as kubectl prints it: keys sorted, 4-space indent, newline at the
 * end. Returns 0 or KP_ENOMEM.
 */
int kpc_print_json(FILE *out, const json_t *v);
/* YAML via kp_yaml_dump() with keys sorted as kubectl prints them; newline-terminated. */
int kpc_print_yaml(FILE *out, const json_t *v, char **errmsg);

/*
 * "kind.group/name" as kubectl's -o name and action messages print it:
 * kind lower-cased, ".group" only for non-core groups ("pod/x",
 * "deployment.apps/web"). apiVersion is "v1" or "group/version".
 * Returns a malloc'ed string; caller frees.
 */
char *kpc_kind_group(const char *kind, const char *api_version);
char *kpc_ref_name(const char *kind, const char *api_version, const char *name);

#endif
