# libkplane: the small core shared by every component and plugin.
lib_LTLIBRARIES += core/libkplane.la
core_libkplane_la_SOURCES = \
	core/error.c \
	core/json-decode.c \
	core/json-encode.c \
	core/object.c \
	core/quantity.c \
	core/selector.c \
	core/validate.c \
	core/yaml.c
core_libkplane_la_CFLAGS = $(AM_CFLAGS)
core_libkplane_la_LIBADD = $(JANSSON_LIBS) $(YAML_LIBS)
core_libkplane_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(KPLANE_LT_VERSION) -no-undefined

kplaneinclude_HEADERS += \
	core/include/kplane/kplane.h \
	core/include/kplane/error.h \
	core/include/kplane/object.h \
	core/include/kplane/quantity.h \
	core/include/kplane/selector.h \
	core/include/kplane/validate.h \
	core/include/kplane/yaml.h

include core/sched/local.mk
include core/api/local.mk
include core/runtime/local.mk
include core/controller/local.mk
