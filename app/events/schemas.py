"""Bodies of the day's endpoints: events (spec/api.md "Bodies"), what-if insertions, diffs.

Times are seconds from the plan date's local midnight. Every request body is
strict (unknown fields and type coercions are 422s naming the field).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas import Id, RequestModel, TimeOfDay
from app.visits.schemas import VisitIn
from routing.solver import Disruption

#: Most events one post may carry.
MAX_EVENTS = 500

#: routing's disruption weights: the defaults of :class:`DisruptionIn` (one source of truth).
DEFAULT_DISRUPTION = Disruption(previous={})
#: Largest ``move_penalty``: ten times a day's driving in cost units (s), so a
#: dispatcher can make moves all but forbidden without overflowing the model's costs.
MAX_MOVE_PENALTY = 1_000_000
#: Largest ``shift_penalty_per_s``.
MAX_SHIFT_PENALTY_PER_S = 1_000
#: Largest ``shift_tolerance_s``: a day (as the diff's ``tolerance_s``).
MAX_SHIFT_TOLERANCE_S = 86_400


class VisitCompleted(RequestModel):
    """A visit was done: its actual start and end."""

    type: Literal["visit_completed"]
    visit_id: Id
    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _ordered(self) -> VisitCompleted:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class VisitStarted(RequestModel):
    """A visit is under way since ``at``."""

    type: Literal["visit_started"]
    visit_id: Id
    at: TimeOfDay


class ClinicianUnavailable(RequestModel):
    """A clinician cannot work from ``from`` on (a sick call)."""

    model_config = ConfigDict(populate_by_name=True)

    type: Literal["clinician_unavailable"]
    clinician_id: Id
    from_: TimeOfDay = Field(alias="from")


class ClinicianDelayed(RequestModel):
    """A clinician is running ``minutes`` late: nothing not yet started begins earlier."""

    type: Literal["clinician_delayed"]
    clinician_id: Id
    minutes: int = Field(ge=1, le=24 * 60)


class ClinicianPosition(RequestModel):
    """Where a clinician was at ``at`` (their remaining day starts there)."""

    type: Literal["clinician_position"]
    clinician_id: Id
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    at: TimeOfDay


class VisitCancelled(RequestModel):
    """A visit of the plan will not happen."""

    type: Literal["visit_cancelled"]
    visit_id: Id


class VisitAdded(RequestModel):
    """A new visit for the rest of the day (possibly urgent), as in ``visits:batch``."""

    type: Literal["visit_added"]
    visit: VisitIn


Event = Annotated[
    VisitCompleted | VisitStarted | ClinicianUnavailable | ClinicianDelayed | ClinicianPosition
    | VisitCancelled | VisitAdded,
    Field(discriminator="type"),
]

#: The event types a clinician key may post (about itself).
CLINICIAN_EVENT_TYPES = frozenset({"visit_started", "visit_completed", "clinician_position"})


class DisruptionIn(RequestModel):
    """How hard the re-plan holds on to what clinicians and patients were told.

    Each weight defaults to routing's :class:`routing.solver.Disruption` (the
    same as leaving ``disruption`` out). Costs are in the objective's units,
    where one second of driving costs 1.
    """

    move_penalty: int = Field(
        default=DEFAULT_DISRUPTION.move_penalty, ge=0, le=MAX_MOVE_PENALTY,
        description="Cost of giving a planned visit to another clinician. Above a visit's "
                    "drop penalty (drop_penalty * acuity²) the re-plan would rather "
                    "leave the visit unassigned than move it.")
    shift_tolerance_s: int = Field(
        default=DEFAULT_DISRUPTION.shift_tolerance_s, ge=0, le=MAX_SHIFT_TOLERANCE_S,
        description="A promised start may move this many seconds either way for free; no "
                    "visit starts earlier than its promised start less this (unless its clinician "
                    "cannot go on).")
    shift_penalty_per_s: int = Field(
        default=DEFAULT_DISRUPTION.shift_penalty_per_s, ge=0, le=MAX_SHIFT_PENALTY_PER_S,
        description="Cost per second a promised start moves beyond the tolerance.")


class EventsIn(RequestModel):
    """Events of the day; the plan is re-solved from ``now`` with all events so far."""

    now: TimeOfDay | None = Field(
        default=None, examples=[37800],
        description="The moment the re-plan starts from (s from local midnight); default: "
                    "the server's clock in the agency's time zone. No event may be dated "
                    "after it.")
    events: list[Event] = Field(min_length=1, max_length=MAX_EVENTS)
    time_limit: float | None = Field(
        default=None, gt=0, examples=[10],
        description="Seconds of search for the re-plan (default CAREROUTE_PLAN_TIME_LIMIT; "
                    "at most CAREROUTE_MAX_TIME_LIMIT).")
    disruption: DisruptionIn | None = Field(
        default=None, examples=[{"move_penalty": DEFAULT_DISRUPTION.move_penalty,
                                 "shift_tolerance_s": DEFAULT_DISRUPTION.shift_tolerance_s,
                                 "shift_penalty_per_s": DEFAULT_DISRUPTION.shift_penalty_per_s}],
        description="Disruption weights of this re-plan (each one optional); default: "
                    "routing's.")


class EventsAccepted(BaseModel):
    """The events are stored; a job re-plans the day (poll it: ``Location``)."""

    plan_id: str
    job_id: str
    based_on: int = Field(description="The plan version the events were posted against.")
    now: int = Field(description="The moment the re-plan starts from.")
    events: int = Field(description="How many events were stored.")


# -- what-if ---------------------------------------------------------------------------


class InsertionIn(RequestModel):
    """Where could one more visit go today? (No re-plan: the current routes are kept.)"""

    visit: VisitIn
    now: TimeOfDay | None = Field(
        default=None, description="Stops starting before this stay put; the visit starts "
                                  "no earlier. Default: the server's clock.")
    k: int = Field(default=5, ge=1, le=50, description="How many options at most.")


class InsertionOut(BaseModel):
    """Put the visit at ``position`` of the clinician's route (0 = first stop)."""

    clinician_id: str
    position: int
    start: int = Field(description="When the visit would start.")
    end: int
    added_travel: int = Field(description="Extra driving of that route (s).")
    delay_to_later_stops: int = Field(
        description="Sum over the route's later stops of how much later they would start (s).")


