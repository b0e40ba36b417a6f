"""The independent checker on a hand-checkable day (tests/routing/check_fixtures.py).

Each broken copy of the feasible plan changes one thing and must produce
exactly the violation codes named, nothing more: a checker that reports too
much is as useless to the solver's tests as one that reports too little.
"""

from __future__ import annotations

import ast
import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.check import Violation, check
from routing.exceptions import InvalidProblem
from routing.io import load_problem, load_solution
from routing.model import (
    Break,
    BreakTaken,
    Clinician,
    Location,
    Matrix,
    Precedence,
    Problem,
    Route,
    Simultaneous,
    Solution,
    Stop,
    Unassigned,
    Visit,
)

from .check_fixtures import (
    DAY_KPIS,
    day_problem,
    day_solution,
    with_clinician,
    with_route,
    with_stop,
    with_visit,
    without_distances,
)

HERE = Path(__file__).parent
P, S = day_problem(), day_solution()


def codes(problem: Problem, solution: Solution) -> list[str]:
    return sorted(v.code for v in check(problem, solution))


def only(problem: Problem, solution: Solution) -> Violation:
    found = check(problem, solution)
    assert len(found) == 1, found
    return found[0]


def with_links(problem: Problem, *links: Simultaneous | Precedence) -> Problem:
    return replace(problem, links=problem.links + links)


# -- the feasible plans ----------------------------------------------------------------


def test_hand_plan_is_feasible() -> None:
    """The hand-written plan of the six-visit day has no violations."""
    assert check(P, S) == []


def test_hand_plan_with_hand_kpis_is_feasible() -> None:
    """The plan carrying its hand-computed KPIs passes the KPI comparison too."""
    assert check(P, replace(S, kpis=dict(DAY_KPIS))) == []


def test_plan_without_distances_is_feasible() -> None:
    """With no distances in the matrix, null stop and route distances are correct."""
    problem, solution = without_distances(P, S)
    assert check(problem, solution) == []


def test_spec_example_from_json_is_feasible() -> None:
    """The spec's example plan, read from JSON with exact KPIs, passes."""
    problem = load_problem(HERE / "data" / "spec_example.json")
    solution = load_solution(HERE / "check_spec_example_solution.json")
    assert check(problem, solution) == []


def test_missing_matrix_raises() -> None:
    """A problem whose matrix is still to be computed raises InvalidProblem."""
    with pytest.raises(InvalidProblem, match="matrix"):
        check(replace(P, matrix=None), S)


def test_every_violation_is_listed() -> None:
    """Several independent faults are all reported, not just the first."""
    broken = with_stop(S, "rn-ana", 1, travel_time=700)
    broken = with_stop(broken, "aide-ben", 1, wait=0)
    broken = replace(broken, unassigned=(Unassigned("v-iv", "nobody"),))
    broken = with_route(broken, "rn-ana", breaks=())
    assert codes(P, broken) == [
        "bad_reason",
        "break_missing",
        "travel_mismatch",
        "wait_mismatch",
    ]


def test_violation_names_ids_and_numbers() -> None:
    """A violation carries the clinician and visit ids, and its message the numbers."""
    v = only(P, with_stop(S, "rn-ana", 1, travel_time=700))
    assert (v.code, v.clinician_id, v.visit_id) == ("travel_mismatch", "rn-ana", "v-assess")
    for part in ("rn-ana", "v-assess", "700", "600"):
        assert part in v.message


