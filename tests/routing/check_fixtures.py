"""A six-visit day small enough to check by hand, and helpers to break copies of it.

Locations: 0 office, 1..4 patients. Travel seconds (distances are 10 m per
second of travel; note 3 -> 0 is 1260 s but 0 -> 3 is 1200 s)::

          0     1     2     3     4
    0 [   0,  600,  900, 1200,  900]
    1 [ 600,    0,  600,  900, 1200]
    2 [ 900,  600,    0,  600,  900]
    3 [1260,  900,  600,    0,  600]
    4 [ 900, 1200,  900,  600,    0]

Clinicians:

- ``rn-ana`` (RN, wound_care) office -> office, shift 08:00-11:00 (28800-39600)
  + 1800 s overtime, max 3 visits / 4 workload points, a 900 s break starting
  10:00-11:00 (36000-39600), 300 s buffer after each visit.
- ``aide-ben`` (aide) office -> location 4, shift 08:00-12:00 (28800-43200).
- ``rn-cy`` (RN), unused; a 1800 s break from 12:00 (43200-46800).

Visits: ``v-wound`` (loc 1, 1800 s, window 30600-32400, RN+wound_care,
acuity 4, 2 points, prefers ana), ``v-assess`` (loc 2, 1200 s, windows
32400-36000 and 28800-30000, RN, acuity 3, mandatory, excludes ben),
``v-bath`` (loc 2, 1800 s, aide, acuity 2, prefers ben), ``v-lift-a`` and
``v-lift-b`` (loc 3, 900 s, acuity 3, simultaneous; a prefers ben, b is
pinned to ben), ``v-iv`` (loc 4, 2700 s, IV: nobody has it, acuity 5).
Links: lift-a/lift-b simultaneous; bath 900..7200 s after assess starts.

The plan (``day_solution``)::

    rn-ana   leave 30000, 0->1 600 s, arrive/start 30600 v-wound, end 32400,
             ready 32700; 1->2 600 s, arrive/start 33300 v-assess, end 34500,
             ready 34800; break 36000-36900; 2->3 600 s 36900-37500, wait
             300 s, start 37800 v-lift-a, end 38700, ready 39000; 3->0 1260 s,
             home 40260 (660 s overtime). travel 3060 s, 30600 m.
    aide-ben leave 33900, 0->2 900 s, arrive/start 34800 v-bath, end 36600;
             2->3 600 s, arrive 37200, wait 600 s, start 37800 v-lift-b, end
             38700; 3->4 600 s, reach 4 at 39300. travel 2100 s, 21000 m.
    v-iv     unassigned: no_clinician_with_skills.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

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

DURATIONS = (
    (0, 600, 900, 1200, 900),
    (600, 0, 600, 900, 1200),
    (900, 600, 0, 600, 900),
    (1260, 900, 600, 0, 600),
    (900, 1200, 900, 600, 0),
)
DISTANCES = tuple(tuple(10 * s for s in row) for row in DURATIONS)

#: The KPIs of ``day_solution``, computed by hand (see the module docstring).
DAY_KPIS: dict[str, object] = {
    "visits_assigned": 5,
    "visits_unassigned": 1,
    "travel_time": 3060 + 2100,
    "distance": 30600 + 21000,
    "overtime": 40260 - 39600,
    # spans: ana 40260 - 30000 = 10260, ben 39300 - 33900 = 5400
    "travel_share": 5160 / 15660,
    "waiting": 300 + 600,
    "service_time": (1800 + 1200 + 900) + (1800 + 900),
    "assigned_by_acuity": {"1": 0, "2": 1, "3": 3, "4": 1, "5": 0},
    "unassigned_by_acuity": {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1},
    "unassigned_mandatory": 0,
    "visits_per_clinician": {"mean": 2.5, "min": 2, "max": 3},
    # wound 30600-30600 = 0; assess 33300-28800 (first window opens) = 4500;
    # bath 34800-28800 (ben's shift start) = 6000; lift-a/b 37800-28800 = 9000
    "time_to_visit_by_acuity": {"2": 6000.0, "3": (4500 + 9000 + 9000) / 3, "4": 0.0},
    "workload_max_s": 3900,
    "workload_min_s": 2700,
    "workload_ratio": 3900 / 2700,
    # wound by ana (kept), bath by ben (kept), lift-a prefers ben, got ana
    "continuity": 2 / 3,
    "clinicians_used": 2,
}


def day_problem() -> Problem:
    """The hand-checkable day described in the module docstring."""
    clinicians = (
        Clinician(
            id="rn-ana",
            skills=frozenset({"RN", "wound_care"}),
            start_location=0,
            shift_start=28800,
            shift_end=39600,
            max_overtime=1800,
            max_visits=3,
            max_workload_points=4,
            breaks=(Break(36000, 39600, 900),),
            buffer_after_visit=300,
        ),
        Clinician(
            id="aide-ben",
            skills=frozenset({"aide"}),
            start_location=0,
            end_location=4,
            shift_start=28800,
            shift_end=43200,
        ),
        Clinician(
            id="rn-cy",
            skills=frozenset({"RN"}),
            start_location=0,
            shift_start=28800,
            shift_end=57600,
            breaks=(Break(43200, 46800, 1800),),
        ),
    )
    visits = (
        Visit(
            id="v-wound",
            location=1,
            duration=1800,
            time_windows=((30600, 32400),),
            required_skills=frozenset({"RN", "wound_care"}),
            acuity=4,
            workload_points=2,
            preferred_clinicians=("rn-ana",),
        ),
        Visit(
            id="v-assess",
            location=2,
            duration=1200,
            time_windows=((32400, 36000), (28800, 30000)),
            required_skills=frozenset({"RN"}),
            acuity=3,
            mandatory=True,
            excluded_clinicians=("aide-ben",),
        ),
        Visit(
            id="v-bath",
            location=2,
            duration=1800,
            required_skills=frozenset({"aide"}),
            acuity=2,
            preferred_clinicians=("aide-ben",),
        ),
        Visit(
            id="v-lift-a", location=3, duration=900, acuity=3, preferred_clinicians=("aide-ben",)
        ),
        Visit(id="v-lift-b", location=3, duration=900, acuity=3, pinned_clinician="aide-ben"),
        Visit(id="v-iv", location=4, duration=2700, required_skills=frozenset({"IV"}), acuity=5),
    )
    return Problem(
        locations=tuple(Location() for _ in range(5)),
        matrix=Matrix(DURATIONS, DISTANCES),
        clinicians=clinicians,
        visits=visits,
        links=(
            Simultaneous(("v-lift-a", "v-lift-b")),
            Precedence("v-assess", "v-bath", min_gap=900, max_gap=7200),
        ),
    )


def day_solution() -> Solution:
    """The feasible hand-written plan for :func:`day_problem` (no KPIs attached)."""
    ana = Route(
        clinician_id="rn-ana",
        start_time=30000,
        end_time=40260,
        stops=(
            Stop(
                "v-wound",
                arrival=30600,
                start=30600,
                end=32400,
                travel_time=600,
                distance=6000,
                wait=0,
            ),
            Stop(
                "v-assess",
                arrival=33300,
                start=33300,
                end=34500,
                travel_time=600,
                distance=6000,
                wait=0,
            ),
            Stop(
                "v-lift-a",
                arrival=37500,
                start=37800,
                end=38700,
                travel_time=600,
                distance=6000,
                wait=300,
            ),
        ),
        breaks=(BreakTaken(36000, 900),),
        travel_time=3060,
        distance=30600,
        overtime=660,
    )
    ben = Route(
        clinician_id="aide-ben",
        start_time=33900,
        end_time=39300,
        stops=(
            Stop(
                "v-bath",
                arrival=34800,
                start=34800,
                end=36600,
                travel_time=900,
                distance=9000,
                wait=0,
            ),
            Stop(
                "v-lift-b",
                arrival=37200,
                start=37800,
                end=38700,
                travel_time=600,
                distance=6000,
                wait=600,
            ),
        ),
        breaks=(),
        travel_time=2100,
        distance=21000,
        overtime=0,
    )
    return Solution(
        routes=(ana, ben),
        unassigned=(Unassigned("v-iv", "no_clinician_with_skills", "needs IV; nobody has it"),),
    )


# -- helpers that return broken copies ------------------------------------------------


def with_visit(problem: Problem, visit_id: str, /, **changes: Any) -> Problem:
    """``problem`` with visit ``visit_id`` replaced by a copy with ``changes``."""
    visits = tuple(replace(v, **changes) if v.id == visit_id else v for v in problem.visits)
    return replace(problem, visits=visits)


def with_clinician(problem: Problem, clinician_id: str, /, **changes: Any) -> Problem:
    """``problem`` with clinician ``clinician_id`` replaced by a copy with ``changes``."""
    clinicians = tuple(
        replace(c, **changes) if c.id == clinician_id else c for c in problem.clinicians
    )
    return replace(problem, clinicians=clinicians)


def with_route(solution: Solution, clinician_id: str, /, **changes: Any) -> Solution:
    """``solution`` with the route of ``clinician_id`` replaced by a copy with ``changes``."""
    routes = tuple(
        replace(r, **changes) if r.clinician_id == clinician_id else r for r in solution.routes
    )
    return replace(solution, routes=routes)


def with_stop(solution: Solution, clinician_id: str, index: int, /, **changes: Any) -> Solution:
    """``solution`` with stop ``index`` of ``clinician_id``'s route changed by ``changes``."""
    route = next(r for r in solution.routes if r.clinician_id == clinician_id)
    stops = list(route.stops)
    stops[index] = replace(stops[index], **changes)
    return with_route(solution, clinician_id, stops=tuple(stops))


def without_distances(problem: Problem, solution: Solution) -> tuple[Problem, Solution]:
    """The day with no distances in the matrix, and the plan with every distance null."""
    bare = replace(problem, matrix=Matrix(DURATIONS, None))
    routes = tuple(
        replace(r, distance=None, stops=tuple(replace(s, distance=None) for s in r.stops))
        for r in solution.routes
    )
    return bare, replace(solution, routes=routes)
