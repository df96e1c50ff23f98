# API server subcommand and kpctl (owned by the API work)
