# core value types: quantities, selectors (owned by the core-values work)
