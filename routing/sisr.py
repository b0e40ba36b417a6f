"""Ruin and recreate for days without breaks or links: SISR in numpy.

Slack induction by string removals (Christiaens and Vanden Berghe, 2020,
Transportation Science 54(2)): take out a few strings of visits that sit
near one another, put them back one by one at their cheapest feasible
position (skipping a position now and then, "blinks"), and keep the result
under simulated annealing. OR-Tools' own iterated local search makes about
seven such steps a second on a 100-visit day because it runs a full local
search after each; this makes 2,000-3,000 (Solomon, one core).

Every insertion is priced against every edge of every route in one numpy
pass: the edge's departure from its first stop, the latest arrival its
second stop allows (so the rest of its route still keeps its windows), and
the route's load, count and clinician. Empty routes take part as their one
start-to-end edge, so opening a route needs no special case.

What it models: one time window per visit, shift start and end (hard),
start and end places, skills (as an eligibility matrix), points capacity,
a visit count limit, and the cost of each arc; a visit that fits nowhere
stays out at its drop cost, and a visit left out is offered again at every
step. Overtime is allowed up to ``max_overtime`` only when it costs nothing.
Anything else (breaks, links, costed overtime, preferences, balance) is
outside it (:func:`unsupported`), and :func:`routing.solver.solve` does not
call it for such days.

Besides the paper's string removals, one ruin in fifty empties a whole
route (:data:`ROUTE_RUIN_RATE`).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .model import Problem, Visit

log = logging.getLogger(__name__)

#: SISR parameters from the paper (Table 3): average visits removed, longest
#: string, split-string probability and rate, blink rate, initial and final
#: temperatures (in arc-cost units of the paper; scaled to ours by the caller).
AVG_REMOVED = 10
MAX_STRING = 10
SPLIT_RATE = 0.5
SPLIT_DEPTH = 0.01
BLINK_RATE = 0.01
#: Share of ruins that empty a whole route instead (ours, not the paper's): lets
#: the search leave a clinician idle when the others can take the visits
#: (measured on Solomon C206: 4 routes at 623.7 kept for 10 s without it).
ROUTE_RUIN_RATE = 0.02
#: Mean distance from a customer to its nearest neighbour on Solomon R101,
#: RC101 and C201 (5.2, 4.6, 4.1; C101 2.6): the cost scale of the paper's
#: temperatures.
SOLOMON_NEAREST = 4.5
#: Sort orders of the visits to put back: random, by demand, far from and close
#: to the start place, with the paper's weights 4:4:2:1.
SORT_WEIGHTS = (4, 4, 2, 1)


@dataclass(frozen=True)
class Day:
    """A day in arrays. Visits 0..n-1, clinicians 0..k-1; places index the matrices."""

    cost: np.ndarray  # arc cost, places x places
    travel: np.ndarray  # travel seconds, places x places
    place: np.ndarray  # visit -> place
    service: np.ndarray  # visit -> service seconds
    ready: np.ndarray  # visit -> earliest start
    due: np.ndarray  # visit -> latest start
    demand: np.ndarray  # visit -> points
    drop: np.ndarray  # visit -> cost of leaving it out
    eligible: np.ndarray  # visit x clinician, bool
    start_place: np.ndarray  # clinician -> place
    end_place: np.ndarray
    shift_start: np.ndarray
    shift_end: np.ndarray  # latest arrival at the end place
    capacity: np.ndarray  # clinician -> points
    max_visits: np.ndarray  # clinician -> visits


#: Rows of a route's edge array (one column per edge, in driving order).
HEAD, TAIL, DEPART, LATEST, BASE, OWNER, SPARE, ROOM, POS = range(9)


class _Lists:
    """The day's arrays as Python lists: scalar look-ups in loops are several times faster."""

    def __init__(self, day: Day) -> None:
        self.travel = day.travel.tolist()
        self.cost = day.cost.tolist()
        self.place = day.place.tolist()
        self.service = day.service.tolist()
        self.ready = day.ready.tolist()
        self.due = day.due.tolist()
        self.demand = day.demand.tolist()
        self.start_place = day.start_place.tolist()
        self.end_place = day.end_place.tolist()
        self.shift_start = day.shift_start.tolist()
        self.shift_end = day.shift_end.tolist()
        self.capacity = day.capacity.tolist()
        self.max_visits = day.max_visits.tolist()


