# kpctl tests (owned by the kpctl work).
C_TESTS += t/t6001-kpctl-units
t_t6001_kpctl_units_SOURCES = t/t6001-kpctl-units.c t/tap.h \
	cli/kpctl/args.c cli/kpctl/client.c cli/kpctl/kubeconfig.c cli/kpctl/discovery.c \
	cli/kpctl/manifest.c cli/kpctl/patch.c cli/kpctl/printers.c
t_t6001_kpctl_units_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
t_t6001_kpctl_units_LDADD = core/libkplane.la $(CURL_LIBS) $(JANSSON_LIBS) $(YAML_LIBS)

C_TESTS += t/t6111-kpctl-jsonpath-units
t_t6111_kpctl_jsonpath_units_SOURCES = t/t6111-kpctl-jsonpath-units.c t/tap.h \
	cli/kpctl/jsonpath.c cli/kpctl/patch.c
t_t6111_kpctl_jsonpath_units_LDADD = core/libkplane.la $(JANSSON_LIBS)

# Scripts driving kpctl against a real `kplane server --store memory`.
SH_TESTS += \
	t/t6101-kpctl-get.sh \
	t/t6102-kpctl-apply.sh \
	t/t6103-kpctl-modify.sh \
	t/t6104-kpctl-nodes.sh \
	t/t6105-kpctl-describe-watch.sh \
	t/t6106-kpctl-misc.sh \
	t/t6107-kpctl-edit.sh \
	t/t6108-kpctl-rollout.sh \
	t/t6109-kpctl-jsonpath.sh \
	t/t6110-kpctl-explain-logs.sh \
	t/t6112-kpctl-explain-schema.sh
EXTRA_DIST += t/t6lib-kpctl.sh
# Acceptance of the API issue: real manifests through kubectl and kpctl.
SH_TESTS += t/t6120-kpctl-acceptance.sh
SH_TESTS += t/t6113-kpctl-managed-fields.sh
