"""Many-to-many travel durations (s) and distances (m) between snapped locations.

How a matrix is computed
------------------------
1. Each location is snapped onto a road edge (:mod:`geo.snap`). Its road
   point becomes a new node splitting that edge (and the edge's twin, on a
   two-way street) into two pieces, so a drive starts and ends mid-edge and the
   partial edge is counted exactly, one-way streets included.
2. Durations: one table over those nodes with per-arc times in whole
   milliseconds (``rint``; at least 1 ms so no arc is free).
3. Distances follow the same fastest paths. A table only returns path
   weights, not paths, so a second table uses the lexicographic weight
   ``K * time_q + length`` (time in units of ``tau`` ms, length in whole metres)
   where ``K`` exceeds the length of any candidate path: the minimum is then
   the fastest path (to ``tau``), ties broken by length, and its length is
   ``weight % K``. ``K`` and ``tau`` come from a bound on path times (through a
   central hub point: ``T(s, t) <= T(s, h) + T(h, t)``) so that every weight stays
   below RoutingKit's 31-bit infinity: ``tau`` is 1-2 ms on a district, ~60 ms
   across a city (Porto clip, Columbus) and ~300 ms over the Porto region. Where
   two routes tie that closely, the distance may be the shorter one's. Each arc
   counts whole metres, so a path's length is typically off by a few metres.
   The two tables run on two threads (pyroutingkit releases the GIL).
4. Both tables run either on a customizable contraction hierarchy
   (RoutingKit via pyroutingkit, :mod:`geo._cch`) or on
   ``scipy.sparse.csgraph.dijkstra`` (the simple reference, used when
   pyroutingkit is missing). Both get the same integer weights, so they return
   identical matrices (tests check this).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from . import _cch
from .exceptions import UnreachableLocation
from .graph import RoadGraph
from .snap import DEFAULT_MAX_SNAP_M, Snaps, snap_points

Engine = Literal["auto", "cch", "scipy"]

INF_WEIGHT = _cch.INF_WEIGHT

#: Threads for the two tables of a matrix (durations, lexicographic distances):
#: 2 runs them at once, 1 one after the other (e.g. in a process per core).
TABLE_THREADS = 2

#: A point snapped this close (m) to either end of its edge is put on that node.
NODE_SNAP_M = 1.0


@dataclass(frozen=True, eq=False)
class TravelMatrix:
    """Road travel durations (s) and distances (m) between locations, by position.

    ``durations_s[i, j]`` is the fastest drive from location ``i`` to ``j``
    (rounded to whole seconds) and ``distances_m[i, j]`` its length (whole
    metres); both are asymmetric where one-way streets make them so.

    Attributes
    ----------
    ids : tuple
        The locations' ids, in matrix order (their indices if none were given).
    durations_s, distances_m : int64 arrays, shape (n, n)
    snap_distances_m : float64 array, shape (n,)
        How far each location is from the road point the drive starts/ends at.
    snaps : Snaps
        Where each location was snapped (edge, fraction, road point).
    """

    ids: tuple[object, ...]
    durations_s: np.ndarray
    distances_m: np.ndarray
    snap_distances_m: np.ndarray
    snaps: Snaps = field(repr=False)

    def to_json(self) -> dict[str, Any]:
        """The ``careroute matrix`` output: ids, durations, distances, snap distances (0.1 m)."""
        return {
            "ids": list(self.ids),
            "durations": self.durations_s.tolist(),
            "distances": self.distances_m.tolist(),
            "snap_distances": [round(float(d), 1) for d in self.snap_distances_m],
        }


@dataclass(frozen=True, eq=False)
class SplitGraph:
    """The road graph plus one node per distinct snapped point, arcs split there.

    Arc ``a`` follows base edge ``base_edge[a]`` from fraction ``frac0[a]`` to
    ``frac1[a]`` of its geometry: base arcs cover 0..1, the new pieces less.
    The original edges stay in: driving through a split point costs the same.
    """

    tail: np.ndarray
    head: np.ndarray
    time_s: np.ndarray
    length_m: np.ndarray
    base_edge: np.ndarray
    frac0: np.ndarray
    frac1: np.ndarray
    node_count: int
    point_node: np.ndarray
    order: np.ndarray

    def time_ms(self) -> np.ndarray:
        """Per-arc weight in whole milliseconds, at least 1 and below INF_WEIGHT."""
        return np.clip(np.rint(self.time_s * 1000.0), 1, INF_WEIGHT - 1).astype(np.int64)


def split_graph(graph: RoadGraph, snaps: Snaps) -> SplitGraph:
    """Add a node for each distinct snapped point, splitting its edge (and twin) there."""
    n = graph.node_count
    tail0, head0 = graph.edge_tail.astype(np.int64), graph.edge_head.astype(np.int64)
    twin = graph.edge_twin.astype(np.int64)
    point_node = np.full(len(snaps), -1, dtype=np.int64)
    # a point at (within a metre of) a junction is that junction: as the end
    # of a one-way edge it could otherwise only be reached along that edge
    along_m = snaps.fraction * graph.length_m[snaps.edge]
    at_tail = along_m < NODE_SNAP_M
    at_head = ~at_tail & (graph.length_m[snaps.edge] - along_m < NODE_SNAP_M)
    point_node[at_tail] = tail0[snaps.edge[at_tail]]
    point_node[at_head] = head0[snaps.edge[at_head]]
    # points at the same place on the same edge share a node, so their
    # mutual distance is exactly 0 rather than a 1 ms minimum arc
    mid = np.flatnonzero(point_node < 0)
    frac = np.round(snaps.fraction[mid], 9)
    by_pos = np.lexsort((frac, snaps.edge[mid]))
    e_s, f_s = snaps.edge[mid][by_pos], frac[by_pos]
    new = np.ones(len(by_pos), dtype=bool)
    new[1:] = (e_s[1:] != e_s[:-1]) | (f_s[1:] != f_s[:-1])
    uid = np.cumsum(new) - 1
    point_node[mid[by_pos]] = n + uid
    ue, uf = e_s[new], f_s[new]
    k = len(ue)
    vnode = n + np.arange(k, dtype=np.int64)
    first = np.ones(k, dtype=bool)
    first[1:] = ue[1:] != ue[:-1]
    last = np.ones(k, dtype=bool)
    last[:-1] = ue[1:] != ue[:-1]

    # forward pieces along each edge: tail -> p1 -> p2 ... -> pk -> head
    prev_node = np.where(first, tail0[ue], vnode - 1)
    prev_f = np.where(first, 0.0, np.concatenate([[0.0], uf[:-1]]))
    f_tail = np.concatenate([prev_node, vnode[last]])
    f_head = np.concatenate([vnode, head0[ue[last]]])
    f_edge = np.concatenate([ue, ue[last]])
    f_f0 = np.concatenate([prev_f, uf[last]])
    f_f1 = np.concatenate([uf, np.ones(int(last.sum()))])
    # the same pieces driven the other way, on the twin of a two-way street
    has = twin[f_edge] >= 0
    b_tail, b_head, b_edge = f_head[has], f_tail[has], twin[f_edge[has]]
    b_f0, b_f1 = 1.0 - f_f1[has], 1.0 - f_f0[has]

    m = graph.edge_count
    edge = np.concatenate([np.arange(m), f_edge, b_edge])
    f0 = np.concatenate([np.zeros(m), f_f0, b_f0])
    f1 = np.concatenate([np.ones(m), f_f1, b_f1])
    span = f1 - f0
    base_order = graph.cch_order if len(graph.cch_order) else np.arange(n)
    return SplitGraph(
        tail=np.concatenate([tail0, f_tail, b_tail]),
        head=np.concatenate([head0, f_head, b_head]),
        time_s=graph.travel_time_s[edge] * span,
        length_m=graph.length_m[edge] * span,
        base_edge=edge,
        frac0=f0,
        frac1=f1,
        node_count=n + k,
        point_node=point_node,
        # new nodes first: contracting a degree-2 split node adds only the
        # original edge back, so the cached nested-dissection order stays good
        order=np.concatenate([vnode, base_order.astype(np.int64)]).astype(np.uint32),
    )


class _ScipyMetric:
    """One weight vector as a scipy CSR matrix (parallel arcs: the lightest kept)."""

    def __init__(self, split: SplitGraph, weights: np.ndarray) -> None:
        # csr_matrix would add parallel arcs up, so drop all but the lightest
        idx = np.lexsort((weights, split.head, split.tail))
        t, h = split.tail[idx], split.head[idx]
        keep = np.ones(len(idx), dtype=bool)
        keep[1:] = (t[1:] != t[:-1]) | (h[1:] != h[:-1])
        self.arcs = idx[keep]
        self._n = split.node_count
        self._keys = t[keep] * self._n + h[keep]  # sorted: finds an arc by (tail, head)
        self.matrix = csr_matrix(
            (weights[self.arcs].astype(np.float64), (t[keep], h[keep])),
            shape=(split.node_count, split.node_count),
        )

    def table(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        out = dijkstra(self.matrix, directed=True, indices=sources)[:, targets]
        out[~np.isfinite(out)] = INF_WEIGHT
        return out.astype(np.int64)

    def to_target(self, sources: np.ndarray, target: int) -> np.ndarray:
        # one search backwards from the target, not one per source
        out = dijkstra(self.matrix.T.tocsr(), directed=True, indices=int(target))[sources]
        out[~np.isfinite(out)] = INF_WEIGHT
        return out.astype(np.int64)

    def path_arcs(self, source: int, target: int) -> list[int] | None:
        dist, pred = dijkstra(self.matrix, directed=True, indices=source, return_predecessors=True)
        if not np.isfinite(dist[target]):
            return None
        nodes = [int(target)]
        while nodes[-1] != source:
            nodes.append(int(pred[nodes[-1]]))
        nodes.reverse()
        path = np.asarray(nodes, dtype=np.int64)
        found = np.searchsorted(self._keys, path[:-1] * self._n + path[1:])
        return [int(a) for a in self.arcs[found]]


class _ScipyEngine:
    """Reference engine: Dijkstra from every source (scipy.sparse.csgraph, C speed)."""

    def __init__(self, split: SplitGraph) -> None:
        self.split = split

    def metric(self, weights: np.ndarray) -> _ScipyMetric:
        return _ScipyMetric(self.split, weights)


class _CCHEngine:
    """RoutingKit customizable contraction hierarchy (pyroutingkit)."""

    def __init__(self, split: SplitGraph) -> None:
        self._cch = _cch.CCH(split.tail, split.head, split.order)

    def metric(self, weights: np.ndarray) -> _cch.CCHMetric:
        return self._cch.metric(weights)


def make_engine(split: SplitGraph, engine: Engine = "auto") -> _ScipyEngine | _CCHEngine:
    """The table engine: ``"cch"`` (pyroutingkit), ``"scipy"``, or ``"auto"`` (CCH if usable)."""
    if engine == "cch" or (engine == "auto" and _cch.available()):
        if not _cch.available():
            raise RuntimeError("engine='cch' needs pyroutingkit (pip install pyroutingkit)")
        return _CCHEngine(split)
    if engine not in ("auto", "scipy"):
        raise ValueError(f"engine must be 'auto', 'cch' or 'scipy', got {engine!r}")
    return _ScipyEngine(split)


def travel_matrix(
    graph: RoadGraph,
    points: Sequence[Sequence[float]] | np.ndarray,
    *,
    ids: Sequence[object] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    engine: Engine = "auto",
) -> TravelMatrix:
    """Compute road travel durations (s) and distances (m) between all pairs of points.

    Parameters
    ----------
    graph
        The road graph (:func:`geo.load_graph`).
    points
        (lat, lon) pairs in degrees, e.g. the plan's locations in order.
    ids
        The locations' ids, used in error messages and ``TravelMatrix.ids``;
        default their indices.
    max_snap_m
        Largest allowed distance from a location to its road, in metres.
    engine
        ``"auto"`` (default: contraction hierarchy if pyroutingkit works, else
        scipy), ``"cch"`` or ``"scipy"``.

    Returns
    -------
    TravelMatrix

    Raises
    ------
    BadLocation
        A point that is not a valid (lat, lon).
    SnapTooFar
        A point farther than ``max_snap_m`` from every road (names its id).
    UnreachableLocation
        No road path between two points (names both ids).
    """
    snaps = snap_points(graph, points, ids=ids, max_snap_m=max_snap_m)
    if len(snaps) == 0:
        empty = np.zeros((0, 0), dtype=np.int64)
        return TravelMatrix((), empty, empty, np.zeros(0), snaps)
    split = split_graph(graph, snaps)
    eng = make_engine(split, engine)
    nodes = split.point_node
    time_w = split.time_ms()
    time_metric = eng.metric(time_w)

    # The lexicographic weight needs a bound on path times before the time
    # table exists (so both tables can run at once): through a hub point h,
    # T(s, t) <= T(s, h) + T(h, t).
    hub = _central_point(snaps)
    to_hub = time_metric.to_target(nodes, nodes[hub])
    from_hub = time_metric.table(nodes[[hub]], nodes)[0]
    _check_reachable_hub(to_hub, from_hub, hub, snaps.ids)
    t_bound = int(to_hub.max() + from_hub.max())
    k, tau = _lexicographic_scale(split, time_w, t_bound)

    length_w = np.rint(split.length_m).astype(np.int64)
    if TABLE_THREADS > 1:
        with ThreadPoolExecutor(max_workers=2) as pool:
            # pyroutingkit releases the GIL: the two tables share two cores
            times_f = pool.submit(time_metric.table, nodes, nodes)
            lex_f = pool.submit(_lex_table, eng, time_w, length_w, k, tau, nodes)
            time_ms, lex = times_f.result(), lex_f.result()
    else:
        time_ms = time_metric.table(nodes, nodes)
        lex = _lex_table(eng, time_w, length_w, k, tau, nodes)
    _check_reachable(time_ms, snaps.ids)
    for _attempt in range(6):
        t_lex, length_m = np.divmod(lex, k)
        # the fastest path to tau is as fast as the fastest path, give or take
        # rounding; anything else means a weight overflowed 31 bits: coarser tau
        if (lex < INF_WEIGHT).all() and np.all(
            np.abs(t_lex * tau - time_ms) <= 0.05 * time_ms + 2 * tau + 1000
        ):
            break
        tau *= 2
        lex = _lex_table(eng, time_w, length_w, k, tau, nodes)
    else:  # pragma: no cover - would need a continent-sized graph
        raise RuntimeError("path weights do not fit RoutingKit's 31 bits")
    durations = np.rint(time_ms / 1000.0).astype(np.int64)
    return TravelMatrix(snaps.ids, durations, length_m, snaps.distance_m.copy(), snaps)


def _central_point(snaps: Snaps) -> int:
    """Index of the snapped point nearest the points' mean (a hub for time bounds)."""
    d = (snaps.lat - snaps.lat.mean()) ** 2 + (snaps.lon - snaps.lon.mean()) ** 2
    return int(np.argmin(d))


