/*
 * sched-static.h - the table of in-tree scheduler plugins linked into
 * plugins/libkpsched-static.la (generated from SCHED_STATIC_PLUGINS by
 * plugins/sched-basic.mk). Unit tests and sched-bench use it to run plugins
 * without dlopen; see docs/plugins.md.
 */
#ifndef KPLANE_PLUGINS_SCHED_STATIC_H
#define KPLANE_PLUGINS_SCHED_STATIC_H

#include <kplane/plugin.h>

/* NULL-terminated; descriptors are static data. */
extern const struct kp_plugin *const kp_sched_static_plugins[];

#endif
