"""The re-plan job (kind ``replan``): apply a plan's events, re-solve from now, store N+1.

:func:`run_replan` runs in a worker process (dispatched by
:func:`app.jobs.worker.run_job`); :func:`compute_replan` is the pure part.

1. Load the plan's newest version (problem + plan document) and every event
   stored for the plan so far (up to the job's ``through_seq``).
2. Change the problem: ``visit_cancelled`` takes the visit out (and any link
   naming it), ``visit_added`` puts it in, its place snapped onto the road
   graph with new matrix rows and columns (too far from a road: unassigned
   ``location_unreachable``); each clinician's newest ``clinician_position``
   becomes a place too.
3. Build :class:`routing.replan.DayState` from the events: actual times of
   completed and started visits, sick calls (``unavailable`` from the earliest
   ``from``), delays (what is left of them at ``now``), positions, and the
   visits a delay means have not started yet. Stops locked by an earlier
   re-plan stay locked exactly as they were.
4. :func:`routing.replan.replan` re-solves the rest of the day with the
   previous routes as the warm start and the disruption weights posted with
   the events (payload ``disruption``; routing's defaults when there are
   none); :func:`routing.check` must accept the
   remaining-day solution against the remaining-day problem, and
   :func:`routing.replan.check_day` the merged day (history + re-plan)
   against the whole day (violations fail the job, listed; the whole day's
   prefixed ``whole day:``).
5. Store version N+1: the changed full problem, and the merged day as a plan
   document with the extras of version 1 (stop ``patient_id``, ``location``,
   leg ``polyline``; the legs after a restart start where the clinician
   restarted), plus ``replan`` ``{based_on, now, through_seq, locked,
   disruption}`` (``disruption``: the weights used, without the promises).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import geo
import routing
from app import db
from app.events import repository as events_repo
from app.events.problem import add_places, copy_problem, remove_visits, visit_entry
from app.plans import repository as plans
from app.plans.pipeline import Progress, plan_document, solution_md
from app.problem_builder import LOCATION_UNREACHABLE
from app.settings import Settings
from routing.replan import (
    DayState,
    ReplanResult,
    cannot_work_on,
    check_day,
    keep_unchanged_routes,
    locked_visits,
    replan,
    without_clinicians,
)
from routing.solver import Disruption

log = logging.getLogger("careroute.jobs")


@dataclass(frozen=True)
class Event:
    """A stored event, detached from the database: its ``seq``, the post's ``now``, the body."""

    seq: int
    now: int
    type: str
    body: dict[str, Any]


@dataclass
class Replanned:
    """The outcome of a re-plan, ready to store as the next version."""

    problem: dict[str, Any]
    solution: dict[str, Any]
    location_ids: list[str]
    violations: list[dict[str, Any]] = field(default_factory=list)
    locked: list[str] = field(default_factory=list)


def _position_label(clinician_id: str, at: int) -> str:
    return f"{clinician_id}:position@{at}"


