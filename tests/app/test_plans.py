"""Plans end to end: POST /v1/plans -> a real worker process solves -> GET the plan.

A small day on real Columbus streets (the bundled extract): 3 clinicians and 8
visits at road junctions near downtown, so anyone can see where they are.
The helpers and fixtures here (``columbus``, ``seed_day``, ``worker``,
``wait_job``...) are shared by test_route.py and test_jobs.py.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy import select

import geo
import routing
from app import db
from app.audit.service import latest
from app.jobs.worker import EmbeddedRunner
from app.models import PlanVersionRow
from app.plans.pipeline import solution_md
from app.settings import DEMO_OSM, Settings
from tests.app.conftest import auth

DATE = "2026-11-23"
H = 3600
#: Downtown Columbus, and where the day's places are from it (km north, km east).
CENTRE = (39.9612, -82.9988)
HOMES = {"rn-ana": (1.0, -1.5), "rn-ben": (-1.2, 1.0), "pt-gus": (0.5, 2.0)}
VISITS = [
    # id, km north, km east, skills, window (s), acuity
    ("v-1", 0.0, 0.0, ["RN"], [9 * H, 12 * H], 3),
    ("v-2", 1.5, 0.5, ["RN", "wound_care"], None, 2),
    ("v-3", -0.8, -0.8, ["RN"], [13 * H, 15 * H], 2),
    ("v-4", 2.0, -1.0, ["RN"], None, 1),
    ("v-5", -1.5, 1.5, ["PT"], [9 * H, 11 * H], 2),
    ("v-6", 0.8, 2.5, ["PT"], None, 1),
    ("v-7", -2.0, -0.3, ["RN"], None, 4),
    ("v-8", 1.0, 1.0, ["PT"], [12 * H, 16 * H], 1),
]
#: Far south of the extract (it ends near 39.89 N): no road within kilometres.
OFF_MAP = {"lat": 39.70, "lon": -83.00}
FINAL = ("succeeded", "failed", "cancelled")


@pytest.fixture(scope="session")
def columbus(graph_cache_dir: Path) -> geo.RoadGraph:
    """The bundled Columbus graph, cached where the app and the worker processes look.

    Seeded from the user's graph cache when it holds one (parsing the extract
    takes ~15 s); load_graph still checks the copy against the extract.
    """
    from geo.load import cache_path

    mine, target = cache_path(DEMO_OSM), cache_path(DEMO_OSM, graph_cache_dir)
    if mine.is_file() and not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mine, target)
    return geo.load_graph(DEMO_OSM, cache_dir=graph_cache_dir)


@pytest.fixture(autouse=True)
def _graph_cached_first(columbus: geo.RoadGraph) -> None:  # noqa: F811
    """Cache the road graph before any app starts loading it in the background."""


def node_near(graph: geo.RoadGraph, km_north: float, km_east: float) -> dict[str, float]:
    """The road junction nearest a point ``km_north``/``km_east`` of downtown."""
    lat = CENTRE[0] + km_north / 111.2
    lon = CENTRE[1] + km_east / (111.2 * np.cos(np.radians(CENTRE[0])))
    i = int(np.argmin((graph.node_lat - lat) ** 2 + (graph.node_lon - lon) ** 2))
    return {"lat": float(graph.node_lat[i]), "lon": float(graph.node_lon[i])}


def seed_day(client: Any, keys: dict[str, str], graph: geo.RoadGraph, *,
             extra_visits: list[dict[str, Any]] = ()) -> None:  # type: ignore[assignment]
    """PUT the 3 clinicians and their shifts, POST the 8 visits (and any extras)."""
    h = auth(keys["scheduler"])
    for cid, (north, east) in HOMES.items():
        skills = ["PT"] if cid.startswith("pt") else ["RN"]
        if cid == "rn-ana":
            skills.append("wound_care")
        r = client.put(f"/v1/clinicians/{cid}", headers=h, json={
            "skills": skills, "home": node_near(graph, north, east), "max_visits": 6,
            "buffer_after_visit": 300})
        assert r.status_code in (200, 201), r.text
        r = client.put(f"/v1/clinicians/{cid}/shifts/{DATE}", headers=h, json={
            "start": 8 * H, "end": 16 * H + 1800, "max_overtime": 1800,
            "breaks": [{"earliest_start": 11 * H + 1800, "latest_start": 13 * H,
                        "duration": 1800}]})
        assert r.status_code in (200, 201), r.text
    visits = [{
        "id": vid, "patient_id": f"p-{vid[2:]}", "location": node_near(graph, n, e),
        "duration": 2700, "time_windows": [w] if w else [], "required_skills": skills,
        "acuity": acuity} for vid, n, e, skills, w, acuity in VISITS]
    r = client.post("/v1/visits:batch", headers=h,
                    json={"date": DATE, "visits": visits + list(extra_visits)})
    assert r.status_code == 200, r.text


def fast_settings(settings: Settings) -> Settings:
    """The test settings with one worker process and a 1 s search."""
    return settings.model_copy(update={"workers": 1, "plan_time_limit": 1.0})


@pytest.fixture
def worker(app: FastAPI, settings: Settings, columbus: geo.RoadGraph) -> Iterator[EmbeddedRunner]:
    """A real embedded runner (one worker process) for the test's database."""
    runner = EmbeddedRunner(fast_settings(settings), poll_interval=0.2)
    runner.start()
    app.state.runner = runner
    try:
        yield runner
    finally:
        app.state.runner = None
        runner.stop()