class InsertionsOut(BaseModel):
    """The best feasible insertions, cheapest first (added travel + delay, then start)."""

    plan_id: str
    version: int
    visit_id: str
    now: int
    insertions: list[InsertionOut]
    detail: str | None = Field(
        default=None, description="Why there is no option, when ``insertions`` is empty.")


# -- diff of two versions ------------------------------------------------------------------


class ShiftedVisit(BaseModel):
    """A visit whose start moved by more than the tolerance."""

    visit_id: str
    patient_id: str | None
    before: int
    after: int
    delta: int = Field(description="after - before (s): positive is later.")
    clinician_before: str = Field(description="Who served it in the earlier version.")


class ClinicianDiff(BaseModel):
    """How one clinician's route changed (a moved visit is removed here, added there)."""

    clinician_id: str
    added: list[str]
    removed: list[str]
    reordered: bool = Field(description="The visits kept come in another order.")
    order_before: list[str]
    order_after: list[str]
    shifted: list[ShiftedVisit]
    changed: bool


class UnassignedDiff(BaseModel):
    added: list[str] = Field(description="Visits unassigned now, not before.")
    removed: list[str] = Field(description="Visits unassigned before, not now.")


class Call(BaseModel):
    """A patient to call: their visit's time changed, or they lost it."""

    patient_id: str | None
    visit_id: str
    reason: Literal["time_changed", "unassigned", "cancelled"]
    before: int | None = Field(description="The start they were told.")
    after: int | None = Field(description="The new start (null: no visit any more).")


class DiffOut(BaseModel):
    """What changed from version ``against`` (= n - 1) to version ``version`` (= n)."""

    plan_id: str
    version: int
    against: int
    tolerance_s: int
    clinicians: list[ClinicianDiff]
    unassigned: UnassignedDiff
    cancelled: list[str] = Field(description="Visits of `against` that are gone from the plan.")
    new_visits: list[str] = Field(description="Visits not in `against` at all.")
    calls: list[Call]
    patients_to_call: list[str] = Field(
        description="Patients whose visit start moved beyond the tolerance or who lost "
                    "their visit.")
