/*
 * cmd_edit.c - `kpctl edit`: kubectl's edit loop. The objects go to a temp
 * file under a comment header, $KUBE_EDITOR / $EDITOR (default vi) edits
 * it, and each changed object is sent as a JSON merge patch of the
 * original against the edited text. A syntax error or an Invalid answer
 * re-opens the file with the reasons in the header; other failures keep
 * the file and say how to retry, as kubectl does.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/yaml.h>

#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/manifest.h"
#include "cli/kpctl/objects.h"
#include "cli/kpctl/patch.h"
#include "cli/kpctl/printers.h"

static const char header_text[] =
	"# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
	"# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
	"# reopened with the relevant failures.\n"
	"#\n";

/* A growing text buffer. */
struct buf {
	char *s;
	size_t len;
	FILE *f;
};

static int buf_open(struct buf *b)
{
	b->s = NULL;
	b->len = 0;
	b->f = open_memstream(&b->s, &b->len);
	return b->f ? 0 : KP_ENOMEM;
}

static void buf_close(struct buf *b)
{
	if (b->f)
		fclose(b->f);
	b->f = NULL;
}

/* kubectl's hashOnLineBreak: continuation lines of a reason stay comments. */
static void put_commented(FILE *f, const char *s)
{
	for (const char *p = s; *p; p++) {
		fputc(*p, f);
		if (*p == '\n' && p[1] && p[1] != '#')
			fputs("# ", f);
	}
}

/* Lines whose first non-blank is '#' (but not "#!") are dropped (cmdutil.ManualStrip). */
static char *manual_strip(const char *text, size_t len)
{
	struct buf b;
	if (buf_open(&b))
		return NULL;
	const char *p = text, *end = text + len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *t = p;
		while (t < le && (*t == ' ' || *t == '\t' || *t == '\r'))
			t++;
		bool comment = t < le && *t == '#' && !(t + 1 < le && t[1] == '!');
		if (!comment) {
			fwrite(p, 1, (size_t)(le - p), b.f);
			if (nl)
				fputc('\n', b.f);
		}
		p = nl ? nl + 1 : end;
	}
	buf_close(&b);
	return b.s;
}

/* hasLines: any line that is neither blank nor a comment. */
static bool has_lines(const char *text)
{
	const char *p = text;
	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p && *p != '\n' && *p != '#')
			return true;
		p = strchr(p, '\n');
		if (!p)
			break;
		p++;
	}
	return false;
}

/*
 * Same content without the comments? Parsed documents compare as values
 * (kubectl compares them converted to JSON); unparsable ones as text.
 */
static bool same_content(const char *a, size_t alen, const char *b, size_t blen)
{
	char *sa = manual_strip(a, alen), *sb = manual_strip(b, blen);
	json_t *ja = NULL, *jb = NULL;
	bool same;
	if (!sa || !sb) {
		same = false;
	} else if (!kp_yaml_or_json_load_one(sa, strlen(sa), &ja, NULL) &&
		   !kp_yaml_or_json_load_one(sb, strlen(sb), &jb, NULL) && ja && jb) {
		same = json_equal(ja, jb);
	} else {
		same = !strcmp(sa, sb);
	}
	json_decref(ja);
	json_decref(jb);
	free(sa);
	free(sb);
	return same;
}

static int read_file(const char *path, char **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char tmp[8192];
	size_t n;
	if (!f)
		return -errno;
	if (buf_open(&b)) {
		fclose(f);
		return KP_ENOMEM;
	}
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		fwrite(tmp, 1, n, b.f);
	fclose(f);
	buf_close(&b);
	*out = b.s;
	*len = b.len;
	return 0;
}