def test_checker_imports_nothing_it_judges() -> None:
    """check.py and kpis.py import neither ortools nor the solver, scheduler or baseline."""
    banned = {"ortools", "routing.solver", "routing.schedule", "routing.baseline"}
    for name in ("check.py", "kpis.py"):
        tree = ast.parse((HERE.parents[1] / "routing" / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ("routing." if node.level else "") + (node.module or "")
                mods = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for mod in mods:
                assert not any(mod == b or mod.startswith(b + ".") for b in banned), (name, mod)
                assert mod.split(".")[-1] not in {"solver", "schedule", "baseline"}, (name, mod)


# -- coverage ----------------------------------------------------------------------------


def test_missing_visit() -> None:
    """A visit neither routed nor unassigned is missing_visit, naming it."""
    v = only(P, replace(S, unassigned=()))
    assert (v.code, v.visit_id) == ("missing_visit", "v-iv")


def test_duplicate_visit_routed_and_unassigned() -> None:
    """A routed visit also listed as unassigned is duplicate_visit."""
    broken = replace(S, unassigned=S.unassigned + (Unassigned("v-wound", "capacity"),))
    v = only(P, broken)
    assert (v.code, v.visit_id) == ("duplicate_visit", "v-wound")


def test_duplicate_visit_unassigned_twice() -> None:
    """A visit listed twice as unassigned is duplicate_visit."""
    assert codes(P, replace(S, unassigned=S.unassigned * 2)) == ["duplicate_visit"]


def test_unknown_visit_unassigned() -> None:
    """An unassigned id that is not in the problem is unknown_visit."""
    broken = replace(S, unassigned=S.unassigned + (Unassigned("v-ghost", "capacity"),))
    v = only(P, broken)
    assert (v.code, v.visit_id) == ("unknown_visit", "v-ghost")


def test_unknown_visit_as_stop_does_not_raise() -> None:
    """A stop of an unknown visit is unknown_visit; the route's times are not guessed at."""
    ben = next(r for r in S.routes if r.clinician_id == "aide-ben")
    ghost = Stop("v-ghost", arrival=1, start=1, end=1, travel_time=5, distance=None, wait=9)
    assert codes(P, with_route(S, "aide-ben", stops=ben.stops + (ghost,))) == ["unknown_visit"]


def test_unknown_clinician() -> None:
    """A route of a clinician not in the problem is unknown_clinician."""
    v = only(P, with_route(S, "aide-ben", clinician_id="aide-zed"))
    assert (v.code, v.clinician_id) == ("unknown_clinician", "aide-zed")


def test_duplicate_route() -> None:
    """A clinician with two (each feasible) routes is duplicate_route."""
    bath = Route(
        "aide-ben",
        start_time=33900,
        end_time=37500,
        stops=(Stop("v-bath", 34800, 34800, 36600, travel_time=900, distance=9000, wait=0),),
        breaks=(),
        travel_time=900 + 900,
        distance=18000,
        overtime=0,
    )
    lift = Route(
        "aide-ben",
        start_time=36600,
        end_time=39300,
        stops=(Stop("v-lift-b", 37800, 37800, 38700, travel_time=1200, distance=12000, wait=0),),
        breaks=(),
        travel_time=1200 + 600,
        distance=18000,
        overtime=0,
    )
    ana = S.routes[0]
    assert codes(P, replace(S, routes=(ana, bath, lift))) == ["duplicate_route"]


def test_empty_route() -> None:
    """A route with no stops is empty_route (its times are otherwise consistent)."""
    idle = Route("rn-cy", 28800, 28800, (), (), travel_time=0, distance=0, overtime=0)
    v = only(P, replace(S, routes=S.routes + (idle,)))
    assert (v.code, v.clinician_id) == ("empty_route", "rn-cy")


def test_bad_reason() -> None:
    """An unassigned reason outside routing.model.REASONS is bad_reason."""
    v = only(P, replace(S, unassigned=(Unassigned("v-iv", "too_hard"),)))
    assert (v.code, v.visit_id) == ("bad_reason", "v-iv")
    assert "too_hard" in v.message


# -- stops -------------------------------------------------------------------------------


def test_travel_mismatch() -> None:
    """A stop's travel_time differing from the matrix leg is travel_mismatch."""
    assert codes(P, with_stop(S, "rn-ana", 1, travel_time=700)) == ["travel_mismatch"]


def test_distance_mismatch() -> None:
    """A stop's distance differing from the matrix leg is distance_mismatch."""
    assert codes(P, with_stop(S, "rn-ana", 1, distance=6100)) == ["distance_mismatch"]


def test_distance_null_when_matrix_has_distances() -> None:
    """A null stop distance when the matrix has distances is distance_mismatch."""
    assert codes(P, with_stop(S, "rn-ana", 1, distance=None)) == ["distance_mismatch"]


def test_distance_given_without_distances() -> None:
    """A stop distance when the problem has no distances is distance_mismatch."""
    problem, solution = without_distances(P, S)
    assert codes(problem, with_stop(solution, "rn-ana", 0, distance=6000)) == ["distance_mismatch"]


def test_arrival_too_early() -> None:
    """Arriving sooner than ready + travel is arrival_too_early."""
    broken = with_stop(S, "aide-ben", 1, arrival=37000, wait=800)  # ready 36600 + 600 s
    v = only(P, broken)
    assert (v.code, v.clinician_id, v.visit_id) == ("arrival_too_early", "aide-ben", "v-lift-b")


def test_arrival_counts_the_buffer() -> None:
    """The buffer after a visit delays the next leg: arriving without it is too early."""
    broken = with_stop(S, "rn-ana", 1, arrival=33000, wait=300)  # 32400 + 600, no buffer
    assert codes(P, broken) == ["arrival_too_early"]


def test_end_time_too_early() -> None:
    """Reaching the end location sooner than the last leg allows is arrival_too_early."""
    v = only(P, with_route(S, "rn-ana", end_time=40200, overtime=600))  # 39000 + 1260
    assert (v.code, v.clinician_id, v.visit_id) == ("arrival_too_early", "rn-ana", None)


def test_start_before_arrival() -> None:
    """Starting service before arriving is start_before_arrival."""
    broken = with_stop(S, "aide-ben", 1, arrival=37900, wait=-100)
    assert codes(P, broken) == ["start_before_arrival"]


def test_wait_mismatch() -> None:
    """A wait that is not start - arrival is wait_mismatch."""
    assert codes(P, with_stop(S, "aide-ben", 1, wait=0)) == ["wait_mismatch"]


def test_end_mismatch() -> None:
    """An end that is not start + visit duration is end_mismatch."""
    assert codes(P, with_stop(S, "rn-ana", 0, end=32300)) == ["end_mismatch"]


def test_time_window() -> None:
    """A start outside every time window of the visit is time_window."""
    v = only(with_visit(P, "v-wound", time_windows=((31000, 32400),)), S)
    assert (v.code, v.visit_id) == ("time_window", "v-wound")


def test_time_window_outside_both_windows() -> None:
    """With two windows, a start in neither is time_window."""
    problem = with_visit(P, "v-assess", time_windows=((34000, 36000), (28800, 30000)))
    assert codes(problem, S) == ["time_window"]


def test_time_window_end_is_inclusive() -> None:
    """A start exactly at a window's end is inside it."""
    assert check(with_visit(P, "v-wound", time_windows=((29000, 30600),)), S) == []


# -- routes ------------------------------------------------------------------------------


def test_shift_start() -> None:
    """Leaving before the shift starts is shift_start."""
    v = only(with_clinician(P, "rn-ana", shift_start=30600), S)
    assert (v.code, v.clinician_id) == ("shift_start", "rn-ana")


def test_shift_end() -> None:
    """Ending after shift end + max_overtime is shift_end."""
    assert codes(with_clinician(P, "rn-ana", max_overtime=600), S) == ["shift_end"]


def test_overtime_mismatch() -> None:
    """A route overtime other than max(0, end_time - shift_end) is overtime_mismatch."""
    assert codes(P, with_route(S, "rn-ana", overtime=0)) == ["overtime_mismatch"]


def test_route_travel_mismatch() -> None:
    """A route travel_time that reads the leg home the wrong way round is reported."""
    # 3 -> 0 is 1260 s; 0 -> 3 is 1200 s.
    assert codes(P, with_route(S, "rn-ana", travel_time=3000)) == ["route_travel_mismatch"]


def test_route_distance_mismatch() -> None:
    """A route distance that is not the sum of its legs is route_distance_mismatch."""
    assert codes(P, with_route(S, "rn-ana", distance=30000)) == ["route_distance_mismatch"]


def test_route_distance_given_without_distances() -> None:
    """A route distance when the problem has no distances is route_distance_mismatch."""
    problem, solution = without_distances(P, S)
    assert codes(problem, with_route(solution, "rn-ana", distance=30600)) == [
        "route_distance_mismatch"
    ]


# -- breaks ------------------------------------------------------------------------------


def test_break_missing() -> None:
    """A route ending after a break's earliest start without taking it is break_missing."""
    v = only(P, with_route(S, "rn-ana", breaks=()))
    assert (v.code, v.clinician_id) == ("break_missing", "rn-ana")


def test_break_not_required_may_be_omitted() -> None:
    """A trailing break whose earliest start is not before the route's end may be left out."""
    problem = with_clinician(P, "rn-ana", breaks=(Break(40260, 41000, 900),))
    assert check(problem, with_route(S, "rn-ana", breaks=())) == []


def test_break_extra() -> None:
    """More breaks than the clinician has is break_extra."""
    broken = with_route(S, "rn-ana", breaks=(BreakTaken(36000, 900), BreakTaken(39000, 0)))
    assert codes(P, broken) == ["break_extra"]


def test_break_duration() -> None:
    """A break shorter than the clinician's break is break_duration."""
    assert codes(P, with_route(S, "rn-ana", breaks=(BreakTaken(36000, 600),))) == ["break_duration"]


def test_break_window() -> None:
    """A break starting before its earliest start is break_window."""
    problem = with_clinician(P, "rn-ana", breaks=(Break(36300, 39600, 900),))
    assert codes(problem, S) == ["break_window"]


def test_break_overlapping_the_drive() -> None:
    """A break running into the drive of its gap is break_overlap."""
    v = only(P, with_route(S, "rn-ana", breaks=(BreakTaken(36300, 900),)))
    assert v.code == "break_overlap"
    assert "drive" in v.message


def test_break_overlapping_service() -> None:
    """A break during a visit's service is break_overlap."""
    v = only(P, with_route(S, "rn-ana", breaks=(BreakTaken(37900, 900),)))
    assert v.code == "break_overlap"
    assert "v-lift-a" in v.message


def test_break_overlapping_the_buffer() -> None:
    """A break during the documentation buffer after a visit is break_overlap."""
    assert codes(P, with_route(S, "rn-ana", breaks=(BreakTaken(38800, 900),))) == ["break_overlap"]


def test_break_after_the_route_ends() -> None:
    """A break running past the route's end_time is break_overlap."""
    v = only(P, with_route(S, "rn-ana", breaks=(BreakTaken(39600, 900),)))
    assert v.code == "break_overlap"
    assert "outside" in v.message


def test_breaks_overlapping_each_other() -> None:
    """Two breaks that overlap each other are break_overlap."""
    problem = with_clinician(
        P, "rn-ana", breaks=(Break(36000, 39600, 900), Break(36000, 39600, 300))
    )
    broken = with_route(S, "rn-ana", breaks=(BreakTaken(36000, 900), BreakTaken(36600, 300)))
    assert codes(problem, broken) == ["break_overlap"]


def test_break_while_waiting_at_the_door() -> None:
    """A break taken after arriving, while waiting for the window, is accepted."""
    # drive 34800 -> 35400, break 36000-36900 at the door, start 37800
    waiting = with_stop(S, "rn-ana", 2, arrival=35400, wait=2400)
    assert check(P, waiting) == []


def test_break_before_the_drive_home() -> None:
    """A break in the final gap followed by the drive home is accepted."""
    # ready 39000, break 39000-39900, drive 39900-41160 (1260 s), overtime 1560
    late = with_route(S, "rn-ana", breaks=(BreakTaken(39000, 900),), end_time=41160, overtime=1560)
    assert check(P, late) == []


def test_break_squeezing_the_drive_home() -> None:
    """A final gap too short for its break and the drive home is reported."""
    late = with_route(S, "rn-ana", breaks=(BreakTaken(39000, 900),), end_time=41000, overtime=1400)
    assert codes(P, late) == ["break_overlap"]


# -- eligibility and limits --------------------------------------------------------------


def test_skill() -> None:
    """A clinician lacking a required skill is skill, naming the missing skill."""
    v = only(with_visit(P, "v-lift-a", required_skills=frozenset({"aide"})), S)
    assert (v.code, v.clinician_id, v.visit_id) == ("skill", "rn-ana", "v-lift-a")
    assert "aide" in v.message


def test_excluded() -> None:
    """A visit served by one of its excluded clinicians is excluded."""
    assert codes(with_visit(P, "v-lift-a", excluded_clinicians=("rn-ana",)), S) == ["excluded"]


def test_pinned() -> None:
    """A visit pinned to another clinician is pinned."""
    assert codes(with_visit(P, "v-lift-a", pinned_clinician="aide-ben"), S) == ["pinned"]


def test_pinned_visit_swapped_away() -> None:
    """Swapping the pinned lift visit onto another clinician is pinned (times still fit)."""
    broken = with_stop(S, "rn-ana", 2, visit_id="v-lift-b")
    broken = with_stop(broken, "aide-ben", 1, visit_id="v-lift-a")
    v = only(P, broken)
    assert (v.code, v.clinician_id, v.visit_id) == ("pinned", "rn-ana", "v-lift-b")


def test_max_visits() -> None:
    """More stops than max_visits is max_visits."""
    assert codes(with_clinician(P, "rn-ana", max_visits=2), S) == ["max_visits"]


def test_max_workload_points() -> None:
    """More workload points than max_workload_points is max_workload_points."""
    assert codes(with_clinician(P, "rn-ana", max_workload_points=3), S) == ["max_workload_points"]


# -- links -------------------------------------------------------------------------------


def test_link_partial_simultaneous() -> None:
    """A simultaneous link with one visit served and one not is link_partial."""
    assert codes(with_links(P, Simultaneous(("v-wound", "v-iv"))), S) == ["link_partial"]


def test_link_partial_precedence() -> None:
    """A precedence link with first unassigned and then served is link_partial."""
    assert codes(with_links(P, Precedence("v-iv", "v-bath")), S) == ["link_partial"]


def test_link_all_unassigned_is_fine() -> None:
    """A link whose visits are all unassigned is satisfied."""
    iv2 = Visit(id="v-iv-2", location=4, duration=600, required_skills=frozenset({"IV"}))
    problem = replace(
        P, visits=P.visits + (iv2,), links=P.links + (Simultaneous(("v-iv", "v-iv-2")),)
    )
    solution = replace(
        S, unassigned=S.unassigned + (Unassigned("v-iv-2", "linked_visit_unassigned"),)
    )
    assert check(problem, solution) == []


def test_link_simultaneous() -> None:
    """Simultaneous visits starting at different times are link_simultaneous."""
    assert codes(with_links(P, Simultaneous(("v-wound", "v-bath"))), S) == ["link_simultaneous"]


def test_link_same_clinician() -> None:
    """Simultaneous visits on one clinician are link_same_clinician (and cannot start together)."""
    found = check(with_links(P, Simultaneous(("v-wound", "v-assess"))), S)
    assert sorted(v.code for v in found) == ["link_same_clinician", "link_simultaneous"]
    same = next(v for v in found if v.code == "link_same_clinician")
    assert same.clinician_id == "rn-ana"


def test_link_precedence_too_late() -> None:
    """A gap above max_gap is link_precedence (assess 33300 -> bath 34800 is 1500 s)."""
    problem = replace(P, links=(P.links[0], Precedence("v-assess", "v-bath", 900, 1200)))
    v = only(problem, S)
    assert (v.code, v.visit_id) == ("link_precedence", "v-bath")
    assert "1500" in v.message


def test_link_precedence_too_soon() -> None:
    """A gap below min_gap is link_precedence."""
    problem = replace(P, links=(P.links[0], Precedence("v-assess", "v-bath", 1800, None)))
    assert codes(problem, S) == ["link_precedence"]


def test_link_precedence_wrong_order() -> None:
    """``then`` starting before ``first`` is link_precedence."""
    assert codes(with_links(P, Precedence("v-bath", "v-assess")), S) == ["link_precedence"]


def test_link_precedence_unbounded() -> None:
    """Without max_gap any later start satisfies a precedence link."""
    assert check(with_links(P, Precedence("v-wound", "v-lift-b")), S) == []


# -- KPIs --------------------------------------------------------------------------------


def kpis_with(**changes: object) -> Solution:
    return replace(S, kpis={**DAY_KPIS, **changes})


def test_kpi_mismatch() -> None:
    """A claimed KPI differing from the recomputed one is kpi_mismatch, naming the key."""
    v = only(P, kpis_with(travel_time=5100))
    assert v.code == "kpi_mismatch"
    assert "travel_time" in v.message and "5160" in v.message


def test_kpi_float_within_tolerance() -> None:
    """Floats within 1e-6 of the recomputed value match."""
    share = DAY_KPIS["travel_share"]
    assert isinstance(share, float)
    assert check(P, kpis_with(travel_share=share + 1e-9)) == []


def test_kpi_float_outside_tolerance() -> None:
    """A float off by more than 1e-6 (e.g. rounded for display) is kpi_mismatch."""
    assert codes(P, kpis_with(travel_share=0.33)) == ["kpi_mismatch"]


def test_kpi_nested_mismatch() -> None:
    """A per-acuity object with a missing or wrong entry is kpi_mismatch."""
    assert codes(P, kpis_with(assigned_by_acuity={"2": 1, "3": 3, "4": 1})) == ["kpi_mismatch"]
    assert codes(P, kpis_with(continuity=None)) == ["kpi_mismatch"]


def test_kpi_distance_without_distances() -> None:
    """A distance KPI for a problem without distances is kpi_mismatch."""
    problem, solution = without_distances(P, S)
    assert codes(problem, replace(solution, kpis={"distance": 0})) == ["kpi_mismatch"]


def test_kpi_partial_and_unknown_keys() -> None:
    """Only the KPI keys given are compared; keys the checker does not know are ignored."""
    assert check(P, replace(S, kpis={"travel_time": 5160, "objective": 123})) == []


def test_kpi_spec_example_rounded_share() -> None:
    """The spec example's display-rounded travel_share 0.09 is kpi_mismatch."""
    problem = load_problem(HERE / "data" / "spec_example.json")
    solution = load_solution(HERE / "check_spec_example_solution.json")
    rounded = replace(solution, kpis={**solution.kpis, "travel_share": 0.09})
    assert codes(problem, rounded) == ["kpi_mismatch"]


# -- properties --------------------------------------------------------------------------

STOP_FIELDS = ("arrival", "start", "end", "travel_time", "distance", "wait")
ROUTE_FIELDS = ("travel_time", "distance", "overtime")


@given(
    route=st.sampled_from(["rn-ana", "aide-ben"]),
    index=st.integers(0, 2),
    name=st.sampled_from(STOP_FIELDS),
    delta=st.integers(-3600, 3600).filter(bool),
)
def test_any_change_to_a_stop_is_caught(route: str, index: int, name: str, delta: int) -> None:
    """Changing any one time or leg field of any stop by a non-zero amount is reported."""
    stops = next(r for r in S.routes if r.clinician_id == route).stops
    stop = stops[index % len(stops)]
    broken = with_stop(S, route, index % len(stops), **{name: getattr(stop, name) + delta})
    assert check(P, broken) != []


@given(
    route=st.sampled_from(["rn-ana", "aide-ben"]),
    name=st.sampled_from(ROUTE_FIELDS),
    delta=st.integers(-3600, 3600).filter(bool),
)
def test_any_change_to_a_route_total_is_caught(route: str, name: str, delta: int) -> None:
    """Changing a route's travel, distance or overtime total is reported."""
    r = next(r for r in S.routes if r.clinician_id == route)
    assert check(P, with_route(S, route, **{name: getattr(r, name) + delta})) != []


@st.composite
def sequential_days(draw: st.DrawFn) -> tuple[Problem, Solution]:
    """A random problem and a plan built by earliest-start scheduling (no breaks)."""
    n = draw(st.integers(2, 6))
    durations = tuple(
        tuple(0 if i == j else draw(st.integers(0, 3600)) for j in range(n)) for i in range(n)
    )
    distances = tuple(tuple(7 * d + 3 for d in row) for row in durations)
    n_clinicians = draw(st.integers(1, 3))
    clinicians, routes, visits = [], [], []
    for c in range(n_clinicians):
        start_loc, end_loc = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        shift_start = draw(st.integers(0, 36000))
        buffer = draw(st.integers(0, 900))
        t = leave = shift_start + draw(st.integers(0, 1800))
        prev, stops, travel, dist = start_loc, [], 0, 0
        for k in range(draw(st.integers(1, 4))):
            vid = f"v{c}-{k}"
            loc, dur = draw(st.integers(0, n - 1)), draw(st.integers(0, 3600))
            arrival = t + durations[prev][loc]
            start = arrival + draw(st.integers(0, 1800))
            windows = draw(
                st.sampled_from(
                    [
                        (),
                        ((max(0, start - 600), start + 600),),
                        ((start + 5000, start + 9000), (max(0, start - 900), start)),
                    ]
                )
            )
            visits.append(Visit(id=vid, location=loc, duration=dur, time_windows=windows))
            stops.append(
                Stop(
                    vid,
                    arrival,
                    start,
                    start + dur,
                    durations[prev][loc],
                    distances[prev][loc],
                    start - arrival,
                )
            )
            travel += durations[prev][loc]
            dist += distances[prev][loc]
            t, prev = start + dur + buffer, loc
        end_time = t + durations[prev][end_loc]
        shift_end = draw(st.integers(shift_start, end_time + 3600))
        overtime = max(0, end_time - shift_end)
        clinicians.append(
            Clinician(
                id=f"c{c}",
                start_location=start_loc,
                end_location=end_loc,
                shift_start=shift_start,
                shift_end=shift_end,
                max_overtime=overtime,
                buffer_after_visit=buffer,
            )
        )
        routes.append(
            Route(
                f"c{c}",
                leave,
                end_time,
                tuple(stops),
                (),
                travel + durations[prev][end_loc],
                dist + distances[prev][end_loc],
                overtime,
            )
        )
    problem = Problem(
        locations=tuple(Location() for _ in range(n)),
        matrix=Matrix(durations, distances),
        clinicians=tuple(clinicians),
        visits=tuple(visits),
    )
    return problem, Solution(tuple(routes), ())


@given(sequential_days())
@settings(max_examples=60)
def test_earliest_start_plans_are_feasible(day: tuple[Problem, Solution]) -> None:
    """Any plan built leg by leg from the matrix, within its windows and shifts, passes."""
    problem, solution = day
    assert check(problem, solution) == []


@given(sequential_days(), st.randoms(use_true_random=False))
@settings(max_examples=60)
def test_shuffled_stops_never_raise(day: tuple[Problem, Solution], rnd: object) -> None:
    """Stops shuffled across routes (times kept) give violations or none, never an exception."""
    problem, solution = day
    stops = [s for r in solution.routes for s in r.stops]
    rnd.shuffle(stops)  # type: ignore[attr-defined]
    routes, k = [], 0
    for r in solution.routes:
        routes.append(replace(r, stops=tuple(stops[k : k + len(r.stops)])))
        k += len(r.stops)
    found = check(problem, replace(solution, routes=tuple(routes), kpis={"travel_time": -1}))
    assert all(isinstance(v, Violation) for v in found)
    assert "kpi_mismatch" in {v.code for v in found}
    json.dumps([v.__dict__ for v in found])
