/*
 * kplane.h - umbrella header of the kplane public API.
 *
 * Everything a plugin or an embedding program may call lives under
 * <kplane/...>; this header pulls in the whole stable surface.
 * Build out-of-tree code with `cc $(pkg-config --cflags --libs kplane)`.
 */
#ifndef KPLANE_KPLANE_H
#define KPLANE_KPLANE_H

#include <kplane/error.h>
#include <kplane/object.h>
#include <kplane/quantity.h>
#include <kplane/selector.h>
#include <kplane/validate.h>
#include <kplane/yaml.h>

/* Version of the public headers; bumped with the package version. */
#define KPLANE_VERSION_MAJOR 0
#define KPLANE_VERSION_MINOR 1
#define KPLANE_VERSION_PATCH 0

/* Returns the library's version string ("0.1.0"); static storage. */
const char *kp_version(void);

#endif
