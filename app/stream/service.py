"""A plan's notifications as a server-sent event stream (``text/event-stream``).

The server polls the database about once a second (:data:`POLL_S`) and
sends an event when something changed:

* ``plan.version`` ``{"plan_id", "version", "status"}``: first the plan as
  it is, then on each new version or status;
* ``job.state`` ``{"job_id", "plan_id", "kind", "state", "progress", "error"}``:
  the plan's newest job, first as it is, then on each change of state or
  progress.

Each event has an ``id`` (its number in this stream). A comment line is sent
every :data:`KEEPALIVE_S` so proxies keep the connection open. The stream
ends after ``timeout_s`` (the client reconnects: ``retry`` is sent first), once
the plan reaches ``until_version`` if one was asked for, or when the client
goes away. No event names a patient.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import Engine

from app import db
from app.events import repository

#: Seconds between two looks at the database.
POLL_S = 1.0
#: Seconds between keep-alive comments.
KEEPALIVE_S = 15.0
#: What a client waits (ms) before reconnecting when the stream ends.
RETRY_MS = 2000


@dataclass(frozen=True)
class Snapshot:
    plan: dict[str, Any] | None
    job: dict[str, Any] | None


def snapshot(engine: Engine, plan_id: str) -> Snapshot:
    """The plan's version and status, and its newest job, as committed now."""
    with db.transaction(engine) as session:
        plan = repository.plan(session, plan_id)
        if plan is None:
            return Snapshot(None, None)
        job = repository.newest_job(session, plan_id)
        return Snapshot(
            {"plan_id": plan.id, "version": plan.version, "status": plan.status},
            None if job is None else {
                "job_id": job.id, "plan_id": plan.id, "kind": job.kind, "state": job.state,
                "progress": job.progress, "error": job.error})


def _event(number: int, name: str, data: dict[str, Any]) -> str:
    return f"id: {number}\nevent: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def events(
    engine: Engine, plan_id: str, *, timeout_s: float, until_version: int | None = None,
    disconnected: Callable[[], Awaitable[bool]] | None = None,
) -> AsyncIterator[str]:
    """The stream's text, event by event, for ``timeout_s`` seconds at most.

    With ``until_version`` it ends once the plan has reached that version (and
    said so).
    """
    deadline = time.monotonic() + timeout_s
    yield f"retry: {RETRY_MS}\n\n"
    number = 0
    last_plan: dict[str, Any] | None = None
    last_job: dict[str, Any] | None = None
    quiet_since = time.monotonic()
    while True:
        snap = await anyio.to_thread.run_sync(snapshot, engine, plan_id)
        if snap.plan is not None and snap.plan != last_plan:
            number += 1
            last_plan = snap.plan
            quiet_since = time.monotonic()
            yield _event(number, "plan.version", snap.plan)
        if snap.job is not None and snap.job != last_job:
            number += 1
            last_job = snap.job
            quiet_since = time.monotonic()
            yield _event(number, "job.state", snap.job)
        now = time.monotonic()
        reached = (until_version is not None and last_plan is not None
                   and last_plan["version"] >= until_version)
        if reached or now >= deadline or (disconnected is not None and await disconnected()):
            return
        if now - quiet_since >= KEEPALIVE_S:
            quiet_since = now
            yield ": keep-alive\n\n"
        await anyio.sleep(min(POLL_S, max(0.0, deadline - now)))
