/* selector.c - see core/include/kplane/selector.h */
