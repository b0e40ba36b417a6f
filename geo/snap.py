"""Snap locations to the nearest point on a road edge (not merely the nearest node).

A home sits beside the middle of a street more often than at a junction;
snapping to nodes would add or drop up to a block of driving. Each location is
projected onto the nearest edge geometry (shapely STRtree, vectorised), and
the matrix then starts and ends the drive at that point, counting the partial
edge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely

from .exceptions import BadLocation, SnapTooFar
from .graph import RoadGraph, haversine_m

#: Default largest distance (m) between a location and the road it is snapped to.
DEFAULT_MAX_SNAP_M = 500.0


@dataclass(frozen=True, eq=False)
class Snaps:
    """Where each location meets the road network (one row per location).

    Attributes
    ----------
    ids : tuple
        The locations' ids (their indices when the caller gave none).
    edge : int64 array
        The edge each location lies on. Where the road is two-way, the edge's
        ``RoadGraph.edge_twin`` runs the same geometry the other way.
    fraction : float64 array
        Position along ``edge`` from its tail (0) to its head (1), by length.
    distance_m : float64 array
        Great-circle distance from the location to its road point, in metres.
    lat, lon : float64 arrays
        The road point, in degrees.
    """

    ids: tuple[object, ...]
    edge: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray
    lat: np.ndarray
    lon: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)


def location_ids(n: int, ids: Sequence[object] | None) -> tuple[object, ...]:
    """The ids errors name: ``ids`` if given (checked to match ``n``), else 0..n-1."""
    if ids is None:
        return tuple(range(n))
    ids = tuple(ids)
    if len(ids) != n:
        raise ValueError(f"got {len(ids)} ids for {n} points")
    return ids


def as_points(
    points: Sequence[Sequence[float]] | np.ndarray, ids: tuple[object, ...]
) -> np.ndarray:
    """Check ``points`` as (lat, lon) degrees and return them as an (n, 2) float array."""
    try:
        arr = np.asarray(points, dtype=np.float64).reshape(len(ids), 2)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"points must be a sequence of (lat, lon) pairs: {exc}") from exc
    for i in np.flatnonzero(~np.isfinite(arr).all(axis=1)):
        raise BadLocation(ids[i], f"lat/lon must be numbers, got {tuple(arr[i])}")
    bad = (np.abs(arr[:, 0]) > 90) | (np.abs(arr[:, 1]) > 180)
    for i in np.flatnonzero(bad):
        raise BadLocation(ids[i], f"lat {arr[i, 0]} / lon {arr[i, 1]} is out of range")
    return arr


def snap_points(
    graph: RoadGraph,
    points: Sequence[Sequence[float]] | np.ndarray,
    *,
    ids: Sequence[object] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
) -> Snaps:
    """Snap (lat, lon) points to the nearest point on a road, with the snap distance in metres.

    Parameters
    ----------
    graph
        The road graph.
    points
        (lat, lon) pairs in degrees.
    ids
        The locations' ids, used in error messages; default their indices.
    max_snap_m
        Largest allowed distance from a location to its road point, in metres.

    Returns
    -------
    Snaps

    Raises
    ------
    BadLocation
        A lat/lon that is not finite or out of range.
    SnapTooFar
        A location farther than ``max_snap_m`` from every road (in the sea,
        outside the extract); the error names the first such location.
    """
    ids_t = location_ids(len(points), ids)
    pts = as_points(points, ids_t)
    if len(pts) == 0:
        empty = np.zeros(0)
        return Snaps(ids_t, empty.astype(np.int64), empty, empty, empty, empty)
    roads, tree = graph.snap_index
    x, y = graph.to_xy(pts[:, 0], pts[:, 1])
    geoms = shapely.points(x, y)
    # one nearest road per point (all_matches=False breaks exact ties arbitrarily)
    (point_i, road_i) = tree.query_nearest(geoms, all_matches=False)
    edge = np.empty(len(pts), dtype=np.int64)
    edge[point_i] = roads[road_i]
    lines = graph.edge_lines[edge]
    with np.errstate(invalid="ignore", divide="ignore"):
        fraction = shapely.line_locate_point(lines, geoms, normalized=True)
    # a zero-length edge (duplicate nodes, see the OSM README) has no direction
    fraction = np.nan_to_num(np.clip(fraction, 0.0, 1.0), nan=0.0)
    on_road = shapely.line_interpolate_point(lines, fraction, normalized=True)
    lat, lon = graph.to_latlon(shapely.get_x(on_road), shapely.get_y(on_road))
    distance = haversine_m(pts[:, 0], pts[:, 1], lat, lon)
    for i in np.flatnonzero(distance > max_snap_m):
        raise SnapTooFar(ids_t[i], float(distance[i]), max_snap_m)
    return Snaps(ids_t, edge, fraction, distance, lat, lon)
