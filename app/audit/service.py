"""The audit log: who read or wrote which patient-linked records, and when.

:func:`record` writes in the caller's transaction, so an audited write and its
audit row commit (or roll back) together. Application logs never carry patient
ids or locations; this table is where access to them is accounted for.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from app.audit import repository
from app.deps import Principal
from app.models import AuditLog


def record(
    session: Session, principal: Principal, action: str, record_type: str, ids: Iterable[str]
) -> None:
    """Append one audit row: ``principal`` did ``action`` on ``record_type`` rows ``ids``."""
    repository.add(session, AuditLog(
        key_id=principal.key_id, role=principal.role, action=action[:60],
        record_type=record_type[:30], record_ids=list(ids),
    ))


def latest(session: Session, *, limit: int = 100, record_id: str | None = None) -> list[AuditLog]:
    """The newest audit rows first (optionally only those naming ``record_id``)."""
    return repository.latest(session, limit=limit, record_id=record_id)
