/* kubeconfig.c - kubeconfig and server resolution for kpctl; see kubeconfig.h. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/yaml.h>

#include "cli/kpctl/kubeconfig.h"

int kpc_base64_decode(const char *in, char **out, size_t *outlen)
{
	size_t n = strlen(in);
	unsigned char *buf = malloc(n / 4 * 3 + 4);
	unsigned acc = 0;
	int bits = 0;
	size_t len = 0;
	if (!buf)
		return KP_ENOMEM;
	for (const char *p = in; *p; p++) {
		int v;
		char c = *p;
		if (c >= 'A' && c <= 'Z') v = c - 'A';
		else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
		else if (c >= '0' && c <= '9') v = c - '0' + 52;
		else if (c == '+') v = 62;
		else if (c == '/') v = 63;
		else if (c == '=') break;
		else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
		else {
			free(buf);
			return KP_EINVAL;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[len++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	buf[len] = 0;
	*out = (char *)buf;
	*outlen = len;
	return 0;
}

void kpc_config_release(struct kpc_config *cfg)
{
	free(cfg->server);
	free(cfg->namespace);
	free(cfg->context);
	free(cfg->ca_file);
	free(cfg->ca_data);
	free(cfg->cert_data);
	free(cfg->key_data);
	free(cfg->cert_file);
	free(cfg->key_file);
	free(cfg->token);
	memset(cfg, 0, sizeof(*cfg));
}

static int read_file(const char *path, char **buf, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT ? KP_ENOENT : KP_EIO;
	char *b = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&b, &n);
	char tmp[8192];
	size_t r;
	while (m && (r = fread(tmp, 1, sizeof(tmp), f)) > 0)
		fwrite(tmp, 1, r, m);
	int err = ferror(f);
	fclose(f);
	if (!m)
		return KP_ENOMEM;
	fclose(m);
	if (err) {
		free(b);
		return KP_EIO;
	}
	*buf = b;
	*len = n;
	return 0;
}

/* Finds `name` in a kubeconfig list (clusters, contexts, users) of every file. */
static json_t *find_named(json_t *docs, const char *list, const char *field, const char *name)
{
	size_t i;
	json_t *doc;
	json_array_foreach(docs, i, doc) {
		json_t *arr = json_object_get(doc, list), *e;
		size_t j;
		if (!json_is_array(arr))
			continue;
		json_array_foreach(arr, j, e) {
			const char *n = kp_obj_str(e, "name");
			json_t *v = json_object_get(e, field);
			if (n && !strcmp(n, name) && json_is_object(v))
				return v;
		}
	}
	return NULL;
}

static int dup_str(char **dst, const json_t *obj, const char *key)
{
	const char *s = kp_obj_str(obj, key);
	if (!s || *dst)
		return 0;
	*dst = strdup(s);
	return *dst ? 0 : KP_ENOMEM;
}

static int dup_b64(char **dst, size_t *len, const json_t *obj, const char *key,
		   const char *path, char **errmsg)
{
	const char *s = kp_obj_str(obj, key);
	if (!s || *dst)
		return 0;
	if (kpc_base64_decode(s, dst, len))
		return kp_error_set(errmsg, KP_EINVAL, "error loading config file \"%s\": %s: illegal base64 data", path, key);
	return 0;
}

/* Loads every kubeconfig file of the list into docs (a JSON array). */
static int load_files(const char *list, bool must_exist, json_t *docs, char **first, char **errmsg)
{
	char *copy = strdup(list), *save = NULL;
	int rc = 0;
	if (!copy)
		return KP_ENOMEM;
	for (char *p = strtok_r(copy, ":", &save); p; p = strtok_r(NULL, ":", &save)) {
		char *buf;
		size_t len;
		json_t *arr = NULL;
		char *em = NULL;
		rc = read_file(p, &buf, &len);
		if (rc == KP_ENOENT && !must_exist) {
			rc = 0;
			continue;
		}
		if (rc) {
			rc = kp_error_set(errmsg, rc, "stat %s: no such file or directory", p);
			break;
		}
		rc = kp_yaml_load(buf, len, &arr, &em);
		free(buf);
		if (rc) {
			rc = kp_error_set(errmsg, rc, "error loading config file \"%s\": %s", p, em ? em : kp_strerror(rc));
			free(em);
			break;
		}
		json_t *doc = json_array_size(arr) ? json_array_get(arr, 0) : NULL;
		if (doc && !json_is_object(doc)) {
			json_decref(arr);
			rc = kp_error_set(errmsg, KP_EINVAL, "error loading config file \"%s\": not a mapping", p);
			break;
		}
		if (doc) {
			json_array_append(docs, doc);
			if (!*first && !(*first = strdup(p)))
				rc = KP_ENOMEM;
		}
		json_decref(arr);
		if (rc)
			break;
	}
	free(copy);
	return rc;
}

