"""Solve a problem.md problem synchronously, within the server's time bound."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import geo
import routing
from app.errors import ApiError
from app.graph_source import GraphSource
from app.settings import Settings

#: Longest wait (s) for the road graph to finish loading before answering 503.
GRAPH_WAIT_S = 30.0


def solve(data: Any, settings: Settings, graph: GraphSource) -> dict[str, Any]:
    """The solution of ``data`` (422 naming the field when the problem is bad).

    ``options.time_limit`` defaults to the smaller of 10 s and
    ``settings.solve_max_time_limit`` and may not exceed the latter. Without a
    ``matrix``, every location needs lat/lon and the deployment's road graph
    gives the matrix.
    """
    if isinstance(data, dict) and data.get("matrix") is None and "locations" in data:
        data = {**data, "matrix": _road_matrix(data, settings, graph)}
    problem = routing.problem_from_dict(data)
    cap = float(settings.solve_max_time_limit)
    asked = (data.get("options") or {}).get("time_limit") if isinstance(data, dict) else None
    if asked is not None and problem.options.time_limit > cap:
        raise ApiError(422, "Invalid problem",
                       f"options.time_limit: at most {cap:g} s on this endpoint, got "
                       f"{problem.options.time_limit:g} (POST /v1/plans runs longer solves)",
                       field="options.time_limit", value=problem.options.time_limit)
    if asked is None:
        problem = replace(problem, options=replace(
            problem.options, time_limit=min(problem.options.time_limit, cap)))
    solution = routing.solve(problem)
    return routing.solution_to_dict(solution)


def _road_matrix(data: dict[str, Any], settings: Settings,
                 graph: GraphSource) -> dict[str, Any]:
    # the locations alone, read strictly: errors name locations[i].lat and the like
    locations = routing.problem_from_dict({"locations": data["locations"]}).locations
    points = []
    for i, loc in enumerate(locations):
        if loc.lat is None or loc.lon is None:
            raise routing.InvalidProblem(
                f"locations[{i}]", "needs lat and lon when the problem has no matrix")
        points.append((loc.lat, loc.lon))
    if not points:
        return {"durations": [], "distances": []}
    tm = geo.travel_matrix(graph.get(timeout=GRAPH_WAIT_S), points,
                           ids=[f"locations[{i}]" for i in range(len(points))],
                           max_snap_m=settings.max_snap_m)
    return {"durations": tm.durations_s.tolist(), "distances": tm.distances_m.tolist()}
