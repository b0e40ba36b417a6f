"""The routing problem and its solution as frozen dataclasses (spec/problem.md).

Times are integer seconds from the plan day's local midnight, durations are
seconds, distances metres. Each type checks itself in ``__post_init__`` and
raises :class:`~routing.exceptions.InvalidProblem` naming the field and the id;
:class:`Problem` also checks every cross-reference (locations, clinician ids,
linked visits). JSON reading and writing lives in :mod:`routing.io`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .exceptions import InvalidProblem

#: Acuity of a visit: 1 (stable) ... 5 (most acute).
ACUITY_MIN, ACUITY_MAX = 1, 5
#: Largest time or duration accepted (s): ~68 years, far past any plan, well inside int32.
MAX_SECONDS = 2**31 - 1


def _non_negative(value: int, field_name: str, obj_id: str | None) -> None:
    # Times are whole seconds everywhere (the JSON reader already insists; this
    # catches a float built in Python, which OR-Tools would silently truncate).
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidProblem(field_name, f"must be a whole number, got {value!r}",
                             obj_id=obj_id)
    if value < 0:
        raise InvalidProblem(field_name, f"must be >= 0, got {value}", obj_id=obj_id)
    if value > MAX_SECONDS:
        raise InvalidProblem(field_name, f"must be <= {MAX_SECONDS}, got {value}", obj_id=obj_id)


def _interval(lo: int, hi: int, field_name: str, obj_id: str | None) -> None:
    if hi < lo:
        raise InvalidProblem(field_name, f"end {hi} is before start {lo}", obj_id=obj_id)


@dataclass(frozen=True)
class Location:
    """A point on the map; ``lat``/``lon`` may be absent when a matrix is given."""

    lat: float | None = None
    lon: float | None = None

    def __post_init__(self) -> None:
        if (self.lat is None) != (self.lon is None):
            raise InvalidProblem("locations", "give both lat and lon, or neither")
        if self.lat is not None and not -90 <= self.lat <= 90:
            raise InvalidProblem("lat", f"must be within [-90, 90], got {self.lat}")
        if self.lon is not None and not -180 <= self.lon <= 180:
            raise InvalidProblem("lon", f"must be within [-180, 180], got {self.lon}")


@dataclass(frozen=True)
class Matrix:
    """Travel durations (s) and optional distances (m) between location indices."""

    durations: tuple[tuple[int, ...], ...]
    distances: tuple[tuple[int, ...], ...] | None = None

    def __post_init__(self) -> None:
        for name, rows in (("durations", self.durations), ("distances", self.distances)):
            if rows is None:
                continue
            n = len(rows)
            for i, row in enumerate(rows):
                if len(row) != n:
                    raise InvalidProblem(
                        f"matrix.{name}[{i}]",
                        f"matrix must be square: row has {len(row)} entries, expected {n}",
                    )
                for j, v in enumerate(row):
                    if v < 0:
                        raise InvalidProblem(f"matrix.{name}[{i}][{j}]", f"must be >= 0, got {v}")
        if self.distances is not None and len(self.distances) != len(self.durations):
            raise InvalidProblem(
                "matrix.distances",
                f"has {len(self.distances)} rows but durations has {len(self.durations)}",
            )

    @property
    def size(self) -> int:
        return len(self.durations)


@dataclass(frozen=True)
class Break:
    """A break of ``duration`` s that starts once inside [earliest_start, latest_start]."""

    earliest_start: int
    latest_start: int
    duration: int

    def check(self, field_name: str, obj_id: str) -> None:
        _interval(self.earliest_start, self.latest_start, field_name, obj_id)
        _non_negative(self.duration, f"{field_name}.duration", obj_id)


@dataclass(frozen=True)
class Clinician:
    """A clinician's day: skills, shift, start/end places and limits."""

    id: str
    start_location: int
    shift_start: int
    shift_end: int
    skills: frozenset[str] = frozenset()
    end_location: int | None = None
    max_overtime: int = 0
    max_visits: int | None = None
    max_workload_points: int | None = None
    breaks: tuple[Break, ...] = ()
    buffer_after_visit: int = 0

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidProblem("clinicians.id", "must be a non-empty string")
        if self.end_location is None:
            object.__setattr__(self, "end_location", self.start_location)
        _interval(self.shift_start, self.shift_end, "shift_end", self.id)
        _non_negative(self.shift_start, "shift_start", self.id)
        _non_negative(self.shift_end, "shift_end", self.id)
        for name in ("max_overtime", "buffer_after_visit", "max_visits", "max_workload_points"):
            value = getattr(self, name)
            if value is not None:
                _non_negative(value, name, self.id)
        for k, b in enumerate(self.breaks):
            b.check(f"breaks[{k}]", self.id)
        # Breaks are taken in time order; the checker matches them by position.
        object.__setattr__(self, "breaks", tuple(
            sorted(self.breaks, key=lambda b: (b.earliest_start, b.latest_start))))

    @property
    def end(self) -> int:
        """The end location index (``start_location`` when not given)."""
        assert self.end_location is not None
        return self.end_location

    @property
    def latest_end(self) -> int:
        """Latest time the clinician may reach the end location (shift end + overtime)."""
        return self.shift_end + self.max_overtime


