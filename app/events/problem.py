"""Change a stored plan problem (spec/problem.md JSON): new places, added and cancelled visits.

Pure functions on the problem dict of a plan version, used by the re-plan job
(:mod:`app.replan_job`) and by what-if insertions. New places are snapped to
the deployment's road graph and get matrix rows and columns; the matrix
entries between places already in the problem are kept exactly as stored, so
the routes of the version being revised keep their travel times.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import geo


@dataclass
class Placed:
    """Where new places went: label -> location index, and why others could not be added."""

    index: dict[str, int] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)


def copy_problem(problem: dict[str, Any]) -> dict[str, Any]:
    """A deep copy that may be edited (the stored one stays as it was)."""
    return copy.deepcopy(problem)


def add_places(
    problem: dict[str, Any],
    location_ids: list[str],
    places: Sequence[tuple[str, float, float]],
    graph: geo.RoadGraph,
    *,
    max_snap_m: float,
) -> Placed:
    """Add ``(label, lat, lon)`` places to ``problem`` (in place) with their matrix rows.

    A place at the lat/lon of an existing location reuses it. A place farther
    than ``max_snap_m`` from every road, or with no road path to or from the
    plan's other places, is not added: it is in ``unreachable`` with the reason.
    """
    out = Placed()
    locations = problem["locations"]
    known = {(float(loc["lat"]), float(loc["lon"])): i for i, loc in enumerate(locations)
             if "lat" in loc and "lon" in loc}
    fresh: list[tuple[str, float, float]] = []
    waiting: dict[tuple[float, float], list[str]] = {}
    for label, lat, lon in places:
        key = (float(lat), float(lon))
        if key in known:
            out.index[label] = known[key]
        elif key in waiting:
            waiting[key].append(label)
        else:
            waiting[key] = [label]
            fresh.append((label, key[0], key[1]))
    if not fresh:
        return out

    snaps = geo.snap_points(graph, [(lat, lon) for _, lat, lon in fresh],
                            ids=[label for label, _, _ in fresh], max_snap_m=math.inf)
    kept = []
    for (label, lat, lon), dist in zip(fresh, snaps.distance_m, strict=True):
        if dist > max_snap_m:
            out.unreachable[label] = (f"location ({lat:.6f}, {lon:.6f}) is {dist:,.0f} m from "
                                      f"the nearest road (the limit is {max_snap_m:,.0f} m): "
                                      "outside the map extract?")
        else:
            kept.append((label, lat, lon))

    n = len(locations)
    old_points = [(float(loc["lat"]), float(loc["lon"])) for loc in locations]
    matrix = None
    while kept:
        labels = [label for label, _, _ in kept]
        try:
            matrix = geo.travel_matrix(
                graph, old_points + [(lat, lon) for _, lat, lon in kept],
                ids=[*range(n), *labels], max_snap_m=max_snap_m)
            break
        except (geo.UnreachableLocation, geo.SnapTooFar) as exc:
            culprits = ([exc.from_id, exc.to_id] if isinstance(exc, geo.UnreachableLocation)
                        else [exc.location_id])
            bad = next((c for c in culprits if c in labels), None)
            if bad is None:  # two stored places no longer reach each other: not ours to fix
                raise
            k = labels.index(bad)
            lat, lon = kept[k][1], kept[k][2]
            out.unreachable[bad] = f"location ({lat:.6f}, {lon:.6f}) cannot be reached by road"
            del kept[k]
    if matrix is None:
        _spread_unreachable(out, waiting)
        return out

    durations = problem.setdefault("matrix", {}).setdefault("durations", [])
    distances = problem["matrix"].get("distances")
    new_d, new_m = matrix.durations_s, matrix.distances_m
    m = len(kept)
    for i in range(n):
        durations[i].extend(int(x) for x in new_d[i, n:n + m])
        if distances is not None:
            distances[i].extend(int(x) for x in new_m[i, n:n + m])
    for j in range(m):
        durations.append([int(x) for x in new_d[n + j, :n + m]])
        if distances is not None:
            distances.append([int(x) for x in new_m[n + j, :n + m]])
    for j, (label, lat, lon) in enumerate(kept):
        locations.append({"lat": lat, "lon": lon})
        location_ids.append(label)
        out.index[label] = n + j
    _spread_unreachable(out, waiting)
    for labels in waiting.values():  # places at one lat/lon share the first one's fate
        for label in labels[1:]:
            if labels[0] in out.index:
                out.index[label] = out.index[labels[0]]
    return out


def _spread_unreachable(out: Placed, waiting: dict[tuple[float, float], list[str]]) -> None:
    for labels in waiting.values():
        if labels[0] in out.unreachable:
            for label in labels[1:]:
                out.unreachable[label] = out.unreachable[labels[0]]


def visit_entry(visit: dict[str, Any], location: int, clinicians: set[str]) -> dict[str, Any]:
    """A ``visits:batch`` visit (JSON) as a problem visit at ``location``.

    As the problem builder does: preferences and exclusions of clinicians not
    in the plan have no effect (a pin to one is the caller's to handle).
    """
    d: dict[str, Any] = {
        "id": visit["id"],
        "location": location,
        "duration": visit["duration"],
        "time_windows": [list(w) for w in visit.get("time_windows") or []],
        "required_skills": sorted(visit.get("required_skills") or []),
        "acuity": visit.get("acuity", 1),
        "mandatory": bool(visit.get("mandatory", False)),
        "workload_points": visit.get("workload_points", 1),
        "preferred_clinicians": [c for c in visit.get("preferred_clinicians") or []
                                 if c in clinicians],
        "excluded_clinicians": [c for c in visit.get("excluded_clinicians") or []
                                if c in clinicians],
    }
    if visit.get("patient_id") is not None:
        d["patient_id"] = visit["patient_id"]
    if visit.get("pinned_clinician") is not None:
        d["pinned_clinician"] = visit["pinned_clinician"]
    return d


def link_visit_ids(link: dict[str, Any]) -> list[str]:
    """The visits a problem link ties together."""
    if link.get("type") == "precedence":
        return [link.get("first", ""), link.get("then", "")]
    return list(link.get("visits") or [])


def remove_visits(problem: dict[str, Any], visit_ids: set[str]) -> None:
    """Take visits out of ``problem`` (in place), and the links that tie them to others.

    The other visits of such a link stay, as ordinary visits: a cancelled half
    of a two-person visit does not cancel the patient's other half.
    """
    if not visit_ids:
        return
    problem["visits"] = [v for v in problem["visits"] if v["id"] not in visit_ids]
    problem["links"] = [link for link in problem.get("links") or []
                        if not set(link_visit_ids(link)) & visit_ids]
