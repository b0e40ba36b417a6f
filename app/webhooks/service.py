"""Webhooks: manage subscriptions, and queue notifications in the transaction of the change.

A change that subscribers hear about (a plan version stored, a plan's job
failed, a job changing state) calls :func:`plan_version`, :func:`plan_failed`
or :func:`job_state` in the same database transaction as the change itself.
They write one outbox row (:class:`~app.models.WebhookDeliveryRow`) per
subscribed webhook, so the change and its notifications commit or roll back
together: a crash can delay a notification, never lose it.
:mod:`app.webhooks.delivery` POSTs the rows. The same three calls append the
plan's notification log that its event stream replays
(:func:`app.stream.service.log_change`), whether or not any webhook listens.

Bodies carry ids (plan, job, version), states and the plan's date, never a
patient, a visit or a location: a receiver that needs more reads it through
the API with its own key (and is audited there).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any

from sqlalchemy.orm import Session

from app.deps import Principal
from app.errors import ApiError
from app.models import WebhookDeliveryRow, WebhookRow, utcnow
from app.stream import service as stream
from app.webhooks import repository
from app.webhooks.schemas import (
    EVENTS,
    AttemptOut,
    DeliveryOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
)

SECRET_PREFIX = "whsec_"


def new_id() -> str:
    return "wh_" + secrets.token_hex(8)


def new_delivery_id() -> str:
    return "whd_" + secrets.token_hex(8)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def not_found(webhook_id: str) -> ApiError:
    return ApiError(404, "Webhook not found", f"no webhook {webhook_id!r}",
                    webhook_id=webhook_id)


def to_out(row: WebhookRow) -> WebhookOut:
    return WebhookOut(id=row.id, url=row.url, events=row.events,  # type: ignore[arg-type]
                      created_by=row.created_by, created_at=row.created_at)


# -- subscriptions -------------------------------------------------------------------------


def create_webhook(session: Session, body: WebhookIn, who: Principal) -> WebhookCreated:
    """Store a webhook; the answer holds its secret (the one given, or a new one)."""
    secret = body.secret or new_secret()
    row = WebhookRow(id=new_id(), url=str(body.url), events=list(body.events), secret=secret,
                     created_by=who.key_id)
    repository.add(session, row)
    return WebhookCreated(**to_out(row).model_dump(), secret=secret)


def list_webhooks(session: Session) -> list[WebhookOut]:
    return [to_out(row) for row in repository.all_webhooks(session)]


def get_webhook(session: Session, webhook_id: str) -> WebhookOut:
    row = repository.get(session, webhook_id)
    if row is None:
        raise not_found(webhook_id)
    return to_out(row)


def delete_webhook(session: Session, webhook_id: str) -> None:
    """Delete a webhook and its deliveries: nothing more is sent to it."""
    row = repository.get(session, webhook_id)
    if row is None:
        raise not_found(webhook_id)
    repository.delete(session, row)


def list_deliveries(session: Session, webhook_id: str, *, state: str | None,
                    limit: int) -> list[DeliveryOut]:
    """A webhook's deliveries, newest first, each with its attempt log."""
    if repository.get(session, webhook_id) is None:
        raise not_found(webhook_id)
    rows = repository.deliveries(session, webhook_id, state=state, limit=limit)
    log = repository.attempts_of(session, [r.id for r in rows])
    return [DeliveryOut(
        id=r.id, webhook_id=r.webhook_id, event=r.event, state=r.state,  # type: ignore[arg-type]
        attempts=r.attempts, payload=json.loads(r.body), created_at=r.created_at,
        next_attempt_at=r.next_attempt_at, finished_at=r.finished_at,
        last_status_code=r.last_status_code, last_error=r.last_error,
        log=[AttemptOut.model_validate(a, from_attributes=True) for a in log[r.id]],
    ) for r in rows]


# -- notifications (in the caller's transaction) ---------------------------------------------


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def emit(session: Session, event: str, data: dict[str, Any]) -> list[str]:
    """Queue ``event`` for every webhook subscribed to it; the delivery ids.

    The body is ``{"id", "event", "created_at", "data"}``, written once and
    sent byte for byte on every attempt (it is what the signature covers).
    """
    if event not in EVENTS:
        raise ValueError(f"event: must be one of {', '.join(EVENTS)}, got {event!r}")
    return _queue(session, repository.subscribed(session, event), event, data)


def _queue(session: Session, hooks: list[WebhookRow], event: str,
           data: dict[str, Any]) -> list[str]:
    if not hooks:
        return []
    now = utcnow()
    rows = []
    for hook in hooks:
        delivery_id = new_delivery_id()
        body = json.dumps({"id": delivery_id, "event": event, "created_at": _iso(now),
                           "data": data}, separators=(",", ":"))
        rows.append(WebhookDeliveryRow(
            id=delivery_id, webhook_id=hook.id, event=event, body=body, state="pending",
            attempts=0, next_attempt_at=now, created_at=now, updated_at=now))
    repository.add_deliveries(session, rows)
    return [r.id for r in rows]


def _plan_data(session: Session, plan_id: str, job_id: str | None) -> dict[str, Any] | None:
    facts = repository.plan_facts(session, plan_id)
    if facts is None:
        return None
    date, version, status = facts
    return {"plan_id": plan_id, "date": date.isoformat(), "version": version,
            "status": status, "job_id": job_id}


def plan_version(session: Session, plan_id: str, job_id: str | None) -> list[str]:
    """A plan version was stored: ``plan.ready`` for version 1, ``plan.version`` after."""
    stream.log_change(session, plan_id)
    data = _plan_data(session, plan_id, job_id)
    if data is None:
        return []
    return emit(session, "plan.ready" if data["version"] == 1 else "plan.version", data)


def plan_failed(session: Session, plan_id: str | None, job_id: str) -> list[str]:
    """A plan's solve or re-plan failed: ``plan.failed`` (the plan may still serve a version)."""
    if plan_id is not None:
        stream.log_change(session, plan_id)
    hooks = repository.subscribed(session, "plan.failed")
    data = _plan_data(session, plan_id, job_id) if hooks and plan_id else None
    return [] if data is None else _queue(session, hooks, "plan.failed", data)


def job_state(session: Session, job_id: str, state: str) -> list[str]:
    """A job moved to ``state`` (queued, running, succeeded, failed, cancelled): ``job.state``.

    The job's plan logs it (with the plan's own status, if that changed too).
    """
    facts = repository.job_facts(session, job_id)
    if facts is None:
        return []
    kind, plan_id, attempts = facts
    if plan_id is not None:
        stream.log_change(session, plan_id, job_id)
    hooks = repository.subscribed(session, "job.state")
    return _queue(session, hooks, "job.state", {
        "job_id": job_id, "plan_id": plan_id, "kind": kind, "state": state,
        "attempts": attempts})
