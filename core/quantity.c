/* quantity.c - see core/include/kplane/quantity.h */
