# Scheduler and controller plugins; each module is one .so with one exported
# symbol `kp_plugin`.
