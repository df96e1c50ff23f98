/* validate.c - see core/include/kplane/validate.h */
