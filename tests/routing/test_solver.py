"""The OR-Tools model and the usual-care baseline on days whose answer is clear by hand.

Every solution is judged by the independent checker, never by the solver's
own numbers.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from routing import (
    Break,
    Precedence,
    Problem,
    Simultaneous,
    Solution,
    SolverParams,
    check,
    objective,
    solve,
    solve_baseline,
)
from routing.assemble import assemble
from routing.diagnose import screen
from routing.schedule import RouteTimer
from routing.solver import Disruption, _serve_left_out, fair_shares

from .days import H, day, nurse, visit

Solver = Callable[[Problem], Solution]


def ortools(problem: Problem) -> Solution:
    return solve(problem)


def ortools_break_intervals(problem: Problem) -> Solution:
    return solve(problem, SolverParams(break_nodes=False))


SOLVERS = [pytest.param(ortools, id="ortools"),
           pytest.param(ortools_break_intervals, id="ortools-break-intervals"),
           pytest.param(solve_baseline, id="baseline")]


def feasible(problem: Problem, solver: Solver) -> Solution:
    solution = solver(problem)
    violations = check(problem, solution)
    assert violations == [], violations
    return solution


def route_of(solution: Solution, clinician_id: str) -> list[str]:
    for r in solution.routes:
        if r.clinician_id == clinician_id:
            return [s.visit_id for s in r.stops]
    return []


def planned(problem: Problem, orders: dict) -> Solution:
    """The plan of exactly these routes (every other visit left out)."""
    timer = RouteTimer(problem)
    _, screened = screen(problem, timer)
    return assemble(problem, timer, orders, {}, screened)


def left_out_served(problem: Problem, plan: Solution) -> Solution:
    """The plan after the solver's pass that serves left-out visits."""
    timer = RouteTimer(problem)
    candidates, screened = screen(problem, timer)
    return _serve_left_out(problem, timer, candidates, screened, plan, None)


def who(solution: Solution, visit_id: str) -> str | None:
    for r in solution.routes:
        if any(s.visit_id == visit_id for s in r.stops):
            return r.clinician_id
    return None


def reason(solution: Solution, visit_id: str) -> str | None:
    return next((u.reason for u in solution.unassigned if u.visit_id == visit_id), None)


def stop(solution: Solution, visit_id: str):
    return next(s for r in solution.routes for s in r.stops if s.visit_id == visit_id)


@pytest.mark.parametrize("solver", SOLVERS)
def test_skills_are_hard(solver: Solver) -> None:
    """A wound-care visit goes to the one clinician with wound care, even if farther."""
    p = day([nurse("near", start=5), nurse("far", start=0, skills=("RN", "wound_care"))],
            [visit("v", 5, skills=("RN", "wound_care"))])
    assert who(feasible(p, solver), "v") == "far"


@pytest.mark.parametrize("solver", SOLVERS)
def test_service_starts_inside_one_of_several_windows(solver: Solver) -> None:
    """With windows 07:00-08:00 and 13:00-14:00 and a shift from 12:00, service starts 13:00+."""
    p = day([nurse("a", shift=(12 * H, 18 * H))],
            [visit("v", 3, windows=((7 * H, 8 * H), (13 * H, 14 * H)))])
    s = stop(feasible(p, solver), "v")
    assert 13 * H <= s.start <= 14 * H


@pytest.mark.parametrize("solver", SOLVERS)
def test_overtime_is_bounded(solver: Solver) -> None:
    """A visit that only fits with 20 min overtime is served when 30 min are allowed."""
    # shift 08:00-09:00; drive 10 min, 50 min visit, 10 min back = 70 min.
    p = day([nurse("a", shift=(8 * H, 9 * H), max_overtime=1800)],
            [visit("v", 10, duration=3000, acuity=3)])
    sol = feasible(p, solver)
    assert who(sol, "v") == "a"
    assert sol.routes[0].overtime == 600


@pytest.mark.parametrize("solver", SOLVERS)
def test_shift_end_is_hard_without_overtime(solver: Solver) -> None:
    """The same visit without overtime allowance is unassigned: shift_too_short."""
    p = day([nurse("a", shift=(8 * H, 9 * H))], [visit("v", 10, duration=3000)])
    assert reason(feasible(p, solver), "v") == "shift_too_short"