class _State:
    """Routes, their timing and the edge arrays insertions are priced on.

    Each route keeps a small array (rows :data:`HEAD` ... :data:`POS`) of its
    edges: places, departure from the head, latest arrival at the tail that
    keeps the rest of the route on time, the edge's cost, the route's
    clinician, the points and visits it has room for, and the edge's position. All routes'
    arrays side by side are what :meth:`edges` returns.
    """

    def __init__(self, day: Day, lists: _Lists, routes: Sequence[Sequence[int]],
                 kind: list[int]) -> None:
        self.day = day
        self.lists = lists
        self.kind = kind
        k = len(day.start_place)
        self.routes: list[list[int]] = [list(r) for r in routes]
        self.routes += [[] for _ in range(k - len(routes))]
        self.route_of = np.full(len(day.place), -1, dtype=np.int64)
        for r, route in enumerate(self.routes):
            self.route_of[route] = r
        self.route_cost = [0] * k
        self._edges: list[np.ndarray] = [np.zeros((9, 1), dtype=np.int64)] * k
        self._flat: np.ndarray | None = None
        for r in range(k):
            if not self._retime(r):
                raise ValueError(f"start route of clinician {r} breaks a rule")

    def _retime(self, r: int) -> bool:
        """Recompute route ``r``'s edges; False (and nothing changed) if it breaks a rule."""
        if len(self.routes[r]) > LONG_ROUTE:
            return self._retime_long(r)
        x = self.lists
        route = self.routes[r]
        place, service, ready, due, travel, cost = (
            x.place, x.service, x.ready, x.due, x.travel, x.cost)
        prev = x.start_place[r]
        t = x.shift_start[r]
        heads = [prev]
        departs = [t]
        costs = []
        for v in route:
            p = place[v]
            t = max(ready[v], t + travel[prev][p])
            if t > due[v]:
                return False
            costs.append(cost[prev][p])
            heads.append(p)
            t += service[v]
            departs.append(t)
            prev = p
        end = x.end_place[r]
        if t + travel[prev][end] > x.shift_end[r]:
            return False
        # An idle clinician stays home: an empty route's edge is never driven.
        costs.append(cost[prev][end] if route else 0)
        # Latest arrival at each stop that keeps the rest of the route on time.
        n = len(route)
        latest = [0] * (n + 1)
        late = latest[n] = x.shift_end[r]
        nxt = end
        for i in range(n - 1, -1, -1):
            v = route[i]
            p = place[v]
            late = min(due[v], late - travel[p][nxt] - service[v])
            latest[i] = late
            nxt = p
        load = sum(x.demand[v] for v in route)
        m = n + 1
        self._edges[r] = np.array([heads, heads[1:] + [end], departs, latest, costs, [r] * m,
                                   [x.capacity[r] - load] * m, [x.max_visits[r] - n] * m,
                                   list(range(m))], dtype=np.int64)
        self.route_cost[r] = sum(costs)
        self._flat = None
        return True

    def _retime_long(self, r: int) -> bool:
        """:meth:`_retime` in numpy, faster on long routes.

        Service starts follow t[k] = max(ready[k], t[k-1] + g[k-1]), g being
        service plus the leg; with A the running sum of g that is
        t = A + running max of (ready - A). Latest arrivals run the other way
        with a running min.
        """
        d = self.day
        route = np.array(self.routes[r], dtype=np.int64)
        n = len(route)
        heads = np.empty(n + 1, dtype=np.int64)
        heads[0] = d.start_place[r]
        heads[1:] = d.place[route]
        tails = np.empty(n + 1, dtype=np.int64)
        tails[:n] = heads[1:]
        tails[n] = d.end_place[r]
        service = np.zeros(n + 1, dtype=np.int64)
        service[1:] = d.service[route]
        step = service + d.travel[heads, tails]  # from a node's service start to the next arrival
        along = np.zeros(n + 2, dtype=np.int64)
        np.cumsum(step, out=along[1:])
        ready = np.empty(n + 2, dtype=np.int64)
        ready[0] = d.shift_start[r]
        ready[1:n + 1] = d.ready[route]
        ready[n + 1] = _EARLIEST
        start = along + np.maximum.accumulate(ready - along)
        if (start[1:n + 1] > d.due[route]).any() or start[n + 1] > d.shift_end[r]:
            return False
        due = np.empty(n + 2, dtype=np.int64)
        due[1:n + 1] = d.due[route]
        due[n + 1] = d.shift_end[r]
        due[0] = _NEVER // 4
        latest = np.minimum.accumulate((due - along)[::-1])[::-1] + along
        costs = d.cost[heads, tails]
        edges = np.empty((9, n + 1), dtype=np.int64)
        edges[HEAD], edges[TAIL], edges[DEPART] = heads, tails, start[:n + 1] + service
        edges[LATEST], edges[BASE], edges[OWNER] = latest[1:], costs, r
        edges[SPARE] = d.capacity[r] - d.demand[route].sum()
        edges[ROOM] = d.max_visits[r] - n
        edges[POS] = np.arange(n + 1)
        self._edges[r] = edges
        self.route_cost[r] = int(costs.sum())
        self._flat = None
        return True

    def edges(self) -> np.ndarray:
        """All used routes' edge arrays side by side, and one empty route per kind of clinician."""
        if self._flat is None:
            seen: set[int] = set()
            parts = []
            for r, route in enumerate(self.routes):
                if not route:
                    # Empty routes of alike clinicians are one option: price one.
                    if self.kind[r] in seen:
                        continue
                    seen.add(self.kind[r])
                parts.append(self._edges[r])
            self._flat = np.concatenate(parts, axis=1)
        return self._flat

    def absent(self) -> list[int]:
        """Visits on no route."""
        return np.flatnonzero(self.route_of < 0).tolist()

    def total(self) -> int:
        return int(self.day.drop[self.route_of < 0].sum()) + sum(self.route_cost)

    def copy(self) -> _State:
        other = object.__new__(_State)
        other.day, other.lists, other.kind = self.day, self.lists, self.kind
        other.routes = [list(r) for r in self.routes]
        other.route_of = self.route_of.copy()
        other.route_cost = list(self.route_cost)
        other._edges = list(self._edges)
        other._flat = self._flat
        return other


