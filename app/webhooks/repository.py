"""Every query on webhooks, their deliveries (the outbox) and the attempt log.

A delivery changes hands by compare-and-set updates (``WHERE attempts = n``),
as jobs do, so two deliverers never send the same attempt twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import (
    JobRow,
    PlanRow,
    WebhookAttemptRow,
    WebhookDeliveryRow,
    WebhookRow,
    utcnow,
)


class Outgoing(NamedTuple):
    """What a deliverer needs to POST one claimed delivery."""

    id: str
    event: str
    body: str
    url: str
    secret: str


def add(session: Session, row: WebhookRow) -> None:
    session.add(row)
    session.flush()


def get(session: Session, webhook_id: str) -> WebhookRow | None:
    return session.get(WebhookRow, webhook_id)


def all_webhooks(session: Session) -> list[WebhookRow]:
    return list(session.scalars(select(WebhookRow).order_by(WebhookRow.created_at,
                                                            WebhookRow.id)))


def delete(session: Session, row: WebhookRow) -> None:
    """Delete a webhook; its deliveries and their log go with it (ON DELETE CASCADE)."""
    session.delete(row)
    session.flush()


def subscribed(session: Session, event: str) -> list[WebhookRow]:
    # a handful of rows: filtering the JSON list here keeps SQLite and PostgreSQL alike
    return [w for w in all_webhooks(session) if event in (w.events or [])]


def add_deliveries(session: Session, rows: Sequence[WebhookDeliveryRow]) -> None:
    session.add_all(rows)
    session.flush()


def job_facts(session: Session, job_id: str) -> tuple[str, str | None, int] | None:
    """(kind, plan_id, attempts) of a job as this transaction sees it now."""
    row = session.execute(select(JobRow.kind, JobRow.plan_id, JobRow.attempts)
                          .where(JobRow.id == job_id)).first()
    return None if row is None else (row[0], row[1], row[2])


def plan_facts(session: Session, plan_id: str) -> tuple[dt.date, int, str] | None:
    """(date, version, status) of a plan as this transaction sees it now."""
    row = session.execute(select(PlanRow.date, PlanRow.version, PlanRow.status)
                          .where(PlanRow.id == plan_id)).first()
    return None if row is None else (row[0], row[1], row[2])


def deliveries(session: Session, webhook_id: str, *, state: str | None,
               limit: int) -> list[WebhookDeliveryRow]:
    """A webhook's deliveries, newest first (only those in ``state`` if given)."""
    q = select(WebhookDeliveryRow).where(WebhookDeliveryRow.webhook_id == webhook_id)
    if state is not None:
        q = q.where(WebhookDeliveryRow.state == state)
    q = q.order_by(WebhookDeliveryRow.created_at.desc(), WebhookDeliveryRow.id.desc())
    return list(session.scalars(q.limit(limit)))


def attempts_of(session: Session,
                delivery_ids: Sequence[str]) -> dict[str, list[WebhookAttemptRow]]:
    """The attempt log of each delivery, in attempt order."""
    out: dict[str, list[WebhookAttemptRow]] = {d: [] for d in delivery_ids}
    for k in range(0, len(delivery_ids), 500):
        rows = session.scalars(
            select(WebhookAttemptRow)
            .where(WebhookAttemptRow.delivery_id.in_(list(delivery_ids[k:k + 500])))
            .order_by(WebhookAttemptRow.delivery_id, WebhookAttemptRow.attempt))
        for row in rows:
            out[row.delivery_id].append(row)
    return out


def next_due(session: Session, now: dt.datetime) -> tuple[str, int] | None:
    """(id, attempts so far) of the pending delivery due first by ``now``, if any."""
    row = session.execute(
        select(WebhookDeliveryRow.id, WebhookDeliveryRow.attempts)
        .where(WebhookDeliveryRow.state == "pending",
               WebhookDeliveryRow.next_attempt_at <= now)
        .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id).limit(1)).first()
    return None if row is None else (row[0], row[1])


def _set(session: Session, delivery_id: str, attempts: int, values: dict[str, Any]) -> bool:
    """Update a delivery still pending at ``attempts`` attempts; False if it moved on."""
    result = session.execute(
        update(WebhookDeliveryRow)
        .where(WebhookDeliveryRow.id == delivery_id, WebhookDeliveryRow.state == "pending",
               WebhookDeliveryRow.attempts == attempts)
        .values(updated_at=utcnow(), **values),
        execution_options={"synchronize_session": False})
    return bool(result.rowcount)  # type: ignore[attr-defined]


def claim(session: Session, delivery_id: str, attempts: int, lease_until: dt.datetime) -> bool:
    """Take attempt ``attempts + 1`` of a pending delivery until ``lease_until``; False if lost.

    Should the deliverer die mid-attempt, the delivery is due again when the
    lease runs out.
    """
    return _set(session, delivery_id, attempts,
                {"attempts": attempts + 1, "next_attempt_at": lease_until})


def outgoing(session: Session, delivery_id: str) -> Outgoing | None:
    row = session.execute(
        select(WebhookDeliveryRow.id, WebhookDeliveryRow.event, WebhookDeliveryRow.body,
               WebhookRow.url, WebhookRow.secret)
        .join(WebhookRow, WebhookRow.id == WebhookDeliveryRow.webhook_id)
        .where(WebhookDeliveryRow.id == delivery_id)).first()
    return None if row is None else Outgoing(*row)


def record(session: Session, attempt: WebhookAttemptRow, *, state: str,
           next_attempt_at: dt.datetime | None, finished_at: dt.datetime | None) -> bool:
    """Log an attempt and move its delivery on, if the attempt is still the delivery's."""
    if not _set(session, attempt.delivery_id, attempt.attempt, {
            "state": state, "next_attempt_at": next_attempt_at, "finished_at": finished_at,
            "last_status_code": attempt.status_code, "last_error": attempt.error}):
        return False
    session.add(attempt)
    session.flush()
    return True
