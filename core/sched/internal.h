/*
 * internal.h - declarations shared by the scheduler framework's files
 * (core/sched/); not installed, not for plugins.
 */
#ifndef KPLANE_SCHED_INTERNAL_H
#define KPLANE_SCHED_INTERNAL_H

#include <stdint.h>

/* Number of strings interned so far (ids are 0..count-1). */
uint32_t kp__intern_count(void);

#endif
