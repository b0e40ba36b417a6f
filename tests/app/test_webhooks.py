"""Webhooks: subscriptions (admin), the outbox written with the change, signed real POSTs.

Deliveries go over real HTTP to a small receiver on 127.0.0.1 (:class:`Receiver`).
Most tests store plan versions and end jobs through the worker's own functions
(:func:`app.jobs.worker.store_result`, :func:`~app.jobs.worker.fail_job`) on
rows made directly, so they need no solve; one test runs the whole way
through a real worker process.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

import geo
from app import db
from app.jobs import repository as jobs
from app.jobs import service as job_service
from app.jobs.worker import EmbeddedRunner, fail_job, store_result
from app.main import create_app
from app.models import JobRow, PlanRow, PlanVersionRow, WebhookDeliveryRow, utcnow
from app.plans.service import new_id as new_plan_id
from app.settings import Settings
from app.webhooks import delivery
from app.webhooks import repository as outbox
from app.webhooks import service as webhooks
from tests.app.conftest import assert_migration_matches, auth
from tests.app.test_plans import (  # noqa: F401  (fixtures)
    DATE,
    VISITS,
    columbus,
    seed_day,
    wait_job,
    worker,
)

SECRET = "test-secret-0123456789abcdef"
#: What a stored solution names that no webhook body may: a patient and a visit.
PATIENT_ID, VISIT_ID = "p-secret-77", "v-secret-1"


# -- a real receiver ----------------------------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 that records each POST and answers the next status."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.statuses: list[int] = []  # answered in turn; 204 once used up
        self.got = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "body": body.decode("utf-8")})
                status = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                receiver.got.set()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/careroute"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r["body"]) for r in self.requests]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    r.thread.start()
    try:
        yield r
    finally:
        r.server.shutdown()
        r.server.server_close()
        r.thread.join()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """The deliverer's own HTTP client (5 s timeout, no redirects)."""
    with delivery.new_client(5.0) as client:
        yield client


# -- helpers --------------------------------------------------------------------------------


def subscribe(client: Any, keys: dict[str, str], url: str, events: list[str],
              secret: str | None = SECRET) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "events": events}
    if secret is not None:
        body["secret"] = secret
    r = client.post("/v1/webhooks", headers=auth(keys["admin"]), json=body)
    assert r.status_code == 201, r.text
    return r.json()


def running_job(app: FastAPI) -> tuple[str, str]:
    """A new plan and its job, claimed at attempt 1; (plan id, job id).

    The job is created by the jobs service (so ``queued`` is notified) and
    claimed directly (so ``running`` is not: only the runner says that).
    """
    with db.transaction(app.state.engine) as session:
        plan = PlanRow(id=new_plan_id(), date=dt.date(2026, 11, 23), status="solving",
                       version=0)
        session.add(plan)
        session.flush()
        job = job_service.create_plan_job(session, plan.id, {})
        assert jobs.claim(session, job.id) == 1
        return plan.id, job.id


def computed() -> SimpleNamespace:
    """A result as the worker computes it; its problem and solution name a patient."""
    stop = {"visit_id": VISIT_ID, "patient_id": PATIENT_ID, "start": 32400, "end": 35100}
    return SimpleNamespace(
        problem={"visits": [{"id": VISIT_ID, "patient_id": PATIENT_ID}]},
        solution={"routes": [{"clinician_id": "rn-ana", "stops": [stop]}], "unassigned": [],
                  "kpis": {"visits_assigned": 1}},
        location_ids=[VISIT_ID], violations=[])


def outbox_rows(app: FastAPI) -> list[WebhookDeliveryRow]:
    with db.transaction(app.state.engine) as session:
        rows = list(session.scalars(select(WebhookDeliveryRow).order_by(
            WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id)))
        session.expunge_all()
        return rows


def events_of(rows: list[WebhookDeliveryRow]) -> list[tuple[str, dict[str, Any]]]:
    return [(r.event, json.loads(r.body)["data"]) for r in rows]


def deliveries(client: Any, keys: dict[str, str], webhook_id: str) -> list[dict[str, Any]]:
    r = client.get(f"/v1/webhooks/{webhook_id}/deliveries", headers=auth(keys["admin"]))
    assert r.status_code == 200, r.text
    out: list[dict[str, Any]] = r.json()["deliveries"]
    return out


def at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


# -- subscriptions ----------------------------------------------------------------------------


