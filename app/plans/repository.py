"""Every query on plans, their versions, and the rows of a date they are built from."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.models import ClinicianRow, LinkRow, PlanRow, PlanVersionRow, ShiftRow, VisitRow
from app.problem_builder import DayRows


def add(session: Session, row: PlanRow | PlanVersionRow) -> None:
    session.add(row)
    session.flush()


def get(session: Session, plan_id: str) -> PlanRow | None:
    return session.get(PlanRow, plan_id)


def get_for_update(session: Session, plan_id: str) -> PlanRow | None:
    return session.scalars(
        select(PlanRow).where(PlanRow.id == plan_id).with_for_update()).first()


def of_date(session: Session, date: dt.date | None, *, limit: int) -> list[PlanRow]:
    """Plans of ``date`` (all dates if None), newest first."""
    q = select(PlanRow)
    if date is not None:
        q = q.where(PlanRow.date == date)
    q = q.order_by(PlanRow.created_at.desc(), PlanRow.id.desc()).limit(limit)
    return list(session.scalars(q))


def newest_with_version(session: Session, date: dt.date) -> PlanRow | None:
    """The newest plan of ``date`` that has a stored version to serve.

    A plan being re-solved keeps serving its current version; a brand-new plan
    still solving (version 0) does not hide an older ready one.
    """
    q = (select(PlanRow)
         .where(PlanRow.date == date, PlanRow.version > 0, PlanRow.status != "failed")
         .order_by(PlanRow.created_at.desc(), PlanRow.id.desc()).limit(1))
    return session.scalars(q).first()


def version(session: Session, plan_id: str, number: int) -> PlanVersionRow | None:
    return session.get(PlanVersionRow, (plan_id, number))


def count_shifts(session: Session, date: dt.date) -> int:
    return int(session.scalar(
        select(func.count()).select_from(ShiftRow).where(ShiftRow.date == date)) or 0)


def count_requested_visits(session: Session, date: dt.date) -> int:
    return int(session.scalar(
        select(func.count()).select_from(VisitRow)
        .where(VisitRow.date == date, VisitRow.status == "requested")) or 0)


def day_rows(session: Session, date: dt.date) -> DayRows:
    """Clinicians with a shift on ``date``, its requested visits and links, in id order."""
    staff = [(c, s) for c, s in session.execute(
        select(ClinicianRow, ShiftRow)
        .join(ShiftRow, ShiftRow.clinician_id == ClinicianRow.id)
        .where(ShiftRow.date == date)
        .order_by(ClinicianRow.id))]
    visits = session.scalars(
        select(VisitRow).where(VisitRow.date == date, VisitRow.status == "requested")
        .order_by(VisitRow.id)).all()
    links = session.scalars(
        select(LinkRow).where(LinkRow.date == date).order_by(LinkRow.id)).all()
    return DayRows(date=date.isoformat(), staff=staff, visits=list(visits),
                   links=list(links))
