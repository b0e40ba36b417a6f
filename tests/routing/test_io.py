"""The problem and solution JSON contract (spec/problem.md): strict reading, faithful writing.

Every broken copy of a small valid problem changes one thing and must raise
InvalidProblem (a ValueError) whose message names the field and the offending
id or value, so a client can fix a payload from the error alone.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from routing.exceptions import InvalidProblem, InvalidSolution
from routing.io import (
    load_problem,
    load_solution,
    problem_from_dict,
    problem_to_dict,
    solution_from_dict,
    solution_to_dict,
)
from routing.model import Break, Precedence, Problem, Simultaneous, Solution

from .check_fixtures import DAY_KPIS, day_problem, day_solution, without_distances

HERE = Path(__file__).parent
SPEC_EXAMPLE = HERE / "data" / "spec_example.json"
SPEC_SOLUTION = HERE / "check_spec_example_solution.json"

DELETE = object()


def base_problem() -> dict[str, Any]:
    """A valid problem touching every object type: 3 locations, 2 clinicians, 3 visits."""
    return {
        "locations": [{"lat": 41.88, "lon": -87.63}, {"lat": 41.90, "lon": -87.65}, {}],
        "matrix": {
            "durations": [[0, 600, 900], [620, 0, 300], [910, 310, 0]],
            "distances": [[0, 5100, 7000], [5200, 0, 2500], [7100, 2600, 0]],
        },
        "clinicians": [
            {"id": "rn-ana", "skills": ["RN"], "start_location": 0, "shift_start": 28800,
             "shift_end": 61200, "max_overtime": 3600, "max_visits": 8,
             "max_workload_points": 6, "buffer_after_visit": 300,
             "breaks": [{"earliest_start": 41400, "latest_start": 48600, "duration": 1800}]},
            {"id": "aide-ben", "skills": ["aide"], "start_location": 2, "end_location": 0,
             "shift_start": 28800, "shift_end": 43200},
        ],
        "visits": [
            {"id": "v-1", "patient_id": "p-1", "location": 1, "duration": 2700,
             "time_windows": [[32400, 43200]], "required_skills": ["RN"], "acuity": 4,
             "mandatory": False, "workload_points": 1, "preferred_clinicians": ["rn-ana"],
             "excluded_clinicians": ["aide-ben"]},
            {"id": "v-2", "location": 2, "duration": 1800, "required_skills": ["aide"]},
            {"id": "v-3", "location": 1, "duration": 900, "pinned_clinician": "rn-ana"},
        ],
        "links": [
            {"type": "simultaneous", "visits": ["v-2", "v-3"]},
            {"type": "precedence", "first": "v-1", "then": "v-2", "min_gap": 0,
             "max_gap": 7200},
        ],
        "options": {"time_limit": 5, "seed": 3},
    }


def edited(doc: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of ``doc`` with each dotted path ("visits.0.duration") set (or deleted)."""
    doc = copy.deepcopy(doc)
    for path, value in edits.items():
        *parents, last = [int(p) if p.lstrip("-").isdigit() else p for p in path.split(".")]
        node: Any = doc
        for p in parents:
            node = node[p]
        if value is DELETE:
            del node[last]
        else:
            node[last] = value
    return doc


def bad(case_id: str, edits: dict[str, Any], *fragments: str, marks: Any = ()) -> Any:
    return pytest.param(edits, fragments, id=case_id, marks=marks)