/* Writes text to a new temp file kpctl-edit-XXXXXX.<ext>; path malloc'ed. */
static char *write_temp(const char *text, size_t len, const char *ext)
{
	const char *dir = getenv("TMPDIR");
	char *path = NULL;
	if (!dir || !*dir)
		dir = "/tmp";
	if (asprintf(&path, "%s/kpctl-edit-XXXXXX.%s", dir, ext) < 0)
		return NULL;
	int fd = mkstemps(path, (int)strlen(ext) + 1);
	if (fd < 0) {
		kpctl_err("cannot create a temporary file in %s: %s", dir, strerror(errno));
		free(path);
		return NULL;
	}
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			kpctl_err("cannot write %s: %s", path, strerror(errno));
			close(fd);
			unlink(path);
			free(path);
			return NULL;
		}
		off += (size_t)w;
	}
	close(fd);
	return path;
}

/*
 * Runs the editor on path through sh -c (so that "$EDITOR" may carry
 * arguments, as kubectl allows). 0, or 1 with kubectl's message printed.
 */
static int run_editor(const char *path)
{
	const char *ed = getenv("KUBE_EDITOR");
	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	char *cmd = NULL;
	if (asprintf(&cmd, "%s '%s'", ed, path) < 0)
		return kpctl_err("out of memory");
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		free(cmd);
		return kpctl_err("unable to launch the editor \"%s\": %s", ed, strerror(errno));
	}
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	free(cmd);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return kpctl_err("there was a problem with the editor \"%s\"", ed);
	if (!WIFEXITED(st) || WEXITSTATUS(st)) {
		if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
			return kpctl_err("unable to launch the editor \"%s\"", ed);
		return kpctl_err("there was a problem with the editor \"%s\"", ed);
	}
	return 0;
}

struct reason {
	char *head;
	json_t *other; /* array of strings */
};

struct reasons {
	struct reason v[64];
	size_t n;
};

static void reasons_clear(struct reasons *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].head);
		json_decref(r->v[i].other);
	}
	r->n = 0;
}

static struct reason *reason_add(struct reasons *r, const char *head)
{
	if (r->n >= sizeof(r->v) / sizeof(r->v[0]))
		return NULL;
	struct reason *x = &r->v[r->n++];
	x->head = strdup(head);
	x->other = json_array();
	return x;
}

static void write_header(FILE *f, const struct reasons *r)
{
	fputs(header_text, f);
	for (size_t i = 0; i < r->n; i++) {
		fputs("# ", f);
		put_commented(f, r->v[i].head ? r->v[i].head : "");
		fputs(json_array_size(r->v[i].other) ? ":\n" : "\n", f);
		size_t j;
		json_t *o;
		json_array_foreach(r->v[i].other, j, o) {
			fputs("# * ", f);
			put_commented(f, json_string_value(o));
			fputc('\n', f);
		}
		fputs("#\n", f);
	}
}

/* "deployments.apps" as kubectl names a resource in edit's messages. */
static char *resource_string(const struct kpc_resource *res)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s%s", res->name, *res->group ? "." : "", res->group) < 0)
		return NULL;
	return s;
}

/* The message of a failed response, without kubectl's "Error from server (X): ". */
static char *plain_error(const struct kpc_response *r)
{
	const char *m = json_string_value(json_object_get(r->json, "message"));
	if (m)
		return strdup(m);
	char *full = kpc_status_message(r, NULL);
	return full;
}

struct edit {
	struct kpctl *k;
	json_t *originals;     /* array of the objects as fetched */
	const struct kpc_resource **res; /* per original */
	size_t n;
	bool json_out;
	struct reasons reasons;
	int retryable, notfound, need_edit;
};

static int find_original(const struct edit *e, const json_t *obj)
{
	const char *uid = kp_obj_uid(obj), *name = kp_obj_name(obj), *kind = kp_obj_kind(obj);
	for (size_t i = 0; i < e->n; i++) {
		const json_t *o = json_array_get(e->originals, i);
		const char *ou = kp_obj_uid(o);
		if (uid && ou && !strcmp(uid, ou))
			return (int)i;
	}
	for (size_t i = 0; i < e->n; i++) {
		const json_t *o = json_array_get(e->originals, i);
		const char *on = kp_obj_name(o), *ok = kp_obj_kind(o);
		if (name && on && kind && ok && !strcmp(name, on) && !strcmp(kind, ok))
			return (int)i;
	}
	return -1;
}

