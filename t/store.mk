# Store tests and tools (owned by the store work).
C_TESTS += t/t1001-store
t_t1001_store_SOURCES = t/t1001-store.c t/tap.h
t_t1001_store_LDADD = $(T_LDADD) $(LEVELDB_LIBS) $(CURL_LIBS)
# The same suite through the API server's store gateway (what components apart use).
C_TESTS += t/t1004-store-gateway
t_t1004_store_gateway_SOURCES = t/t1001-store.c t/tap.h
t_t1004_store_gateway_CFLAGS = $(AM_CFLAGS) -DT1001_GATEWAY
t_t1004_store_gateway_LDADD = core/api/libkpapi.la $(T_LDADD) $(LEVELDB_LIBS) $(CURL_LIBS)

# Crash test: t/helper/store-crash-writer writes, the script SIGKILLs it.
SH_TESTS += t/t1002-store-crash.sh
HELPERS += t/helper/store-crash-writer
t_helper_store_crash_writer_SOURCES = t/helper/store-crash-writer.c
t_helper_store_crash_writer_LDADD = $(T_LDADD)

# Benchmark tool (not a test): scripts/bench-store.sh runs it for `make bench`.
HELPERS += t/helper/store-bench
t_helper_store_bench_SOURCES = t/helper/store-bench.c
t_helper_store_bench_LDADD = $(T_LDADD)
SH_TESTS += t/t1003-store-etcd-server.sh
