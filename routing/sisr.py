"""Ruin and recreate for days without breaks or links: SISR, compiled with numba.

Slack induction by string removals (Christiaens and Vanden Berghe, 2020,
Transportation Science 54(2)): take out a few strings of visits that sit
near one another, put them back one by one at their cheapest feasible
position (skipping a position now and then, "blinks"), and keep the result
under simulated annealing. OR-Tools' own iterated local search makes about
seven such steps a second on a 100-visit day because it runs a full local
search after each; this makes 30,000-50,000 (Solomon, one core; 3,000 when
it was numpy calls from Python).

Each route keeps, per edge, the departure from its first stop and the latest
arrival its second stop allows (so the rest of its route still keeps its
windows), so an insertion is checked and priced in constant time against
every edge of every route. Empty routes take part as their one start-to-end
edge, so opening a route needs no special case.

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

The compiled code is cached beside this file (or under ``NUMBA_CACHE_DIR``);
compiling it takes about 15 s once per install (:func:`warm_up`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numba import njit

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


# The search runs in compiled code (numba): a step takes a few microseconds
# per insertion where numpy calls took tens. The day is a tuple of arrays
# (:func:`_arrays`); a plan is a tuple of arrays too (:func:`_plan`):
#
#   seq[r, i]   the i-th visit of route r (lens[r] of them)
#   dep[r, i]   departure from the head of edge i: the start place at shift
#               start for i = 0, else the end of visit i-1's service
#   lat[r, i]   latest arrival at the tail of edge i that keeps the rest of
#               the route on time (the shift end at i = lens[r])
#   load[r], cost[r]  points and arc cost of route r
#   route_of[v] the route visit v is on, -1 if it is left out
#
# Edge i of route r runs from visit i-1 (the start place for i = 0) to visit
# i (the end place for i = lens[r]). Everything in seconds and cost units.

_NEVER = np.iinfo(np.int64).max

# Indices of the day tuple.
(_COST, _TRAVEL, _PLACE, _SERVICE, _READY, _DUE, _DEMAND, _DROP, _ELIGIBLE, _START,
 _END, _SHIFT_START, _SHIFT_END, _CAPACITY, _MAX_VISITS, _KIND, _NEAR, _DEPOT_COST) = range(18)


def _arrays(day: Day, kind: np.ndarray, near: np.ndarray, depot_cost: np.ndarray) -> tuple:
    return (day.cost, day.travel, day.place, day.service, day.ready, day.due, day.demand,
            day.drop, day.eligible, day.start_place, day.end_place, day.shift_start,
            day.shift_end, day.capacity, day.max_visits, kind, near, depot_cost)


def _plan(n: int, k: int) -> tuple:
    width = n + 1
    return (np.zeros((k, width), dtype=np.int64), np.zeros(k, dtype=np.int64),
            np.zeros((k, width), dtype=np.int64), np.zeros((k, width), dtype=np.int64),
            np.zeros(k, dtype=np.int64), np.zeros(k, dtype=np.int64),
            np.full(n, -1, dtype=np.int64))


@njit(cache=True)
def _seed(seed: int) -> None:
    np.random.seed(seed)


@njit(cache=True)
def _retime(d: tuple, s: tuple, r: int) -> bool:
    """Re-time route ``r``: departures, latest arrivals, load and cost; False if it breaks a rule.

    On False the route's times are left half-written: the caller restores it.
    """
    cost, travel, place, service, ready, due, demand = d[0], d[1], d[2], d[3], d[4], d[5], d[6]
    seq, lens, dep, lat, load, rcost = s[0], s[1], s[2], s[3], s[4], s[5]
    m = lens[r]
    end = d[_END][r]
    prev = d[_START][r]
    t = d[_SHIFT_START][r]
    dep[r, 0] = t
    total = 0
    points = 0
    for i in range(m):
        v = seq[r, i]
        p = place[v]
        t += travel[prev, p]
        if t < ready[v]:
            t = ready[v]
        if t > due[v]:
            return False
        total += cost[prev, p]
        points += demand[v]
        t += service[v]
        dep[r, i + 1] = t
        prev = p
    if m > 0:
        # An idle clinician stays home: an empty route is never driven.
        if t + travel[prev, end] > d[_SHIFT_END][r]:
            return False
        total += cost[prev, end]
    late = d[_SHIFT_END][r]
    lat[r, m] = late
    nxt = end
    for i in range(m - 1, -1, -1):
        v = seq[r, i]
        p = place[v]
        late = min(due[v], late - travel[p, nxt] - service[v])
        lat[r, i] = late
        nxt = p
    load[r] = points
    rcost[r] = total
    return True


@njit(cache=True)
def _copy_route(src: tuple, dst: tuple, r: int) -> None:
    width = max(src[1][r], dst[1][r]) + 1
    dst[0][r, :width] = src[0][r, :width]
    dst[2][r, :width] = src[2][r, :width]
    dst[3][r, :width] = src[3][r, :width]
    dst[1][r] = src[1][r]
    dst[4][r] = src[4][r]
    dst[5][r] = src[5][r]


@njit(cache=True)
def _total(d: tuple, s: tuple) -> int:
    total = 0
    for r in range(len(s[5])):
        total += s[5][r]
    route_of, drop = s[6], d[_DROP]
    for v in range(len(route_of)):
        if route_of[v] < 0:
            total += drop[v]
    return total


@njit(cache=True)
def _take_out(d: tuple, s: tuple, cur: tuple, r: int, first: int, span: int,
              keep_from: int, keep: int, removed: np.ndarray, nr: int) -> int:
    """Take out ``span`` visits of route ``r`` from ``first``, but ``keep`` from ``keep_from``.

    Returns the new count of ``removed``; if the shorter route breaks a rule (a
    matrix without the triangle inequality) it stays as it was.
    """
    seq, lens = s[0], s[1]
    m = lens[r]
    w = first
    out = nr
    for i in range(first, m):
        v = seq[r, i]
        if i < first + span and not (keep_from <= i < keep_from + keep):
            removed[out] = v
            out += 1
        else:
            seq[r, w] = v
            w += 1
    lens[r] = w
    if not _retime(d, s, r):
        _copy_route(cur, s, r)
        return nr
    for j in range(nr, out):
        s[6][removed[j]] = -1
    return out


@njit(cache=True)
def _ruin(d: tuple, s: tuple, cur: tuple, touched: np.ndarray, removed: np.ndarray,
          route_rate: float) -> int:
    """SISR's string removals (or, at ``route_rate``, one whole route); returns how many went."""
    seq, lens = s[0], s[1]
    k = len(lens)
    used = 0
    visits = 0
    for r in range(k):
        if lens[r] > 0:
            used += 1
            visits += lens[r]
    if used == 0:
        return 0
    if used > 1 and np.random.random() < route_rate:
        # One whole route, the shorter the likelier (its visits may fit in the others).
        weight = 0.0
        for r in range(k):
            if lens[r] > 0:
                weight += 1.0 / lens[r]
        pick = np.random.random() * weight
        chosen = -1
        for r in range(k):
            if lens[r] > 0:
                chosen = r
                pick -= 1.0 / lens[r]
                if pick < 0:
                    break
        touched[chosen] = True
        return _take_out(d, s, cur, chosen, 0, lens[chosen], 0, 0, removed, 0)
    ls_max = min(float(MAX_STRING), visits / used)
    ks_max = 4.0 * AVG_REMOVED / (1.0 + ls_max) - 1.0
    strings = int(np.random.uniform(1.0, ks_max + 1.0))
    near = d[_NEAR][np.random.randint(0, len(s[6]))]
    route_of = s[6]
    nr = 0
    ruined = 0
    for j in range(len(near)):
        if ruined >= strings:
            break
        v = near[j]
        r = route_of[v]
        if r < 0 or touched[r]:
            continue
        touched[r] = True
        ruined += 1
        m = lens[r]
        length = int(np.random.uniform(1.0, min(float(m), ls_max) + 1.0))
        at = 0
        while seq[r, at] != v:
            at += 1
        if length < m and np.random.random() < SPLIT_RATE:
            # A string of length + keep visits, ``keep`` of them staying in.
            keep = 1
            while length + keep < m and np.random.random() > SPLIT_DEPTH:
                keep += 1
            span = length + keep
            first = np.random.randint(max(0, at - span + 1), min(at, m - span) + 1)
            keep_from = first + np.random.randint(0, length + 1)
            nr = _take_out(d, s, cur, r, first, span, keep_from, keep, removed, nr)
        else:
            first = np.random.randint(max(0, at - length + 1), min(at, m - length) + 1)
            nr = _take_out(d, s, cur, r, first, length, 0, 0, removed, nr)
    return nr