@dataclass(frozen=True)
class Visit:
    """A visit request: where, how long, when, what skills, how acute."""

    id: str
    location: int
    duration: int
    time_windows: tuple[tuple[int, int], ...] = ()
    required_skills: frozenset[str] = frozenset()
    acuity: int = 1
    mandatory: bool = False
    workload_points: int = 1
    preferred_clinicians: tuple[str, ...] = ()
    excluded_clinicians: tuple[str, ...] = ()
    pinned_clinician: str | None = None
    patient_id: str | None = None

    def __post_init__(self) -> None:
        if not self.id:
            raise InvalidProblem("visits.id", "must be a non-empty string")
        _non_negative(self.duration, "duration", self.id)
        _non_negative(self.workload_points, "workload_points", self.id)
        if not ACUITY_MIN <= self.acuity <= ACUITY_MAX:
            raise InvalidProblem(
                "acuity", f"must be within {ACUITY_MIN}..{ACUITY_MAX}, got {self.acuity}",
                obj_id=self.id,
            )
        for k, (lo, hi) in enumerate(self.time_windows):
            _non_negative(lo, f"time_windows[{k}]", self.id)
            _interval(lo, hi, f"time_windows[{k}]", self.id)
        both = set(self.preferred_clinicians) & set(self.excluded_clinicians)
        if both:
            raise InvalidProblem(
                "preferred_clinicians",
                f"clinician {sorted(both)[0]!r} is both preferred and excluded",
                obj_id=self.id,
            )
        if self.pinned_clinician is not None and self.pinned_clinician in self.excluded_clinicians:
            raise InvalidProblem(
                "pinned_clinician",
                f"{self.pinned_clinician!r} is also in excluded_clinicians",
                obj_id=self.id,
            )

    @property
    def windows(self) -> tuple[tuple[int, int], ...]:
        """The time windows sorted by start (empty means any time in the shift)."""
        return tuple(sorted(self.time_windows))


@dataclass(frozen=True)
class Simultaneous:
    """The visits start at the same second, each by a different clinician."""

    visits: tuple[str, ...]
    type: Literal["simultaneous"] = "simultaneous"

    @property
    def visit_ids(self) -> tuple[str, ...]:
        return self.visits


@dataclass(frozen=True)
class Precedence:
    """``then`` starts between ``min_gap`` and ``max_gap`` s after ``first`` starts."""

    first: str
    then: str
    min_gap: int = 0
    max_gap: int | None = None
    type: Literal["precedence"] = "precedence"

    @property
    def visit_ids(self) -> tuple[str, ...]:
        return (self.first, self.then)


Link = Simultaneous | Precedence


@dataclass(frozen=True)
class Options:
    """Search settings and objective weights (all optional in the JSON).

    Objective = travel_weight * travel seconds + distance_weight * metres
    + overtime_weight * overtime seconds + preference_penalty per visit served
    by a non-preferred clinician + balance_weight * the largest clinician
    workload (minutes of service, acuity 4-5 counted 1.5x) + balance_weight
    per minute of care a clinician is outside 90-110 % of a fair share + for each
    unassigned visit drop_penalty * acuity**2 (mandatory: mandatory_penalty).
    With the defaults an acuity-5 visit (22.5 h of travel) is never dropped to
    save travel, an acuity-1 visit only when serving it costs more than 1.5 h.
    """

    time_limit: float = 10.0
    travel_weight: int = 1
    distance_weight: int = 0
    overtime_weight: int = 3
    drop_penalty: int = 5400
    mandatory_penalty: int = 10_000_000
    preference_penalty: int = 900
    balance_weight: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if not 0 < self.time_limit < float("inf"):
            raise InvalidProblem("options.time_limit", f"must be > 0, got {self.time_limit}")
        for name in (
            "travel_weight", "distance_weight", "overtime_weight", "drop_penalty",
            "mandatory_penalty", "preference_penalty", "balance_weight", "seed",
        ):
            value = getattr(self, name)
            object.__setattr__(self, name, int(value))
            if value < 0:
                raise InvalidProblem(f"options.{name}", f"must be >= 0, got {value}")

    def drop_cost(self, visit: Visit) -> int:
        """Objective cost of leaving ``visit`` unassigned."""
        if visit.mandatory:
            return self.mandatory_penalty
        return self.drop_penalty * visit.acuity * visit.acuity


