"""Bodies of the API-key endpoints."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas import Id, RequestModel

Role = Literal["admin", "scheduler", "dispatcher", "clinician"]


class KeyIn(RequestModel):
    """A key to create: its role, the clinician it belongs to (clinician keys only), a name."""

    role: Role
    clinician_id: Id | None = None
    name: str = Field(default="", max_length=200)


class KeyOut(BaseModel):
    """A stored key (never its secret)."""

    id: str
    role: str
    clinician_id: str | None
    name: str
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class CreatedKeyOut(BaseModel):
    """A new key: ``key`` is the secret, shown this once."""

    id: str
    key: str
    role: str
    clinician_id: str | None
    name: str


class KeyList(BaseModel):
    keys: list[KeyOut]
