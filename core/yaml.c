/* yaml.c - see core/include/kplane/yaml.h */
