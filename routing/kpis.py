"""Key performance indicators (KPIs) of a plan, recomputed from its stops.

:func:`compute_kpis` fills ``Solution.kpis`` for the solver and the baseline,
and :func:`routing.check.check` recomputes it to verify a solution's claims.
Nothing here trusts a route's own totals or a stop's ``travel_time``,
``distance`` or ``wait`` fields: travel and distance come from the problem's
matrix along each route's stop order (start location, stops, end location),
service seconds from the visits' ``duration``, waiting from ``start - arrival``.

Every value is a JSON number, a JSON object of numbers, or (where stated)
``null``; the keys are part of the public output (``Solution.kpis``) and are
listed, in output order, in :data:`KPI_KEYS`:

``visits_assigned``
    Number of distinct visits served by some route.
``visits_unassigned``
    Number of the problem's visits served by no route.
``travel_time``
    Seconds of driving, summed over routes, including each leg to the end
    location.
``distance``
    Metres driven, the same legs as ``travel_time``. The key is absent when
    the problem's matrix has no distances.
``overtime``
    Seconds past shift end, summed over routes: ``max(0, end_time - shift_end)``.
``travel_share``
    ``travel_time`` divided by the summed route spans
    ``sum(end_time - start_time)``; ``0.0`` when there are no routes (or the
    spans sum to zero).
``waiting``
    Seconds waiting, ``sum(start - arrival)`` over all stops (a break taken
    while waiting at the door counts as waiting).
``service_time``
    Seconds of service, the summed ``duration`` of the visits served.
``assigned_by_acuity``, ``unassigned_by_acuity``
    Objects ``{"1": n, ..., "5": n}`` (every acuity present as a key, zeros
    included) counting served / not served visits by acuity.
``unassigned_mandatory``
    Number of mandatory visits served by no route.
``visits_per_clinician``
    ``{"mean": float, "min": int, "max": int}`` stops per clinician, over the
    clinicians with at least one stop; all zero when nobody has a stop.
``time_to_visit_by_acuity``
    Object ``{"<acuity>": mean seconds}`` from the opening of a served visit's
    first (earliest) time window -- or, for a visit without windows, its
    clinician's shift start -- to its service start. Only acuities with at
    least one served visit appear.
``workload_max_s``, ``workload_min_s``
    Largest / smallest seconds of service of a clinician with at least one
    stop (0 when nobody has a stop).
``workload_ratio``
    ``workload_max_s / workload_min_s``; ``1.0`` when at most one clinician
    has a stop, or when every one of them has 0 s of service; ``null`` when
    the least-loaded clinician has 0 s and another has more (unbounded).
``continuity``
    Share (0..1) of the served visits that have ``preferred_clinicians`` that
    were served by one of them; ``null`` when no served visit has preferences.
``clinicians_used``
    Number of distinct clinicians with at least one stop.

For a feasible solution (see :mod:`routing.check`) "served by some route" is
exactly "not in ``unassigned``". On an infeasible one the numbers are still
defined: stops of unknown visits and routes of unknown clinicians are ignored,
a visit served twice counts once in the visit counts and twice in the sums.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .model import ACUITY_MAX, ACUITY_MIN, Clinician, Problem, Solution, Stop, Visit

#: The KPI keys, in the order :func:`compute_kpis` emits them.
KPI_KEYS: tuple[str, ...] = (
    "visits_assigned",
    "visits_unassigned",
    "travel_time",
    "distance",
    "overtime",
    "travel_share",
    "waiting",
    "service_time",
    "assigned_by_acuity",
    "unassigned_by_acuity",
    "unassigned_mandatory",
    "visits_per_clinician",
    "time_to_visit_by_acuity",
    "workload_max_s",
    "workload_min_s",
    "workload_ratio",
    "continuity",
    "clinicians_used",
)

_ACUITIES = tuple(str(a) for a in range(ACUITY_MIN, ACUITY_MAX + 1))


def compute_kpis(problem: Problem, solution: Solution) -> dict[str, object]:
    """Recompute the plan's KPIs (seconds, metres, counts) from its stops.

    Parameters
    ----------
    problem
        The problem the solution answers; its matrix must be present.
    solution
        The routes to measure; ``solution.kpis`` and the route totals are not
        read.

    Returns
    -------
    dict
        JSON-serialisable values keyed as documented in this module, in the
        order of :data:`KPI_KEYS` (``distance`` only when the matrix has
        distances).

    Raises
    ------
    InvalidProblem
        If ``problem.matrix`` is None.
    """
    matrix = problem.require_matrix()
    durations, distances = matrix.durations, matrix.distances
    visits = {v.id: v for v in problem.visits}
    clinicians = {c.id: c for c in problem.clinicians}

    served: dict[str, tuple[Clinician, Stop]] = {}
    stops_by_clinician: dict[str, int] = defaultdict(int)
    service_by_clinician: dict[str, int] = defaultdict(int)
    travel = distance = overtime = span = waiting = service = 0
    for route in solution.routes:
        clinician = clinicians.get(route.clinician_id)
        if clinician is None:
            continue
        prev = clinician.start_location
        for stop in route.stops:
            visit = visits.get(stop.visit_id)
            if visit is None:
                continue
            travel += durations[prev][visit.location]
            if distances is not None:
                distance += distances[prev][visit.location]
            prev = visit.location
            waiting += stop.start - stop.arrival
            service += visit.duration
            served.setdefault(visit.id, (clinician, stop))
            stops_by_clinician[clinician.id] += 1
            service_by_clinician[clinician.id] += visit.duration
        travel += durations[prev][clinician.end]
        if distances is not None:
            distance += distances[prev][clinician.end]
        overtime += max(0, route.end_time - clinician.shift_end)
        span += route.end_time - route.start_time

    not_served = [v for v in problem.visits if v.id not in served]
    kpis: dict[str, object] = {
        "visits_assigned": len(served),
        "visits_unassigned": len(not_served),
        "travel_time": travel,
    }
    if distances is not None:
        kpis["distance"] = distance
    kpis["overtime"] = overtime
    kpis["travel_share"] = travel / span if span > 0 else 0.0
    kpis["waiting"] = waiting
    kpis["service_time"] = service
    kpis["assigned_by_acuity"] = _by_acuity(visits[vid] for vid in served)
    kpis["unassigned_by_acuity"] = _by_acuity(not_served)
    kpis["unassigned_mandatory"] = sum(1 for v in not_served if v.mandatory)
    counts = list(stops_by_clinician.values())
    kpis["visits_per_clinician"] = {
        "mean": sum(counts) / len(counts) if counts else 0.0,
        "min": min(counts, default=0),
        "max": max(counts, default=0),
    }
    kpis["time_to_visit_by_acuity"] = _time_to_visit(visits, served)
    loads = list(service_by_clinician.values())
    most, least = max(loads, default=0), min(loads, default=0)
    kpis["workload_max_s"] = most
    kpis["workload_min_s"] = least
    kpis["workload_ratio"] = _ratio(most, least, len(loads))
    kpis["continuity"] = _continuity(visits, served)
    kpis["clinicians_used"] = len(stops_by_clinician)
    return kpis


def _by_acuity(visits: Iterable[Visit]) -> dict[str, int]:
    counts = dict.fromkeys(_ACUITIES, 0)
    for v in visits:
        counts[str(v.acuity)] += 1
    return counts


def _time_to_visit(
    visits: dict[str, Visit], served: dict[str, tuple[Clinician, Stop]]
) -> dict[str, float]:
    delays: dict[str, list[int]] = defaultdict(list)
    for vid, (clinician, stop) in served.items():
        visit = visits[vid]
        opens = visit.windows[0][0] if visit.windows else clinician.shift_start
        delays[str(visit.acuity)].append(stop.start - opens)
    return {a: sum(delays[a]) / len(delays[a]) for a in _ACUITIES if a in delays}


def _ratio(most: int, least: int, n: int) -> float | None:
    if n <= 1 or most == 0:
        return 1.0
    if least == 0:
        return None
    return most / least


def _continuity(
    visits: dict[str, Visit], served: dict[str, tuple[Clinician, Stop]]
) -> float | None:
    with_preferences = [
        (visits[vid], clinician)
        for vid, (clinician, _) in served.items()
        if visits[vid].preferred_clinicians
    ]
    if not with_preferences:
        return None
    kept = sum(1 for v, c in with_preferences if c.id in v.preferred_clinicians)
    return kept / len(with_preferences)
