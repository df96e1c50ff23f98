# The revisioned store and its backends (linked into components, not public API).
noinst_LTLIBRARIES += store/libkpstore.la
store_libkpstore_la_SOURCES = \
	store/store.h \
	store/store.c \
	store/backend.h \
	store/memory.c \
	store/leveldb.c
store_libkpstore_la_CFLAGS = $(AM_CFLAGS)
store_libkpstore_la_LIBADD = core/libkplane.la $(LEVELDB_LIBS) $(JANSSON_LIBS)
