"""Bodies of the visit endpoints (spec/api.md, "Bodies": ``POST /v1/visits:batch``)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, Field, ValidationInfo, field_validator

from app.schemas import Id, IsoDate, Location, RequestModel, Seconds, TimeOfDay

#: [start, end], s from local midnight.
TimeWindow = Annotated[list[TimeOfDay], Field(min_length=2, max_length=2)]

#: Most visits one batch may carry (a bigger day is sent in several batches).
MAX_BATCH = 5000


class VisitIn(RequestModel):
    """A visit request: where, how long, when, what skills, how acute, who (not)."""

    id: Id = Field(examples=["v-1001"])
    patient_id: Id | None = Field(default=None, examples=["p-77"],
                                  description="Opaque patient id (no names, no diagnoses).")
    location: Location
    duration: Seconds = Field(examples=[2700])
    time_windows: list[TimeWindow] = Field(
        default_factory=list, examples=[[[32400, 43200]]],
        description="[start, end] pairs, s from local midnight; empty: any time of the shift.")
    required_skills: list[Id] = Field(default_factory=list, examples=[["RN"]])
    acuity: int = Field(default=1, ge=1, le=5, description="1 stable ... 5 most acute.")
    mandatory: bool = False
    workload_points: int = Field(default=1, ge=0)
    preferred_clinicians: list[Id] = Field(default_factory=list)
    excluded_clinicians: list[Id] = Field(default_factory=list)
    pinned_clinician: Id | None = None

    @field_validator("time_windows")
    @classmethod
    def _windows_ordered(cls, windows: list[list[int]]) -> list[list[int]]:
        for k, (lo, hi) in enumerate(windows):
            if hi < lo:
                raise ValueError(f"time_windows[{k}]: end {hi} is before start {lo}")
        return windows


class SimultaneousLink(RequestModel):
    """The visits start at the same second, each by a different clinician."""

    type: Literal["simultaneous"]
    visits: list[Id] = Field(min_length=2)


class PrecedenceLink(RequestModel):
    """``then`` starts between ``min_gap`` and ``max_gap`` s after ``first`` starts."""

    type: Literal["precedence"]
    first: Id
    then: Id
    min_gap: Seconds = 0
    max_gap: Seconds | None = None

    @field_validator("max_gap")
    @classmethod
    def _gap_order(cls, max_gap: int | None, info: ValidationInfo) -> int | None:
        min_gap = info.data.get("min_gap")
        if max_gap is not None and min_gap is not None and max_gap < min_gap:
            raise ValueError(f"must be >= min_gap ({min_gap}), got {max_gap}")
        return max_gap


LinkIn = Annotated[SimultaneousLink | PrecedenceLink, Field(discriminator="type")]


class VisitBatchIn(RequestModel):
    """Visit requests of one date, and links between visits of that date."""

    date: IsoDate
    visits: list[VisitIn] = Field(max_length=MAX_BATCH)
    links: list[LinkIn] = Field(default_factory=list)


class Counts(BaseModel):
    created: int = 0
    updated: int = 0
    unchanged: int = 0


class VisitBatchOut(Counts):
    """How many visits the batch created, changed and left as they were (and links)."""

    links: Counts = Field(default_factory=Counts)


class VisitOut(BaseModel):
    """A stored visit request; ``status`` is requested or cancelled."""

    id: str
    date: IsoDate
    status: Literal["requested", "cancelled"]
    patient_id: str | None
    location: Location
    duration: int
    time_windows: list[tuple[int, int]]
    required_skills: list[str]
    acuity: int
    mandatory: bool
    workload_points: int
    preferred_clinicians: list[str]
    excluded_clinicians: list[str]
    pinned_clinician: str | None
    created_at: dt.datetime
    updated_at: dt.datetime


class VisitList(BaseModel):
    """The visits of a date (by id) and the links between them."""

    date: IsoDate
    visits: list[VisitOut]
    links: list[dict[str, object]]