BAD_PROBLEMS = [
    # unknown fields, at every level
    bad("unknown-top", {"colour": "red"}, "colour", "unknown field"),
    bad("unknown-location", {"locations.0.colour": 1}, "locations[0].colour", "unknown field"),
    bad("unknown-matrix", {"matrix.times": []}, "matrix.times", "unknown field"),
    bad("unknown-clinician", {"clinicians.0.colour": 1}, "clinicians[0].colour", "'rn-ana'"),
    bad("unknown-break", {"clinicians.0.breaks.0.colour": 1},
        "clinicians[0].breaks[0].colour", "'rn-ana'"),
    bad("unknown-visit", {"visits.0.colour": 1}, "visits[0].colour", "'v-1'"),
    bad("unknown-simultaneous", {"links.0.colour": 1}, "links[0].colour", "unknown field"),
    bad("unknown-precedence", {"links.1.colour": 1}, "links[1].colour", "unknown field"),
    bad("unknown-options", {"options.time_limt": 3}, "options.time_limt", "unknown field"),
    # wrong types
    bad("str-duration", {"visits.0.duration": "2700"}, "visits[0].duration", "'v-1'", "'2700'"),
    bad("bool-duration", {"visits.0.duration": True}, "visits[0].duration", "'v-1'", "True"),
    bad("fraction-duration", {"visits.0.duration": 2700.5}, "visits[0].duration", "2700.5"),
    bad("str-shift-start", {"clinicians.0.shift_start": "08:00"},
        "clinicians[0].shift_start", "'rn-ana'", "'08:00'"),
    bad("bool-max-visits", {"clinicians.0.max_visits": False},
        "clinicians[0].max_visits", "'rn-ana'", "False"),
    bad("fraction-break", {"clinicians.0.breaks.0.duration": 1800.5},
        "clinicians[0].breaks[0].duration", "'rn-ana'", "1800.5"),
    bad("str-window", {"visits.0.time_windows.0.0": "09:00"},
        "visits[0].time_windows[0][0]", "'v-1'", "'09:00'"),
    bad("bool-acuity", {"visits.0.acuity": True}, "visits[0].acuity", "'v-1'", "True"),
    bad("str-location", {"visits.0.location": "1"}, "visits[0].location", "'v-1'", "'1'"),
    bad("str-mandatory", {"visits.0.mandatory": "yes"}, "visits[0].mandatory", "'yes'"),
    bad("str-skills", {"clinicians.0.skills": "RN"}, "clinicians[0].skills", "list"),
    bad("int-skill", {"visits.0.required_skills": ["RN", 7]},
        "visits[0].required_skills[1]", "7"),
    bad("str-matrix-entry", {"matrix.durations.0.1": "600"}, "matrix.durations[0][1]", "'600'"),
    bad("bool-matrix-entry", {"matrix.durations.0.1": True}, "matrix.durations[0][1]", "True"),
    bad("fraction-distance", {"matrix.distances.1.0": 5200.5},
        "matrix.distances[1][0]", "5200.5"),
    bad("str-lat", {"locations.0.lat": "41.88"}, "locations[0].lat", "'41.88'"),
    bad("str-time-limit", {"options.time_limit": "10"}, "options.time_limit", "'10'"),
    bad("fraction-seed", {"options.seed": 1.5}, "options.seed", "1.5"),
    bad("not-an-object", {"clinicians.1": "aide-ben"}, "clinicians[1]", "must be an object"),
    # required fields
    bad("missing-locations", {"locations": DELETE}, "locations", "required"),
    bad("missing-duration", {"visits.1.duration": DELETE}, "visits[1].duration", "'v-2'",
        "required"),
    bad("missing-shift-end", {"clinicians.1.shift_end": DELETE},
        "clinicians[1].shift_end", "'aide-ben'", "required"),
    # negative durations
    bad("negative-duration", {"visits.0.duration": -1}, "duration", "'v-1'", "-1"),
    bad("negative-break", {"clinicians.0.breaks.0.duration": -60},
        "breaks[0].duration", "'rn-ana'", "-60"),
    bad("negative-buffer", {"clinicians.0.buffer_after_visit": -300},
        "buffer_after_visit", "'rn-ana'", "-300"),
    bad("negative-overtime", {"clinicians.0.max_overtime": -1}, "max_overtime", "'rn-ana'"),
    bad("negative-points", {"visits.1.workload_points": -2}, "workload_points", "'v-2'", "-2"),
    bad("negative-min-gap", {"links.1.min_gap": -60}, "links[1].min_gap", "-60"),
    bad("negative-penalty", {"options.drop_penalty": -1}, "options.drop_penalty", "-1"),
    # intervals and windows
    bad("window-reversed", {"visits.0.time_windows": [[43200, 32400]]},
        "time_windows[0]", "'v-1'", "43200", "32400"),
    bad("window-one-item", {"visits.0.time_windows": [[32400]]},
        "visits[0].time_windows[0]", "'v-1'", "[32400]"),
    bad("window-three-items", {"visits.0.time_windows": [[1, 2, 3]]},
        "visits[0].time_windows[0]", "'v-1'", "[1, 2, 3]"),
    bad("window-flat", {"visits.0.time_windows": [32400, 43200]},
        "visits[0].time_windows[0]", "32400"),
    bad("window-negative", {"visits.0.time_windows": [[-60, 43200]]},
        "time_windows[0]", "'v-1'", "-60"),
    bad("shift-reversed", {"clinicians.0.shift_end": 20000}, "shift_end", "'rn-ana'", "20000"),
    bad("break-reversed", {"clinicians.0.breaks.0.latest_start": 40000},
        "breaks[0]", "'rn-ana'", "40000", "41400"),
    # location indices
    bad("visit-location-high", {"visits.0.location": 3}, "location", "'v-1'", "3"),
    bad("visit-location-negative", {"visits.0.location": -1}, "location", "'v-1'", "-1"),
    bad("start-location-high", {"clinicians.0.start_location": 7},
        "start_location", "'rn-ana'", "7"),
    bad("end-location-high", {"clinicians.1.end_location": 3},
        "end_location", "'aide-ben'", "3"),
    # matrix shape and values
    bad("matrix-not-square", {"matrix.durations.1": [620, 0]},
        "matrix.durations[1]", "2 entries", "expected 3"),
    bad("matrix-vs-locations", {"matrix": {"durations": [[0, 60], [60, 0]]}},
        "matrix.durations", "2 rows", "3 locations"),
    bad("distances-vs-durations", {"matrix.distances": [[0, 10], [10, 0]]},
        "matrix.distances", "2 rows", "3"),
    bad("negative-travel", {"matrix.durations.0.1": -600}, "matrix.durations[0][1]", "-600"),
    bad("negative-distance", {"matrix.distances.2.1": -5}, "matrix.distances[2][1]", "-5"),
    bad("rows-not-a-list", {"matrix.durations": {"0": [0]}}, "matrix.durations", "dict"),
    # ids and references
    bad("duplicate-clinician", {"clinicians.1.id": "rn-ana"},
        "clinicians", "duplicate", "'rn-ana'"),
    bad("duplicate-visit", {"visits.2.id": "v-1"}, "visits", "duplicate", "'v-1'"),
    bad("empty-id", {"visits.1.id": ""}, "visits[1].id", "''"),
    bad("unknown-preferred", {"visits.0.preferred_clinicians": ["rn-zed"]},
        "preferred_clinicians", "'v-1'", "'rn-zed'"),
    bad("unknown-excluded", {"visits.0.excluded_clinicians": ["rn-zed"]},
        "excluded_clinicians", "'v-1'", "'rn-zed'"),
    bad("unknown-pinned", {"visits.1.pinned_clinician": "rn-zed"},
        "pinned_clinician", "'v-2'", "'rn-zed'"),
    bad("preferred-and-excluded", {"visits.0.excluded_clinicians": ["rn-ana"]},
        "preferred_clinicians", "'v-1'", "'rn-ana'"),
    bad("pinned-and-excluded", {"visits.0.pinned_clinician": "aide-ben"},
        "pinned_clinician", "'v-1'", "'aide-ben'"),
    bad("acuity-0", {"visits.0.acuity": 0}, "acuity", "'v-1'", "got 0"),
    bad("acuity-6", {"visits.0.acuity": 6}, "acuity", "'v-1'", "got 6"),
    # links
    bad("link-type", {"links.0.type": "together"}, "links[0].type", "'together'"),
    bad("link-unknown-visit", {"links.0.visits": ["v-2", "v-9"]}, "links[0]", "'v-9'"),
    bad("precedence-unknown-visit", {"links.1.then": "v-9"}, "links[1]", "'v-9'"),
    bad("link-repeated-visit", {"links.0.visits": ["v-2", "v-2"]}, "links[0]", "'v-2'"),
    bad("precedence-on-itself", {"links.1.then": "v-1"}, "links[1]", "'v-1'"),
    bad("link-one-visit", {"links.0.visits": ["v-2"]}, "links[0]", "'v-2'"),
    bad("max-gap-below-min-gap", {"links.1.min_gap": 3600, "links.1.max_gap": 1800},
        "links[1].max_gap", "1800", "3600"),
    # options
    bad("time-limit-0", {"options.time_limit": 0}, "options.time_limit", "must be > 0"),
    bad("time-limit-negative", {"options.time_limit": -5}, "options.time_limit", "-5"),
    # lat/lon
    bad("lat-high", {"locations.0.lat": 91}, "locations[0]", "lat", "91"),
    bad("lat-low", {"locations.1.lat": -90.5}, "locations[1]", "lat", "-90.5"),
    bad("lon-high", {"locations.0.lon": 181}, "locations[0]", "lon", "181"),
    bad("lat-only", {"locations.0.lon": DELETE}, "locations[0]", "lat", "lon"),
    bad("lon-only", {"locations.1.lat": DELETE}, "locations[1]", "lat", "lon"),
]


