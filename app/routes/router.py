"""The mobile route endpoint (thin: the rules are in service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from app.deps import Principal, SessionDep, require
from app.routes import service
from app.routes.schemas import ClinicianRoute
from app.schemas import IsoDate

router = APIRouter(tags=["routes"])

ClinicianId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[^\s/]+$",
                                  description="The clinician's id.")]
Reader = Annotated[Principal, Depends(require("scheduler", "dispatcher", "clinician"))]


@router.get(
    "/v1/clinicians/{clinician_id}/route",
    response_model=ClinicianRoute,
    responses={304: {"description": "`If-None-Match` holds the current ETag."},
               403: {"description": "A clinician key asking for another clinician's route."},
               404: {"description": "No ready plan that date, or the clinician is not in it."}},
)
def get_route(
    clinician_id: ClinicianId, date: Annotated[IsoDate, Query(description="YYYY-MM-DD")],
    session: SessionDep, response: Response, who: Reader,
    if_none_match: Annotated[str | None, Header()] = None,
) -> ClinicianRoute | Response:
    """Read a clinician's route: stops with ETAs and visit ids, leg polylines, `ETag`."""
    if if_none_match:
        tag = service.current_etag(session, clinician_id, date, who)
        if service.not_modified(if_none_match, tag):
            return Response(status_code=304, headers={"ETag": tag})
    out, tag = service.get_route(session, clinician_id, date, who)
    response.headers["ETag"] = tag
    return out
