"""Solve one plan day: rows -> problem -> solve -> check -> baseline -> geometry -> document.

Pure computation (no database, no HTTP): the job worker calls
:func:`compute_plan` in a worker process and stores what it returns.

The stored plan document (``PlanVersionRow.solution``) is a problem.md
solution with extra fields, every problem.md field present:

* each stop also has ``patient_id``, ``location`` ``{"lat", "lon"}`` and
  ``polyline`` (the encoded road path of the leg into the stop);
* each route also has ``start_location``, ``end_location`` and ``end_leg``
  ``{"travel_time", "distance", "polyline"}`` (the drive home);
* ``unassigned`` also lists the visits left out before the solve
  (``location_unreachable``, ``pinned_clinician_unavailable``,
  ``linked_visit_unassigned``: see :mod:`app.problem_builder`), each entry
  with the visit's ``patient_id``;
* ``kpis`` are those of the solved problem (:func:`routing.compute_kpis`),
  plus ``visits_excluded`` (visits left out before the solve), ``objective``,
  ``baseline`` (the usual-care dispatcher's KPIs) and ``gap_to_baseline``
  (``(baseline - optimised) / baseline`` objective);
* ``warnings``: clinicians left out of the plan, ``attribution``: the map
  data credit.

:func:`solution_md` strips a document back to the problem.md solution of the
stored problem, which :func:`routing.check` accepts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import geo
import routing
from app.problem_builder import DayRows, build_problem
from routing.kpis import KPI_KEYS

log = logging.getLogger("careroute.plans")

STOP_FIELDS = ("visit_id", "arrival", "start", "end", "travel_time", "distance", "wait")
ROUTE_FIELDS = ("clinician_id", "start_time", "end_time", "stops", "breaks", "travel_time",
                "distance", "overtime")
UNASSIGNED_FIELDS = ("visit_id", "reason", "detail")
#: The usual-care baseline's KPIs kept in a plan's ``kpis.baseline``.
BASELINE_KPIS = ("visits_assigned", "visits_unassigned", "travel_time", "overtime",
                 "travel_share")


class Progress:
    """Where a computation is, as a fraction 0..1 that a reporter can read at any time.

    Steps before and after the search move it by fixed marks; during the
    search it follows the clock (elapsed / time limit).
    """

    SOLVE_FROM, SOLVE_TO = 0.05, 0.90

    def __init__(self) -> None:
        self._mark = 0.0
        self._solve: tuple[float, float] | None = None  # (monotonic start, time limit)

    def at(self, fraction: float) -> None:
        self._solve = None
        self._mark = max(self._mark, min(1.0, fraction))

    def solving(self, time_limit: float) -> None:
        self._mark = self.SOLVE_FROM
        self._solve = (time.monotonic(), time_limit)

    @property
    def fraction(self) -> float:
        if self._solve is None:
            return self._mark
        began, limit = self._solve
        share = min(1.0, (time.monotonic() - began) / limit) if limit > 0 else 1.0
        return self.SOLVE_FROM + share * (self.SOLVE_TO - self.SOLVE_FROM)


@dataclass
class ComputedPlan:
    """The outcome of one solve, ready to store."""

    problem: dict[str, Any]
    solution: dict[str, Any]
    location_ids: list[str]
    #: The checker's findings (empty for a plan that may be stored).
    violations: list[dict[str, Any]] = field(default_factory=list)
    gap_to_baseline: float | None = None


def compute_plan(
    day: DayRows,
    graph: geo.RoadGraph,
    *,
    max_snap_m: float,
    time_limit: float,
    progress: Progress | None = None,
    on_solution: Callable[[float, int], None] | None = None,
) -> ComputedPlan:
    """Build, solve, check and describe the plan of ``day``.

    Raises
    ------
    routing.InvalidProblem
        If the rows make an inconsistent problem.
    """
    progress = progress or Progress()
    progress.at(0.01)
    built = build_problem(day, graph, max_snap_m=max_snap_m, time_limit=time_limit)
    problem = routing.problem_from_dict(built.problem)
    progress.solving(time_limit)
    solution = routing.solve(problem, routing.SolverParams(time_limit=time_limit,
                                                           progress=on_solution))
    progress.at(0.91)
    found = routing.check(problem, solution)
    violations = [{"code": v.code, "message": v.message, "clinician_id": v.clinician_id,
                   "visit_id": v.visit_id} for v in found]
    baseline = routing.solve_baseline(problem)
    progress.at(0.94)
    optimised, usual = routing.objective(problem, solution), routing.objective(problem, baseline)
    gap = (usual - optimised) / usual if usual > 0 else None
    legs = _route_legs(graph, built.problem, solution, max_snap_m)
    progress.at(0.98)
    document = plan_document(built.problem, solution, legs, built.excluded, built.warnings,
                             day_patients={v.id: v.patient_id for v in day.visits})
    usual_kpis: dict[str, Any] = {k: baseline.kpis[k] for k in BASELINE_KPIS
                                  if k in baseline.kpis}
    document["kpis"].update({
        "visits_excluded": len(built.excluded),
        "objective": optimised,
        "baseline": {**usual_kpis, "objective": usual},
        "gap_to_baseline": gap,
    })
    return ComputedPlan(problem=built.problem, solution=document,
                        location_ids=built.location_ids, violations=violations,
                        gap_to_baseline=gap)


def _route_legs(
    graph: geo.RoadGraph, problem: dict[str, Any], solution: routing.Solution, max_snap_m: float
) -> dict[str, list[geo.Leg] | None]:
    """Each route's legs (start -> stops -> end) as road geometry; None where geo failed."""
    locations = problem["locations"]
    visits = {v["id"]: v for v in problem["visits"]}
    clinicians = {c["id"]: c for c in problem["clinicians"]}
    out: dict[str, list[geo.Leg] | None] = {}
    for route in solution.routes:
        c = clinicians[route.clinician_id]
        order = ([c["start_location"]] + [visits[s.visit_id]["location"] for s in route.stops]
                 + [c["end_location"]])
        points = [(locations[i]["lat"], locations[i]["lon"]) for i in order]
        try:
            out[route.clinician_id] = geo.leg_geometry(graph, points, max_snap_m=max_snap_m)
        except geo.GeoError as exc:  # the matrix was built on the same graph: not expected
            log.warning("no leg geometry for a route: %s", type(exc).__name__)
            out[route.clinician_id] = None
    return out