def test_base_problem_is_valid() -> None:
    """The unbroken problem the cases below start from is accepted."""
    p = problem_from_dict(base_problem())
    assert [c.id for c in p.clinicians] == ["rn-ana", "aide-ben"]
    assert p.links == (Simultaneous(("v-2", "v-3")), Precedence("v-1", "v-2", 0, 7200))


@pytest.mark.parametrize(("edits", "fragments"), BAD_PROBLEMS)
def test_bad_problem_names_field_and_value(edits: dict[str, Any], fragments: tuple[str]) -> None:
    """A contract breach raises InvalidProblem naming the field and the offending id or value."""
    with pytest.raises(InvalidProblem) as info:
        problem_from_dict(edited(base_problem(), edits))
    assert isinstance(info.value, ValueError)
    assert fragments[0] in info.value.field
    message = str(info.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize("document", [[], "problem", 5])
def test_non_object_problem_names_the_document(document: Any) -> None:
    """A problem that is not a JSON object is rejected with a non-empty field name."""
    with pytest.raises(InvalidProblem) as info:
        problem_from_dict(document)
    assert info.value.field and not str(info.value).startswith(":")


def test_time_beyond_any_day_is_rejected() -> None:
    """A shift end of 10**19 s is rejected when read, not left to overflow the solver."""
    with pytest.raises(InvalidProblem, match="shift_end"):
        problem_from_dict(edited(base_problem(), {"clinicians.0.shift_end": 10**19}))


def test_integral_floats_are_whole_seconds() -> None:
    """1800.0 is accepted as 1800 s (JSON encoders may write whole numbers with a point)."""
    p = problem_from_dict(edited(base_problem(), {"visits.1.duration": 1800.0}))
    assert p.visit("v-2").duration == 1800 and type(p.visit("v-2").duration) is int


def test_defaults_are_filled_in() -> None:
    """Omitted optional fields take the documented defaults (end = start, acuity 1, ...)."""
    p = problem_from_dict(base_problem())
    ben, v2 = p.clinician("aide-ben"), p.visit("v-2")
    assert (ben.end_location, ben.max_overtime, ben.buffer_after_visit) == (0, 0, 0)
    assert (ben.max_visits, ben.max_workload_points, ben.breaks) == (None, None, ())
    assert p.clinician("rn-ana").end_location == 0
    assert (v2.acuity, v2.mandatory, v2.workload_points, v2.time_windows) == (1, False, 1, ())
    assert (v2.preferred_clinicians, v2.excluded_clinicians, v2.pinned_clinician) == ((), (), None)


def test_spec_example_loads() -> None:
    """The example of spec/problem.md reads into the values it shows."""
    p = load_problem(SPEC_EXAMPLE)
    (ana,) = p.clinicians
    (v,) = p.visits
    assert ana.id == "rn-ana" and ana.skills == frozenset({"RN", "wound_care"})
    assert (ana.shift_start, ana.shift_end, ana.max_overtime) == (28800, 61200, 3600)
    assert ana.breaks == (Break(41400, 48600, 1800),) and ana.buffer_after_visit == 300
    assert v.time_windows == ((32400, 43200),) and v.acuity == 4 and v.patient_id == "p-77"
    assert p.matrix is not None and p.matrix.durations == ((0, 600), (620, 0))
    assert p.options.time_limit == 10


@pytest.mark.parametrize(
    "problem",
    [pytest.param(day_problem(), id="hand-day"),
     pytest.param(problem_from_dict(base_problem()), id="base"),
     pytest.param(load_problem(SPEC_EXAMPLE), id="spec-example"),
     pytest.param(without_distances(day_problem(), day_solution())[0], id="no-distances")],
)
def test_problem_round_trip(problem: Problem) -> None:
    """problem_to_dict, through JSON text, then problem_from_dict gives an equal problem."""
    text = json.dumps(problem_to_dict(problem))
    assert problem_from_dict(json.loads(text)) == problem


def test_load_problem_invalid_json(tmp_path: Path) -> None:
    """A file that is not JSON raises InvalidProblem naming the file."""
    path = tmp_path / "p.json"
    path.write_text('{"locations": [')
    with pytest.raises(InvalidProblem, match="p.json"):
        load_problem(path)


# -- solutions --------------------------------------------------------------------


def base_solution() -> dict[str, Any]:
    """The hand plan of check_fixtures as JSON, with its KPIs."""
    return solution_to_dict(Solution(day_solution().routes, day_solution().unassigned, DAY_KPIS))


@pytest.mark.parametrize(
    "solution",
    [pytest.param(Solution(day_solution().routes, day_solution().unassigned, DAY_KPIS),
                  id="hand-day"),
     pytest.param(without_distances(day_problem(), day_solution())[1], id="no-distances"),
     pytest.param(Solution((), ()), id="empty")],
)
def test_solution_round_trip(solution: Solution) -> None:
    """solution_to_dict, through JSON text, then solution_from_dict gives an equal solution."""
    back = solution_from_dict(json.loads(json.dumps(solution_to_dict(solution))))
    assert back == solution and back.kpis == json.loads(json.dumps(solution.kpis))


def test_solution_document_is_rewritten_unchanged() -> None:
    """Reading a solution file and writing it again gives the same JSON document."""
    assert solution_to_dict(load_solution(SPEC_SOLUTION)) == json.loads(SPEC_SOLUTION.read_text())


def test_solution_document_has_the_spec_fields() -> None:
    """Every field of the spec's solution example is present in a written solution."""
    doc = base_solution()
    assert set(doc) == {"routes", "unassigned", "kpis"}
    route = doc["routes"][0]
    assert set(route) == {"clinician_id", "start_time", "end_time", "stops", "breaks",
                          "travel_time", "distance", "overtime"}
    assert set(route["stops"][0]) == {"visit_id", "arrival", "start", "end", "travel_time",
                                      "distance", "wait"}
    assert set(route["breaks"][0]) == {"start", "duration"}
    assert set(doc["unassigned"][0]) == {"visit_id", "reason", "detail"}



BAD_SOLUTIONS = [
    bad("unknown-top", {"colour": 1}, "colour", "unknown field"),
    bad("unknown-route", {"routes.0.colour": 1}, "routes[0].colour", "unknown field"),
    bad("unknown-stop", {"routes.0.stops.1.eta": 1}, "routes[0].stops[1].eta", "unknown field"),
    bad("unknown-break", {"routes.0.breaks.0.end": 1}, "routes[0].breaks[0].end"),
    bad("unknown-unassigned", {"unassigned.0.why": 1}, "unassigned[0].why"),
    bad("str-start", {"routes.0.stops.0.start": "08:30"}, "routes[0].stops[0].start", "'08:30'"),
    bad("bool-wait", {"routes.1.stops.1.wait": True}, "routes[1].stops[1].wait", "True"),
    bad("fraction-break", {"routes.0.breaks.0.duration": 900.5},
        "routes[0].breaks[0].duration", "900.5"),
    bad("missing-arrival", {"routes.0.stops.0.arrival": DELETE},
        "routes[0].stops[0].arrival", "required"),
    bad("missing-end-time", {"routes.1.end_time": DELETE}, "routes[1].end_time", "required"),
    bad("int-clinician-id", {"routes.0.clinician_id": 7}, "routes[0].clinician_id", "7"),
    bad("missing-reason", {"unassigned.0.reason": DELETE}, "unassigned[0].reason", "required"),
    bad("routes-not-a-list", {"routes": "rn-ana"}, "routes", "list"),
    bad("stop-not-an-object", {"routes.0.stops.0": "v-wound"}, "routes[0].stops[0]", "object"),
    bad("kpis-number", {"kpis": 5}, "kpis", "object"),
    bad("kpis-pairs", {"kpis": [["visits_assigned", 5]]}, "kpis", "object"),
    bad("kpis-string", {"kpis": "ok"}, "kpis", "object"),
    bad("detail-number", {"unassigned.0.detail": 5}, "unassigned[0].detail", "5"),
]


@pytest.mark.parametrize(("edits", "fragments"), BAD_SOLUTIONS)
def test_bad_solution_names_field(edits: dict[str, Any], fragments: tuple[str]) -> None:
    """A malformed solution document raises InvalidSolution naming the field."""
    with pytest.raises(InvalidSolution) as info:
        solution_from_dict(edited(base_solution(), edits))
    assert fragments[0] in info.value.field
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_load_solution_invalid_json(tmp_path: Path) -> None:
    """A solution file that is not JSON raises InvalidSolution naming the file."""
    path = tmp_path / "s.json"
    path.write_text("routes: []")
    with pytest.raises(InvalidSolution, match="s.json"):
        load_solution(path)


def test_a_float_window_built_in_python_is_refused() -> None:
    """Visit(time_windows=((9.5, 10),)) raises a ValueError naming the field and the visit."""
    from routing import Visit

    with pytest.raises(ValueError, match=r"time_windows\[0\].*v-1|v-1.*time_windows\[0\]"):
        Visit(id="v-1", location=0, duration=60, time_windows=((9.5, 10),))
