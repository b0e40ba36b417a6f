"""The day as it happens: events that re-plan it, what-if insertions, diffs of versions."""
