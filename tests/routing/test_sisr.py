"""Our own ruin and recreate (routing.sisr): the routes it returns keep every rule it models.

The solver re-times whatever a search returns and sheds what does not fit,
so its checked plans alone would hide a search that breaks a rule; these
tests look at the search's own routes, before any mending.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given

from routing import Break, Precedence, Problem, SolverParams, check, construct, sisr, solve
from routing.assemble import assemble
from routing.diagnose import screen
from routing.io import problem_to_dict
from routing.schedule import RouteTimer
from routing.solver import objective, resolve_strategy

from .days import H, day, nurse, visit
from .test_properties import FEASIBILITY, _plain, days


def _start(problem: Problem) -> tuple[RouteTimer, list, list, construct.Plan]:
    timer = RouteTimer(problem)
    candidates, screened = screen(problem, timer)
    return timer, candidates, screened, construct.build(problem, timer, candidates)


def _cost(problem: Problem, timer: RouteTimer, screened: list, orders: dict) -> int:
    return objective(problem, assemble(problem, timer, orders, {}, screened))


@FEASIBILITY
@given(days().map(_plain))
def test_routes_keep_every_rule_it_models(problem: Problem) -> None:
    """Skills, exclusions, pins, windows, shifts, end places, limits: every route times as it is."""
    timer, candidates, screened, start = _start(problem)
    orders = sisr.search(problem, candidates, start.orders, 0.2)
    placed = Counter(v.id for order in orders.values() for v in order)
    assert all(n == 1 for n in placed.values()), placed
    assert set(placed) <= {v.id for v in candidates}
    # Timed as they are, the routes pass the checker and nothing is shed on the way.
    plan = assemble(problem, timer, orders, {}, screened)
    assert check(problem, plan) == []
    assert {r.clinician_id: [s.visit_id for s in r.stops] for r in plan.routes} == {
        cid: [v.id for v in order] for cid, order in orders.items()}
    assert _cost(problem, timer, screened, orders) <= _cost(problem, timer, screened, start.orders)


def _crossing_day(**options) -> Problem:
    """Two nurses at either end of the road; visits that the obvious start plan crosses."""
    visits = [visit(f"v{loc}", loc, duration=600) for loc in (2, 4, 6, 14, 16, 18)]
    return day([nurse("west", start=0), nurse("east", start=20)], visits, n=21,
               balance_weight=0, preference_penalty=0, **options)


def _optimum(problem: Problem, timer: RouteTimer) -> int:
    """Least travel over every split of the visits between the two nurses and every order."""
    west, east = problem.clinicians
    best = None
    for mask in range(1 << len(problem.visits)):
        split = ([v for i, v in enumerate(problem.visits) if mask >> i & 1],
                 [v for i, v in enumerate(problem.visits) if not mask >> i & 1])
        total = 0
        for clinician, group in zip((west, east), split, strict=True):
            times = [r.travel_time for order in itertools.permutations(group)
                     if (r := timer.time_route(clinician, list(order))) is not None]
            if not times:
                break
            total += min(times)
        else:
            best = total if best is None else min(best, total)
    assert best is not None
    return best


def test_finds_the_optimum_of_a_small_day_from_a_bad_start() -> None:
    """From routes that send each nurse to the far end of the road, it finds the best plan."""
    problem = _crossing_day()
    timer, candidates, screened, _ = _start(problem)
    by_id = {v.id: v for v in candidates}
    bad = {"west": [by_id[i] for i in ("v14", "v16", "v18")],
           "east": [by_id[i] for i in ("v2", "v4", "v6")]}
    orders = sisr.search(problem, candidates, bad, 0.3)
    assert _cost(problem, timer, screened, orders) == _optimum(problem, timer)
    assert {v.id for v in orders["west"]} == {"v2", "v4", "v6"}


def test_a_visit_that_fits_nowhere_stays_out_and_the_rest_are_served() -> None:
    """Two visits both only possible at 09:00 for the one nurse: one is served, one stays out."""
    windows = ((9 * H, 9 * H),)
    problem = day([nurse("n")], [visit("a", 3, windows=windows, acuity=2),
                                 visit("b", 4, windows=windows)],
                  balance_weight=0, preference_penalty=0)
    timer, candidates, _, _ = _start(problem)
    orders = sisr.search(problem, candidates, {}, 0.2)
    assert [v.id for v in orders["n"]] == ["a"]  # acuity 2 costs more to leave out


def test_auto_uses_it_only_for_days_it_models() -> None:
    """A fresh plain day gets it; a revised plan or a day with balance gets OR-Tools."""
    plain = _crossing_day()
    assert resolve_strategy(plain, SolverParams()) == "sisr"
    assert resolve_strategy(plain, SolverParams(initial_routes={"west": ["v2"]})) == "gls"
    assert resolve_strategy(replace(plain, options=replace(plain.options, balance_weight=10)),
                     SolverParams()) == "ils"


WITH_BREAK = replace(nurse("n"), breaks=(Break(12 * H, 13 * H, 1800),))


@pytest.mark.parametrize(("change", "reason"), [
    ({"links": (Precedence("v2", "v4"),)}, "linked visits"),
    ({"clinicians": (WITH_BREAK, nurse("m"))}, "breaks"),
    ({"clinicians": (nurse("n"), nurse("m", buffer_after_visit=300))}, "differ"),
    ({"clinicians": (nurse("n", max_overtime=H), nurse("m"))}, "overtime"),
    ({"visits": (visit("v2", 2, windows=((9 * H, 10 * H), (14 * H, 15 * H))),)}, "windows"),
    ({"visits": (visit("v2", 2, preferred_clinicians=("n",)),),
      "options_preference": 900}, "preferred"),
    ({"options_balance": 10}, "balance"),
])
def test_says_which_rule_it_leaves_to_ortools(change: dict, reason: str) -> None:
    """Each rule it does not model is named, and asking for it anyway is refused with that name."""
    problem = replace(_crossing_day(overtime_weight=3), clinicians=(nurse("n"), nurse("m")))
    options = problem.options
    if "options_preference" in change:
        options = replace(options, preference_penalty=change.pop("options_preference"))
    if "options_balance" in change:
        options = replace(options, balance_weight=change.pop("options_balance"))
    problem = replace(problem, options=options, **change)
    assert reason in (sisr.unsupported(problem) or "")
    with pytest.raises(ValueError, match=reason):
        solve(problem, SolverParams(strategy="sisr"))


def test_a_plain_day_with_overtime_at_no_cost_is_its_own() -> None:
    """Overtime that costs nothing is just a later shift end, which it models."""
    problem = replace(_crossing_day(overtime_weight=0),
                      clinicians=(nurse("n", max_overtime=H), nurse("m")))
    assert sisr.unsupported(problem) is None


def test_an_unknown_strategy_is_refused_by_name() -> None:
    """A misspelt strategy is an error naming it, not a silent fall-back."""
    with pytest.raises(ValueError, match="strategy.*'hgs'"):
        SolverParams(strategy="hgs")


def _random_day(n: int = 40, k: int = 3, seed: int = 0) -> sisr.Day:
    """Visits on a 100 x 100 grid with one window each; clinicians ending at different places."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 100, size=(n + 2, 2))
    travel = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) * 10)
    travel = travel.astype(np.int64)
    ready = rng.integers(0, 8000, size=n)
    return sisr.Day(
        cost=travel, travel=travel, place=np.arange(2, n + 2), service=np.full(n, 100),
        ready=ready, due=ready + rng.integers(0, 3000, size=n),
        demand=rng.integers(1, 4, size=n), drop=np.full(n, 10**6),
        eligible=np.ones((n, k), dtype=bool), start_place=np.zeros(k, dtype=np.int64),
        end_place=np.arange(k, dtype=np.int64) % 2, shift_start=np.zeros(k, dtype=np.int64),
        shift_end=np.full(k, 12_000), capacity=np.full(k, 60), max_visits=np.full(k, 50))


