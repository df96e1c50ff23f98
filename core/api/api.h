/*
 * api.h - the Kubernetes REST API server of kplane (libkpapi, in-tree only).
 *
 * The server speaks Kubernetes' REST conventions over libmicrohttpd on top
 * of a struct kp_store: discovery, get/list/watch/create/update/patch/delete,
 * subresources, Status errors and Tables. docs/api.md describes the surface
 * and the storage keys (/registry/<group-or-core>/<plural>/[<ns>/]<name>).
 *
 * Threads: a small libmicrohttpd epoll thread pool serves reads inline;
 * writes are handed to a pool of worker threads (so that synced store writes
 * group-commit instead of blocking the poll threads) while their connection
 * is suspended; watches are suspended connections woken by one hub thread,
 * so an idle watcher costs no thread.
 */
#ifndef KPLANE_API_H
#define KPLANE_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kp_store;
struct kp_api_server;

struct kp_api_options {
	const char *listen;        /* "ADDR:PORT" ("[::1]:0" for IPv6); port 0 = ephemeral;
				      NULL = "127.0.0.1:6443"; borrowed */
	unsigned threads;          /* HTTP poll threads; 0 = number of CPUs */
	unsigned write_workers;    /* threads running writes; 0 = 64 */
	size_t max_body;           /* request body limit in bytes; 0 = 3 MiB */
	double compact_interval;   /* seconds between compactions (each compacts to the
				      revision seen at the previous one); 0 = 300 */
	double bookmark_interval;  /* seconds between watch bookmarks; 0 = 60 */
	double watch_timeout;      /* default watch duration when the client sets no
				      timeoutSeconds; 0 = 1800 */
	/*
	 * Optional: Prometheus text appended to GET /metrics (the in-process
	 * components' own, the scheduler's), malloc'ed or NULL; the server
	 * frees it. Called on HTTP threads, so it must be thread-safe.
	 */
	char *(*extra_metrics)(void *arg);
	void *extra_metrics_arg;
};

/*
 * Starts serving on st (borrowed: it must outlive the server). Creates the
 * namespaces default, kube-system, kube-public and kube-node-lease when
 * missing. On success *out is the running server; errors (bad listen
 * address, port in use, store failure) come back as KP_E* with *errmsg.
 */
int kp_api_server_start(struct kp_store *st, const struct kp_api_options *opts,
			struct kp_api_server **out, char **errmsg);

/* The TCP port actually bound (useful with port 0). */
uint16_t kp_api_server_port(const struct kp_api_server *srv);

/*
 * Graceful stop: stops accepting connections, lets queued and running
 * writes finish, ends every watch, then stops the HTTP threads and frees
 * srv. The store is left open (the caller closes it).
 */
void kp_api_server_stop(struct kp_api_server *srv);

#endif
