/*
 * kubeconfig.h - where kpctl connects: --server, $KPLANE_SERVER, or the
 * current context of a kubeconfig ($KUBECONFIG or ~/.kube/config).
 * Owned by the kpctl work (cli/kpctl/).
 */
#ifndef KPCTL_KUBECONFIG_H
#define KPCTL_KUBECONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define KPC_DEFAULT_SERVER "http://127.0.0.1:6443"

/* Everything owned (malloc'ed); release with kpc_config_release(). */
struct kpc_config {
	char *server;    /* base URL without trailing slash */
	char *namespace; /* context's namespace, NULL when unset */
	char *context;   /* name of the context used, NULL when none */
	bool insecure;   /* insecure-skip-tls-verify */
	char *ca_file;   /* certificate-authority */
	char *ca_data;   /* certificate-authority-data, decoded PEM */
	size_t ca_len;
	char *cert_data, *key_data; /* client-certificate-data / client-key-data, decoded */
	size_t cert_len, key_len;
	char *cert_file, *key_file; /* client-certificate / client-key */
	char *token;     /* users[].user.token */
};

struct kpc_config_flags {
	const char *server;     /* --server, may be NULL */
	const char *kubeconfig; /* --kubeconfig, may be NULL */
	const char *context;    /* --context, may be NULL */
	const char *cluster;    /* --cluster, may be NULL */
	const char *env_server;  /* $KPLANE_SERVER (the caller reads the environment) */
	const char *env_kubeconfig; /* $KUBECONFIG */
	const char *home;       /* $HOME */
};

/*
 * Resolves the connection. Precedence for the URL: flags->server,
 * env_server, the kubeconfig's cluster for the chosen context (--context or
 * current-context), KPC_DEFAULT_SERVER. A kubeconfig that does not exist is
 * not an error unless named by --kubeconfig; one that does not parse is.
 * $KUBECONFIG may list several files separated by ':'; as kubectl merges
 * them, the first file that sets a value wins.
 * Returns 0 or a KP_E* code with *errmsg ("error loading config file ...").
 */
int kpc_config_load(struct kpc_config *cfg, const struct kpc_config_flags *flags, char **errmsg);
void kpc_config_release(struct kpc_config *cfg);

/*
 * Decodes standard base64 (padding optional, whitespace ignored) into a
 * malloc'ed buffer (NUL-terminated for convenience). Returns 0 or KP_EINVAL.
 */
int kpc_base64_decode(const char *in, char **out, size_t *outlen);

#endif
