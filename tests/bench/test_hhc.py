"""The HHC benchmark adapter (bench.hhc): instances in, CareRoute plans out, authors' validator."""

from __future__ import annotations

import importlib.util
import json

import pytest

from bench.hhc import (
    earliest_starts,
    from_hhc_solution,
    hhc_cost,
    hhc_dir,
    instance_paths,
    read_instance,
    select,
    solve_instance,
    to_hhc_solution,
    to_problem,
    validate,
)
from routing import check
from routing.model import Precedence, Simultaneous


@pytest.fixture(scope="module")
def root():
    path = hhc_dir()
    if not (path / "toy" / "toy.json").is_file():
        pytest.skip(f"needs the shared HHC instances in {path} (set CAREROUTE_SHARED_DATA)")
    return path


def _validator_ready(root) -> None:
    missing = [m for m in ("click", "pandas", "pyparsing", "numpy", "scipy")
               if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"the authors' validator needs {', '.join(missing)} (pip install them)")


def test_toy_adapts(root) -> None:
    """Each required service is a visit; simultaneous and sequential pairs become links."""
    inst = read_instance(root / "toy" / "toy.json")
    adapted = to_problem(inst)
    p = adapted.problem
    assert len(p.visits) == 9
    assert sorted(type(link).__name__ for link in p.links) == [
        "Precedence", "Precedence", "Simultaneous"]
    seq = next(link for link in p.links if isinstance(link, Precedence)
               and link.first.startswith("p5"))
    assert (seq.first, seq.then, seq.min_gap, seq.max_gap) == ("p5:s1", "p5:s3", 300, 450)
    assert any(isinstance(link, Simultaneous) for link in p.links)
    assert p.visit("p1:s2").required_skills == {"s2"}
    assert p.visit("p1:s2").time_windows == ((2400, 3600),)


def test_authors_optimum_round_trips(root) -> None:
    """The authors' optimal toy plan passes our checker and converts back at the same cost."""
    inst = read_instance(root / "toy" / "toy.json")
    adapted = to_problem(inst)
    best = json.loads((root / "toy" / "sol_toy_optimal.json").read_text())
    ours = from_hhc_solution(inst, adapted, best)
    assert check(adapted.problem, ours) == []
    back = to_hhc_solution(inst, adapted, ours)
    assert hhc_cost(inst, back)["total_cost"] == pytest.approx(334 / 3)
    assert hhc_cost(inst, back) == pytest.approx(hhc_cost(inst, best))


def test_earliest_starts_only_move_earlier(root) -> None:
    """Re-timing keeps the order and never starts a service later than the plan it was given."""
    inst = read_instance(root / "toy" / "toy.json")
    best = json.loads((root / "toy" / "sol_toy_optimal.json").read_text())
    orders = {r["caregiver_id"]: [(s["patient_id"], s["service_id"]) for s in r["locations"]]
              for r in best["routes"]}
    given = {(s["patient_id"], s["service_id"]): float(s["arrival_time"])
             for r in best["routes"] for s in r["locations"]}
    starts = earliest_starts(inst, orders, given)
    assert starts.keys() == given.keys()
    assert all(starts[k] <= given[k] + 1e-9 for k in given)


def test_validator_accepts_our_plan(root) -> None:
    """A plan CareRoute makes for the toy passes the authors' validator, at the cost we compute."""
    _validator_ready(root)
    inst = read_instance(root / "toy" / "toy.json")
    adapted, solution, hhc, attempts = solve_instance(inst, 0.5, lateness=(0,))
    assert check(adapted.problem, solution) == []
    assert not solution.unassigned and attempts[0]["left_out"] == 0
    verdict = validate(root / "toy" / "toy.json", hhc)
    assert verdict["valid"], verdict.get("error")
    assert verdict["cost"]["total_cost"] == pytest.approx(hhc_cost(inst, hhc)["total_cost"])
    assert verdict["cost"]["total_cost"] >= 334 / 3 - 1e-6  # never below the optimum


def test_mankowska_instance_adapts(root) -> None:
    """A 10-patient Mankowska instance: one visit per service, a link per double patient."""
    paths = instance_paths(root)
    name = "InstanzCPLEX_HCSRP_10_1"
    if name not in paths:
        pytest.skip(f"{name} is not in {root}")
    inst = read_instance(paths[name])
    adapted = to_problem(inst)
    p = adapted.problem
    needs = sum(len(x["required_caregivers"]) for x in inst["patients"])
    doubles = sum(1 for x in inst["patients"] if len(x["required_caregivers"]) == 2)
    assert len(p.visits) == needs and len(p.links) == doubles
    assert p.require_matrix().size == len(inst["patients"]) + 1
    # travel times are rounded up, distances to the nearest tenth
    d = inst["distances"][0][1]
    assert p.require_matrix().durations[0][1] >= 10 * d
    assert abs(p.require_matrix().distances[0][1] - 10 * d) <= 0.5


def test_selection() -> None:
    """Instances are picked by set and size, or by name prefix, plus named extras."""
    names = ["InstanzCPLEX_HCSRP_10_1", "InstanzCPLEX_HCSRP_50_1",
             "instance_025-cesena-r18-p45-s5-sim18.9-seq12.6"]
    assert select(names, which="mankowska", max_patients=25, only=[], extra=[]) == names[:1]
    assert select(names, which="all", max_patients=50, only=[], extra=[]) == names
    assert select(names, which="mankowska", max_patients=10, only=[],
                  extra=[names[2]]) == [names[0], names[2]]
    assert select(names, which="all", max_patients=0, only=["InstanzCPLEX_HCSRP_5"],
                  extra=[]) == [names[1]]
