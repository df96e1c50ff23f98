# Store tests and tools (owned by the store work).
C_TESTS += t/t1001-store
t_t1001_store_SOURCES = t/t1001-store.c t/tap.h
t_t1001_store_LDADD = $(T_LDADD) $(LEVELDB_LIBS)
