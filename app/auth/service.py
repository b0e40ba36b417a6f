"""API keys: create (shown once), hash (SHA-256, the only form stored), verify, revoke.

A key looks like ``cr_<43 url-safe characters>`` (256 random bits), so a
plain SHA-256 is enough: there is nothing to brute-force that a slow hash
would protect.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.auth import repository
from app.deps import ROLES, Principal
from app.models import ApiKey, utcnow

KEY_PREFIX = "cr_"


@dataclass(frozen=True)
class CreatedKey:
    """A new key: ``key`` is the secret, returned this once and never stored."""

    id: str
    key: str
    role: str
    clinician_id: str | None
    name: str


def hash_key(key: str) -> str:
    """The hex SHA-256 of ``key`` (what the database holds)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def new_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_key(
    session: Session, role: str, *, clinician_id: str | None = None, name: str = ""
) -> CreatedKey:
    """Store a new key of ``role`` (clinician keys need ``clinician_id``); return the secret."""
    if role not in ROLES:
        raise ValueError(f"role: must be one of {', '.join(ROLES)}, got {role!r}")
    if role == "clinician" and not clinician_id:
        raise ValueError("clinician_id: a clinician key must name its clinician")
    if role != "clinician" and clinician_id:
        raise ValueError(f"clinician_id: only clinician keys carry one (role is {role!r})")
    key = new_key()
    row = ApiKey(id="key_" + secrets.token_hex(8), name=name, role=role,
                 clinician_id=clinician_id, key_hash=hash_key(key))
    repository.add(session, row)
    return CreatedKey(id=row.id, key=key, role=role, clinician_id=clinician_id, name=name)


def authenticate(session: Session, key: str) -> Principal | None:
    """The principal of a valid, unrevoked key, else None."""
    if not key.startswith(KEY_PREFIX):
        return None
    digest = hash_key(key)
    row = repository.by_hash(session, digest)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, digest):  # pragma: no cover - looked up by it
        return None
    return Principal(key_id=row.id, role=row.role, clinician_id=row.clinician_id)


def revoke_key(session: Session, key_id: str) -> bool:
    """Revoke a key; False if there is no such key (revoking twice is fine)."""
    row = repository.get(session, key_id)
    if row is None:
        return False
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return True


def list_keys(session: Session) -> list[ApiKey]:
    return repository.all_keys(session)
