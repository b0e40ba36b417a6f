"""Read and cancel jobs; create the job that solves a plan."""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy.orm import Session

from app.deps import Principal
from app.errors import ApiError
from app.jobs import repository
from app.jobs.schemas import JobOut
from app.models import JobRow
from app.webhooks import service as webhooks


def new_id() -> str:
    return "job_" + secrets.token_hex(8)


def create_plan_job(session: Session, plan_id: str, payload: dict[str, Any]) -> JobRow:
    """A queued job that solves plan ``plan_id`` (committed with the caller's transaction)."""
    row = JobRow(id=new_id(), kind="plan", plan_id=plan_id, state="queued", progress=0.0,
                 payload=payload, attempts=0)
    repository.add(session, row)
    webhooks.job_state(session, row.id, "queued")
    return row


def not_found(job_id: str) -> ApiError:
    return ApiError(404, "Job not found", f"no job {job_id!r}", job_id=job_id)


def to_out(row: JobRow) -> JobOut:
    payload = row.payload or {}
    return JobOut(
        id=row.id, state=row.state, progress=row.progress, error=row.error, plan_id=row.plan_id,  # type: ignore[arg-type]
        kind=row.kind, attempts=row.attempts,
        cancel_requested=bool(payload.get("cancel_requested")),
        violations=payload.get("violations"), created_at=row.created_at,
        started_at=row.started_at, finished_at=row.finished_at,
    )


def get_job(session: Session, job_id: str) -> JobOut:
    row = repository.get(session, job_id)
    if row is None:
        raise not_found(job_id)
    return to_out(row)


def cancel_job(session: Session, job_id: str, who: Principal) -> tuple[JobOut, bool]:
    """Cancel a queued job now, or ask a running one to end cancelled; (job, done now).

    A finished job cannot be cancelled: 409 naming its state.
    """
    for _ in range(3):  # the job may move on between the read and the update
        row = repository.get(session, job_id)
        if row is None:
            raise not_found(job_id)
        payload = {**(row.payload or {}), "cancel_requested": True,
                   "cancelled_by": who.key_id}
        if row.state == "queued":
            if repository.cancel_queued(session, job_id, payload):
                _plan_cancelled(session, row.plan_id)
                webhooks.job_state(session, job_id, "cancelled")
                session.expire(row)
                return to_out(repository.get(session, job_id)), True  # type: ignore[arg-type]
        elif row.state == "running":
            if repository.request_cancel(session, job_id, row.attempts, payload):
                session.expire(row)
                return to_out(repository.get(session, job_id)), False  # type: ignore[arg-type]
        elif row.state == "cancelled":
            return to_out(row), True
        else:
            raise ApiError(409, "Job already finished",
                           f"job {job_id!r} is {row.state}; only a queued or running job "
                           "can be cancelled", job_id=job_id, state=row.state)
        session.expire(row)
    raise ApiError(409, "Job is changing state", f"job {job_id!r} changed state while being "
                   "cancelled; read it and retry", job_id=job_id)


def _plan_cancelled(session: Session, plan_id: str | None) -> None:
    from app.plans import repository as plans

    plan = plans.get(session, plan_id) if plan_id else None
    if plan is not None and plan.status == "solving":
        plan.status = "ready" if plan.version > 0 else "failed"