@pytest.mark.parametrize("solver", SOLVERS)
def test_break_is_taken_between_visits(solver: Solver) -> None:
    """A 30 min lunch between 12:00 and 12:30 is taken whole, outside every visit."""
    brk = Break(12 * H, 12 * H + 1800, 1800)
    p = day([nurse("a", breaks=(brk,))],
            [visit(f"v{i}", i, duration=3600, acuity=3) for i in range(1, 6)])
    sol = feasible(p, solver)
    route = sol.routes[0]
    assert len(route.breaks) == 1 and route.breaks[0].duration == 1800
    b = route.breaks[0].start
    assert all(s.end <= b or s.start >= b + 1800 for s in route.stops)


@pytest.mark.parametrize("solver", SOLVERS)
def test_no_break_needed_when_the_day_ends_first(solver: Solver) -> None:
    """A clinician home before the break window opens takes no break."""
    p = day([nurse("a", breaks=(Break(14 * H, 15 * H, 1800),))], [visit("v", 1)])
    assert feasible(p, solver).routes[0].breaks == ()


@pytest.mark.parametrize("solver", SOLVERS)
def test_max_visits(solver: Solver) -> None:
    """One clinician with max_visits=2 serves two of three visits; the third is 'capacity'."""
    p = day([nurse("a", max_visits=2)],
            [visit("v1", 1, acuity=3), visit("v2", 2, acuity=3), visit("v3", 3)])
    sol = feasible(p, solver)
    assert len(route_of(sol, "a")) == 2
    assert reason(sol, "v3") == "capacity"


@pytest.mark.parametrize("solver", SOLVERS)
def test_max_workload_points(solver: Solver) -> None:
    """With 3 points a day, a 2-point and a 2-point visit cannot both be served."""
    p = day([nurse("a", max_workload_points=3)],
            [visit("v1", 1, workload_points=2, acuity=2), visit("v2", 2, workload_points=2)])
    sol = feasible(p, solver)
    assert route_of(sol, "a") == ["v1"]
    assert reason(sol, "v2") == "capacity"


@pytest.mark.parametrize("solver", SOLVERS)
def test_excluded_clinician_is_hard(solver: Solver) -> None:
    """An excluded clinician never serves the visit, even next door."""
    p = day([nurse("near", start=5), nurse("far", start=0)],
            [visit("v", 5, excluded_clinicians=("near",))])
    assert who(feasible(p, solver), "v") == "far"


@pytest.mark.parametrize("solver", SOLVERS)
def test_pinned_clinician_is_kept(solver: Solver) -> None:
    """A dispatcher's pin wins over distance."""
    p = day([nurse("near", start=5), nurse("far", start=0)],
            [visit("v", 5, pinned_clinician="far")])
    assert who(feasible(p, solver), "v") == "far"


def test_preferred_clinician_when_it_costs_little() -> None:
    """Continuity: the preferred clinician serves the visit though 2 km farther."""
    p = day([nurse("near", start=5), nurse("pref", start=3)],
            [visit("v", 5, preferred_clinicians=("pref",))])
    assert who(feasible(p, ortools), "v") == "pref"


@pytest.mark.parametrize("solver", SOLVERS)
def test_buffer_after_visit(solver: Solver) -> None:
    """The next drive starts only after the 10 min documentation buffer."""
    p = day([nurse("a", buffer_after_visit=600)],
            [visit("v1", 1, windows=((9 * H, 9 * H),)),
             visit("v2", 2, acuity=2, windows=((9 * H, 12 * H),))])
    sol = feasible(p, solver)
    assert route_of(sol, "a") == ["v1", "v2"]
    assert stop(sol, "v2").arrival == 9 * H + 1800 + 600 + 60


@pytest.mark.parametrize("solver", SOLVERS)
def test_acuity5_is_never_dropped_to_save_travel(solver: Solver) -> None:
    """An acuity-5 visit three hours' drive away is still served."""
    p = day([nurse("a", shift=(8 * H, 18 * H))], [visit("v", 180, acuity=5)], n=181)
    assert who(feasible(p, solver), "v") == "a"


