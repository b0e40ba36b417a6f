"""Every query on jobs. State changes are compare-and-set updates (``WHERE state = ...``),
so two runners, or a runner and a cancel, can never both win the same job."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.models import JobRow, utcnow


def add(session: Session, row: JobRow) -> None:
    session.add(row)
    session.flush()


def get(session: Session, job_id: str) -> JobRow | None:
    return session.get(JobRow, job_id)


def for_plan(session: Session, plan_id: str) -> list[JobRow]:
    return list(session.scalars(
        select(JobRow).where(JobRow.plan_id == plan_id)
        .order_by(JobRow.created_at.desc(), JobRow.id.desc())))


def _set(session: Session, job_id: str, where: dict[str, Any], **values: Any) -> bool:
    q = update(JobRow).where(JobRow.id == job_id)
    for column, value in where.items():
        q = q.where(getattr(JobRow, column) == value)
    result = session.execute(q.values(updated_at=utcnow(), **values),
                             execution_options={"synchronize_session": False})
    return bool(result.rowcount)  # type: ignore[attr-defined]


def oldest_queued(session: Session, *, limit: int) -> list[str]:
    return list(session.scalars(
        select(JobRow.id).where(JobRow.state == "queued")
        .order_by(JobRow.created_at, JobRow.id).limit(limit)))


def claim(session: Session, job_id: str) -> int | None:
    """queued -> running; the new attempt number, or None if someone else won it."""
    row = get(session, job_id)
    if row is None or row.state != "queued":
        return None
    attempt = row.attempts + 1
    won = _set(session, job_id, {"state": "queued", "attempts": row.attempts},
               state="running", attempts=attempt, started_at=utcnow(), progress=0.0,
               finished_at=None)
    return attempt if won else None


def running(session: Session) -> list[JobRow]:
    return list(session.scalars(select(JobRow).where(JobRow.state == "running")))


def requeue(session: Session, job_id: str, attempt: int, *, refund: bool = False) -> bool:
    """running (this attempt) -> queued; ``refund`` gives the attempt back (a clean stop)."""
    values: dict[str, Any] = {"state": "queued", "progress": 0.0}
    if refund:
        values["attempts"] = attempt - 1
    return _set(session, job_id, {"state": "running", "attempts": attempt}, **values)


def set_progress(session: Session, job_id: str, attempt: int, progress: float) -> bool:
    return _set(session, job_id, {"state": "running", "attempts": attempt},
                progress=round(progress, 3))


def finish(session: Session, job_id: str, attempt: int, state: str, *,
           error: str | None = None, payload: dict[str, Any] | None = None) -> bool:
    """running (this attempt) -> ``state``; False if the job was taken away meanwhile."""
    values: dict[str, Any] = {"state": state, "error": error, "finished_at": utcnow()}
    if state == "succeeded":
        values["progress"] = 1.0
    if payload is not None:
        values["payload"] = payload
    return _set(session, job_id, {"state": "running", "attempts": attempt}, **values)


def cancel_queued(session: Session, job_id: str, payload: dict[str, Any]) -> bool:
    return _set(session, job_id, {"state": "queued"}, state="cancelled",
                finished_at=utcnow(), payload=payload)


def request_cancel(session: Session, job_id: str, attempt: int,
                   payload: dict[str, Any]) -> bool:
    """Mark a running job to be cancelled when it finishes (its result is then dropped)."""
    return _set(session, job_id, {"state": "running", "attempts": attempt}, payload=payload)
