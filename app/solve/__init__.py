"""Stateless solving: a problem.md problem in, a solution out (synchronous, bounded)."""
