"""Re-plan the rest of a day from "now", changing as little as possible.

:func:`replan` takes the day's problem (visits added and cancelled already
applied), the plan being revised and what has happened (:class:`DayState`),
and returns the new plan. What happened stays as it happened: completed and
started stops, and stops planned to start before ``now``, are locked. Each
clinician restarts where they are (their last locked stop, or a reported
position) at the current time. The rest of the day is solved as a smaller
problem (:attr:`ReplanResult.remaining_problem`) whose warm start is the
previous plan and whose objective adds a disruption cost for moving a visit
to another clinician or shifting a promised start beyond a tolerance. A
promised visit does not start earlier than its promise less the tolerance,
unless its clinician cannot go on (the patient is called about the new
clinician anyway; measured: a sick RN's 95-minute mandatory visit promised at
14:55 fitted nowhere later and was left out, where 13:13 was free), or
unless that is the only way to serve it (:func:`_earlier_than_promised`).

Around it, the steps a caller (the service's re-plan job, the re-optimisation
benchmark) takes on a routing :class:`Problem`: :func:`without_visits` for
cancellations, :func:`cannot_work_on` and :func:`without_clinicians` for
clinicians who have gone for the day, and :func:`keep_unchanged_routes`,
which keeps the promised times of routes the re-plan left as they were.

:func:`what_if` answers a dispatcher's phone call: the best places to fit one
more visit into the current plan, without a re-solve.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from .check import Violation, check
from .diagnose import linked_groups
from .kpis import compute_kpis
from .model import (
    MAX_SECONDS,
    Break,
    BreakTaken,
    Clinician,
    Link,
    Precedence,
    Problem,
    Route,
    Simultaneous,
    Solution,
    Stop,
    Unassigned,
    Visit,
)
from .schedule import RouteTimer
from .solver import Disruption, SolverParams, objective, solve


@dataclass(frozen=True)
class DayState:
    """What has happened by ``now`` (seconds from local midnight).

    Attributes
    ----------
    completed
        Visit id -> (actual start, actual end).
    started
        Visit id -> actual start of a visit under way.
    unavailable
        Clinician id -> time from which they cannot work (sick call).
    delayed
        Clinician id -> seconds they are running late from now on.
    positions
        Clinician id -> (location index, time reported); the location must be
        in the problem's locations (the caller adds it with its matrix rows).
    not_started
        Visits planned to start before ``now`` that have not started (an event
        said so); they are re-planned instead of locked.
    """

    now: int
    completed: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    started: Mapping[str, int] = field(default_factory=dict)
    unavailable: Mapping[str, int] = field(default_factory=dict)
    delayed: Mapping[str, int] = field(default_factory=dict)
    positions: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    not_started: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ReplanResult:
    """The revised plan, and the remaining-day problem and solution it was solved as."""

    solution: Solution
    remaining_problem: Problem
    remaining_solution: Solution
    locked: frozenset[str]
    #: Locked visits whose times were reported (completed, started), not planned.
    reported: frozenset[str] = frozenset()


def _locked_stops(problem: Problem, route: Route, state: DayState) -> list[Stop]:
    """The prefix of ``route`` that has happened (or is under way) by ``state.now``.

    Reported times (completed, started) are kept as reported. A stop locked
    only because it was planned to start before ``now`` is assumed to have
    happened as planned, but no earlier than the reported stops before it
    allow (arrival after the previous end, buffer and drive); pushed to
    ``now`` or later, it has not started and is not locked. Each leg is the
    matrix leg from the stop before it in this order.
    """
    cutoff = min(state.now, state.unavailable.get(route.clinician_id, state.now))
    matrix = problem.require_matrix()
    c = problem.clinician(route.clinician_id)
    visit_ids = {v.id for v in problem.visits}
    prev, ready = c.start_location, route.start_time
    out: list[Stop] = []
    for s in route.stops:
        if s.visit_id not in visit_ids:
            break  # cancelled
        v = problem.visit(s.visit_id)
        travel = matrix.durations[prev][v.location]
        earliest = ready + travel
        if s.visit_id in state.completed:
            start, end = state.completed[s.visit_id]
        elif s.visit_id in state.started:
            start = state.started[s.visit_id]
            end = start + v.duration
        elif s.start < cutoff and s.visit_id not in state.not_started:
            start = max(s.start, earliest)
            if start >= cutoff:
                break
            end = start + v.duration
        else:
            break
        arrival = min(max(s.arrival, earliest), start)
        distance = None if matrix.distances is None else matrix.distances[prev][v.location]
        out.append(replace(s, arrival=arrival, start=start, end=end, wait=start - arrival,
                           travel_time=travel, distance=distance))
        prev, ready = v.location, end + c.buffer_after_visit
    return out


def replan(
    problem: Problem,
    previous: Solution,
    state: DayState,
    *,
    time_limit: float | None = None,
    disruption: Disruption | None = None,
    from_scratch: bool = False,
) -> ReplanResult:
    """Re-solve the rest of the day from ``state.now``; see the module docstring.

    Parameters
    ----------
    problem
        The day as it is now: added visits in, cancelled visits out.
    previous
        The plan being revised (its routes are the warm start).
    state
        What has happened.
    time_limit
        Seconds of search (default: ``problem.options.time_limit``).
    disruption
        Disruption weights; the ``previous`` promises are filled in here.
    from_scratch
        Ignore what ``previous`` promised for the rest of the day: no
        disruption cost, no "not earlier than promised" windows, no warm
        start. Only what has happened is kept (locked stops, restarts). The
        reference a re-plan is measured against (``bench.reoptimise``).

    Returns
    -------
    ReplanResult
        ``solution`` holds the whole day (locked stops first);
        ``remaining_solution`` passes :func:`routing.check` against
        ``remaining_problem``.
    """
    visit_ids = {v.id for v in problem.visits}
    locked: dict[str, list[Stop]] = {}
    breaks_taken: dict[str, list[BreakTaken]] = {}
    route_of = {r.clinician_id: r for r in previous.routes}
    for route in previous.routes:
        stops = _locked_stops(problem, route, state)
        if stops:
            locked[route.clinician_id] = stops
        cutoff = stops[-1].end if stops else state.now
        breaks_taken[route.clinician_id] = [
            b for b in route.breaks if b.start < max(cutoff, state.now)]
    locked_ids = {s.visit_id for stops in locked.values() for s in stops}
    locked_start = {s.visit_id: s.start for stops in locked.values() for s in stops}

    timer = RouteTimer(problem)
    clinicians = []
    for c in problem.clinicians:
        reduced, before_delay = _restart(problem, c, locked.get(c.id, []),
                                         breaks_taken.get(c.id, []), state)
        breaks_taken[c.id] = breaks_taken.get(c.id, []) + before_delay
        if reduced is not None:
            clinicians.append(reduced)
    working = {c.id for c in clinicians}
    promises = {} if from_scratch else {
        s.visit_id: (r.clinician_id, s.start) for r in previous.routes
        for s in r.stops if s.visit_id not in locked_ids and s.visit_id in visit_ids}
    disruption = replace(disruption or Disruption(previous={}), previous=promises)
    pinned_away: list[Unassigned] = []
    remaining_visits = []
    unpromised: dict[str, Visit] = {}  # visit id -> as it was before its promise narrowed it
    for v in problem.visits:
        if v.id in locked_ids:
            continue
        if v.pinned_clinician is not None and v.pinned_clinician not in working:
            pinned_away.append(Unassigned(
                v.id, "pinned_clinician_unavailable",
                f"pinned to {v.pinned_clinician}, who cannot work the rest of the day"))
            continue
        still = _still_open(problem, v, locked_start, state.now)
        if isinstance(still, Unassigned):
            pinned_away.append(still)
            continue
        promise = promises.get(v.id)
        if promise is not None and promise[0] not in working:
            # Their clinician cannot go on: the patient is called about the new
            # clinician anyway, so an earlier time is no broken promise.
            promise = None
        still = replace(
            still,
            preferred_clinicians=tuple(c for c in still.preferred_clinicians if c in working),
            excluded_clinicians=tuple(c for c in still.excluded_clinicians if c in working))
        v = _not_before_promise(still, promise, disruption.shift_tolerance_s)
        if v.time_windows != still.time_windows:
            unpromised[v.id] = still
        remaining_visits.append(v)
    pinned_ids = {u.visit_id for u in pinned_away}
    for group in linked_groups(problem):  # partners are not served alone
        gone = [vid for vid in group if vid in pinned_ids]
        if gone:
            for vid in group:
                if vid not in pinned_ids and vid not in locked_ids:
                    pinned_away.append(Unassigned(
                        vid, "linked_visit_unassigned",
                        f"its linked visit {gone[0]} cannot be served in the rest of the day"))
                    pinned_ids.add(vid)
    remaining_visits = [v for v in remaining_visits if v.id not in pinned_ids]
    links = _open_links(problem, locked_ids | pinned_ids)
    remaining = replace(problem, clinicians=tuple(clinicians), visits=tuple(remaining_visits),
                        links=links)
    initial = None if from_scratch else {
        r.clinician_id: [s.visit_id for s in r.stops
                         if s.visit_id not in locked_ids and s.visit_id in visit_ids]
        for r in previous.routes if r.clinician_id in working
    }
    solved = solve(remaining, SolverParams(
        time_limit=time_limit, initial_routes=initial,
        disruption=None if from_scratch else disruption))
    if not from_scratch:
        remaining, solved = _earlier_than_promised(remaining, solved, unpromised, disruption,
                                                   time_limit)
    remaining_solution = solved
    solution = _merge(problem, remaining, remaining_solution, locked, breaks_taken, route_of,
                      timer)
    if pinned_away:  # not in the remaining problem, so only in the whole day's answer
        solution = replace(solution, unassigned=solution.unassigned + tuple(pinned_away))
    reported = frozenset(vid for vid in locked_ids
                         if vid in state.completed or vid in state.started)
    return ReplanResult(solution, remaining, remaining_solution, frozenset(locked_ids),
                        reported)


def _restart(
    problem: Problem,
    c: Clinician,
    locked: Sequence[Stop],
    taken: Sequence[BreakTaken],
    state: DayState,
) -> tuple[Clinician | None, list[BreakTaken]]:
    """The clinician as of ``now``: where and when they can go on, what is left of the day.

    Returns
    -------
    tuple
        The clinician of the remaining day (None: nothing more today), and
        the breaks they take at the restart, before a delay runs: a pending
        break whose latest start would pass while they are late is taken as
        soon as they are free (then the delay), so that the day keeps it; one
        whose window closed while they had no visit (after their last
        locked stop) is taken in that idle time.
        The remaining day never ends later than the shift end plus the
        overtime allowed for the whole day.
    """
    if locked:
        last = problem.visit(locked[-1].visit_id)
        here, ready = last.location, locked[-1].end + c.buffer_after_visit
    else:
        here, ready = c.start_location, c.shift_start
    position = state.positions.get(c.id)
    if position is not None and position[1] >= (locked[-1].end if locked else 0):
        here, ready = position[0], max(ready, position[1])
    # The re-plan starts from now; a delay pushes everything not yet started.
    free = max(ready, state.now, c.shift_start)
    late = state.delayed.get(c.id, 0)
    begin = free + late
    for t in taken:  # a break under way ends first
        if t.start <= begin < t.start + t.duration:
            begin = t.start + t.duration
        if t.start <= free < t.start + t.duration:
            free = t.start + t.duration
    before_delay: list[BreakTaken] = []
    idle = ready  # free of visits since then (waiting, or home early)
    for rule in c.breaks[len(taken):]:
        if rule.latest_start >= begin:
            break  # still open after the delay
        start = max(rule.earliest_start, free)
        if start > rule.latest_start:
            # Too late to start it now, but the clinician had no visit since
            # ``idle``: the break was taken then (a route that ended before
            # the window opened and is extended now must still show it).
            start = max(rule.earliest_start, idle)
            if start > rule.latest_start:
                break  # missed: a visit ran through the whole window
        before_delay.append(BreakTaken(start, rule.duration))
        idle = start + rule.duration
        free = max(free, idle)
        begin = max(begin, free + late)
    taken = list(taken) + before_delay
    shift_end, latest_end = c.shift_end, c.latest_end
    off = state.unavailable.get(c.id)
    if off is not None:
        shift_end, latest_end = min(shift_end, off), min(shift_end, off)
    if begin >= latest_end:
        return None, before_delay
    remaining_breaks = tuple(
        Break(max(b.earliest_start, begin), b.latest_start, b.duration)
        for b in c.breaks[len(taken):] if b.latest_start >= begin)
    # A visit under way past shift end moves the shift end, not the overtime limit.
    shift_end = max(shift_end, begin)
    return replace(
        c, start_location=here, shift_start=begin, shift_end=shift_end,
        max_overtime=latest_end - shift_end, breaks=remaining_breaks,
        max_visits=None if c.max_visits is None else max(0, c.max_visits - len(locked)),
        max_workload_points=None if c.max_workload_points is None else max(
            0, c.max_workload_points - sum(problem.visit(s.visit_id).workload_points
                                           for s in locked)),
    ), before_delay


def _hhmm(t: int) -> str:
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}:{t % 60:02d}"


def _still_open(problem: Problem, visit: Visit, locked_start: Mapping[str, int],
                now: int) -> Visit | Unassigned:
    """The visit as its started linked visits leave it, or why it cannot be served any more.

    A ``then`` visit whose precedence ``first`` started keeps the gap as a time
    window; a visit whose simultaneous partner started may only start when
    the partner did; a ``first`` whose ``then`` started cannot go before it
    any more. The remaining day starts at ``now``, so nothing starts earlier.
    """
    windows = visit.windows or ((0, MAX_SECONDS),)
    for link in problem.links:
        if isinstance(link, Precedence) and link.then == visit.id and link.first in locked_start:
            start = locked_start[link.first]
            lo = max(start + link.min_gap, now)
            hi = start + link.max_gap if link.max_gap is not None else MAX_SECONDS
            what = (f"must start {link.min_gap}-{link.max_gap} s after {link.first}, which "
                    f"started at {_hhmm(start)}")
        elif isinstance(link, Precedence) and link.first == visit.id and link.then in locked_start:
            return Unassigned(visit.id, "linked_visit_unassigned",
                              f"{link.then}, which must follow it, started at "
                              f"{_hhmm(locked_start[link.then])} without it")
        elif (isinstance(link, Simultaneous) and visit.id in link.visits
              and any(vid in locked_start for vid in link.visits)):
            partner = next(vid for vid in link.visits if vid in locked_start)
            lo = hi = start = locked_start[partner]
            if start < now:
                return Unassigned(visit.id, "linked_visit_unassigned",
                                  f"its two-clinician partner {partner} started at "
                                  f"{_hhmm(start)} without it; the rest of the day starts "
                                  f"at {_hhmm(now)}")
            what = f"must start with {partner}, which started at {_hhmm(start)}"
        else:
            continue
        narrowed = tuple((max(a, lo), min(b, hi)) for a, b in windows
                         if max(a, lo) <= min(b, hi))
        if not narrowed:
            return Unassigned(visit.id, "time_window_unreachable",
                              f"{what}; no time from {_hhmm(now)} on fits its time windows")
        windows = narrowed
        visit = replace(visit, time_windows=narrowed)
    return visit


def _open_links(problem: Problem, closed: Collection[str]) -> tuple[Link, ...]:
    """The links among visits not ``closed``: a simultaneous link keeps its open visits."""
    links: list[Link] = []
    for link in problem.links:
        if not any(vid in closed for vid in link.visit_ids):
            links.append(link)
        elif isinstance(link, Simultaneous):
            still = tuple(vid for vid in link.visits if vid not in closed)
            if len(still) > 1:  # started together with a third: still apart from each other
                links.append(Simultaneous(still))
    return tuple(links)


def _not_before_promise(visit: Visit, promise: tuple[str, int] | None,
                        tolerance_s: int) -> Visit:
    """Patients told a time are not visited earlier than that time less the tolerance."""
    if promise is None:
        return visit
    earliest = max(0, promise[1] - tolerance_s)
    windows = visit.windows or ((0, MAX_SECONDS),)
    kept = tuple((max(lo, earliest), hi) for lo, hi in windows if hi >= earliest)
    return replace(visit, time_windows=kept or windows)


#: Share of the time limit the retry of :func:`_earlier_than_promised` may take.
EARLIER_RETRY_SHARE = 0.15


def _earlier_than_promised(
    remaining: Problem, solved: Solution, unpromised: Mapping[str, Visit],
    disruption: Disruption, time_limit: float | None,
) -> tuple[Problem, Solution]:
    """Serve left-out promised visits earlier than promised when that is the only way.

    A promise keeps a visit from starting more than the tolerance before the
    promised time; when that leaves the visit out (its clinician is late, say,
    and nobody is free after the promise), an earlier start with a phone call
    is better care than no visit (measured: re-plans leaving out visits that
    re-solving from scratch served, nearly all held by their promise). The
    left-out visits get back their own windows and the plan is searched again
    from itself for a short while; kept only if its objective is lower.
    """
    left = {u.visit_id for u in solved.unassigned} & set(unpromised)
    if not left:
        return remaining, solved
    relaxed = replace(remaining, visits=tuple(
        unpromised[v.id] if v.id in left else v for v in remaining.visits))
    limit = time_limit if time_limit is not None else remaining.options.time_limit
    retried = solve(relaxed, SolverParams(
        time_limit=max(0.1, EARLIER_RETRY_SHARE * limit),
        initial_routes={r.clinician_id: [s.visit_id for s in r.stops] for r in solved.routes},
        disruption=disruption))
    # ``solved`` keeps every rule of ``relaxed`` too (only windows widened).
    if objective(relaxed, retried, disruption) < objective(relaxed, solved, disruption):
        return relaxed, retried
    return remaining, solved


def _final_breaks(c: Clinician, ready: int, taken: Sequence[BreakTaken],
                  drive_s: int) -> list[BreakTaken]:
    """``taken`` and the pending breaks a route that ends after its last stop now needs.

    The route is ready to drive home at ``ready`` (after a break under way, if
    any); a pending break is required when the route would reach home after
    its earliest start (the checker's rule), and is taken in the final gap,
    before the drive, as early as its window allows. A break whose window
    has closed cannot be taken any more (the checker will say so).
    """
    out = list(taken)
    ready = max([ready] + [b.start + b.duration for b in out])
    for rule in c.breaks[len(out):]:
        start = max(rule.earliest_start, ready)
        if ready + drive_s <= rule.earliest_start or start > rule.latest_start:
            break
        out.append(BreakTaken(start, rule.duration))
        ready = start + rule.duration
    return out


def _merge(
    problem: Problem,
    remaining: Problem,
    solved: Solution,
    locked: Mapping[str, list[Stop]],
    taken: Mapping[str, list[BreakTaken]],
    previous: Mapping[str, Route],
    timer: RouteTimer,
) -> Solution:
    """Locked stops + the re-planned rest, per clinician, as one day's solution."""
    new = {r.clinician_id: r for r in solved.routes}
    routes = []
    for c in problem.clinicians:
        old_stops = locked.get(c.id, [])
        rest = new.get(c.id)
        if not old_stops and rest is None:
            continue
        stops = list(old_stops) + (list(rest.stops) if rest else [])
        breaks = list(taken.get(c.id, [])) + (list(rest.breaks) if rest else [])
        if rest is not None:
            end_time = rest.end_time
        else:
            last = problem.visit(old_stops[-1].visit_id)
            breaks = _final_breaks(c, old_stops[-1].end + c.buffer_after_visit, breaks,
                                   timer.leg(last.location, c.end).travel_s)
            ready = max([old_stops[-1].end + c.buffer_after_visit]
                        + [b.start + b.duration for b in breaks])
            end_time = ready + timer.leg(last.location, c.end).travel_s
        start_time = previous[c.id].start_time if c.id in previous and old_stops else (
            rest.start_time if rest else c.shift_start)
        legs = stops[:]
        travel = sum(s.travel_time for s in legs)
        distance = None
        if timer.distances is not None:
            distance = sum(s.distance or 0 for s in legs)
        last_loc = problem.visit(stops[-1].visit_id).location if stops else c.start_location
        home = timer.leg(last_loc, c.end)
        travel += home.travel_s
        if distance is not None:
            distance += home.distance_m or 0
        routes.append(Route(
            clinician_id=c.id, start_time=start_time, end_time=end_time, stops=tuple(stops),
            breaks=tuple(sorted(breaks, key=lambda b: b.start)), travel_time=travel,
            distance=distance, overtime=max(0, end_time - c.shift_end)))
    merged = Solution(tuple(routes), solved.unassigned)
    return Solution(merged.routes, merged.unassigned, compute_kpis(problem, merged))


#: Link violations the checker reports per link.
_LINK_CODES = frozenset({"link_partial", "link_simultaneous", "link_same_clinician",
                         "link_precedence"})


def check_day(problem: Problem, result: ReplanResult) -> list[Violation]:
    """:func:`routing.check` of the merged day (history + re-plan) against ``problem``.

    The violations a re-plan cannot undo are left out: those of a link every
    served visit of which is locked (it happened that way; for example one
    half of a two-clinician visit started without the other, whose partner is
    then unassigned with a reason); a reported visit's own times (a visit that
    took longer than planned, started outside its window or sooner than the
    drive allows); and the first re-planned leg of a clinician who restarted
    at a reported position (see :func:`_restarted_elsewhere`).

    Parameters
    ----------
    problem
        The whole day, as given to :func:`replan`.
    result
        What :func:`replan` (and :func:`keep_unchanged_routes`) returned.
    """
    served = {s.visit_id for r in result.solution.routes for s in r.stops}
    history: set[str] = set()
    for link in problem.links:
        on = [vid for vid in link.visit_ids if vid in served]
        if on and all(vid in result.locked for vid in on):
            history.update(link.visit_ids)
    moved = _restarted_elsewhere(problem, result)
    return [v for v in check(problem, result.solution)
            if not (v.code in _LINK_CODES and v.visit_id in history)
            and not (v.code in _REPORTED_CODES and v.visit_id in result.reported)
            and not (v.clinician_id in moved and (
                v.code in _ROUTE_LEG_CODES
                or (v.code in _LEG_CODES and v.visit_id == moved[v.clinician_id])))]


#: What reported actual times of a visit may break in its own stop.
_REPORTED_CODES = frozenset({"end_mismatch", "time_window", "arrival_too_early"})
#: What a restart from a reported position does to the whole day's first re-planned leg.
_LEG_CODES = frozenset({"travel_mismatch", "distance_mismatch", "arrival_too_early"})
_ROUTE_LEG_CODES = frozenset({"route_travel_mismatch", "route_distance_mismatch"})


def _restarted_elsewhere(problem: Problem, result: ReplanResult) -> dict[str, str]:
    """Clinician id -> first re-planned visit, for those who restarted at a reported position.

    The whole-day route cannot say the clinician went from their last stop to
    that position, so the checker recomputes that leg from the last stop; the
    remaining-day check covers it as it was driven.
    """
    restart = {c.id: c.start_location for c in result.remaining_problem.clinicians}
    out = {}
    for route in result.solution.routes:
        locked = [s for s in route.stops if s.visit_id in result.locked]
        rest = route.stops[len(locked):]
        if not rest or route.clinician_id not in restart:
            continue
        where = (problem.visit(locked[-1].visit_id).location if locked
                 else problem.clinician(route.clinician_id).start_location)
        if restart[route.clinician_id] != where:
            out[route.clinician_id] = rest[0].visit_id
    return out


def without_visits(problem: Problem, visit_ids: Collection[str]) -> Problem:
    """``problem`` without ``visit_ids`` and the links that tie them to other visits.

    The other visits of such a link stay, as ordinary visits: a cancelled half
    of a two-person visit does not cancel the patient's other half.
    """
    gone = set(visit_ids)
    if not gone:
        return problem
    return replace(
        problem,
        visits=tuple(v for v in problem.visits if v.id not in gone),
        links=tuple(link for link in problem.links if not set(link.visit_ids) & gone))


def cannot_work_on(problem: Problem, state: DayState) -> set[str]:
    """Clinicians who can do nothing more after ``state.now``: shift over, or a sick call.

    A shift is over when its end plus the allowed overtime is at or before
    ``now``; a sick call counts from its ``unavailable`` time. (A delay that
    runs past the shift also ends the day; :func:`replan` finds those itself.)
    """
    return {c.id for c in problem.clinicians
            if c.shift_end + c.max_overtime <= state.now
            or (c.id in state.unavailable and state.unavailable[c.id] <= state.now)}


def locked_visits(previous: Solution, state: DayState) -> set[str]:
    """The visits of ``previous`` that :func:`replan` will lock for ``state``.

    Each route's prefix of completed and started visits and of visits planned
    to start before ``now`` (before a sick call, if earlier), as
    :func:`_locked_stops` reads it; ``previous`` must already be without
    cancelled visits.
    """
    locked = set()
    for route in previous.routes:
        cutoff = min(state.now, state.unavailable.get(route.clinician_id, state.now))
        for s in route.stops:
            if (s.visit_id in state.completed or s.visit_id in state.started
                    or (s.start < cutoff and s.visit_id not in state.not_started)):
                locked.add(s.visit_id)
            else:
                break
    return locked


def without_clinicians(
    problem: Problem, off: Collection[str], *, locked: Collection[str], now: int,
) -> tuple[Problem, tuple[Unassigned, ...]]:
    """The day with clinicians ``off`` taken out of the open visits' names.

    Visits not in ``locked`` lose ``off`` clinicians from their preferred and
    excluded clinicians; a visit pinned to one of them is taken out of the
    problem (with its links, as :func:`without_visits`) and returned as
    unassigned ``pinned_clinician_unavailable``. Locked visits happened as
    they happened and keep their names. The clinicians themselves stay (their
    locked stops are part of the day).

    Returns
    -------
    tuple
        The changed problem (``problem`` itself when ``off`` is empty), and the
        visits taken out, in problem order.
    """
    if not off:
        return problem, ()
    gone = set(off)
    visits: list[Visit] = []
    pinned: list[Unassigned] = []
    for v in problem.visits:
        if v.id not in locked:
            if v.pinned_clinician in gone:
                pinned.append(Unassigned(
                    v.id, "pinned_clinician_unavailable",
                    f"pinned to {v.pinned_clinician}, who cannot work after {now}"))
            v = replace(
                v,
                preferred_clinicians=tuple(c for c in v.preferred_clinicians if c not in gone),
                excluded_clinicians=tuple(c for c in v.excluded_clinicians if c not in gone))
        visits.append(v)
    changed = replace(problem, visits=tuple(visits))
    return without_visits(changed, {u.visit_id for u in pinned}), tuple(pinned)


def keep_unchanged_routes(
    problem: Problem, before: Solution, result: ReplanResult, *,
    quiet: Collection[str], now: int,
) -> tuple[ReplanResult, set[str]]:
    """Keep the previous timing of each route whose visits and their order did not change.

    The re-plan times the remaining day afresh from ``now`` (as early as it
    can), which would move the promised times of clinicians nothing happened
    to. A clinician's previous route is kept, verbatim, when:

    * the clinician is ``quiet`` (no new event about them);
    * the re-plan gives them the same visits in the same order;
    * the stops that have happened are as they were (no actual times reported
      that differ from the plan), and the others still start after ``now``;
    * none of their visits is linked to another visit (its partner's time
      may have moved);
    * the independent checker finds nothing wrong with the kept route in the
      changed day.

    Parameters
    ----------
    problem
        The whole day, as given to :func:`replan`.
    before
        The plan as the clinicians and patients were told it.
    result
        What :func:`replan` returned.

    Returns
    -------
    tuple
        The result with its merged day (``solution``) changed, and the kept
        clinicians. ``remaining_solution`` is left as the re-plan timed it.
    """
    old = {r.clinician_id: r for r in before.routes}
    linked = {vid for link in problem.links for vid in link.visit_ids}
    candidates: dict[str, Route] = {}
    for route in result.solution.routes:
        was = old.get(route.clinician_id)
        if was is None or route.clinician_id not in quiet:
            continue
        if [s.visit_id for s in was.stops] != [s.visit_id for s in route.stops]:
            continue
        if was == route or any(s.visit_id in linked for s in route.stops):
            continue
        if all((a.start, a.end) == (b.start, b.end) if a.visit_id in result.locked
               else a.start >= now for a, b in zip(was.stops, route.stops, strict=True)):
            candidates[route.clinician_id] = was
    if not candidates:
        return result, set()

    def merged_with(kept: Mapping[str, Route]) -> Solution:
        routes = tuple(kept.get(r.clinician_id, r) for r in result.solution.routes)
        return Solution(routes, result.solution.unassigned)

    wrong = {v.clinician_id for v in check(problem, merged_with(candidates))
             if v.clinician_id in candidates}
    kept = {cid: r for cid, r in candidates.items() if cid not in wrong}
    if not kept:
        return result, set()
    merged = merged_with(kept)
    merged = Solution(merged.routes, merged.unassigned, compute_kpis(problem, merged))
    return replace(result, solution=merged), set(kept)


@dataclass(frozen=True)
class Insertion:
    """One place a new visit could go: who, where in their route, when, at what cost."""

    clinician_id: str
    position: int
    start: int
    added_travel_s: int
    delay_to_later_stops_s: int


def what_if(problem: Problem, solution: Solution, visit: Visit, *, now: int = 0,
            k: int = 5) -> list[Insertion]:
    """The ``k`` best feasible insertions of ``visit`` into ``solution`` after ``now``.

    ``problem`` must already contain ``visit`` (its location in the matrix).
    Stops that start before ``now`` stay where they are. No re-solve: each
    clinician's route is re-timed with the visit at every position.
    """
    timer = RouteTimer(problem)
    # Nothing can be inserted into the past: the visit starts at ``now`` or later.
    windows = visit.windows or ((0, MAX_SECONDS),)
    still_open = tuple((max(lo, now), hi) for lo, hi in windows if hi >= now)
    if not still_open:
        return []
    visit = replace(visit, time_windows=still_open)
    by_id = {r.clinician_id: r for r in solution.routes}
    fixed = {s.visit_id: s.start for r in solution.routes for s in r.stops if s.start < now}
    options: list[Insertion] = []
    for c in problem.clinicians:
        if not problem.can_serve(c, visit):
            continue
        route = by_id.get(c.id)
        stops = list(route.stops) if route else []
        order = [problem.visit(s.visit_id) for s in stops]
        first_free = sum(1 for s in stops if s.start < now)
        base_travel = route.travel_time if route else 0
        for pos in range(first_free, len(order) + 1):
            trial = order[:pos] + [visit] + order[pos:]
            timed = timer.time_route(c, trial, fixed_starts=fixed)
            if timed is None:
                continue
            start = timed.stops[pos].start
            if start < now:
                continue
            delay = sum(max(0, new.start - old.start)
                        for old, new in zip(stops[pos:], timed.stops[pos + 1:], strict=True))
            options.append(Insertion(c.id, pos, start, timed.travel_time - base_travel, delay))
    options.sort(key=lambda o: (o.added_travel_s + o.delay_to_later_stops_s, o.start))
    return options[:k]
