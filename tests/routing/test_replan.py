"""Re-planning from "now": locked history, sick calls, urgent visits, minimal disruption."""

from __future__ import annotations

from dataclasses import replace

import pytest

from routing import Problem, Simultaneous, Solution, SolverParams, check, solve
from routing.model import Break, BreakTaken, Precedence, Route, Stop
from routing.replan import (
    DayState,
    cannot_work_on,
    check_day,
    replan,
    what_if,
    without_clinicians,
    without_visits,
)

from .days import H, day, nurse, visit


def _stops(solution: Solution) -> dict[str, tuple[str, int, int]]:
    return {s.visit_id: (r.clinician_id, s.start, s.end) for r in solution.routes
            for s in r.stops}


def _routes(solution: Solution) -> dict[str, list[str]]:
    return {r.clinician_id: [s.visit_id for s in r.stops] for r in solution.routes}


@pytest.fixture(scope="module")
def morning() -> tuple[Problem, Solution]:
    """Three clinicians spread along the road, twelve one-hour visits with windows."""
    clinicians = [nurse("west", start=0), nurse("mid", start=10), nurse("east", start=20)]
    visits = [visit(f"v{i:02d}", 1 + (i * 7) % 20, duration=2700, acuity=1 + i % 4,
                    windows=((8 * H + (i % 4) * 1800, 15 * H),)) for i in range(12)]
    p = day(clinicians, visits, n=25)
    plan = solve(p, SolverParams(time_limit=1))
    assert check(p, plan) == [] and not plan.unassigned
    return p, plan


def test_nothing_happened_keeps_the_plan(morning) -> None:
    """Re-planning at 10:00 with no events changes no route and passes the checker."""
    p, plan = morning
    result = replan(p, plan, DayState(now=10 * H), time_limit=1)
    assert check(result.remaining_problem, result.remaining_solution) == []
    assert _routes(result.solution) == _routes(plan)


def test_locked_stops_never_change(morning) -> None:
    """Stops started before now keep their clinician and times exactly."""
    p, plan = morning
    now = 11 * H
    state = DayState(now=now, unavailable={"mid": now})
    result = replan(p, plan, state, time_limit=1)
    before = _stops(plan)
    after = _stops(result.solution)
    started = [vid for vid, (_, start, _) in before.items() if start < now]
    assert started and set(started) == set(result.locked)
    for vid in started:
        assert after[vid] == before[vid]


def test_sick_clinician_visits_go_to_others_or_are_explained(morning) -> None:
    """After a sick call at 10:40, the clinician gets no new stop; every visit is accounted."""
    p, plan = morning
    now = 10 * H + 2400
    result = replan(p, plan, DayState(now=now, unavailable={"mid": now}), time_limit=1)
    assert check(result.remaining_problem, result.remaining_solution) == []
    mid = next((r for r in result.solution.routes if r.clinician_id == "mid"), None)
    if mid is not None:
        assert all(s.start < now for s in mid.stops)
    placed = set(_stops(result.solution)) | {u.visit_id for u in result.solution.unassigned}
    assert placed == {v.id for v in p.visits}


def test_urgent_visit_added_at_eleven_is_served(morning) -> None:
    """An acuity-5 visit added at 11:00 is served today, after 11:00."""
    p, plan = morning
    urgent = visit("urgent", 12, duration=1800, acuity=5, windows=((11 * H, 16 * H),))
    p2 = replace(p, visits=p.visits + (urgent,))
    result = replan(p2, plan, DayState(now=11 * H), time_limit=1)
    assert check(result.remaining_problem, result.remaining_solution) == []
    assert _stops(result.solution)["urgent"][1] >= 11 * H


def test_cancellation_leaves_other_routes_alone(morning) -> None:
    """Cancelling one visit does not reshuffle the other clinicians' routes."""
    p, plan = morning
    now = 9 * H
    victim_route = next(r for r in plan.routes
                        if any(s.start >= now for s in r.stops))
    victim = next(s.visit_id for s in victim_route.stops if s.start >= now)
    p2 = replace(p, visits=tuple(v for v in p.visits if v.id != victim))
    result = replan(p2, plan, DayState(now=now), time_limit=1)
    before, after = _routes(plan), _routes(result.solution)
    for cid, order in before.items():
        if cid != victim_route.clinician_id:
            assert after.get(cid) == order


