"""The home-health VRPTW as an OR-Tools routing model: ``solve(problem, params)``.

This is the only module that imports ``ortools`` (its Python API moves between
releases; it is written against the 9.15 wheel's ``pywrapcp``).

The model, one rule at a time:

* nodes: one per candidate visit, plus a start and an end node per clinician;
* time dimension: transit i->j = service(i) + buffer_after_visit + travel(i, j),
  waiting allowed; a visit's cumul is its service start, restricted to the
  union of its time windows; each clinician's start cumul >= shift start and
  end cumul <= shift end + max_overtime, with overtime past shift end costed
  by a soft upper bound (``overtime_weight`` per second);
* breaks: by default each break is a stop of its own clinician's route with
  the break's window and length, taken where the clinician is (no drive in;
  the drive out counted as the shortest possible leg into the next stop, a
  lower bound), after which :func:`construct.repair` re-times every route
  under the exact break rules, sheds what no longer fits and re-inserts it.
  ``SolverParams(break_nodes=False)`` uses OR-Tools' break intervals instead
  (exact, but measured on a 300-visit day they left the search stuck at its
  start: 13 visits out against 1-3 with break stops). A revised plan (guided
  local search from its previous routes) uses the intervals by default: the
  stops' lower bound undercounted a re-planned day's travel by a fifth, and
  much of what the search found then re-timed worse than its start;
* skills, exclusions and pins: the visit's allowed-vehicle set;
* ``max_visits`` and ``max_workload_points``: capacity dimensions;
* preferred clinicians: a per-clinician cost dimension whose soft upper
  bound of 0 costs ``preference_penalty`` per visit served by someone else;
  when revising a plan, a second such dimension costs
  ``Disruption.move_penalty`` per visit moved off its previous clinician;
* promised starts (revising a plan): soft bounds around each previous start,
  ``shift_penalty_per_s`` per second beyond ``shift_tolerance_s``;
* workload balance: a load dimension (service minutes, acuity 4-5 counted
  1.5x so high-acuity caseloads are spread too) whose global span cost
  ``balance_weight`` minimises the heaviest clinician's load, and a service
  dimension (minutes of care) with soft bounds at 90 % and 110 % of each
  clinician's fair share (:func:`fair_shares`: the most even split of the
  day's care among the clinicians eligible for each visit), so nobody is
  left nearly idle or carries far more than the rest of their discipline;
* unassigned visits: a disjunction per visit with penalty
  ``drop_penalty * acuity**2`` (mandatory: ``mandatory_penalty``), so the
  model is always feasible and acute visits are never traded for travel;
* links: when both visits are active, simultaneous visits start at the same
  second on different clinicians and precedence gaps hold; "together or not
  at all" is enforced afterwards, so a dropped partner never makes the whole
  model infeasible.

A fresh plan whose rules :mod:`routing.sisr` models in full (no breaks,
links, balance, ...) is searched by that module's ruin and recreate, which
makes several hundred times as many steps a second as OR-Tools'; any other
fresh plan by OR-Tools' iterated local search (ruin and recreate; on days
above :data:`PIN_LINKS_FROM_VISITS` visits, linked visits keep the
clinicians and starts of the Python start plan); a plan being revised
by guided local search from its previous routes. Either way a Python
cheapest-insertion plan (:mod:`routing.construct`) is built first and the
result is never worse than it: the final routes are re-timed by
:mod:`routing.schedule` and the cheaper of start and result wins.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from . import construct, sisr
from .assemble import assemble
from .diagnose import linked_groups, screen
from .kpis import compute_kpis
from .model import Problem, Route, Simultaneous, Solution, Unassigned, Visit
from .schedule import RouteTimer

log = logging.getLogger(__name__)

#: Progress callback: (seconds elapsed, best objective so far).
Progress = Callable[[float, int], None]


@dataclass(frozen=True)
class Disruption:
    """Costs of changing what clinicians and patients were told (re-optimisation).

    Attributes
    ----------
    previous
        Visit id -> (clinician id, promised service start s) in the plan being revised.
    move_penalty
        Cost of serving a previously planned visit by another clinician.
    shift_tolerance_s
        A promised start may move this many seconds either way for free.
    shift_penalty_per_s
        Cost per second that a start moves beyond the tolerance.
    """

    previous: Mapping[str, tuple[str, int]]
    move_penalty: int = 1800
    shift_tolerance_s: int = 900
    shift_penalty_per_s: int = 1

    def assignment_cost(self, visit_id: str, clinician_id: str) -> int:
        before = self.previous.get(visit_id)
        return self.move_penalty if before is not None and before[0] != clinician_id else 0

    def shift_cost(self, visit_id: str, start: int) -> int:
        before = self.previous.get(visit_id)
        if before is None:
            return 0
        late = abs(start - before[1]) - self.shift_tolerance_s
        return self.shift_penalty_per_s * late if late > 0 else 0


@dataclass(frozen=True)
class SolverParams:
    """How to search; the objective weights live in ``problem.options``.

    Attributes
    ----------
    time_limit
        Seconds of search; None uses ``problem.options.time_limit``.
    initial_routes
        Warm start: clinician id -> visit ids in order (a previous plan).
        Visits that no longer exist or fit are skipped.
    progress
        Called with (elapsed s, objective) at each improving solution.
    strategy
        ``auto``, ``sisr``, ``ils`` or ``gls``. ``auto`` plans a fresh day
        by our own ruin and recreate (:mod:`routing.sisr`, ``sisr``) when the
        day has none of the rules it leaves out (breaks, links, ...: see
        :func:`routing.sisr.unsupported`), else by OR-Tools' iterated local
        search (``ils``), and revises a plan from its warm start by OR-Tools'
        guided local search (``gls``).
    disruption
        When revising a plan: what moving visits and promised times costs.
    gls_lambda
        Guided local search's lambda coefficient (None: OR-Tools' default).
    break_nodes
        Model breaks as stops of their clinician's route, repaired afterwards
        (True), or as OR-Tools break intervals (False); see the module
        docstring. Default: stops for iterated local search (a fresh plan),
        intervals for guided local search from given routes (a revised plan).
    """

    time_limit: float | None = None
    initial_routes: Mapping[str, Sequence[str]] | None = None
    progress: Progress | None = None
    strategy: str = "auto"
    disruption: Disruption | None = None
    gls_lambda: float | None = None
    break_nodes: bool | None = None

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, "
                             f"got {self.strategy!r}")


#: What :attr:`SolverParams.strategy` may name.
STRATEGIES = ("auto", "sisr", "ils", "gls")


def load_minutes(visit: Visit) -> int:
    """Workload of a visit for balancing: service minutes, acuity 4-5 counted 1.5x."""
    factor = 3 if visit.acuity >= 4 else 2
    return (visit.duration * factor + 60) // 120


def service_minutes(visit: Visit) -> int:
    """Hours of care a visit gives its clinician, in whole minutes (the fair-share measure)."""
    return (visit.duration + 30) // 60


#: A clinician's load may lie between these shares of their fair workload for free; each
#: minute outside costs ``balance_weight``.
FAIR_SHARE_FLOOR = 0.9
FAIR_SHARE_CEILING = 1.1
#: Sweeps over the visits when levelling fair shares, and the change (minutes) that ends them.
FAIR_SHARE_SWEEPS = 60
FAIR_SHARE_SETTLED = 0.5


def fair_shares(problem: Problem, visits: Sequence[Visit] | None = None) -> dict[str, int]:
    """Each clinician's fair workload (minutes of service, :func:`service_minutes`).

    The most even split of every visit's load among the clinicians eligible for
    it: the split whose loads have the least sum of squares, which is also the
    one that makes the lightest load as heavy as it can be, then the next, and
    so on. Found by levelling one visit at a time (its load is poured into its
    eligible clinicians, lightest first, until they are level) in sweeps until
    nothing moves. An RN who may also do LPN visits therefore counts on the
    share of them that keeps RNs and LPNs level, not on an equal split.
    """
    pool = problem.visits if visits is None else visits
    eligible: list[tuple[float, list[str]]] = []
    for v in pool:
        cids = [c.id for c in problem.clinicians if problem.can_serve(c, v)]
        if cids:
            eligible.append((float(service_minutes(v)), cids))
    shares = {c.id: 0.0 for c in problem.clinicians}
    given: list[dict[str, float]] = []
    for load, cids in eligible:
        part = {cid: load / len(cids) for cid in cids}
        given.append(part)
        for cid, x in part.items():
            shares[cid] += x
    for _ in range(FAIR_SHARE_SWEEPS):
        moved = 0.0
        for (load, cids), part in zip(eligible, given, strict=True):
            if len(cids) == 1:
                continue
            for cid, x in part.items():
                shares[cid] -= x
            new = _level(load, {cid: shares[cid] for cid in cids})
            for cid in cids:
                moved = max(moved, abs(new.get(cid, 0.0) - part.get(cid, 0.0)))
                shares[cid] += new.get(cid, 0.0)
            part.clear()
            part.update(new)
        if moved < FAIR_SHARE_SETTLED:
            break
    return {cid: round(share) for cid, share in shares.items()}


def fair_bands(problem: Problem) -> dict[str, tuple[int, int]]:
    """Clinician id -> minutes of care they may give at no balance cost (near a fair share)."""
    return {cid: (int(FAIR_SHARE_FLOOR * share), int(FAIR_SHARE_CEILING * share) + 1)
            for cid, share in fair_shares(problem).items()}


def _level(load: float, base: Mapping[str, float]) -> dict[str, float]:
    """Pour ``load`` into the lightest of ``base`` until they are level (water-filling)."""
    ordered = sorted(base.items(), key=lambda item: item[1])
    total = 0.0
    height = ordered[0][1] + load
    for k, (_cid, level) in enumerate(ordered):
        total += level
        height = (total + load) / (k + 1)
        if k + 1 == len(ordered) or height <= ordered[k + 1][1]:
            break
    return {cid: height - level for cid, level in ordered if level < height}


def objective(problem: Problem, solution: Solution,
              disruption: Disruption | None = None) -> int:
    """The objective of ``solution`` under ``problem.options`` (see :class:`Options`)."""
    o = problem.options
    total = 0
    loads: dict[str, int] = {}
    service: dict[str, int] = {}
    for r in solution.routes:
        total += o.travel_weight * r.travel_time + o.overtime_weight * r.overtime
        if o.distance_weight and r.distance is not None:
            total += o.distance_weight * r.distance
        load = 0
        for s in r.stops:
            v = problem.visit(s.visit_id)
            load += load_minutes(v)
            if v.preferred_clinicians and r.clinician_id not in v.preferred_clinicians:
                total += o.preference_penalty
            if disruption is not None:
                total += disruption.assignment_cost(v.id, r.clinician_id)
                total += disruption.shift_cost(v.id, s.start)
        loads[r.clinician_id] = load
        service[r.clinician_id] = sum(service_minutes(problem.visit(s.visit_id)) for s in r.stops)
    if len(problem.clinicians) > 1 and o.balance_weight:
        if loads:
            total += o.balance_weight * max(loads.values())
        for cid, (low, high) in fair_bands(problem).items():
            minutes = service.get(cid, 0)
            total += o.balance_weight * (max(0, low - minutes) + max(0, minutes - high))
    for u in solution.unassigned:
        total += o.drop_cost(problem.visit(u.visit_id))
    return total


def solve(problem: Problem, params: SolverParams | None = None) -> Solution:
    """Plan the day: routes for the clinicians, every other visit unassigned with a reason.

    Parameters
    ----------
    problem
        The day (with a matrix).
    params
        Search settings; defaults to :class:`SolverParams()`.

    Returns
    -------
    Solution
        Feasible by construction (the checker in :mod:`routing.check` agrees),
        with KPIs.
    """
    params = params or SolverParams()
    started = time.monotonic()
    time_limit = params.time_limit if params.time_limit is not None else (
        problem.options.time_limit)
    timer = RouteTimer(problem)
    candidates, screened = screen(problem, timer)

    start_plan = _warm_start(problem, timer, candidates, params.initial_routes,
                             params.disruption)
    start = _serve_left_out(
        problem, timer, candidates, screened,
        assemble(problem, timer, start_plan.orders, start_plan.fixed_starts, screened),
        params.disruption)
    best = start
    remaining = time_limit - (time.monotonic() - started)
    if candidates and remaining > 0.05:
        found: Found | None
        strategy = resolve_strategy(problem, params)
        if strategy == "sisr":
            found = _sisr(problem, candidates, start_plan, remaining, params.progress)
        else:
            found = _search(problem, timer, candidates, start_plan, remaining, params,
                            strategy)
        if found is not None:
            orders, fixed, gaps = found
            # Left-out visits are served before the result is judged: else one
            # mandatory visit shed by the break repair makes the whole search's
            # work lose to the start (measured: the 300-visit day at 5-120 s).
            result = _serve_left_out(problem, timer, candidates, screened,
                                      assemble(problem, timer, orders, fixed, screened, gaps),
                                      params.disruption)
            d = params.disruption
            if objective(problem, result, d) <= objective(problem, start, d):
                best = result
            else:
                log.info("OR-Tools result worse than its start; keeping the start")
    return Solution(best.routes, best.unassigned, compute_kpis(problem, best))


def _serve_left_out(problem: Problem, timer: RouteTimer, candidates: Sequence[Visit],
                    screened: Sequence[Unassigned], solution: Solution,
                    disruption: Disruption | None) -> Solution:
    """``solution`` with left-out visits served where they fit or a cheaper visit makes room.

    A search stopped by its time limit can leave out visits that fit, or that
    fit once a visit cheaper to leave out moves or goes (measured: a mandatory
    visit out on the 300-visit day after the break repair; re-plans at 3 s
    leaving one or two more visits out than re-solving from scratch). Visits
    go in most costly to leave out first: at their cheapest insertion when it
    costs less than leaving them out, else (mandatory, or acuity above 1) by
    :func:`construct.eject_for`; a linked group wholly left out goes in as a
    group (:func:`construct.build`). The result is kept only if its objective
    is lower; failing that, serving only the mandatory visits (and groups
    holding one) is tried.
    """
    allowed = {v.id for v in candidates}
    out = {u.visit_id for u in solution.unassigned} & allowed
    linked = {vid for g in linked_groups(problem) for vid in g}
    drop = problem.options.drop_cost
    # A group of linked visits goes in together (construct.build), and only
    # when all of it is out.
    groups = [[problem.visit(vid) for vid in g] for g in linked_groups(problem)
              if set(g) <= out]
    left = sorted((problem.visit(vid) for vid in out if vid not in linked),
                  key=drop, reverse=True)
    mandatory = [v for v in left if v.mandatory] + [
        v for g in groups if any(v.mandatory for v in g) for v in g]
    left += [v for g in groups for v in g]
    attempts = [left] + ([mandatory] if mandatory and len(mandatory) < len(left) else [])
    cost = None
    for visits in attempts:
        tried = _serve(problem, timer, screened, solution, visits)
        if tried is None:
            continue
        if cost is None:
            cost = objective(problem, solution, disruption)
        if objective(problem, tried, disruption) < cost:
            return tried
    return solution


def _serve(problem: Problem, timer: RouteTimer, screened: Sequence[Unassigned],
           solution: Solution, visits: Sequence[Visit]) -> Solution | None:
    """``solution`` with as many of ``visits`` served as fit (None: none did).

    Linked visits in ``visits`` go in as their groups, after the others.
    """
    if not visits:
        return None
    plan = construct.Plan(problem, timer)
    linked = {vid for g in linked_groups(problem) for vid in g}
    for r in solution.routes:
        plan.commit(problem.clinician(r.clinician_id),
                    [problem.visit(s.visit_id) for s in r.stops], r)
        plan.fixed_starts.update({s.visit_id: s.start for s in r.stops if s.visit_id in linked})
    drop = problem.options.drop_cost
    changed = False
    for v in visits:
        if v.id in linked:
            continue
        options = construct.best_insertions(plan, v)
        if options and options[0].cost < drop(v):
            o = options[0]
            plan.commit(o.clinician, o.order, o.route)
            changed = True
        elif v.mandatory or v.acuity > 1:
            # Making room for an acuity-1 visit could only leave out another.
            changed |= construct.eject_for(plan, v)
    grouped = [v for v in visits if v.id in linked]
    if grouped:
        construct.build(problem, timer, grouped, plan)
        changed |= any(v.id in plan.where for v in grouped)
    if not changed:
        return None
    return assemble(problem, timer, plan.orders, plan.fixed_starts, screened, plan.break_gaps())


#: What a search found: routes, service starts of linked visits, the gap each break goes in.
Found = tuple[dict[str, list[Visit]], dict[str, int], dict[str, list[int]]]


def _warm_start(problem: Problem, timer: RouteTimer, candidates: Sequence[Visit],
                initial: Mapping[str, Sequence[str]] | None,
                disruption: Disruption | None = None) -> construct.Plan:
    """The start plan: ``initial`` routes where they still time, then cheapest insertion.

    Linked visits keep their previous starts where ``disruption`` knows them;
    a linked group that cannot stay together leaves the routes and is
    inserted again as a group.
    """
    plan = construct.Plan(problem, timer)
    previous = disruption.previous if disruption is not None else {}
    fixed = {vid: previous[vid][1] for group in linked_groups(problem) for vid in group
             if vid in previous}
    if initial:
        allowed = {v.id for v in candidates}
        for cid, vids in initial.items():
            try:
                clinician = problem.clinician(cid)
            except KeyError:
                continue
            order = [problem.visit(v) for v in vids
                     if v in allowed and problem.can_serve(clinician, problem.visit(v))]
            # Promised linked starts may no longer hold (a delay): then time freely
            # and let keep_links take out the groups whose links break.
            route = (timer.time_route(clinician, order, fixed_starts=fixed)
                     or timer.time_route(clinician, order))
            while order and route is None:
                order.pop()
                route = timer.time_route(clinician, order)
            if order and route is not None:
                plan.commit(clinician, order, route)
        construct.keep_links(plan, {})
    return construct.build(problem, timer, candidates, plan)


def resolve_strategy(problem: Problem, params: SolverParams) -> str:
    """The search ``params.strategy`` names; ``auto`` resolved (see :class:`SolverParams`).

    Raises
    ------
    ValueError
        ``sisr`` asked for a day with a rule it does not model.
    """
    if params.strategy == "sisr":
        reason = sisr.unsupported(problem)
        if reason is not None:
            raise ValueError(f"strategy 'sisr' cannot plan this day: it has {reason}")
    if params.strategy != "auto":
        return params.strategy
    if params.initial_routes:
        return "gls"
    if params.disruption is None and sisr.unsupported(problem) is None:
        return "sisr"
    return "ils"


def _sisr(problem: Problem, candidates: Sequence[Visit], start: construct.Plan,
          time_limit: float, progress: Progress | None) -> Found:
    """Our own ruin and recreate (:mod:`routing.sisr`) from the start plan."""
    orders = sisr.search(problem, candidates, start.orders, time_limit,
                         seed=problem.options.seed, progress=progress)
    return orders, {}, {}


def _search(
    problem: Problem,
    timer: RouteTimer,
    candidates: Sequence[Visit],
    start: construct.Plan,
    time_limit: float,
    params: SolverParams,
    strategy: str,
) -> Found | None:
    """Run OR-Tools (``strategy`` ``ils`` or ``gls``); the routes, linked starts and break gaps.

    None when it found nothing. A fresh plan uses iterated local search (ruin
    and recreate, SISR, with simulated-annealing acceptance): measured on the hardest Solomon
    instances it roughly halves guided local search's gap at 10 s. It cannot
    start from given routes, so a warm start (a plan being revised) runs guided
    local search from those routes instead, as does a fresh plan whose
    first solution OR-Tools cannot build.
    """
    began = time.monotonic()
    nodes = params.break_nodes
    if nodes is None:
        # Break stops price the drive out of a break by a lower bound, which
        # undercounts a plan's travel (a fifth of it on a re-planned 300-visit
        # day: 79,672 s against 100,282 s), so guided local search from a warm
        # start kept "improving" plans that re-timed worse and lost to their
        # start (25 of 60 re-plans of bench.reoptimise). Exact break intervals
        # serve it better there; iterated local search keeps the stops, with
        # which it searches (see the module docstring).
        nodes = strategy == "ils" and any(c.breaks for c in problem.clinicians)

    def result(model: _Model, assignment: pywrapcp.Assignment) -> Found:
        orders, fixed, gaps = model.extract(assignment)
        if not nodes:
            return orders, fixed, gaps
        plan = construct.repair(problem, timer, candidates, orders, fixed, gaps)
        return plan.orders, plan.fixed_starts, plan.break_gaps()

    if strategy == "ils":
        # Linked visits kept as CP constraints slow its own first solution down and
        # can make it leave a mandatory visit out, which ruin-and-recreate rarely
        # mends (measured on generated days: fine at 80 and 160 visits, a
        # mandatory visit out at 300). On large days linked visits therefore keep
        # the clinicians and starts of the start plan.
        pinned = {}
        if len(candidates) > PIN_LINKS_FROM_VISITS:
            pinned = {vid: (start.where[vid], start.fixed_starts[vid])
                      for group in linked_groups(problem) for vid in group
                      if vid in start.where and vid in start.fixed_starts}
        model = _Model(problem, timer, candidates, params.disruption, break_nodes=nodes,
                       pinned_links=pinned)
        search = _search_parameters(time_limit, params, ils=True)
        _report_progress(model, params, began)
        assignment = model.routing.SolveWithIteratedLocalSearch(search)
        if assignment is not None:
            return result(model, assignment)
        log.info("iterated local search found no first solution; guided local search instead")
        if time_limit - (time.monotonic() - began) <= 0.05:
            return None
    model = _Model(problem, timer, candidates, params.disruption, break_nodes=nodes)
    search = _search_parameters(time_limit - (time.monotonic() - began), params, ils=False)
    _report_progress(model, params, began)
    initial = model.read_routes(start.orders, search, start.timed)
    # Building the model and reading the routes count against the time limit too.
    left = time_limit - (time.monotonic() - began)
    if left <= 0.05:
        return None
    search.time_limit.FromMilliseconds(max(1, int(left * 1000)))
    if initial is not None:
        assignment = model.routing.SolveFromAssignmentWithParameters(initial, search)
    else:
        log.info("warm start rejected by the OR-Tools model; using its own first solution")
        assignment = model.routing.SolveWithParameters(search)
    if assignment is None:
        return None
    return result(model, assignment)


#: Above this many visits, linked visits are pinned for iterated local search (see _search).
PIN_LINKS_FROM_VISITS = 200

#: Iterated local search settings (tuned on C104, R104, R110, R201, RC105, RC201 at 8 s).
ILS_AVG_REMOVED_VISITS = 15
ILS_MAX_REMOVED_SEQUENCE = 10
ILS_INITIAL_TEMPERATURE = 300.0
ILS_FINAL_TEMPERATURE = 1.0
#: How ruined routes are rebuilt. Cheapest insertion by cost (LOCAL_CHEAPEST_COST_INSERTION)
#: against OR-Tools' default (by arc, LOCAL_CHEAPEST_INSERTION), measured at 10 s, two runs
#: side by side: Solomon R1 1.85 against 2.26 % gap, RC1 2.90 against 3.49 %; generated
#: 300-visit days (seeds 1-4) 177.6k/190.9k/208.4k/214.6k against 189.3k/191.7k/208.6k/215.1k.
#: Simulated annealing's automatic temperatures helped Solomon too but came out worse on
#: two home-health days (194k/202k against 169k/192k; one run each, and runs of one day
#: vary by 10 %), so the temperatures stay fixed until measured on more days.
ILS_RECREATE = routing_enums_pb2.FirstSolutionStrategy.LOCAL_CHEAPEST_COST_INSERTION


def _search_parameters(time_limit: float, params: SolverParams, *, ils: bool) -> Any:
    enums = routing_enums_pb2
    search = pywrapcp.DefaultRoutingSearchParameters()
    search.time_limit.FromMilliseconds(max(1, int(time_limit * 1000)))
    search.first_solution_strategy = enums.FirstSolutionStrategy.LOCAL_CHEAPEST_INSERTION
    if params.gls_lambda is not None:
        search.guided_local_search_lambda_coefficient = params.gls_lambda
    if not ils:
        search.local_search_metaheuristic = enums.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
        return search
    search.local_search_metaheuristic = enums.LocalSearchMetaheuristic.GREEDY_DESCENT
    search.use_iterated_local_search = True
    ils_params = search.iterated_local_search_parameters
    sisr = ils_params.ruin_recreate_parameters.ruin_strategies.add().sisr
    sisr.avg_num_removed_visits = ILS_AVG_REMOVED_VISITS
    sisr.max_removed_sequence_size = ILS_MAX_REMOVED_SEQUENCE
    sisr.bypass_factor = 0.01
    annealing = ils_params.reference_solution_acceptance_strategy.simulated_annealing
    annealing.initial_temperature = ILS_INITIAL_TEMPERATURE
    annealing.final_temperature = ILS_FINAL_TEMPERATURE
    ils_params.ruin_recreate_parameters.recreate_strategy.heuristic = ILS_RECREATE
    return search


def _report_progress(model: _Model, params: SolverParams, began: float) -> None:
    if params.progress is None:
        return
    progress, routing = params.progress, model.routing

    def report() -> None:
        # Min(), not Value(): under iterated local search the callback runs where
        # the cost variable is not bound, and Value() aborts the process.
        progress(time.monotonic() - began, routing.CostVar().Min())

    routing.AddAtSolutionCallback(report)


class _Model:
    """The OR-Tools routing model of one problem (see the module docstring)."""

    def __init__(self, problem: Problem, timer: RouteTimer, visits: Sequence[Visit],
                 disruption: Disruption | None = None, *, break_nodes: bool = False,
                 pinned_links: Mapping[str, tuple[str, int]] | None = None) -> None:
        self.problem = problem
        self.disruption = disruption
        self.visits = list(visits)
        self.node_of = {v.id: i for i, v in enumerate(self.visits)}
        clinicians = problem.clinicians
        nv, nc = len(self.visits), len(clinicians)
        # Break nodes (see _add_break_nodes) sit between the visits and the depots.
        self.break_node_of: dict[int, tuple[int, int]] = {}  # node -> (vehicle, break)
        if break_nodes:
            for k, c in enumerate(clinicians):
                for j, brk in enumerate(c.breaks):
                    if brk.earliest_start < c.latest_end:  # else the day never reaches it
                        self.break_node_of[nv + len(self.break_node_of)] = (k, j)
        nb = len(self.break_node_of)
        self.starts = [nv + nb + 2 * k for k in range(nc)]
        self.ends = [nv + nb + 2 * k + 1 for k in range(nc)]
        node_loc = [v.location for v in self.visits]
        node_loc += [clinicians[k].start_location for k, _ in self.break_node_of.values()]
        for c in clinicians:
            node_loc += [c.start_location, c.end]
        service = ([v.duration for v in self.visits]
                   + [clinicians[k].breaks[j].duration for k, j in self.break_node_of.values()]
                   + [0] * (2 * nc))
        n = len(node_loc)
        self.manager = pywrapcp.RoutingIndexManager(n, nc, self.starts, self.ends)
        self.routing = routing = pywrapcp.RoutingModel(self.manager)
        solver = routing.solver()
        opts = problem.options
        d = timer.durations
        travel = [[d[a][b] for b in node_loc] for a in node_loc]
        if nb:
            # A break is taken where the clinician is: no drive into it, and the drive
            # out of it counted as the shortest drive into the next stop from any
            # other stop (a lower bound of the true leg, so no plan is ruled out).
            real = [i for i in range(n) if not nv <= i < nv + nb]
            lowest_in = [min((travel[i][j] for i in real if i != j), default=0)
                         for j in range(n)]
            for b in range(nv, nv + nb):
                for i in range(n):
                    travel[i][b] = 0
                    travel[b][i] = lowest_in[i] if not nv <= i < nv + nb else 0
        # Never drive from an end node or into a start node.
        cost = travel
        if opts.travel_weight != 1 or opts.distance_weight:
            dist = timer.distances
            cost = [[opts.travel_weight * travel[i][j]
                     + (opts.distance_weight * dist[node_loc[i]][node_loc[j]]
                        if dist and not (nv <= i < nv + nb or nv <= j < nv + nb) else 0)
                     for j in range(n)] for i in range(n)]
        routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(cost))

        # Time: one transit matrix per distinct buffer length.
        by_buffer: dict[int, int] = {}
        transit_of_vehicle = []
        for c in clinicians:
            if c.buffer_after_visit not in by_buffer:
                extra = [service[i] + (c.buffer_after_visit if i < nv else 0) for i in range(n)]
                by_buffer[c.buffer_after_visit] = routing.RegisterTransitMatrix(
                    [[extra[i] + travel[i][j] for j in range(n)] for i in range(n)])
            transit_of_vehicle.append(by_buffer[c.buffer_after_visit])
        horizon = max(
            [c.latest_end for c in clinicians]
            + [hi for v in self.visits for _, hi in v.time_windows] + [0]
        ) + 1
        routing.AddDimensionWithVehicleTransits(transit_of_vehicle, horizon, horizon, False, "time")
        self.time = time_dim = routing.GetDimensionOrDie("time")
        for v, node in zip(self.visits, range(nv), strict=True):
            var = time_dim.CumulVar(self.manager.NodeToIndex(node))
            if v.time_windows:
                windows = v.windows
                var.SetRange(windows[0][0], windows[-1][1])
                for (_, hi), (lo, _) in zip(windows, windows[1:], strict=False):
                    if lo > hi + 1:
                        var.RemoveInterval(hi + 1, lo - 1)
        for k, c in enumerate(clinicians):
            time_dim.CumulVar(routing.Start(k)).SetRange(c.shift_start, c.latest_end)
            end = time_dim.CumulVar(routing.End(k))
            end.SetRange(c.shift_start, c.latest_end)
            if c.max_overtime and opts.overtime_weight:
                time_dim.SetCumulVarSoftUpperBound(routing.End(k), c.shift_end,
                                                   opts.overtime_weight)
        for k in range(nc):
            routing.AddVariableMinimizedByFinalizer(time_dim.CumulVar(routing.End(k)))
            routing.AddVariableMaximizedByFinalizer(time_dim.CumulVar(routing.Start(k)))

        self.break_vars: dict[int, list] = {}
        if break_nodes:
            self._add_break_nodes(clinicians)
        else:
            self._add_breaks(clinicians, service, nv)
        self._add_capacities(clinicians, nv)
        self._add_preferences(clinicians, nv)
        self._add_promised_starts(nv)
        self._add_balance(clinicians, nv)

        # Eligibility and drops.
        for v, node in zip(self.visits, range(nv), strict=True):
            index = self.manager.NodeToIndex(node)
            allowed = [k for k, c in enumerate(clinicians) if problem.can_serve(c, v)]
            if len(allowed) < nc:
                # The 9.15 wheel's SetAllowedVehiclesForIndex rejects Python lists.
                routing.VehicleVar(index).SetValues([-1] + allowed)
            routing.AddDisjunction([index], opts.drop_cost(v))
        self._add_links(solver, pinned_links or {})

    def _add_break_nodes(self, clinicians: Sequence) -> None:
        """Each break as a stop of its own clinician's route, inside its window.

        Cheaper to search than OR-Tools' break intervals (measured on a
        300-visit day: intervals left the search stuck at its start). The
        drive into the next stop is a lower bound here, so the routes found
        are re-timed, and repaired where needed, by :func:`construct.repair`.
        """
        routing = self.routing
        for node, (k, j) in self.break_node_of.items():
            b = clinicians[k].breaks[j]
            index = self.manager.NodeToIndex(node)
            self.time.CumulVar(index).SetRange(b.earliest_start, b.latest_start)
            routing.VehicleVar(index).SetValues([-1, k])
            # Optional only so the model is never infeasible (repair places it for
            # real); costlier than any visit, cheaper than a mandatory one.
            routing.AddDisjunction([index], self.problem.options.mandatory_penalty // 10)

    def _add_breaks(self, clinicians: Sequence, service: list[int], nv: int) -> None:
        routing, solver = self.routing, self.routing.solver()
        if not any(c.breaks for c in clinicians):
            return
        node_of_index = [self.manager.IndexToNode(i)
                         for i in range(self.manager.GetNumberOfIndices())]
        for k, c in enumerate(clinicians):
            if not c.breaks:
                continue
            # A break may not overlap a visit nor the buffer after it.
            with_buffer = [service[node] + c.buffer_after_visit if node < nv else 0
                           for node in node_of_index]
            intervals = []
            end = self.time.CumulVar(routing.End(k))
            for j, b in enumerate(c.breaks):
                iv = solver.FixedDurationIntervalVar(
                    b.earliest_start, b.latest_start, b.duration, True, f"break_{k}_{j}")
                solver.Add(iv.PerformedExpr() >= solver.IsGreaterCstVar(end, b.earliest_start))
                intervals.append(iv)
                routing.AddIntervalToAssignment(iv)
            self.time.SetBreakIntervalsOfVehicle(intervals, k, with_buffer)
            self.break_vars[k] = intervals

    def _add_capacities(self, clinicians: Sequence, nv: int) -> None:
        routing = self.routing
        n = self.manager.GetNumberOfNodes()
        big = 10**9
        if any(c.max_visits is not None for c in clinicians):
            ones = routing.RegisterUnaryTransitVector([1] * nv + [0] * (n - nv))
            routing.AddDimensionWithVehicleCapacity(
                ones, 0, [c.max_visits if c.max_visits is not None else big for c in clinicians],
                True, "visits")
        if any(c.max_workload_points is not None for c in clinicians):
            points = routing.RegisterUnaryTransitVector(
                [v.workload_points for v in self.visits] + [0] * (n - nv))
            routing.AddDimensionWithVehicleCapacity(
                points, 0,
                [c.max_workload_points if c.max_workload_points is not None else big
                 for c in clinicians],
                True, "points")

    def _add_preferences(self, clinicians: Sequence, nv: int) -> None:
        """Per-(visit, clinician) costs: not a preferred clinician; moved off its old one.

        Each kind is a dimension of its own whose end cumul is priced by a soft
        upper bound of 0. In one dimension together, OR-Tools 9.15 could not
        leave out a visit whose only eligible clinician was its preferred one
        but not the one it was promised to: every plan that left it out was
        infeasible, so a re-plan that had to leave it out found no solution and
        did no search (4 of 20 re-plans of one bench.reoptimise day; the test
        is ``test_a_move_penalty_beside_a_preference_still_lets_the_search_run``).
        """
        penalty = self.problem.options.preference_penalty
        disruption = self.disruption

        def preference(v: Visit, cid: str) -> int:
            return penalty if v.preferred_clinicians and cid not in v.preferred_clinicians else 0

        def moved(v: Visit, cid: str) -> int:
            return disruption.assignment_cost(v.id, cid) if disruption is not None else 0

        routing = self.routing
        n = self.manager.GetNumberOfNodes()
        callbacks: dict[tuple[int, ...], int] = {}
        for name, cost in (("preference_cost", preference), ("move_cost", moved)):
            vectors = [tuple(cost(v, c.id) for v in self.visits) for c in clinicians]
            if not any(any(vec) for vec in vectors):
                continue
            per_vehicle = []
            for vec in vectors:
                if vec not in callbacks:
                    callbacks[vec] = routing.RegisterUnaryTransitVector(
                        list(vec) + [0] * (n - nv))
                per_vehicle.append(callbacks[vec])
            bound = sum(max(vec[i] for vec in vectors) for i in range(nv)) + 1
            routing.AddDimensionWithVehicleTransits(per_vehicle, 0, bound, True, name)
            dim = routing.GetDimensionOrDie(name)
            for k in range(len(clinicians)):
                dim.SetCumulVarSoftUpperBound(routing.End(k), 0, 1)

    def _add_promised_starts(self, nv: int) -> None:
        """Soft windows around promised starts: moving one past the tolerance costs."""
        d = self.disruption
        if d is None or not d.shift_penalty_per_s:
            return
        for node, v in enumerate(self.visits):
            before = d.previous.get(v.id)
            if before is None:
                continue
            index = self.manager.NodeToIndex(node)
            self.time.SetCumulVarSoftUpperBound(index, before[1] + d.shift_tolerance_s,
                                                d.shift_penalty_per_s)
            self.time.SetCumulVarSoftLowerBound(index, max(0, before[1] - d.shift_tolerance_s),
                                                d.shift_penalty_per_s)

    def _add_balance(self, clinicians: Sequence, nv: int) -> None:
        weight = self.problem.options.balance_weight
        if not weight or len(clinicians) < 2:
            return
        routing = self.routing
        n = self.manager.GetNumberOfNodes()
        loads = [load_minutes(v) for v in self.visits] + [0] * (n - nv)
        routing.AddDimension(routing.RegisterUnaryTransitVector(loads), 0, sum(loads) + 1, True,
                             "load")
        dim = routing.GetDimensionOrDie("load")
        dim.SetGlobalSpanCostCoefficient(weight)
        # Minimising the heaviest load alone leaves some clinicians nearly idle: each
        # clinician's hours of care are kept near a fair share too.
        minutes = [service_minutes(v) for v in self.visits] + [0] * (n - nv)
        routing.AddDimension(routing.RegisterUnaryTransitVector(minutes), 0,
                             sum(minutes) + 1, True, "service")
        service = routing.GetDimensionOrDie("service")
        bands = fair_bands(self.problem)
        for k, c in enumerate(clinicians):
            low, high = bands[c.id]
            if low > 0:
                service.SetCumulVarSoftLowerBound(routing.End(k), low, weight)
            service.SetCumulVarSoftUpperBound(routing.End(k), high, weight)

    def _add_links(self, solver: pywrapcp.Solver,
                   pinned: Mapping[str, tuple[str, int]]) -> None:
        """Linked visits: pinned to a clinician and start (kept by the local search's
        own filters), else constraints on the CP side, which the search checks slowly."""
        routing, time_dim = self.routing, self.time
        vehicle_of = {c.id: k for k, c in enumerate(self.problem.clinicians)}
        for link in self.problem.links:
            if not all(vid in self.node_of for vid in link.visit_ids):
                continue
            idx = [self.manager.NodeToIndex(self.node_of[vid]) for vid in link.visit_ids]
            if all(vid in pinned for vid in link.visit_ids):
                for vid, index in zip(link.visit_ids, idx, strict=True):
                    cid, start = pinned[vid]
                    routing.VehicleVar(index).SetValues([-1, vehicle_of[cid]])
                    time_dim.CumulVar(index).SetValue(start)
                continue
            if isinstance(link, Simultaneous):
                first = idx[0]
                for other in idx[1:]:
                    both = routing.ActiveVar(first) + routing.ActiveVar(other) - 1
                    solver.Add(solver.IsEqualVar(time_dim.CumulVar(first),
                                                 time_dim.CumulVar(other)) >= both)
                for i, a in enumerate(idx):
                    for b in idx[i + 1:]:
                        both = routing.ActiveVar(a) + routing.ActiveVar(b) - 1
                        solver.Add(solver.IsDifferentVar(routing.VehicleVar(a),
                                                         routing.VehicleVar(b)) >= both)
            else:
                a, b = idx
                both = routing.ActiveVar(a) + routing.ActiveVar(b) - 1
                gap = time_dim.CumulVar(b) - time_dim.CumulVar(a)
                solver.Add(solver.IsGreaterOrEqualCstVar(gap, link.min_gap) >= both)
                if link.max_gap is not None:
                    solver.Add(solver.IsLessOrEqualCstVar(gap, link.max_gap) >= both)

    def read_routes(self, orders: Mapping[str, list[Visit]], search: object,
                    timed: Mapping[str, Route] | None = None) -> pywrapcp.Assignment | None:
        """An OR-Tools assignment for ``orders`` (None if the model rejects it).

        With break stops, each goes where ``timed`` (the same routes, timed
        by :mod:`routing.schedule`) took that break, else last.
        """
        routes = []
        for k, c in enumerate(self.problem.clinicians):
            order = [v for v in orders.get(c.id, []) if v.id in self.node_of]
            route = [self.manager.NodeToIndex(self.node_of[v.id]) for v in order]
            starts = [s.start for s in timed[c.id].stops] if timed and c.id in timed else []
            taken = list(timed[c.id].breaks) if timed and c.id in timed else []
            breaks = sorted((j, node) for node, (kk, j) in self.break_node_of.items() if kk == k)
            for j, node in reversed(breaks):
                b = c.breaks[j]
                at = next((t.start for t in taken if b.earliest_start <= t.start <= b.latest_start
                           and t.duration == b.duration), None)
                gap = len(route) if at is None else sum(1 for s in starts if s < at)
                route.insert(min(gap, len(route)), self.manager.NodeToIndex(node))
            routes.append(route)
        self.routing.CloseModelWithParameters(search)
        return self.routing.ReadAssignmentFromRoutes(routes, True)

    def extract(
        self, assignment: pywrapcp.Assignment
    ) -> tuple[dict[str, list[Visit]], dict[str, int], dict[str, list[int]]]:
        """Routes, starts of linked visits, and the gap each break was taken in."""
        routing, manager = self.routing, self.manager
        linked = {vid for g in linked_groups(self.problem) for vid in g}
        orders: dict[str, list[Visit]] = {}
        fixed: dict[str, int] = {}
        gaps: dict[str, list[int]] = {}
        for k, c in enumerate(self.problem.clinicians):
            index = routing.Start(k)
            order: list[Visit] = []
            starts: list[int] = []
            index = assignment.Value(routing.NextVar(index))
            node_gaps: list[tuple[int, int]] = []  # (break, gap)
            while not routing.IsEnd(index):
                node = manager.IndexToNode(index)
                if node in self.break_node_of:
                    node_gaps.append((self.break_node_of[node][1], len(order)))
                    index = assignment.Value(routing.NextVar(index))
                    continue
                visit = self.visits[node]
                start = assignment.Value(self.time.CumulVar(index))
                order.append(visit)
                starts.append(start)
                if visit.id in linked:
                    fixed[visit.id] = start
                index = assignment.Value(routing.NextVar(index))
            if order:
                orders[c.id] = order
                if node_gaps and len(node_gaps) == len(c.breaks):
                    gaps[c.id] = [gap for _, gap in sorted(node_gaps)]
                if k in self.break_vars:
                    gaps[c.id] = [
                        sum(1 for s in starts if s < assignment.StartValue(iv))
                        for iv in self.break_vars[k]
                        if assignment.PerformedValue(iv)
                    ]
                    if len(gaps[c.id]) != len(c.breaks):
                        del gaps[c.id]
        return orders, fixed, gaps
