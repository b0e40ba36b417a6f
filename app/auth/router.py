"""API keys, managed by admins: create (the secret shown once), list, revoke."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from app.auth import service
from app.auth.schemas import CreatedKeyOut, KeyIn, KeyList, KeyOut
from app.deps import Principal, SessionDep, require
from app.errors import ApiError

router = APIRouter(tags=["keys"])
Admin = Annotated[Principal, Depends(require("admin"))]


@router.post("/v1/keys", status_code=201, response_model=CreatedKeyOut)
def create_key(body: KeyIn, session: SessionDep, _who: Admin) -> CreatedKeyOut:
    """Create an API key; the answer holds the secret, which is never shown again."""
    if (body.role == "clinician") != (body.clinician_id is not None):
        raise ApiError(422, "Invalid key", "clinician_id: clinician keys need one, other roles "
                       "take none", field="clinician_id", value=body.clinician_id)
    created = service.create_key(session, body.role, clinician_id=body.clinician_id,
                                 name=body.name)
    return CreatedKeyOut(id=created.id, key=created.key, role=created.role,
                         clinician_id=created.clinician_id, name=created.name)


@router.get("/v1/keys", response_model=KeyList)
def list_keys(session: SessionDep, _who: Admin) -> KeyList:
    """List the API keys (ids, roles, names; never the secrets)."""
    return KeyList(keys=[KeyOut.model_validate(k, from_attributes=True)
                         for k in service.list_keys(session)])


@router.delete("/v1/keys/{key_id}", status_code=204)
def revoke_key(
    key_id: Annotated[str, Path(max_length=32)], session: SessionDep, _who: Admin
) -> Response:
    """Revoke an API key: it is refused from the next request on."""
    if not service.revoke_key(session, key_id):
        raise ApiError(404, "Key not found", f"no API key {key_id!r}", id=key_id)
    return Response(status_code=204)