def test_admin_creates_lists_reads_and_deletes_webhooks(
    client: Any, keys: dict[str, str],
) -> None:
    """201 with Location and the secret once; lists and reads never show it; DELETE then 404."""
    made = subscribe(client, keys, "https://example.org/hooks", ["plan.ready", "job.state",
                                                                 "plan.ready"], secret=None)
    assert made["secret"].startswith("whsec_") and len(made["secret"]) > 40
    assert made["events"] == ["plan.ready", "job.state"]  # each once, in the order given
    assert made["url"] == "https://example.org/hooks" and made["created_by"]
    h = auth(keys["admin"])
    listed = client.get("/v1/webhooks", headers=h).json()["webhooks"]
    assert [w["id"] for w in listed] == [made["id"]] and "secret" not in listed[0]
    one = client.get(f"/v1/webhooks/{made['id']}", headers=h)
    assert one.status_code == 200 and "secret" not in one.json()
    given = subscribe(client, keys, "http://127.0.0.1:9/x", ["plan.failed"])
    assert given["secret"] == SECRET
    assert client.delete(f"/v1/webhooks/{made['id']}", headers=h).status_code == 204
    assert client.get(f"/v1/webhooks/{made['id']}", headers=h).status_code == 404
    r = client.delete(f"/v1/webhooks/{made['id']}", headers=h)
    assert r.status_code == 404 and r.json()["webhook_id"] == made["id"]
    assert client.get(f"/v1/webhooks/{made['id']}/deliveries", headers=h).status_code == 404
    assert [w["id"] for w in client.get("/v1/webhooks", headers=h).json()["webhooks"]] == [
        given["id"]]