@dataclass(frozen=True)
class Problem:
    """One plan day: locations, matrix, clinicians, visits, links and options."""

    locations: tuple[Location, ...]
    clinicians: tuple[Clinician, ...]
    visits: tuple[Visit, ...]
    matrix: Matrix | None = None
    links: tuple[Link, ...] = ()
    options: Options = field(default_factory=Options)

    def __post_init__(self) -> None:
        n = len(self.locations)
        if self.matrix is not None and self.matrix.size != n:
            raise InvalidProblem(
                "matrix.durations",
                f"has {self.matrix.size} rows but there are {n} locations",
            )
        clinician_ids = _unique_ids("clinicians", [c.id for c in self.clinicians])
        visit_ids = _unique_ids("visits", [v.id for v in self.visits])
        for c in self.clinicians:
            _location_in_range(c.start_location, n, "start_location", c.id)
            _location_in_range(c.end, n, "end_location", c.id)
        for v in self.visits:
            _location_in_range(v.location, n, "location", v.id)
            for name in ("preferred_clinicians", "excluded_clinicians"):
                for cid in getattr(v, name):
                    if cid not in clinician_ids:
                        raise InvalidProblem(name, f"unknown clinician {cid!r}", obj_id=v.id)
            if v.pinned_clinician is not None and v.pinned_clinician not in clinician_ids:
                raise InvalidProblem(
                    "pinned_clinician", f"unknown clinician {v.pinned_clinician!r}", obj_id=v.id
                )
        for k, link in enumerate(self.links):
            where = f"links[{k}]"
            ids = link.visit_ids
            for vid in ids:
                if vid not in visit_ids:
                    raise InvalidProblem(where, f"unknown visit {vid!r}")
            if len(set(ids)) != len(ids) or len(ids) < 2:
                raise InvalidProblem(where, f"needs at least two different visits, got {list(ids)}")
            if isinstance(link, Precedence):
                _non_negative(link.min_gap, f"{where}.min_gap", None)
                if link.max_gap is not None and link.max_gap < link.min_gap:
                    raise InvalidProblem(
                        f"{where}.max_gap",
                        f"{link.max_gap} is below min_gap {link.min_gap}",
                    )

    # -- look-ups -----------------------------------------------------------
    def visit(self, visit_id: str) -> Visit:
        """The visit with id ``visit_id`` (KeyError if there is none)."""
        return self._visit_index[visit_id]

    def clinician(self, clinician_id: str) -> Clinician:
        """The clinician with id ``clinician_id`` (KeyError if there is none)."""
        return self._clinician_index[clinician_id]

    @property
    def _visit_index(self) -> dict[str, Visit]:
        cached = self.__dict__.get("_vi")
        if cached is None:
            cached = {v.id: v for v in self.visits}
            object.__setattr__(self, "_vi", cached)
        return cached

    @property
    def _clinician_index(self) -> dict[str, Clinician]:
        cached = self.__dict__.get("_ci")
        if cached is None:
            cached = {c.id: c for c in self.clinicians}
            object.__setattr__(self, "_ci", cached)
        return cached

    def require_matrix(self) -> Matrix:
        """The matrix; raises InvalidProblem if it still has to be computed."""
        if self.matrix is None:
            raise InvalidProblem(
                "matrix",
                "is missing: give one, or lat/lon for every location and a road graph "
                "(careroute solve --osm FILE)",
            )
        return self.matrix

    def can_serve(self, clinician: Clinician, visit: Visit) -> bool:
        """Hard eligibility: skills, exclusions and a dispatcher's pin."""
        if visit.pinned_clinician is not None and visit.pinned_clinician != clinician.id:
            return False
        return visit.required_skills <= clinician.skills and (
            clinician.id not in visit.excluded_clinicians
        )


def _unique_ids(kind: str, ids: Sequence[str]) -> set[str]:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise InvalidProblem(f"{kind}.id", f"duplicate id {i!r}", obj_id=i)
        seen.add(i)
    return seen


def _location_in_range(index: int, n: int, field_name: str, obj_id: str) -> None:
    if not 0 <= index < n:
        raise InvalidProblem(
            field_name, f"location index {index} is out of range (0..{n - 1})", obj_id=obj_id
        )


# -- solution -----------------------------------------------------------------


@dataclass(frozen=True)
class Stop:
    """One visit in a route: arrival, start and end of service, the leg into it."""

    visit_id: str
    arrival: int
    start: int
    end: int
    travel_time: int
    distance: int | None
    wait: int


@dataclass(frozen=True)
class BreakTaken:
    """A break as scheduled: its start and duration (s)."""

    start: int
    duration: int


@dataclass(frozen=True)
class Route:
    """A clinician's route: leave ``start_time``, visit ``stops``, arrive ``end_time``."""

    clinician_id: str
    start_time: int
    end_time: int
    stops: tuple[Stop, ...]
    breaks: tuple[BreakTaken, ...]
    travel_time: int
    distance: int | None
    overtime: int


@dataclass(frozen=True)
class Unassigned:
    """A visit left out, with a stable reason code and a sentence for people."""

    visit_id: str
    reason: str
    detail: str = ""


#: The stable reason codes for an unassigned visit.
REASONS = (
    "no_clinician_with_skills",
    "excluded_everywhere",
    "pinned_clinician_unavailable",
    "time_window_unreachable",
    "shift_too_short",
    "capacity",
    "linked_visit_unassigned",
    "not_worth_it",
)


@dataclass(frozen=True)
class Solution:
    """Routes (clinicians with at least one stop), unassigned visits and KPIs."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    kpis: dict[str, object] = field(default_factory=dict, compare=False)