@njit(cache=True)
def _recreate(d: tuple, s: tuple, touched: np.ndarray, blink_rate: float) -> None:
    """Put every left-out visit back at its cheapest feasible position, skipping some ("blinks")."""
    cost, travel, place, service, ready, due, demand = d[0], d[1], d[2], d[3], d[4], d[5], d[6]
    eligible, start, end, capacity, max_visits, kind = (
        d[_ELIGIBLE], d[_START], d[_END], d[_CAPACITY], d[_MAX_VISITS], d[_KIND])
    seq, lens, dep, lat, load, route_of = s[0], s[1], s[2], s[3], s[4], s[6]
    out = np.flatnonzero(route_of < 0)
    if len(out) == 0:
        return
    shuffled, by_demand, far_first, near_first = SORT_WEIGHTS
    pick = np.random.random() * (shuffled + by_demand + far_first + near_first)
    if pick < shuffled:
        np.random.shuffle(out)
    elif pick < shuffled + by_demand:
        out = out[np.argsort(-demand[out], kind="mergesort")]
    elif pick < shuffled + by_demand + far_first:
        out = out[np.argsort(-d[_DEPOT_COST][out], kind="mergesort")]
    else:
        out = out[np.argsort(d[_DEPOT_COST][out], kind="mergesort")]
    k = len(lens)
    seen = np.zeros(k, dtype=np.bool_)
    for v in out:
        p = place[v]
        best = _NEVER
        best_r = -1
        best_i = -1
        seen[:] = False
        for r in range(k):
            m = lens[r]
            if m == 0:
                # Empty routes of alike clinicians are one option: price one.
                if seen[kind[r]]:
                    continue
                seen[kind[r]] = True
            if m >= max_visits[r] or load[r] + demand[v] > capacity[r] or not eligible[v, r]:
                continue
            head = start[r]
            for i in range(m + 1):
                if dep[r, i] > due[v]:
                    break  # departures only get later along a route
                tail = end[r] if i == m else place[seq[r, i]]
                if np.random.random() >= blink_rate:
                    t = dep[r, i] + travel[head, p]
                    if t < ready[v]:
                        t = ready[v]
                    if t <= due[v] and t + service[v] + travel[p, tail] <= lat[r, i]:
                        delta = cost[head, p] + cost[p, tail]
                        if m > 0:
                            delta -= cost[head, tail]
                        if delta < best:
                            best, best_r, best_i = delta, r, i
                head = tail
        if best_r < 0:
            continue
        m = lens[best_r]
        for i in range(m, best_i, -1):
            seq[best_r, i] = seq[best_r, i - 1]
        seq[best_r, best_i] = v
        lens[best_r] = m + 1
        route_of[v] = best_r
        touched[best_r] = True
        _retime(d, s, best_r)


