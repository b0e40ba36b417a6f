"""A plan's notifications: the durable log, and the server-sent event stream that replays it.

**The log.** Every change a plan's followers hear about is appended to
``plan_notifications`` by :func:`log_change`, which :mod:`app.webhooks.service`
calls in the transaction of the change (where it writes the webhook outbox),
so a change and its notification commit or roll back together:

* ``plan.version`` ``{"plan_id", "version", "status"}``: the plan's version or
  status is not the one its last ``plan.version`` row says (a new version; a
  plan solving, ready again or failed);
* ``job.state`` ``{"job_id", "plan_id", "kind", "state", "progress", "error"}``:
  a job of the plan became queued, running, succeeded, failed or cancelled.

A plan's rows are numbered ``seq`` 1, 2, ..., and ``seq`` is the stream's
event id. It is not a table-wide autoincrement id because those are handed
out at INSERT and become visible at COMMIT: on PostgreSQL id 8 can be
visible before id 7 is, and a reader that has moved past 8 never sees 7.
``seq`` is taken under the plan's row lock (``SELECT ... FOR UPDATE``), held
until the transaction ends, so row n + 1 of a plan is written only once row
n is committed (or rolled back, and n is taken again): a reader that sees
n + 1 has seen n. SQLite serialises writers, which gives the same order.
The order is per plan, which is all a plan's stream needs.

**The stream** (``text/event-stream``): ``retry`` first, then

* without ``Last-Event-ID``, the plan as it is (``plan.version``) and its
  newest job (``job.state``), both with the ``id`` of the last row logged for
  the plan then (``0``: none yet), read under a share lock of the plan row
  so that nothing is logged between reading the state and the id;
* with ``Last-Event-ID: n`` (what EventSource sends when it reconnects),
  nothing first;

then every row with ``seq`` above that id, in order, each with its ``seq`` as
``id`` (the database is polled about once a second, :data:`POLL_S`): no
change is missed while disconnected, none is sent twice. While the newest
job runs, its progress goes out as ``job.state`` events *without* an id:
progress is not logged, and an event without an id leaves a client's last
event id as it was.

A comment line is sent every :data:`KEEPALIVE_S` so proxies keep the
connection open. The stream ends after ``timeout_s`` (the client reconnects
after ``retry``), once the plan reaches ``until_version`` if one was asked
for, or when the client goes away. No event names a patient, a visit or a
location.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import db
from app.errors import ApiError
from app.models import PlanNotificationRow
from app.stream import repository
from app.stream.repository import JobFacts

#: Seconds between two looks at the database.
POLL_S = 1.0
#: Seconds between keep-alive comments.
KEEPALIVE_S = 15.0
#: What a client waits (ms) before reconnecting when the stream ends.
RETRY_MS = 2000
#: Most logged rows read in one look (more are read at once after them).
BATCH = 500

_EVENT_ID = re.compile(r"^[0-9]{1,18}$")


def plan_data(plan_id: str, version: int, status: str) -> dict[str, Any]:
    return {"plan_id": plan_id, "version": version, "status": status}


def job_data(job: JobFacts) -> dict[str, Any]:
    return {"job_id": job.id, "plan_id": job.plan_id, "kind": job.kind, "state": job.state,
            "progress": job.progress, "error": job.error}


# -- the log (in the caller's transaction) ----------------------------------------------------


def log_change(session: Session, plan_id: str, job_id: str | None = None) -> list[int]:
    """Log what changed for the plan in the caller's transaction; the new rows' ``seq``.

    A ``plan.version`` row when the plan's version or status is not the one
    last logged, and a ``job.state`` row for ``job_id`` (given when that job
    has just changed state). Takes the plan's row lock (module docstring).
    """
    facts = repository.lock_plan(session, plan_id)
    if facts is None:
        return []
    found: list[tuple[str, dict[str, Any]]] = []
    plan = plan_data(plan_id, *facts)
    if repository.last_data(session, plan_id, "plan.version") != plan:
        found.append(("plan.version", plan))
    job = repository.job_facts(session, job_id) if job_id is not None else None
    if job is not None:
        found.append(("job.state", job_data(job)))
    last = repository.last_seq(session, plan_id)
    rows = [PlanNotificationRow(plan_id=plan_id, seq=last + k, event=event, data=data)
            for k, (event, data) in enumerate(found, start=1)]
    repository.add_all(session, rows)
    return [r.seq for r in rows]


# -- the stream --------------------------------------------------------------------------------


def resume_from(session: Session, plan_id: str, last_event_id: str | None) -> int | None:
    """The ``seq`` a stream resumes after (``Last-Event-ID``), None for a first connect.

    404 for an unknown plan; 422 naming the header and its value when it is
    not an event id of this plan's stream (not a whole number, or beyond its
    last event). An empty header is no header (EventSource sends none then).
    """
    if not repository.plan_exists(session, plan_id):
        raise ApiError(404, "Plan not found", f"no plan {plan_id!r}", plan_id=plan_id)
    if last_event_id is None or not last_event_id.strip():
        return None
    text = last_event_id.strip()
    if not _EVENT_ID.match(text):
        raise ApiError(422, "Invalid request", f"Last-Event-ID: must be an event id of this "
                       f"plan's stream (a whole number), got {last_event_id!r}",
                       field="Last-Event-ID", value=last_event_id)
    seq, last = int(text), repository.last_seq(session, plan_id)
    if seq > last:
        raise ApiError(422, "Invalid request", f"Last-Event-ID: {seq} is not an event id of "
                       f"plan {plan_id}'s stream (its last is {last}); reconnect without it "
                       "to start from the plan as it is", field="Last-Event-ID",
                       value=last_event_id)
    return seq


@dataclass(frozen=True)
class Snapshot:
    """The plan and its newest job as they are, and the last ``seq`` logged with them."""

    seq: int
    plan: dict[str, Any] | None
    job: dict[str, Any] | None


def snapshot(engine: Engine, plan_id: str) -> Snapshot:
    """The plan's version and status, its newest job and its last ``seq``, as of one moment.

    The plan row is share-locked first: a change that logs a notification
    holds that row's lock until it commits, so none is half-way between the
    state read here and the ``seq`` (PostgreSQL; SQLite reads one snapshot).
    """
    with db.transaction(engine) as session:
        facts = repository.share_plan(session, plan_id)
        if facts is None:
            return Snapshot(0, None, None)
        job = repository.newest_job(session, plan_id)
        return Snapshot(repository.last_seq(session, plan_id), plan_data(plan_id, *facts),
                        None if job is None else job_data(job))


@dataclass(frozen=True)
class Look:
    """One look at the database: the newest job now, and the rows logged after a ``seq``."""

    job: dict[str, Any] | None
    rows: list[tuple[int, str, dict[str, Any]]]


def look(engine: Engine, plan_id: str, after: int) -> Look:
    """The plan's newest job, then its rows logged after ``after`` (at most :data:`BATCH`).

    The job is read first: a state change it shows committed with its row, so
    the rows read next hold it (progress is never sent ahead of its state).
    """
    with db.transaction(engine) as session:
        job = repository.newest_job(session, plan_id)
        rows = repository.after(session, plan_id, after, limit=BATCH)
        return Look(None if job is None else job_data(job),
                    [(r.seq, r.event, dict(r.data)) for r in rows])


def seen_at(engine: Engine, plan_id: str, seq: int) -> tuple[dict[str, Any] | None,
                                                            dict[str, Any] | None]:
    """The last ``plan.version`` and ``job.state`` a client that has seen ``seq`` was sent."""
    with db.transaction(engine) as session:
        return (repository.last_data(session, plan_id, "plan.version", through=seq),
                repository.last_data(session, plan_id, "job.state", through=seq))


def _event(seq: int | None, name: str, data: dict[str, Any]) -> str:
    head = "" if seq is None else f"id: {seq}\n"
    return f"{head}event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def events(
    engine: Engine, plan_id: str, *, timeout_s: float, until_version: int | None = None,
    last_event_id: int | None = None,
    disconnected: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[str]:
    """The stream's text, event by event, for ``timeout_s`` seconds at most.

    ``last_event_id``: resume after that ``seq`` (from :func:`resume_from`).
    With ``until_version`` it ends once the plan has reached that version (and
    said so).
    """
    deadline = time.monotonic() + timeout_s
    yield f"retry: {RETRY_MS}\n\n"
    if last_event_id is None:
        first = await anyio.to_thread.run_sync(snapshot, engine, plan_id)
        cursor, last_plan, last_job = first.seq, first.plan, first.job
        if first.plan is not None:
            yield _event(cursor, "plan.version", first.plan)
        if first.job is not None:
            yield _event(cursor, "job.state", first.job)
    else:
        cursor = last_event_id
        last_plan, last_job = await anyio.to_thread.run_sync(seen_at, engine, plan_id, cursor)
    quiet_since = time.monotonic()
    while True:
        seen = await anyio.to_thread.run_sync(look, engine, plan_id, cursor)
        for seq, name, data in seen.rows:
            cursor = seq
            if name == "plan.version":
                last_plan = data
            elif name == "job.state":
                last_job = data
            quiet_since = time.monotonic()
            yield _event(seq, name, data)
        job = seen.job
        if (job is not None and last_job is not None and job["state"] == "running"
                and last_job["state"] == "running" and job["job_id"] == last_job["job_id"]
                and job["progress"] != last_job["progress"]):
            last_job = job
            quiet_since = time.monotonic()
            yield _event(None, "job.state", job)
        now = time.monotonic()
        reached = (until_version is not None and last_plan is not None
                   and last_plan["version"] >= until_version)
        if reached or now >= deadline or (disconnected is not None and await disconnected()):
            return
        if now - quiet_since >= KEEPALIVE_S:
            quiet_since = now
            yield ": keep-alive\n\n"
        if len(seen.rows) < BATCH:
            await anyio.sleep(min(POLL_S, max(0.0, deadline - now)))