class Sisr:
    """The search: ``run(routes, seconds)`` returns the best routes it found."""

    def __init__(self, day: Day, seed: int = 0, temperature: tuple[float, float] = (100.0, 1.0)):
        """``temperature``: initial and final, in the paper's Solomon units.

        They are scaled by the mean arc cost from a visit to its nearest
        neighbour over that on the Solomon instances the paper tuned them on
        (:data:`SOLOMON_NEAREST`).
        """
        self.day = day
        self.rng = np.random.default_rng(seed)
        n = len(day.place)
        c = day.cost[np.ix_(day.place, day.place)].astype(np.float64)
        scale = 1.0
        if n > 1:
            np.fill_diagonal(c, np.inf)
            scale = max(float(c.min(axis=1).mean()) / SOLOMON_NEAREST, 1e-3)
        self.t0, self.t1 = temperature[0] * scale, temperature[1] * scale
        # Visits nearest each visit (by arc cost between their places), for the ruin.
        np.fill_diagonal(c, -1.0)
        self.near = np.argsort(c, axis=1, kind="stable")
        self.cost_to = np.ascontiguousarray(day.cost.T)  # cost_to[p][q] = cost q -> p
        self.travel_to = np.ascontiguousarray(day.travel.T)
        depot = int(np.bincount(day.start_place).argmax())
        self.depot_cost = day.cost[depot, day.place]
        self.n = n
        self.lists = _Lists(day)
        self.everyone_eligible = bool(day.eligible.all())
        self.cost_is_travel = bool(np.array_equal(day.cost, day.travel))
        self._blink_pool = np.zeros(0, dtype=bool)
        self._blink_at = 0
        self.iterations = 0
        kinds: dict[tuple, int] = {}
        self.kind = [kinds.setdefault(
            (int(day.start_place[r]), int(day.end_place[r]), int(day.shift_start[r]),
             int(day.shift_end[r]), int(day.capacity[r]), int(day.max_visits[r]),
             day.eligible[:, r].tobytes()), len(kinds)) for r in range(len(day.start_place))]

    def run(self, routes: Sequence[Sequence[int]], seconds: float,
            progress: Callable[[float, int], None] | None = None) -> list[list[int]]:
        """The best routes found in ``seconds`` from ``routes`` (one list per clinician).

        ``progress`` is called with (elapsed s, cost) at each new best.
        """
        began = time.monotonic()
        current = _State(self.day, self.lists, routes, self.kind)
        self._insert(current, current.absent())
        best, best_cost = current.copy(), current.total()
        cur_cost = best_cost
        rng = self.rng
        it = 0
        while True:
            elapsed = time.monotonic() - began
            if elapsed >= seconds:
                break
            temp = self.t0 * (self.t1 / self.t0) ** (elapsed / seconds)
            trial = current.copy()
            # Visits left out so far get another chance with the ruined ones.
            absent = trial.absent()
            self._insert(trial, self._ruin(trial) + absent)
            cost = trial.total()
            if cost < cur_cost - temp * math.log(rng.random()):
                current, cur_cost = trial, cost
                if cost < best_cost:
                    best, best_cost = trial.copy(), cost
                    if progress is not None:
                        progress(time.monotonic() - began, cost)
            it += 1
        self.iterations = it
        return [list(r) for r in best.routes]

    def _ruin(self, s: _State) -> list[int]:
        rng = self.rng
        used = [r for r in s.routes if r]
        if not used:
            return []
        if len(used) > 1 and rng.random() < ROUTE_RUIN_RATE:
            return self._ruin_route(s)
        avg_len = sum(len(r) for r in used) / len(used)
        ls_max = min(MAX_STRING, avg_len)
        ks_max = 4 * AVG_REMOVED / (1 + ls_max) - 1
        ks = int(rng.uniform(1, ks_max + 1))
        seed = int(rng.integers(self.n))
        removed: list[int] = []
        ruined: set[int] = set()
        for v in self.near[seed]:
            if len(ruined) >= ks:
                break
            v = int(v)
            r = int(s.route_of[v])
            if r < 0 or r in ruined:
                continue
            route = s.routes[r]
            lmax = min(len(route), ls_max)
            length = int(rng.uniform(1, lmax + 1))
            at = route.index(v)
            if length < len(route) and rng.random() < SPLIT_RATE:
                out = self._split_string(route, at, length)
            else:
                first = int(rng.integers(max(0, at - length + 1), min(at, len(route) - length) + 1))
                out = route[first:first + length]
            keep = set(out)
            s.routes[r] = [u for u in route if u not in keep]
            ruined.add(r)
            if not s._retime(r):
                # Taking visits out made it later (a matrix without the
                # triangle inequality): leave this route as it was.
                s.routes[r] = route  # its edges were left as they were
                continue
            for u in out:
                s.route_of[u] = -1
            removed += out
        return removed

    def _ruin_route(self, s: _State) -> list[int]:
        """Empty one route, the shorter the likelier (its visits may fit in the others)."""
        used = [r for r, route in enumerate(s.routes) if route]
        weights = np.array([1.0 / len(s.routes[r]) for r in used])
        r = int(self.rng.choice(used, p=weights / weights.sum()))
        out = s.routes[r]
        s.routes[r] = []
        s._retime(r)
        s.route_of[out] = -1
        return out

    def _split_string(self, route: list[int], at: int, length: int) -> list[int]:
        """``length`` visits around ``at`` out of a string of ``length + m``, m visits kept."""
        rng = self.rng
        m = 1
        while length + m < len(route) and rng.random() > SPLIT_DEPTH:
            m += 1
        span = length + m
        first = int(rng.integers(max(0, at - span + 1), min(at, len(route) - span) + 1))
        keep_from = first + int(rng.integers(0, length + 1))
        return [u for i, u in enumerate(route[first:first + span], first)
                if not keep_from <= i < keep_from + m]

    def _insert(self, s: _State, visits: list[int]) -> None:
        if not visits:
            return
        rng = self.rng
        d = self.day
        order = rng.choice(len(SORT_WEIGHTS), p=np.array(SORT_WEIGHTS) / sum(SORT_WEIGHTS))
        vs = np.array(visits, dtype=np.int64)
        if order == 0:
            rng.shuffle(vs)
        elif order == 1:
            vs = vs[np.argsort(-d.demand[vs], kind="stable")]
        elif order == 2:
            vs = vs[np.argsort(-self.depot_cost[vs], kind="stable")]
        else:
            vs = vs[np.argsort(self.depot_cost[vs], kind="stable")]
        x = self.lists
        travel_to, cost_to, travel, cost = self.travel_to, self.cost_to, d.travel, d.cost
        for v in vs.tolist():
            e = s.edges()
            heads, tails = e[HEAD], e[TAIL]
            p = x.place[v]
            t_in, t_out = travel_to[p][heads], travel[p][tails]
            arrive = e[DEPART] + t_in
            np.maximum(arrive, x.ready[v], out=arrive)
            ok = arrive <= x.due[v]
            arrive += x.service[v]
            arrive += t_out
            ok &= arrive <= e[LATEST]
            ok &= e[SPARE] >= x.demand[v]
            ok &= e[ROOM] > 0
            if not self.everyone_eligible:
                ok &= d.eligible[v][e[OWNER]]
            ok &= self._blinks(len(ok))
            if self.cost_is_travel:
                delta = t_in + t_out
            else:
                delta = cost_to[p][heads] + cost[p][tails]
            delta -= e[BASE]
            delta[~ok] = _NEVER
            i = int(delta.argmin())
            if delta[i] == _NEVER:
                continue
            r = int(e[OWNER, i])
            s.routes[r].insert(int(e[POS, i]), v)
            s.route_of[v] = r
            s._retime(r)

    def _blinks(self, n: int) -> np.ndarray:
        """``n`` draws, each False with probability :data:`BLINK_RATE` (drawn in batches)."""
        at = self._blink_at
        if at + n > len(self._blink_pool):
            self._blink_pool = self.rng.random(max(4096, 4 * n)) >= BLINK_RATE
            at = 0
        self._blink_at = at + n
        return self._blink_pool[at:at + n]


