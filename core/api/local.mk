# HTTP API server: libkpapi (owned by the API work)
