/*
 * registry.c - plugin registry: descriptors linked into the program (the
 * static table) and modules found in plugin directories (dlopen). Nothing
 * in a module runs before its ABI version, layout signature, kind and name
 * were checked; every refusal names the file and says what to do.
 */
#include "config.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <kplane/error.h>

#include "core/sched/internal.h"


int kp_registry_new(struct kp_registry **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : KP_ENOMEM;
}

void kp_registry_free(struct kp_registry *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		if (r->mods[i].dl)
			dlclose(r->mods[i].dl);
		free(r->mods[i].path);
	}
	for (size_t i = 0; i < r->nrefused; i++) {
		free(r->refused_path[i]);
		free(r->refused_reason[i]);
	}
	free(r->refused_path);
	free(r->refused_reason);
	free(r->mods);
	free(r->entries);
	free(r);
}

static const char *origin(const struct kp__module *m)
{
	return m->path ? m->path : "the program (built in)";
}

/* Checks a descriptor; `what` names its origin in messages. */
static int check_descriptor(const struct kp_registry *r, const struct kp_plugin *p,
			    const char *what, char **errmsg)
{
	if (p->abi_version != KP_PLUGIN_ABI_VERSION)
		return kp_error_set(errmsg, KP_EABI,
				    "module \"%s\" built for plugin ABI %u, this kplane speaks %u: rebuild it against kplane's headers",
				    what, p->abi_version, KP_PLUGIN_ABI_VERSION);
	if (p->layout != KP_PLUGIN_LAYOUT)
		return kp_error_set(errmsg, KP_EABI,
				    "module \"%s\" has struct layout 0x%08x, this kplane has 0x%08x (both ABI %u): rebuild it against this kplane's headers",
				    what, p->layout, (unsigned)KP_PLUGIN_LAYOUT, KP_PLUGIN_ABI_VERSION);
	if (!p->name || !*p->name)
		return kp_error_set(errmsg, KP_EINVAL,
				    "module \"%s\" has a descriptor without a name: set .name", what);
	if (p->kind == KP_PLUGIN_SCHED) {
		if (!p->sched)
			return kp_error_set(errmsg, KP_EINVAL,
					    "module \"%s\" (plugin \"%s\") is a scheduler plugin without .sched ops",
					    what, p->name);
		if (p->sched->size < offsetof(struct kp_sched_ops, init) + sizeof(void *))
			return kp_error_set(errmsg, KP_EABI,
					    "module \"%s\" (plugin \"%s\") has a kp_sched_ops of %u bytes: set .size with KP_SCHED_OPS",
					    what, p->name, p->sched->size);
	} else if (p->kind == KP_PLUGIN_CONTROLLER) {
		if (!p->controller)
			return kp_error_set(errmsg, KP_EINVAL,
					    "module \"%s\" (plugin \"%s\") is a controller without .controller ops",
					    what, p->name);
	} else {
		return kp_error_set(errmsg, KP_EINVAL,
				    "module \"%s\" (plugin \"%s\") has unknown kind %u: rebuild it against kplane's headers",
				    what, p->name, p->kind);
	}
	if (p->args && !p->args_size)
		return kp_error_set(errmsg, KP_EINVAL,
				    "module \"%s\" (plugin \"%s\") declares args without args_size", what,
				    p->name);
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->mods[i].plugin->name, p->name))
			return kp_error_set(errmsg, KP_EEXIST,
					    "module \"%s\" provides plugin \"%s\", already loaded from \"%s\": remove one of them from the plugin path",
					    what, p->name, origin(&r->mods[i]));
	return 0;
}

static int add(struct kp_registry *r, const struct kp_plugin *p, const char *path, void *dl,
	       const struct stat *st)
{
	if (r->n == r->cap) {
		size_t nc = r->cap ? r->cap * 2 : 32;
		void *m = realloc(r->mods, nc * sizeof(*r->mods));
		if (!m)
			return KP_ENOMEM;
		r->mods = m;
		void *e = realloc(r->entries, nc * sizeof(*r->entries));
		if (!e)
			return KP_ENOMEM;
		r->entries = e;
		r->cap = nc;
	}
	struct kp__module *m = &r->mods[r->n];
	memset(m, 0, sizeof(*m));
	m->plugin = p;
	m->dl = dl;
	if (path && !(m->path = strdup(path)))
		return KP_ENOMEM;
	if (st) {
		m->dev = st->st_dev;
		m->ino = st->st_ino;
	}
	r->n++;
	for (size_t i = 0; i < r->n; i++) {
		r->entries[i].plugin = r->mods[i].plugin;
		r->entries[i].path = r->mods[i].path;
	}
	return 0;
}

int kp_registry_add_static(struct kp_registry *r, const struct kp_plugin *p, char **errmsg)
{
	int rc = check_descriptor(r, p, p->name ? p->name : "(built in)", errmsg);
	if (rc < 0)
		return rc;
	if (add(r, p, NULL, NULL, NULL) < 0)
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	return 0;
}

