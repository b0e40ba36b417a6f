"""GET /v1/plans/{id}/stream: server-sent events of new plan versions and job states,
resumed after a reconnect from `Last-Event-ID` (the plan's notification log)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

import geo
from app import db
from app.jobs.worker import EmbeddedRunner
from app.models import JobRow, PlanNotificationRow, PlanRow, PlanVersionRow
from app.settings import Settings
from app.webhooks import service as webhooks
from tests.app.conftest import assert_migration_matches, auth
from tests.app.test_events import doc, planned, post, replan_now  # noqa: F401  (fixtures)
from tests.app.test_plans import (  # noqa: F401  (fixtures)
    DATE,
    H,
    columbus,
    stored_version,
    worker,
)


@pytest.fixture(autouse=True)
def _graph_cached_first(columbus: geo.RoadGraph) -> None:  # noqa: F811
    """Cache the road graph before any app starts loading it in the background."""


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("app.stream.service.POLL_S", 0.1)


def frames(text: str) -> list[tuple[int | None, str, dict[str, Any]]]:
    """The (id, event, data) of each event of an event stream's text (id None: none sent)."""
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines()
                      if ": " in line and not line.startswith(":"))
        if "event" in fields:
            seq = int(fields["id"]) if "id" in fields else None
            out.append((seq, fields["event"], json.loads(fields["data"])))
    return out


def parse(text: str) -> list[tuple[str, dict[str, Any]]]:
    """The (event, data) pairs of an event stream's text."""
    return [(event, data) for _, event, data in frames(text)]


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
            webhooks.plan_version(session, planned, None)  # as the worker does

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
    # the plan as it is carries the id of the last change logged (none: 0), then each
    # change its own, for a reconnect to resume after
    assert [seq for seq, _, _ in frames(r.text)] == [0, 1]


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
    # after the plan as it is, each logged change has the next id; progress has none
    start = frames(s.text)[0][0]
    assert start is not None
    ids = [seq for seq, _, _ in frames(s.text)[2:] if seq is not None]
    assert ids == list(range(start + 1, start + 1 + len(ids)))
    assert all(e == "job.state" and d["state"] == "running"
               for seq, e, d in frames(s.text) if seq is None)
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


# -- resuming: Last-Event-ID ------------------------------------------------------------------


def logged(app: FastAPI, plan_id: str) -> list[tuple[int, str, dict[str, Any]]]:
    """The plan's notification log: (seq, event, data), in seq order."""
    with db.transaction(app.state.engine) as session:
        rows = session.scalars(select(PlanNotificationRow)
                               .where(PlanNotificationRow.plan_id == plan_id)
                               .order_by(PlanNotificationRow.seq))
        return [(r.seq, r.event, dict(r.data)) for r in rows]


def stream(client: Any, token: str, plan_id: str, last_event_id: str | None = None,
           **params: Any) -> Any:
    headers = auth(token)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    return client.get(f"/v1/plans/{plan_id}/stream", headers=headers,
                      params={"timeout_s": 0.5, **params})


def test_reconnecting_with_last_event_id_gets_exactly_what_was_missed(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings,
    planned: str,  # noqa: F811
) -> None:
    """Disconnected while events were posted and re-planned: the reconnect with the last id
    gets every change since, in order, each once; a reconnect at the end gets none."""
    token = keys["dispatcher"]
    first = frames(stream(client, token, planned).text)
    assert [(e, d["version"]) for _, e, d in first] == [("plan.version", 1)]
    seen = first[-1][0]
    assert seen is not None

    r = post(client, keys["dispatcher"], planned,  # while the client is away
             [{"type": "clinician_delayed", "clinician_id": "rn-ben", "minutes": 20}],
             now=10 * H)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    assert replan_now(app, settings, job_id)["state"] == "succeeded"

    back = frames(stream(client, token, planned, str(seen), timeout_s=20,
                         until_version=2).text)
    missed = [row for row in logged(app, planned) if row[0] > seen]
    assert back == missed
    assert [(e, d.get("version"), d.get("status", d.get("state"))) for _, e, d in back] == [
        ("plan.version", 1, "solving"), ("job.state", None, "queued"),
        ("plan.version", 2, "ready"), ("job.state", None, "succeeded")]
    assert [seq for seq, _, _ in back] == list(range(seen + 1, seen + 5))
    assert {d["job_id"] for _, e, d in back if e == "job.state"} == {job_id}
    assert all("patient_id" not in json.dumps(d) for _, _, d in back)

    last = str(back[-1][0])
    assert frames(stream(client, token, planned, last).text) == []  # nothing twice
    tail = frames(stream(client, token, planned, str(seen + 2)).text)
    assert tail == back[2:]
    # until_version already reached by what was replayed: the stream ends at once
    began = time.monotonic()
    r = stream(client, token, planned, last, timeout_s=20, until_version=2)
    assert r.status_code == 200 and time.monotonic() - began < 10


