"""Every query on visits, links, idempotency keys (and the plans that lock a date)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import IdempotencyKey, LinkRow, PlanRow, VisitRow


def get(session: Session, visit_id: str) -> VisitRow | None:
    return session.get(VisitRow, visit_id)


def get_many(session: Session, ids: Collection[str]) -> dict[str, VisitRow]:
    found: dict[str, VisitRow] = {}
    ids = list(ids)
    for k in range(0, len(ids), 500):  # stay under every driver's bound-parameter limit
        chunk = ids[k:k + 500]
        rows = session.scalars(select(VisitRow).where(VisitRow.id.in_(chunk)))
        found.update((r.id, r) for r in rows)
    return found


def of_date(session: Session, date: dt.date, status: str | None = None) -> list[VisitRow]:
    query = select(VisitRow).where(VisitRow.date == date)
    if status is not None:
        query = query.where(VisitRow.status == status)
    return list(session.scalars(query.order_by(VisitRow.id)))


def links_of_date(session: Session, date: dt.date) -> list[LinkRow]:
    return list(session.scalars(select(LinkRow).where(LinkRow.date == date).order_by(LinkRow.id)))


def plans_of_date(session: Session, date: dt.date, statuses: Collection[str]) -> list[PlanRow]:
    query = select(PlanRow).where(PlanRow.date == date, PlanRow.status.in_(list(statuses)))
    return list(session.scalars(query.order_by(PlanRow.created_at.desc())))


def add(session: Session, row: VisitRow | LinkRow | IdempotencyKey) -> None:
    session.add(row)


def flush(session: Session) -> None:
    session.flush()


def idempotency_key(session: Session, key: str) -> IdempotencyKey | None:
    return session.get(IdempotencyKey, key)
