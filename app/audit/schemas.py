"""Bodies of the audit endpoint."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class AuditEntry(BaseModel):
    """One access to patient-linked records: who (key, role), what (action, ids), when."""

    id: int
    at: dt.datetime
    key_id: str | None
    role: str
    action: str
    record_type: str
    record_ids: list[str]


class AuditList(BaseModel):
    entries: list[AuditEntry]
