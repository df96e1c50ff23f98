/*
 * plugin.h - the one descriptor every kplane plugin module exports.
 *
 * A module (a .so in a plugin directory, or an in-tree plugin linked into a
 * static table) exports exactly one symbol, `kp_plugin`, of this type:
 *
 *   #include <kplane/plugin.h>
 *
 *   static const struct kp_sched_ops ops = {
 *           KP_SCHED_OPS,
 *           .filter = my_filter,
 *   };
 *   const struct kp_plugin kp_plugin = {
 *           KP_PLUGIN_HEADER(KP_PLUGIN_SCHED),
 *           .name = "NodeDraining",
 *           .version = "1.0",
 *           .sched = &ops,
 *   };
 *
 * (In-tree plugins write `KP_PLUGIN_DEFINE(NodeDraining) = {...}` instead,
 * so that the same source also builds into the static table; see
 * docs/plugins.md.)
 *
 * Compatibility rules (nginx's NGX_MODULE_V1, SQLite's append-only table):
 *  - KP_PLUGIN_HEADER writes the ABI version and a layout signature (sizes
 *    of the structs the core shares with plugins) first. The loader checks
 *    both before it calls anything in the module and refuses a mismatch
 *    with a message naming the file and telling to rebuild.
 *  - struct kp_plugin never changes shape within an ABI version; new fields
 *    take a spare slot.
 *  - ops tables (kp_sched_ops, kp_controller_ops) carry their own size and
 *    only grow at the end: a module built against older headers keeps
 *    working, the newer members read as NULL.
 *  - Any change to a shared struct (kp_pod_info, kp_node_info, ...) bumps
 *    KP_PLUGIN_ABI_VERSION.
 *
 * Ownership: the descriptor and everything it points to are static data of
 * the module, borrowed by the core for as long as the module is loaded.
 */
#ifndef KPLANE_PLUGIN_H
#define KPLANE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include <kplane/error.h>
#include <kplane/sched.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change of the structs below or in sched.h. */
#define KP_PLUGIN_ABI_VERSION 1u

enum kp_plugin_kind {
	KP_PLUGIN_SCHED = 1,      /* scheduler plugin: .sched */
	KP_PLUGIN_CONTROLLER = 2, /* controller (see <kplane/controller.h>): .controller */
};

/* Defined by the controller runtime's header; a pointer here reserves its place. */
struct kp_controller_ops;

/* ------------------------------------------------------------------ */
/* Declarative arguments (STYLE.md #7)                                */
/* ------------------------------------------------------------------ */

/*
 * Type of one argument, and the C type stored at its offset in the
 * plugin's args struct:
 *   BOOL    bool
 *   INT     int64_t      (range [min, max] checked when min < max)
 *   FLOAT   double
 *   STRING  const char * (owned by the core until fini)
 *   STRINGS const char *const * NULL-terminated (owned by the core)
 *   JSON    const json_t * (any JSON value, borrowed until fini; the plugin
 *           checks its shape in init and names the field in its message)
 */
enum kp_arg_type {
	KP_ARG_BOOL = 1,
	KP_ARG_INT,
	KP_ARG_FLOAT,
	KP_ARG_STRING,
	KP_ARG_STRINGS,
	KP_ARG_JSON,
};

struct kp_arg_spec {
	const char *name;   /* JSON field name, camelCase as in Kubernetes */
	int type;           /* enum kp_arg_type */
	size_t offset;      /* offsetof(struct my_args, field) */
	const char *def;    /* default as JSON text ("1", "\"x\"", "{...}"); NULL = zero/NULL */
	int64_t min, max;   /* INT only */
};

/*
 * The core fills a zeroed args struct of `args_size` bytes from
 * pluginConfig[].args: every field of the spec gets its default first, then
 * the given value; an unknown field (other than apiVersion/kind) or a value
 * of the wrong type stops configuration with a message naming
 * "pluginConfig[<name>].args.<field>". The plugin reads it as
 * kp_sched_init.args.
 */

/* ------------------------------------------------------------------ */
/* The descriptor                                                     */
/* ------------------------------------------------------------------ */

struct kp_plugin {
	uint32_t abi_version;          /* KP_PLUGIN_ABI_VERSION (by KP_PLUGIN_HEADER) */
	uint32_t layout;               /* KP_PLUGIN_LAYOUT (by KP_PLUGIN_HEADER) */
	uint32_t kind;                 /* enum kp_plugin_kind */
	uint32_t flags;                /* none defined yet: 0 */
	const char *name;              /* config name: "NodeAffinity", "replicaset" */
	const char *version;           /* module version, free-form ("1.0") */
	const char *description;       /* one line for `kplane plugins`; may be NULL */
	const struct kp_sched_ops *sched;             /* KP_PLUGIN_SCHED */
	const struct kp_controller_ops *controller;   /* KP_PLUGIN_CONTROLLER */
	const struct kp_arg_spec *args; /* NULL-name-terminated; NULL when none */
	size_t args_size;              /* sizeof the args struct the spec fills */
	const void *spare[8];          /* reserved: must be NULL */
};

/*
 * A number that changes whenever the size of a struct shared between core
 * and plugins changes; compared by the loader before anything else.
 */
#define KP_PLUGIN_LAYOUT ((uint32_t)( \
	(uint32_t)sizeof(struct kp_plugin) * 0x9E3779B1u ^ \
	(uint32_t)sizeof(struct kp_pod_info) * 0x85EBCA77u ^ \
	(uint32_t)sizeof(struct kp_node_info) * 0xC2B2AE3Du ^ \
	(uint32_t)sizeof(struct kp_snapshot) * 0x27D4EB2Fu ^ \
	(uint32_t)sizeof(struct kp_status) * 0x165667B1u ^ \
	(uint32_t)sizeof(struct kp_cycle) * 0xD3A2646Cu ^ \
	(uint32_t)sizeof(struct kp_sched_init) * 0xFD7046C5u ^ \
	(uint32_t)sizeof(struct kp_resources) * 0xB55A4F09u ^ \
	(uint32_t)sizeof(struct kp_isel) * 0x7FEB352Du ^ \
	(uint32_t)sizeof(struct kp_pod_affinity_term) * 0x846CA68Bu ^ \
	(uint32_t)sizeof(struct kp_spread_constraint) * 0x2C1B3C6Du ^ \
	(uint32_t)sizeof(void *) * 0x297A2D39u))

/* First members of every descriptor, in designated-initializer form. */
#define KP_PLUGIN_HEADER(k) \
	.abi_version = KP_PLUGIN_ABI_VERSION, .layout = KP_PLUGIN_LAYOUT, .kind = (k)

/*
 * Defines the descriptor of an in-tree plugin. Built as a module it is the
 * exported `kp_plugin`; built with -DKP_PLUGIN_STATIC (the static table of
 * in-tree plugins used by unit tests) it is `kp_plugin_<id>`, so many
 * plugins link into one program. id is the config name (a C identifier).
 */
#ifdef KP_PLUGIN_STATIC
#define KP_PLUGIN_DEFINE(id) \
	extern const struct kp_plugin kp_plugin_##id; const struct kp_plugin kp_plugin_##id
#else
#define KP_PLUGIN_DEFINE(id) \
	extern const struct kp_plugin kp_plugin; const struct kp_plugin kp_plugin
#endif

/* Name of the symbol the loader looks up. */
#define KP_PLUGIN_SYMBOL "kp_plugin"

#ifdef __cplusplus
}
#endif

#endif
