"""What-if insertions: the best places to fit one more visit into the current plan, now.

No re-solve and nothing stored: the visit's place is snapped and given matrix
rows on the deployment's graph, the visit may start no earlier than ``now``
(its time windows are cut there), and :func:`routing.replan.what_if` re-times
each eligible clinician's route with the visit at every position after the
stops that start before ``now``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

import geo
import routing
from app.audit.service import record
from app.deps import Principal
from app.errors import ApiError
from app.events import repository
from app.events.problem import add_places, copy_problem, visit_entry
from app.events.schemas import InsertionIn, InsertionOut, InsertionsOut
from app.events.service import LAST_SECOND, check_visit_rules, default_now, not_found
from app.plans.pipeline import solution_md
from app.settings import Settings
from routing.replan import what_if


def insertions(session: Session, plan_id: str, body: InsertionIn, who: Principal,
               settings: Settings, graph: geo.RoadGraph) -> InsertionsOut:
    """The ``k`` cheapest feasible insertions of ``body.visit`` (audited: it names a patient)."""
    plan = repository.plan(session, plan_id)
    if plan is None:
        raise not_found(plan_id)
    if plan.version == 0:
        raise ApiError(409, "Plan not ready", f"plan {plan.id} has no version yet "
                       f"({plan.status})", plan_id=plan.id, plan_status=plan.status)
    version = repository.version(session, plan.id, plan.version)
    assert version is not None
    v = body.visit
    check_visit_rules("visit", v)
    now = body.now if body.now is not None else default_now(settings, plan.date)
    record(session, who, "plan.what_if", "plan", [plan.id, v.id])
    out = InsertionsOut(plan_id=plan.id, version=plan.version, visit_id=v.id, now=now,
                        insertions=[])

    problem = copy_problem(version.problem)
    if v.id in {x["id"] for x in problem["visits"]}:
        raise ApiError(422, "Invalid visit", f"visit.id: visit {v.id!r} is already in the "
                       "plan", field="visit.id", value=v.id)
    clinicians = {c["id"] for c in problem["clinicians"]}
    if v.pinned_clinician is not None and v.pinned_clinician not in clinicians:
        out.detail = f"pinned to {v.pinned_clinician}, who is not in this plan"
        return out
    windows = [[max(lo, now), hi] for lo, hi in v.time_windows if hi >= now]
    if v.time_windows and not windows:
        out.detail = f"every time window of the visit ends before now ({now})"
        return out
    placed = add_places(problem, list(version.location_ids or []),
                        [(v.id, v.location.lat, v.location.lon)], graph,
                        max_snap_m=settings.max_snap_m)
    if v.id in placed.unreachable:
        raise ApiError(422, "Location unreachable", f"visit.location: "
                       f"{placed.unreachable[v.id]}", field="visit.location",
                       value={"lat": v.location.lat, "lon": v.location.lon})
    entry = visit_entry(body.visit.model_dump(mode="json"), placed.index[v.id], clinicians)
    entry["time_windows"] = windows or [[now, LAST_SECOND]]
    problem["visits"].append(entry)
    full = routing.problem_from_dict(problem)
    solution = routing.solution_from_dict(solution_md(version.solution, version.problem))
    options = what_if(full, solution, full.visit(v.id), now=now, k=body.k)
    out.insertions = [InsertionOut(
        clinician_id=o.clinician_id, position=o.position, start=o.start,
        end=o.start + v.duration, added_travel=o.added_travel_s,
        delay_to_later_stops=o.delay_to_later_stops_s) for o in options]
    if not options:
        out.detail = ("no clinician can fit the visit into their route after now without "
                      "breaking a time window, shift, break or limit")
    return out