/* kubectl's preconditions on the patch: these may not change. */
static bool patch_allowed(const json_t *patch)
{
	return !json_object_get(patch, "apiVersion") && !json_object_get(patch, "kind") &&
	       !kp_obj_get(patch, "metadata.name") && !json_object_get(patch, "managedFields");
}

/*
 * Patches one edited object. Returns 0 when handled (whatever the server
 * said: the counters say what to do next), 1 for an error that ends the
 * edit (message in *fatal, malloc'ed).
 */
static int patch_one(struct edit *e, const json_t *edited, char **fatal)
{
	int idx = find_original(e, edited);
	if (idx < 0) {
		if (asprintf(fatal, "no original object found for %s \"%s\"", kp_obj_kind(edited) ? kp_obj_kind(edited) : "object",
			     kp_obj_name(edited) ? kp_obj_name(edited) : "") < 0)
			*fatal = NULL;
		return 1;
	}
	const json_t *orig = json_array_get(e->originals, (size_t)idx);
	const struct kpc_resource *res = e->res[idx];
	const char *ons = kp_obj_namespace(orig), *ens = kp_obj_namespace(edited);
	if (res->namespaced && ens && ons && strcmp(ens, ons)) {
		if (asprintf(fatal, "the namespace from the provided object \"%s\" does not match the namespace \"%s\". "
			     "You must pass '--namespace=%s' to perform this operation.", ens, ons, ens) < 0)
			*fatal = NULL;
		return 1;
	}
	char *ref = kpc_ref_name(res->kind, res->api_version, kp_obj_name(orig));
	json_t *patch = kpc_merge_patch_create(orig, edited);
	int rc = 0;
	if (!patch || !ref) {
		*fatal = strdup("out of memory");
		rc = 1;
		goto out;
	}
	if (!json_object_size(patch)) {
		printf("%s skipped\n", ref);
		goto out;
	}
	if (!patch_allowed(patch)) {
		*fatal = strdup("At least one of apiVersion, kind and name was changed");
		rc = 1;
		goto out;
	}
	char *path = kpc_resource_path(res, ons, kp_obj_name(orig), NULL), *em = NULL;
	struct kpc_response r;
	if (!path || kpc_request_json(e->k->client, "PATCH", path, KPC_CT_MERGE_PATCH, patch, &r, &em)) {
		*fatal = em ? em : strdup("request failed");
		free(path);
		rc = 1;
		goto out;
	}
	free(path);
	if (r.status < 300) {
		printf("%s edited\n", ref);
		kpc_response_release(&r);
		goto out;
	}
	char *rs = resource_string(res), *msg = plain_error(&r);
	const char *reason = json_string_value(json_object_get(r.json, "reason"));
	const char *name = kp_obj_name(orig);
	if (r.status == 422 || (reason && !strcmp(reason, "Invalid"))) {
		char *head = NULL;
		e->need_edit++;
		if (asprintf(&head, "%s \"%s\" was not valid", rs ? rs : "", name) >= 0) {
			struct reason *x = reason_add(&e->reasons, head);
			size_t i;
			json_t *c;
			json_array_foreach(kp_obj_get(r.json, "details.causes"), i, c) {
				char *line = NULL;
				const char *f = kp_obj_str(c, "field"), *m = kp_obj_str(c, "message");
				if (x && asprintf(&line, "%s: %s", f ? f : "", m ? m : "") >= 0)
					json_array_append_new(x->other, json_string(line));
				free(line);
			}
		}
		free(head);
		fprintf(stderr, "error: %s \"%s\" is invalid\n", rs ? rs : "", name);
	} else if (r.status == 404) {
		e->notfound++;
		fprintf(stderr, "error: %s \"%s\" could not be found on the server\n", rs ? rs : "", name);
	} else {
		e->retryable++;
		fprintf(stderr, "error: %s \"%s\" could not be patched: %s\n", rs ? rs : "", name, msg ? msg : "");
	}
	free(rs);
	free(msg);
	kpc_response_release(&r);
out:
	json_decref(patch);
	free(ref);
	return rc;
}

