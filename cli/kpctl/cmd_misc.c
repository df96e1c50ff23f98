/* cmd_misc.c - `kpctl api-resources`, `version` and `completion`. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kplane/error.h>
#include <kplane/kplane.h>
#include <kplane/object.h>

#include "cli/kpctl/kpctl.h"
#include "cli/kpctl/printers.h"

static int cmp_res(const void *a, const void *b)
{
	const struct kpc_resource *x = *(const struct kpc_resource *const *)a;
	const struct kpc_resource *y = *(const struct kpc_resource *const *)b;
	int c = strcmp(x->group, y->group);
	return c ? c : strcmp(x->name, y->name);
}

static char *join(char **v, size_t n)
{
	char *b = NULL;
	size_t bl = 0;
	FILE *m = open_memstream(&b, &bl);
	if (!m)
		return NULL;
	for (size_t i = 0; i < n; i++)
		fprintf(m, "%s%s", i ? "," : "", v[i]);
	fclose(m);
	return b;
}

int kpctl_cmd_api_resources(struct kpctl *k, int argc, char **argv)
{
	const char *output = NULL, *group = NULL, *namespaced = NULL, *verbs = NULL;
	bool no_headers = false;
	struct kpc_opt opts[] = {
		{ "output", 'o', KPC_OPT_STRING, &output, "Output format: wide or name", false },
		{ "api-group", 0, KPC_OPT_STRING, &group, "Limit to resources in this API group (\"\" for core)", false },
		{ "namespaced", 0, KPC_OPT_STRING, &namespaced, "true: only namespaced resources; false: only cluster-scoped", false },
		{ "verbs", 0, KPC_OPT_STRING, &verbs, "Limit to resources supporting these verbs (comma-separated)", false },
		{ "no-headers", 0, KPC_OPT_BOOL, &no_headers, "Don't print headers", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	k->usage = "Print the supported API resources on the server (preferred versions).\n\n"
		   "Usage:\n  kpctl api-resources [--api-group G] [--namespaced=true|false] [--verbs v1,v2] [-o wide|name]\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	free(pos);
	if (npos)
		return kpctl_usage_err(k, "unexpected arguments");
	bool wide = false, name = false;
	if (output && !strcmp(output, "wide"))
		wide = true;
	else if (output && !strcmp(output, "name"))
		name = true;
	else if (output && *output)
		return kpctl_err("--output %s is not available", output);
	if (namespaced && strcmp(namespaced, "true") && strcmp(namespaced, "false"))
		return kpctl_usage_err(k, "invalid argument \"%s\" for \"--namespaced\" flag: use true or false", namespaced);
	if (kpctl_discover(k))
		return 1;
	const struct kpc_resource **v = calloc(k->disc->n + 1, sizeof(*v));
	size_t n = 0;
	if (!v)
		return kpctl_err("out of memory");
	for (size_t i = 0; i < k->disc->n; i++) {
		const struct kpc_resource *r = &k->disc->res[i];
		if (!r->preferred)
			continue;
		if (group && strcmp(r->group, group))
			continue;
		if (namespaced && r->namespaced != !strcmp(namespaced, "true"))
			continue;
		if (verbs) {
			char *c = strdup(verbs), *save = NULL;
			bool all = true;
			for (char *vb = strtok_r(c, ",", &save); vb; vb = strtok_r(NULL, ",", &save))
				if (!kpc_resource_has_verb(r, vb))
					all = false;
			free(c);
			if (!all)
				continue;
		}
		v[n++] = r;
	}
	qsort(v, n, sizeof(*v), cmp_res);
	if (name) {
		for (size_t i = 0; i < n; i++)
			printf("%s%s%s\n", v[i]->name, v[i]->group[0] ? "." : "", v[i]->group);
		free(v);
		return 0;
	}
	struct kpc_table t;
	kpc_table_init(&t, stdout);
	const char *h[] = { "NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND", "VERBS", "CATEGORIES" };
	if (!no_headers)
		kpc_table_add(&t, wide ? 7 : 5, h);
	for (size_t i = 0; i < n; i++) {
		char *sn = join(v[i]->short_names, v[i]->nshort);
		char *vb = join(v[i]->verbs, v[i]->nverbs);
		char *cat = join(v[i]->categories, v[i]->ncategories);
		const char *cells[] = { v[i]->name, sn, v[i]->api_version, v[i]->namespaced ? "true" : "false",
					v[i]->kind, vb, cat };
		kpc_table_add(&t, wide ? 7 : 5, cells);
		free(sn);
		free(vb);
		free(cat);
	}
	kpc_table_flush(&t);
	kpc_table_release(&t);
	free(v);
	return 0;
}

int kpctl_cmd_version(struct kpctl *k, int argc, char **argv)
{
	bool client_only = false;
	const char *output = NULL;
	struct kpc_opt opts[] = {
		{ "client", 0, KPC_OPT_BOOL, &client_only, "Client version only (no server required)", false },
		{ "output", 'o', KPC_OPT_STRING, &output, "One of json or yaml", false },
		{ NULL, 0, 0, NULL, NULL, false },
	};
	char **pos = NULL;
	int npos = 0, rc;
	k->usage = "Print the client and server version information.\n\nUsage:\n  kpctl version [--client] [-o json|yaml]\n";
	if ((rc = kpctl_parse(k, argc, argv, opts, &pos, &npos)))
		return rc;
	free(pos);
	if (npos)
		return kpctl_usage_err(k, "unexpected arguments");
	if (output && strcmp(output, "json") && strcmp(output, "yaml"))
		return kpctl_err("--output must be 'yaml' or 'json'");
	char cv[64];
	snprintf(cv, sizeof(cv), "v%s", kp_version());
	json_t *doc = json_pack("{s:{s:s,s:s}}", "clientVersion", "gitVersion", cv, "platform", "linux");
	rc = 0;
	json_t *server = NULL;
	char *err = NULL;
	if (!client_only) {
		struct kpc_response r;
		char *em = NULL;
		if (kpctl_connect(k)) {
			rc = 1;
		} else if (kpc_request(k->client, "GET", "/version", NULL, NULL, NULL, 0, &r, &em)) {
			err = em ? em : strdup("request failed");
			rc = 1;
		} else {
			if (r.status == 200 && json_is_object(r.json))
				server = json_incref(r.json);
			else {
				err = kpc_status_message(&r, NULL);
				rc = 1;
			}
			kpc_response_release(&r);
		}
	}
	if (server)
		json_object_set(doc, "serverVersion", server);
	if (output && !strcmp(output, "json"))
		kpc_print_json(stdout, doc);
	else if (output)
		kpc_print_yaml(stdout, doc, NULL);
	else {
		printf("Client Version: %s\n", cv);
		if (server)
			printf("Server Version: %s\n", kp_obj_str(server, "gitVersion") ? kp_obj_str(server, "gitVersion") : "");
	}
	if (err)
		fprintf(stderr, "%s\n", err);
	free(err);
	json_decref(server);
	json_decref(doc);
	return rc;
}

static const char bash_completion[] =
	"# bash completion for kpctl; load with: source <(kpctl completion bash)\n"
	"__kpctl_commands=\"get describe apply create replace delete edit patch label annotate scale taint rollout cordon uncordon drain events top explain logs api-resources version completion\"\n"
	"__kpctl_kind_cmds=\" get describe delete edit patch label annotate scale explain \"\n"
	"__kpctl_global_flags=\"--server --kubeconfig --context --cluster --namespace --request-timeout --help\"\n"
	"__kpctl_flags() {\n"
	"    case \"$1\" in\n"
	"    get) echo \"--all-namespaces --selector --field-selector --output --watch --watch-only --no-headers --show-labels --show-kind --ignore-not-found --sort-by --label-columns\" ;;\n"
	"    edit) echo \"--output --selector --all-namespaces\" ;;\n"
	"    rollout) echo \"--watch --timeout --revision --to-revision\" ;;\n"
	"    explain) echo \"--recursive --api-version --output\" ;;\n"
	"    logs) echo \"--container --tail --previous --timestamps\" ;;\n"
	"    top) echo \"--all-namespaces --selector --containers --no-headers\" ;;\n"
	"    apply|replace) echo \"--filename --recursive\" ;;\n"
	"    create) echo \"--filename --recursive --save-config\" ;;\n"
	"    delete) echo \"--filename --recursive --selector --field-selector --all --all-namespaces --ignore-not-found --wait --timeout --cascade --grace-period --now --force\" ;;\n"
	"    describe) echo \"--filename --recursive --selector --all-namespaces --show-events\" ;;\n"
	"    label|annotate) echo \"--overwrite --all --all-namespaces --selector --filename --list --resource-version\" ;;\n"
	"    patch) echo \"--patch --patch-file --type --subresource --filename\" ;;\n"
	"    scale) echo \"--replicas --current-replicas --resource-version --selector --all --filename\" ;;\n"
	"    taint) echo \"--overwrite --selector --all\" ;;\n"
	"    cordon|uncordon) echo \"--selector\" ;;\n"
	"    drain) echo \"--ignore-daemonsets --force --delete-emptydir-data --disable-eviction --grace-period --timeout --selector --pod-selector\" ;;\n"
	"    events) echo \"--all-namespaces --for --types --no-headers\" ;;\n"
	"    api-resources) echo \"--output --api-group --namespaced --verbs --no-headers\" ;;\n"
	"    version) echo \"--client --output\" ;;\n"
	"    esac\n"
	"}\n"
	"_kpctl() {\n"
	"    local cur prev cmd i words_before=()\n"
	"    cur=\"${COMP_WORDS[COMP_CWORD]}\"\n"
	"    prev=\"${COMP_WORDS[COMP_CWORD-1]}\"\n"
	"    cmd=\"\"\n"
	"    for ((i = 1; i < COMP_CWORD; i++)); do\n"
	"        case \"${COMP_WORDS[i]}\" in\n"
	"        -*) ;;\n"
	"        *) if [[ -z \"$cmd\" ]]; then cmd=\"${COMP_WORDS[i]}\"; else words_before+=(\"${COMP_WORDS[i]}\"); fi ;;\n"
	"        esac\n"
	"    done\n"
	"    case \"$prev\" in\n"
	"    -f|--filename|--kubeconfig|--patch-file) COMPREPLY=($(compgen -f -- \"$cur\")); return ;;\n"
	"    -o|--output) COMPREPLY=($(compgen -W \"wide json yaml name jsonpath= jsonpath-file= custom-columns= custom-columns-file=\" -- \"$cur\")); return ;;\n"
	"    -c|--container) local p; for p in \"${words_before[@]}\"; do :; done\n"
	"        COMPREPLY=($(compgen -W \"$(kpctl get pod \"${p#pod/}\" -o jsonpath='{.spec.containers[*].name}' 2>/dev/null)\" -- \"$cur\")); return ;;\n"
	"    -n|--namespace) COMPREPLY=($(compgen -W \"$(kpctl get namespaces -o name 2>/dev/null | sed 's|^namespace/||')\" -- \"$cur\")); return ;;\n"
	"    esac\n"
	"    if [[ -z \"$cmd\" ]]; then\n"
	"        COMPREPLY=($(compgen -W \"$__kpctl_commands $__kpctl_global_flags\" -- \"$cur\")); return\n"
	"    fi\n"
	"    if [[ \"$cur\" == -* ]]; then\n"
	"        COMPREPLY=($(compgen -W \"$(__kpctl_flags \"$cmd\") $__kpctl_global_flags\" -- \"$cur\")); return\n"
	"    fi\n"
	"    case \"$cmd\" in\n"
	"    completion) COMPREPLY=($(compgen -W \"bash\" -- \"$cur\")); return ;;\n"
	"    rollout) if [[ ${#words_before[@]} -eq 0 ]]; then COMPREPLY=($(compgen -W \"status history undo pause resume restart\" -- \"$cur\"));\n"
	"             elif [[ ${#words_before[@]} -eq 1 ]]; then COMPREPLY=($(compgen -W \"deployments daemonsets statefulsets\" -- \"$cur\"));\n"
	"             else COMPREPLY=($(compgen -W \"$(kpctl get \"${words_before[1]}\" -o name 2>/dev/null | sed 's|^[^/]*/||')\" -- \"$cur\")); fi; return ;;\n"
	"    logs) COMPREPLY=($(compgen -W \"$(kpctl get pods -o name 2>/dev/null | sed 's|^pod/||')\" -- \"$cur\")); return ;;\n"
	"    top) if [[ ${#words_before[@]} -eq 0 ]]; then COMPREPLY=($(compgen -W \"pods nodes\" -- \"$cur\"));\n"
	"         else COMPREPLY=($(compgen -W \"$(kpctl get \"${words_before[0]}\" -o name 2>/dev/null | sed 's|^[^/]*/||')\" -- \"$cur\")); fi; return ;;\n"
	"    cordon|uncordon|drain) COMPREPLY=($(compgen -W \"$(kpctl get nodes -o name 2>/dev/null | sed 's|^node/||')\" -- \"$cur\")); return ;;\n"
	"    taint) if [[ ${#words_before[@]} -eq 0 ]]; then COMPREPLY=($(compgen -W \"nodes\" -- \"$cur\"));\n"
	"           else COMPREPLY=($(compgen -W \"$(kpctl get nodes -o name 2>/dev/null | sed 's|^node/||')\" -- \"$cur\")); fi; return ;;\n"
	"    esac\n"
	"    if [[ \"$__kpctl_kind_cmds\" == *\" $cmd \"* ]]; then\n"
	"        if [[ ${#words_before[@]} -eq 0 ]]; then\n"
	"            COMPREPLY=($(compgen -W \"$(kpctl api-resources -o name 2>/dev/null)\" -- \"$cur\"))\n"
	"        else\n"
	"            COMPREPLY=($(compgen -W \"$(kpctl get \"${words_before[0]}\" -o name 2>/dev/null | sed 's|^[^/]*/||')\" -- \"$cur\"))\n"
	"        fi\n"
	"    fi\n"
	"}\n"
	"complete -o default -F _kpctl kpctl\n";

int kpctl_cmd_completion(struct kpctl *k, int argc, char **argv)
{
	char **pos = NULL;
	int npos = 0, rc;
	k->usage = "Output shell completion code.\n\nUsage:\n  kpctl completion bash\n\n"
		   "  source <(kpctl completion bash)\n";
	if ((rc = kpctl_parse(k, argc, argv, NULL, &pos, &npos)))
		return rc;
	if (npos != 1) {
		free(pos);
		return kpctl_usage_err(k, npos ? "too many arguments. Expected only the shell type." : "Shell not specified.");
	}
	if (strcmp(pos[0], "bash")) {
		rc = kpctl_err("Unsupported shell type \"%s\".", pos[0]);
		free(pos);
		return rc;
	}
	free(pos);
	fputs(bash_completion, stdout);
	return 0;
}
