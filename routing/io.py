"""Read and write problems and solutions in their JSON form (spec/problem.md).

Reading is strict: an unknown field, a wrong type or a non-integer time raises
:class:`~routing.exceptions.InvalidProblem` naming the JSON path, so a typo in
a client's payload is never silently ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .exceptions import InvalidProblem, InvalidSolution
from .model import (
    Break,
    BreakTaken,
    Clinician,
    Link,
    Location,
    Matrix,
    Options,
    Precedence,
    Problem,
    Route,
    Simultaneous,
    Solution,
    Stop,
    Unassigned,
    Visit,
)


class _Reader:
    """Typed access to one JSON object, naming ``path`` in every error."""

    def __init__(
        self, data: Any, path: str, allowed: set[str], *, obj_id: str | None = None,
        error: type[InvalidProblem] | type[InvalidSolution] = InvalidProblem,
    ) -> None:
        self.error = error
        if not isinstance(data, Mapping):
            raise error(path or "(document)", f"must be an object, got {type(data).__name__}")
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise error(
                f"{path}.{unknown[0]}" if path else unknown[0],
                f"unknown field (allowed: {', '.join(sorted(allowed))})",
                obj_id=obj_id,
            )
        self.data, self.path, self.obj_id = data, path, obj_id

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def fail(self, key: str, message: str) -> None:
        raise self.error(self.where(key), message, obj_id=self.obj_id)

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def raw(self, key: str, default: Any = None) -> Any:
        value = self.data.get(key)
        return default if value is None else value

    def required(self, key: str) -> Any:
        if self.data.get(key) is None:
            self.fail(key, "is required")
        return self.data[key]

    def int_(self, key: str, default: int | None = None, *, required: bool = False) -> Any:
        value = self.required(key) if required else self.data.get(key)
        if value is None:
            return default
        return as_int(value, self.where(key), self.obj_id, self.error)

    def str_(self, key: str, default: str | None = None, *, required: bool = False) -> Any:
        value = self.required(key) if required else self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, str) or not value:
            self.fail(key, f"must be a non-empty string, got {value!r}")
        return value

    def bool_(self, key: str, default: bool = False) -> bool:
        value = self.data.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(key, f"must be true or false, got {value!r}")
        return value

    def list_(self, key: str, *, required: bool = False) -> list[Any]:
        value = self.required(key) if required else self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(key, f"must be a list, got {type(value).__name__}")
        return value

    def strs(self, key: str) -> tuple[str, ...]:
        items = self.list_(key)
        for k, item in enumerate(items):
            if not isinstance(item, str) or not item:
                self.fail(f"{key}[{k}]", f"must be a non-empty string, got {item!r}")
        return tuple(items)


def as_int(value: Any, where: str, obj_id: str | None = None, error: type = InvalidProblem) -> int:
    """``value`` as an int: integral floats pass, booleans and fractions do not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(where, f"must be an integer, got {value!r}", obj_id=obj_id)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise error(where, f"must be a whole number, got {value!r}", obj_id=obj_id)
        return int(value)
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidProblem(where, f"must be a number, got {value!r}")
    return float(value)


# -- problem --------------------------------------------------------------------


def problem_from_dict(data: Any) -> Problem:
    """Build a :class:`Problem` from its JSON form; raise InvalidProblem naming the field."""
    top = _Reader(
        data, "", {"locations", "matrix", "clinicians", "visits", "links", "options"}
    )
    locations = tuple(_location(x, f"locations[{i}]") for i, x in enumerate(top.list_(
        "locations", required=True)))
    matrix = _matrix(top.raw("matrix")) if top.has("matrix") else None
    clinicians = tuple(
        _clinician(x, f"clinicians[{i}]") for i, x in enumerate(top.list_("clinicians"))
    )
    visits = tuple(_visit(x, f"visits[{i}]") for i, x in enumerate(top.list_("visits")))
    links = tuple(_link(x, f"links[{i}]") for i, x in enumerate(top.list_("links")))
    options = _options(top.raw("options", {}))
    return Problem(
        locations=locations, matrix=matrix, clinicians=clinicians, visits=visits,
        links=links, options=options,
    )


