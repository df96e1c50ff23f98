/* printers.c - tables, ages and object output for kpctl; see printers.h. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/yaml.h>

#include "cli/kpctl/printers.h"

char *kpc_human_duration(int64_t seconds, char buf[KPC_AGE_BUFSZ])
{
	if (seconds < -1) {
		snprintf(buf, KPC_AGE_BUFSZ, "<invalid>");
		return buf;
	}
	if (seconds < 0)
		seconds = 0;
	if (seconds < 60 * 2) {
		snprintf(buf, KPC_AGE_BUFSZ, "%llds", (long long)seconds);
		return buf;
	}
	long long minutes = seconds / 60;
	if (minutes < 10) {
		long long s = seconds % 60;
		if (s == 0)
			snprintf(buf, KPC_AGE_BUFSZ, "%lldm", minutes);
		else
			snprintf(buf, KPC_AGE_BUFSZ, "%lldm%llds", minutes, s);
		return buf;
	}
	if (minutes < 60 * 3) {
		snprintf(buf, KPC_AGE_BUFSZ, "%lldm", minutes);
		return buf;
	}
	long long hours = seconds / 3600;
	if (hours < 8) {
		long long m = minutes % 60;
		if (m == 0)
			snprintf(buf, KPC_AGE_BUFSZ, "%lldh", hours);
		else
			snprintf(buf, KPC_AGE_BUFSZ, "%lldh%lldm", hours, m);
	} else if (hours < 48) {
		snprintf(buf, KPC_AGE_BUFSZ, "%lldh", hours);
	} else if (hours < 24 * 8) {
		long long h = hours % 24;
		if (h == 0)
			snprintf(buf, KPC_AGE_BUFSZ, "%lldd", hours / 24);
		else
			snprintf(buf, KPC_AGE_BUFSZ, "%lldd%lldh", hours / 24, h);
	} else if (hours < 24 * 365 * 2) {
		snprintf(buf, KPC_AGE_BUFSZ, "%lldd", hours / 24);
	} else if (hours < 24 * 365 * 8) {
		long long dy = (hours / 24) % 365;
		if (dy == 0)
			snprintf(buf, KPC_AGE_BUFSZ, "%lldy", hours / 24 / 365);
		else
			snprintf(buf, KPC_AGE_BUFSZ, "%lldy%lldd", hours / 24 / 365, dy);
	} else {
		snprintf(buf, KPC_AGE_BUFSZ, "%lldy", hours / 24 / 365);
	}
	return buf;
}

char *kpc_age(const char *ts, int64_t now, char buf[KPC_AGE_BUFSZ])
{
	int64_t t;
	if (!ts || kp_time_parse(ts, &t)) {
		snprintf(buf, KPC_AGE_BUFSZ, "<unknown>");
		return buf;
	}
	return kpc_human_duration(now - t, buf);
}

size_t kpc_text_width(const char *s)
{
	size_t n = 0;
	for (; s && *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

/* kubectl's tabwriter settings: minwidth 6, padding 3 (GetNewTabWriter). */
enum { TAB_MINWIDTH = 6, TAB_PADDING = 3 };

void kpc_table_init(struct kpc_table *t, FILE *out)
{
	memset(t, 0, sizeof(*t));
	t->out = out;
}

int kpc_table_add(struct kpc_table *t, size_t ncols, const char *const *cells)
{
	if (!t->ncols) {
		t->ncols = ncols;
		t->widths = calloc(ncols, sizeof(*t->widths));
		if (!t->widths)
			return KP_ENOMEM;
	}
	if (t->nrows == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		char **nc = realloc(t->cells, ncap * t->ncols * sizeof(*nc));
		if (!nc)
			return KP_ENOMEM;
		t->cells = nc;
		t->cap = ncap;
	}
	char **row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++) {
		const char *c = i < ncols && cells[i] ? cells[i] : "";
		/* kubectl cuts a cell at the first line break and marks it. */
		size_t cut = strcspn(c, "\f\n\r");
		if (c[cut]) {
			row[i] = malloc(cut + 4);
			if (row[i])
				snprintf(row[i], cut + 4, "%.*s...", (int)cut, c);
		} else {
			row[i] = strdup(c);
		}
		if (!row[i]) {
			for (size_t j = 0; j < i; j++)
				free(row[j]);
			return KP_ENOMEM;
		}
	}
	t->nrows++;
	return 0;
}