def test_a_plan_and_its_jobs_are_logged_once_per_change(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,  # noqa: F811
) -> None:
    """POST /v1/plans then cancel its job: the new plan's log is solving, queued, cancelled,
    failed, in that order; Last-Event-ID 0 replays all of it."""
    h = auth(keys["dispatcher"])
    r = client.post("/v1/plans", headers=h, json={"date": DATE, "time_limit": 1})
    assert r.status_code == 202, r.text
    plan_id, job_id = r.json()["plan_id"], r.json()["job_id"]
    assert client.post(f"/v1/jobs/{job_id}:cancel", headers=h).json()["state"] == "cancelled"
    rows = logged(app, plan_id)
    assert [(seq, e, d.get("status", d.get("state"))) for seq, e, d in rows] == [
        (1, "plan.version", "solving"), (2, "job.state", "queued"),
        (3, "plan.version", "failed"), (4, "job.state", "cancelled")]
    assert frames(stream(client, keys["scheduler"], plan_id, "0").text) == rows
    # the first connect says the plan as it is, with the id of its last change
    assert frames(stream(client, keys["scheduler"], plan_id).text) == [
        (4, "plan.version", {"plan_id": plan_id, "version": 0, "status": "failed"}),
        (4, "job.state", rows[-1][2])]


def test_a_bad_last_event_id_is_422_naming_the_header(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,  # noqa: F811
) -> None:
    """Not a whole number, or beyond the plan's last event: 422 naming Last-Event-ID and the
    value; an empty one is none (the plan as it is)."""
    token = keys["dispatcher"]
    for bad in ("abc", "-1", "1.5", "0x1", "1 2", "1" * 19, "1"):  # "1": none logged yet
        r = stream(client, token, planned, bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        body = r.json()
        assert (body["field"], body["value"]) == ("Last-Event-ID", bad)
        assert "Last-Event-ID" in body["detail"]
    r = stream(client, token, planned, "")
    assert r.status_code == 200 and [e for e, _ in parse(r.text)] == ["plan.version"]
    assert stream(client, token, "plan_nope", "3").status_code == 404


def test_a_change_logged_meanwhile_waits_for_the_one_before_it(
    app: FastAPI, planned: str,  # noqa: F811
) -> None:
    """Two transactions log changes of one plan: the second waits for the first to commit, so
    a reader never sees seq n + 1 before seq n (no event skipped on PostgreSQL)."""
    from app.stream.service import log_change, look

    engine = app.state.engine
    second: list[list[int]] = []
    started = threading.Event()

    def log_later() -> None:
        started.set()
        with db.transaction(engine) as session:
            session.add(JobRow(id="job_second", kind="replan", plan_id=planned, state="queued",
                               progress=0.0, attempts=0, payload={}))
            session.flush()
            second.append(log_change(session, planned, "job_second"))

    with db.transaction(engine) as session:
        plan = session.get(PlanRow, planned)
        assert plan is not None
        plan.status = "solving"
        assert log_change(session, planned) == [1]
        t = threading.Thread(target=log_later)
        t.start()
        started.wait()
        t.join(timeout=0.5)
        assert t.is_alive()  # blocked on the plan's row lock (PostgreSQL) or the write lock
        assert look(engine, planned, 0).rows == []  # nothing committed yet
    t.join(timeout=30)
    assert second == [[2]]
    assert [(seq, e) for seq, e, _ in logged(app, planned)] == [
        (1, "plan.version"), (2, "job.state")]


def test_migration_0004_matches_the_model(db_url: str, tmp_path: Any) -> None:
    """plan_notifications as migrated (SQLite and PostgreSQL) is the model's; 0004 downgrades."""
    assert_migration_matches(db_url, tmp_path, "0004", "0003", "plan_notifications")
