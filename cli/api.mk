# API server subcommand and kpctl (owned by the API work)
# `kplane server` (kp_cmd_server in cli/kplane-server.c).
cli_kplane_SOURCES += cli/kplane-server.c cli/kplane-component.c cli/kplane-sim.c \
	cli/config-file.c
cli_kplane_LDADD += $(CURL_LIBS)
cli_kplane_LDADD += core/api/libkpapi.la $(MHD_LIBS) $(YAML_LIBS)