@njit(cache=True)
def _steps(d: tuple, cur: tuple, trial: tuple, best: tuple, count: int, done_from: float,
           done_to: float, t0: float, t1: float, cur_cost: int, best_cost: int,
           route_rate: float, blink_rate: float) -> tuple:
    """``count`` ruin-and-recreate steps under simulated annealing.

    The temperature falls from ``t0`` to ``t1`` over the whole search;
    ``done_from`` and ``done_to`` are the shares of it done at the first and
    after the last of these steps. Returns the current and best costs.
    """
    k = len(cur[1])
    touched = np.zeros(k, dtype=np.bool_)
    removed = np.empty(len(cur[6]), dtype=np.int64)
    for step in range(count):
        done = done_from + (done_to - done_from) * step / count
        temp = t0 * (t1 / t0) ** done
        touched[:] = False
        _ruin(d, trial, cur, touched, removed, route_rate)
        _recreate(d, trial, touched, blink_rate)
        cost = _total(d, trial)
        if cost < cur_cost - temp * np.log(np.random.random()):
            src, dst = trial, cur
            cur_cost = cost
        else:
            src, dst = cur, trial
        for r in range(k):
            if touched[r]:
                _copy_route(src, dst, r)
        dst[6][:] = src[6]
        if cur_cost < best_cost:
            best_cost = cur_cost
            for r in range(k):
                _copy_route(cur, best, r)
            best[6][:] = cur[6]
    return cur_cost, best_cost