def test_delay_pushes_the_clinicians_next_stops(morning) -> None:
    """A clinician 40 minutes late starts nothing new before now + 40 min."""
    p, plan = morning
    now = 10 * H
    result = replan(p, plan, DayState(now=now, delayed={"east": 2400}), time_limit=1)
    assert check(result.remaining_problem, result.remaining_solution) == []
    east = next(r for r in result.solution.routes if r.clinician_id == "east")
    assert all(s.start < now or s.start >= now + 2400 for s in east.stops
               if s.visit_id not in result.locked)


def test_position_moves_the_route_start(morning) -> None:
    """A reported position at km 24 is where the clinician's remaining day starts."""
    p, plan = morning
    now = 12 * H
    west_route = next(r for r in plan.routes if r.clinician_id == "west")
    # Reported once the visit under way at noon (if any) is over.
    at = max([s.end for s in west_route.stops if s.start < now] + [now])
    result = replan(p, plan, DayState(now=now, positions={"west": (24, at)}), time_limit=1)
    west = next(c for c in result.remaining_problem.clinicians if c.id == "west")
    assert west.start_location == 24 and west.shift_start >= now
    assert check(result.remaining_problem, result.remaining_solution) == []


def test_completed_visits_keep_their_actual_times(morning) -> None:
    """A visit completed at other times than planned is kept with its actual times."""
    p, plan = morning
    first = plan.routes[0].stops[0]
    actual = (first.start + 300, first.end + 600)
    result = replan(p, plan, DayState(now=first.end + 900,
                                      completed={first.visit_id: actual}), time_limit=1)
    assert _stops(result.solution)[first.visit_id][1:] == actual


def test_what_if_offers_feasible_places(morning) -> None:
    """Each what-if insertion, applied, times feasibly and starts after now."""
    p, plan = morning
    extra = visit("call-in", 15, duration=1800, acuity=3)
    p2 = replace(p, visits=p.visits + (extra,))
    options = what_if(p2, plan, extra, now=10 * H, k=3)
    assert options
    assert options == sorted(options, key=lambda o: (
        o.added_travel_s + o.delay_to_later_stops_s, o.start))
    for o in options:
        assert o.start >= 10 * H
        assert o.added_travel_s >= 0


def test_promised_times_are_not_pulled_earlier(morning) -> None:
    """With nothing new, no patient is visited earlier than promised less the tolerance."""
    p, plan = morning
    result = replan(p, plan, DayState(now=10 * H), time_limit=1)
    before, after = _stops(plan), _stops(result.solution)
    for vid, (_, start, _) in after.items():
        assert start >= before[vid][1] - 900


def test_sick_clinician_named_by_visits_is_handled() -> None:
    """Visits preferring, excluding or pinned to a clinician who went home still re-plan."""
    visits = [visit("a", 3, acuity=3, preferred_clinicians=("sick",)),
              visit("b", 4, acuity=3, excluded_clinicians=("sick",)),
              visit("c", 5, acuity=3, pinned_clinician="sick",
                    windows=((12 * H, 15 * H),))]
    p = day([nurse("sick"), nurse("well", start=2)], visits)
    plan = solve(p, SolverParams(time_limit=0.5))
    assert check(p, plan) == []
    now = 9 * H
    result = replan(p, plan, DayState(now=now, unavailable={"sick": now}), time_limit=0.5)
    assert check(result.remaining_problem, result.remaining_solution) == []
    reasons = {u.visit_id: u.reason for u in result.solution.unassigned}
    assert reasons.get("c") == "pinned_clinician_unavailable"


def test_what_if_fits_an_idle_clinician_after_now() -> None:
    """An idle clinician can take a call-in visit, starting after now, not at shift start."""
    p = day([nurse("busy"), nurse("idle", start=10)], [visit("x", 1, acuity=3)])
    plan = solve(p, SolverParams(time_limit=0.5))
    extra = visit("call-in", 10, acuity=3)
    p2 = replace(p, visits=p.visits + (extra,))
    options = what_if(p2, plan, extra, now=11 * H, k=5)
    assert any(o.clinician_id == "idle" for o in options)
    assert all(o.start >= 11 * H for o in options)


def test_without_visits_keeps_the_linked_partner() -> None:
    """A cancelled half of a two-person visit goes with its link; the other half stays."""
    p = day([nurse("a"), nurse("b", start=2)], [visit("x", 1), visit("y", 1), visit("z", 3)],
            links=(Simultaneous(("x", "y")),))
    q = without_visits(p, {"x"})
    assert [v.id for v in q.visits] == ["y", "z"] and q.links == ()
    assert without_visits(p, set()) is p