_NEVER = np.iinfo(np.int64).max
_EARLIEST = -(_NEVER // 4)
#: Routes longer than this are timed in numpy (:meth:`_State._retime_long`): measured
#: per call, Python 6, 15, 24, 32 us at 5, 20, 35, 50 visits, numpy 20-21 us.
LONG_ROUTE = 30


def unsupported(problem: Problem) -> str | None:
    """Why this search cannot plan ``problem`` (None: it can).

    Each reason is a rule or objective term it does not model; the OR-Tools
    model plans such days.
    """
    o = problem.options
    cs = problem.clinicians
    if problem.links:
        return "linked visits"
    if any(c.breaks for c in cs):
        return "breaks"
    if len({c.buffer_after_visit for c in cs}) > 1:
        return "buffers that differ between clinicians"
    if o.overtime_weight and any(c.max_overtime for c in cs):
        return "costed overtime"
    if any(len(v.time_windows) > 1 for v in problem.visits):
        return "several time windows on a visit"
    if o.preference_penalty and any(v.preferred_clinicians for v in problem.visits):
        return "preferred clinicians"
    if o.balance_weight and len(cs) > 1:
        return "workload balance"
    return None


def day_of(problem: Problem, visits: Sequence[Visit]) -> Day:
    """``visits`` and the clinicians of ``problem`` as arrays (see :func:`unsupported`)."""
    o = problem.options
    matrix = problem.require_matrix()
    travel = np.array(matrix.durations, dtype=np.int64)
    cost = o.travel_weight * travel
    if o.distance_weight and matrix.distances is not None:
        cost = cost + o.distance_weight * np.array(matrix.distances, dtype=np.int64)
    cs = problem.clinicians
    buffer = cs[0].buffer_after_visit if cs else 0
    big = np.iinfo(np.int32).max
    return Day(
        cost=cost, travel=travel,
        place=np.array([v.location for v in visits], dtype=np.int64),
        service=np.array([v.duration + buffer for v in visits], dtype=np.int64),
        ready=np.array([v.time_windows[0][0] if v.time_windows else 0 for v in visits],
                       dtype=np.int64),
        due=np.array([v.time_windows[0][1] if v.time_windows else big for v in visits],
                     dtype=np.int64),
        demand=np.array([v.workload_points for v in visits], dtype=np.int64),
        drop=np.array([o.drop_cost(v) for v in visits], dtype=np.int64),
        eligible=np.array([[problem.can_serve(c, v) for c in cs] for v in visits],
                          dtype=bool).reshape(len(visits), len(cs)),
        start_place=np.array([c.start_location for c in cs], dtype=np.int64),
        end_place=np.array([c.end for c in cs], dtype=np.int64),
        shift_start=np.array([c.shift_start for c in cs], dtype=np.int64),
        shift_end=np.array([c.latest_end for c in cs], dtype=np.int64),
        capacity=np.array([big if c.max_workload_points is None else c.max_workload_points
                           for c in cs], dtype=np.int64),
        max_visits=np.array([big if c.max_visits is None else c.max_visits for c in cs],
                            dtype=np.int64),
    )


def search(problem: Problem, visits: Sequence[Visit], start: Mapping[str, Sequence[Visit]],
           seconds: float, *, seed: int = 0,
           progress: Callable[[float, int], None] | None = None) -> dict[str, list[Visit]]:
    """Routes for ``visits`` found in ``seconds`` from ``start`` (clinician id -> visits).

    The annealing temperatures are the paper's 100 and 1 (see :class:`Sisr`).
    """
    day = day_of(problem, visits)
    index = {v.id: i for i, v in enumerate(visits)}
    cs = problem.clinicians
    routes = [[index[v.id] for v in start.get(c.id, []) if v.id in index] for c in cs]
    sisr = Sisr(day, seed=seed)
    found = sisr.run(routes, seconds, progress)
    log.info("SISR: %d iterations in %.1f s", sisr.iterations, seconds)
    return {c.id: [visits[i] for i in r] for c, r in zip(cs, found, strict=True) if r}

