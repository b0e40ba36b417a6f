"""Time a clinician's route from its stop order: arrivals, starts, breaks, totals.

This is the constructive side of the timing rules (the checker in
:mod:`routing.check` is the judging side and does not use this module). The
rules, in short: a clinician leaves the start place no earlier than the shift
start, drives each leg, may wait, serves each visit inside one of its time
windows, keeps ``buffer_after_visit`` after each visit, and reaches the end
place by shift end + ``max_overtime``. A break is taken whole in an idle gap,
either before the drive of a gap or while waiting on arrival, never during a
visit, a buffer or a drive; it is required when the route ends after the
break's earliest start.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from .model import Break, BreakTaken, Clinician, Problem, Route, Stop, Visit

INFEASIBLE = None


@dataclass(frozen=True)
class _Leg:
    travel_s: int
    distance_m: int | None


def window_start(visit: Visit, arrival: int) -> int | None:
    """Earliest service start >= ``arrival`` (s) inside a time window, or None."""
    if not visit.time_windows:
        return arrival
    for lo, hi in visit.windows:
        if arrival <= hi:
            return max(arrival, lo)
    return None


class RouteTimer:
    """Times stop sequences for one problem (precomputed look-ups, reused per call)."""

    def __init__(self, problem: Problem) -> None:
        matrix = problem.require_matrix()
        self.problem = problem
        self.durations = matrix.durations
        self.distances = matrix.distances

    def leg(self, a: int, b: int) -> _Leg:
        dist = self.distances[a][b] if self.distances is not None else None
        return _Leg(self.durations[a][b], dist)

    def time_route(
        self,
        clinician: Clinician,
        visits: Sequence[Visit],
        *,
        fixed_starts: Mapping[str, int] | None = None,
        break_gaps: Sequence[int] | None = None,
    ) -> Route | None:
        """Time ``visits`` in this order for ``clinician``; None if no timing is feasible.

        Parameters
        ----------
        clinician
            Whose route it is (shift, breaks, buffer, limits).
        visits
            The stops in driving order; eligibility (skills, exclusions) is the
            caller's business, limits (max visits, workload points) are checked.
        fixed_starts
            Visit id -> service start (s) that must be met exactly (linked visits).
        break_gaps
            For each clinician break, the gap to take it in (k = before stop k,
            ``len(visits)`` = before driving to the end place); by default each
            break is taken in the first gap where it costs no time, or where it
            must be taken.

        Returns
        -------
        Route or None
            The earliest timing found (the clinician leaves as late as the
            first visit allows), or None when a window, the shift end, a break
            or a limit cannot be kept.
        """
        if clinician.max_visits is not None and len(visits) > clinician.max_visits:
            return INFEASIBLE
        if clinician.max_workload_points is not None and (
            sum(v.workload_points for v in visits) > clinician.max_workload_points
        ):
            return INFEASIBLE
        fixed = fixed_starts or {}
        pending: list[tuple[Break, int | None]] = [
            (b, None if break_gaps is None else break_gaps[i])
            for i, b in enumerate(clinician.breaks)
        ]
        taken: list[BreakTaken] = []
        stops: list[Stop] = []
        ready = clinician.shift_start
        here = clinician.start_location
        buffer = clinician.buffer_after_visit
        travel_total = 0
        distance_total: int | None = 0 if self.distances is not None else None
        for gap, visit in enumerate(visits):
            leg = self.leg(here, visit.location)
            timed = self._time_stop(visit, leg, ready, pending, taken, buffer, fixed, gap)
            if timed is None:
                return INFEASIBLE
            stops.append(timed)
            travel_total += leg.travel_s
            if distance_total is not None and leg.distance_m is not None:
                distance_total += leg.distance_m
            ready = timed.end + buffer
            here = visit.location
        home = self.leg(here, clinician.end)
        end_time = ready + home.travel_s
        # Breaks still pending go before the drive home, if the day reaches them.
        while pending and (end_time > pending[0][0].earliest_start or pending[0][1] is not None):
            brk = pending.pop(0)[0]
            b_start = max(ready, brk.earliest_start)
            if b_start > brk.latest_start:
                return INFEASIBLE
            taken.append(BreakTaken(b_start, brk.duration))
            ready = b_start + brk.duration
            end_time = ready + home.travel_s
        if end_time > clinician.latest_end:
            return INFEASIBLE
        travel_total += home.travel_s
        if distance_total is not None and home.distance_m is not None:
            distance_total += home.distance_m
        start_time = clinician.shift_start
        if stops and not any(b.start < stops[0].start for b in taken):
            # Leave just in time for the first visit: no waiting on the doorstep.
            first = stops[0]
            start_time = max(clinician.shift_start, first.start - first.travel_time)
            arrival = start_time + first.travel_time
            stops[0] = replace(first, arrival=arrival, wait=first.start - arrival)
        return Route(
            clinician_id=clinician.id,
            start_time=start_time,
            end_time=end_time,
            stops=tuple(stops),
            breaks=tuple(taken),
            travel_time=travel_total,
            distance=distance_total,
            overtime=max(0, end_time - clinician.shift_end),
        )

    def _time_stop(
        self,
        visit: Visit,
        leg: _Leg,
        ready: int,
        pending: list[tuple[Break, int | None]],
        taken: list[BreakTaken],
        buffer: int,
        fixed: Mapping[str, int],
        gap: int,
    ) -> Stop | None:
        """Time one stop after ``ready``; take the next pending break here if it must or fits."""
        arrival = ready + leg.travel_s
        plain = _service_start(visit, arrival, fixed)
        if not pending:
            if plain is None:
                return None
            return _stop(visit, leg, arrival, plain)
        brk, wanted_gap = pending[0]
        # Two places for the break in this gap: on arrival (while waiting) or
        # before the drive. Keep the one that lets service start earlier.
        options: list[tuple[int, int, int]] = []  # (service start, break start, arrival)
        on_arrival = max(arrival, brk.earliest_start)
        if on_arrival <= brk.latest_start:
            start = _service_start(visit, on_arrival + brk.duration, fixed)
            if start is not None:
                options.append((start, on_arrival, arrival))
        before_drive = max(ready, brk.earliest_start)
        if before_drive <= brk.latest_start:
            late_arrival = before_drive + brk.duration + leg.travel_s
            start = _service_start(visit, late_arrival, fixed)
            if start is not None:
                options.append((start, before_drive, late_arrival))
        if wanted_gap is not None:
            take = wanted_gap == gap
            must = take
        else:
            # Later gaps open at this visit's end + buffer at the earliest.
            must = plain is None or plain + visit.duration + buffer > brk.latest_start
            take = must or bool(options) and min(options)[0] == plain
        if take and options:
            start, b_start, b_arrival = min(options)
            pending.pop(0)
            taken.append(BreakTaken(b_start, brk.duration))
            return _stop(visit, leg, b_arrival, start)
        if must or plain is None:
            return None
        return _stop(visit, leg, arrival, plain)


def _stop(visit: Visit, leg: _Leg, arrival: int, start: int) -> Stop:
    return Stop(visit.id, arrival, start, start + visit.duration, leg.travel_s, leg.distance_m,
                start - arrival)


def _service_start(visit: Visit, arrival: int, fixed: Mapping[str, int]) -> int | None:
    start = window_start(visit, arrival)
    if start is None:
        return None
    want = fixed.get(visit.id)
    if want is None:
        return start
    if want < start or window_start(visit, want) != want:
        return None
    return want