void kpc_table_flush(struct kpc_table *t)
{
	if (!t->nrows)
		return;
	for (size_t c = 0; c + 1 < t->ncols; c++) {
		size_t w = TAB_MINWIDTH;
		for (size_t r = 0; r < t->nrows; r++) {
			size_t cw = kpc_text_width(t->cells[r * t->ncols + c]) + TAB_PADDING;
			if (cw > w)
				w = cw;
		}
		if (w > t->widths[c])
			t->widths[c] = w;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			fputs(cell, t->out);
			if (c + 1 < t->ncols)
				fprintf(t->out, "%*s", (int)(t->widths[c] - kpc_text_width(cell)), "");
			free(t->cells[r * t->ncols + c]);
		}
		fputc('\n', t->out);
	}
	t->nrows = 0;
	fflush(t->out);
}

void kpc_table_release(struct kpc_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->widths);
	memset(t, 0, sizeof(*t));
}

int kpc_print_json(FILE *out, const json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(4) | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (!s)
		return KP_ENOMEM;
	fputs(s, out);
	fputc('\n', out);
	free(s);
	return 0;
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* A copy with every object's keys in sorted order (jansson keeps insertion order). */
static json_t *sorted_copy(const json_t *v)
{
	if (json_is_array(v)) {
		json_t *a = json_array();
		for (size_t i = 0; a && i < json_array_size(v); i++)
			json_array_append_new(a, sorted_copy(json_array_get(v, i)));
		return a;
	}
	if (!json_is_object(v))
		return json_deep_copy(v);
	size_t n = json_object_size(v), i = 0;
	const char **keys = calloc(n ? n : 1, sizeof(*keys)), *k;
	json_t *o = json_object(), *x;
	if (!keys || !o) {
		free(keys);
		json_decref(o);
		return NULL;
	}
	json_object_foreach((json_t *)v, k, x) keys[i++] = k;
	qsort(keys, n, sizeof(*keys), cmp_cstr);
	for (i = 0; i < n; i++)
		json_object_set_new(o, keys[i], sorted_copy(json_object_get(v, keys[i])));
	free(keys);
	return o;
}

int kpc_print_yaml(FILE *out, const json_t *v, char **errmsg)
{
	char *s = NULL;
	size_t len = 0;
	/* kubectl's YAML goes through JSON maps: keys come out sorted. */
	json_t *sorted = sorted_copy(v);
	if (!sorted)
		return KP_ENOMEM;
	int rc = kp_yaml_dump(sorted, &s, &len);
	json_decref(sorted);
	if (rc)
		return kp_error_set(errmsg, rc, "cannot write YAML: %s", kp_strerror(rc));
	fwrite(s, 1, len, out);
	if (len && s[len - 1] != '\n')
		fputc('\n', out);
	free(s);
	return 0;
}

char *kpc_kind_group(const char *kind, const char *api_version)
{
	const char *slash = api_version ? strchr(api_version, '/') : NULL;
	size_t glen = slash ? (size_t)(slash - api_version) : 0;
	size_t klen = kind ? strlen(kind) : 0;
	char *s = malloc(klen + glen + 2);
	if (!s)
		return NULL;
	for (size_t i = 0; i < klen; i++)
		s[i] = (char)tolower((unsigned char)kind[i]);
	s[klen] = 0;
	if (glen) {
		s[klen] = '.';
		memcpy(s + klen + 1, api_version, glen);
		s[klen + 1 + glen] = 0;
	}
	return s;
}

char *kpc_ref_name(const char *kind, const char *api_version, const char *name)
{
	char *kg = kpc_kind_group(kind, api_version), *s = NULL;
	if (kg && asprintf(&s, "%s/%s", kg, name ? name : "") < 0)
		s = NULL;
	free(kg);
	return s;
}

/* Elastic tabstops as Go's text/tabwriter lays them out. */
struct tw_line {
	size_t ncells;
	const char **cell; /* pointers into the copied text */
	size_t *width;
};

struct tw {
	struct tw_line *lines;
	size_t nlines;
	size_t *widths; /* stack of column widths */
	size_t depth;
	int minwidth, padding;
	FILE *out;
};

static void tw_write(struct tw *w, size_t l0, size_t l1)
{
	for (size_t i = l0; i < l1; i++) {
		struct tw_line *ln = &w->lines[i];
		for (size_t j = 0; j < ln->ncells; j++) {
			fputs(ln->cell[j], w->out);
			if (j < w->depth && w->widths[j] > ln->width[j])
				fprintf(w->out, "%*s", (int)(w->widths[j] - ln->width[j]), "");
		}
		fputc('\n', w->out);
	}
}

static void tw_format(struct tw *w, size_t l0, size_t l1)
{
	size_t column = w->depth;
	for (size_t this = l0; this < l1; this++) {
		if (column + 1 >= w->lines[this].ncells)
			continue;
		tw_write(w, l0, this);
		l0 = this;
		size_t width = (size_t)w->minwidth;
		for (; this < l1; this++) {
			struct tw_line *ln = &w->lines[this];
			if (column + 1 >= ln->ncells)
				break;
			size_t cw = ln->width[column] + (size_t)w->padding;
			if (cw > width)
				width = cw;
		}
		w->widths[w->depth++] = width;
		tw_format(w, l0, this);
		w->depth--;
		/* `this` ended the block: it has no cell here, so the loop's ++
		 * skipping it is what Go's tabwriter does too. */
		l0 = this;
	}
	tw_write(w, l0, l1);
}

char *kpc_tabwrite(const char *text, int minwidth, int padding)
{
	char *copy = strdup(text), *out = NULL;
	size_t outlen = 0, maxcells = 1;
	struct tw w = { .minwidth = minwidth, .padding = padding };
	if (!copy)
		return NULL;
	size_t len = strlen(copy);
	if (len && copy[len - 1] == '\n')
		copy[--len] = 0;
	for (char *p = copy; ; ) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		struct tw_line *nv = realloc(w.lines, (w.nlines + 1) * sizeof(*nv));
		if (!nv)
			goto out;
		w.lines = nv;
		struct tw_line *ln = &w.lines[w.nlines++];
		size_t nc = 1;
		for (char *q = p; *q; q++)
			nc += *q == '\t';
		ln->ncells = nc;
		ln->cell = calloc(nc, sizeof(*ln->cell));
		ln->width = calloc(nc, sizeof(*ln->width));
		if (!ln->cell || !ln->width)
			goto out;
		size_t ci = 0;
		for (char *q = p;;) {
			char *tab = strchr(q, '\t');
			if (tab)
				*tab = 0;
			ln->cell[ci] = q;
			ln->width[ci] = kpc_text_width(q);
			ci++;
			if (!tab)
				break;
			q = tab + 1;
		}
		if (nc > maxcells)
			maxcells = nc;
		if (!nl)
			break;
		p = nl + 1;
	}
	w.widths = calloc(maxcells, sizeof(*w.widths));
	w.out = open_memstream(&out, &outlen);
	if (!w.widths || !w.out)
		goto out;
	tw_format(&w, 0, w.nlines);
	fclose(w.out);
	w.out = NULL;
out:
	if (w.out) {
		fclose(w.out);
		free(out);
		out = NULL;
	}
	for (size_t i = 0; i < w.nlines; i++) {
		free(w.lines[i].cell);
		free(w.lines[i].width);
	}
	free(w.lines);
	free(w.widths);
	free(copy);
	return out;
}