def test_low_acuity_far_visit_is_not_worth_it() -> None:
    """An acuity-1 visit three hours away is left out, with reason not_worth_it."""
    p = day([nurse("a", shift=(8 * H, 18 * H))], [visit("v", 180)], n=181)
    sol = feasible(p, ortools)
    assert reason(sol, "v") == "not_worth_it"


def test_mandatory_is_served_whatever_it_costs() -> None:
    """The same far visit marked mandatory is served."""
    p = day([nurse("a", shift=(8 * H, 18 * H))], [visit("v", 180, mandatory=True)], n=181)
    assert who(feasible(p, ortools), "v") == "a"


@pytest.mark.parametrize("solver", SOLVERS)
def test_simultaneous_visits(solver: Solver) -> None:
    """A two-person transfer: same start second, two different clinicians."""
    p = day([nurse("a"), nurse("b", start=4)],
            [visit("lift-a", 3, acuity=4), visit("lift-b", 3, acuity=4)],
            links=(Simultaneous(("lift-a", "lift-b")),))
    sol = feasible(p, solver)
    assert {who(sol, "lift-a"), who(sol, "lift-b")} == {"a", "b"}
    assert stop(sol, "lift-a").start == stop(sol, "lift-b").start


@pytest.mark.parametrize("solver", SOLVERS)
def test_precedence_with_gaps(solver: Solver) -> None:
    """The aide's bath starts 1-2 h after the nurse's assessment starts."""
    p = day([nurse("rn"), nurse("aide", skills=("aide",), start=2)],
            [visit("assess", 3, acuity=3), visit("bath", 3, skills=("aide",), acuity=3)],
            links=(Precedence("assess", "bath", min_gap=H, max_gap=2 * H),))
    sol = feasible(p, solver)
    gap = stop(sol, "bath").start - stop(sol, "assess").start
    assert H <= gap <= 2 * H


@pytest.mark.parametrize("solver", SOLVERS)
def test_linked_visits_are_left_out_together(solver: Solver) -> None:
    """If one of a simultaneous pair cannot be served, neither is."""
    p = day([nurse("a"), nurse("b")],
            [visit("x", 3, acuity=4), visit("y", 3, acuity=4, skills=("IV",))],
            links=(Simultaneous(("x", "y")),))
    sol = feasible(p, solver)
    assert reason(sol, "y") == "no_clinician_with_skills"
    assert reason(sol, "x") == "linked_visit_unassigned"


def test_workload_is_balanced() -> None:
    """Two clinicians at the office share six equal visits three and three."""
    p = day([nurse("a"), nurse("b")],
            [visit(f"v{i}", 1 + i % 2, duration=3600, acuity=3) for i in range(6)])
    sol = feasible(p, ortools)
    assert sorted(len(r.stops) for r in sol.routes) == [3, 3]


def test_fair_shares_level_the_clinicians_who_may_share_the_work() -> None:
    """Two RNs with 2 h of RN-only care and an LPN: 3 h of LPN care levels all three at 100 min."""
    rn_only = [visit(f"r{i}", 1, duration=3600, skills=("RN",)) for i in range(2)]
    lpn_or_rn = [visit(f"l{i}", 2, duration=3600, skills=("LPN",)) for i in range(3)]
    p = day([nurse("rn1", skills=("RN", "LPN")), nurse("rn2", skills=("RN", "LPN")),
             nurse("lpn", skills=("LPN",))], rn_only + lpn_or_rn)
    assert fair_shares(p) == {"rn1": 100, "rn2": 100, "lpn": 100}


def test_fair_shares_leave_a_clinician_without_eligible_work_at_zero() -> None:
    """Care nobody else may give stays with its clinicians; a PT with no PT visits gets none."""
    p = day([nurse("rn", skills=("RN",)), nurse("pt", skills=("PT",))],
            [visit(f"r{i}", 1, duration=1800, skills=("RN",)) for i in range(4)])
    assert fair_shares(p) == {"rn": 120, "pt": 0}


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(
    ("clinicians", "v", "code"),
    [
        ([nurse("a")], visit("v", 1, skills=("IV",)), "no_clinician_with_skills"),
        ([nurse("a")], visit("v", 1, excluded_clinicians=("a",)), "excluded_everywhere"),
        ([nurse("a")], visit("v", 1, windows=((6 * H, 7 * H),)), "time_window_unreachable"),
        ([nurse("a", shift=(8 * H, 8 * H + 600))], visit("v", 1), "shift_too_short"),
        ([nurse("a", skills=("PT",)), nurse("b")], visit("v", 1, skills=("PT",),
                                                         pinned_clinician="b"),
         "pinned_clinician_unavailable"),
    ],
)
def test_unassigned_reasons(solver: Solver, clinicians, v, code: str) -> None:
    """Each impossible visit is reported with the reason that a dispatcher can act on."""
    sol = feasible(day(clinicians, [v]), solver)
    assert reason(sol, "v") == code
    assert next(u.detail for u in sol.unassigned)


