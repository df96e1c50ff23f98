/* client.c - libcurl transport for kpctl; see client.h. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include <kplane/error.h>
#include <kplane/object.h>

#include "cli/kpctl/client.h"

struct kpc_client {
	CURL *curl;
	const struct kpc_config *cfg;
	long timeout;
	char host[256]; /* "host:port" for messages */
};

static void host_of(const char *url, char *out, size_t outsz)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	size_t n = strcspn(p, "/");
	snprintf(out, outsz, "%.*s", (int)n, p);
}

int kpc_client_new(const struct kpc_config *cfg, long timeout_sec,
		   struct kpc_client **out, char **errmsg)
{
	static int global_done;
	if (!global_done) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT))
			return kp_error_set(errmsg, KP_EIO, "cannot initialise libcurl");
		global_done = 1;
	}
	struct kpc_client *c = calloc(1, sizeof(*c));
	if (!c)
		return KP_ENOMEM;
	c->curl = curl_easy_init();
	if (!c->curl) {
		free(c);
		return kp_error_set(errmsg, KP_EIO, "cannot initialise libcurl");
	}
	c->cfg = cfg;
	c->timeout = timeout_sec;
	host_of(cfg->server, c->host, sizeof(c->host));
	*out = c;
	return 0;
}

void kpc_client_free(struct kpc_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	free(c);
}

void kpc_response_release(struct kpc_response *r)
{
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

char *kpc_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *r;
	if (!e)
		return NULL;
	r = strdup(e);
	curl_free(e);
	return r;
}

struct sink {
	FILE *mem;
	/* streaming */
	int (*on_event)(json_t *, void *);
	void *arg;
	char *line;
	size_t len, cap;
	bool stopped;
	long status;
	CURL *curl;
};

static size_t write_mem(char *ptr, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	return fwrite(ptr, size, n, s->mem) * size;
}

static void setup(struct kpc_client *c, const char *method, const char *path,
		  struct curl_slist **hdrs, const char *accept, const char *ctype)
{
	CURL *h = c->curl;
	char *url = NULL, hdr[512];
	curl_easy_reset(h);
	if (asprintf(&url, "%s%s", c->cfg->server, path) >= 0) {
		curl_easy_setopt(h, CURLOPT_URL, url);
		free(url);
	}
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "kpctl/" PACKAGE_VERSION);
	if (c->cfg->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (c->cfg->ca_data) {
		struct curl_blob b = { c->cfg->ca_data, c->cfg->ca_len, CURL_BLOB_COPY };
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &b);
	} else if (c->cfg->ca_file) {
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cfg->ca_file);
	}
	if (c->cfg->cert_data && c->cfg->key_data) {
		struct curl_blob cb = { c->cfg->cert_data, c->cfg->cert_len, CURL_BLOB_COPY };
		struct curl_blob kb = { c->cfg->key_data, c->cfg->key_len, CURL_BLOB_COPY };
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &cb);
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &kb);
	} else if (c->cfg->cert_file && c->cfg->key_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, c->cfg->cert_file);
		curl_easy_setopt(h, CURLOPT_SSLKEY, c->cfg->key_file);
	}
	snprintf(hdr, sizeof(hdr), "Accept: %s", accept ? accept : KPC_CT_JSON);
	*hdrs = curl_slist_append(*hdrs, hdr);
	if (ctype) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s", ctype);
		*hdrs = curl_slist_append(*hdrs, hdr);
	}
	/* No "Expect: 100-continue" round trip on large bodies. */
	*hdrs = curl_slist_append(*hdrs, "Expect:");
	if (c->cfg->token) {
		char *auth = NULL;
		if (asprintf(&auth, "Authorization: Bearer %s", c->cfg->token) >= 0) {
			*hdrs = curl_slist_append(*hdrs, auth);
			free(auth);
		}
	}
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, *hdrs);
}