int kpc_config_load(struct kpc_config *cfg, const struct kpc_config_flags *fl, char **errmsg)
{
	json_t *docs = json_array();
	char *first = NULL, *home_cfg = NULL;
	const char *path = "";
	int rc = 0;
	memset(cfg, 0, sizeof(*cfg));
	if (!docs)
		return KP_ENOMEM;

	if (fl->kubeconfig && *fl->kubeconfig) {
		rc = load_files(fl->kubeconfig, true, docs, &first, errmsg);
	} else if (fl->env_kubeconfig && *fl->env_kubeconfig) {
		rc = load_files(fl->env_kubeconfig, false, docs, &first, errmsg);
	} else if (fl->home && *fl->home) {
		if (asprintf(&home_cfg, "%s/.kube/config", fl->home) < 0) {
			rc = KP_ENOMEM;
			home_cfg = NULL;
		} else {
			rc = load_files(home_cfg, false, docs, &first, errmsg);
		}
	}
	if (rc)
		goto out;
	path = first ? first : "";

	const char *ctx_name = fl->context && *fl->context ? fl->context : NULL;
	size_t i;
	json_t *doc;
	if (!ctx_name)
		json_array_foreach(docs, i, doc) {
			const char *c = kp_obj_str(doc, "current-context");
			if (c && *c) {
				ctx_name = c;
				break;
			}
		}
	json_t *ctx = ctx_name ? find_named(docs, "contexts", "context", ctx_name) : NULL;
	if (fl->context && *fl->context && !ctx) {
		rc = kp_error_set(errmsg, KP_EINVAL, "context was not found for specified context: %s", fl->context);
		goto out;
	}
	if (ctx_name && !(cfg->context = strdup(ctx_name))) {
		rc = KP_ENOMEM;
		goto out;
	}
	const char *cluster_name = fl->cluster && *fl->cluster ? fl->cluster : kp_obj_str(ctx, "cluster");
	const char *user_name = kp_obj_str(ctx, "user");
	json_t *cluster = cluster_name ? find_named(docs, "clusters", "cluster", cluster_name) : NULL;
	json_t *user = user_name ? find_named(docs, "users", "user", user_name) : NULL;
	if (fl->cluster && *fl->cluster && !cluster) {
		rc = kp_error_set(errmsg, KP_EINVAL, "cluster \"%s\" does not exist", fl->cluster);
		goto out;
	}
	if ((rc = dup_str(&cfg->namespace, ctx, "namespace")))
		goto out;
	if (cluster) {
		cfg->insecure = kp_obj_bool(cluster, "insecure-skip-tls-verify", false);
		if ((rc = dup_str(&cfg->ca_file, cluster, "certificate-authority")) ||
		    (rc = dup_b64(&cfg->ca_data, &cfg->ca_len, cluster, "certificate-authority-data", path, errmsg)))
			goto out;
	}
	if (user) {
		if ((rc = dup_str(&cfg->token, user, "token")) ||
		    (rc = dup_str(&cfg->cert_file, user, "client-certificate")) ||
		    (rc = dup_str(&cfg->key_file, user, "client-key")) ||
		    (rc = dup_b64(&cfg->cert_data, &cfg->cert_len, user, "client-certificate-data", path, errmsg)) ||
		    (rc = dup_b64(&cfg->key_data, &cfg->key_len, user, "client-key-data", path, errmsg)))
			goto out;
	}

	const char *server = NULL;
	if (fl->server && *fl->server)
		server = fl->server;
	else if (fl->env_server && *fl->env_server)
		server = fl->env_server;
	else if (cluster && kp_obj_str(cluster, "server") && *kp_obj_str(cluster, "server"))
		server = kp_obj_str(cluster, "server");
	else
		server = KPC_DEFAULT_SERVER;
	/* kubectl accepts a bare host:port and assumes https; we serve plain
	 * http by default, so a scheme-less address means http. */
	if (!strstr(server, "://"))
		rc = asprintf(&cfg->server, "http://%s", server) < 0 ? KP_ENOMEM : 0;
	else
		rc = (cfg->server = strdup(server)) ? 0 : KP_ENOMEM;
	if (rc) {
		cfg->server = NULL;
		goto out;
	}
	size_t sl = strlen(cfg->server);
	while (sl > 0 && cfg->server[sl - 1] == '/')
		cfg->server[--sl] = 0;
	if (strncmp(cfg->server, "http://", 7) && strncmp(cfg->server, "https://", 8)) {
		rc = kp_error_set(errmsg, KP_EINVAL, "server \"%s\": only http:// and https:// URLs are supported", cfg->server);
		goto out;
	}
out:
	if (rc)
		kpc_config_release(cfg);
	json_decref(docs);
	free(first);
	free(home_cfg);
	return rc;
}
