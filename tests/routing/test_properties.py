"""Solver invariants on random small days, judged by the independent checker.

Hypothesis draws days of 2-4 clinicians and 3-10 visits on an asymmetric
matrix (legs of 60-1800 s) with random skills, windows, breaks, limits,
exclusions, preferences, pins, acuity and at most one link. Whatever it
draws, the optimiser and the usual-care baseline must return a plan the
checker finds nothing wrong with, every visit exactly once, every reason a
stable code. Runs are derandomized so CI sees the same days every time.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing import (
    Break,
    Clinician,
    Location,
    Matrix,
    Options,
    Precedence,
    Problem,
    Simultaneous,
    Solution,
    SolverParams,
    Visit,
    check,
    problem_from_dict,
    problem_to_dict,
    solve,
    solve_baseline,
)
from routing.model import REASONS
from routing.solver import resolve_strategy

H = 3600
SKILLS = ("RN", "LPN", "aide", "wound_care")

FEASIBILITY = settings(
    max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


def _matrix(draw: st.DrawFn, n: int) -> Matrix:
    """An asymmetric matrix: every off-diagonal leg 60-1800 s; distances sometimes absent."""
    legs = draw(st.lists(st.integers(60, 1800), min_size=n * n, max_size=n * n))
    durations = tuple(tuple(0 if i == j else legs[i * n + j] for j in range(n))
                      for i in range(n))
    if draw(st.booleans()):
        return Matrix(durations)
    return Matrix(durations, tuple(tuple(8 * s for s in row) for row in durations))


def _clinician(draw: st.DrawFn, k: int, n_locations: int) -> Clinician:
    start = draw(st.integers(6 * H, 10 * H))
    length = draw(st.integers(2 * H, 10 * H))
    breaks = []
    for _ in range(draw(st.integers(0, 2))):
        earliest = draw(st.integers(10 * H, 15 * H))
        breaks.append(Break(earliest, earliest + draw(st.integers(0, 2 * H)),
                            draw(st.sampled_from([600, 900, 1800, 3600]))))
    location = st.integers(0, n_locations - 1)
    return Clinician(
        id=f"c{k}",
        skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), min_size=1))),
        start_location=draw(location),
        end_location=draw(st.none() | location),
        shift_start=start,
        shift_end=start + length,
        max_overtime=draw(st.sampled_from([0, 0, 1800, 3600])),
        max_visits=draw(st.none() | st.integers(0, 5)),
        max_workload_points=draw(st.none() | st.integers(0, 8)),
        breaks=tuple(breaks),
        buffer_after_visit=draw(st.sampled_from([0, 0, 300, 600])),
    )


def _visit(draw: st.DrawFn, k: int, n_locations: int, clinician_ids: list[str]) -> Visit:
    windows = []
    for _ in range(draw(st.integers(0, 2))):
        lo = draw(st.integers(6 * H, 17 * H))
        windows.append((lo, lo + draw(st.integers(0, 4 * H))))
    preferred = draw(st.sets(st.sampled_from(clinician_ids), max_size=2))
    others = [c for c in clinician_ids if c not in preferred]
    excluded = draw(st.sets(st.sampled_from(others), max_size=2)) if others else set()
    allowed = [c for c in clinician_ids if c not in excluded]
    pinned = None
    if allowed and draw(st.integers(0, 4)) == 0:
        pinned = draw(st.sampled_from(allowed))
    return Visit(
        id=f"v{k}",
        location=draw(st.integers(0, n_locations - 1)),
        duration=draw(st.integers(2, 18)) * 300,
        time_windows=tuple(windows),
        required_skills=frozenset(draw(st.sets(st.sampled_from(SKILLS), max_size=2))),
        acuity=draw(st.integers(1, 5)),
        mandatory=draw(st.integers(0, 4)) == 0,
        workload_points=draw(st.integers(0, 3)),
        preferred_clinicians=tuple(sorted(preferred)),
        excluded_clinicians=tuple(sorted(excluded)),
        pinned_clinician=pinned,
    )


def _link(draw: st.DrawFn, visits: list[Visit]) -> tuple[list[Visit], tuple]:
    """At most one link, its two visits made compatible (servable together in principle)."""
    kind = draw(st.sampled_from([None, None, "simultaneous", "precedence"]))
    if kind is None:
        return visits, ()
    i, j = draw(st.lists(st.integers(0, len(visits) - 1), min_size=2, max_size=2, unique=True))
    a, b = visits[i], visits[j]
    # Unpinned, so neither partner is tied to a clinician the other also needs.
    a, b = replace(a, pinned_clinician=None), replace(b, pinned_clinician=None)
    if kind == "simultaneous":
        b = replace(b, location=a.location, time_windows=a.time_windows)
        link: Simultaneous | Precedence = Simultaneous((a.id, b.id))
    else:
        min_gap = draw(st.integers(0, 4)) * 900
        max_gap = draw(st.none() | st.integers(min_gap, min_gap + 3 * H))
        link = Precedence(a.id, b.id, min_gap=min_gap, max_gap=max_gap)
    visits = list(visits)
    visits[i], visits[j] = a, b
    return visits, (link,)


@st.composite
def days(draw: st.DrawFn) -> Problem:
    """A random small day (see the module docstring)."""
    n_locations = draw(st.integers(2, 8))
    clinicians = [_clinician(draw, k, n_locations) for k in range(draw(st.integers(2, 4)))]
    ids = [c.id for c in clinicians]
    visits = [_visit(draw, k, n_locations, ids) for k in range(draw(st.integers(3, 10)))]
    visits, links = _link(draw, visits)
    return Problem(
        locations=tuple(Location() for _ in range(n_locations)),
        matrix=_matrix(draw, n_locations),
        clinicians=tuple(clinicians),
        visits=tuple(visits),
        links=links,
        options=Options(time_limit=0.3),
    )


def assert_sound(problem: Problem, solution: Solution) -> None:
    """The checker finds nothing; every visit is placed exactly once; reasons are stable codes."""
    violations = check(problem, solution)
    assert violations == [], (violations, json.dumps(problem_to_dict(problem)))
    placed = Counter([s.visit_id for r in solution.routes for s in r.stops]
                     + [u.visit_id for u in solution.unassigned])
    assert placed == Counter(v.id for v in problem.visits)
    assert {u.reason for u in solution.unassigned} <= set(REASONS)


@FEASIBILITY
@given(days())
def test_solve_is_feasible(problem: Problem) -> None:
    """The optimiser's plan of any small day passes the checker, every visit exactly once."""
    assert_sound(problem, solve(problem, SolverParams(time_limit=0.3)))


