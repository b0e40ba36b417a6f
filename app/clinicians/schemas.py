"""Bodies of the clinician endpoints (spec/api.md, "Bodies")."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from app.schemas import Id, IsoDate, Location, RequestModel, Seconds, TimeOfDay


class ClinicianIn(RequestModel):
    """A clinician's standing profile."""

    skills: list[Id] = Field(default_factory=list, examples=[["RN", "wound_care"]])
    home: Location
    max_visits: int | None = Field(default=None, ge=0, examples=[8])
    max_workload_points: int | None = Field(default=None, ge=0, examples=[10])
    buffer_after_visit: Seconds = Field(default=0, examples=[300])

    @field_validator("skills")
    @classmethod
    def _unique_skills(cls, skills: list[str]) -> list[str]:
        seen: set[str] = set()
        for s in skills:
            if s in seen:
                raise ValueError(f"skill {s!r} is listed twice")
            seen.add(s)
        return skills


class ClinicianOut(BaseModel):
    """A stored clinician profile."""

    id: str
    skills: list[str]
    home: Location
    max_visits: int | None
    max_workload_points: int | None
    buffer_after_visit: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ClinicianList(BaseModel):
    clinicians: list[ClinicianOut]


class BreakIn(RequestModel):
    """A break of ``duration`` s starting once inside [earliest_start, latest_start]."""

    earliest_start: TimeOfDay
    latest_start: TimeOfDay
    duration: Seconds

    @field_validator("latest_start")
    @classmethod
    def _after_earliest(cls, latest: int, info: ValidationInfo) -> int:
        earliest = info.data.get("earliest_start")
        if earliest is not None and latest < earliest:
            raise ValueError(f"must be >= earliest_start ({earliest}), got {latest}")
        return latest


class ShiftIn(RequestModel):
    """Who works on a date: shift times (s from local midnight), breaks, start/end places.

    ``start_location`` defaults to the clinician's home, ``end_location`` to
    ``start_location`` (resolved when the plan is built, so a later change of
    home applies).
    """

    start: TimeOfDay = Field(examples=[28800])
    end: TimeOfDay = Field(examples=[59400])
    max_overtime: Seconds = Field(default=0, examples=[1800])
    breaks: list[BreakIn] = Field(default_factory=list)
    start_location: Location | None = None
    end_location: Location | None = None

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, end: int, info: ValidationInfo) -> int:
        start = info.data.get("start")
        if start is not None and end < start:
            raise ValueError(f"must be >= start ({start}), got {end}")
        return end


class ShiftOut(BaseModel):
    """A stored shift; a null location means the default (home, then start_location)."""

    clinician_id: str
    date: IsoDate
    start: int
    end: int
    max_overtime: int
    breaks: list[BreakIn]
    start_location: Location | None
    end_location: Location | None
    created_at: dt.datetime
    updated_at: dt.datetime


class ShiftList(BaseModel):
    shifts: list[ShiftOut]
