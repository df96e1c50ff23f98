# scheduler framework tests