def plan_document(
    problem: dict[str, Any],
    solution: routing.Solution,
    legs: dict[str, list[geo.Leg] | None],
    excluded: list[dict[str, Any]],
    warnings: list[dict[str, Any]],
    *,
    day_patients: dict[str, str | None],
) -> dict[str, Any]:
    """The stored plan document: the solution with stop and route extras (module docstring)."""
    base = routing.solution_to_dict(solution)
    locations = problem["locations"]
    visits = {v["id"]: v for v in problem["visits"]}
    clinicians = {c["id"]: c for c in problem["clinicians"]}
    for route in base["routes"]:
        c = clinicians[route["clinician_id"]]
        route_legs = legs.get(route["clinician_id"])
        for k, stop in enumerate(route["stops"]):
            v = visits[stop["visit_id"]]
            stop["patient_id"] = v.get("patient_id")
            stop["location"] = dict(locations[v["location"]])
            stop["polyline"] = route_legs[k].polyline if route_legs else None
        last = (visits[route["stops"][-1]["visit_id"]]["location"] if route["stops"]
                else c["start_location"])
        to_end = problem["matrix"]["durations"][last][c["end_location"]]
        dist = problem["matrix"].get("distances")
        route["end_leg"] = {
            "travel_time": to_end,
            "distance": dist[last][c["end_location"]] if dist else None,
            "polyline": route_legs[-1].polyline if route_legs else None,
        }
        route["start_location"] = dict(locations[c["start_location"]])
        route["end_location"] = dict(locations[c["end_location"]])
    for u in base["unassigned"]:
        u["patient_id"] = visits[u["visit_id"]].get("patient_id")
    base["unassigned"] += [{**u, "patient_id": day_patients.get(u["visit_id"])}
                           for u in excluded]
    base["warnings"] = list(warnings)
    base["attribution"] = geo.ATTRIBUTION
    return base


def solution_md(document: dict[str, Any], problem: dict[str, Any]) -> dict[str, Any]:
    """The problem.md solution inside a plan document, for :func:`routing.check` on ``problem``.

    Drops the extra fields and the unassigned entries of visits that were
    left out before the solve (they are not in the problem).
    """
    in_problem = {v["id"] for v in problem["visits"]}
    return {
        "routes": [
            {**{k: r[k] for k in ROUTE_FIELDS if k != "stops"},
             "stops": [{k: s[k] for k in STOP_FIELDS} for s in r["stops"]]}
            for r in document["routes"]
        ],
        "unassigned": [{k: u[k] for k in UNASSIGNED_FIELDS} for u in document["unassigned"]
                       if u["visit_id"] in in_problem],
        "kpis": {k: v for k, v in document["kpis"].items() if k in KPI_KEYS},
    }