int kp_registry_add_table(struct kp_registry *r, const struct kp_plugin *const *table,
			  char **errmsg)
{
	for (size_t i = 0; table[i]; i++) {
		int rc = kp_registry_add_static(r, table[i], errmsg);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void refuse(struct kp_registry *r, const char *path, const char *reason)
{
	char **a = realloc(r->refused_path, (r->nrefused + 1) * sizeof(char *));
	if (!a)
		return;
	r->refused_path = a;
	char **b = realloc(r->refused_reason, (r->nrefused + 1) * sizeof(char *));
	if (!b)
		return;
	r->refused_reason = b;
	r->refused_path[r->nrefused] = strdup(path);
	r->refused_reason[r->nrefused] = strdup(reason);
	r->nrefused++;
}

int kp_registry_load_file(struct kp_registry *r, const char *path, char **errmsg)
{
	struct stat st;
	char *e = NULL;
	int rc;
	if (stat(path, &st) < 0) {
		rc = kp_error_set(&e, KP_ENOENT, "module \"%s\": %s", path, strerror(errno));
		goto refused;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = kp_error_set(&e, KP_EINVAL, "module \"%s\": not a regular file", path);
		goto refused;
	}
	for (size_t i = 0; i < r->n; i++)
		if (r->mods[i].path && r->mods[i].dev == st.st_dev && r->mods[i].ino == st.st_ino)
			return 0; /* the same file again: nothing to do */
	void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!dl) {
		const char *de = dlerror();
		rc = kp_error_set(&e, KP_EINVAL,
				  "module \"%s\" cannot be loaded: %s: check that it is a kplane plugin built for this machine and that the libraries it needs are installed",
				  path, de ? de : "unknown error");
		goto refused;
	}
	dlerror();
	const struct kp_plugin *p = dlsym(dl, KP_PLUGIN_SYMBOL);
	if (!p) {
		dlclose(dl);
		rc = kp_error_set(&e, KP_EINVAL,
				  "module \"%s\" has no \"%s\" descriptor: not a kplane plugin (define it with KP_PLUGIN_DEFINE, see docs/plugins.md)",
				  path, KP_PLUGIN_SYMBOL);
		goto refused;
	}
	if ((rc = check_descriptor(r, p, path, &e)) < 0) {
		dlclose(dl);
		goto refused;
	}
	if (add(r, p, path, dl, &st) < 0) {
		dlclose(dl);
		return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
	}
	return 0;
refused:
	refuse(r, path, e ? e : "refused");
	if (errmsg) {
		free(*errmsg);
		*errmsg = e;
	} else {
		free(e);
	}
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int kp_registry_load_dir(struct kp_registry *r, const char *dir, bool required, char **errmsg)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (!required)
			return 0;
		return kp_error_set(errmsg, KP_ENOENT, "plugin directory \"%s\": %s", dir,
				    strerror(errno));
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		if (len < 4 || strcmp(de->d_name + len - 3, ".so") || de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 32;
			char **nn = realloc(names, cap * sizeof(char *));
			if (!nn)
				break;
			names = nn;
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(char *), cmp_str);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		struct stat st;
		/* regular files only: stat follows symlinks to regular files, as collectd does */
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
			kp_registry_load_file(r, path, NULL); /* refusals are recorded */
		free(names[i]);
	}
	free(names);
	return 0;
}

int kp_registry_load_path(struct kp_registry *r, const char *const *dirs, bool use_default,
			  char **errmsg)
{
	int rc;
	for (size_t i = 0; dirs && dirs[i]; i++)
		if ((rc = kp_registry_load_dir(r, dirs[i], true, errmsg)) < 0)
			return rc;
	const char *env = getenv("KPLANE_PLUGIN_PATH");
	if (env && *env) {
		char *copy = strdup(env), *save = NULL;
		if (!copy)
			return kp_error_set(errmsg, KP_ENOMEM, "out of memory");
		for (char *tok = strtok_r(copy, ":", &save); tok; tok = strtok_r(NULL, ":", &save))
			if (*tok)
				kp_registry_load_dir(r, tok, false, NULL);
		free(copy);
	}
	if (use_default)
		kp_registry_load_dir(r, KP_PLUGIN_DIR, false, NULL);
	return 0;
}

size_t kp_registry_count(const struct kp_registry *r)
{
	return r->n;
}

const struct kp_registry_entry *kp_registry_get(const struct kp_registry *r, size_t i)
{
	return i < r->n ? &r->entries[i] : NULL;
}

const struct kp_plugin *kp_registry_find(const struct kp_registry *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->mods[i].plugin->name, name))
			return r->mods[i].plugin;
	return NULL;
}

size_t kp_registry_nrefused(const struct kp_registry *r)
{
	return r->nrefused;
}

void kp_registry_refused(const struct kp_registry *r, size_t i, const char **path,
			 const char **reason)
{
	*path = i < r->nrefused ? r->refused_path[i] : NULL;
	*reason = i < r->nrefused ? r->refused_reason[i] : NULL;
}
