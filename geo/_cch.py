"""Customizable contraction hierarchy (RoutingKit through ``pyroutingkit``), optional.

RoutingKit's CCH splits work into three phases: a node order (nested
dissection, ~0.4 s on 16k nodes, metric independent: computed once per graph
and cached with it), the hierarchy built from that order (milliseconds), and
a customization per weight vector (milliseconds). Queries then answer a
1000 x 1000 table in a fraction of a second.

pyroutingkit builds a topology only by computing a fresh order, which would
cost the full 0.4 s on every matrix (each matrix adds its own snapped points
as nodes). It does load a topology from a directory of raw ``uint32`` arrays
(``tail``, ``head``, ``order``, ``rank``, ``node_count``), so this module
writes that directory with the cached order extended by the new nodes.
Because that layout is not a documented API, :func:`available` checks once
that the installed version saves exactly what :func:`_write_topology`
writes, and the matrix code falls back to scipy otherwise.
"""

from __future__ import annotations

import tempfile
from functools import cache
from pathlib import Path

import numpy as np

try:  # optional dependency: the scipy engine works without it
    import pyroutingkit
except ImportError:  # pragma: no cover - exercised only where it is absent
    pyroutingkit = None

#: RoutingKit's "no path" weight. Input weights must stay below it, and every
#: path weight that matters must too (see geo.matrix for how that is ensured).
INF_WEIGHT = 2**31 - 1

_FILES = ("tail", "head", "order", "rank", "node_count")


def _write_topology(directory: Path, tail: np.ndarray, head: np.ndarray, order: np.ndarray) -> None:
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order), dtype=np.uint32)
    arrays = {
        "tail": tail,
        "head": head,
        "order": order,
        "rank": rank,
        "node_count": np.array([len(order)]),
    }
    for name, arr in arrays.items():
        np.ascontiguousarray(arr, dtype=np.uint32).tofile(directory / name)


@cache
def available() -> bool:
    """Return True if pyroutingkit is installed and its topology files are as expected."""
    if pyroutingkit is None:
        return False
    tail = np.array([0, 1, 2, 3, 1], dtype=np.uint32)
    head = np.array([1, 2, 3, 0, 0], dtype=np.uint32)
    try:
        topo = pyroutingkit.CCHTopology()
        topo.build(tail, head, np.zeros(4, np.float32), np.arange(4, dtype=np.float32), 4)
        with tempfile.TemporaryDirectory() as d1, tempfile.TemporaryDirectory() as d2:
            topo.save(d1)
            order = np.fromfile(Path(d1) / "order", dtype=np.uint32)
            _write_topology(Path(d2), tail, head, order)
            same_files = sorted(p.name for p in Path(d1).iterdir()) == sorted(_FILES)
            return same_files and all(
                (Path(d1) / f).read_bytes() == (Path(d2) / f).read_bytes() for f in _FILES
            )
    except Exception:  # any surprise means: do not trust the file layout
        return False


def compute_order(
    tail: np.ndarray, head: np.ndarray, lat: np.ndarray, lon: np.ndarray
) -> np.ndarray:
    """Nested-dissection node order (uint32, position -> node) for a CCH of this graph."""
    if not available():
        return np.zeros(0, dtype=np.uint32)
    n = len(lat)
    topo = pyroutingkit.CCHTopology()
    topo.build(
        np.asarray(tail, np.uint32),
        np.asarray(head, np.uint32),
        np.asarray(lat, np.float32),
        np.asarray(lon, np.float32),
        n,
    )
    with tempfile.TemporaryDirectory() as d:
        topo.save(d)
        return np.fromfile(Path(d) / "order", dtype=np.uint32)


class CCH:
    """A CCH over given arcs, built from a precomputed node order (milliseconds)."""

    def __init__(self, tail: np.ndarray, head: np.ndarray, order: np.ndarray) -> None:
        self._topology = pyroutingkit.CCHTopology()
        with tempfile.TemporaryDirectory() as d:
            _write_topology(Path(d), tail, head, np.asarray(order, np.uint32))
            self._topology.load(d)

    def metric(self, weights: np.ndarray) -> CCHMetric:
        """Customize the hierarchy with one weight (uint32 < INF_WEIGHT) per input arc."""
        return CCHMetric(self._topology, weights)


class CCHMetric:
    """One customized weight vector: tables and point-to-point paths."""

    def __init__(self, topology: object, weights: np.ndarray) -> None:
        self._metric = pyroutingkit.CCHMetric(topology)
        self._metric.customize(np.ascontiguousarray(weights, dtype=np.uint32))

    def table(self, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Many-to-many path weights (int64; ``INF_WEIGHT`` where there is no path)."""
        out = self._metric.distances_many_to_many(
            np.ascontiguousarray(sources, dtype=np.uint32),
            np.ascontiguousarray(targets, dtype=np.uint32),
        )
        return out.astype(np.int64)

    def to_target(self, sources: np.ndarray, target: int) -> np.ndarray:
        """Path weights from each source to one target (int64, shape (len(sources),))."""
        return self.table(sources, np.array([target]))[:, 0]

    def path_arcs(self, source: int, target: int) -> list[int] | None:
        """Input-arc indices of a shortest path, or None if there is none."""
        distance, _nodes, arcs = self._metric.query(int(source), int(target))
        if distance >= INF_WEIGHT:
            return None
        return list(arcs)
