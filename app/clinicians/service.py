"""Clinicians' profiles and shifts: create or replace, read, remove a shift."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from app.clinicians import repository
from app.clinicians.schemas import (
    BreakIn,
    ClinicianIn,
    ClinicianOut,
    ShiftIn,
    ShiftOut,
)
from app.errors import ApiError
from app.models import ClinicianRow, ShiftRow
from app.schemas import Location


def not_found(clinician_id: str) -> ApiError:
    return ApiError(404, "Clinician not found", f"no clinician {clinician_id!r}",
                    clinician_id=clinician_id)


def to_out(row: ClinicianRow) -> ClinicianOut:
    return ClinicianOut(
        id=row.id, skills=list(row.skills), home=Location(lat=row.home_lat, lon=row.home_lon),
        max_visits=row.max_visits, max_workload_points=row.max_workload_points,
        buffer_after_visit=row.buffer_after_visit, created_at=row.created_at,
        updated_at=row.updated_at,
    )


def put_clinician(
    session: Session, clinician_id: str, body: ClinicianIn
) -> tuple[ClinicianOut, bool]:
    """Create or replace a profile; return it and whether it was created."""
    row = repository.get(session, clinician_id)
    created = row is None
    if row is None:
        row = ClinicianRow(id=clinician_id)
        session.add(row)
    row.skills = list(body.skills)
    row.home_lat, row.home_lon = body.home.lat, body.home.lon
    row.max_visits = body.max_visits
    row.max_workload_points = body.max_workload_points
    row.buffer_after_visit = body.buffer_after_visit
    session.flush()
    return to_out(row), created


def get_clinician(session: Session, clinician_id: str) -> ClinicianOut:
    row = repository.get(session, clinician_id)
    if row is None:
        raise not_found(clinician_id)
    return to_out(row)


def list_clinicians(session: Session) -> list[ClinicianOut]:
    return [to_out(r) for r in repository.all_clinicians(session)]


def _loc(lat: float | None, lon: float | None) -> Location | None:
    return None if lat is None or lon is None else Location(lat=lat, lon=lon)


def shift_out(row: ShiftRow) -> ShiftOut:
    return ShiftOut(
        clinician_id=row.clinician_id, date=row.date, start=row.start, end=row.end,
        max_overtime=row.max_overtime, breaks=[BreakIn(**b) for b in row.breaks],
        start_location=_loc(row.start_lat, row.start_lon),
        end_location=_loc(row.end_lat, row.end_lon),
        created_at=row.created_at, updated_at=row.updated_at,
    )


def put_shift(
    session: Session, clinician_id: str, date: dt.date, body: ShiftIn
) -> tuple[ShiftOut, bool]:
    """Create or replace the clinician's shift on ``date``; return it and whether created."""
    if repository.get(session, clinician_id) is None:
        raise not_found(clinician_id)
    row = repository.get_shift(session, clinician_id, date)
    created = row is None
    if row is None:
        row = ShiftRow(clinician_id=clinician_id, date=date)
        session.add(row)
    row.start, row.end, row.max_overtime = body.start, body.end, body.max_overtime
    row.breaks = [b.model_dump() for b in body.breaks]
    start, end = body.start_location, body.end_location
    row.start_lat, row.start_lon = (start.lat, start.lon) if start else (None, None)
    row.end_lat, row.end_lon = (end.lat, end.lon) if end else (None, None)
    session.flush()
    return shift_out(row), created


def get_shift(session: Session, clinician_id: str, date: dt.date) -> ShiftOut:
    row = repository.get_shift(session, clinician_id, date)
    if row is None:
        if repository.get(session, clinician_id) is None:
            raise not_found(clinician_id)
        raise ApiError(404, "Shift not found",
                       f"clinician {clinician_id!r} has no shift on {date.isoformat()}",
                       clinician_id=clinician_id, date=date.isoformat())
    return shift_out(row)


def list_shifts(
    session: Session, clinician_id: str, date_from: dt.date | None, date_to: dt.date | None
) -> list[ShiftOut]:
    if repository.get(session, clinician_id) is None:
        raise not_found(clinician_id)
    return [shift_out(r) for r in repository.shifts_of(session, clinician_id, date_from, date_to)]


def delete_shift(session: Session, clinician_id: str, date: dt.date) -> None:
    """Remove the shift (404 if there is none: the clinician does not work that day)."""
    get_shift(session, clinician_id, date)  # 404s
    row = repository.get_shift(session, clinician_id, date)
    assert row is not None
    repository.delete(session, row)
