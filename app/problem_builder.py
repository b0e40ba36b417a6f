"""Turn a date's rows into a routing problem (spec/problem.md JSON) on the road graph.

The rows are the clinicians who have a shift that date, the visits still
``requested`` and the date's links. Locations are the clinicians' start and
end places plus the visit locations, identical lat/lon counted once; the
matrix comes from :func:`geo.travel_matrix` on the deployment's graph.

What cannot be planned is taken out *before* the solve, never failing the
plan:

* a visit whose location is too far from every road (outside the extract, in
  a lake) is excluded and reported as ``location_unreachable``;
* a visit pinned to a clinician who does not work that day is excluded as
  ``pinned_clinician_unavailable``;
* the linked partners of an excluded visit are excluded as
  ``linked_visit_unassigned`` (linked visits are served together or not at all);
* a clinician whose start or end place cannot be snapped is left out of the
  solve and named in the plan's ``warnings``.

The plan's ``unassigned`` list is the solver's plus these ``excluded``
entries (``location_unreachable`` is not a :data:`routing.model.REASONS`
code: the solver never sees those visits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geo
from routing import problem_from_dict

from .models import ClinicianRow, LinkRow, ShiftRow, VisitRow

#: Reason code of a visit whose location cannot be reached by road.
LOCATION_UNREACHABLE = "location_unreachable"


@dataclass(frozen=True)
class DayRows:
    """What the database holds for one date (loaded by ``app.plans.repository``)."""

    date: str
    staff: Sequence[tuple[ClinicianRow, ShiftRow]]
    visits: Sequence[VisitRow]
    links: Sequence[LinkRow]


@dataclass
class BuiltProblem:
    """A problem ready to solve, and what was left out of it (with reasons)."""

    problem: dict[str, Any]
    #: One label per location: the first clinician place or visit that uses it.
    location_ids: list[str]
    #: Unassigned-shaped entries ``{"visit_id", "reason", "detail"}`` of excluded visits.
    excluded: list[dict[str, Any]] = field(default_factory=list)
    #: Plan-level warnings ``{"code", "clinician_id", "detail"}``.
    warnings: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Place:
    lat: float
    lon: float
    owners: list[tuple[str, str]]  # (kind, id): ("visit", "v-1") or ("clinician", "rn-ana")
    label: str


def _point(lat: float | None, lon: float | None) -> tuple[float, float] | None:
    """``(lat, lon)`` as floats, or None if it is not a coordinate."""
    if lat is None or lon is None or not (math.isfinite(lat) and math.isfinite(lon)):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return float(lat), float(lon)


def build_problem(
    day: DayRows,
    graph: geo.RoadGraph,
    *,
    max_snap_m: float,
    time_limit: float,
) -> BuiltProblem:
    """Build the problem of ``day`` on ``graph``; exclude what cannot be reached.

    Raises
    ------
    routing.InvalidProblem
        If the rows make an inconsistent problem (a bug upstream: the API
        validates every field it stores).
    """
    excluded: dict[str, dict[str, Any]] = {}
    warnings: list[dict[str, Any]] = []
    working = {c.id for c, _ in day.staff}

    visits = list(day.visits)
    for v in visits:
        if v.pinned_clinician is not None and v.pinned_clinician not in working:
            excluded[v.id] = _unassigned(
                v.id, "pinned_clinician_unavailable",
                f"pinned to {v.pinned_clinician}, who has no shift on {day.date}")

    # -- places: one per distinct lat/lon -------------------------------------
    places: dict[tuple[float, float], _Place] = {}

    def place(lat: float, lon: float, kind: str, oid: str, label: str) -> tuple[float, float]:
        key = (lat, lon)
        if key not in places:
            places[key] = _Place(key[0], key[1], [], label)
        places[key].owners.append((kind, oid))
        return key

    staff_places: dict[str, tuple[tuple[float, float], tuple[float, float]]] = {}
    for c, s in day.staff:
        start = (_point(s.start_lat, s.start_lon) if s.start_lat is not None
                 else _point(c.home_lat, c.home_lon))
        end = _point(s.end_lat, s.end_lon) if s.end_lat is not None else start
        if start is None or end is None:
            warnings.append(_warning(c.id, "the start or end place is not a valid lat/lon; "
                                           "left out of the plan"))
            continue
        staff_places[c.id] = (place(*start, "clinician", c.id, f"{c.id}:start"),
                              place(*end, "clinician", c.id, f"{c.id}:end"))
    visit_places: dict[str, tuple[float, float]] = {}
    for v in visits:
        if v.id in excluded:
            continue
        point = _point(v.lat, v.lon)
        if point is None:
            excluded[v.id] = _unassigned(v.id, LOCATION_UNREACHABLE,
                                         f"location ({v.lat}, {v.lon}) is not a valid lat/lon")
            continue
        visit_places[v.id] = place(*point, "visit", v.id, v.id)

    # -- snap: anything farther than max_snap_m from a road is out ---------------
    keys = list(places)
    if keys:
        snaps = geo.snap_points(graph, keys, ids=[places[k].label for k in keys],
                                max_snap_m=math.inf)
        for key, dist in zip(keys, snaps.distance_m, strict=True):
            if dist > max_snap_m:
                _drop_place(places.pop(key), excluded, warnings, staff_places,
                            f"is {dist:,.0f} m from the nearest road (the limit is "
                            f"{max_snap_m:,.0f} m): outside the map extract?")

    # -- matrix (retry without a location geo cannot route to) -------------------
    matrix = None
    while True:
        for v in visits:
            if (v.pinned_clinician is not None and v.id not in excluded
                    and v.pinned_clinician not in staff_places):
                excluded[v.id] = _unassigned(
                    v.id, "pinned_clinician_unavailable",
                    f"pinned to {v.pinned_clinician}, whose start or end place cannot be "
                    "reached by road")
        _exclude_linked_partners(day, visits, excluded)
        for vid in list(visit_places):
            if vid in excluded:
                del visit_places[vid]
        used = set(visit_places.values()) | {p for pair in staff_places.values() for p in pair}
        keys = [k for k in places if k in used]
        if not keys:
            break
        try:
            matrix = geo.travel_matrix(graph, keys, ids=keys, max_snap_m=max_snap_m)
            break
        except (geo.UnreachableLocation, geo.SnapTooFar) as exc:
            bad = exc.to_id if isinstance(exc, geo.UnreachableLocation) else exc.location_id
            bad_key = next(k for k in keys if k == bad)  # geo names the location by its key
            _drop_place(places.pop(bad_key), excluded, warnings, staff_places,
                        f"cannot be reached by road ({exc})")

    index = {k: i for i, k in enumerate(keys)}
    clinicians = []
    for c, s in day.staff:
        if c.id not in staff_places:
            continue
        start, end = staff_places[c.id]
        clinicians.append({
            "id": c.id,
            "skills": sorted(c.skills or []),
            "start_location": index[start],
            "end_location": index[end],
            "shift_start": s.start,
            "shift_end": s.end,
            "max_overtime": s.max_overtime or 0,
            **({"max_visits": c.max_visits} if c.max_visits is not None else {}),
            **({"max_workload_points": c.max_workload_points}
               if c.max_workload_points is not None else {}),
            "breaks": [dict(b) for b in (s.breaks or [])],
            "buffer_after_visit": c.buffer_after_visit or 0,
        })
    planned = {c["id"] for c in clinicians}
    problem_visits = []
    for v in visits:
        if v.id not in visit_places:
            continue
        d: dict[str, Any] = {
            "id": v.id,
            "location": index[visit_places[v.id]],
            "duration": v.duration,
            "time_windows": [list(w) for w in (v.time_windows or [])],
            "required_skills": sorted(v.required_skills or []),
            "acuity": v.acuity,
            "mandatory": bool(v.mandatory),
            "workload_points": v.workload_points,
            # a preference or exclusion of someone not working today has no effect
            "preferred_clinicians": [x for x in (v.preferred_clinicians or []) if x in planned],
            "excluded_clinicians": [x for x in (v.excluded_clinicians or []) if x in planned],
        }
        if v.patient_id is not None:
            d["patient_id"] = v.patient_id
        if v.pinned_clinician is not None:
            d["pinned_clinician"] = v.pinned_clinician
        problem_visits.append(d)
    kept = {d["id"] for d in problem_visits}
    links = [dict(link.data) for link in day.links if set(_link_ids(link.data)) <= kept]

    problem: dict[str, Any] = {
        "locations": [{"lat": k[0], "lon": k[1]} for k in keys],
        "clinicians": clinicians,
        "visits": problem_visits,
        "links": links,
        "options": {"time_limit": time_limit},
    }
    if matrix is not None:
        problem["matrix"] = {"durations": matrix.durations_s.tolist(),
                             "distances": matrix.distances_m.tolist()}
    else:
        problem["matrix"] = {"durations": [], "distances": []}
    problem_from_dict(problem)  # fail here, naming the field, rather than inside the solver
    order = {v.id: i for i, v in enumerate(visits)}
    return BuiltProblem(
        problem=problem,
        location_ids=[places[k].label for k in keys],
        excluded=sorted(excluded.values(), key=lambda u: order.get(u["visit_id"], 0)),
        warnings=warnings,
    )


def _unassigned(visit_id: str, reason: str, detail: str) -> dict[str, Any]:
    return {"visit_id": visit_id, "reason": reason, "detail": detail}


def _warning(clinician_id: str, detail: str) -> dict[str, Any]:
    return {"code": LOCATION_UNREACHABLE, "clinician_id": clinician_id, "detail": detail}


def _drop_place(
    p: _Place,
    excluded: dict[str, dict[str, Any]],
    warnings: list[dict[str, Any]],
    staff_places: dict[str, Any],
    why: str,
) -> None:
    where = f"({p.lat:.6f}, {p.lon:.6f})"
    for kind, oid in p.owners:
        if kind == "visit":
            excluded.setdefault(oid, _unassigned(oid, LOCATION_UNREACHABLE,
                                                 f"location {where} {why}"))
        elif oid in staff_places:
            del staff_places[oid]
            warnings.append(_warning(oid, f"start or end place {where} {why}; "
                                          "left out of the plan"))


def _link_ids(data: dict[str, Any]) -> list[str]:
    if data.get("type") == "precedence":
        return [data.get("first", ""), data.get("then", "")]
    return list(data.get("visits") or [])


def _exclude_linked_partners(
    day: DayRows, visits: Sequence[VisitRow], excluded: dict[str, dict[str, Any]]
) -> None:
    """Exclude every visit linked to an excluded or no longer requested visit."""
    requested = {v.id for v in visits}
    changed = True
    while changed:
        changed = False
        for link in day.links:
            ids = _link_ids(link.data)
            gone = [vid for vid in ids if vid in excluded or vid not in requested]
            if not gone:
                continue
            cause = gone[0]
            why = (f"{excluded[cause]['reason']}" if cause in excluded
                   else "cancelled or not requested for this date")
            for vid in ids:
                if vid in requested and vid not in excluded:
                    excluded[vid] = _unassigned(
                        vid, "linked_visit_unassigned",
                        f"linked visit {cause} cannot be served ({why})")
                    changed = True