def compute_replan(
    problem: dict[str, Any],
    document: dict[str, Any],
    location_ids: Sequence[str],
    events: Sequence[Event],
    *,
    now: int,
    based_on: int,
    through_seq: int,
    graph: geo.RoadGraph,
    max_snap_m: float,
    time_limit: float,
    disruption: Disruption | None = None,
    progress: Progress | None = None,
) -> Replanned:
    """Apply ``events`` to a version's problem and plan, re-solve from ``now`` (module doc).

    ``disruption`` holds the weights (its ``previous`` is filled in by
    :func:`routing.replan.replan`); None: routing's defaults.

    Raises
    ------
    routing.InvalidProblem
        If the changed problem is inconsistent.
    """
    progress = progress or Progress()
    progress.at(0.01)
    problem = copy_problem(problem)
    labels = list(location_ids)
    clinician_ids = {c["id"] for c in problem["clinicians"]}
    in_version = {v["id"] for v in problem["visits"]}
    excluded = {u["visit_id"]: u for u in document.get("unassigned", [])
                if u["visit_id"] not in in_version}

    # -- the visits of the day: cancelled out, added in (in the order they were posted) --
    added: dict[str, dict[str, Any]] = {}
    cancelled: set[str] = set()
    for ev in events:
        if ev.type == "visit_added":
            vid = ev.body["visit"]["id"]
            added[vid] = ev.body["visit"]
            cancelled.discard(vid)
        elif ev.type == "visit_cancelled":
            cancelled.add(ev.body["visit_id"])
            added.pop(ev.body["visit_id"], None)
    remove_visits(problem, cancelled)
    for vid in cancelled | set(added):
        excluded.pop(vid, None)

    newest: dict[str, Event] = {}
    for ev in events:
        if ev.type == "clinician_position" and ev.body["clinician_id"] in clinician_ids:
            seen = newest.get(ev.body["clinician_id"])
            if seen is None or (ev.body["at"], ev.seq) >= (seen.body["at"], seen.seq):
                newest[ev.body["clinician_id"]] = ev
    places = [(vid, v["location"]["lat"], v["location"]["lon"]) for vid, v in added.items()]
    places += [(_position_label(cid, ev.body["at"]), ev.body["lat"], ev.body["lon"])
               for cid, ev in newest.items()]
    placed = add_places(problem, labels, places, graph, max_snap_m=max_snap_m)
    progress.at(0.04)

    visits = {v["id"]: v for v in problem["visits"]}  # in order; an added one replaced in place
    for vid, v in added.items():
        if vid in placed.unreachable:
            reason, detail = LOCATION_UNREACHABLE, placed.unreachable[vid]
        elif v.get("pinned_clinician") and v["pinned_clinician"] not in clinician_ids:
            reason = "pinned_clinician_unavailable"
            detail = f"pinned to {v['pinned_clinician']}, who is not in this plan"
        else:
            visits[vid] = visit_entry(v, placed.index[vid], clinician_ids)
            continue
        visits.pop(vid, None)
        excluded[vid] = {"visit_id": vid, "reason": reason, "detail": detail,
                         "patient_id": v.get("patient_id")}
    problem["visits"] = list(visits.values())
    warnings = [w for w in document.get("warnings", []) if w.get("code") != "position_unreachable"]
    positions: dict[str, tuple[int, int]] = {}
    for cid, ev in newest.items():
        label = _position_label(cid, ev.body["at"])
        if label in placed.index:
            positions[cid] = (placed.index[label], ev.body["at"])
        else:
            warnings.append({"code": "position_unreachable", "clinician_id": cid,
                             "detail": f"the position reported at {ev.body['at']} was not "
                                       f"used: {placed.unreachable.get(label, 'unknown')}"})
    full = routing.problem_from_dict(problem)
    state = day_state(full, document, events, now=now, positions=positions)
    previous = previous_solution(full, document, state)
    # Clinicians who cannot work any more today (shift over, sick call) leave the
    # open visits' preferences, exclusions and pins; visits pinned to them are
    # reported here with the patient ids the plan needs. routing.replan drops
    # anyone else who cannot work on (a delay past the shift).
    full, pinned = without_clinicians(full, cannot_work_on(full, state),
                                      locked=locked_visits(previous, state), now=now)
    _store_without_clinicians(problem, full, pinned, excluded)
    previous = previous_solution(full, document, state)
    progress.solving(time_limit)
    disruption = disruption or Disruption(previous={})
    result = replan(full, previous, state, time_limit=time_limit, disruption=disruption)
    progress.at(0.91)
    since = (document.get("replan") or {}).get("through_seq", 0)
    named = {ev.body["clinician_id"] for ev in events
             if ev.seq > since and "clinician_id" in ev.body}
    original = routing.solution_from_dict(solution_md(document, problem))
    result, kept = keep_unchanged_routes(full, original, result, now=now, quiet={
        c["id"] for c in problem["clinicians"]} - named)
    found = routing.check(result.remaining_problem, result.remaining_solution)
    violations = [{"code": v.code, "message": v.message, "clinician_id": v.clinician_id,
                   "visit_id": v.visit_id} for v in found]
    violations += [{"code": v.code, "message": f"whole day: {v.message}",
                    "clinician_id": v.clinician_id, "visit_id": v.visit_id}
                   for v in check_day(full, result)]

    legs = _legs(graph, problem, result, max_snap_m)
    progress.at(0.97)
    excluded_list = sorted(excluded.values(), key=lambda u: u["visit_id"])
    doc = plan_document(problem, result.solution, legs, excluded_list, warnings,
                        day_patients={u["visit_id"]: u.get("patient_id")
                                      for u in excluded_list})
    restarts = {c.id: c.start_location for c in result.remaining_problem.clinicians}
    as_before = {r["clinician_id"]: r for r in document.get("routes", [])}
    for k, route in enumerate(doc["routes"]):
        cid = route["clinician_id"]
        if cid in kept:  # verbatim, so the clinician's route (and its ETag) is unchanged
            doc["routes"][k] = as_before[cid]
        elif cid in restarts and not any(s["visit_id"] in result.locked
                                         for s in route["stops"]):
            route["start_location"] = dict(problem["locations"][restarts[cid]])
    locked = sorted(result.locked)
    doc["kpis"]["visits_excluded"] = len(excluded_list)
    doc["kpis"]["visits_locked"] = len(locked)
    doc["replan"] = {"based_on": based_on, "now": now, "through_seq": through_seq,
                     "locked": locked, "disruption": weights_of(disruption)}
    return Replanned(problem=problem, solution=doc, location_ids=labels,
                     violations=violations, locked=locked)


