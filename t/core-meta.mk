# core metadata: objects, validation, YAML (owned by the core-meta work)
C_TESTS += t/t0003-object
t_t0003_object_SOURCES = t/t0003-object.c t/tap.h
t_t0003_object_LDADD = $(T_LDADD)

C_TESTS += t/t0004-validate
t_t0004_validate_SOURCES = t/t0004-validate.c t/tap.h
t_t0004_validate_LDADD = $(T_LDADD)

C_TESTS += t/t0005-yaml
t_t0005_yaml_SOURCES = t/t0005-yaml.c t/tap.h
t_t0005_yaml_LDADD = $(T_LDADD)

C_TESTS += t/t0006-json-encode
t_t0006_json_encode_SOURCES = t/t0006-json-encode.c t/tap.h
t_t0006_json_encode_LDADD = $(T_LDADD)

C_TESTS += t/t0007-json-decode
t_t0007_json_decode_SOURCES = t/t0007-json-decode.c t/tap.h
t_t0007_json_decode_LDADD = $(T_LDADD)