def _on_time_from(day: sisr.Day, r: int, route: list[int], i: int, arrive: int) -> bool:
    """Arriving at stop ``i`` of ``route`` at ``arrive``: are it and the rest on time?"""
    t, prev = arrive, None
    for v in route[i:]:
        if prev is not None:
            t += day.travel[day.place[prev], day.place[v]]
        t = max(t, day.ready[v])
        if t > day.due[v]:
            return False
        t += day.service[v]
        prev = v
    end = day.end_place[r]
    last = day.place[route[-1]] if route[i:] else None
    return last is None or t + day.travel[last, end] <= day.shift_end[r]


def test_route_times_mean_what_insertion_relies_on() -> None:
    """Random orders: feasibility, departures, and latest arrivals (one second later breaks it)."""
    day = _random_day()
    search = sisr.Sisr(day, seed=1)
    k = len(day.start_place)
    plan = sisr._plan(len(day.place), k)
    rng = np.random.default_rng(2)
    feasible = 0
    for _ in range(300):
        r = int(rng.integers(k))
        route = [int(v) for v in sorted(
            rng.choice(len(day.place), size=int(rng.integers(1, 25)), replace=False),
            key=lambda v: day.ready[v] + rng.integers(0, 600))]
        plan[0][r, :len(route)] = route
        plan[1][r] = len(route)
        first = int(day.shift_start[r] + day.travel[day.start_place[r], day.place[route[0]]])
        ok = sisr._retime(search.arrays, plan, r)
        assert ok == _on_time_from(day, r, route, 0, first), route
        if not ok:
            continue
        feasible += 1
        dep, lat = plan[2][r], plan[3][r]
        t, prev = int(day.shift_start[r]), int(day.start_place[r])
        assert dep[0] == t
        for i, v in enumerate(route):
            t = max(t + day.travel[prev, day.place[v]], day.ready[v]) + day.service[v]
            prev = day.place[v]
            assert dep[i + 1] == t
            assert _on_time_from(day, r, route, i, lat[i])
            assert not _on_time_from(day, r, route, i, lat[i] + 1)
        assert lat[len(route)] == day.shift_end[r]
        assert plan[5][r] == sum(day.cost[a, b] for a, b in itertools.pairwise(
            [day.start_place[r], *day.place[route], day.end_place[r]]))
        assert plan[4][r] == day.demand[route].sum()
    assert 30 < feasible < 270, feasible  # both kinds of order were tried


