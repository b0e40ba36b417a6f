"""Plans: ask for one (a job solves it), read its versions, routes, unassigned visits, KPIs."""
