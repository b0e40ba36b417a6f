"""Turn visit orders into a solution: timed routes, linked visits kept together, reasons.

Shared by the optimiser and the usual-care baseline, so both report the same way.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from .diagnose import explain_dropped, linked_groups
from .model import Problem, Route, Solution, Unassigned, Visit
from .schedule import RouteTimer

log = logging.getLogger(__name__)


def assemble(
    problem: Problem,
    timer: RouteTimer,
    orders: Mapping[str, list[Visit]],
    fixed: Mapping[str, int],
    screened: Sequence[Unassigned],
    break_gaps: Mapping[str, list[int]] | None = None,
) -> Solution:
    """Time each route, enforce linked-together, and explain every dropped visit.

    Parameters
    ----------
    orders
        Clinician id -> visits in driving order.
    fixed
        Service starts (s) that linked visits must keep exactly.
    screened
        Visits already known to be unservable, with their reasons.
    break_gaps
        Per clinician, the gap each break goes in (see :meth:`RouteTimer.time_route`).

    Returns
    -------
    Solution
        Without KPIs; every visit is in a route or in ``unassigned``.
    """
    orders = {cid: list(o) for cid, o in orders.items() if o}
    fixed = dict(fixed)
    routes: dict[str, Route] = {}
    for cid in list(orders):
        clinician = problem.clinician(cid)
        route = None
        gaps = (break_gaps or {}).get(cid)
        if gaps is not None:
            route = timer.time_route(clinician, orders[cid], fixed_starts=fixed, break_gaps=gaps)
        if route is None:
            route = timer.time_route(clinician, orders[cid], fixed_starts=fixed)
        while route is None and orders[cid]:
            # Rare: OR-Tools lets a break interrupt a drive; we never do. Shed the
            # last stop until the day times out under our stricter rule.
            log.warning("route of %s does not time; shedding its last stop", cid)
            orders[cid].pop()
            route = timer.time_route(clinician, orders[cid], fixed_starts=fixed)
        if route is not None and orders[cid]:
            routes[cid] = route
    assigned = {s.visit_id: (cid, s.start) for cid, r in routes.items() for s in r.stops}
    partner_reason: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for group in linked_groups(problem):
            inside = [vid for vid in group if vid in assigned]
            if inside and len(inside) < len(group):
                missing = next(vid for vid in group if vid not in assigned)
                for vid in inside:
                    cid = assigned.pop(vid)[0]
                    orders[cid] = [v for v in orders[cid] if v.id != vid]
                    partner_reason[vid] = missing
                    retimed = timer.time_route(problem.clinician(cid), orders[cid],
                                               fixed_starts=fixed)
                    if orders[cid] and retimed is not None:
                        routes[cid] = retimed
                    else:
                        routes.pop(cid, None)
                        for v in orders.pop(cid, []):
                            assigned.pop(v.id, None)
                changed = True
    screened_ids = {u.visit_id for u in screened}
    unassigned = list(screened)
    final_orders = {cid: [problem.visit(s.visit_id) for s in r.stops] for cid, r in routes.items()}
    for visit in problem.visits:
        if visit.id in assigned or visit.id in screened_ids:
            continue
        if visit.id in partner_reason:
            unassigned.append(Unassigned(
                visit.id, "linked_visit_unassigned",
                f"its linked visit {partner_reason[visit.id]} could not be planned",
            ))
        else:
            unassigned.append(explain_dropped(problem, timer, final_orders, visit, fixed))
    ordered = tuple(routes[c.id] for c in problem.clinicians if c.id in routes)
    return Solution(ordered, tuple(unassigned))