def test_never_worse_than_its_warm_start() -> None:
    """Given last version's routes as a warm start, the result costs no more than they do."""
    visits = [visit(f"v{i}", i, acuity=2) for i in range(1, 13)]
    p = day([nurse("a"), nurse("b", start=12)], visits)
    warm = {"a": [f"v{i}" for i in range(12, 0, -1)]}  # a silly order
    warm_only = solve(p, SolverParams(time_limit=0.01, initial_routes=warm))
    better = solve(p, SolverParams(time_limit=1, initial_routes=warm))
    assert check(p, better) == []
    assert objective(p, better) <= objective(p, warm_only)


def test_optimiser_beats_usual_care_on_a_crossing_day() -> None:
    """Two clinicians at opposite ends: optimised travel is below the usual-care plan's."""
    visits = [visit(f"v{i}", i, acuity=1 + i % 5, windows=((8 * H, 16 * H),))
              for i in range(1, 21)]
    p = day([nurse("west", start=0), nurse("east", start=21)], visits, n=22)
    opt, usual = feasible(p, ortools), feasible(p, solve_baseline)
    assert opt.kpis["visits_assigned"] >= usual.kpis["visits_assigned"]
    assert objective(p, opt) <= objective(p, usual)


def test_kpis_are_attached() -> None:
    """Every solution carries the KPI set the checker recomputes."""
    sol = feasible(day([nurse("a")], [visit("v", 1)]), ortools)
    assert sol.kpis["visits_assigned"] == 1 and sol.kpis["travel_time"] == 120


def test_warm_start_keeps_a_two_person_visit_together() -> None:
    """Previous routes timed one by one would start a two-person visit apart; the start
    plan (what solve returns with no time to search) still starts both together."""
    p = day([nurse("a"), nurse("b", start=20)],
            [visit("s1", 5), visit("s2", 5)],
            links=(Simultaneous(("s1", "s2")),))
    sol = solve(p, SolverParams(time_limit=0.0, initial_routes={"a": ["s1"], "b": ["s2"]}))
    assert check(p, sol) == []
    starts = {s.visit_id: s.start for r in sol.routes for s in r.stops}
    assert starts["s1"] == starts["s2"]


def test_a_break_the_day_never_reaches_is_ignored() -> None:
    """A lunch window after the shift's latest end neither fails the model nor is taken."""
    p = day([nurse("a", shift=(8 * H, 12 * H), breaks=(Break(20 * H, 22 * H, 1800),))],
            [visit("v", 1)])
    sol = feasible(p, ortools)
    assert who(sol, "v") == "a" and sol.routes[0].breaks == ()


def test_a_left_out_mandatory_visit_is_served_by_making_room() -> None:
    """A plan that leaves out a mandatory visit (usual care here) gets it served: the routine
    visit in its way moves to the other clinician, and the checker agrees."""
    p = day([nurse("a", skills=("RN", "LPN")), nurse("b", skills=("LPN",), start=3)],
            [visit("routine", 1, duration=H, windows=((10 * H, 10 * H),),
                   skills=("LPN",), acuity=3),
             visit("must", 2, duration=H, windows=((10 * H, 10 * H + 600),), mandatory=True)])
    usual = solve_baseline(p)
    assert [u.visit_id for u in usual.unassigned] == ["must"]
    served = left_out_served(p, usual)
    assert check(p, served) == []
    assert served.unassigned == ()
    assert {r.clinician_id: [s.visit_id for s in r.stops] for r in served.routes} == {
        "a": ["must"], "b": ["routine"]}