/* "A copy of your changes has been stored to ..." when the file is there. */
static int preserved(const char *file, const char *msg)
{
	if (file && access(file, F_OK) == 0)
		fprintf(stderr, "A copy of your changes has been stored to \"%s\"\n", file);
	return kpctl_err("%s", msg);
}

static int print_objects(struct edit *e, FILE *f)
{
	json_t *doc;
	char *em = NULL;
	if (e->n == 1)
		doc = json_incref(json_array_get(e->originals, 0));
	else
		doc = json_pack("{s:s,s:O,s:s,s:{}}", "apiVersion", "v1", "items", e->originals, "kind", "List",
				"metadata");
	int rc = e->json_out ? kpc_print_json(f, doc) : kpc_print_yaml(f, doc, &em);
	json_decref(doc);
	free(em);
	return rc;
}

static int edit_loop(struct edit *e)
{
	char *original = NULL, *edited = NULL, *file = NULL, *prev_file = NULL;
	size_t olen = 0, elen = 0;
	bool contains_error = false;
	int rc = 1;
	const char *ext = e->json_out ? "json" : "yaml";
	for (;;) {
		struct buf b;
		if (buf_open(&b)) {
			rc = kpctl_err("out of memory");
			goto out;
		}
		write_header(b.f, &e->reasons);
		if (!contains_error) {
			if (print_objects(e, b.f)) {
				buf_close(&b);
				free(b.s);
				rc = kpctl_err("cannot print the objects");
				goto out;
			}
			buf_close(&b);
			free(original);
			original = malloc(b.len + 1);
			if (original) {
				memcpy(original, b.s, b.len + 1);
				olen = b.len;
			}
		} else {
			/* Keep the user's text, under the new header. */
			char *stripped = manual_strip(edited, elen);
			fputs(stripped ? stripped : "", b.f);
			free(stripped);
			buf_close(&b);
		}
		free(prev_file);
		prev_file = file;
		file = write_temp(b.s, b.len, ext);
		free(b.s);
		if (!file)
			goto out;
		if (run_editor(file)) {
			if (prev_file)
				unlink(prev_file);
			goto out;
		}
		char *prev_edited = edited;
		size_t prev_elen = elen;
		edited = NULL;
		if (read_file(file, &edited, &elen)) {
			free(prev_edited);
			rc = preserved(file, "cannot read the edited file back");
			goto out;
		}
		if (contains_error && prev_edited && same_content(prev_edited, prev_elen, edited, elen)) {
			free(prev_edited);
			if (prev_file)
				unlink(prev_file);
			rc = preserved(file, "Edit cancelled, no valid changes were saved.");
			goto out;
		}
		free(prev_edited);
		if (prev_file) {
			unlink(prev_file);
			free(prev_file);
			prev_file = NULL;
		}
		if (original && same_content(original, olen, edited, elen)) {
			unlink(file);
			fprintf(stderr, "Edit cancelled, no changes made.\n");
			rc = 0;
			goto out;
		}
		if (!has_lines(edited)) {
			unlink(file);
			fprintf(stderr, "Edit cancelled, saved file was empty.\n");
			rc = 0;
			goto out;
		}
		reasons_clear(&e->reasons);
		e->retryable = e->notfound = e->need_edit = 0;
		struct kpc_manifests m = { 0 };
		char *em = NULL;
		if (kpc_manifests_parse(&m, edited, elen, "edited-file", &em)) {
			char *head = NULL;
			if (asprintf(&head, "The edited file had a syntax error: %s", em ? em : "cannot parse") >= 0)
				reason_add(&e->reasons, head);
			free(head);
			free(em);
			kpc_manifests_release(&m);
			contains_error = true;
			continue;
		}
		contains_error = false;
		char *fatal = NULL;
		for (size_t i = 0; i < m.n && !fatal; i++)
			patch_one(e, m.v[i].obj, &fatal);
		kpc_manifests_release(&m);
		if (fatal) {
			rc = preserved(file, fatal);
			free(fatal);
			goto out;
		}
		if (e->retryable) {
			fprintf(stderr, "You can run `kpctl replace -f %s` to try this update again.\n", file);
			goto out;
		}
		if (e->notfound) {
			fprintf(stderr, "The edits you made on deleted resources have been saved to \"%s\"\n", file);
			goto out;
		}
		if (!e->need_edit) {
			unlink(file);
			rc = 0;
			goto out;
		}
		contains_error = true;
	}
out:
	free(original);
	free(edited);
	free(file);
	free(prev_file);
	return rc;
}

