# scheduler plugins (sched-affinity)