def wait_job(client: Any, token: str, job_id: str, timeout: float = 90.0) -> dict[str, Any]:
    """Poll GET /v1/jobs/{id} until the job ends; its last state."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.get(f"/v1/jobs/{job_id}", headers=auth(token))
        assert r.status_code == 200, r.text
        job = r.json()
        if job["state"] in FINAL or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def plan_day(client: Any, keys: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """POST /v1/plans for DATE with a 1 s search, wait for its job; (plan id, job)."""
    r = client.post("/v1/plans", headers=auth(keys["dispatcher"]),
                    json={"date": DATE, "time_limit": 1})
    assert r.status_code == 202, r.text
    body = r.json()
    assert r.headers["Location"] == f"/v1/jobs/{body['job_id']}"
    job = wait_job(client, keys["dispatcher"], body["job_id"])
    return body["plan_id"], job


def stored_version(app: FastAPI, plan_id: str, version: int = 1) -> PlanVersionRow:
    with db.transaction(app.state.engine) as session:
        row = session.scalars(select(PlanVersionRow).where(
            PlanVersionRow.plan_id == plan_id, PlanVersionRow.version == version)).one()
        session.expunge(row)
        return row


# -- the day, planned ---------------------------------------------------------------


def test_plan_is_solved_by_the_worker_and_checks(
    app: FastAPI, client: Any, keys: dict[str, str], columbus: geo.RoadGraph,
    worker: EmbeddedRunner,
) -> None:
    """A posted plan is solved in a worker process, stored as version 1, checks, is audited."""
    seed_day(client, keys, columbus)
    plan_id, job = plan_day(client, keys)
    assert job["state"] == "succeeded", job
    assert job["progress"] == 1.0 and job["plan_id"] == plan_id and job["error"] is None

    r = client.get(f"/v1/plans/{plan_id}", headers=auth(keys["scheduler"]))
    assert r.status_code == 200, r.text
    assert r.headers["ETag"] == '"1"'
    same = client.get(f"/v1/plans/{plan_id}",
                      headers={**auth(keys["scheduler"]), "If-None-Match": '"1"'})
    assert same.status_code == 304 and same.headers["ETag"] == '"1"'
    plan = r.json()
    assert (plan["id"], plan["date"], plan["version"], plan["status"]) == (
        plan_id, DATE, 1, "ready")
    for route in plan["routes"]:
        assert set(route) >= {"clinician_id", "start_time", "end_time", "stops", "breaks",
                              "travel_time", "distance", "overtime"}
        for stop in route["stops"]:
            assert set(stop) >= {"visit_id", "arrival", "start", "end", "travel_time",
                                 "distance", "wait", "patient_id", "location", "polyline"}
            assert stop["patient_id"] == f"p-{stop['visit_id'][2:]}"
    assert set(plan["kpis"]) >= {"visits_assigned", "visits_unassigned", "travel_time",
                                 "distance", "overtime", "travel_share"}
    served = [s["visit_id"] for r in plan["routes"] for s in r["stops"]]
    left = [u["visit_id"] for u in plan["unassigned"]]
    assert sorted(served + left) == sorted(v[0] for v in VISITS)
    assert len(served) >= 6  # an easy day: the optimiser serves nearly everything

    # the independent checker accepts the plan against the problem stored with it
    version = stored_version(app, plan_id)
    problem = routing.problem_from_dict(version.problem)
    solution = routing.solution_from_dict(solution_md(plan, version.problem))
    assert routing.check(problem, solution) == []
    assert plan["kpis"]["gap_to_baseline"] is not None

    # creating and reading it were audited, naming the plan and its visits
    with db.transaction(app.state.engine) as session:
        rows = [(r.action, r.role, list(r.record_ids)) for r in latest(session, limit=50)]
    audit = {action: (role, ids) for action, role, ids in rows}
    assert audit["plan.create"] == ("dispatcher", [plan_id])
    role, ids = audit["plan.read"]
    assert role == "scheduler" and ids[0] == plan_id and set(ids[1:]) == {v[0] for v in VISITS}


def test_a_visit_off_the_map_is_unassigned_not_a_failed_plan(
    app: FastAPI, client: Any, keys: dict[str, str], columbus: geo.RoadGraph,
    worker: EmbeddedRunner,
) -> None:
    """A visit far from every road is reported as location_unreachable; the plan is ready."""
    lost = {"id": "v-lost", "patient_id": "p-lost", "location": OFF_MAP, "duration": 1800,
            "required_skills": ["RN"], "acuity": 2}
    seed_day(client, keys, columbus, extra_visits=[lost])
    plan_id, job = plan_day(client, keys)
    assert job["state"] == "succeeded", job
    plan = client.get(f"/v1/plans/{plan_id}", headers=auth(keys["scheduler"])).json()
    assert plan["status"] == "ready"
    entry = next(u for u in plan["unassigned"] if u["visit_id"] == "v-lost")
    assert entry["reason"] == "location_unreachable"
    assert "nearest road" in entry["detail"] and entry["patient_id"] == "p-lost"
    assert plan["kpis"]["visits_excluded"] == 1
    assert "v-lost" not in {s["visit_id"] for r in plan["routes"] for s in r["stops"]}
    version = stored_version(app, plan_id)
    assert "v-lost" not in {v["id"] for v in version.problem["visits"]}
    problem = routing.problem_from_dict(version.problem)
    assert routing.check(problem, routing.solution_from_dict(
        solution_md(plan, version.problem))) == []


# -- asking for a plan: validation, roles ------------------------------------------------


def test_nothing_to_plan_is_422_naming_the_date(
    client: Any, keys: dict[str, str], columbus: geo.RoadGraph
) -> None:
    """No shift that date, or no visit requested, is a 422 whose detail names the date."""
    h = auth(keys["scheduler"])
    r = client.post("/v1/plans", headers=h, json={"date": DATE})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert DATE in r.json()["detail"] and "shift" in r.json()["detail"]
    assert r.json()["field"] == "date"

    client.put("/v1/clinicians/rn-ana", headers=h,
               json={"skills": ["RN"], "home": node_near(columbus, 0, 0)})
    client.put(f"/v1/clinicians/rn-ana/shifts/{DATE}", headers=h,
               json={"start": 8 * H, "end": 16 * H})
    r = client.post("/v1/plans", headers=h, json={"date": DATE})
    assert r.status_code == 422 and DATE in r.json()["detail"]
    assert "visit" in r.json()["detail"]


@pytest.mark.parametrize(("body", "field"), [
    ({"date": DATE, "time_limit": 0}, "time_limit"),
    ({"date": DATE, "time_limit": -5}, "time_limit"),
    ({"date": DATE, "time_limit": "fast"}, "time_limit"),
    ({"date": DATE, "time_limit": 100_000}, "time_limit"),
    ({"date": "23/11/2026"}, "date"),
    ({"date": DATE, "region": "north"}, "region"),
])
def test_bad_plan_request_is_422_naming_the_field(
    client: Any, keys: dict[str, str], columbus: geo.RoadGraph, body: dict[str, Any],
    field: str,
) -> None:
    """A bad time limit, date or an unknown field is a 422 naming it."""
    seed_day(client, keys, columbus)
    r = client.post("/v1/plans", headers=auth(keys["scheduler"]), json=body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field


def test_plan_roles(client: Any, keys: dict[str, str]) -> None:
    """No key: 401; a clinician may neither create nor read plans: 403."""
    assert client.post("/v1/plans", json={"date": DATE}).status_code == 401
    h = auth(keys["clinician"])
    assert client.post("/v1/plans", headers=h, json={"date": DATE}).status_code == 403
    assert client.get("/v1/plans", headers=h).status_code == 403
    assert client.get("/v1/plans/plan_x", headers=h).status_code == 403


def test_plans_of_a_date_newest_first_and_unknown_plan_404(
    client: Any, keys: dict[str, str], columbus: geo.RoadGraph
) -> None:
    """GET /v1/plans?date= lists newest first; a solving plan has version 0 and no ETag 1."""
    seed_day(client, keys, columbus)
    h = auth(keys["scheduler"])
    ids = [client.post("/v1/plans", headers=h, json={"date": DATE}).json()["plan_id"]
           for _ in range(3)]
    listed = client.get("/v1/plans", headers=h, params={"date": DATE}).json()["plans"]
    assert [p["id"] for p in listed] == ids[::-1]
    assert all(p["status"] == "solving" and p["version"] == 0 for p in listed)
    assert client.get("/v1/plans", headers=h, params={"date": "2026-11-24"}).json() == {
        "plans": []}
    solving = client.get(f"/v1/plans/{ids[0]}", headers=h)
    assert solving.status_code == 200
    assert solving.json()["routes"] == [] and solving.json()["kpis"] == {}
    r = client.get("/v1/plans/plan_nope", headers=h)
    assert r.status_code == 404 and "plan_nope" in r.json()["detail"]


# -- the problem builder on its own -------------------------------------------------------


def test_builder_leaves_out_what_cannot_be_planned(columbus: geo.RoadGraph) -> None:
    """Off-map visits and clinicians, pins to absent staff and their linked partners are out."""
    from app.models import ClinicianRow, LinkRow, ShiftRow, VisitRow
    from app.problem_builder import DayRows, build_problem

    here, there = node_near(columbus, 0, 0), node_near(columbus, 1, 1)

    def staff(cid: str, home: dict[str, float]) -> tuple[ClinicianRow, ShiftRow]:
        return (ClinicianRow(id=cid, skills=["RN"], home_lat=home["lat"], home_lon=home["lon"],
                             buffer_after_visit=0),
                ShiftRow(clinician_id=cid, start=8 * H, end=16 * H, max_overtime=0, breaks=[]))

    def visit(vid: str, at: dict[str, float], **kw: Any) -> VisitRow:
        fields: dict[str, Any] = {
            "patient_id": f"p-{vid}", "duration": 1800, "time_windows": [],
            "required_skills": ["RN"], "acuity": 1, "mandatory": False, "workload_points": 1,
            "preferred_clinicians": [], "excluded_clinicians": [], "pinned_clinician": None,
            **kw}
        return VisitRow(id=vid, lat=at["lat"], lon=at["lon"], status="requested", **fields)

    day = DayRows(
        date=DATE,
        staff=[staff("rn-ana", here), staff("rn-off", OFF_MAP)],
        visits=[visit("v-1", here, preferred_clinicians=["rn-off", "rn-ana"]),
                visit("v-2", there), visit("v-3", here), visit("v-lake", OFF_MAP),
                visit("v-pin", there, pinned_clinician="rn-gone"),
                visit("v-pin-off", there, pinned_clinician="rn-off")],
        links=[LinkRow(data={"type": "simultaneous", "visits": ["v-lake", "v-2"]}),
               LinkRow(data={"type": "precedence", "first": "v-1", "then": "v-3"})],
    )
    built = build_problem(day, columbus, max_snap_m=500, time_limit=1)
    reasons = {u["visit_id"]: u["reason"] for u in built.excluded}
    assert reasons == {"v-lake": "location_unreachable", "v-2": "linked_visit_unassigned",
                       "v-pin": "pinned_clinician_unavailable",
                       "v-pin-off": "pinned_clinician_unavailable"}
    assert [w["clinician_id"] for w in built.warnings] == ["rn-off"]
    problem = built.problem
    assert [c["id"] for c in problem["clinicians"]] == ["rn-ana"]
    assert [v["id"] for v in problem["visits"]] == ["v-1", "v-3"]
    assert problem["visits"][0]["preferred_clinicians"] == ["rn-ana"]
    assert len(problem["locations"]) == 1  # v-1, v-3 and rn-ana's home share one place
    assert problem["links"] == [{"type": "precedence", "first": "v-1", "then": "v-3"}]
    routing.problem_from_dict(problem)
