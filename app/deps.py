"""FastAPI dependencies shared by every area: who is calling, a DB transaction, settings.

Use them as::

    from app.deps import Principal, SessionDep, require

    @router.get("/v1/things/{id}")
    def get_thing(id: str, session: SessionDep,
                  who: Principal = Depends(require("scheduler", "dispatcher"))) -> Thing:
        ...

``admin`` passes every ``require(...)``. Prefer :data:`SessionDep` to a bare
``Depends(get_session)``: it closes the transaction *before* the answer is
sent, so a failed commit is a 5xx rather than a 200 for work that was lost.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app import db
from app.errors import ApiError
from app.settings import Settings

ROLES = ("admin", "scheduler", "dispatcher", "clinician")

_bearer = HTTPBearer(
    auto_error=False,
    description="An API key: `Authorization: Bearer cr_...` (create one with "
    "`careroute keys create --role ROLE`).",
)


@dataclass(frozen=True)
class Principal:
    """The caller: its key id, role and, for a clinician key, the clinician it belongs to."""

    key_id: str | None
    role: str
    clinician_id: str | None

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, "Unauthorized", detail,
                    headers={"WWW-Authenticate": 'Bearer realm="careroute"'})


def require(*roles: str) -> Callable[..., Principal]:
    """A dependency admitting a valid key of one of ``roles`` (admin always passes).

    No, unknown or revoked key: 401 with ``WWW-Authenticate``; another role: 403.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown role(s) {sorted(unknown)}; roles are {ROLES}")
    allowed = frozenset(roles) | {"admin"}

    def principal(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Principal:
        from app.auth.service import authenticate

        if credentials is None or not credentials.credentials:
            raise _unauthorized("send an API key as `Authorization: Bearer <key>`")
        with db.transaction(request.app.state.engine) as session:
            who = authenticate(session, credentials.credentials)
        if who is None:
            raise _unauthorized("the API key is unknown or revoked")
        if who.role not in allowed:
            raise ApiError(403, "Forbidden",
                           f"role {who.role!r} may not do this (needs one of "
                           f"{', '.join(sorted(allowed))})", role=who.role)
        request.state.principal = who
        return who

    principal.__name__ = f"require_{'_'.join(roles) or 'admin'}"
    return principal


def get_session(request: Request) -> Iterator[Session]:
    """A transaction on ``app.state.engine``: commits on success, rolls back on any error.

    Depend on it as :data:`SessionDep` (``scope="function"``) so the commit
    happens before the response is sent.
    """
    with db.transaction(request.app.state.engine) as session:
        yield session


#: A request's transaction, committed before the response goes out.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_settings_dep(request: Request) -> Settings:
    """The app's settings (``app.state.settings``)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