def test_cannot_work_on_is_shift_over_or_a_sick_call_by_now() -> None:
    """Shift (with overtime) over at now, or sick from now or earlier; a later sick call not yet."""
    p = day([nurse("early", shift=(7 * H, 11 * H)), nurse("sick"), nurse("later"),
             nurse("fine")], [visit("x", 1)])
    state = DayState(now=11 * H, unavailable={"sick": 10 * H, "later": 12 * H})
    assert cannot_work_on(p, state) == {"early", "sick"}


def test_without_clinicians_drops_names_and_pins_of_open_visits_only() -> None:
    """Open visits lose the absent clinician; one pinned to them is unassigned; locked ones stay."""
    p = day([nurse("sick"), nurse("well", start=2)], [
        visit("pref", 3, preferred_clinicians=("sick",)),
        visit("excl", 4, excluded_clinicians=("sick",)),
        visit("pin", 5, pinned_clinician="sick"),
        visit("done", 6, preferred_clinicians=("sick",))])
    q, gone = without_clinicians(p, {"sick"}, locked={"done"}, now=10 * H)
    assert [(u.visit_id, u.reason) for u in gone] == [("pin", "pinned_clinician_unavailable")]
    assert [v.id for v in q.visits] == ["pref", "excl", "done"]
    assert q.visit("pref").preferred_clinicians == ()
    assert q.visit("excl").excluded_clinicians == ()
    assert q.visit("done").preferred_clinicians == ("sick",)
    assert without_clinicians(p, set(), locked=set(), now=10 * H) == (p, ())


def test_from_scratch_keeps_history_but_no_promises(morning) -> None:
    """From scratch: the same locked stops, the visits' own windows, no promise narrowing."""
    p, plan = morning
    now = 10 * H
    kept = replan(p, plan, DayState(now=now), time_limit=0.5)
    fresh = replan(p, plan, DayState(now=now), time_limit=0.5, from_scratch=True)
    assert fresh.locked == kept.locked
    assert check(fresh.remaining_problem, fresh.remaining_solution) == []
    for v in fresh.remaining_problem.visits:
        assert v.time_windows == p.visit(v.id).time_windows
    assert any(v.time_windows != p.visit(v.id).time_windows
               for v in kept.remaining_problem.visits)


# -- the whole day (history + re-plan) passes the checker ---------------------------------


def _hand_route(p: Problem, cid: str, starts: list[tuple[str, int]],
                breaks: tuple[tuple[int, int], ...] = ()) -> Route:
    """``cid`` leaves at shift start and drives to each visit just before its given start."""
    c, m = p.clinician(cid), p.require_matrix()
    assert m.distances is not None
    prev, stops = c.start_location, []
    for vid, start in starts:
        v = p.visit(vid)
        stops.append(Stop(vid, start, start, start + v.duration, m.durations[prev][v.location],
                          m.distances[prev][v.location], 0))
        prev = v.location
    ready = stops[-1].end + c.buffer_after_visit
    ready = max([ready] + [s + d for s, d in breaks if s >= ready])
    end = ready + m.durations[prev][c.end]
    travel = sum(s.travel_time for s in stops) + m.durations[prev][c.end]
    distance = sum(s.distance or 0 for s in stops) + m.distances[prev][c.end]
    return Route(cid, c.shift_start, end, tuple(stops),
                 tuple(BreakTaken(s, d) for s, d in breaks), travel, distance,
                 max(0, end - c.shift_end))


def _plan(p: Problem, *routes: Route) -> Solution:
    plan = Solution(routes, ())
    assert check(p, plan) == []
    return plan


def test_overtime_is_not_stretched_past_the_original_shift_limit() -> None:
    """A visit under way past shift end leaves only what is left of the overtime, not all of it."""
    p = day([nurse("a", max_overtime=H)],
            [visit("late", 5, duration=H, windows=((15 * H + 1800, 15 * H + 1800),))])
    plan = _plan(p, _hand_route(p, "a", [("late", 15 * H + 1800)]))
    urgent = visit("urgent", 5, acuity=5)  # 16:30-17:00, home 17:05: past 16:00 + 1 h
    p2 = replace(p, visits=p.visits + (urgent,))
    result = replan(p2, plan, DayState(now=15 * H + 2700), time_limit=0.5)
    assert result.remaining_problem.clinician("a").latest_end == 17 * H
    assert check(p2, result.solution) == []
    assert [u.visit_id for u in result.solution.unassigned] == ["urgent"]


