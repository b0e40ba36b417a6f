"""Cheapest insertion and the repair of routes found under looser break rules."""

from __future__ import annotations

from routing import Break, Simultaneous, construct
from routing.diagnose import screen
from routing.schedule import RouteTimer

from .days import H, day, nurse, visit


def test_repair_sheds_the_stop_that_blocks_a_break_and_reinserts_it_elsewhere() -> None:
    """A visit over a's fixed 12:00 lunch leaves a's route and lands on b, who has no break."""
    lunch = Break(12 * H, 12 * H, 1800)
    p = day([nurse("a", breaks=(lunch,)), nurse("b", start=3)],
            [visit("v1", 1, duration=3600, windows=((11 * H + 1800, 11 * H + 2700),)),
             visit("v2", 2, windows=((9 * H, 10 * H),))])
    timer = RouteTimer(p)
    candidates, _ = screen(p, timer)
    by_id = {v.id: v for v in p.visits}
    orders = {"a": [by_id["v2"], by_id["v1"]]}
    assert timer.time_route(p.clinician("a"), orders["a"]) is None
    plan = construct.repair(p, timer, candidates, orders, {})
    assert plan.where == {"v2": "a", "v1": "b"}


def test_repair_keeps_routes_that_already_time() -> None:
    """Routes that keep every rule come back as they went in."""
    p = day([nurse("a", breaks=(Break(12 * H, 13 * H, 1800),))],
            [visit(f"v{i}", i, duration=2 * H) for i in range(1, 4)])
    timer = RouteTimer(p)
    candidates, _ = screen(p, timer)
    order = list(reversed(p.visits))
    plan = construct.repair(p, timer, candidates, {"a": order}, {})
    assert [v.id for v in plan.orders["a"]] == ["v3", "v2", "v1"]
    # v3 08:03-10:03, v2 10:04-12:04, lunch from 12:04, then v1.
    assert plan.break_gaps() == {"a": [2]}
    assert [b.start for b in plan.timed["a"].breaks] == [12 * H + 240]


def test_keep_links_does_not_let_one_group_move_another() -> None:
    """Aligning a second two-person visit may not push the first one's partner off its start."""
    p = day([nurse("a"), nurse("b"), nurse("c", start=20)],
            [visit("x1", 1), visit("x2", 3), visit("z1", 2), visit("z2", 2)],
            links=(Simultaneous(("x1", "x2")), Simultaneous(("z1", "z2"))))
    timer = RouteTimer(p)
    by_id = {v.id: v for v in p.visits}
    plan = construct.Plan(p, timer)
    for cid, vids in {"a": ["x1"], "b": ["z1", "x2"], "c": ["z2"]}.items():
        order = [by_id[v] for v in vids]
        route = timer.time_route(p.clinician(cid), order)
        assert route is not None
        plan.commit(p.clinician(cid), order, route)
    construct.keep_links(plan, {})
    starts = {s.visit_id: s.start for r in plan.timed.values() for s in r.stops}
    assert starts["x1"] == starts["x2"]
    assert ("z1" in starts) == ("z2" in starts)
    if "z1" in starts:
        assert starts["z1"] == starts["z2"]
    assert plan.fixed_starts == {vid: starts[vid] for vid in plan.fixed_starts}


def test_eject_for_makes_room_for_a_mandatory_visit_and_moves_the_routine_one() -> None:
    """a holds a routine 10:00 visit; the mandatory 10:00 visit only a may serve takes its
    place, and the routine visit goes to b."""
    p = day([nurse("a", skills=("RN", "LPN")), nurse("b", skills=("LPN",), start=3)],
            [visit("routine", 1, duration=H, windows=((10 * H, 10 * H),),
                   skills=("LPN",), acuity=3),
             visit("must", 2, duration=H, windows=((10 * H, 10 * H + 600),), mandatory=True)])
    timer = RouteTimer(p)
    plan = construct.Plan(p, timer)
    a, routine, must = p.clinician("a"), p.visit("routine"), p.visit("must")
    plan.commit(a, [routine], timer.time_route(a, [routine]))
    assert not construct.best_insertions(plan, must)
    assert construct.eject_for(plan, must)
    assert plan.where == {"must": "a", "routine": "b"}


def test_eject_for_never_takes_out_a_visit_as_costly_to_leave_out() -> None:
    """Two mandatory visits at the same time for one nurse: the second is not served by
    taking out the first."""
    p = day([nurse("a")],
            [visit(v, i, duration=H, windows=((10 * H, 10 * H),), mandatory=True)
             for i, v in enumerate(("m1", "m2"), start=1)])
    timer = RouteTimer(p)
    plan = construct.Plan(p, timer)
    a, m1 = p.clinician("a"), p.visit("m1")
    plan.commit(a, [m1], timer.time_route(a, [m1]))
    assert not construct.eject_for(plan, p.visit("m2"))
    assert plan.where == {"m1": "a"}


def test_eject_for_takes_out_as_many_visits_as_room_needs() -> None:
    """a's 3 workload points are taken by two routine visits; the mandatory 3-point visit
    only a may serve takes both their places, and both move to b."""
    p = day([nurse("a", skills=("RN", "LPN"), max_workload_points=3),
             nurse("b", skills=("LPN",), start=3)],
            [visit("r1", 1, skills=("LPN",), workload_points=1),
             visit("r2", 2, skills=("LPN",), workload_points=2),
             visit("must", 3, mandatory=True, workload_points=3)])
    timer = RouteTimer(p)
    plan = construct.Plan(p, timer)
    a = p.clinician("a")
    order = [p.visit("r1"), p.visit("r2")]
    plan.commit(a, order, timer.time_route(a, order))
    assert not construct.best_insertions(plan, p.visit("must"))
    assert construct.eject_for(plan, p.visit("must"))
    assert plan.where == {"must": "a", "r1": "b", "r2": "b"}
