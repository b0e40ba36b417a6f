"""The audit log, for admins (newest first)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.audit import service
from app.audit.schemas import AuditEntry, AuditList
from app.deps import Principal, SessionDep, require

router = APIRouter(tags=["audit"])


@router.get("/v1/audit", response_model=AuditList)
def list_audit(
    session: SessionDep,
    _who: Annotated[Principal, Depends(require("admin"))],
    record_id: Annotated[str | None, Query(max_length=100,
                                           description="Only entries naming this id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditList:
    """List who read or wrote patient-linked records, newest first."""
    rows = service.latest(session, limit=limit, record_id=record_id)
    return AuditList(entries=[AuditEntry.model_validate(r, from_attributes=True) for r in rows])
