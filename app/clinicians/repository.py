"""Every query on clinicians and shifts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import ClinicianRow, ShiftRow


def get(session: Session, clinician_id: str) -> ClinicianRow | None:
    return session.get(ClinicianRow, clinician_id)


def all_clinicians(session: Session) -> list[ClinicianRow]:
    return list(session.scalars(select(ClinicianRow).order_by(ClinicianRow.id)))


def add(session: Session, row: ClinicianRow | ShiftRow) -> None:
    session.add(row)
    session.flush()


def get_shift(session: Session, clinician_id: str, date: dt.date) -> ShiftRow | None:
    return session.get(ShiftRow, (clinician_id, date))


def shifts_of(
    session: Session, clinician_id: str, date_from: dt.date | None, date_to: dt.date | None
) -> list[ShiftRow]:
    query = select(ShiftRow).where(ShiftRow.clinician_id == clinician_id)
    if date_from is not None:
        query = query.where(ShiftRow.date >= date_from)
    if date_to is not None:
        query = query.where(ShiftRow.date <= date_to)
    return list(session.scalars(query.order_by(ShiftRow.date)))


def delete(session: Session, row: ShiftRow) -> None:
    session.delete(row)
    session.flush()
