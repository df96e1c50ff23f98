# scheduler plugins (sched-basic)