def test_a_clinician_with_nothing_left_still_takes_a_required_break() -> None:
    """With no stop left, the pending break the day now needs is taken before driving home."""
    p = day([nurse("a", breaks=(Break(11 * H, 13 * H, 1800),))],
            [visit("a1", 5, duration=H, windows=((10 * H + 1800, 10 * H + 1800),))])
    plan = _plan(p, _hand_route(p, "a", [("a1", 10 * H + 1800)],
                                breaks=((11 * H + 1800, 1800),)))
    result = replan(p, plan, DayState(now=11 * H, started={"a1": 10 * H + 1800}),
                    time_limit=0.5)
    assert check(p, result.solution) == []
    assert result.solution.routes[0].breaks == (BreakTaken(11 * H + 1800, 1800),)


def test_a_break_under_way_ends_before_the_route_does() -> None:
    """A break under way after the last stop is inside the merged route, not past its end."""
    p = day([nurse("a", breaks=(Break(11 * H, 13 * H, 1800),))],
            [visit("a1", 5, duration=H, windows=((10 * H + 1800, 10 * H + 1800),))])
    plan = _plan(p, _hand_route(p, "a", [("a1", 10 * H + 1800)],
                                breaks=((11 * H + 1800, 1800),)))
    state = DayState(now=11 * H + 2400, completed={"a1": (10 * H + 1800, 11 * H + 1800)})
    result = replan(p, plan, state, time_limit=0.5)
    assert check(p, result.solution) == []
    assert result.solution.routes[0].end_time == 12 * H + 300


def test_a_delay_past_a_breaks_latest_start_keeps_the_break() -> None:
    """A break that would expire while the clinician is late is taken first, then the delay."""
    p = day([nurse("a", breaks=(Break(12 * H, 12 * H + 1800, 1800),))],
            [visit("a1", 5, windows=((11 * H, 11 * H),)),
             visit("a2", 6, windows=((13 * H, 15 * H),), acuity=5)])
    plan = _plan(p, _hand_route(p, "a", [("a1", 11 * H), ("a2", 13 * H)],
                                breaks=((12 * H, 1800),)))
    now = 11 * H + 3000
    result = replan(p, plan, DayState(now=now, completed={"a1": (11 * H, 11 * H + 1800)},
                                      delayed={"a": H}), time_limit=0.5)
    assert check(p, result.solution) == []
    route = result.solution.routes[0]
    assert route.breaks == (BreakTaken(12 * H, 1800),)
    assert _stops(result.solution)["a2"][1] >= 12 * H + 1800 + H


def test_a_route_that_ended_before_the_break_window_takes_it_when_extended() -> None:
    """Home by 11:00, before a 12:00-13:00 break, given a 15:00 visit: the break was idle time."""
    p = day([nurse("a", breaks=(Break(12 * H, 13 * H, 1800),))],
            [visit("a1", 5, windows=((10 * H, 10 * H),))])
    plan = _plan(p, _hand_route(p, "a", [("a1", 10 * H)]))
    assert plan.routes[0].end_time < 12 * H and plan.routes[0].breaks == ()
    urgent = visit("urgent", 6, acuity=5, windows=((15 * H, 15 * H + 1800),))
    p2 = replace(p, visits=p.visits + (urgent,))
    result = replan(p2, plan, DayState(now=14 * H), time_limit=0.5)
    assert check(p2, result.solution) == []
    assert _stops(result.solution)["urgent"][0] == "a"
    assert result.solution.routes[0].breaks == (BreakTaken(12 * H, 1800),)


def test_a_sick_clinicians_promised_visit_may_move_earlier_to_be_served() -> None:
    """a was to start a 90-minute visit at 14:15 and calls in sick at 11:00; b is busy
    14:00-15:00 and off at 16:00, so only an earlier start than promised serves it."""
    p = day([nurse("a"), nurse("b", start=3)],
            [visit("long", 5, duration=5400, mandatory=True),
             visit("b1", 6, duration=H, windows=((14 * H, 14 * H),), mandatory=True)])
    plan = _plan(p, _hand_route(p, "a", [("long", 14 * H + 900)]),
                 _hand_route(p, "b", [("b1", 14 * H)]))
    state = DayState(now=11 * H, unavailable={"a": 11 * H})
    result = replan(p, plan, state, time_limit=0.5)
    assert check(p, result.solution) == []
    clinician, start, _ = _stops(result.solution)["long"]
    assert clinician == "b" and start < 14 * H