static int transport_error(struct kpc_client *c, CURLcode cc, const char *errbuf, char **errmsg)
{
	if (cc == CURLE_COULDNT_CONNECT)
		return kp_error_set(errmsg, KP_EIO,
				    "The connection to the server %s was refused - did you specify the right host or port?",
				    c->host);
	if (cc == CURLE_OPERATION_TIMEDOUT)
		return kp_error_set(errmsg, KP_ETIMEDOUT,
				    "Unable to connect to the server: %s", *errbuf ? errbuf : "timeout");
	return kp_error_set(errmsg, KP_EIO, "Unable to connect to the server: %s",
			    *errbuf ? errbuf : curl_easy_strerror(cc));
}

int kpc_request(struct kpc_client *c, const char *method, const char *path,
		const char *accept, const char *content_type, const char *body, size_t len,
		struct kpc_response *resp, char **errmsg)
{
	struct curl_slist *hdrs = NULL;
	struct sink s = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "";
	memset(resp, 0, sizeof(*resp));
	s.mem = open_memstream(&resp->body, &resp->len);
	if (!s.mem)
		return KP_ENOMEM;
	setup(c, method, path, &hdrs, accept, body ? (content_type ? content_type : KPC_CT_JSON) : NULL);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_mem);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s);
	if (c->timeout > 0)
		curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, c->timeout);
	if (body) {
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c->curl, CURLOPT_NOBODY, 1L);
	}
	CURLcode cc = curl_easy_perform(c->curl);
	curl_slist_free_all(hdrs);
	fclose(s.mem);
	if (cc != CURLE_OK) {
		free(resp->body);
		resp->body = NULL;
		return transport_error(c, cc, errbuf, errmsg);
	}
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &resp->status);
	if (resp->len)
		resp->json = json_loadb(resp->body, resp->len, 0, NULL);
	return 0;
}

int kpc_request_json(struct kpc_client *c, const char *method, const char *path,
		     const char *content_type, const json_t *body,
		     struct kpc_response *resp, char **errmsg)
{
	char *s = NULL;
	if (body && !(s = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY)))
		return KP_ENOMEM;
	int rc = kpc_request(c, method, path, NULL, content_type, s, s ? strlen(s) : 0, resp, errmsg);
	free(s);
	return rc;
}

static size_t write_stream(char *ptr, size_t size, size_t n, void *ud)
{
	struct sink *s = ud;
	size_t total = size * n;
	if (!s->status)
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
	if (s->status != 200) /* an error body: keep it whole for the caller */
		return fwrite(ptr, 1, total, s->mem);
	for (size_t i = 0; i < total; i++) {
		if (ptr[i] != '\n') {
			if (s->len + 1 >= s->cap) {
				size_t nc = s->cap ? s->cap * 2 : 4096;
				char *nl = realloc(s->line, nc);
				if (!nl)
					return 0;
				s->line = nl;
				s->cap = nc;
			}
			s->line[s->len++] = ptr[i];
			continue;
		}
		if (!s->len)
			continue;
		json_t *ev = json_loadb(s->line, s->len, 0, NULL);
		s->len = 0;
		if (!ev)
			continue;
		int stop = s->on_event(ev, s->arg);
		json_decref(ev);
		if (stop) {
			s->stopped = true;
			return 0; /* makes libcurl abort the transfer */
		}
	}
	return total;
}

int kpc_watch(struct kpc_client *c, const char *path, const char *accept,
	      int (*on_event)(json_t *ev, void *arg), void *arg,
	      long *status, char **errbody, char **errmsg)
{
	struct curl_slist *hdrs = NULL;
	struct sink s = { 0 };
	char errbuf[CURL_ERROR_SIZE] = "", *eb = NULL;
	size_t eblen = 0;
	s.mem = open_memstream(&eb, &eblen);
	if (!s.mem)
		return KP_ENOMEM;
	s.on_event = on_event;
	s.arg = arg;
	s.curl = c->curl;
	setup(c, "GET", path, &hdrs, accept, NULL);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, write_stream);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, &s);
	CURLcode cc = curl_easy_perform(c->curl);
	curl_slist_free_all(hdrs);
	fclose(s.mem);
	free(s.line);
	*status = s.status;
	if (s.stopped || cc == CURLE_OK || (cc == CURLE_PARTIAL_FILE && s.status == 200)) {
		if (!s.status)
			curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, status);
		if (*status != 200 && errbody) {
			*errbody = eb;
			eb = NULL;
		}
		free(eb);
		return 0;
	}
	free(eb);
	return transport_error(c, cc, errbuf, errmsg);
}

