"""Every query of the plan notification log (``plan_notifications``) and the stream's reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import JobRow, PlanNotificationRow, PlanRow


class JobFacts(NamedTuple):
    id: str
    plan_id: str | None
    kind: str
    state: str
    progress: float
    error: str | None


_JOB_COLUMNS = (JobRow.id, JobRow.plan_id, JobRow.kind, JobRow.state, JobRow.progress, JobRow.error)


def lock_plan(session: Session, plan_id: str) -> tuple[int, str] | None:
    """(version, status) of the plan, its row locked until the transaction ends.

    PostgreSQL: ``SELECT ... FOR UPDATE`` (after a wait, the newest committed
    row). SQLite has no row locks; its writers are serialised instead.
    """
    row = session.execute(
        select(PlanRow.version, PlanRow.status).where(PlanRow.id == plan_id).with_for_update()
    ).first()
    return None if row is None else (row[0], row[1])


def plan_exists(session: Session, plan_id: str) -> bool:
    return session.scalar(select(PlanRow.id).where(PlanRow.id == plan_id)) is not None


def share_plan(session: Session, plan_id: str) -> tuple[int, str] | None:
    """(version, status) of the plan, its row share-locked: no notification of the plan is
    being written while the transaction lasts (PostgreSQL ``FOR SHARE``)."""
    row = session.execute(
        select(PlanRow.version, PlanRow.status)
        .where(PlanRow.id == plan_id)
        .with_for_update(read=True)
    ).first()
    return None if row is None else (row[0], row[1])


def last_seq(session: Session, plan_id: str) -> int:
    return int(
        session.scalar(
            select(func.max(PlanNotificationRow.seq)).where(PlanNotificationRow.plan_id == plan_id)
        )
        or 0
    )


def last_data(
    session: Session, plan_id: str, event: str, *, through: int | None = None
) -> dict[str, Any] | None:
    """The data of the plan's newest ``event`` notification (up to ``seq`` ``through``)."""
    q = select(PlanNotificationRow.data).where(
        PlanNotificationRow.plan_id == plan_id, PlanNotificationRow.event == event
    )
    if through is not None:
        q = q.where(PlanNotificationRow.seq <= through)
    data: dict[str, Any] | None = session.scalar(
        q.order_by(PlanNotificationRow.seq.desc()).limit(1)
    )
    return data


def after(session: Session, plan_id: str, seq: int, *, limit: int) -> list[PlanNotificationRow]:
    """The plan's notifications with ``seq`` above ``seq``, oldest first (``limit`` at most)."""
    return list(
        session.scalars(
            select(PlanNotificationRow)
            .where(PlanNotificationRow.plan_id == plan_id, PlanNotificationRow.seq > seq)
            .order_by(PlanNotificationRow.seq)
            .limit(limit)
        )
    )


def add_all(session: Session, rows: Sequence[PlanNotificationRow]) -> None:
    session.add_all(rows)
    session.flush()


def job_facts(session: Session, job_id: str) -> JobFacts | None:
    """What the stream says of a job, as this transaction sees it now (not an ORM copy)."""
    row = session.execute(select(*_JOB_COLUMNS).where(JobRow.id == job_id)).first()
    return None if row is None else JobFacts(*row)


def newest_job(session: Session, plan_id: str) -> JobFacts | None:
    """The plan's newest job (the one the stream follows live)."""
    row = session.execute(
        select(*_JOB_COLUMNS)
        .where(JobRow.plan_id == plan_id)
        .order_by(JobRow.created_at.desc(), JobRow.id.desc())
        .limit(1)
    ).first()
    return None if row is None else JobFacts(*row)