def disruption_of(payload: dict[str, Any]) -> Disruption:
    """The job's disruption weights: those posted with the events, else routing's defaults.

    Raises
    ------
    TypeError
        If the payload names a weight :class:`routing.solver.Disruption` does not have.
    """
    return Disruption(previous={}, **(payload.get("disruption") or {}))


def weights_of(disruption: Disruption) -> dict[str, int]:
    """The weights of ``disruption`` as stored with a version (its promises left out)."""
    return {f.name: getattr(disruption, f.name) for f in fields(disruption)
            if f.name != "previous"}


def _store_without_clinicians(problem: dict[str, Any], changed: routing.Problem,
                              pinned: Sequence[routing.Unassigned],
                              excluded: dict[str, dict[str, Any]]) -> None:
    """Make the stored problem (in place) what :func:`routing.replan.without_clinicians`
    made of it: the pinned visits out (listed in ``excluded``), the names it took out gone.
    """
    patients = {v["id"]: v.get("patient_id") for v in problem["visits"]}
    for u in pinned:
        excluded[u.visit_id] = {"visit_id": u.visit_id, "reason": u.reason,
                                "detail": u.detail, "patient_id": patients.get(u.visit_id)}
    remove_visits(problem, {u.visit_id for u in pinned})
    for v in problem["visits"]:
        kept = changed.visit(v["id"])
        for name in ("preferred_clinicians", "excluded_clinicians"):
            names = list(getattr(kept, name))
            if names != list(v.get(name) or []):
                v[name] = names


def day_state(
    problem: routing.Problem,
    document: dict[str, Any],
    events: Sequence[Event],
    *,
    now: int,
    positions: dict[str, tuple[int, int]],
) -> DayState:
    """What has happened by ``now``, from every event so far and the version being revised."""
    visit_ids = {v.id for v in problem.visits}
    clinician_ids = {c.id for c in problem.clinicians}
    completed: dict[str, tuple[int, int]] = {}
    started: dict[str, int] = {}
    unavailable: dict[str, int] = {}
    delayed: dict[str, int] = {}
    for ev in events:
        b = ev.body
        if ev.type == "visit_completed" and b["visit_id"] in visit_ids:
            completed[b["visit_id"]] = (b["start"], b["end"])
        elif ev.type == "visit_started" and b["visit_id"] in visit_ids:
            started[b["visit_id"]] = b["at"]
        elif ev.type == "clinician_unavailable" and b["clinician_id"] in clinician_ids:
            unavailable[b["clinician_id"]] = min(b["from"], unavailable.get(b["clinician_id"],
                                                                           b["from"]))
        elif ev.type == "clinician_delayed" and b["clinician_id"] in clinician_ids:
            # late by `minutes` at the post's now: what is left of it at this now
            left = b["minutes"] * 60 - (now - ev.now)
            if left > 0:
                delayed[b["clinician_id"]] = max(left, delayed.get(b["clinician_id"], 0))
    # What an earlier re-plan locked happened as it said (unless an event says how).
    planned = {s["visit_id"]: s["start"] for r in document.get("routes", [])
               for s in r["stops"]}
    for vid in (document.get("replan") or {}).get("locked", []):
        if vid in visit_ids and vid in planned and vid not in completed:
            started.setdefault(vid, planned[vid])
    for vid in completed:
        started.pop(vid, None)
    # Running d seconds late at now: a stop planned in [now - d, now) has not started.
    not_started = {
        s["visit_id"] for r in document.get("routes", []) if r["clinician_id"] in delayed
        for s in r["stops"]
        if now - delayed[r["clinician_id"]] <= s["start"] < now
        and s["visit_id"] not in completed and s["visit_id"] not in started
    }
    return DayState(now=now, completed=completed, started=started, unavailable=unavailable,
                    delayed=delayed, positions=positions, not_started=frozenset(not_started))