def test_a_half_started_two_clinician_visit_is_not_served_alone_later() -> None:
    """A half of a two-clinician pair whose partner started without it is unassigned, named."""
    window = ((12 * H, 14 * H),)
    p = day([nurse("a"), nurse("b")],
            [visit("x", 5, windows=window), visit("y", 5, windows=window)],
            links=(Simultaneous(("x", "y")),))
    t = 12 * H + 300
    plan = _plan(p, _hand_route(p, "a", [("x", t)]), _hand_route(p, "b", [("y", t)]))
    now = 12 * H + 600
    result = replan(p, plan, DayState(now=now, delayed={"b": 1800},
                                      not_started=frozenset({"y"})), time_limit=0.5)
    assert "x" in result.locked and "y" not in _stops(result.solution)
    why = {u.visit_id: u for u in result.solution.unassigned}["y"]
    assert why.reason == "linked_visit_unassigned" and "x" in why.detail
    assert check_day(p, result) == []


def test_the_partner_of_a_half_started_pair_must_start_with_it() -> None:
    """The unstarted half of a simultaneous pair may only start when the started half did."""
    p = day([nurse("a"), nurse("b")],
            [visit("w", 5, windows=((11 * H, 11 * H),)),
             visit("x", 5, windows=((12 * H, 14 * H),)),
             visit("y", 5, windows=((12 * H, 14 * H),))],
            links=(Simultaneous(("x", "y")),))
    t = 12 * H
    plan = _plan(p, _hand_route(p, "a", [("x", t)]), _hand_route(p, "b", [("w", 11 * H),
                                                                           ("y", t)]))
    result = replan(p, plan, DayState(now=t, started={"x": t}), time_limit=0.5)
    assert result.remaining_problem.visit("y").time_windows == ((t, t),)
    assert _stops(result.solution)["y"][1] == t
    assert check(p, result.solution) == []


def test_a_precedence_gap_that_closed_leaves_the_visit_unassigned() -> None:
    """A `then` whose gap after a started `first` misses its windows is unassigned, with reason."""
    p = day([nurse("a")],
            [visit("f", 5, windows=((9 * H, 11 * H),)),
             visit("t", 5, windows=((11 * H, 15 * H),), acuity=5)],
            links=(Precedence("f", "t", min_gap=0, max_gap=H),))
    plan = _plan(p, _hand_route(p, "a", [("f", 10 * H), ("t", 11 * H)]))
    result = replan(p, plan, DayState(now=10 * H, started={"f": 9 * H + 2700}),
                    time_limit=0.5)
    assert "t" not in {v.id for v in result.remaining_problem.visits}
    why = {u.visit_id: u for u in result.solution.unassigned}["t"]
    assert why.reason == "time_window_unreachable"
    assert check_day(p, result) == []
    assert [v.code for v in check(p, result.solution)] == ["link_partial"]


def test_a_late_clinicians_promised_visit_moves_earlier_rather_than_out() -> None:
    """a, 75 minutes late, can no longer fit the 90-minute visit promised at 14:15 before
    16:00; b is free only before 14:00, so an earlier start than promised serves it."""
    p = day([nurse("a"), nurse("b", start=3)],
            [visit("m1", 5, duration=2 * H, windows=((12 * H, 13 * H),), pinned_clinician="a",
                   mandatory=True),
             visit("long", 5, duration=5400, acuity=3),
             visit("b1", 6, duration=H, windows=((14 * H, 14 * H),), pinned_clinician="b",
                   mandatory=True)])
    plan = _plan(p, _hand_route(p, "a", [("m1", 12 * H), ("long", 14 * H + 900)]),
                 _hand_route(p, "b", [("b1", 14 * H)]))
    result = replan(p, plan, DayState(now=11 * H + 1800, delayed={"a": 4500}), time_limit=0.5)
    assert check(p, result.solution) == [] and check_day(p, result) == []
    assert check(result.remaining_problem, result.remaining_solution) == []
    clinician, start, _ = _stops(result.solution)["long"]
    assert clinician == "b" and start < 14 * H - 900
