"""The road graph as compact arrays: what the matrix, snapping and geometry code read.

A :class:`RoadGraph` is a directed graph in CSR form (edges sorted by tail node),
with per-edge travel time in seconds, length in metres and the edge's road
geometry as a run of (lat, lon) points. It is built once from an osmnx graph
(:func:`from_networkx`) and saved to / loaded from a single ``.npz`` file
(:func:`save_npz` / :func:`load_npz`), so a warm start never touches networkx.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import shapely

from .exceptions import GraphCacheError

#: Bumped whenever the arrays or their meaning change: an older cache is rebuilt.
CACHE_FORMAT = 1

#: Mean Earth radius (m), the one osmnx uses for great-circle lengths.
EARTH_RADIUS_M = 6_371_009.0

_ARRAYS = (
    "node_lat",
    "node_lon",
    "node_osmid",
    "indptr",
    "edge_head",
    "travel_time_s",
    "length_m",
    "edge_twin",
    "geometry_ptr",
    "geometry_lat",
    "geometry_lon",
    "cch_order",
)


@dataclass(frozen=True, eq=False)
class RoadGraph:
    """A drivable, strongly connected road graph in CSR arrays (times in s, lengths in m).

    Edge ``e`` runs from ``edge_tail[e]`` to ``edge_head[e]``; edges are sorted by
    tail, so the edges leaving node ``i`` are ``indptr[i]:indptr[i + 1]``. Parallel
    edges (two roads between the same nodes) are kept: each has its own geometry.

    Attributes
    ----------
    node_lat, node_lon : float64 arrays, shape (n,)
        Node coordinates in degrees (WGS84).
    node_osmid : int64 array, shape (n,)
        OSM node id of each node.
    indptr : int64 array, shape (n + 1,)
        CSR row pointer over the edges.
    edge_head : int32 array, shape (m,)
        Head node of each edge.
    travel_time_s : float64 array, shape (m,)
        Free-flow travel time of each edge in seconds.
    length_m : float64 array, shape (m,)
        Length of each edge along its geometry in metres.
    edge_twin : int32 array, shape (m,)
        The edge running the same road the other way (a two-way street), or -1
        on a one-way street. Snapping uses it to leave a point both ways.
    geometry_ptr : int64 array, shape (m + 1,)
        Edge ``e``'s geometry is points ``geometry_ptr[e]:geometry_ptr[e + 1]`` of
        ``geometry_lat``/``geometry_lon``, from tail to head (both ends included).
    geometry_lat, geometry_lon : float64 arrays
        The concatenated edge geometries.
    cch_order : uint32 array, shape (n,) or (0,)
        A nested-dissection node order for a contraction hierarchy, computed
        once at build time and cached with the graph; empty if no CCH library
        was available then.
    meta : dict
        Where the graph came from: source file, its SHA-256, the build settings
        and counts. Stored in the cache and checked on load.
    """

    node_lat: np.ndarray
    node_lon: np.ndarray
    node_osmid: np.ndarray
    indptr: np.ndarray
    edge_head: np.ndarray
    travel_time_s: np.ndarray
    length_m: np.ndarray
    edge_twin: np.ndarray
    geometry_ptr: np.ndarray
    geometry_lat: np.ndarray
    geometry_lon: np.ndarray
    cch_order: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.uint32))
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, m = len(self.node_lat), len(self.edge_head)
        checks = {
            "node_lon": len(self.node_lon) == n,
            "node_osmid": len(self.node_osmid) == n,
            "indptr": len(self.indptr) == n + 1 and (n == 0 or self.indptr[-1] == m),
            "travel_time_s": len(self.travel_time_s) == m,
            "length_m": len(self.length_m) == m,
            "edge_twin": len(self.edge_twin) == m,
            "geometry_ptr": len(self.geometry_ptr) == m + 1,
            "geometry_lon": len(self.geometry_lon) == len(self.geometry_lat),
            "cch_order": len(self.cch_order) in (0, n),
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"RoadGraph arrays of inconsistent shape: {', '.join(bad)}")
        if m and (self.edge_head.min() < 0 or self.edge_head.max() >= n):
            raise ValueError("RoadGraph.edge_head refers to a node that does not exist")
        if m and not (np.all(np.isfinite(self.travel_time_s)) and self.travel_time_s.min() >= 0):
            raise ValueError("RoadGraph.travel_time_s must be finite and >= 0")

    @property
    def node_count(self) -> int:
        """Number of nodes."""
        return len(self.node_lat)

    @property
    def edge_count(self) -> int:
        """Number of directed edges."""
        return len(self.edge_head)

    @cached_property
    def edge_tail(self) -> np.ndarray:
        """Tail node of each edge (int32, shape (m,)), expanded from ``indptr``."""
        counts = np.diff(self.indptr)
        return np.repeat(np.arange(self.node_count, dtype=np.int32), counts)

    @cached_property
    def projection(self) -> tuple[float, float, float]:
        """Local equirectangular projection (lat0, lon0, cos(lat0)) around the graph's centre.

        Metric coordinates are only used to find the nearest road and the
        fraction along it; over a city (tens of km) the scale error stays well
        under 1 %, and reported snap distances are great-circle anyway.
        """
        lat0 = float((self.node_lat.min() + self.node_lat.max()) / 2) if self.node_count else 0.0
        lon0 = float((self.node_lon.min() + self.node_lon.max()) / 2) if self.node_count else 0.0
        return lat0, lon0, math.cos(math.radians(lat0))

    def to_xy(self, lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Project degrees to local metres (x east, y north) around the graph's centre."""
        lat0, lon0, coslat = self.projection
        k = math.pi / 180 * EARTH_RADIUS_M
        return (np.asarray(lon) - lon0) * k * coslat, (np.asarray(lat) - lat0) * k

    def to_latlon(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Inverse of :meth:`to_xy`: local metres back to (lat, lon) degrees."""
        lat0, lon0, coslat = self.projection
        k = math.pi / 180 * EARTH_RADIUS_M
        return np.asarray(y) / k + lat0, np.asarray(x) / (k * coslat) + lon0

    @cached_property
    def edge_lines(self) -> np.ndarray:
        """Each edge's geometry as a shapely LineString in local metres (built on first use)."""
        x, y = self.to_xy(self.geometry_lat, self.geometry_lon)
        counts = np.diff(self.geometry_ptr)
        owner = np.repeat(np.arange(self.edge_count), counts)
        return shapely.linestrings(np.column_stack([x, y]), indices=owner)

    @cached_property
    def snap_index(self) -> tuple[np.ndarray, shapely.STRtree]:
        """Edges to snap onto (one per road: a twin shares its geometry) and an STRtree of them."""
        e = np.arange(self.edge_count)
        roads = e[(self.edge_twin < 0) | (e < self.edge_twin)]
        return roads, shapely.STRtree(self.edge_lines[roads])

    def edge_coordinates(self, e: int) -> np.ndarray:
        """Geometry of edge ``e`` as an array of (lat, lon) rows, tail to head."""
        a, b = self.geometry_ptr[e], self.geometry_ptr[e + 1]
        return np.column_stack([self.geometry_lat[a:b], self.geometry_lon[a:b]])

    def __repr__(self) -> str:
        src = self.meta.get("source", "?")
        return f"<RoadGraph {self.node_count:,} nodes, {self.edge_count:,} edges from {src}>"


def from_networkx(G: nx.MultiDiGraph, meta: dict[str, Any] | None = None) -> RoadGraph:
    """Convert an osmnx graph with ``length`` (m) and ``travel_time`` (s) edges to a RoadGraph.

    Parameters
    ----------
    G
        An osmnx MultiDiGraph (unprojected, nodes with ``x``/``y`` in degrees)
        whose edges carry ``length`` and ``travel_time``; edges without a
        ``geometry`` are straight lines between their nodes.
    meta
        Provenance stored with the graph (see :attr:`RoadGraph.meta`).

    Returns
    -------
    RoadGraph
    """
    osmids = np.fromiter(G.nodes, dtype=np.int64, count=len(G))
    index = {int(n): i for i, n in enumerate(osmids)}
    lat = np.array([G.nodes[n]["y"] for n in G.nodes], dtype=np.float64)
    lon = np.array([G.nodes[n]["x"] for n in G.nodes], dtype=np.float64)

    tails, heads, times, lengths, geoms = [], [], [], [], []
    for u, v, data in G.edges(data=True):
        iu, iv = index[int(u)], index[int(v)]
        tails.append(iu)
        heads.append(iv)
        times.append(float(data["travel_time"]))
        lengths.append(float(data["length"]))
        geom = data.get("geometry")
        if geom is None:
            geoms.append(np.array([[lat[iu], lon[iu]], [lat[iv], lon[iv]]]))
        else:
            xy = np.asarray(geom.coords)
            geoms.append(np.column_stack([xy[:, 1], xy[:, 0]]))

    tail = np.asarray(tails, dtype=np.int32)
    # stable sort keeps parallel edges in networkx order, so a rebuild is identical
    order = np.argsort(tail, kind="stable")
    tail = tail[order]
    head = np.asarray(heads, dtype=np.int32)[order]
    geoms = [geoms[i] for i in order]
    counts = np.array([len(g) for g in geoms], dtype=np.int64)
    geometry_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    allpts = np.concatenate(geoms) if geoms else np.zeros((0, 2))
    indptr = np.searchsorted(tail, np.arange(len(lat) + 1)).astype(np.int64)

    return RoadGraph(
        node_lat=lat,
        node_lon=lon,
        node_osmid=osmids,
        indptr=indptr,
        edge_head=head,
        travel_time_s=np.asarray(times, dtype=np.float64)[order],
        length_m=np.asarray(lengths, dtype=np.float64)[order],
        edge_twin=_find_twins(tail, head, allpts, geometry_ptr),
        geometry_ptr=geometry_ptr,
        geometry_lat=np.ascontiguousarray(allpts[:, 0]),
        geometry_lon=np.ascontiguousarray(allpts[:, 1]),
        meta=dict(meta or {}),
    )


def _find_twins(tail: np.ndarray, head: np.ndarray, pts: np.ndarray, ptr: np.ndarray) -> np.ndarray:
    """Pair each edge with the edge running the same geometry backwards (-1 if none)."""
    twin = np.full(len(tail), -1, dtype=np.int32)
    start, end = ptr[:-1], ptr[1:]
    # key on the end nodes plus the geometry's second point, so two different
    # roads between the same pair of nodes are not mistaken for twins; the
    # reverse edge's second point is this edge's second-to-last one
    has_mid = end - start > 2
    second = np.round(pts[np.where(has_mid, start + 1, end - 1)] * 1e7).astype(np.int64)
    second_last = np.round(pts[np.where(has_mid, end - 2, start)] * 1e7).astype(np.int64)
    by_key: dict[tuple[int, int, int, int], int] = {}
    for e, key in enumerate(zip(tail.tolist(), head.tolist(), *second.T.tolist(), strict=True)):
        by_key.setdefault(key, e)
    back = zip(head.tolist(), tail.tolist(), *second_last.T.tolist(), strict=True)
    for e, key in enumerate(back):
        f = by_key.get(key)
        if f is not None and f != e:
            twin[e] = f
    # keep only mutual pairs, so "one edge per road" (snap_index) is well defined
    paired = twin >= 0
    mutual = np.zeros(len(twin), dtype=bool)
    mutual[paired] = twin[twin[paired]] == np.flatnonzero(paired)
    twin[~mutual] = -1
    return twin


def haversine_m(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    """Great-circle distance in metres between coordinate arrays (degrees)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def save_npz(graph: RoadGraph, path: str | Path) -> None:
    """Write ``graph`` to one compressed-free ``.npz`` file, atomically.

    The file appears under its final name only once fully written, so a crash
    or a concurrent reader never sees half a cache.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: getattr(graph, name) for name in _ARRAYS}
    meta = dict(graph.meta, cache_format=CACHE_FORMAT)
    arrays["meta_json"] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            # uncompressed: loading must be fast, and the arrays are small
            np.savez(fh, **arrays)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_npz(path: str | Path, *, expect_meta: dict[str, Any] | None = None) -> RoadGraph:
    """Read a graph written by :func:`save_npz`.

    Parameters
    ----------
    path
        The ``.npz`` file.
    expect_meta
        Meta entries the file must hold with these exact values (the source's
        hash and the settings); any difference means the cache is stale.

    Raises
    ------
    GraphCacheError
        The file is unreadable, truncated, of another format version, or its
        meta differs from ``expect_meta``.
    """
    try:
        # open the file ourselves: np.load leaks its handle when the zip is broken
        with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
            meta = json.loads(bytes(data["meta_json"]).decode())
            arrays = {name: data[name] for name in _ARRAYS}
    except Exception as exc:  # zipfile, OSError, KeyError, ValueError, JSON...
        raise GraphCacheError(f"unreadable graph cache {path}: {exc}") from exc
    if meta.get("cache_format") != CACHE_FORMAT:
        raise GraphCacheError(f"graph cache {path} has format {meta.get('cache_format')}")
    for key, value in (expect_meta or {}).items():
        if meta.get(key) != value:
            raise GraphCacheError(f"graph cache {path} is stale: {key} differs")
    try:
        return RoadGraph(**arrays, meta=meta)
    except ValueError as exc:
        raise GraphCacheError(f"graph cache {path} is inconsistent: {exc}") from exc
