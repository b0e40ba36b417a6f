"""The re-optimisation benchmark (bench.reoptimise): seeded disruptions, history, the measures."""

from __future__ import annotations

from collections import Counter

import pytest

import geo
from bench.hhday import make_day
from bench.reoptimise import (
    Day,
    Event,
    apply_event,
    make_disruptions,
    promise_shifts,
    routes_changed,
    run_day,
)
from routing import Route, Solution, SolverParams, Stop, solve
from tests.routing.days import H, day, nurse, visit


def _route(cid: str, *stops: tuple[str, int, int]) -> Route:
    """A route whose stops are (visit id, start, end); travel and waiting do not matter here."""
    return Route(cid, 8 * H, 17 * H,
                 tuple(Stop(vid, start, start, end, 0, None, 0) for vid, start, end in stops),
                 (), 0, None, 0)


def test_disruptions_are_deterministic_for_a_seed() -> None:
    """The same seed gives the same events; another seed others; 08:30-16:00, the stated mix."""
    a = make_disruptions(20, seed=1, n_places=5000)
    assert a == make_disruptions(20, seed=1, n_places=5000)
    assert a != make_disruptions(20, seed=2, n_places=5000)
    times = [e.at for e in a]
    assert times == sorted(times) and len(set(times)) == 20
    assert 8 * H + 1800 <= times[0] and times[-1] <= 16 * H
    assert Counter(e.type for e in a) == {"clinician_unavailable": 4, "visit_added": 5,
                                          "visit_cancelled": 5, "clinician_delayed": 6}
    for e in a:
        assert 0 <= e.pick < 1
        if e.type == "clinician_delayed":
            assert 20 <= e.minutes <= 60
        if e.type == "visit_added":
            assert 0 <= e.place < 5000 and e.acuity in (4, 5) and e.skill in ("RN", "LPN")


def test_routes_changed_compares_remaining_sequences() -> None:
    """Reordered or gained visits change a route; locked ones and cancelled ones do not count."""
    before = Solution((
        _route("same", ("v1", 9 * H, 10 * H), ("v2", 11 * H, 12 * H), ("v3", 13 * H, 14 * H)),
        _route("swapped", ("v4", 11 * H, 12 * H), ("v5", 13 * H, 14 * H)),
        _route("lost-cancelled", ("v6", 11 * H, 12 * H), ("gone", 13 * H, 14 * H)),
        _route("locked-moved", ("v8", 9 * H, 10 * H), ("v9", 11 * H, 12 * H)),
    ), ())
    after = Solution((
        # same order, other times: not a change of sequence
        _route("same", ("v1", 9 * H, 10 * H), ("v2", 11 * H + 600, 12 * H + 600),
               ("v3", 13 * H, 14 * H)),
        _route("swapped", ("v5", 11 * H, 12 * H), ("v4", 13 * H, 14 * H)),
        _route("lost-cancelled", ("v6", 11 * H, 12 * H)),
        _route("locked-moved", ("v9", 11 * H, 12 * H)),
        _route("gained", ("v7", 11 * H, 12 * H)),
    ), ())
    visits = {"v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9"}  # "gone" was cancelled
    judged = ["same", "swapped", "lost-cancelled", "locked-moved", "gained", "idle"]
    changed = routes_changed(before, after, judged, locked={"v1", "v8"}, visits=visits)
    assert changed == ["gained", "swapped"]


def test_promise_shifts_count_moves_beyond_the_tolerance() -> None:
    """Moves of 10 and 20 minutes, one promised visit dropped, one locked visit ignored."""
    before = Solution((
        _route("a", ("locked", 9 * H, 10 * H), ("ten", 11 * H, 12 * H)),
        _route("b", ("twenty", 11 * H, 12 * H), ("dropped", 13 * H, 14 * H)),
    ), ())
    after = Solution((
        _route("a", ("locked", 9 * H + 3600, 10 * H + 3600), ("ten", 11 * H + 600, 12 * H)),
        _route("c", ("twenty", 11 * H + 1200, 12 * H + 1200)),
    ), ())
    shifts = promise_shifts(before, after, locked={"locked"},
                            visits={"locked", "ten", "twenty", "dropped"}, tolerance_s=900)
    assert shifts == {"promised": 3, "shifted": 1, "mean_min": 15.0, "max_min": 20.0,
                      "unassigned": 1}