def test_a_search_result_missing_a_mandatory_visit_is_mended_not_discarded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A search result that left a mandatory visit out gets it inserted before it is
    compared with the start, so the search's better routes are kept."""
    import routing.solver as solver

    p = day([nurse("a")], [visit("v1", 5), visit("v2", 10), visit("must", 7, mandatory=True)])

    def search_without_must(problem: Problem, *_: object) -> solver.Found:
        # What OR-Tools plus the break repair returned on the 300-visit day:
        # better routes, one mandatory visit out.
        return {"a": [problem.visit("v1"), problem.visit("v2")]}, {}, {}

    monkeypatch.setattr(solver, "_search", search_without_must)
    zigzag = {"a": ["v2", "v1", "must"]}  # 0-10-5-7-0: 24 km against 20 km for 0-5-7-10-0
    sol = feasible(p, lambda q: solve(q, SolverParams(initial_routes=zigzag)))
    assert route_of(sol, "a") == ["v1", "must", "v2"]


def test_left_out_visits_are_served_and_a_cheaper_one_makes_room() -> None:
    """A plan that leaves out a visit that fits and an acuity-3 visit whose slot an
    acuity-1 visit holds gets both served; only the acuity-1 visit stays out."""
    p = day([nurse("n")],
            [visit("routine", 1, duration=H, windows=((10 * H, 10 * H),)),
             visit("acute", 2, duration=H, windows=((10 * H, 10 * H + 600),), acuity=3),
             visit("fits", 3, windows=((13 * H, 14 * H),), acuity=2)])
    left = planned(p, {"n": [p.visit("routine")]})
    assert sorted(u.visit_id for u in left.unassigned) == ["acute", "fits"]
    served = left_out_served(p, left)
    assert check(p, served) == []
    assert route_of(served, "n") == ["acute", "fits"]
    assert [u.visit_id for u in served.unassigned] == ["routine"]
    assert objective(p, served) < objective(p, left)


def test_a_left_out_linked_pair_is_served_as_a_pair() -> None:
    """A precedence pair a plan left out goes back in together, in order, the link kept."""
    p = day([nurse("a"), nurse("b", skills=("LPN",), start=4)],
            [visit("solo", 2),
             visit("assess", 5, acuity=2),
             visit("bathe", 6, skills=("LPN",), acuity=2)],
            links=(Precedence("assess", "bathe", min_gap=1800, max_gap=7200),))
    left = planned(p, {"a": [p.visit("solo")]})
    assert sorted(u.visit_id for u in left.unassigned) == ["assess", "bathe"]
    served = left_out_served(p, left)
    assert check(p, served) == []
    assert served.unassigned == ()
    starts = {s.visit_id: s.start for r in served.routes for s in r.stops}
    assert 1800 <= starts["bathe"] - starts["assess"] <= 7200


def test_a_move_penalty_beside_a_preference_still_lets_the_search_run() -> None:
    """Re-planning two visits promised to a clinician who is gone, whose preferred clinician
    is the only one with their skills and can do only one: OR-Tools searches (it reports
    solutions) and one visit is left out.

    With the move and preference costs in one dimension, OR-Tools 9.15 could not leave
    such a visit unperformed, so the model had no solution with one left out and these
    re-plans did no search (seen in 4 of 20 re-plans of a bench.reoptimise day)."""
    p = day([nurse("lpn-a", skills=("LPN",), start=2),
             nurse("lpn-b", skills=("LPN", "paediatrics"), start=7)],
            [visit(f"child{i}", 4 + i, skills=("LPN", "paediatrics"), windows=((14 * H, 14 * H),),
                   preferred_clinicians=("lpn-b",)) for i in (1, 2)])
    reported: list[float] = []
    sol = feasible(p, lambda q: solve(q, SolverParams(
        initial_routes={"lpn-b": ["child1"]},
        disruption=Disruption(previous={"child1": ("rn-gone", 14 * H),
                                        "child2": ("rn-gone", 14 * H)}),
        progress=lambda seconds, cost: reported.append(cost))))
    assert len(route_of(sol, "lpn-b")) == 1 and len(sol.unassigned) == 1
    assert reported, "the OR-Tools search found no solution to report"