def test_a_seed_and_a_step_count_give_the_same_routes() -> None:
    """With the steps as the limit the search is reproducible, and it keeps every visit once."""
    day = _random_day(seed=3)
    runs = [sisr.Sisr(day, seed=5).run([[], [], []], 1e9, steps=400) for _ in range(2)]
    assert runs[0] == runs[1]
    placed = [v for route in runs[0] for v in route]
    assert len(placed) == len(set(placed))


_SOLVE_IN_A_FRESH_PROCESS = """
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr)
from routing import SolverParams, check, problem_from_dict, solve
problem = problem_from_dict(json.load(open(sys.argv[1])))
solution = solve(problem, SolverParams())
assert check(problem, solution) == [], check(problem, solution)
"""


def test_compiling_the_search_is_not_part_of_its_time_limit(tmp_path: Path) -> None:
    """On a cold numba cache, a first solve compiles first and still searches for its time limit."""
    problem = tmp_path / "day.json"
    problem.write_text(json.dumps(problem_to_dict(_crossing_day(time_limit=0.5))))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}  # nothing compiled yet
    done = subprocess.run([sys.executable, "-c", _SOLVE_IN_A_FRESH_PROCESS, str(problem)],
                          capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    steps = re.search(r"SISR: (\d+) iterations", done.stderr)
    assert steps is not None, done.stderr
    # Charged to the limit, the ~15 s compile left the search no step at all.
    assert int(steps.group(1)) > 0, done.stderr
