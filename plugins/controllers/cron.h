/*
 * cron.h - cron schedules as Kubernetes' CronJob controller reads them
 * (robfig/cron's standard parser): five fields (minute hour day-of-month
 * month day-of-week) with lists, ranges, steps, names (JAN-DEC, SUN-SAT),
 * "?" for "*" (day of week 0-6, Sunday 0, as robfig), and the macros @yearly/@annually, @monthly,
 * @weekly, @daily/@midnight, @hourly. When both day fields are restricted a
 * day matches either; when one is "*" both must match. Pure functions
 * (tested by t/t4002).
 */
#ifndef KPLANE_PLUGINS_CONTROLLERS_CRON_H
#define KPLANE_PLUGINS_CONTROLLERS_CRON_H

#include <stdbool.h>
#include <stdint.h>

struct kp__cron {
	uint64_t minute, hour, dom, month, dow; /* bit n set: value n allowed */
	bool dom_star, dow_star;
};

/* Parses spec; 0 or KP_EINVAL with *errmsg naming the field. */
int kp__cron_parse(const char *spec, struct kp__cron *out, char **errmsg);

/*
 * The first scheduled time strictly after t (unix seconds), with wall-clock
 * fields taken at UTC offset `offset` seconds (east positive); 0 when none
 * within 5 years (e.g. "0 0 30 2 *").
 */
int64_t kp__cron_next(const struct kp__cron *c, int64_t t, int32_t offset);

#endif
