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

/* A time zone from the tz database (TZif files under /usr/share/zoneinfo). */
struct kp__tz {
	size_t n;
	int64_t *at;     /* transition times (unix seconds), ascending */
	int32_t *off;    /* UTC offset from at[i] on */
	int32_t initial; /* offset before the first transition */
};

/*
 * Loads zone `name` ("Europe/Berlin"; "UTC", "Etc/..." too) into *out
 * (release with kp__tz_release). KP_EINVAL for a malformed name,
 * KP_ENOENT for an unknown zone, with *errmsg. Times after the file's last
 * transition keep its offset (Debian's files list transitions to 2037).
 */
int kp__tz_load(const char *name, struct kp__tz *out, char **errmsg);
void kp__tz_release(struct kp__tz *tz);
/* UTC offset in seconds (east positive) at unix time t. */
int32_t kp__tz_offset(const struct kp__tz *tz, int64_t t);
/*
 * kp__cron_next in zone tz (NULL = UTC): wall-clock fields are the zone's;
 * a wall time skipped by a forward DST change does not run, one repeated by
 * a backward change runs twice, as robfig/cron walking Go's local time does.
 */
int64_t kp__cron_next_tz(const struct kp__cron *c, int64_t t, const struct kp__tz *tz);

#endif
