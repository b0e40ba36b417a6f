"""GET /v1/clinicians/{id}/route: the mobile app's view of the newest ready plan."""

from __future__ import annotations

import copy
import math
from typing import Any

import polyline
import pytest
from fastapi import FastAPI

import geo
from app import db
from app.jobs.worker import EmbeddedRunner
from app.models import PlanRow, PlanVersionRow
from tests.app.conftest import auth
from tests.app.test_plans import (  # noqa: F401  (fixtures)
    DATE,
    columbus,
    plan_day,
    seed_day,
    stored_version,
    worker,
)


@pytest.fixture(autouse=True)
def _graph_cached_first(columbus: geo.RoadGraph) -> None:  # noqa: F811
    """Cache the road graph before any app starts loading it in the background."""


def metres(a: tuple[float, float], b: dict[str, float] | tuple[float, float]) -> float:
    lat, lon = (b["lat"], b["lon"]) if isinstance(b, dict) else b
    dy = (a[0] - lat) * 111_200
    dx = (a[1] - lon) * 111_200 * math.cos(math.radians(lat))
    return math.hypot(dx, dy)


def _bump_version(app: FastAPI, plan_id: str, version: int = 2,
                  late_s: dict[str, int] | None = None) -> None:
    """Store the next version of the plan (a copy of 1), as a re-plan would.

    ``late_s``: clinician id -> seconds their stops start later in the copy.
    """
    v1 = stored_version(app, plan_id)
    solution = copy.deepcopy(v1.solution)
    for route in solution["routes"]:
        for stop in route["stops"]:
            stop["start"] += (late_s or {}).get(route["clinician_id"], 0)
    with db.transaction(app.state.engine) as session:
        session.add(PlanVersionRow(plan_id=plan_id, version=version, problem=v1.problem,
                                   solution=solution, location_ids=v1.location_ids))
        plan = session.get(PlanRow, plan_id)
        assert plan is not None
        plan.version = version


def test_clinician_reads_own_route_with_geometry_and_etag(
    app: FastAPI, client: Any, keys: dict[str, str], columbus: geo.RoadGraph,  # noqa: F811
    worker: EmbeddedRunner,  # noqa: F811
) -> None:
    """Stops with ETAs, decodable leg polylines (and the leg home), ETag/304, 403 for others."""
    seed_day(client, keys, columbus)
    plan_id, job = plan_day(client, keys)
    assert job["state"] == "succeeded", job
    me = auth(keys["clinician"])  # the key of rn-ana

    r = client.get("/v1/clinicians/rn-ana/route", headers=me, params={"date": DATE})
    assert r.status_code == 200, r.text
    route = r.json()
    assert (route["clinician_id"], route["plan_id"], route["version"]) == ("rn-ana", plan_id, 1)
    assert route["stops"], "rn-ana should have visits on this day"
    previous_end = route["start_time"]
    here = route["start_location"]
    for stop in route["stops"]:
        assert stop["visit_id"].startswith("v-") and stop["patient_id"].startswith("p-")
        assert previous_end <= stop["arrival"] <= stop["start"] < stop["end"]
        previous_end = stop["end"]
        path = polyline.decode(stop["polyline"], 5)
        assert len(path) >= 2
        # the leg runs from the previous place to this stop (both at road junctions)
        assert metres(path[0], here) < 60 and metres(path[-1], stop["location"]) < 60
        here = stop["location"]
    home = polyline.decode(route["end_leg"]["polyline"], 5)
    assert metres(home[0], here) < 60 and metres(home[-1], route["end_location"]) < 60
    assert route["end_time"] >= previous_end + route["end_leg"]["travel_time"]
    if route["end_time"] > 11 * 3600 + 1800:  # still working when lunch may start
        assert [b["duration"] for b in route["breaks"]] == [1800]

    tag = r.headers["ETag"]
    again = client.get("/v1/clinicians/rn-ana/route", headers={**me, "If-None-Match": tag},
                       params={"date": DATE})
    assert again.status_code == 304 and again.headers["ETag"] == tag and again.content == b""

    # another clinician's route: 403 for a clinician key, fine for a dispatcher
    other = client.get("/v1/clinicians/rn-ben/route", headers=me, params={"date": DATE})
    assert other.status_code == 403 and "rn-ben" in other.json()["detail"]
    r = client.get("/v1/clinicians/rn-ben/route", headers=auth(keys["dispatcher"]),
                   params={"date": DATE})
    assert r.status_code == 200 and r.json()["clinician_id"] == "rn-ben"

    # the ETag is the route's content: a new version that leaves it alone keeps it ...
    _bump_version(app, plan_id, 2, late_s={"rn-ben": 600})
    r = client.get("/v1/clinicians/rn-ana/route", headers={**me, "If-None-Match": tag},
                   params={"date": DATE})
    assert r.status_code == 304 and r.headers["ETag"] == tag
    # ... one that changes it changes it: the old one no longer gets 304
    _bump_version(app, plan_id, 3, late_s={"rn-ana": 600})
    r = client.get("/v1/clinicians/rn-ana/route", headers={**me, "If-None-Match": tag},
                   params={"date": DATE})
    assert r.status_code == 200 and r.headers["ETag"] != tag and r.json()["version"] == 3


def test_no_plan_is_404_and_roles(client: Any, keys: dict[str, str]) -> None:
    """No ready plan that date: 404 naming it; no key: 401; clinician 403 before 404."""
    r = client.get("/v1/clinicians/rn-ana/route", headers=auth(keys["clinician"]),
                   params={"date": DATE})
    assert r.status_code == 404 and DATE in r.json()["detail"]
    assert client.get("/v1/clinicians/rn-ana/route", params={"date": DATE}).status_code == 401
    r = client.get("/v1/clinicians/pt-gus/route", headers=auth(keys["clinician"]),
                   params={"date": DATE})
    assert r.status_code == 403
    r = client.get("/v1/clinicians/rn-ana/route", headers=auth(keys["dispatcher"]),
                   params={"date": "tomorrow"})
    assert r.status_code == 422 and r.json()["field"] == "date"