def _lexicographic_scale(split: SplitGraph, time_w: np.ndarray, t_bound: int) -> tuple[int, int]:
    """Pick K (> any candidate path length, m) and tau (ms) so K * T / tau fits 31 bits."""
    # metres per millisecond bounds a path's length by its time: L <= v * T
    v_max = float(np.max(split.length_m / time_w))
    # margins cover per-arc rounding; a miss is caught and retried by the caller
    k = int(math.ceil(v_max * t_bound * 1.1)) + 64
    tau = max(1, math.ceil(k * (t_bound * 1.1 + 1000) / (INF_WEIGHT - 1)))
    return k, tau


def _lex_table(
    eng: _ScipyEngine | _CCHEngine,
    time_w: np.ndarray,
    length_w: np.ndarray,
    k: int,
    tau: int,
    nodes: np.ndarray,
) -> np.ndarray:
    """Table of ``K * time_q + length``: fastest (to ``tau`` ms) paths, ties broken by length."""
    tq = np.rint(time_w / tau).astype(np.int64)
    # an arc longer than every path that matters may be clipped: it is never used
    lex = np.clip(k * tq + length_w, 1, INF_WEIGHT - 1)
    return eng.metric(lex).table(nodes, nodes)


def _check_reachable_hub(
    to_hub: np.ndarray, from_hub: np.ndarray, hub: int, ids: tuple[object, ...]
) -> None:
    # every point reaches every other through the hub iff it reaches the hub
    # and the hub reaches it: a failure here is a real unreachable pair
    for i in np.flatnonzero(to_hub >= INF_WEIGHT):
        raise UnreachableLocation(ids[i], ids[hub])
    for i in np.flatnonzero(from_hub >= INF_WEIGHT):
        raise UnreachableLocation(ids[hub], ids[i])


def _check_reachable(table: np.ndarray, ids: tuple[object, ...]) -> None:
    bad = np.argwhere(table >= INF_WEIGHT)
    if len(bad):
        i, j = bad[0]
        raise UnreachableLocation(ids[i], ids[j])
