"""The generated agency day (bench.hhday): deterministic for a seed, a valid problem, realistic."""

from __future__ import annotations

import geo
from bench.hhday import KIND, allocate, make_day, summary
from routing import check, problem_from_dict, problem_to_dict, solve_baseline
from routing.model import Precedence, Simultaneous


def test_same_seed_same_day(graph: geo.RoadGraph) -> None:
    """The same graph, sizes and seed give the same problem; another seed another one."""
    a = problem_to_dict(make_day(graph, visits=30, clinicians=6, seed=3).problem)
    b = problem_to_dict(make_day(graph, visits=30, clinicians=6, seed=3).problem)
    c = problem_to_dict(make_day(graph, visits=30, clinicians=6, seed=4).problem)
    assert a == b
    assert a != c


def test_day_is_a_valid_problem(graph: geo.RoadGraph) -> None:
    """The day passes the problem's validation, round-trips its JSON, and everyone can be served."""
    day = make_day(graph, visits=80, clinicians=14, seed=1)
    p = day.problem
    again = problem_from_dict(problem_to_dict(p))
    assert problem_to_dict(again) == problem_to_dict(p)
    assert len(p.visits) == 80 and len(p.clinicians) == 14
    for v in p.visits:
        eligible = [c.id for c in p.clinicians if p.can_serve(c, v)]
        assert eligible, v.id
        assert set(v.preferred_clinicians) <= set(eligible)
        for lo, hi in v.time_windows:
            assert 0 <= lo <= hi <= 24 * 3600
    kinds = {type(link) for link in p.links}
    assert kinds == {Simultaneous, Precedence}
    for link in p.links:
        patients = {p.visit(vid).patient_id for vid in link.visit_ids}
        assert len(patients) == 1  # both visits at the same patient


def test_planning_ratios(graph: geo.RoadGraph) -> None:
    """About six visits per clinician-day, service about two thirds of the shift, a mixed day."""
    day = make_day(graph, visits=80, clinicians=14, seed=1)
    s = summary(day)
    assert 5.0 <= s["visits_per_clinician"] <= 6.5
    assert 0.55 <= s["service_share_of_shift"] <= 0.78
    assert set(s["disciplines"]) == {"RN", "LPN", "PT", "OT", "ST", "aide"}
    assert {"start_of_care", "recertification", "routine_nursing", "wound_care", "infusion",
            "aide_visit"} <= set(s["kinds"])
    assert s["mandatory"] >= 1
    assert 0.6 <= s["existing_with_preferred"] <= 0.95
    assert all(k in KIND for k in day.kinds.values())


def test_usual_care_plan_passes_the_checker(graph: geo.RoadGraph) -> None:
    """The usual-care dispatcher's plan for a generated day has no violations."""
    p = make_day(graph, visits=40, clinicians=7, seed=2).problem
    assert check(p, solve_baseline(p)) == []


def test_allocate_is_exact() -> None:
    """Largest-remainder allocation sums to the total and follows the shares."""
    assert allocate(14, [0.36, 0.12, 0.22, 0.10, 0.04, 0.16]) == [5, 2, 3, 1, 1, 2]
    assert sum(allocate(1000, [1, 2, 3])) == 1000
    assert allocate(0, [1, 2]) == [0, 0]
