# HTTP API server: libkpapi (owned by the API work)
noinst_LTLIBRARIES += core/api/libkpapi.la
core_api_libkpapi_la_SOURCES = \
	core/api/api.h \
	core/api/internal.h \
	core/api/kinds.h \
	core/api/buf.c \
	core/api/registry.c \
	core/api/server.c \
	core/api/rest.c \
	core/api/kinds.c \
	core/api/watch.c \
	core/api/patch.c \
	core/api/table.c \
	core/api/openapi.c \
	core/api/proto.c \
	core/api/ssa.c \
	core/api/ssa-req.c \
	core/api/ssa.h \
	core/api/crd.c \
	core/api/schema.c \
	core/api/schema.h \
	core/api/gateway.c
core_api_libkpapi_la_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS)
core_api_libkpapi_la_LIBADD = store/libkpstore.la core/libkplane.la $(MHD_LIBS) \
	$(JANSSON_LIBS) $(YAML_LIBS)
