"""POST /v1/plans/{id}/insertions: where one more visit fits today, without a re-plan."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from fastapi import FastAPI

import geo
import routing
from app import db
from app.audit.service import latest
from app.events.problem import add_places, copy_problem, visit_entry
from app.plans.pipeline import solution_md
from routing.schedule import RouteTimer
from tests.app.conftest import auth
from tests.app.test_events import doc, plan_row, planned  # noqa: F401  (fixtures)
from tests.app.test_plans import OFF_MAP, H, columbus, node_near, stored_version  # noqa: F401


@pytest.fixture(autouse=True)
def _graph_cached_first(columbus: geo.RoadGraph) -> None:  # noqa: F811
    """Cache the road graph before any app starts loading it in the background."""


def ask(client: Any, token: str, plan_id: str, visit: dict[str, Any], **body: Any) -> Any:
    return client.post(f"/v1/plans/{plan_id}/insertions", headers=auth(token),
                       json={"visit": visit, **body})


def test_insertions_are_feasible_and_change_nothing(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,  # noqa: F811
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """Each option starts after now, on an RN, and applied to its route passes the checker."""
    visit = {"id": "v-call", "patient_id": "p-call", "location": node_near(columbus, 0.4, 0.2),
             "duration": 1800, "required_skills": ["RN"], "acuity": 3}
    now = 10 * H
    began = time.perf_counter()
    r = ask(client, keys["dispatcher"], planned, visit, now=now, k=3)
    elapsed = time.perf_counter() - began
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["plan_id"], out["version"], out["visit_id"], out["now"]) == (
        planned, 1, "v-call", now)
    options = out["insertions"]
    assert 1 <= len(options) <= 3 and out["detail"] is None
    costs = [(o["added_travel"] + o["delay_to_later_stops"], o["start"]) for o in options]
    assert costs == sorted(costs)
    assert elapsed < 5.0, f"what-if took {elapsed:.2f} s"

    # apply each option to its route and let the independent checker judge the day
    row = stored_version(app, planned)
    problem_d = copy_problem(row.problem)
    labels = list(row.location_ids)
    placed = add_places(problem_d, labels, [("v-call", visit["location"]["lat"],
                                             visit["location"]["lon"])], columbus,
                        max_snap_m=500)
    entry = visit_entry(visit, placed.index["v-call"], {"rn-ana", "rn-ben", "pt-gus"})
    entry["time_windows"] = [[now, 48 * H]]  # the question: where, starting after now?
    problem_d["visits"].append(entry)
    problem = routing.problem_from_dict(problem_d)
    solution = routing.solution_from_dict(solution_md(row.solution, row.problem))
    timer = RouteTimer(problem)
    for o in options:
        assert o["clinician_id"].startswith("rn-") and o["start"] >= now
        assert o["end"] == o["start"] + 1800 and o["added_travel"] >= 0
        route = next(x for x in solution.routes if x.clinician_id == o["clinician_id"])
        assert all(s.start >= now for s in route.stops[o["position"]:])  # nothing begun moves
        order = [problem.visit(s.visit_id) for s in route.stops]
        order.insert(o["position"], problem.visit("v-call"))
        fixed = {s.visit_id: s.start for s in route.stops if s.start < now}
        timed = timer.time_route(problem.clinician(o["clinician_id"]), order,
                                 fixed_starts=fixed)
        assert timed is not None and timed.stops[o["position"]].start == o["start"]
        trial = replace(solution, routes=tuple(timed if x.clinician_id == o["clinician_id"]
                                               else x for x in solution.routes))
        assert routing.check(problem, replace(trial, kpis={})) == []  # kpis: not recomputed

    assert plan_row(app, planned).version == 1  # nothing re-planned, nothing stored
    with db.transaction(app.state.engine) as session:
        audit = [(a.action, list(a.record_ids)) for a in latest(session, limit=5)]
    assert ("plan.what_if", [planned, "v-call"]) in audit


def test_insertions_respect_skills_windows_and_pins(
    client: Any, keys: dict[str, str], planned: str,  # noqa: F811
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """A PT visit goes to the PT; a window ending before now or an absent pin: no option."""
    here = node_near(columbus, 0.0, 0.5)
    pt = {"id": "v-pt", "location": here, "duration": 1200, "required_skills": ["PT"],
          "time_windows": [[13 * H, 15 * H]]}
    r = ask(client, keys["dispatcher"], planned, pt, now=9 * H, k=10)
    assert r.status_code == 200, r.text
    assert {o["clinician_id"] for o in r.json()["insertions"]} == {"pt-gus"}
    assert all(13 * H <= o["start"] <= 15 * H for o in r.json()["insertions"])

    r = ask(client, keys["dispatcher"], planned, {**pt, "time_windows": [[9 * H, 10 * H]]},
            now=11 * H)
    assert r.status_code == 200 and r.json()["insertions"] == []
    assert "before now" in r.json()["detail"]
    r = ask(client, keys["dispatcher"], planned, {**pt, "pinned_clinician": "pt-zoe"},
            now=9 * H)
    assert r.status_code == 200 and r.json()["insertions"] == []
    assert "pt-zoe" in r.json()["detail"]


def test_insertion_errors_and_roles(
    client: Any, keys: dict[str, str], planned: str,  # noqa: F811
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """Off the map, a visit already planned, a bad k: 422 naming the field; clinician: 403."""
    here = node_near(columbus, 0.0, 0.5)
    visit = {"id": "v-x", "location": here, "duration": 1200}
    token = keys["dispatcher"]
    r = ask(client, token, planned, {**visit, "location": OFF_MAP}, now=9 * H)
    assert r.status_code == 422 and r.json()["field"] == "visit.location"
    r = ask(client, token, planned, {**visit, "id": "v-1"}, now=9 * H)
    assert r.status_code == 422 and r.json()["field"] == "visit.id"
    r = ask(client, token, planned, visit, now=9 * H, k=0)
    assert r.status_code == 422 and r.json()["field"] == "k"
    r = ask(client, token, planned, {**visit, "duration": -5})
    assert r.status_code == 422 and r.json()["field"] == "visit.duration"
    assert ask(client, token, "plan_nope", visit).status_code == 404
    assert ask(client, keys["clinician"], planned, visit).status_code == 403
    assert ask(client, keys["scheduler"], planned, visit, now=9 * H).status_code == 200