@FEASIBILITY
@given(days())
def test_baseline_is_feasible(problem: Problem) -> None:
    """The usual-care plan of any small day passes the checker, every visit exactly once."""
    assert_sound(problem, solve_baseline(problem))


def _plain(problem: Problem) -> Problem:
    """``problem`` without the rules our own ruin and recreate leaves to OR-Tools."""
    buffer = problem.clinicians[0].buffer_after_visit
    return replace(
        problem, links=(),
        clinicians=tuple(replace(c, breaks=(), buffer_after_visit=buffer)
                         for c in problem.clinicians),
        visits=tuple(replace(v, time_windows=v.time_windows[:1]) for v in problem.visits),
        options=replace(problem.options, balance_weight=0, preference_penalty=0,
                        overtime_weight=0),
    )


@FEASIBILITY
@given(days().map(_plain))
def test_sisr_is_feasible(problem: Problem) -> None:
    """Our own ruin and recreate (what a fresh plain day gets) passes the checker too."""
    assert resolve_strategy(problem, SolverParams()) == "sisr"
    assert_sound(problem, solve(problem, SolverParams(time_limit=0.3)))


@settings(max_examples=50, deadline=None, derandomize=True)
@given(days())
def test_random_day_round_trips(problem: Problem) -> None:
    """Any generated day survives problem_to_dict -> JSON -> problem_from_dict unchanged."""
    assert problem_from_dict(json.loads(json.dumps(problem_to_dict(problem)))) == problem


# -- known bugs, reduced from the properties above ------------------------------------

#: A clinician whose breaks are listed latest first, and a day that ends between them.
OUT_OF_ORDER_BREAKS = {
    "locations": [{}, {}],
    "matrix": {"durations": [[0, 60], [60, 0]]},
    "clinicians": [{
        "id": "c0", "start_location": 0, "shift_start": 28800, "shift_end": 57600,
        "breaks": [{"earliest_start": 50400, "latest_start": 50400, "duration": 600},
                   {"earliest_start": 43200, "latest_start": 46800, "duration": 600}],
    }],
    "visits": [{"id": "v0", "location": 1, "duration": 14400}],
}


@pytest.mark.parametrize("solver", ["ortools", "baseline"])
def test_breaks_listed_out_of_order(solver: str) -> None:
    """A required break is taken even when the clinician's breaks are not listed in time order."""
    problem = problem_from_dict(OUT_OF_ORDER_BREAKS)
    if solver == "ortools":
        solution = solve(problem, SolverParams(time_limit=0.3))
    else:
        solution = solve_baseline(problem)
    assert check(problem, solution) == []