class Sisr:
    """The search: ``run(routes, seconds)`` returns the best routes it found."""

    def __init__(self, day: Day, seed: int = 0, temperature: tuple[float, float] = (100.0, 1.0)):
        """``temperature``: initial and final, in the paper's Solomon units.

        They are scaled by the mean arc cost from a visit to its nearest
        neighbour over that on the Solomon instances the paper tuned them on
        (:data:`SOLOMON_NEAREST`).
        """
        self.day = day
        self.seed = seed
        n, k = len(day.place), len(day.start_place)
        c = day.cost[np.ix_(day.place, day.place)].astype(np.float64)
        scale = 1.0
        if n > 1:
            np.fill_diagonal(c, np.inf)
            scale = max(float(c.min(axis=1).mean()) / SOLOMON_NEAREST, 1e-3)
        self.t0, self.t1 = temperature[0] * scale, temperature[1] * scale
        # Visits nearest each visit (by arc cost between their places), for the ruin.
        np.fill_diagonal(c, -1.0)
        near = np.argsort(c, axis=1, kind="stable").astype(np.int64)
        depot = int(np.bincount(day.start_place).argmax()) if k else 0
        kinds: dict[tuple, int] = {}
        kind = np.array([kinds.setdefault(
            (int(day.start_place[r]), int(day.end_place[r]), int(day.shift_start[r]),
             int(day.shift_end[r]), int(day.capacity[r]), int(day.max_visits[r]),
             day.eligible[:, r].tobytes()), len(kinds)) for r in range(k)], dtype=np.int64)
        self.arrays = _arrays(day, kind, near, day.cost[depot, day.place].astype(np.int64))
        self.iterations = 0

    def run(self, routes: Sequence[Sequence[int]], seconds: float,
            progress: Callable[[float, int], None] | None = None,
            steps: int | None = None) -> list[list[int]]:
        """The best routes found in ``seconds`` from ``routes`` (one list per clinician).

        ``progress`` is called with (elapsed s, cost) at each new best.
        ``steps`` also stops the search after that many ruin-and-recreate
        steps, and the temperature then cools by steps done: with a time
        limit it cannot reach, a seed gives the same routes on any machine.
        """
        began = time.monotonic()
        seconds = max(seconds, 1e-6)
        d = self.arrays
        n, k = len(self.day.place), len(self.day.start_place)
        current = _plan(n, k)
        for r, route in enumerate(routes):
            current[0][r, :len(route)] = route
            current[1][r] = len(route)
            current[6][list(route)] = r
            if not _retime(d, current, r):
                raise ValueError(f"start route of clinician {r} breaks a rule")
        for r in range(len(routes), k):
            _retime(d, current, r)
        _seed(self.seed)
        _recreate(d, current, np.zeros(k, dtype=np.bool_), BLINK_RATE)
        trial = tuple(a.copy() for a in current)
        best = tuple(a.copy() for a in current)
        cur_cost = best_cost = _total(d, current)
        it = 0
        batch = 8
        per_step = 0.0  # seconds, measured
        while True:
            elapsed = time.monotonic() - began
            done = elapsed / seconds
            if steps is not None:
                done = max(done, it / steps)
                batch = min(batch, steps - it)
            if done >= 1.0 or batch <= 0:
                break
            done_to = min(1.0, done + batch * per_step / seconds)
            if steps is not None:
                done_to = max(done_to, (it + batch) / steps)
            t = time.monotonic()
            before = best_cost
            cur_cost, best_cost = _steps(d, current, trial, best, batch, done, done_to,
                                         self.t0, self.t1, cur_cost, best_cost,
                                         ROUTE_RUIN_RATE, BLINK_RATE)
            took = time.monotonic() - t
            it += batch
            per_step = took / batch
            # Batches of about 5 ms: time checks stay cheap and the limit is kept.
            batch = int(min(max(batch * 0.005 / max(took, 1e-6), 1), 2 * batch + 1))
            if progress is not None and best_cost < before:
                progress(time.monotonic() - began, int(best_cost))
        self.iterations = it
        return [best[0][r, :best[1][r]].tolist() for r in range(k)]


_compiled = False  # warm_up() has run in this process


def warm_up() -> None:
    """Compile the search (about 15 s once per install; later processes load it in under 1 s).

    Numba keeps the compiled code beside this file, or under
    ``NUMBA_CACHE_DIR``. :func:`search` calls this before its clock starts,
    so compiling never eats a time limit; a service calls it at start-up so
    that the first plan is not late by the compile either.
    """
    global _compiled
    n, k = 3, 2
    travel = np.ones((n + 1, n + 1), dtype=np.int64)
    np.fill_diagonal(travel, 0)
    zeros = np.zeros(k, dtype=np.int64)
    day = Day(cost=travel, travel=travel, place=np.arange(1, n + 1), service=np.ones(n, np.int64),
              ready=np.zeros(n, np.int64), due=np.full(n, 100), demand=np.ones(n, np.int64),
              drop=np.full(n, 100), eligible=np.ones((n, k), dtype=bool), start_place=zeros,
              end_place=zeros, shift_start=zeros, shift_end=np.full(k, 100),
              capacity=np.full(k, 9), max_visits=np.full(k, 9))
    Sisr(day).run([[] for _ in range(k)], 60.0, steps=20)
    _compiled = True


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
    ``seconds`` is search time: a first call in a process compiles the
    search (or loads it from numba's cache) before the clock starts.
    """
    if not _compiled:
        began = time.monotonic()
        warm_up()
        log.info("SISR: compiled or loaded in %.1f s (not part of the time limit)",
                 time.monotonic() - began)
    day = day_of(problem, visits)
    index = {v.id: i for i, v in enumerate(visits)}
    cs = problem.clinicians
    routes = [[index[v.id] for v in start.get(c.id, []) if v.id in index] for c in cs]
    sisr = Sisr(day, seed=seed)
    found = sisr.run(routes, seconds, progress)
    log.info("SISR: %d iterations in %.1f s", sisr.iterations, seconds)
    return {c.id: [visits[i] for i in r] for c, r in zip(cs, found, strict=True) if r}

