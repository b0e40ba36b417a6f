"""The independent checker: list every way a solution breaks its problem.

:func:`check` recomputes every time, travel leg and total from the problem's
matrix and each route's stop order, without OR-Tools and without the solver,
scheduler or baseline (tests and benchmarks trust this module, not them). An
empty list means the solution is feasible.

Time semantics
--------------
This is the project's definition of a feasible route; times are integer
seconds from the plan day's midnight, ``D`` is ``matrix.durations`` and
``M`` is ``matrix.distances``.

- The route leaves ``start_location`` at ``start_time >= shift_start``. Let
  ``ready_0 = start_time`` and ``prev = start_location``; after stop ``k``,
  ``ready_k = stop.end + buffer_after_visit`` and ``prev = visit.location``.
- Each stop ``k``: ``travel_time == D[prev][loc]``; ``distance == M[prev][loc]``
  (``null`` when the matrix has no distances); ``arrival >= ready_{k-1} +
  travel_time``; ``start >= arrival``; ``wait == start - arrival``; ``end ==
  start + visit.duration``; ``start`` lies inside one of the visit's time
  windows (``lo <= start <= hi``, both inclusive); a visit without windows
  may start at any time.
- ``end_time >= ready_n + D[last][end_location]`` and ``end_time <= shift_end
  + max_overtime``; ``overtime == max(0, end_time - shift_end)``; the route's
  ``travel_time`` is the sum of its stops' legs plus the leg to
  ``end_location`` (``distance`` likewise; ``null`` without distances).
- Breaks: ``route.breaks[i]`` is the clinician's ``breaks[i]``. A route may
  list fewer breaks than its clinician has only by omitting trailing breaks
  that are not required; break ``i`` is required iff ``end_time >
  breaks[i].earliest_start``. A taken break has the clinician break's
  ``duration``, starts inside ``[earliest_start, latest_start]``, and
  ``[start, start + duration]`` lies inside an idle gap of the route: the gap
  before stop ``k`` is ``[ready_{k-1}, stop_k.start]``, the final gap is
  ``[ready_n, end_time]``. It must not overlap that gap's drive, which is
  ``[arrival_k - travel_k, arrival_k]`` (``[end_time - travel_to_end,
  end_time]`` for the final gap), nor another break. Touching endpoints are
  not overlap. A gap must hold its drive and the breaks taken before it:
  ``arrival_k >= ready_{k-1} + travel_k + durations of the breaks taken in the
  gap before the drive`` (and so for ``end_time`` in the final gap).

Travel legs always come from the matrix (a wrong ``travel_time`` field is
reported, then the matrix value is used), and ``ready_k`` from the stop's
``end`` field (a wrong ``end`` is reported by ``end_mismatch``).

Violation codes
---------------
Coverage
    ``missing_visit`` (a visit neither in a route nor unassigned),
    ``duplicate_visit`` (listed more than once across routes and
    ``unassigned``), ``unknown_visit`` (an id not in the problem),
    ``unknown_clinician`` (a route of an unknown clinician; its stops count
    for coverage, nothing else of it is checked), ``duplicate_route`` (a
    clinician with more than one route), ``empty_route`` (a route with no
    stops), ``bad_reason`` (an unassigned reason not in
    :data:`routing.model.REASONS`).
Stops
    ``travel_mismatch``, ``distance_mismatch``, ``arrival_too_early`` (also
    for ``end_time``, reaching the end location; then ``visit_id`` is None),
    ``start_before_arrival``, ``wait_mismatch``, ``end_mismatch``,
    ``time_window``.
Routes
    ``shift_start``, ``shift_end`` (later than shift end + max overtime),
    ``overtime_mismatch``, ``route_travel_mismatch``,
    ``route_distance_mismatch``. A route with a stop of an unknown visit gets
    no time checks (its legs cannot be recomputed).
Breaks
    ``break_missing`` (a required break not taken), ``break_extra`` (more
    breaks than the clinician has), ``break_duration``, ``break_window``
    (start outside ``[earliest_start, latest_start]``), ``break_overlap``
    (not inside an idle gap: overlaps service or a buffer, a drive, another
    break, or lies outside ``[start_time, end_time]``).
Eligibility and limits
    ``skill``, ``excluded``, ``pinned``, ``max_visits``,
    ``max_workload_points``.
Links
    ``link_partial`` (some of a link's visits served, some not),
    ``link_simultaneous`` (different starts), ``link_same_clinician`` (two
    visits of a simultaneous link on one clinician), ``link_precedence``
    (``then.start - first.start`` outside ``[min_gap, max_gap]``).
KPIs
    ``kpi_mismatch``: when ``solution.kpis`` is non-empty, each key of
    :data:`routing.kpis.KPI_KEYS` it holds must equal the value
    :func:`routing.kpis.compute_kpis` recomputes (numbers within
    :data:`KPI_TOLERANCE`; a key the recomputation omits must be absent).
    Other keys are not checked.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .kpis import KPI_KEYS, compute_kpis
from .model import (
    REASONS,
    BreakTaken,
    Clinician,
    Matrix,
    Precedence,
    Problem,
    Route,
    Simultaneous,
    Solution,
    Stop,
    Visit,
)

#: Absolute tolerance when comparing a solution's KPI numbers with recomputed ones.
KPI_TOLERANCE = 1e-6


@dataclass(frozen=True)
class Violation:
    """One way a solution breaks its problem: a stable ``code`` and a sentence.

    ``message`` names the ids and numbers involved; ``clinician_id`` and
    ``visit_id`` are set where the violation belongs to one.
    """

    code: str
    message: str
    clinician_id: str | None = None
    visit_id: str | None = None


def check(problem: Problem, solution: Solution) -> list[Violation]:
    """List every violation of ``problem`` by ``solution`` (empty = feasible).

    Parameters
    ----------
    problem
        The problem, with its matrix.
    solution
        Any solution, however broken: unknown ids, duplicates and impossible
        times are reported, never raised.

    Returns
    -------
    list of Violation
        In a stable order: coverage, then route by route, then links, then
        KPIs.

    Raises
    ------
    InvalidProblem
        If ``problem.matrix`` is None.
    """
    return _Checker(problem, solution).run()


@dataclass(frozen=True)
class _Gap:
    """An idle gap ``[lo, hi]`` of a route and the drive ``[drive_lo, drive_hi]`` in it."""

    lo: int
    hi: int
    drive_lo: int
    drive_hi: int
    where: str

    def holds(self, lo: int, hi: int) -> bool:
        return self.lo <= lo and hi <= self.hi


def _overlaps(a_lo: int, a_hi: int, b_lo: int, b_hi: int) -> bool:
    """Whether two closed intervals share more than an endpoint."""
    return a_lo < b_hi and b_lo < a_hi


def _at(t: int) -> str:
    """A time of day as ``33300 (09:15:00)``."""
    sign, a = ("-", -t) if t < 0 else ("", t)
    return f"{t} ({sign}{a // 3600:02d}:{a % 3600 // 60:02d}:{a % 60:02d})"


class _Checker:
    def __init__(self, problem: Problem, solution: Solution) -> None:
        self.matrix: Matrix = problem.require_matrix()
        self.problem = problem
        self.solution = solution
        self.visits = {v.id: v for v in problem.visits}
        self.clinicians = {c.id: c for c in problem.clinicians}
        self.found: list[Violation] = []

    def add(
        self,
        code: str,
        message: str,
        clinician_id: str | None = None,
        visit_id: str | None = None,
    ) -> None:
        self.found.append(Violation(code, message, clinician_id, visit_id))

    def run(self) -> list[Violation]:
        self.coverage()
        routes_of: Counter[str] = Counter()
        for route in self.solution.routes:
            routes_of[route.clinician_id] += 1
            self.route(route, routes_of[route.clinician_id])
        self.links()
        self.kpis()
        return self.found

    # -- coverage -------------------------------------------------------------
    def coverage(self) -> None:
        places: dict[str, list[str]] = defaultdict(list)
        for route in self.solution.routes:
            for stop in route.stops:
                places[stop.visit_id].append(f"route of {route.clinician_id!r}")
        for u in self.solution.unassigned:
            places[u.visit_id].append("unassigned")
        for v in self.problem.visits:
            where = places.get(v.id, [])
            if not where:
                self.add(
                    "missing_visit",
                    f"visit {v.id!r} is neither in a route nor unassigned",
                    visit_id=v.id,
                )
            elif len(where) > 1:
                self.add(
                    "duplicate_visit",
                    f"visit {v.id!r} appears {len(where)} times: {', '.join(where)}",
                    visit_id=v.id,
                )
        for vid, where in places.items():
            if vid not in self.visits:
                self.add(
                    "unknown_visit",
                    f"visit {vid!r} is not in the problem (found in {', '.join(where)})",
                    visit_id=vid,
                )
        for u in self.solution.unassigned:
            if u.reason not in REASONS:
                self.add(
                    "bad_reason",
                    f"unassigned visit {u.visit_id!r} has reason {u.reason!r}, "
                    f"not one of {', '.join(REASONS)}",
                    visit_id=u.visit_id,
                )

    # -- one route --------------------------------------------------------------
    def route(self, route: Route, nth: int) -> None:
        cid = route.clinician_id
        clinician = self.clinicians.get(cid)
        if clinician is None:
            self.add(
                "unknown_clinician",
                f"route of clinician {cid!r}, who is not in the problem",
                clinician_id=cid,
            )
            return
        if nth > 1:
            self.add(
                "duplicate_route",
                f"clinician {cid!r} has {nth} routes; one at most",
                clinician_id=cid,
            )
        if not route.stops:
            self.add(
                "empty_route", f"route of {cid!r} has no stops; leave it out", clinician_id=cid
            )
        visits = [self.visits.get(s.visit_id) for s in route.stops]
        known = [(s, v) for s, v in zip(route.stops, visits, strict=True) if v is not None]
        self.eligibility(clinician, known)
        self.limits(clinician, route, [v for _, v in known])
        if len(known) == len(route.stops):
            self.times(clinician, route, known)

    def eligibility(self, c: Clinician, known: Sequence[tuple[Stop, Visit]]) -> None:
        for _, v in known:
            lacking = v.required_skills - c.skills
            if lacking:
                self.add(
                    "skill",
                    f"visit {v.id!r} needs skills {sorted(lacking)} that "
                    f"clinician {c.id!r} lacks (has {sorted(c.skills)})",
                    c.id,
                    v.id,
                )
            if c.id in v.excluded_clinicians:
                self.add("excluded", f"visit {v.id!r} excludes clinician {c.id!r}", c.id, v.id)
            if v.pinned_clinician is not None and v.pinned_clinician != c.id:
                self.add(
                    "pinned",
                    f"visit {v.id!r} is pinned to {v.pinned_clinician!r} but served by {c.id!r}",
                    c.id,
                    v.id,
                )

    def limits(self, c: Clinician, route: Route, visits: Sequence[Visit]) -> None:
        if c.max_visits is not None and len(route.stops) > c.max_visits:
            self.add(
                "max_visits",
                f"route of {c.id!r} has {len(route.stops)} stops, max_visits is {c.max_visits}",
                c.id,
            )
        points = sum(v.workload_points for v in visits)
        if c.max_workload_points is not None and points > c.max_workload_points:
            self.add(
                "max_workload_points",
                f"route of {c.id!r} carries {points} workload "
                f"points, max_workload_points is {c.max_workload_points}",
                c.id,
            )

    def times(self, c: Clinician, route: Route, known: Sequence[tuple[Stop, Visit]]) -> None:
        durations, distances = self.matrix.durations, self.matrix.distances
        cid = c.id
        if route.start_time < c.shift_start:
            self.add(
                "shift_start",
                f"route of {cid!r} leaves at {_at(route.start_time)}, "
                f"before shift start {_at(c.shift_start)}",
                cid,
            )
        prev, ready = c.start_location, route.start_time
        travel_total = distance_total = 0
        gaps: list[_Gap] = []
        busy: list[tuple[int, int, str]] = []
        for stop, v in known:
            travel = durations[prev][v.location]
            travel_total += travel
            if stop.travel_time != travel:
                self.add(
                    "travel_mismatch",
                    f"stop {v.id!r} on {cid!r}: travel_time "
                    f"{stop.travel_time} s, matrix gives {travel} s for location "
                    f"{prev} -> {v.location}",
                    cid,
                    v.id,
                )
            if distances is None:
                if stop.distance is not None:
                    self.add(
                        "distance_mismatch",
                        f"stop {v.id!r} on {cid!r}: distance "
                        f"{stop.distance} m given but the problem has no distances "
                        f"(must be null)",
                        cid,
                        v.id,
                    )
            else:
                metres = distances[prev][v.location]
                distance_total += metres
                if stop.distance != metres:
                    self.add(
                        "distance_mismatch",
                        f"stop {v.id!r} on {cid!r}: distance "
                        f"{stop.distance} m, matrix gives {metres} m for location "
                        f"{prev} -> {v.location}",
                        cid,
                        v.id,
                    )
            gap = _Gap(
                ready,
                stop.start,
                stop.arrival - travel,
                stop.arrival,
                f"the gap before visit {v.id!r}",
            )
            gaps.append(gap)
            self.arrival(route, gap, ready, travel, stop.arrival, f"visit {v.id!r}", cid, v.id)
            if stop.start < stop.arrival:
                self.add(
                    "start_before_arrival",
                    f"stop {v.id!r} on {cid!r} starts at "
                    f"{_at(stop.start)}, before its arrival {_at(stop.arrival)}",
                    cid,
                    v.id,
                )
            if stop.wait != stop.start - stop.arrival:
                self.add(
                    "wait_mismatch",
                    f"stop {v.id!r} on {cid!r}: wait {stop.wait} s, "
                    f"start - arrival is {stop.start - stop.arrival} s",
                    cid,
                    v.id,
                )
            if stop.end != stop.start + v.duration:
                self.add(
                    "end_mismatch",
                    f"stop {v.id!r} on {cid!r} ends at {_at(stop.end)}, "
                    f"start + duration is {_at(stop.start + v.duration)}",
                    cid,
                    v.id,
                )
            windows = v.windows
            if windows and not any(lo <= stop.start <= hi for lo, hi in windows):
                self.add(
                    "time_window",
                    f"stop {v.id!r} on {cid!r} starts at "
                    f"{_at(stop.start)}, outside its time windows {list(windows)}",
                    cid,
                    v.id,
                )
            ready = stop.end + c.buffer_after_visit
            busy.append(
                (stop.start, ready, f"visit {v.id!r} (service and buffer {stop.start}..{ready})")
            )
            prev = v.location

        leg = durations[prev][c.end]
        travel_total += leg
        if distances is not None:
            distance_total += distances[prev][c.end]
        final = _Gap(ready, route.end_time, route.end_time - leg, route.end_time, "the final gap")
        gaps.append(final)
        self.arrival(
            route, final, ready, leg, route.end_time, f"its end location {c.end}", cid, None
        )
        if route.end_time > c.latest_end:
            self.add(
                "shift_end",
                f"route of {cid!r} ends at {_at(route.end_time)}, after shift "
                f"end {_at(c.shift_end)} + max_overtime {c.max_overtime} s",
                cid,
            )
        overtime = max(0, route.end_time - c.shift_end)
        if route.overtime != overtime:
            self.add(
                "overtime_mismatch",
                f"route of {cid!r}: overtime {route.overtime} s, "
                f"end_time - shift_end gives {overtime} s",
                cid,
            )
        if route.travel_time != travel_total:
            self.add(
                "route_travel_mismatch",
                f"route of {cid!r}: travel_time "
                f"{route.travel_time} s, its legs sum to {travel_total} s",
                cid,
            )
        expected_distance = None if distances is None else distance_total
        if route.distance != expected_distance:
            self.add(
                "route_distance_mismatch",
                f"route of {cid!r}: distance {route.distance} m, expected {expected_distance}",
                cid,
            )
        self.breaks(c, route, gaps, busy)

    def arrival(
        self,
        route: Route,
        gap: _Gap,
        ready: int,
        travel: int,
        arrival: int,
        what: str,
        cid: str,
        vid: str | None,
    ) -> None:
        before = [
            b for b in route.breaks if gap.lo <= b.start and b.start + b.duration <= gap.drive_lo
        ]
        earliest = ready + travel + sum(b.duration for b in before)
        if arrival < earliest:
            held = f" + breaks {sum(b.duration for b in before)} s" if before else ""
            self.add(
                "arrival_too_early",
                f"route of {cid!r} reaches {what} at {_at(arrival)}, "
                f"but cannot before {_at(earliest)} (ready {_at(ready)} + drive {travel} "
                f"s{held})",
                cid,
                vid,
            )

    # -- breaks -----------------------------------------------------------------
    def breaks(
        self,
        c: Clinician,
        route: Route,
        gaps: Sequence[_Gap],
        busy: Sequence[tuple[int, int, str]],
    ) -> None:
        cid = c.id
        for i in range(len(c.breaks), len(route.breaks)):
            self.add(
                "break_extra",
                f"route of {cid!r} lists break {i} at "
                f"{_at(route.breaks[i].start)}, but the clinician has only "
                f"{len(c.breaks)} breaks",
                cid,
            )
        for i, rule in enumerate(c.breaks):
            if i >= len(route.breaks):
                if route.end_time > rule.earliest_start:
                    self.add(
                        "break_missing",
                        f"route of {cid!r} ends at {_at(route.end_time)}, "
                        f"after break {i} may start ({_at(rule.earliest_start)}), but "
                        f"does not take it",
                        cid,
                    )
                continue
            b = route.breaks[i]
            if b.duration != rule.duration:
                self.add(
                    "break_duration",
                    f"break {i} of {cid!r} lasts {b.duration} s, "
                    f"the clinician's break lasts {rule.duration} s",
                    cid,
                )
            if not rule.earliest_start <= b.start <= rule.latest_start:
                self.add(
                    "break_window",
                    f"break {i} of {cid!r} starts at {_at(b.start)}, "
                    f"outside [{_at(rule.earliest_start)}, {_at(rule.latest_start)}]",
                    cid,
                )
            self.placement(i, b, cid, route, gaps, busy)
        taken = list(enumerate(route.breaks[: len(c.breaks)]))
        for k, (i, a) in enumerate(taken):
            for j, b in taken[k + 1 :]:
                if _overlaps(a.start, a.start + a.duration, b.start, b.start + b.duration):
                    self.add(
                        "break_overlap",
                        f"breaks {i} ({a.start}..{a.start + a.duration})"
                        f" and {j} ({b.start}..{b.start + b.duration}) of {cid!r} overlap",
                        cid,
                    )

    def placement(
        self,
        i: int,
        b: BreakTaken,
        cid: str,
        route: Route,
        gaps: Sequence[_Gap],
        busy: Sequence[tuple[int, int, str]],
    ) -> None:
        lo, hi = b.start, b.start + b.duration
        span = f"break {i} of {cid!r} ({lo}..{hi})"
        holding = [g for g in gaps if g.holds(lo, hi)]
        if holding:
            if all(_overlaps(lo, hi, g.drive_lo, g.drive_hi) for g in holding):
                g = holding[0]
                self.add(
                    "break_overlap",
                    f"{span} overlaps the drive {g.drive_lo}..{g.drive_hi} in {g.where}",
                    cid,
                )
            return
        hit = [label for s, e, label in busy if _overlaps(lo, hi, s, e)]
        if hit:
            why = f"overlaps {hit[0]}"
        elif lo < route.start_time or hi > route.end_time:
            why = f"lies outside the route {route.start_time}..{route.end_time}"
        else:
            why = "is not inside an idle gap"
        self.add("break_overlap", f"{span} {why}", cid)

    # -- links ------------------------------------------------------------------
    def links(self) -> None:
        served: dict[str, tuple[str, Stop]] = {}
        for route in self.solution.routes:
            for stop in route.stops:
                served.setdefault(stop.visit_id, (route.clinician_id, stop))
        for k, link in enumerate(self.problem.links):
            ids = link.visit_ids
            name = f"links[{k}] ({link.type}, {', '.join(map(repr, ids))})"
            on = [vid for vid in ids if vid in served]
            if not on:
                continue
            if len(on) != len(ids):
                off = [vid for vid in ids if vid not in served]
                self.add(
                    "link_partial",
                    f"{name}: {', '.join(map(repr, on))} served but "
                    f"{', '.join(map(repr, off))} not; linked visits go together",
                    visit_id=ids[0],
                )
                continue
            if isinstance(link, Simultaneous):
                self.simultaneous(name, link, served)
            elif isinstance(link, Precedence):
                self.precedence(name, link, served)

    def simultaneous(
        self, name: str, link: Simultaneous, served: Mapping[str, tuple[str, Stop]]
    ) -> None:
        starts = {vid: served[vid][1].start for vid in link.visits}
        if len(set(starts.values())) > 1:
            listed = ", ".join(f"{vid!r} at {_at(t)}" for vid, t in starts.items())
            self.add(
                "link_simultaneous",
                f"{name} must start together: {listed}",
                visit_id=link.visits[0],
            )
        by_clinician: dict[str, list[str]] = defaultdict(list)
        for vid in link.visits:
            by_clinician[served[vid][0]].append(vid)
        for cid, vids in by_clinician.items():
            if len(vids) > 1:
                self.add(
                    "link_same_clinician",
                    f"{name}: {', '.join(map(repr, vids))} are all "
                    f"served by {cid!r}; each needs a different clinician",
                    cid,
                    vids[0],
                )

    def precedence(
        self, name: str, link: Precedence, served: Mapping[str, tuple[str, Stop]]
    ) -> None:
        gap = served[link.then][1].start - served[link.first][1].start
        too_late = link.max_gap is not None and gap > link.max_gap
        if gap < link.min_gap or too_late:
            upper = "unbounded" if link.max_gap is None else f"{link.max_gap}"
            self.add(
                "link_precedence",
                f"{name}: {link.then!r} starts {gap} s after "
                f"{link.first!r}, allowed [{link.min_gap}, {upper}]",
                visit_id=link.then,
            )

    # -- KPIs -------------------------------------------------------------------
    def kpis(self) -> None:
        given = self.solution.kpis
        if not given:
            return
        expected = compute_kpis(self.problem, self.solution)
        for key in KPI_KEYS:
            if key not in given:
                continue
            if key not in expected:
                self.add(
                    "kpi_mismatch",
                    f"kpi {key!r} is {given[key]!r} but must be absent for this problem",
                )
            elif not _same(given[key], expected[key]):
                self.add(
                    "kpi_mismatch", f"kpi {key!r} is {given[key]!r}, recomputed {expected[key]!r}"
                )


def _is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _same(given: object, expected: object) -> bool:
    """Equal, numbers within :data:`KPI_TOLERANCE`, objects key by key."""
    if _is_number(given) and _is_number(expected):
        assert isinstance(given, int | float) and isinstance(expected, int | float)
        return math.isclose(given, expected, rel_tol=0.0, abs_tol=KPI_TOLERANCE)
    if isinstance(given, Mapping) and isinstance(expected, Mapping):
        return set(given) == set(expected) and all(_same(given[k], expected[k]) for k in expected)
    return given == expected
