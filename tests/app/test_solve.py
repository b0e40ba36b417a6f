"""POST /v1/solve: a problem.md problem in, a solution out, synchronously and bounded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import geo
import routing
from tests.app.conftest import auth
from tests.app.test_plans import OFF_MAP, columbus, node_near  # noqa: F401  (fixture)

SPEC_EXAMPLE = Path(__file__).parents[1] / "routing" / "data" / "spec_example.json"


@pytest.fixture(autouse=True)
def _graph_cached_first(columbus: geo.RoadGraph) -> None:  # noqa: F811
    """Cache the road graph before any app starts loading it in the background."""


def spec_problem(time_limit: float = 0.5) -> dict[str, Any]:
    data = json.loads(SPEC_EXAMPLE.read_text())
    data["options"] = {**data.get("options", {}), "time_limit": time_limit}
    return data


def road_problem(graph: geo.RoadGraph) -> dict[str, Any]:
    """A nurse and two visits on Columbus junctions, no matrix: the server computes it."""
    return {
        "locations": [node_near(graph, 0, 0), node_near(graph, 1.5, 1.0),
                      node_near(graph, -1.0, 2.0)],
        "clinicians": [{"id": "rn-ana", "skills": ["RN"], "start_location": 0,
                        "shift_start": 28800, "shift_end": 61200}],
        "visits": [
            {"id": "v-1", "location": 1, "duration": 1800, "required_skills": ["RN"]},
            {"id": "v-2", "location": 2, "duration": 1800, "required_skills": ["RN"],
             "time_windows": [[36000, 43200]]},
        ],
        "options": {"time_limit": 0.5},
    }


def test_solve_with_a_matrix(client: Any, keys: dict[str, str]) -> None:
    """The spec example is solved; the checker accepts the answer."""
    data = spec_problem()
    r = client.post("/v1/solve", headers=auth(keys["scheduler"]), json=data)
    assert r.status_code == 200, r.text
    solution = r.json()
    assert set(solution) == {"routes", "unassigned", "kpis"}
    problem = routing.problem_from_dict(data)
    assert routing.check(problem, routing.solution_from_dict(solution)) == []


def test_solve_on_the_road_graph(client: Any, keys: dict[str, str],
                                 columbus: geo.RoadGraph) -> None:  # noqa: F811
    """Without a matrix, lat/lon locations get road travel times from the server's map."""
    data = road_problem(columbus)
    r = client.post("/v1/solve", headers=auth(keys["dispatcher"]), json=data)
    assert r.status_code == 200, r.text
    solution = r.json()
    [route] = solution["routes"]
    assert sorted(s["visit_id"] for s in route["stops"]) == ["v-1", "v-2"]
    assert all(s["travel_time"] > 0 and s["distance"] > 0 for s in route["stops"])


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda d: d["visits"][0].update(acuity=9), "acuity"),
    (lambda d: d["visits"][0].update(colour="red"), "visits[0].colour"),
    (lambda d: d.update(options={"time_limit": 3600}), "options.time_limit"),
    (lambda d: d["clinicians"][0].update(start_location=99), "start_location"),
])
def test_bad_problem_is_422_naming_the_field(client: Any, keys: dict[str, str], mutate: Any,
                                             field: str) -> None:
    """A problem that breaks problem.md (or the time bound) is a 422 naming the field."""
    data = spec_problem()
    mutate(data)
    r = client.post("/v1/solve", headers=auth(keys["scheduler"]), json=data)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["field"] == field, r.json()


def test_road_problem_errors_name_the_location(client: Any, keys: dict[str, str],
                                              columbus: geo.RoadGraph) -> None:  # noqa: F811
    """No matrix: a location without lat/lon, or off the map, is a 422 naming it."""
    h = auth(keys["scheduler"])
    data = road_problem(columbus)
    data["locations"][2] = {}
    r = client.post("/v1/solve", headers=h, json=data)
    assert r.status_code == 422 and r.json()["field"] == "locations[2]", r.text
    data["locations"][2] = OFF_MAP
    r = client.post("/v1/solve", headers=h, json=data)
    assert r.status_code == 422 and r.json()["id"] == "locations[2]", r.text
    assert "nearest road" in r.json()["detail"]


def test_solve_roles(client: Any, keys: dict[str, str]) -> None:
    """A clinician key may not use the solver; no key: 401; not an object: 422."""
    assert client.post("/v1/solve", json=spec_problem()).status_code == 401
    r = client.post("/v1/solve", headers=auth(keys["clinician"]), json=spec_problem())
    assert r.status_code == 403
    r = client.post("/v1/solve", headers=auth(keys["scheduler"]), json=[1, 2])
    assert r.status_code == 422
