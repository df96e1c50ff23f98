# scheduler plugins (sched-more)
