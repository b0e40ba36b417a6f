"""Bodies of the plan endpoints: the request, and a plan with problem.md solution shapes.

``routes``, ``unassigned`` and ``kpis`` have exactly the shapes of a
spec/problem.md solution, every field present; the extra fields are marked
"extra" below (see :mod:`app.plans.pipeline` for how they are made).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from app.schemas import IsoDate, RequestModel


def _utc(value: dt.datetime) -> dt.datetime:
    # SQLite hands back naive datetimes; every stored one is UTC
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


#: A UTC timestamp (when a record was written), always with its offset.
UtcDatetime = Annotated[dt.datetime, AfterValidator(_utc)]


class PlanIn(RequestModel):
    """Ask for a plan of a date: a job solves it in the background."""

    date: IsoDate
    time_limit: float | None = Field(
        default=None, gt=0, examples=[30],
        description="Seconds of search (default: the server's CAREROUTE_PLAN_TIME_LIMIT; "
                    "at most CAREROUTE_MAX_TIME_LIMIT).")


class PlanAccepted(BaseModel):
    """The plan being solved and the job to poll (its URL is in ``Location``)."""

    plan_id: str
    job_id: str


class LatLon(BaseModel):
    lat: float
    lon: float


class StopOut(BaseModel):
    """A visit in a route: arrival, start and end of service, the leg into it."""

    visit_id: str
    arrival: int
    start: int
    end: int
    travel_time: int
    distance: int | None
    wait: int
    patient_id: str | None = Field(default=None, description="extra: the visit's patient")
    location: LatLon | None = Field(default=None, description="extra: where the visit is")
    polyline: str | None = Field(
        default=None, description="extra: the road path of the leg into this stop, as an "
                                  "encoded polyline (precision 5)")


class BreakOut(BaseModel):
    start: int
    duration: int


class LegOut(BaseModel):
    """extra: the drive from the last stop to the end place."""

    travel_time: int
    distance: int | None
    polyline: str | None


class RouteOut(BaseModel):
    """A clinician's route: leave ``start_time``, visit ``stops``, arrive ``end_time``."""

    clinician_id: str
    start_time: int
    end_time: int
    stops: list[StopOut]
    breaks: list[BreakOut]
    travel_time: int
    distance: int | None
    overtime: int
    end_leg: LegOut | None = None
    start_location: LatLon | None = None
    end_location: LatLon | None = None


class UnassignedOut(BaseModel):
    """A visit not in any route, with a stable reason code and a sentence for people.

    Reasons are problem.md's plus ``location_unreachable`` (the visit's
    location is too far from every road of the map; it was left out of the
    solve).
    """

    visit_id: str
    reason: str
    detail: str
    patient_id: str | None = Field(default=None, description="extra: the visit's patient")


class WarningOut(BaseModel):
    """Something about the plan as a whole (a clinician left out of it)."""

    code: str
    clinician_id: str | None = None
    detail: str


class PlanOut(BaseModel):
    """A plan: its newest version's routes, unassigned visits and KPIs.

    Until the first version is stored (``status`` solving or failed),
    ``version`` is 0 and ``routes``/``unassigned`` are empty, ``kpis`` ``{}``;
    a plan whose job failed or was cancelled before that is ``failed`` (its
    job says why).
    ``kpis`` are problem.md's, of the visits that were solved, plus
    ``visits_excluded`` (visits left out before the solve, listed in
    ``unassigned``), ``objective``, ``baseline`` (the usual-care
    dispatcher's KPIs on the same day) and ``gap_to_baseline``.
    """

    id: str
    date: IsoDate
    version: int
    status: Literal["solving", "ready", "failed"]
    routes: list[RouteOut]
    unassigned: list[UnassignedOut]
    kpis: dict[str, Any]
    warnings: list[WarningOut] = Field(default_factory=list)
    job_id: str | None = Field(default=None, description="The newest job of the plan.")
    attribution: str | None = Field(default=None, description="Credit for the map data.")
    created_at: UtcDatetime
    updated_at: UtcDatetime


class PlanSummary(BaseModel):
    """A plan in a list: no routes (read the plan for those)."""

    id: str
    date: IsoDate
    version: int
    status: Literal["solving", "ready", "failed"]
    job_id: str | None
    visits_assigned: int | None
    visits_unassigned: int | None
    created_at: UtcDatetime


class PlanList(BaseModel):
    plans: list[PlanSummary]
