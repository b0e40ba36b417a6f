"""Jobs: durable across crashes and stops, cancellable, failing honestly."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest
from fastapi import FastAPI

import geo
import routing
from app import db
from app.jobs import repository as jobs
from app.jobs.worker import MAX_ATTEMPTS, EmbeddedRunner, recover_running, run_job
from app.models import JobRow, PlanRow
from app.plans.pipeline import Progress
from app.settings import Settings
from tests.app.conftest import auth
from tests.app.test_plans import (  # noqa: F401  (fixtures)
    DATE,
    columbus,
    fast_settings,
    seed_day,
    wait_job,
)


@pytest.fixture(autouse=True)
def _graph_cached_first(columbus: geo.RoadGraph) -> None:  # noqa: F811
    """Cache the road graph before any app starts loading it in the background."""


def post_plan(client: Any, keys: dict[str, str], **body: Any) -> dict[str, str]:
    r = client.post("/v1/plans", headers=auth(keys["dispatcher"]), json={"date": DATE, **body})
    assert r.status_code == 202, r.text
    return r.json()


def claim(app: FastAPI, job_id: str) -> int:
    """Take a queued job as a runner would (queued -> running); the attempt number."""
    with db.transaction(app.state.engine) as session:
        attempt = jobs.claim(session, job_id)
    assert attempt is not None
    return attempt


def rows(app: FastAPI, job_id: str) -> tuple[JobRow, PlanRow]:
    with db.transaction(app.state.engine) as session:
        job = session.get(JobRow, job_id)
        assert job is not None
        plan = session.get(PlanRow, job.plan_id)
        assert plan is not None
        session.expunge_all()
        return job, plan


def test_a_job_left_running_by_a_killed_worker_is_rerun(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings,
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """A job a dead process left `running` is re-queued when a runner starts, and completes."""
    seed_day(client, keys, columbus)
    accepted = post_plan(client, keys, time_limit=1)
    claim(app, accepted["job_id"])  # ... and then the process was killed (kill -9)
    time.sleep(0.3)
    assert client.get(f"/v1/jobs/{accepted['job_id']}",
                      headers=auth(keys["dispatcher"])).json()["state"] == "running"

    runner = EmbeddedRunner(fast_settings(settings), poll_interval=0.2)
    runner.start()
    try:
        job = wait_job(client, keys["dispatcher"], accepted["job_id"])
    finally:
        runner.stop()
    assert job["state"] == "succeeded" and job["attempts"] == 2, job
    plan = client.get(f"/v1/plans/{accepted['plan_id']}", headers=auth(keys["scheduler"]))
    assert plan.json()["status"] == "ready" and plan.json()["version"] == 1


def test_stopping_the_runner_puts_a_running_job_back_in_the_queue(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings,
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """stop() does not wait out a long solve: it ends the worker and re-queues the job."""
    seed_day(client, keys, columbus)
    accepted = post_plan(client, keys, time_limit=60)
    runner = EmbeddedRunner(fast_settings(settings), poll_interval=0.1, stop_grace=0.2)
    runner.start()
    try:
        deadline = time.monotonic() + 30
        while rows(app, accepted["job_id"])[0].progress < 0.05:  # solving in the worker
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        began = time.monotonic()
        runner.stop()
    assert time.monotonic() - began < 15
    job, plan = rows(app, accepted["job_id"])
    assert (job.state, job.attempts, plan.status) == ("queued", 0, "solving")


def test_a_job_that_keeps_killing_its_worker_is_failed(
    app: FastAPI, client: Any, keys: dict[str, str], columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """After MAX_ATTEMPTS crashed attempts the job fails, naming why, and so does its plan."""
    seed_day(client, keys, columbus)
    accepted = post_plan(client, keys)
    for attempt in range(1, MAX_ATTEMPTS + 1):
        assert claim(app, accepted["job_id"]) == attempt
        assert recover_running(app.state.engine) == [accepted["job_id"]]
    job, plan = rows(app, accepted["job_id"])
    assert job.state == "failed" and f"{MAX_ATTEMPTS} attempts" in (job.error or "")
    assert plan.status == "failed"


def test_cancel_a_queued_job(app: FastAPI, client: Any, keys: dict[str, str],
                             columbus: geo.RoadGraph) -> None:  # noqa: F811
    """A queued job is cancelled at once (200); cancelling again is harmless; its plan fails."""
    seed_day(client, keys, columbus)
    accepted = post_plan(client, keys)
    h = auth(keys["dispatcher"])
    r = client.post(f"/v1/jobs/{accepted['job_id']}:cancel", headers=h)
    assert r.status_code == 200 and r.json()["state"] == "cancelled", r.text
    assert client.post(f"/v1/jobs/{accepted['job_id']}:cancel", headers=h).status_code == 200
    assert claim_fails(app, accepted["job_id"])
    plan = client.get(f"/v1/plans/{accepted['plan_id']}", headers=auth(keys["scheduler"]))
    assert plan.json()["status"] == "failed"


def claim_fails(app: FastAPI, job_id: str) -> bool:
    with db.transaction(app.state.engine) as session:
        return jobs.claim(session, job_id) is None


def test_cancel_a_running_job_drops_its_result(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings,
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """A running job asked to cancel (202) ends cancelled and stores no plan version."""
    seed_day(client, keys, columbus)
    accepted = post_plan(client, keys, time_limit=0.5)
    attempt = claim(app, accepted["job_id"])
    h = auth(keys["dispatcher"])
    r = client.post(f"/v1/jobs/{accepted['job_id']}:cancel", headers=h)
    assert r.status_code == 202 and r.json()["state"] == "running"
    assert r.json()["cancel_requested"] is True

    outcome = run_job(accepted["job_id"], attempt, settings.model_dump())
    assert outcome["state"] == "cancelled"
    job = client.get(f"/v1/jobs/{accepted['job_id']}", headers=h).json()
    assert job["state"] == "cancelled" and "not stored" in job["error"]
    plan = client.get(f"/v1/plans/{accepted['plan_id']}", headers=auth(keys["scheduler"]))
    assert (plan.json()["status"], plan.json()["version"]) == ("failed", 0)
    r = client.post(f"/v1/jobs/{accepted['job_id']}:cancel", headers=h)
    assert r.status_code == 200  # already cancelled: nothing more to do


def test_checker_violations_fail_the_job_with_the_list(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings,
    columbus: geo.RoadGraph, monkeypatch: pytest.MonkeyPatch,  # noqa: F811
) -> None:
    """If the independent checker rejects the solution, the job fails listing why."""
    seed_day(client, keys, columbus)
    accepted = post_plan(client, keys, time_limit=0.5)
    attempt = claim(app, accepted["job_id"])
    monkeypatch.setattr(routing, "check", lambda problem, solution: [
        routing.Violation("time_window", "v-1 starts at 18:00, outside its windows",
                          visit_id="v-1")])
    assert run_job(accepted["job_id"], attempt, settings.model_dump())["state"] == "failed"
    job = client.get(f"/v1/jobs/{accepted['job_id']}", headers=auth(keys["dispatcher"])).json()
    assert job["state"] == "failed" and "time_window: v-1 starts at 18:00" in job["error"]
    assert job["violations"][0]["code"] == "time_window"
    r = client.post(f"/v1/jobs/{accepted['job_id']}:cancel", headers=auth(keys["dispatcher"]))
    assert r.status_code == 409 and r.json()["state"] == "failed"


def test_job_404_and_roles(client: Any, keys: dict[str, str]) -> None:
    """Unknown job: 404 naming it; clinicians may not read jobs; no key: 401."""
    r = client.get("/v1/jobs/job_nope", headers=auth(keys["scheduler"]))
    assert r.status_code == 404 and "job_nope" in r.json()["detail"]
    assert client.get("/v1/jobs/job_nope", headers=auth(keys["clinician"])).status_code == 403
    assert client.get("/v1/jobs/job_nope").status_code == 401
    assert client.post("/v1/jobs/job_nope:cancel",
                       headers=auth(keys["dispatcher"])).status_code == 404


def test_progress_follows_the_clock_while_solving(monkeypatch: pytest.MonkeyPatch) -> None:
    """Progress moves from 0.05 to 0.9 over the time limit, never backwards, then to 1."""
    now = [100.0]
    monkeypatch.setattr("app.plans.pipeline.time", SimpleNamespace(monotonic=lambda: now[0]))
    p = Progress()
    p.at(0.01)
    p.solving(10.0)
    assert p.fraction == pytest.approx(0.05)
    now[0] += 5
    assert p.fraction == pytest.approx(0.475)
    now[0] += 50
    assert p.fraction == pytest.approx(0.90)
    p.at(0.95)
    p.at(0.5)
    assert p.fraction == pytest.approx(0.95)
