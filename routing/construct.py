"""A cheapest-insertion first solution, the optimiser's guaranteed starting point.

OR-Tools' own first-solution strategies can fail outright on tight windows
(measured: PATH_CHEAPEST_ARC + GLS finds nothing for Solomon R101 in 10 s) or
on linked visits. This builds a feasible plan in Python instead: the most
costly-to-drop visits first, each at its cheapest feasible position among the
nearest eligible clinicians, linked visits placed as a group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .diagnose import eligible_clinicians, linked_groups
from .model import Clinician, Precedence, Problem, Route, Simultaneous, Visit
from .schedule import RouteTimer

#: Clinicians tried per visit, nearest first (keeps insertion near-linear in visits).
NEAREST_CLINICIANS = 12
#: Idle clinicians tried per visit, nearest first.
NEAREST_IDLE = 3
#: Options :func:`eject_for` tries to re-place the visits it takes out of a route.
EJECT_TRIES = 40
#: Most visits :func:`eject_for` takes out of one route.
EJECT_MAX = 3


@dataclass
class Plan:
    """Mutable working plan: visit order per clinician and the timed routes."""

    problem: Problem
    timer: RouteTimer
    orders: dict[str, list[Visit]] = field(default_factory=dict)
    timed: dict[str, Route] = field(default_factory=dict)
    fixed_starts: dict[str, int] = field(default_factory=dict)
    where: dict[str, str] = field(default_factory=dict)  # visit id -> clinician id

    def order(self, clinician_id: str) -> list[Visit]:
        return self.orders.get(clinician_id, [])

    def travel(self, clinician_id: str) -> int:
        route = self.timed.get(clinician_id)
        return route.travel_time if route is not None else 0

    def break_gaps(self) -> dict[str, list[int]]:
        """Per clinician, the gap each break of its timed route is taken in."""
        return {cid: [sum(1 for s in route.stops if s.start < b.start) for b in route.breaks]
                for cid, route in self.timed.items()
                if len(route.breaks) == len(self.problem.clinician(cid).breaks)}

    def commit(self, clinician: Clinician, order: list[Visit], route: Route) -> None:
        self.orders[clinician.id] = order
        self.timed[clinician.id] = route
        for v in order:
            self.where[v.id] = clinician.id


@dataclass(frozen=True)
class _Option:
    cost: float
    clinician: Clinician
    order: list[Visit]
    route: Route

    def start_of(self, visit_id: str) -> int:
        return next(s.start for s in self.route.stops if s.visit_id == visit_id)


def insertion_cost(problem: Problem, plan: Plan, option_route: Route, clinician: Clinician,
                   visit: Visit) -> float:
    """Added objective of serving ``visit`` as in ``option_route``: travel, overtime, preference."""
    opts = problem.options
    old = plan.timed.get(clinician.id)
    d_travel = option_route.travel_time - (old.travel_time if old else 0)
    d_over = option_route.overtime - (old.overtime if old else 0)
    cost = opts.travel_weight * d_travel + opts.overtime_weight * d_over
    if opts.distance_weight and option_route.distance is not None:
        cost += opts.distance_weight * (option_route.distance - (old.distance or 0 if old else 0))
    if visit.preferred_clinicians and clinician.id not in visit.preferred_clinicians:
        cost += opts.preference_penalty
    return cost


def best_insertions(
    plan: Plan,
    visit: Visit,
    *,
    clinicians: Sequence[Clinician] | None = None,
    fixed: Mapping[str, int] | None = None,
    limit: int = 1,
) -> list[_Option]:
    """The ``limit`` cheapest feasible insertions of ``visit`` into the plan."""
    problem, timer = plan.problem, plan.timer
    pool = list(clinicians) if clinicians is not None else eligible_clinicians(problem, visit)
    # The nearest clinicians already out on the road, and the nearest idle ones
    # (else a plan with many identical idle clinicians never opens a new route).
    busy = [c for c in pool if plan.order(c.id)]
    idle = [c for c in pool if not plan.order(c.id)]
    pool = (_nearest(plan, visit, busy)[:NEAREST_CLINICIANS]
            + _nearest(plan, visit, idle)[:NEAREST_IDLE])
    fixed_all = dict(plan.fixed_starts)
    if fixed:
        fixed_all.update(fixed)
    options: list[_Option] = []
    for clinician in pool:
        order = plan.order(clinician.id)
        best: _Option | None = None
        for pos in range(len(order) + 1):
            trial = order[:pos] + [visit] + order[pos:]
            route = timer.time_route(clinician, trial, fixed_starts=fixed_all)
            if route is None:
                continue
            cost = insertion_cost(problem, plan, route, clinician, visit)
            if best is None or cost < best.cost:
                best = _Option(cost, clinician, trial, route)
        if best is not None:
            options.append(best)
    options.sort(key=lambda o: o.cost)
    return options[:limit]


def _nearest(plan: Plan, visit: Visit, pool: list[Clinician]) -> list[Clinician]:
    d = plan.timer.durations

    def closeness(c: Clinician) -> int:
        locs = [c.start_location] + [v.location for v in plan.order(c.id)]
        return min(d[loc][visit.location] for loc in locs)

    return sorted(pool, key=closeness)


def build(problem: Problem, timer: RouteTimer, candidates: Sequence[Visit],
          plan: Plan | None = None) -> Plan:
    """Insert ``candidates`` (most costly to drop first) into ``plan`` (default: empty).

    Visits that fit nowhere are simply not inserted; the caller decides why.
    """
    plan = plan or Plan(problem, timer)
    by_id = {v.id: v for v in candidates}
    groups = [g for g in linked_groups(problem) if all(vid in by_id for vid in g)]
    grouped = {vid for g in groups for vid in g}
    units: list[list[Visit]] = [[by_id[vid] for vid in g] for g in groups]
    units += [[v] for v in candidates if v.id not in grouped]

    def priority(unit: list[Visit]) -> tuple[int, int]:
        drop = sum(problem.options.drop_cost(v) for v in unit)
        close = min((v.windows[-1][1] if v.windows else 10**9) for v in unit)
        return (-drop, close)

    for unit in sorted(units, key=priority):
        if any(v.id in plan.where for v in unit):
            continue
        if len(unit) == 1:
            options = best_insertions(plan, unit[0])
            if options:
                o = options[0]
                plan.commit(o.clinician, o.order, o.route)
        else:
            _insert_group(plan, unit)
    return plan


def eject_for(plan: Plan, visit: Visit) -> bool:
    """Serve ``visit``, which fits nowhere, by taking other visits out of a route.

    For each of the nearest eligible clinicians, unlinked visits leave their
    route, the one cheapest to leave out first, until ``visit`` fits (at most
    :data:`EJECT_MAX` of them). The visits taken out then go to their
    cheapest places elsewhere. Options are tried by the drop cost of what
    they take out, then added travel; the first whose visits all find a place
    is committed. Failing that, the first that only leaves out visits cheaper
    to leave out than ``visit`` is committed. A visit as costly to leave out
    as ``visit`` is only ever moved, never left out.

    Returns
    -------
    bool
        False when no option exists (the plan is unchanged).
    """
    problem = plan.problem
    drop = problem.options.drop_cost
    linked = {vid for g in linked_groups(problem) for vid in g}
    pool = _nearest(plan, visit, [c for c in eligible_clinicians(problem, visit)
                                  if plan.order(c.id)])[:NEAREST_CLINICIANS]
    options = []
    for clinician in pool:
        option = _make_room(plan, clinician, visit, linked)
        if option is not None:
            trial, route, out = option
            key = (sum(drop(v) for v in out), route.travel_time - plan.travel(clinician.id))
            options.append((key, clinician, trial, route, out))
    options.sort(key=lambda o: o[0])
    for _, clinician, trial, route, out in options[:EJECT_TRIES]:
        saved = (dict(plan.orders), dict(plan.timed), dict(plan.where))
        if _swap_in(plan, clinician, trial, route, out) == len(out):
            return True
        plan.orders, plan.timed, plan.where = saved  # undo
    for _, clinician, trial, route, out in options:
        if all(drop(v) < drop(visit) for v in out):
            _swap_in(plan, clinician, trial, route, out)
            return True
    return False


def _swap_in(plan: Plan, clinician: Clinician, order: list[Visit], route: Route,
             out: list[Visit]) -> int:
    """Commit ``clinician``'s new route and re-place ``out`` elsewhere; how many found a place."""
    for v in out:
        del plan.where[v.id]
    plan.commit(clinician, order, route)
    placed = 0
    for v in sorted(out, key=plan.problem.options.drop_cost, reverse=True):
        moved = best_insertions(plan, v)
        if moved:
            plan.commit(moved[0].clinician, moved[0].order, moved[0].route)
            placed += 1
    return placed


