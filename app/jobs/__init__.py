"""Background jobs (solving plans): durable rows, a runner that claims and runs them."""
