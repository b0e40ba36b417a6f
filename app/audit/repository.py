"""Every query on the audit log (append-only)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import AuditLog


def add(session: Session, row: AuditLog) -> None:
    session.add(row)


def latest(session: Session, *, limit: int = 100, record_id: str | None = None) -> list[AuditLog]:
    query = select(AuditLog).order_by(AuditLog.id.desc())
    if record_id is None:
        return list(session.scalars(query.limit(limit)))
    # JSON containment differs by dialect; this admin read is rare, so filter here.
    rows = (r for r in session.scalars(query) if record_id in (r.record_ids or []))
    return [r for _, r in zip(range(limit), rows, strict=False)]