def _make_room(plan: Plan, clinician: Clinician, visit: Visit,
               linked: set[str]) -> tuple[list[Visit], Route, list[Visit]] | None:
    """``clinician``'s route with ``visit`` in it after taking out the fewest, cheapest visits.

    Returns (new order, its timed route, the visits taken out), or None.
    """
    drop = plan.problem.options.drop_cost
    kept = list(plan.order(clinician.id))
    out: list[Visit] = []
    for _ in range(EJECT_MAX):
        # With ``out`` taken out, try ``visit`` as it is, then with one more out.
        removable = [v for v in kept if v.id not in linked]
        best: tuple[tuple[int, int], list[Visit], Route, Visit | None] | None = None
        for gone in [None, *removable]:
            rest = [v for v in kept if v is not gone]
            for pos in range(len(rest) + 1):
                trial = rest[:pos] + [visit] + rest[pos:]
                route = plan.timer.time_route(clinician, trial, fixed_starts=plan.fixed_starts)
                if route is None:
                    continue
                key = (0 if gone is None else drop(gone), route.travel_time)
                if best is None or key < best[0]:
                    best = (key, trial, route, gone)
            if best is not None and gone is None:
                break  # fits without taking out another visit
        if best is not None:
            _, trial, route, gone = best
            return trial, route, out + ([] if gone is None else [gone])
        if not removable:
            return None
        cheapest = min(removable, key=drop)
        kept.remove(cheapest)
        out.append(cheapest)
    return None


