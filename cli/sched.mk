# scheduler subcommands and sched-bench (owned by the scheduler work)