@pytest.mark.parametrize(("body", "field", "value"), [
    ({"url": "ftp://example.org/x", "events": ["plan.ready"]}, "url", "ftp://example.org/x"),
    ({"url": "example.org/hooks", "events": ["plan.ready"]}, "url", "example.org/hooks"),
    ({"url": "https://example.org", "events": ["plan.done"]}, "events[0]", "plan.done"),
    ({"url": "https://example.org", "events": []}, "events", "[]"),
    ({"url": "https://example.org", "events": ["job.state"], "secret": "short"}, "secret",
     "short"),
])
def test_bad_subscriptions_are_422_naming_field_and_value(
    client: Any, keys: dict[str, str], body: dict[str, Any], field: str, value: Any,
) -> None:
    """A non-http(s) URL, an unknown event, no event or a short secret: 422 naming it."""
    r = client.post("/v1/webhooks", headers=auth(keys["admin"]), json=body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["field"] == field and problem.get("value") == value, problem
    assert field in problem["detail"]
    assert client.get("/v1/webhooks", headers=auth(keys["admin"])).json()["webhooks"] == []


def test_only_admins_manage_webhooks(client: Any, keys: dict[str, str]) -> None:
    """Scheduler, dispatcher and clinician keys get 403 on every webhook endpoint; none 401."""
    made = subscribe(client, keys, "https://example.org/hooks", ["plan.ready"])
    calls = [("POST", "/v1/webhooks", {"url": "https://evil.example", "events": ["job.state"]}),
             ("GET", "/v1/webhooks", None), ("GET", f"/v1/webhooks/{made['id']}", None),
             ("GET", f"/v1/webhooks/{made['id']}/deliveries", None),
             ("DELETE", f"/v1/webhooks/{made['id']}", None)]
    for method, path, body in calls:
        for role in ("scheduler", "dispatcher", "clinician"):
            r = client.request(method, path, headers=auth(keys[role]), json=body)
            assert r.status_code == 403, (method, path, role, r.text)
        assert client.request(method, path, json=body).status_code == 401
    listed = client.get("/v1/webhooks", headers=auth(keys["admin"])).json()["webhooks"]
    assert [w["id"] for w in listed] == [made["id"]]


# -- the outbox, written with the change ----------------------------------------------------


def test_a_stored_version_and_its_notifications_commit_together(
    app: FastAPI, client: Any, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Version 1 queues plan.ready, version 2 plan.version; a crash before commit keeps neither."""
    hook = subscribe(client, keys, "https://example.org/hooks",
                     ["plan.ready", "plan.version", "job.state"])
    engine = app.state.engine
    plan_id, job_id = running_job(app)
    assert store_result(engine, job_id, 1, plan_id, computed(), broke="broke") == "succeeded"
    rows = outbox_rows(app)
    assert {r.webhook_id for r in rows} == {hook["id"]}
    assert {r.state for r in rows} == {"pending"} and {r.attempts for r in rows} == {0}
    assert events_of(rows) == [
        ("job.state", {"job_id": job_id, "plan_id": plan_id, "kind": "plan", "state": "queued",
                       "attempts": 0}),
        ("job.state", {"job_id": job_id, "plan_id": plan_id, "kind": "plan",
                       "state": "succeeded", "attempts": 1}),
        ("plan.ready", {"plan_id": plan_id, "date": "2026-11-23", "version": 1,
                        "status": "ready", "job_id": job_id})]

    with db.transaction(engine) as session:
        job = job_service.create_plan_job(session, plan_id, {})
        assert jobs.claim(session, job.id) == 1
    assert store_result(engine, job.id, 1, plan_id, computed(), broke="broke") == "succeeded"
    assert events_of(outbox_rows(app))[-1] == ("plan.version", {
        "plan_id": plan_id, "date": "2026-11-23", "version": 2, "status": "ready",
        "job_id": job.id})

    # The process dies right after the notifications are queued, before the commit:
    # neither the version nor its notifications exist, and the job is still running.
    real = webhooks.plan_version

    def crash(*args: Any) -> list[str]:
        real(*args)
        raise RuntimeError("killed mid-commit")

    monkeypatch.setattr("app.jobs.worker.webhooks.plan_version", crash)
    before = len(outbox_rows(app))
    with db.transaction(engine) as session:
        again = job_service.create_plan_job(session, plan_id, {})
        assert jobs.claim(session, again.id) == 1
    with pytest.raises(RuntimeError, match="killed"):
        store_result(engine, again.id, 1, plan_id, computed(), broke="broke")
    assert len(outbox_rows(app)) == before + 1  # the job's `queued`, committed at creation
    with db.transaction(engine) as session:
        plan = session.get(PlanRow, plan_id)
        assert plan is not None and plan.version == 2
        assert session.get(PlanVersionRow, (plan_id, 3)) is None
        assert session.get(JobRow, again.id).state == "running"  # type: ignore[union-attr]


def test_job_changes_and_a_failed_plan_are_notified(
    app: FastAPI, client: Any, keys: dict[str, str],
) -> None:
    """Queued, running, failed and cancelled jobs queue job.state; a failed solve plan.failed."""
    subscribe(client, keys, "https://example.org/hooks", ["job.state", "plan.failed"])
    engine = app.state.engine
    plan_id, job_id = running_job(app)
    fail_job(engine, job_id, 1, plan_id, ValueError("date 2026-11-23: no road near v-secret-1"))
    with db.transaction(engine) as session:
        queued = job_service.create_plan_job(session, plan_id, {})
    r = client.post(f"/v1/jobs/{queued.id}:cancel", headers=auth(keys["dispatcher"]))
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    got = events_of(outbox_rows(app))
    assert [(e, d.get("job_id"), d.get("state"), d.get("status")) for e, d in got] == [
        ("job.state", job_id, "queued", None), ("job.state", job_id, "failed", None),
        ("plan.failed", job_id, None, "failed"),
        ("job.state", queued.id, "queued", None), ("job.state", queued.id, "cancelled", None)]
    assert got[2][1] == {"plan_id": plan_id, "date": "2026-11-23", "version": 0,
                         "status": "failed", "job_id": job_id}
    assert all(VISIT_ID not in json.dumps(d) for _, d in got)  # the error stays on the job


def test_events_nobody_subscribed_to_queue_nothing(
    app: FastAPI, client: Any, keys: dict[str, str],
) -> None:
    """Each webhook gets only its events; with no subscriber a change writes no outbox row."""
    engine = app.state.engine
    plan_id, job_id = running_job(app)
    store_result(engine, job_id, 1, plan_id, computed(), broke="broke")
    assert outbox_rows(app) == []
    ready = subscribe(client, keys, "https://example.org/a", ["plan.ready", "plan.version"])
    jobs_only = subscribe(client, keys, "https://example.org/b", ["job.state"])
    with db.transaction(engine) as session:
        job = job_service.create_plan_job(session, plan_id, {})
        assert jobs.claim(session, job.id) == 1
    store_result(engine, job.id, 1, plan_id, computed(), broke="broke")
    by_hook = {(r.webhook_id, r.event) for r in outbox_rows(app)}
    assert by_hook == {(ready["id"], "plan.version"), (jobs_only["id"], "job.state")}


# -- delivery over real HTTP ------------------------------------------------------------------


def test_deliveries_are_signed_posts_that_name_no_patient(
    app: FastAPI, client: Any, keys: dict[str, str], receiver: Receiver, http: httpx.Client,
) -> None:
    """Each POST has the event, delivery id and timestamp headers and a verifiable signature."""
    hook = subscribe(client, keys, receiver.url, ["plan.ready", "job.state"])
    plan_id, job_id = running_job(app)
    store_result(app.state.engine, job_id, 1, plan_id, computed(), broke="broke")
    now = utcnow() + dt.timedelta(seconds=1)
    assert delivery.deliver_due(app.state.engine, http, now) == 3
    assert delivery.deliver_due(app.state.engine, http, now) == 0  # nothing due twice

    assert [b["event"] for b in receiver.bodies()] == ["job.state", "job.state", "plan.ready"]
    for request in receiver.requests:
        h, body = request["headers"], request["body"]
        assert request["path"] == "/hooks/careroute"
        assert h["Content-Type"] == "application/json"
        assert h["X-CareRoute-Event"] == json.loads(body)["event"]
        assert h["X-CareRoute-Delivery"] == json.loads(body)["id"]
        assert h["X-CareRoute-Timestamp"] == str(int(now.timestamp()))
        expected = hmac.new(SECRET.encode(), f"{h['X-CareRoute-Timestamp']}.{body}".encode(),
                            hashlib.sha256).hexdigest()
        assert hmac.compare_digest(h["X-CareRoute-Signature"], f"sha256={expected}")
        assert PATIENT_ID not in body and VISIT_ID not in body and "rn-ana" not in body
    ready = receiver.bodies()[-1]
    assert ready["data"] == {"plan_id": plan_id, "date": "2026-11-23", "version": 1,
                             "status": "ready", "job_id": job_id}
    assert set(ready) == {"id", "event", "created_at", "data"}

    log = deliveries(client, keys, hook["id"])
    assert len(log) == 3 and {d["state"] for d in log} == {"delivered"}
    for d in log:
        assert d["attempts"] == 1 and d["next_attempt_at"] is None
        assert d["last_status_code"] == 204 and d["last_error"] is None
        assert [(a["attempt"], a["status_code"], a["error"], a["next_retry_at"])
                for a in d["log"]] == [(1, 204, None, None)]
        assert at(d["finished_at"]) == now and at(d["log"][0]["started_at"]) == now
    assert log[0]["payload"]["event"] == "plan.ready"  # newest first


def test_a_failing_receiver_gets_retries_with_growing_backoff_then_failed(
    app: FastAPI, client: Any, keys: dict[str, str], receiver: Receiver, http: httpx.Client,
) -> None:
    """500s are retried after 10 s, 30 s, 2 min, 10 min, 1 h; the 6th failure is final, logged."""
    hook = subscribe(client, keys, receiver.url, ["plan.failed"])
    receiver.statuses = [500] * delivery.MAX_ATTEMPTS
    with db.transaction(app.state.engine) as session:
        (delivery_id,) = webhooks.emit(session, "plan.failed", {"plan_id": "plan_x"})
    now = utcnow() + dt.timedelta(seconds=1)
    for attempt, wait in enumerate([*delivery.BACKOFF_S, None], start=1):
        assert delivery.deliver_due(app.state.engine, http, now) == 1, attempt
        (d,) = deliveries(client, keys, hook["id"])
        assert d["attempts"] == attempt and d["last_status_code"] == 500
        assert d["last_error"] == "the receiver answered 500"
        if wait is None:
            break
        assert d["state"] == "pending" and at(d["next_attempt_at"]) == now + dt.timedelta(
            seconds=wait)
        early = now + dt.timedelta(seconds=wait - 1)
        assert delivery.deliver_due(app.state.engine, http, early) == 0  # not due yet
        now += dt.timedelta(seconds=wait)
    assert d["state"] == "failed" and d["next_attempt_at"] is None and at(
        d["finished_at"]) == now
    assert [a["attempt"] for a in d["log"]] == list(range(1, delivery.MAX_ATTEMPTS + 1))
    assert {a["status_code"] for a in d["log"]} == {500}
    gaps = [(at(b["started_at"]) - at(a["started_at"])).total_seconds()
            for a, b in zip(d["log"], d["log"][1:], strict=False)]
    assert gaps == [10, 30, 120, 600, 3600]
    assert [at(a["next_retry_at"]) for a in d["log"][:-1]] == [
        at(b["started_at"]) for b in d["log"][1:]] and d["log"][-1]["next_retry_at"] is None
    assert delivery.deliver_due(app.state.engine, http, now + dt.timedelta(days=1)) == 0
    # six POSTs of the same delivery, each stamped and signed afresh
    assert len(receiver.requests) == delivery.MAX_ATTEMPTS
    assert {r["headers"]["X-CareRoute-Delivery"] for r in receiver.requests} == {delivery_id}
    assert len({r["headers"]["X-CareRoute-Signature"] for r in receiver.requests}) == 6
    failed = client.get(f"/v1/webhooks/{hook['id']}/deliveries", headers=auth(keys["admin"]),
                        params={"state": "failed"}).json()["deliveries"]
    assert [x["id"] for x in failed] == [delivery_id]


def test_a_receiver_that_recovers_gets_the_event_and_errors_are_logged(
    app: FastAPI, client: Any, keys: dict[str, str], receiver: Receiver, http: httpx.Client,
) -> None:
    """A refused connection and a 503 are logged attempts; the next 2xx delivers."""
    down = subscribe(client, keys, "http://127.0.0.1:9/nobody-listens", ["job.state"])
    up = subscribe(client, keys, receiver.url, ["job.state"])
    receiver.statuses = [503]
    running_job(app)  # queues job.state "queued"
    now = utcnow() + dt.timedelta(seconds=1)
    assert delivery.deliver_due(app.state.engine, http, now) == 2
    (refused,) = deliveries(client, keys, down["id"])
    assert refused["last_status_code"] is None and refused["state"] == "pending"
    assert refused["last_error"].startswith("ConnectError")
    now += dt.timedelta(seconds=delivery.BACKOFF_S[0])
    assert delivery.deliver_due(app.state.engine, http, now) == 2
    (d,) = deliveries(client, keys, up["id"])
    assert d["state"] == "delivered" and d["attempts"] == 2
    assert [(a["status_code"], a["error"]) for a in d["log"]] == [
        (503, "the receiver answered 503"), (204, None)]
    assert [b["id"] for b in receiver.bodies()] == [d["id"], d["id"]]


def test_an_attempt_whose_deliverer_died_is_sent_again_after_the_lease(
    app: FastAPI, client: Any, keys: dict[str, str], receiver: Receiver, http: httpx.Client,
) -> None:
    """A claimed attempt never logged (the process died) is due again once its lease ends."""
    hook = subscribe(client, keys, receiver.url, ["job.state"])
    running_job(app)
    now = utcnow() + dt.timedelta(seconds=1)
    with db.transaction(app.state.engine) as session:
        due = outbox.next_due(session, now)
        assert due is not None and due[1] == 0
        lease = now + dt.timedelta(seconds=delivery.LEASE_S)
        assert outbox.claim(session, due[0], 0, lease)
        assert not outbox.claim(session, due[0], 0, lease)  # a second deliverer loses
    # ... and then the process was killed before it POSTed
    assert delivery.deliver_due(app.state.engine, http, now) == 0
    assert delivery.deliver_due(app.state.engine, http, lease) == 1
    (d,) = deliveries(client, keys, hook["id"])
    assert d["state"] == "delivered" and d["attempts"] == 2
    assert [a["attempt"] for a in d["log"]] == [2] and len(receiver.requests) == 1


def test_deleting_a_webhook_drops_its_pending_deliveries(
    app: FastAPI, client: Any, keys: dict[str, str], receiver: Receiver, http: httpx.Client,
) -> None:
    """After DELETE nothing more is POSTed to that URL; other webhooks keep theirs."""
    gone = subscribe(client, keys, receiver.url + "/gone", ["job.state"])
    kept = subscribe(client, keys, receiver.url + "/kept", ["job.state"])
    running_job(app)
    assert client.delete(f"/v1/webhooks/{gone['id']}",
                         headers=auth(keys["admin"])).status_code == 204
    assert delivery.deliver_due(app.state.engine, http, utcnow() + dt.timedelta(seconds=1)) == 1
    assert [r["path"] for r in receiver.requests] == ["/hooks/careroute/kept"]
    assert {r.webhook_id for r in outbox_rows(app)} == {kept["id"]}


def test_the_app_runs_a_deliverer_thread_and_stops_it(
    settings: Settings, keys: dict[str, str], receiver: Receiver,
) -> None:
    """With start_deliverer, the lifespan starts a deliverer that POSTs due rows; exit stops it."""
    fast = settings.model_copy(update={"webhook_poll_s": 0.1})
    app = create_app(fast, start_worker=False, start_deliverer=True)
    with TestClient(app) as client:
        deliverer = app.state.deliverer
        assert deliverer is not None and deliverer.running
        subscribe(client, keys, receiver.url, ["job.state"])
        running_job(app)
        assert receiver.got.wait(10), "the deliverer did not POST within 10 s"
    assert app.state.deliverer is None and not deliverer.running
    assert receiver.bodies()[0]["data"]["state"] == "queued"
    off = create_app(settings.model_copy(update={"webhook_delivery": False}),
                     start_worker=False, start_deliverer=True)
    with TestClient(off):
        assert off.state.deliverer is None


def test_a_plan_solved_by_the_worker_is_delivered(
    app: FastAPI, client: Any, keys: dict[str, str], columbus: geo.RoadGraph,  # noqa: F811
    worker: EmbeddedRunner, receiver: Receiver, http: httpx.Client,  # noqa: F811
) -> None:
    """POST /v1/plans -> a worker process solves -> job.state and plan.ready reach the receiver."""
    hook = subscribe(client, keys, receiver.url, ["plan.ready", "job.state"])
    seed_day(client, keys, columbus)
    r = client.post("/v1/plans", headers=auth(keys["dispatcher"]),
                    json={"date": DATE, "time_limit": 1})
    assert r.status_code == 202, r.text
    plan_id, job_id = r.json()["plan_id"], r.json()["job_id"]
    assert wait_job(client, keys["dispatcher"], job_id)["state"] == "succeeded"
    assert delivery.deliver_due(app.state.engine, http) == 4
    got = [(b["event"], b["data"].get("state"), b["data"].get("version"))
           for b in receiver.bodies()]
    assert got == [("job.state", "queued", None), ("job.state", "running", None),
                   ("job.state", "succeeded", None), ("plan.ready", None, 1)]
    assert {b["data"]["plan_id"] for b in receiver.bodies()} == {plan_id}
    for request in receiver.requests:
        assert not any(f'"{vid}"' in request["body"] or f'"p-{vid[2:]}"' in request["body"]
                       for vid, *_ in VISITS)
    assert {d["state"] for d in deliveries(client, keys, hook["id"])} == {"delivered"}


# -- the schema -------------------------------------------------------------------------------


def test_migration_0003_matches_the_model(db_url: str, tmp_path: Any) -> None:
    """The webhook tables as migrated (SQLite and PostgreSQL) are the model's; 0003 downgrades."""
    assert_migration_matches(db_url, tmp_path, "0003", "0002", "webhook")


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    """signature() is what the README tells receivers to compute."""
    body, ts = '{"id":"whd_1","event":"plan.ready"}', "1795432800"
    mac = hmac.new(b"k" * 16, f"{ts}.{body}".encode(), hashlib.sha256).hexdigest()
    assert delivery.signature("k" * 16, ts, body) == f"sha256={mac}"
    assert [delivery.backoff_s(n) for n in range(1, 8)] == [10, 30, 120, 600, 3600, None, None]


def test_openapi_documents_the_webhook_routes(app: FastAPI) -> None:
    """Each webhook route has a one-line description and its 401, 403 and 422 documented."""
    spec = app.openapi()
    ops = [(path, method, op) for path, item in spec["paths"].items()
           for method, op in item.items() if "webhooks" in op.get("tags", [])]
    assert {(p, m) for p, m, _ in ops} == {
        ("/v1/webhooks", "post"), ("/v1/webhooks", "get"), ("/v1/webhooks/{webhook_id}", "get"),
        ("/v1/webhooks/{webhook_id}", "delete"),
        ("/v1/webhooks/{webhook_id}/deliveries", "get")}
    for path, method, op in ops:
        text = op.get("description", "")
        assert text and "\n" not in text.strip(), (method, path)
        assert {"401", "403", "422"} <= set(op["responses"]), (method, path)
