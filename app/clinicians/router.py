"""Clinician endpoints: profiles and shifts (thin: the rules are in service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from app.clinicians import service
from app.clinicians.schemas import (
    ClinicianIn,
    ClinicianList,
    ClinicianOut,
    ShiftIn,
    ShiftList,
    ShiftOut,
)
from app.deps import Principal, SessionDep, require
from app.schemas import IsoDate

router = APIRouter(tags=["clinicians"])

ClinicianId = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[^\s/]+$",
                                  description="The clinician's id (yours: any stable string).")]
DatePath = Annotated[IsoDate, Path(description="The shift's date, YYYY-MM-DD.")]
Writer = Annotated[Principal, Depends(require("scheduler"))]
Reader = Annotated[Principal, Depends(require("scheduler", "dispatcher"))]


@router.put(
    "/v1/clinicians/{clinician_id}",
    response_model=ClinicianOut,
    responses={201: {"model": ClinicianOut, "description": "Created."}},
)
def put_clinician(
    clinician_id: ClinicianId, body: ClinicianIn, session: SessionDep, response: Response,
    _who: Writer,
) -> ClinicianOut:
    """Create (201) or replace (200) a clinician's standing profile."""
    out, created = service.put_clinician(session, clinician_id, body)
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/v1/clinicians/{clinician_id}"
    return out


@router.get("/v1/clinicians", response_model=ClinicianList)
def list_clinicians(session: SessionDep, _who: Reader) -> ClinicianList:
    """List every clinician's profile, by id."""
    return ClinicianList(clinicians=service.list_clinicians(session))


@router.get("/v1/clinicians/{clinician_id}", response_model=ClinicianOut)
def get_clinician(clinician_id: ClinicianId, session: SessionDep, _who: Reader) -> ClinicianOut:
    """Read one clinician's profile."""
    return service.get_clinician(session, clinician_id)


@router.put(
    "/v1/clinicians/{clinician_id}/shifts/{date}",
    response_model=ShiftOut,
    responses={201: {"model": ShiftOut, "description": "Created."}},
)
def put_shift(
    clinician_id: ClinicianId, date: DatePath, body: ShiftIn, session: SessionDep,
    response: Response, _who: Writer,
) -> ShiftOut:
    """Create (201) or replace (200) the clinician's shift on a date."""
    out, created = service.put_shift(session, clinician_id, date, body)
    if created:
        response.status_code = status.HTTP_201_CREATED
        response.headers["Location"] = f"/v1/clinicians/{clinician_id}/shifts/{date.isoformat()}"
    return out


@router.get("/v1/clinicians/{clinician_id}/shifts", response_model=ShiftList)
def list_shifts(
    clinician_id: ClinicianId, session: SessionDep, _who: Reader,
    date_from: Annotated[IsoDate | None, Query(alias="from")] = None,
    date_to: Annotated[IsoDate | None, Query(alias="to")] = None,
) -> ShiftList:
    """List the clinician's shifts by date, optionally between `from` and `to` (inclusive)."""
    return ShiftList(shifts=service.list_shifts(session, clinician_id, date_from, date_to))


@router.get("/v1/clinicians/{clinician_id}/shifts/{date}", response_model=ShiftOut)
def get_shift(
    clinician_id: ClinicianId, date: DatePath, session: SessionDep, _who: Reader
) -> ShiftOut:
    """Read the clinician's shift on a date."""
    return service.get_shift(session, clinician_id, date)


@router.delete("/v1/clinicians/{clinician_id}/shifts/{date}", status_code=204)
def delete_shift(
    clinician_id: ClinicianId, date: DatePath, session: SessionDep, _who: Writer
) -> Response:
    """Remove the clinician's shift on a date (no shift, no route that day)."""
    service.delete_shift(session, clinician_id, date)
    return Response(status_code=204)
