# core value types: quantities, selectors (owned by the core-values work)
C_TESTS += t/t0001-quantity t/t0002-selector
t_t0001_quantity_SOURCES = t/t0001-quantity.c t/tap.h
t_t0001_quantity_LDADD = $(T_LDADD)
t_t0002_selector_SOURCES = t/t0002-selector.c t/tap.h
t_t0002_selector_LDADD = $(T_LDADD)
