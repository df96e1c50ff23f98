/*
 * manager.h - the controller manager: shared informer caches, one work
 * queue and worker pool per controller, the in-process client behind
 * <kplane/controller.h>, and the event writer. In-tree only (linked into the
 * kplane binary through libkpruntime).
 */
#ifndef KPLANE_CONTROLLER_MANAGER_H
#define KPLANE_CONTROLLER_MANAGER_H

#include <stdbool.h>
#include <jansson.h>

struct kp_store;
struct kp_plugin;
struct kp_ctl_manager;

/* An empty manager over st (borrowed; must outlive the manager). */
int kp_ctl_manager_new(struct kp_store *st, struct kp_ctl_manager **out, char **errmsg);

/*
 * Adds the controller described by p (borrowed, static data of a module
 * that stays loaded). args (borrowed, may be NULL) is its JSON arguments,
 * checked against p->args; workers 0 takes the controller's default.
 * Refuses (KP_EINVAL/KP_EABI with a message naming the controller) a
 * descriptor that is not a controller, an ops table too small, a missing
 * reconcile, a kind the API server does not serve, or a duplicate name.
 * Only before kp_ctl_manager_start.
 */
int kp_ctl_manager_add(struct kp_ctl_manager *m, const struct kp_plugin *p, const json_t *args,
		       unsigned workers, char **errmsg);

/*
 * Calls every controller's init (a failing one is reported and the start
 * undone), starts one informer per kind and the workers (which wait until
 * their caches synced).
 */
int kp_ctl_manager_start(struct kp_ctl_manager *m, char **errmsg);

struct kp_registry;

/*
 * Adds the controllers of reg (borrowed; must outlive the manager) that
 * `enabled` selects, in kube-controller-manager's --controllers syntax: a
 * comma-separated list where "*" means every controller, "name" enables
 * one and "-name" disables one (NULL = "*"). settings (borrowed, may be
 * NULL) maps a controller name to {"workers": N, "args": {...}}. Names in
 * enabled or settings that no loaded module provides are errors naming
 * them.
 */
int kp_ctl_manager_add_registry(struct kp_ctl_manager *m, struct kp_registry *reg,
				const char *enabled, const json_t *settings, char **errmsg);

/* Number of controllers added. */
size_t kp_ctl_manager_count(const struct kp_ctl_manager *m);

/* Stops informers and workers (finishing running reconciles), calls fini,
 * flushes events, frees. NULL is a no-op. */
void kp_ctl_manager_free(struct kp_ctl_manager *m);

#endif
