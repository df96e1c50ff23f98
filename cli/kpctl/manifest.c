/* manifest.c - -f sources for kpctl; see manifest.h. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/yaml.h>

#include "cli/kpctl/manifest.h"

void kpc_manifests_release(struct kpc_manifests *m)
{
	for (size_t i = 0; i < m->n; i++) {
		json_decref(m->v[i].obj);
		free(m->v[i].source);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int push(struct kpc_manifests *m, json_t *obj, const char *source)
{
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 8;
		struct kpc_manifest *nv = realloc(m->v, nc * sizeof(*nv));
		if (!nv)
			return KP_ENOMEM;
		m->v = nv;
		m->cap = nc;
	}
	m->v[m->n].source = strdup(source);
	if (!m->v[m->n].source)
		return KP_ENOMEM;
	m->v[m->n].obj = json_incref(obj);
	m->n++;
	return 0;
}

static int add_doc(struct kpc_manifests *m, json_t *doc, const char *source, char **errmsg)
{
	if (json_is_null(doc))
		return 0;
	if (!json_is_object(doc))
		return kp_error_set(errmsg, KP_EINVAL,
				    "error validating \"%s\": error validating data: the object is not a mapping", source);
	const char *kind = kp_obj_kind(doc), *av = kp_obj_api_version(doc);
	if (!kind || !*kind || !av || !*av)
		return kp_error_set(errmsg, KP_EINVAL, "error validating \"%s\": error validating data: %s%s%s",
				    source, !av || !*av ? "apiVersion not set" : "",
				    (!av || !*av) && (!kind || !*kind) ? ", " : "",
				    !kind || !*kind ? "kind not set" : "");
	size_t kl = strlen(kind);
	json_t *items = json_object_get(doc, "items");
	if (kl >= 4 && !strcmp(kind + kl - 4, "List") && json_is_array(items)) {
		size_t i;
		json_t *it;
		json_array_foreach(items, i, it) {
			int rc = add_doc(m, it, source, errmsg);
			if (rc)
				return rc;
		}
		return 0;
	}
	return push(m, doc, source);
}

int kpc_manifests_parse(struct kpc_manifests *m, const char *buf, size_t len, const char *source,
			char **errmsg)
{
	size_t off = 0;
	while (off < len && (buf[off] == ' ' || buf[off] == '\t' || buf[off] == '\n' || buf[off] == '\r'))
		off++;
	if (off < len && (buf[off] == '{' || buf[off] == '[')) {
		/* A stream of JSON documents. */
		while (off < len) {
			json_error_t jerr;
			json_t *doc = json_loadb(buf + off, len - off, JSON_DISABLE_EOF_CHECK, &jerr);
			if (!doc)
				return kp_error_set(errmsg, KP_EINVAL, "error parsing %s: line %d, column %d: %s",
						    source, jerr.line, jerr.column, jerr.text);
			off += jerr.position;
			int rc = json_is_array(doc) ? 0 : add_doc(m, doc, source, errmsg);
			if (json_is_array(doc)) {
				size_t i;
				json_t *it;
				json_array_foreach(doc, i, it)
					if ((rc = add_doc(m, it, source, errmsg)))
						break;
			}
			json_decref(doc);
			if (rc)
				return rc;
			while (off < len && (buf[off] == ' ' || buf[off] == '\t' || buf[off] == '\n' || buf[off] == '\r'))
				off++;
		}
		return 0;
	}
	json_t *docs = NULL;
	char *em = NULL;
	int rc = kp_yaml_load(buf, len, &docs, &em);
	if (rc) {
		rc = kp_error_set(errmsg, rc, "error parsing %s: %s", source, em ? em : kp_strerror(rc));
		free(em);
		return rc;
	}
	size_t i;
	json_t *d;
	json_array_foreach(docs, i, d)
		if ((rc = add_doc(m, d, source, errmsg)))
			break;
	json_decref(docs);
	return rc;
}

static int read_stream(FILE *f, char **buf, size_t *len)
{
	FILE *mem = open_memstream(buf, len);
	char tmp[8192];
	size_t r;
	if (!mem)
		return KP_ENOMEM;
	while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0)
		fwrite(tmp, 1, r, mem);
	int err = ferror(f);
	fclose(mem);
	if (err) {
		free(*buf);
		return KP_EIO;
	}
	return 0;
}

static int read_file(struct kpc_manifests *m, const char *path, char **errmsg)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	char *buf = NULL;
	size_t len = 0;
	if (!f)
		return kp_error_set(errmsg, KP_EIO, "open %s: %s", path, strerror(errno));
	int rc = read_stream(f, &buf, &len);
	if (f != stdin)
		fclose(f);
	if (rc)
		return kp_error_set(errmsg, rc, "read %s: %s", path, kp_strerror(rc));
	rc = kpc_manifests_parse(m, buf, len, strcmp(path, "-") ? path : "STDIN", errmsg);
	free(buf);
	return rc;
}

static bool manifest_ext(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && !strcmp(name + n - 5, ".json")) || (n > 5 && !strcmp(name + n - 5, ".yaml")) ||
	       (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_dir(struct kpc_manifests *m, const char *dir, bool recursive, char **errmsg)
{
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, NULL, NULL), rc = 0;
	if (n < 0)
		return kp_error_set(errmsg, KP_EIO, "open %s: %s", dir, strerror(errno));
	char **names = calloc((size_t)n + 1, sizeof(*names));
	int nn = 0;
	for (int i = 0; i < n; i++) {
		if (names && ents[i]->d_name[0] != '.')
			names[nn++] = strdup(ents[i]->d_name);
		free(ents[i]);
	}
	free(ents);
	if (!names)
		return KP_ENOMEM;
	qsort(names, (size_t)nn, sizeof(*names), cmp_str);
	for (int i = 0; i < nn && !rc; i++) {
		char *p = NULL;
		struct stat st;
		if (!names[i] || asprintf(&p, "%s/%s", dir, names[i]) < 0) {
			rc = KP_ENOMEM;
			break;
		}
		if (stat(p, &st) == 0) {
			if (S_ISDIR(st.st_mode)) {
				if (recursive)
					rc = read_dir(m, p, recursive, errmsg);
			} else if (manifest_ext(names[i])) {
				rc = read_file(m, p, errmsg);
			}
		}
		free(p);
	}
	for (int i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	return rc;
}

int kpc_manifests_read(struct kpc_manifests *m, const char *path, bool recursive, char **errmsg)
{
	struct stat st;
	if (!strcmp(path, "-"))
		return read_file(m, path, errmsg);
	if (stat(path, &st))
		return kp_error_set(errmsg, KP_ENOENT, "the path \"%s\" does not exist", path);
	if (S_ISDIR(st.st_mode))
		return read_dir(m, path, recursive, errmsg);
	return read_file(m, path, errmsg);
}
