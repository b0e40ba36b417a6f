"""Every query of the day's endpoints: the plan lock, the event log, versions, visit rows."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.models import JobRow, PlanEventRow, PlanRow, PlanVersionRow, VisitRow, utcnow


def plan(session: Session, plan_id: str) -> PlanRow | None:
    return session.get(PlanRow, plan_id)


def fresh_plan(session: Session, plan_id: str) -> PlanRow | None:
    """The plan row as committed now (not the session's cached copy)."""
    return session.scalars(select(PlanRow).where(PlanRow.id == plan_id)
                           .execution_options(populate_existing=True)).first()


def claim_version(session: Session, plan_id: str, version: int) -> bool:
    """ready -> solving, only if the plan is still at ``version``: True if this caller won.

    One conditional UPDATE: on PostgreSQL a concurrent claim waits on the row
    lock and then finds the plan solving; on SQLite writers are serialised.
    Either way exactly one of two claims on the same version succeeds.
    """
    result = session.execute(
        update(PlanRow)
        .where(PlanRow.id == plan_id, PlanRow.version == version, PlanRow.status == "ready")
        .values(status="solving", updated_at=utcnow()),
        execution_options={"synchronize_session": False})
    return bool(result.rowcount)  # type: ignore[attr-defined]


def version(session: Session, plan_id: str, number: int) -> PlanVersionRow | None:
    return session.get(PlanVersionRow, (plan_id, number))


def last_seq(session: Session, plan_id: str) -> int:
    return int(session.scalar(select(func.max(PlanEventRow.seq))
                              .where(PlanEventRow.plan_id == plan_id)) or 0)


def events(session: Session, plan_id: str, *, through: int | None = None) -> list[PlanEventRow]:
    """The plan's events in the order they were accepted (up to ``seq`` ``through``)."""
    q = select(PlanEventRow).where(PlanEventRow.plan_id == plan_id)
    if through is not None:
        q = q.where(PlanEventRow.seq <= through)
    return list(session.scalars(q.order_by(PlanEventRow.seq)))


def add_all(session: Session, rows: Sequence[PlanEventRow | JobRow | VisitRow]) -> None:
    session.add_all(rows)
    session.flush()


def visits(session: Session, ids: Sequence[str]) -> dict[str, VisitRow]:
    found: dict[str, VisitRow] = {}
    for k in range(0, len(ids), 500):
        rows = session.scalars(select(VisitRow).where(VisitRow.id.in_(list(ids[k:k + 500]))))
        found.update((r.id, r) for r in rows)
    return found


def newest_job(session: Session, plan_id: str) -> JobRow | None:
    return session.scalars(
        select(JobRow).where(JobRow.plan_id == plan_id)
        .order_by(JobRow.created_at.desc(), JobRow.id.desc()).limit(1)).first()
