"""GET /v1/plans/{id}/stream: server-sent events of new plan versions and job states."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from fastapi import FastAPI

import geo
from app import db
from app.jobs.worker import EmbeddedRunner
from app.models import PlanRow, PlanVersionRow
from tests.app.conftest import auth
from tests.app.test_events import doc, planned, post  # noqa: F401  (fixtures)
from tests.app.test_plans import H, columbus, stored_version, worker  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _graph_cached_first(columbus: geo.RoadGraph) -> None:  # noqa: F811
    """Cache the road graph before any app starts loading it in the background."""


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.stream.service.POLL_S", 0.1)


def parse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of an event stream's text."""
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines()
                      if ": " in line and not line.startswith(":"))
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def test_stream_says_the_plan_then_each_new_version(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,  # noqa: F811
) -> None:
    """First the plan as it is, then a plan.version event when version 2 is stored."""
    def store_version_2() -> None:
        time.sleep(0.5)
        v1 = stored_version(app, planned)
        with db.transaction(app.state.engine) as session:
            session.add(PlanVersionRow(plan_id=planned, version=2, problem=v1.problem,
                                       solution=v1.solution, location_ids=v1.location_ids))
            plan = session.get(PlanRow, planned)
            assert plan is not None
            plan.version = 2

    t = threading.Thread(target=store_version_2)
    t.start()
    began = time.monotonic()
    r = client.get(f"/v1/plans/{planned}/stream", headers=auth(keys["dispatcher"]),
                   params={"timeout_s": 20, "until_version": 2})
    t.join()
    assert time.monotonic() - began < 10  # ended on version 2, not on the timeout
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    assert r.text.startswith("retry: ")
    events = parse(r.text)
    assert events == [
        ("plan.version", {"plan_id": planned, "version": 1, "status": "ready"}),
        ("plan.version", {"plan_id": planned, "version": 2, "status": "ready"})]
    assert "id: 1\n" in r.text and "id: 2\n" in r.text


def test_stream_is_bounded_and_guarded(
    client: Any, keys: dict[str, str], planned: str,  # noqa: F811
) -> None:
    """The stream ends after timeout_s; unknown plan: 404; clinician: 403; no key: 401."""
    began = time.monotonic()
    r = client.get(f"/v1/plans/{planned}/stream", headers=auth(keys["scheduler"]),
                   params={"timeout_s": 0.5})
    assert r.status_code == 200 and 0.4 < time.monotonic() - began < 5
    assert [e for e, _ in parse(r.text)] == ["plan.version"]
    r = client.get("/v1/plans/plan_nope/stream", headers=auth(keys["scheduler"]))
    assert r.status_code == 404
    assert client.get(f"/v1/plans/{planned}/stream",
                      headers=auth(keys["clinician"])).status_code == 403
    assert client.get(f"/v1/plans/{planned}/stream").status_code == 401
    r = client.get(f"/v1/plans/{planned}/stream", headers=auth(keys["scheduler"]),
                   params={"timeout_s": 0})
    assert r.status_code == 422 and r.json()["field"] == "timeout_s"


def test_a_replan_by_the_real_worker_is_streamed(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,  # noqa: F811
    worker: EmbeddedRunner,  # noqa: F811
) -> None:
    """Events posted -> the worker process re-plans -> job.state and plan.version 2 stream."""
    v1 = doc(app, planned, 1)
    first = min((r["stops"][0] for r in v1["routes"]), key=lambda s: s["start"])
    r = post(client, keys["dispatcher"], planned, [
        {"type": "visit_started", "visit_id": first["visit_id"], "at": first["start"]},
        {"type": "clinician_delayed", "clinician_id": "rn-ben", "minutes": 20}],
        now=first["start"] + 600)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    s = client.get(f"/v1/plans/{planned}/stream", headers=auth(keys["dispatcher"]),
                   params={"timeout_s": 90, "until_version": 2})
    events = parse(s.text)
    versions = [d for e, d in events if e == "plan.version"]
    states = [d for e, d in events if e == "job.state"]
    assert versions[0]["status"] == "solving" and versions[-1] == {
        "plan_id": planned, "version": 2, "status": "ready"}
    assert {d["job_id"] for d in states} == {job_id} and states[0]["kind"] == "replan"
    assert states[-1]["state"] == "succeeded" and states[-1]["progress"] == 1.0
    job = client.get(f"/v1/jobs/{job_id}", headers=auth(keys["dispatcher"])).json()
    assert job["state"] == "succeeded" and job["kind"] == "replan"
    stop = next(st for rt in doc(app, planned, 2)["routes"] for st in rt["stops"]
                if st["visit_id"] == first["visit_id"])
    assert stop["start"] == first["start"]