def test_history_by_now_as_the_job_reads_it() -> None:
    """At 10:00 a 30-minute delay: ended stops complete, one under way started, late ones not."""
    p = day([nurse("late"), nurse("ok", start=5)],
            [visit(f"v{i}", 1 + i) for i in range(6)])
    plan = Solution((
        _route("late", ("v0", 8 * H, 9 * H), ("v1", 9 * H + 2400, 9 * H + 3000),
               ("v2", 11 * H, 12 * H)),
        _route("ok", ("v3", 8 * H, 9 * H), ("v4", 9 * H + 1800, 10 * H + 600),
               ("v5", 11 * H, 12 * H)),
    ), ())
    d = Day(p, plan, completed={}, unavailable={}, delays=[])
    applied = apply_event(d, Event(at=10 * H, type="clinician_delayed", pick=0.0, minutes=30),
                          graph=None)
    assert applied.named == {"late"}  # "late" sorts first among busy clinicians
    s = applied.state
    assert s.delayed == {"late": 1800}
    assert s.completed == {"v0": (8 * H, 9 * H), "v3": (8 * H, 9 * H)}
    assert s.started == {"v4": 9 * H + 1800}
    assert s.not_started == {"v1"}  # planned 09:40, inside the 30 late minutes


def test_cancellation_takes_the_visit_out_and_names_its_clinician() -> None:
    """A cancelled visit leaves the problem and the previous plan; its clinician is named."""
    p = day([nurse("a"), nurse("b", start=5)], [visit(f"v{i}", 1 + i) for i in range(4)])
    plan = solve(p, SolverParams(time_limit=0.5))
    d = Day(p, plan, completed={}, unavailable={}, delays=[])
    applied = apply_event(d, Event(at=7 * H, type="visit_cancelled", pick=0.0), graph=None)
    vid = applied.event["visit_id"]
    assert vid == "v0" and vid not in {v.id for v in applied.problem.visits}
    assert all(s.visit_id != vid for r in applied.previous.routes for s in r.stops)
    owner = next(r.clinician_id for r in plan.routes for s in r.stops if s.visit_id == vid)
    assert applied.named == {owner}


def test_a_small_day_end_to_end(graph: geo.RoadGraph) -> None:
    """40 visits, 3 events at 1 s: every event measured, the shares and counts consistent."""
    problem = make_day(graph, visits=40, clinicians=7, seed=2).problem
    result = run_day(problem, graph, events=3, seed=3, time_limit=1.0, plan_time_limit=1.0,
                     say=lambda *a, **k: None)
    assert [r["event"] for r in result["events"]] == [1, 2, 3]
    assert [d["type"] for d in result["disruptions"]] == [
        e.type for e in make_disruptions(3, 3, len(graph.node_lat))]
    for row in result["events"]:
        for side in ("replan", "scratch"):
            m = row[side]
            assert m["untouched_changed"] == len(m["changed"]) <= m["untouched"]
            assert m["changed_share"] == pytest.approx(
                m["untouched_changed"] / m["untouched"] if m["untouched"] else 0.0, abs=1e-4)
            assert m["violations"] == len(m["violations_list"]) or m["violations"] > 10
            assert m["latency_s"] > 0 and m["travel_s"] >= 0
        # the remaining day is the same for both: as many visits to place
        assert (row["replan"]["served"] + row["replan"]["unassigned"]
                == row["scratch"]["served"] + row["scratch"]["unassigned"])
    s = result["summary"]
    assert s["replan"]["latency_p50_s"] <= s["replan"]["latency_p95_s"]
    assert [t["target"][:7] for t in s["targets"]] == [
        "latency", "<= 10% ", "travel ", "every r", "what-if"]
    # the added visit is asked about before its re-plan, and only it
    asked = [r for r in result["events"] if "what_if" in r]
    assert [r["type"] for r in asked] == ["visit_added"]
    w = asked[0]["what_if"]
    assert w["seconds"] == pytest.approx(w["place_s"] + w["insert_s"], abs=2e-3)
    assert (w["best"] is None) == (w["options"] == 0)
    if w["best"] is not None:
        assert w["best"]["start"] >= asked[0]["at"]
    assert s["what_if"]["asked"] == 1 and s["what_if"]["answered"] == (w["options"] > 0)
