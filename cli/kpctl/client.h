/*
 * client.h - kpctl's HTTP client for the Kubernetes REST API (libcurl).
 *
 * One handle per process, reused across requests (keep-alive). Errors of
 * the transport come back as KP_EIO with kubectl's wording ("The connection
 * to the server H:P was refused - did you specify the right host or
 * port?"); HTTP error statuses are not transport errors: the caller looks
 * at resp->status and formats the body with kpc_status_message().
 * Owned by the kpctl work (cli/kpctl/).
 */
#ifndef KPCTL_CLIENT_H
#define KPCTL_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <jansson.h>

#include "cli/kpctl/kubeconfig.h"

struct kpc_client;

/* Content types of the four patch flavours and of tables. */
#define KPC_CT_JSON "application/json"
#define KPC_CT_MERGE_PATCH "application/merge-patch+json"
#define KPC_CT_STRATEGIC_PATCH "application/strategic-merge-patch+json"
#define KPC_CT_JSON_PATCH "application/json-patch+json"
#define KPC_ACCEPT_TABLE "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

/* Borrows cfg for the lifetime of the client. */
int kpc_client_new(const struct kpc_config *cfg, long timeout_sec,
		   struct kpc_client **out, char **errmsg);
void kpc_client_free(struct kpc_client *c);

struct kpc_response {
	long status;  /* HTTP status */
	char *body;   /* malloc'ed, NUL-terminated; caller frees (kpc_response_release) */
	size_t len;
	json_t *json; /* parsed body when it was JSON, else NULL (owned) */
};
void kpc_response_release(struct kpc_response *r);

/*
 * Sends one request. path is appended to the server URL and must already
 * be escaped (see kpc_escape()). accept and content_type may be NULL
 * (application/json is used). body may be NULL. Returns 0 once a response
 * arrived, whatever its status, or KP_EIO with a message.
 */
int kpc_request(struct kpc_client *c, const char *method, const char *path,
		const char *accept, const char *content_type, const char *body, size_t len,
		struct kpc_response *resp, char **errmsg);
/* kpc_request() with a JSON body (borrowed; NULL for none). */
int kpc_request_json(struct kpc_client *c, const char *method, const char *path,
		     const char *content_type, const json_t *body,
		     struct kpc_response *resp, char **errmsg);

/*
 * Streams a watch: each complete line of the body is parsed as JSON and
 * handed to on_event (borrowed). on_event returns 0 to go on, anything else
 * to stop (not an error). An HTTP error status before the stream starts is
 * returned in *status with the body in *errbody (malloc'ed). Returns 0 when
 * the server closed the stream or on_event stopped it.
 */
int kpc_watch(struct kpc_client *c, const char *path, const char *accept,
	      int (*on_event)(json_t *ev, void *arg), void *arg,
	      long *status, char **errbody, char **errmsg);

/*
 * kubectl's rendering of a failed response: "Error from server (NotFound):
 * pods \"x\" not found"; with `context` ("error when creating \"f.yaml\"")
 * inserted before the message as kubectl does for -f operations; Invalid
 * becomes "The Pod \"x\" is invalid: field: message". Works without a
 * Status body ("Error from server (InternalError): an error on the server
 * (\"...\") has prevented the request from succeeding"). Caller frees.
 */
char *kpc_status_message(const struct kpc_response *r, const char *context);

/* Percent-escapes a query value; caller frees. */
char *kpc_escape(const char *s);

#endif
