/* object.c - see core/include/kplane/object.h */
