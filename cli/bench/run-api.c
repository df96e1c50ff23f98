/*
 * run-api.c - workloads through a kplane server's REST API.
 */
#include "config.h"

#include <kplane/error.h>

#include "cli/bench/bench.h"

int sb_run_api(const struct sb_workload *w, const struct sb_options *o, struct sb_result *r,
	       char **errmsg)
{
	(void)w;
	(void)o;
	(void)r;
	return kp_error_set(errmsg, KP_EINVAL, "--mode api is not implemented in this build yet");
}
