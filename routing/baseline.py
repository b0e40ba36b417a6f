"""The "usual care" dispatcher: what a dispatcher does by hand, for comparison.

Visits are taken most acute first, then by earliest time window. Each goes to
the nearest eligible clinician (by drive time from the clinician's start
place) whose day can still take it; clinicians do their visits in order of
appointment (window opening). Linked visits are placed together or not at all.
No search, no look-ahead: the optimiser in :mod:`routing.solver` is measured
against this.
"""

from __future__ import annotations

from .assemble import assemble
from .construct import Plan, _insert_group
from .diagnose import eligible_clinicians, linked_groups, screen
from .kpis import compute_kpis
from .model import Problem, Solution, Visit
from .schedule import RouteTimer

_NO_WINDOW = 10**9


def _appointment(visit: Visit) -> tuple[int, int]:
    windows = visit.windows
    if not windows:
        return (_NO_WINDOW, _NO_WINDOW)
    return (windows[0][0], windows[0][1])


def solve_baseline(problem: Problem) -> Solution:
    """Plan the day the way a dispatcher would by hand; same output as :func:`routing.solve`."""
    timer = RouteTimer(problem)
    candidates, screened = screen(problem, timer)
    plan = Plan(problem, timer)
    d = timer.durations
    grouped = {vid for g in linked_groups(problem) for vid in g}
    by_id = {v.id: v for v in candidates}
    queue = sorted(candidates, key=lambda v: (-v.acuity, not v.mandatory, _appointment(v)))
    for visit in queue:
        if visit.id in plan.where:
            continue
        if visit.id in grouped:
            group = next(g for g in linked_groups(problem) if visit.id in g)
            if all(vid in by_id for vid in group):
                _insert_group(plan, [by_id[vid] for vid in group])
            continue
        nearest = sorted(eligible_clinicians(problem, visit),
                         key=lambda c: d[c.start_location][visit.location])
        for clinician in nearest:
            order = plan.order(clinician.id)
            pos = sum(1 for v in order if _appointment(v) <= _appointment(visit))
            trial = order[:pos] + [visit] + order[pos:]
            route = timer.time_route(clinician, trial, fixed_starts=plan.fixed_starts)
            if route is not None:
                plan.commit(clinician, trial, route)
                break
    solution = assemble(problem, timer, plan.orders, plan.fixed_starts, screened)
    return Solution(solution.routes, solution.unassigned, compute_kpis(problem, solution))