def repair(problem: Problem, timer: RouteTimer, candidates: Sequence[Visit],
           orders: Mapping[str, Sequence[Visit]], fixed: Mapping[str, int],
           break_gaps: Mapping[str, Sequence[int]] | None = None) -> Plan:
    """Make visit orders found under looser rules keep every rule; re-insert what falls out.

    A route that no longer times (the optimiser ignored where breaks go, say)
    sheds, one at a time, the stop whose removal costs least (its drop cost
    plus the route's travel) until it times; linked visits whose partner was
    shed follow it; then every candidate not on a route is offered to
    :func:`build`, so a shed visit can still land on another clinician.

    Parameters
    ----------
    orders
        Clinician id -> visits in driving order.
    fixed
        Service starts (s) that linked visits should keep.
    break_gaps
        Per clinician, the gap each break was planned in (tried when our own
        placement fails).
    """
    plan = Plan(problem, timer)
    opts = problem.options
    for cid, visits in orders.items():
        clinician = problem.clinician(cid)
        order = list(visits)
        # Our own break placement first (it takes no break the day does not reach).
        route = timer.time_route(clinician, order, fixed_starts=fixed)
        gaps = (break_gaps or {}).get(cid)
        if route is None and gaps is not None:
            route = timer.time_route(clinician, order, fixed_starts=fixed, break_gaps=gaps)
        while order and route is None:
            best: tuple[float, list[Visit], Route | None] | None = None
            for i, shed in enumerate(order):
                trial = order[:i] + order[i + 1:]
                timed = timer.time_route(clinician, trial, fixed_starts=fixed)
                loss = opts.drop_cost(shed) + (timed.travel_time if timed else 10**12)
                if best is None or loss < best[0]:
                    best = (loss, trial, timed)
            assert best is not None
            _, order, route = best
        if order and route is not None:
            plan.commit(clinician, order, route)
    keep_links(plan, fixed)
    return build(problem, timer, candidates, plan)


def keep_links(plan: Plan, fixed: Mapping[str, int]) -> None:
    """Keep linked visits together or not at all, and pin the starts of those kept.

    A linked group leaves the plan when a member is not on a route or the
    routes' starts break one of its links; the starts of the groups that stay
    become ``plan.fixed_starts``. Routes are re-timed with ``fixed`` (the
    starts linked visits should keep) as they lose stops.
    """
    problem = plan.problem
    pins = dict(fixed)
    changed = True
    while changed:
        # Another pass after a group leaves: taking it out re-times routes.
        changed = False
        for group in linked_groups(problem):
            inside = [vid for vid in group if vid in plan.where]
            if not inside or (len(inside) == len(group) and _align(plan, group, pins)):
                continue
            for vid in inside:
                pins.pop(vid, None)
                _take_out(plan, vid, pins)
            changed = True
    for group in linked_groups(problem):
        if all(vid in plan.where for vid in group):
            for vid in group:
                plan.fixed_starts[vid] = _start(plan, vid)


def _start(plan: Plan, visit_id: str) -> int:
    route = plan.timed[plan.where[visit_id]]
    return next(s.start for s in route.stops if s.visit_id == visit_id)


#: Rounds of moving linked starts towards each other before a group is given up.
ALIGN_ROUNDS = 4


