"""KPIs of the hand-checkable day (tests/routing/check_fixtures.py), computed by hand."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest

from routing.exceptions import InvalidProblem
from routing.kpis import KPI_KEYS, compute_kpis
from routing.model import (
    Clinician,
    Location,
    Matrix,
    Problem,
    Route,
    Solution,
    Stop,
    Unassigned,
    Visit,
)

from .check_fixtures import (
    DAY_KPIS,
    day_problem,
    day_solution,
    with_route,
    with_stop,
    with_visit,
    without_distances,
)

P, S = day_problem(), day_solution()
K = compute_kpis(P, S)


def test_hand_day_matches_hand_numbers() -> None:
    """Every KPI of the hand day equals the number worked out by hand."""
    assert K.keys() == DAY_KPIS.keys()
    for key, expected in DAY_KPIS.items():
        assert K[key] == pytest.approx(expected), key


def test_keys_in_documented_order() -> None:
    """The keys come out in KPI_KEYS order; distance is present when the matrix has it."""
    assert tuple(K) == KPI_KEYS


def test_json_serialisable() -> None:
    """The KPIs are plain JSON (no NaN, no infinities, string keys)."""
    assert json.loads(json.dumps(K, allow_nan=False)) == K


def test_counts() -> None:
    """Five visits are served and v-iv is not."""
    assert (K["visits_assigned"], K["visits_unassigned"], K["clinicians_used"]) == (5, 1, 2)


def test_travel_includes_leg_home_in_matrix_direction() -> None:
    """Travel sums every leg incl. the end leg, read from -> to (ana's 3 -> 0 is 1260 s)."""
    assert K["travel_time"] == (600 + 600 + 600 + 1260) + (900 + 600 + 600)
    assert K["distance"] == 10 * K["travel_time"]  # type: ignore[operator]


def test_distance_absent_without_distances() -> None:
    """The distance key is omitted when the matrix has no distances."""
    kpis = compute_kpis(*without_distances(P, S))
    assert "distance" not in kpis
    assert tuple(kpis) == tuple(k for k in KPI_KEYS if k != "distance")


def test_overtime_and_travel_share() -> None:
    """Overtime is ana's 660 s; travel share is travel over the summed route spans."""
    assert K["overtime"] == 40260 - 39600
    assert K["travel_share"] == pytest.approx(5160 / ((40260 - 30000) + (39300 - 33900)))


def test_waiting_and_service() -> None:
    """Waiting sums start - arrival (300 + 600 s); service sums visit durations."""
    assert K["waiting"] == 900
    assert K["service_time"] == 1800 + 1200 + 900 + 1800 + 900


def test_by_acuity_has_every_acuity() -> None:
    """Both per-acuity counts list acuities 1..5, zeros included."""
    assert K["assigned_by_acuity"] == {"1": 0, "2": 1, "3": 3, "4": 1, "5": 0}
    assert K["unassigned_by_acuity"] == {"1": 0, "2": 0, "3": 0, "4": 0, "5": 1}


def test_unassigned_mandatory() -> None:
    """A mandatory visit left unassigned is counted."""
    assert K["unassigned_mandatory"] == 0
    assert compute_kpis(with_visit(P, "v-iv", mandatory=True), S)["unassigned_mandatory"] == 1


def test_visits_per_clinician_ignores_unused_clinicians() -> None:
    """Stops per clinician are over clinicians with a route (rn-cy, unused, is left out)."""
    assert K["visits_per_clinician"] == {"mean": 2.5, "min": 2, "max": 3}


def test_time_to_visit_by_acuity() -> None:
    """Delay from the first window's opening (else the shift start) to start, by acuity."""
    # acuity 2: bath 34800 - ben's shift start 28800; acuity 3: assess 33300 - 28800
    # (earliest window, though listed second) and lift-a/b 37800 - 28800; 4: wound 0.
    assert K["time_to_visit_by_acuity"] == {"2": 6000.0, "3": 7500.0, "4": 0.0}


def test_workload() -> None:
    """Workload is service seconds per used clinician: ana 3900, ben 2700."""
    assert (K["workload_max_s"], K["workload_min_s"]) == (3900, 2700)
    assert K["workload_ratio"] == pytest.approx(3900 / 2700)


def test_continuity() -> None:
    """Two of the three served visits with preferences got a preferred clinician."""
    assert K["continuity"] == pytest.approx(2 / 3)


def test_continuity_null_without_preferences() -> None:
    """Continuity is null when no served visit has preferred clinicians."""
    problem = P
    for vid in ("v-wound", "v-bath", "v-lift-a"):
        problem = with_visit(problem, vid, preferred_clinicians=())
    assert compute_kpis(problem, S)["continuity"] is None


def test_route_fields_are_not_trusted() -> None:
    """Wrong route totals and stop travel/distance/wait fields do not change the KPIs."""
    lying = with_route(S, "rn-ana", travel_time=1, distance=2, overtime=3)
    lying = with_stop(lying, "aide-ben", 1, travel_time=4, distance=5, wait=6)
    assert compute_kpis(P, lying) == K


def test_no_routes() -> None:
    """With nothing routed, every visit is unassigned and the ratios take their neutral values."""
    nothing = Solution((), tuple(Unassigned(v.id, "capacity") for v in P.visits))
    kpis = compute_kpis(P, nothing)
    assert kpis["visits_assigned"] == 0 and kpis["visits_unassigned"] == 6
    assert kpis["travel_time"] == 0 and kpis["distance"] == 0
    assert kpis["travel_share"] == 0.0
    assert kpis["unassigned_mandatory"] == 1
    assert kpis["visits_per_clinician"] == {"mean": 0.0, "min": 0, "max": 0}
    assert kpis["time_to_visit_by_acuity"] == {}
    assert (kpis["workload_max_s"], kpis["workload_min_s"], kpis["workload_ratio"]) == (0, 0, 1.0)
    assert kpis["continuity"] is None and kpis["clinicians_used"] == 0


def test_one_route_ratio_is_one() -> None:
    """With a single used clinician the workload ratio is 1.0."""
    ana_only = replace(S, routes=S.routes[:1])
    kpis = compute_kpis(P, ana_only)
    assert kpis["workload_ratio"] == 1.0
    assert kpis["visits_unassigned"] == 3  # bath, lift-b, iv


def _two_clinician_day(durations: tuple[int, int]) -> tuple[Problem, Solution]:
    problem = Problem(
        locations=(Location(), Location()),
        matrix=Matrix(((0, 60), (60, 0))),
        clinicians=(Clinician("a", 0, 0, 3600), Clinician("b", 0, 0, 3600)),
        visits=(Visit("x", 1, durations[0]), Visit("y", 1, durations[1])),
    )
    routes = tuple(
        Route(cid, 0, 120 + d, (Stop(vid, 60, 60, 60 + d, 60, None, 0),), (), 120, None, 0)
        for cid, vid, d in (("a", "x", durations[0]), ("b", "y", durations[1]))
    )
    return problem, Solution(routes, ())


def test_workload_ratio_zero_service() -> None:
    """The ratio is null when one used clinician has 0 s of service and another more."""
    assert compute_kpis(*_two_clinician_day((0, 600)))["workload_ratio"] is None
    assert compute_kpis(*_two_clinician_day((0, 0)))["workload_ratio"] == 1.0
    kpis = compute_kpis(*_two_clinician_day((300, 600)))
    assert math.isclose(kpis["workload_ratio"], 2.0)  # type: ignore[arg-type]


def test_unknown_ids_are_ignored() -> None:
    """Stops of unknown visits and routes of unknown clinicians do not raise or count."""
    ghost = Stop("v-ghost", 1, 1, 1, 1, 1, 0)
    broken = with_stop(S, "aide-ben", 0, visit_id="v-ghost")
    broken = replace(
        broken, routes=broken.routes + (Route("nobody", 0, 10, (ghost,), (), 0, 0, 0),)
    )
    kpis = compute_kpis(P, broken)
    assert kpis["visits_assigned"] == 4 and kpis["clinicians_used"] == 2


def test_missing_matrix_raises() -> None:
    """A problem without its matrix raises InvalidProblem."""
    with pytest.raises(InvalidProblem, match="matrix"):
        compute_kpis(replace(P, matrix=None), S)
