# API and kpctl tests