def load_problem(path: str | Path) -> Problem:
    """Read a problem JSON file."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise InvalidProblem(str(path), f"is not valid JSON: {exc}") from exc
    return problem_from_dict(data)


def _location(data: Any, path: str) -> Location:
    r = _Reader(data, path, {"lat", "lon"})
    lat = _number(r.raw("lat"), r.where("lat")) if r.has("lat") else None
    lon = _number(r.raw("lon"), r.where("lon")) if r.has("lon") else None
    try:
        return Location(lat, lon)
    except InvalidProblem as exc:
        raise InvalidProblem(path, str(exc)) from None


def _matrix(data: Any) -> Matrix:
    r = _Reader(data, "matrix", {"durations", "distances"})
    durations = _rows(r.required("durations"), "matrix.durations")
    distances = _rows(r.raw("distances"), "matrix.distances") if r.has("distances") else None
    return Matrix(durations, distances)


def _rows(data: Any, path: str) -> tuple[tuple[int, ...], ...]:
    if not isinstance(data, list):
        raise InvalidProblem(path, f"must be a list of rows, got {type(data).__name__}")
    rows = []
    for i, row in enumerate(data):
        if not isinstance(row, list):
            raise InvalidProblem(f"{path}[{i}]", f"must be a list, got {type(row).__name__}")
        if all(type(v) is int for v in row):  # the common case, fast
            rows.append(tuple(row))
        else:
            rows.append(tuple(as_int(v, f"{path}[{i}][{j}]") for j, v in enumerate(row)))
    return tuple(rows)


def _clinician(data: Any, path: str) -> Clinician:
    cid = data.get("id") if isinstance(data, Mapping) else None
    r = _Reader(data, path, {
        "id", "skills", "start_location", "end_location", "shift_start", "shift_end",
        "max_overtime", "max_visits", "max_workload_points", "breaks", "buffer_after_visit",
    }, obj_id=cid if isinstance(cid, str) else None)
    breaks = []
    for k, b in enumerate(r.list_("breaks")):
        br = _Reader(b, f"{path}.breaks[{k}]", {"earliest_start", "latest_start", "duration"},
                     obj_id=r.obj_id)
        breaks.append(Break(
            br.int_("earliest_start", required=True), br.int_("latest_start", required=True),
            br.int_("duration", required=True),
        ))
    return Clinician(
        id=r.str_("id", required=True),
        skills=frozenset(r.strs("skills")),
        start_location=r.int_("start_location", required=True),
        end_location=r.int_("end_location"),
        shift_start=r.int_("shift_start", required=True),
        shift_end=r.int_("shift_end", required=True),
        max_overtime=r.int_("max_overtime", 0),
        max_visits=r.int_("max_visits"),
        max_workload_points=r.int_("max_workload_points"),
        breaks=tuple(breaks),
        buffer_after_visit=r.int_("buffer_after_visit", 0),
    )


def _visit(data: Any, path: str) -> Visit:
    vid = data.get("id") if isinstance(data, Mapping) else None
    r = _Reader(data, path, {
        "id", "patient_id", "location", "duration", "time_windows", "required_skills",
        "acuity", "mandatory", "workload_points", "preferred_clinicians",
        "excluded_clinicians", "pinned_clinician",
    }, obj_id=vid if isinstance(vid, str) else None)
    windows = []
    for k, w in enumerate(r.list_("time_windows")):
        if not isinstance(w, list) or len(w) != 2:
            r.fail(f"time_windows[{k}]", f"must be [start, end], got {w!r}")
        windows.append((
            as_int(w[0], r.where(f"time_windows[{k}][0]"), r.obj_id),
            as_int(w[1], r.where(f"time_windows[{k}][1]"), r.obj_id),
        ))
    return Visit(
        id=r.str_("id", required=True),
        patient_id=r.str_("patient_id"),
        location=r.int_("location", required=True),
        duration=r.int_("duration", required=True),
        time_windows=tuple(windows),
        required_skills=frozenset(r.strs("required_skills")),
        acuity=r.int_("acuity", 1),
        mandatory=r.bool_("mandatory"),
        workload_points=r.int_("workload_points", 1),
        preferred_clinicians=r.strs("preferred_clinicians"),
        excluded_clinicians=r.strs("excluded_clinicians"),
        pinned_clinician=r.str_("pinned_clinician"),
    )


def _link(data: Any, path: str) -> Link:
    kind = data.get("type") if isinstance(data, Mapping) else None
    if kind == "simultaneous":
        r = _Reader(data, path, {"type", "visits"})
        return Simultaneous(visits=r.strs("visits"))
    if kind == "precedence":
        r = _Reader(data, path, {"type", "first", "then", "min_gap", "max_gap"})
        return Precedence(
            first=r.str_("first", required=True), then=r.str_("then", required=True),
            min_gap=r.int_("min_gap", 0), max_gap=r.int_("max_gap"),
        )
    raise InvalidProblem(f"{path}.type", f"must be 'simultaneous' or 'precedence', got {kind!r}")


_OPTION_FIELDS = {
    "time_limit", "travel_weight", "distance_weight", "overtime_weight", "drop_penalty",
    "mandatory_penalty", "preference_penalty", "balance_weight", "seed",
}


def _options(data: Any) -> Options:
    r = _Reader(data, "options", _OPTION_FIELDS)
    values: dict[str, Any] = {}
    for name in _OPTION_FIELDS:
        if not r.has(name):
            continue
        if name == "time_limit":
            values[name] = _number(r.raw(name), r.where(name))
        else:
            values[name] = r.int_(name)
    return Options(**values)


def problem_to_dict(problem: Problem) -> dict[str, Any]:
    """The JSON form of ``problem`` (round-trips through :func:`problem_from_dict`)."""
    out: dict[str, Any] = {
        "locations": [
            {"lat": loc.lat, "lon": loc.lon} if loc.lat is not None else {}
            for loc in problem.locations
        ],
        "clinicians": [],
        "visits": [],
    }
    if problem.matrix is not None:
        out["matrix"] = {"durations": [list(r) for r in problem.matrix.durations]}
        if problem.matrix.distances is not None:
            out["matrix"]["distances"] = [list(r) for r in problem.matrix.distances]
    for c in problem.clinicians:
        d = asdict(c)
        d["skills"] = sorted(c.skills)
        d["breaks"] = [asdict(b) for b in c.breaks]
        out["clinicians"].append({k: v for k, v in d.items() if v is not None})
    for v in problem.visits:
        d = asdict(v)
        d["required_skills"] = sorted(v.required_skills)
        d["time_windows"] = [list(w) for w in v.time_windows]
        d["preferred_clinicians"] = list(v.preferred_clinicians)
        d["excluded_clinicians"] = list(v.excluded_clinicians)
        out["visits"].append({k: val for k, val in d.items() if val is not None})
    if problem.links:
        out["links"] = [
            {k: val for k, val in asdict(link).items() if val is not None}
            for link in problem.links
        ]
        for link in out["links"]:
            if "visits" in link:
                link["visits"] = list(link["visits"])
    out["options"] = asdict(problem.options)
    return out


# -- solution -------------------------------------------------------------------


def solution_to_dict(solution: Solution) -> dict[str, Any]:
    """The JSON form of ``solution`` (spec/problem.md "Solution")."""
    routes = []
    for r in solution.routes:
        d = asdict(r)
        d["stops"] = [asdict(s) for s in r.stops]
        d["breaks"] = [asdict(b) for b in r.breaks]
        routes.append(d)
    return {
        "routes": routes,
        "unassigned": [asdict(u) for u in solution.unassigned],
        "kpis": dict(solution.kpis),
    }


def solution_from_dict(data: Any) -> Solution:
    """Read a solution document (shape only; feasibility is :mod:`routing.check`'s job)."""
    top = _Reader(data, "", {"routes", "unassigned", "kpis"}, error=InvalidSolution)
    routes = []
    for i, rd in enumerate(top.list_("routes")):
        r = _Reader(rd, f"routes[{i}]", {
            "clinician_id", "start_time", "end_time", "stops", "breaks", "travel_time",
            "distance", "overtime",
        }, error=InvalidSolution)
        stops = []
        for k, sd in enumerate(r.list_("stops")):
            s = _Reader(sd, f"routes[{i}].stops[{k}]", {
                "visit_id", "arrival", "start", "end", "travel_time", "distance", "wait",
            }, error=InvalidSolution)
            stops.append(Stop(
                visit_id=s.str_("visit_id", required=True),
                arrival=s.int_("arrival", required=True),
                start=s.int_("start", required=True), end=s.int_("end", required=True),
                travel_time=s.int_("travel_time", required=True), distance=s.int_("distance"),
                wait=s.int_("wait", required=True),
            ))
        breaks = []
        for k, bd in enumerate(r.list_("breaks")):
            b = _Reader(bd, f"routes[{i}].breaks[{k}]", {"start", "duration"},
                        error=InvalidSolution)
            breaks.append(BreakTaken(b.int_("start", required=True),
                                     b.int_("duration", required=True)))
        routes.append(Route(
            clinician_id=r.str_("clinician_id", required=True),
            start_time=r.int_("start_time", required=True),
            end_time=r.int_("end_time", required=True),
            stops=tuple(stops), breaks=tuple(breaks),
            travel_time=r.int_("travel_time", required=True), distance=r.int_("distance"),
            overtime=r.int_("overtime", required=True),
        ))
    unassigned = []
    for i, ud in enumerate(top.list_("unassigned")):
        u = _Reader(ud, f"unassigned[{i}]", {"visit_id", "reason", "detail"},
                    error=InvalidSolution)
        detail = u.raw("detail", "")
        if not isinstance(detail, str):
            u.fail("detail", f"must be a string, got {detail!r}")
        unassigned.append(Unassigned(u.str_("visit_id", required=True),
                                     u.str_("reason", required=True), detail))
    kpis = top.raw("kpis", {})
    if not isinstance(kpis, Mapping):
        top.fail("kpis", f"must be an object, got {type(kpis).__name__}")
    return Solution(tuple(routes), tuple(unassigned), dict(kpis))


def load_solution(path: str | Path) -> Solution:
    """Read a solution JSON file."""
    try:
        data = json.loads(Path(path).read_text())
    except json.JSONDecodeError as exc:
        raise InvalidSolution(str(path), f"is not valid JSON: {exc}") from exc
    return solution_from_dict(data)
