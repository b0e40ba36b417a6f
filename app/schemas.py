"""Pydantic types shared by every area of the API: a location and an ISO date.

Strict on purpose: a typo or a wrong type is a 422 naming the field and the
value, never a silent default (``extra="forbid"`` on every request body).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_iso_date(value: Any) -> dt.date:
    """``YYYY-MM-DD`` (exactly that form) as a date; ValueError naming the value otherwise."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise ValueError(f"must be a date as YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar date") from None


#: A calendar date written ``YYYY-MM-DD`` (the agency's local date).
IsoDate = Annotated[
    dt.date,
    BeforeValidator(parse_iso_date),
    PlainSerializer(lambda d: d.isoformat(), return_type=str),
    Field(examples=["2026-11-23"]),
]


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields and type coercions are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Location(RequestModel):
    """A point: latitude and longitude in degrees (WGS 84)."""

    lat: float = Field(ge=-90, le=90, examples=[49.41])
    lon: float = Field(ge=-180, le=180, examples=[8.69])


#: Seconds from the plan date's local midnight (0 .. 48 h: a night shift may end next day).
TimeOfDay = Annotated[int, Field(ge=0, le=172_800)]
#: A non-negative number of seconds.
Seconds = Annotated[int, Field(ge=0)]
#: An id of a clinician, visit or patient.
Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[^\s/]+$")]