def previous_solution(problem: routing.Problem, document: dict[str, Any],
                      state: DayState) -> routing.Solution:
    """The version's routes as :func:`routing.replan.replan` reads them.

    Cancelled visits are taken out; each route starts with the stops that
    have happened (reported ones wherever they were in the route, then those
    planned before now up to the first one that has not), in time order.
    """
    visit_ids = {v.id for v in problem.visits}
    md = solution_md(document, {"visits": [{"id": vid} for vid in visit_ids]})
    solution = routing.solution_from_dict(md)
    routes = []
    for route in solution.routes:
        cutoff = min(state.now, state.unavailable.get(route.clinician_id, state.now))
        done: list[tuple[int, routing.Stop]] = []
        rest: list[routing.Stop] = []
        for s in route.stops:
            if s.visit_id not in visit_ids:
                continue
            if s.visit_id in state.completed:
                done.append((state.completed[s.visit_id][0], s))
            elif s.visit_id in state.started:
                done.append((state.started[s.visit_id], s))
            elif not rest and s.start < cutoff and s.visit_id not in state.not_started:
                done.append((s.start, s))
            else:
                rest.append(s)
        done.sort(key=lambda pair: pair[0])
        routes.append(replace(route, stops=tuple(s for _, s in done) + tuple(rest)))
    return routing.Solution(tuple(routes), solution.unassigned, solution.kpis)


def _legs(
    graph: geo.RoadGraph, problem: dict[str, Any], result: ReplanResult, max_snap_m: float
) -> dict[str, list[geo.Leg] | None]:
    """Each merged route's legs: home -> locked stops, then restart place -> the rest -> end."""
    locations = problem["locations"]
    visits = {v["id"]: v for v in problem["visits"]}
    clinicians = {c["id"]: c for c in problem["clinicians"]}
    restarts = {c.id: c.start_location for c in result.remaining_problem.clinicians}

    def points(indices: list[int]) -> list[tuple[float, float]]:
        return [(locations[i]["lat"], locations[i]["lon"]) for i in indices]

    out: dict[str, list[geo.Leg] | None] = {}
    for route in result.solution.routes:
        c = clinicians[route.clinician_id]
        at = [visits[s.visit_id]["location"] for s in route.stops]
        n_locked = 0
        while n_locked < len(route.stops) and route.stops[n_locked].visit_id in result.locked:
            n_locked += 1
        first = [c["start_location"], *at[:n_locked]] if n_locked else []
        if n_locked < len(at):
            restart = restarts.get(route.clinician_id, at[n_locked - 1] if n_locked
                                   else c["start_location"])
            second = [restart, *at[n_locked:], c["end_location"]]
        else:
            second = [at[-1], c["end_location"]]
        try:
            legs = geo.leg_geometry(graph, points(first), max_snap_m=max_snap_m) if first else []
            legs += geo.leg_geometry(graph, points(second), max_snap_m=max_snap_m)
            out[route.clinician_id] = legs
        except geo.GeoError as exc:  # the matrix was built on the same graph: not expected
            log.warning("no leg geometry for a route: %s", type(exc).__name__)
            out[route.clinician_id] = None
    return out


# -- the job (worker process) ------------------------------------------------------------


def run_replan(
    engine: Any, settings: Settings, job_id: str, attempt: int, plan_id: str | None,
    payload: dict[str, Any], *, echo: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Run one claimed ``replan`` job to its end state; a summary for metrics.

    Never raises for a failing job: the error is stored on the job row and the
    plan goes back to ``ready`` at its current version (its events stay in the
    log, and the next re-plan applies them).
    """
    from app.jobs.worker import compute_and_store, road_graph, time_limit_of

    def compute(progress: Progress, _tick: Callable[..., None]) -> Replanned:
        with db.transaction(engine) as session:
            plan = plans.get(session, plan_id) if plan_id else None
            version = plans.version(session, plan.id, plan.version) if plan else None
            if plan is None or version is None:
                raise ValueError(f"plan {plan_id!r} has no version to re-plan")
            based_on = plan.version
            if based_on != payload.get("based_on"):
                raise ValueError(f"plan {plan_id} is at version {based_on}, not "
                                 f"{payload.get('based_on')} that the events were posted "
                                 "against")
            through = int(payload["through_seq"])
            stored = [Event(e.seq, e.now, e.type, dict(e.body))
                      for e in events_repo.events(session, plan.id, through=through)]
            problem, document = version.problem, version.solution
            location_ids = list(version.location_ids or [])
        return compute_replan(
            problem, document, location_ids, stored, now=int(payload["now"]),
            based_on=based_on, through_seq=through, graph=road_graph(settings),
            max_snap_m=settings.max_snap_m, time_limit=time_limit_of(payload, settings),
            disruption=disruption_of(payload), progress=progress)

    state, _ = compute_and_store(engine, job_id, attempt, plan_id, compute,
                                 broke="the re-planned day broke", echo=echo)
    return {"state": state, "kind": "replan"}
