"""The mobile app's view of a clinician's day."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.plans.schemas import BreakOut, LatLon, LegOut, StopOut
from app.schemas import IsoDate


class ClinicianRoute(BaseModel):
    """A clinician's route in the newest ready plan of a date, with road geometry.

    Times are seconds from the date's local midnight. Each stop's
    ``polyline`` is the leg into it; ``end_leg`` is the drive to the end
    place. A clinician who works that day but has no visit gets empty
    ``stops`` and null times.
    """

    clinician_id: str
    date: IsoDate
    plan_id: str
    version: int
    start_time: int | None
    end_time: int | None
    start_location: LatLon | None
    end_location: LatLon | None
    stops: list[StopOut]
    breaks: list[BreakOut]
    travel_time: int
    distance: int | None
    overtime: int
    end_leg: LegOut | None
    attribution: str | None = Field(default=None, description="Credit for the map data.")