static const char *reason_for(long status)
{
	switch (status) {
	case 400: return "BadRequest";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "NotFound";
	case 405: return "MethodNotAllowed";
	case 406: return "NotAcceptable";
	case 409: return "Conflict";
	case 410: return "Expired";
	case 413: return "RequestEntityTooLarge";
	case 415: return "UnsupportedMediaType";
	case 422: return "Invalid";
	case 429: return "TooManyRequests";
	case 500: return "InternalError";
	case 503: return "ServiceUnavailable";
	case 504: return "Timeout";
	default: return NULL;
	}
}

char *kpc_status_message(const struct kpc_response *r, const char *context)
{
	const json_t *st = r->json;
	const char *reason = NULL, *msg = NULL;
	char *out = NULL, *ctx = NULL;
	if (context && asprintf(&ctx, "%s: ", context) < 0)
		ctx = NULL;
	if (st && json_is_object(st) && kp_obj_kind(st) && !strcmp(kp_obj_kind(st), "Status")) {
		reason = kp_obj_str(st, "reason");
		msg = kp_obj_str(st, "message");
	}
	if (reason && !strcmp(reason, "Invalid")) {
		/* kubectl: The Kind "name" is invalid: field: message (one
		 * cause), or a bullet list of causes. */
		json_t *d = json_object_get(st, "details");
		json_t *causes = json_object_get(d, "causes");
		const char *kind = kp_obj_str(d, "kind"), *name = kp_obj_str(d, "name");
		if (d && (kind || name) && json_array_size(causes)) {
			char *b = NULL;
			size_t bl = 0;
			FILE *m = open_memstream(&b, &bl);
			if (!m)
				goto plain;
			fprintf(m, "%sThe %s \"%s\" is invalid: ", ctx ? ctx : "", kind ? kind : "", name ? name : "");
			size_t n = json_array_size(causes), i;
			json_t *c;
			if (n > 1)
				fputc('\n', m);
			json_array_foreach(causes, i, c) {
				const char *f = kp_obj_str(c, "field"), *cm = kp_obj_str(c, "message");
				if (n > 1)
					fputs("* ", m);
				if (f && *f)
					fprintf(m, "%s: %s", f, cm ? cm : "");
				else
					fputs(cm ? cm : "", m);
				if (n > 1 && i + 1 < n)
					fputc('\n', m);
			}
			fclose(m);
			free(ctx);
			return b;
		}
	}
plain:
	if (!msg) {
		/* No Status: kubectl's wording for a bare HTTP error. */
		const char *rs = reason_for(r->status);
		char *m2 = NULL;
		if (r->status == 404)
			m2 = strdup("the server could not find the requested resource");
		else if (asprintf(&m2, "an error on the server (\"%.*s\") has prevented the request from succeeding",
				  (int)(r->len > 200 ? 200 : r->len), r->body ? r->body : "") < 0)
			m2 = NULL;
		if (asprintf(&out, "Error from server%s%s%s: %s%s", rs ? " (" : "", rs ? rs : "", rs ? ")" : "",
			     ctx ? ctx : "", m2 ? m2 : "") < 0)
			out = NULL;
		free(m2);
		free(ctx);
		return out;
	}
	if (reason && *reason) {
		if (asprintf(&out, "Error from server (%s): %s%s", reason, ctx ? ctx : "", msg) < 0)
			out = NULL;
	} else if (asprintf(&out, "Error from server: %s%s", ctx ? ctx : "", msg) < 0) {
		out = NULL;
	}
	free(ctx);
	return out;
}
