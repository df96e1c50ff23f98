/*
 * static.h - the table of in-tree controllers linked into
 * plugins/libkpctl-static.la (generated from CTL_STATIC_PLUGINS by
 * plugins/controllers.mk), so tests run controllers without dlopen.
 */
#ifndef KPLANE_PLUGINS_CONTROLLERS_STATIC_H
#define KPLANE_PLUGINS_CONTROLLERS_STATIC_H

#include <kplane/plugin.h>

/* NULL-terminated; descriptors are static data. */
extern const struct kp_plugin *const kp_ctl_static_plugins[];

#endif
