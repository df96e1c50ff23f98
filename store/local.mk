# The revisioned store and its backends (linked into components, not public API).
noinst_LTLIBRARIES += store/libkpstore.la
store_libkpstore_la_SOURCES = \
	store/store.h \
	store/store.c \
	store/backend.h \
	store/memory.c \
	store/leveldb.c \
	store/base64.h \
	store/base64.c \
	store/etcd.h \
	store/etcd.c
store_libkpstore_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
store_libkpstore_la_LIBADD = core/libkplane.la $(LEVELDB_LIBS) $(JANSSON_LIBS) $(CURL_LIBS)
