# kpctl: kubectl's habits for kplane (owned by the kpctl work).
# The program is built at the top of the build tree: its sources live in
# cli/kpctl/, and a program cli/kpctl would collide with that object directory.
bin_PROGRAMS += kpctl
kpctl_SOURCES = \
	cli/kpctl/args.c cli/kpctl/args.h \
	cli/kpctl/client.c cli/kpctl/client.h \
	cli/kpctl/kubeconfig.c cli/kpctl/kubeconfig.h \
	cli/kpctl/discovery.c cli/kpctl/discovery.h \
	cli/kpctl/manifest.c cli/kpctl/manifest.h \
	cli/kpctl/objects.c cli/kpctl/objects.h \
	cli/kpctl/patch.c cli/kpctl/patch.h \
	cli/kpctl/printers.c cli/kpctl/printers.h \
	cli/kpctl/jsonpath.c cli/kpctl/jsonpath.h \
	cli/kpctl/kpctl.h cli/kpctl/main.c \
	cli/kpctl/cmd_get.c cli/kpctl/cmd_apply.c cli/kpctl/cmd_delete.c \
	cli/kpctl/cmd_describe.c cli/kpctl/cmd_meta.c cli/kpctl/cmd_node.c \
	cli/kpctl/cmd_misc.c cli/kpctl/cmd_edit.c cli/kpctl/cmd_top.c cli/kpctl/cmd_rollout.c \
	cli/kpctl/cmd_explain.c cli/kpctl/cmd_logs.c
kpctl_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
kpctl_LDADD = core/libkplane.la $(CURL_LIBS) $(JANSSON_LIBS) $(YAML_LIBS)
