"""Server-sent events: a plan's new versions and its jobs' states, as they happen."""