int kpctl_cmd_edit(struct kpctl *k, int argc, char **argv)
{
	const char *output = "yaml", *selector = NULL;
	bool all_ns = false;
	struct kpc_opt opts[] = {
		{ "output", 'o', KPC_OPT_STRING, &output, "Format of the text to edit: yaml (default) or json", false },
		{ "selector", 'l', KPC_OPT_STRING, &selector, "Edit every object of TYPE matching this label selector", false },
		{ "all-namespaces", 'A', KPC_OPT_BOOL, &all_ns, "With TYPE alone or -l: across all namespaces", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	struct kpc_targets t = { 0 }, named = { 0 };
	struct edit e = { .k = k };
	k->usage = "Edit a resource from the default editor ($KUBE_EDITOR, else $EDITOR, else vi).\n\n"
		   "Usage:\n  kpctl edit (TYPE NAME... | TYPE/NAME... | TYPE [-l SELECTOR]) [-o yaml|json]\n\n"
		   "The objects open as one file (a List for several). Saving sends each changed object\n"
		   "as a merge patch; an invalid change re-opens the file with the errors at the top.\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	rc = 1;
	if (strcmp(output, "yaml") && strcmp(output, "json")) {
		kpctl_err("the flag 'output' must be one of yaml|json");
		goto out;
	}
	e.json_out = !strcmp(output, "json");
	if (kpctl_check_selectors(selector, NULL))
		goto out;
	if (!npos) {
		kpctl_usage_err(k, "must provide one or more resources by argument or filename");
		goto out;
	}
	if (kpctl_connect(k) || kpctl_targets_from_args(k, pos, npos, &named))
		goto out;
	for (size_t i = 0; i < named.n; i++) {
		struct kpc_target *x = &named.v[i];
		if (x->name) {
			if (selector) {
				kpctl_usage_err(k, "a selector cannot be combined with resource names");
				goto out;
			}
			if (kpctl_targets_add(&t, x->res, x->name, x->ns, NULL, NULL)) {
				kpctl_err("out of memory");
				goto out;
			}
		} else if (kpctl_targets_list(k, x->res, all_ns, selector, NULL, &t)) {
			goto out;
		}
	}
	e.originals = json_array();
	e.res = calloc(t.n ? t.n : 1, sizeof(*e.res));
	if (!e.originals || !e.res) {
		kpctl_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		json_t *obj = NULL;
		if (kpctl_fetch(k, &t.v[i], &obj))
			goto out;
		if (!kp_obj_kind(obj))
			json_object_set_new(obj, "kind", json_string(t.v[i].res->kind));
		if (!kp_obj_api_version(obj))
			json_object_set_new(obj, "apiVersion", json_string(t.v[i].res->api_version));
		/* kubectl hides managedFields while editing and puts them back */
		kp_obj_del(obj, "metadata.managedFields");
		e.res[e.n++] = t.v[i].res;
		json_array_append_new(e.originals, obj);
	}
	if (!e.n) {
		kpctl_err("edit cancelled, no objects found");
		goto out;
	}
	rc = edit_loop(&e);
out:
	reasons_clear(&e.reasons);
	json_decref(e.originals);
	free(e.res);
	kpctl_targets_release(&named);
	kpctl_targets_release(&t);
	free(pos);
	return rc;
}