def _align(plan: Plan, group: list[str], pins: dict[str, int]) -> bool:
    """Make the group's links hold by delaying starts (waiting at the door); False if not.

    Routes timed one by one start a two-person visit whenever each clinician
    gets there; the earlier one waits for the later (a precedence's second
    visit for its gap, or its first visit for the max gap). ``pins`` holds
    the starts fixed so far and gains the ones set here.
    """
    problem, timer = plan.problem, plan.timer
    ids = set(group)
    links = [lk for lk in problem.links if set(lk.visit_ids) <= ids]
    for _ in range(ALIGN_ROUNDS):
        if _links_hold(plan, group):
            # Pin every member, so aligning another group cannot move this one.
            pins.update({vid: _start(plan, vid) for vid in group})
            return True
        want: dict[str, int] = {}
        for link in links:
            if isinstance(link, Simultaneous):
                latest = max(_start(plan, vid) for vid in link.visit_ids)
                want.update({vid: latest for vid in link.visit_ids
                             if _start(plan, vid) != latest})
            else:
                a, b = _start(plan, link.first), _start(plan, link.then)
                if b - a < link.min_gap:
                    want[link.then] = a + link.min_gap
                elif link.max_gap is not None and b - a > link.max_gap:
                    want[link.first] = b - link.max_gap
        if not want:
            return False
        pins.update(want)
        pins.update({vid: _start(plan, vid) for vid in group if vid not in want})
        for cid in {plan.where[vid] for vid in want}:
            clinician = problem.clinician(cid)
            route = timer.time_route(clinician, plan.orders[cid], fixed_starts=pins)
            if route is None:
                return False
            plan.commit(clinician, plan.orders[cid], route)
    if _links_hold(plan, group):
        pins.update({vid: _start(plan, vid) for vid in group})
        return True
    return False


def _links_hold(plan: Plan, group: list[str]) -> bool:
    ids = set(group)
    for link in plan.problem.links:
        if not set(link.visit_ids) <= ids:
            continue
        if isinstance(link, Simultaneous):
            who = [plan.where[vid] for vid in link.visit_ids]
            if len({_start(plan, vid) for vid in link.visit_ids}) != 1 or len(set(who)) < len(who):
                return False
        elif not _link_holds(link, _start(plan, link.first), _start(plan, link.then)):
            return False
    return True


def _take_out(plan: Plan, visit_id: str, fixed: Mapping[str, int]) -> None:
    """Remove one visit from its route; a route that no longer times is emptied."""
    cid = plan.where.pop(visit_id, None)
    if cid is None:
        return
    clinician = plan.problem.clinician(cid)
    order = [v for v in plan.orders[cid] if v.id != visit_id]
    route = plan.timer.time_route(clinician, order, fixed_starts=fixed) if order else None
    if route is None:
        for v in order:
            plan.where.pop(v.id, None)
        plan.orders.pop(cid, None)
        plan.timed.pop(cid, None)
    else:
        plan.commit(clinician, order, route)


def _insert_group(plan: Plan, unit: list[Visit]) -> None:
    """Insert a linked group of two visits (simultaneous or precedence) or skip it."""
    problem = plan.problem
    ids = {v.id for v in unit}
    links = [lk for lk in problem.links if set(lk.visit_ids) <= ids]
    if len(unit) != 2 or len(links) != 1:
        return  # larger linked groups are left to the optimiser
    link = links[0]
    if isinstance(link, Simultaneous):
        first, second = unit
    else:
        assert isinstance(link, Precedence)
        first, second = problem.visit(link.first), problem.visit(link.then)
    for a in best_insertions(plan, first, limit=4):
        start_a = a.start_of(first.id)
        others = [c for c in eligible_clinicians(problem, second)
                  if not (isinstance(link, Simultaneous) and c.id == a.clinician.id)]
        targets = _second_starts(link, second, start_a)
        shadow = Plan(problem, plan.timer, dict(plan.orders), dict(plan.timed),
                      dict(plan.fixed_starts), dict(plan.where))
        shadow.fixed_starts[first.id] = start_a
        shadow.commit(a.clinician, a.order, a.route)
        for target in targets:
            fixed = {second.id: target} if target is not None else {}
            for b in best_insertions(shadow, second, clinicians=others, fixed=fixed):
                start_b = b.start_of(second.id)
                if not _link_holds(link, start_a, start_b):
                    continue
                plan.fixed_starts[first.id] = start_a
                plan.fixed_starts[second.id] = start_b
                plan.commit(a.clinician, a.order, a.route)
                plan.commit(b.clinician, b.order, b.route)
                return


def _second_starts(link: Simultaneous | Precedence, second: Visit,
                   start_a: int) -> list[int | None]:
    if isinstance(link, Simultaneous):
        return [start_a]
    return [None, start_a + link.min_gap]


def _link_holds(link: Simultaneous | Precedence, start_a: int, start_b: int) -> bool:
    if isinstance(link, Simultaneous):
        return start_a == start_b
    gap = start_b - start_a
    return gap >= link.min_gap and (link.max_gap is None or gap <= link.max_gap)
