"""Road geometry of each leg of a route: coordinates, encoded polyline, GeoJSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import polyline as polyline_codec

from .exceptions import UnreachableLocation
from .graph import RoadGraph
from .matrix import Engine, SplitGraph, make_engine, split_graph
from .snap import DEFAULT_MAX_SNAP_M, snap_points

#: Decimal places of the encoded polyline (5: Google's format, ~1 m).
POLYLINE_PRECISION = 5


@dataclass(frozen=True)
class Leg:
    """The fastest road path from one location to the next (duration in s, distance in m).

    Attributes
    ----------
    from_id, to_id
        The two locations' ids (their indices if none were given).
    coordinates : tuple of (lat, lon)
        The path from the first location's road point to the second's.
    duration_s : int
        Travel time along the path, whole seconds (as in the matrix).
    distance_m : int
        Length of the path, whole metres.
    """

    from_id: object
    to_id: object
    coordinates: tuple[tuple[float, float], ...]
    duration_s: int
    distance_m: int

    @property
    def polyline(self) -> str:
        """The coordinates as an encoded polyline (Google's algorithm, precision 5)."""
        return str(polyline_codec.encode(list(self.coordinates), POLYLINE_PRECISION))

    def geojson(self) -> dict[str, Any]:
        """The leg as a GeoJSON Feature with a LineString (lon, lat order, per RFC 7946)."""
        return {
            "type": "Feature",
            "geometry": {
                "type": "LineString",
                "coordinates": [[lon, lat] for lat, lon in self.coordinates],
            },
            "properties": {
                "from": self.from_id,
                "to": self.to_id,
                "duration_s": self.duration_s,
                "distance_m": self.distance_m,
            },
        }


def leg_geometry(
    graph: RoadGraph,
    points: Sequence[Sequence[float]] | np.ndarray,
    *,
    ids: Sequence[object] | None = None,
    max_snap_m: float = DEFAULT_MAX_SNAP_M,
    engine: Engine = "auto",
) -> list[Leg]:
    """Return the fastest road path of each leg between consecutive points.

    Parameters
    ----------
    graph
        The road graph.
    points
        (lat, lon) pairs in route order; ``len(points) - 1`` legs result.
    ids
        The locations' ids, for the legs and error messages.
    max_snap_m
        Largest allowed distance from a location to its road, in metres.
    engine
        As in :func:`geo.travel_matrix`.

    Returns
    -------
    list of Leg

    Raises
    ------
    SnapTooFar, BadLocation, UnreachableLocation
        As in :func:`geo.travel_matrix`.
    """
    snaps = snap_points(graph, points, ids=ids, max_snap_m=max_snap_m)
    if len(snaps) < 2:
        return []
    split = split_graph(graph, snaps)
    time_w = split.time_ms()
    metric = make_engine(split, engine).metric(time_w)
    legs = []
    for i in range(len(snaps) - 1):
        a, b = int(split.point_node[i]), int(split.point_node[i + 1])
        arcs = [] if a == b else metric.path_arcs(a, b)
        if arcs is None:
            raise UnreachableLocation(snaps.ids[i], snaps.ids[i + 1])
        start = (float(snaps.lat[i]), float(snaps.lon[i]))
        coords = _path_coordinates(graph, split, arcs) if arcs else [start, start]
        legs.append(
            Leg(
                from_id=snaps.ids[i],
                to_id=snaps.ids[i + 1],
                coordinates=tuple(coords),
                duration_s=int(np.rint(time_w[arcs].sum() / 1000.0)),
                distance_m=int(np.rint(split.length_m[arcs].sum())),
            )
        )
    return legs


def _path_coordinates(
    graph: RoadGraph, split: SplitGraph, arcs: list[int]
) -> list[tuple[float, float]]:
    coords: list[tuple[float, float]] = []
    for arc in arcs:
        part = _edge_part(graph, int(split.base_edge[arc]), split.frac0[arc], split.frac1[arc])
        # consecutive arcs share their junction point: keep it once
        start = 1 if coords and coords[-1] == part[0] else 0
        coords.extend(part[start:])
    return coords


def _edge_part(graph: RoadGraph, e: int, f0: float, f1: float) -> list[tuple[float, float]]:
    """Coordinates of edge ``e`` between fractions ``f0 < f1`` of its length."""
    ll = graph.edge_coordinates(e)
    if f0 <= 0.0 and f1 >= 1.0:
        return [(float(lat), float(lon)) for lat, lon in ll]
    x, y = graph.to_xy(ll[:, 0], ll[:, 1])
    cum = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    total = cum[-1]
    if total <= 0.0:
        return [(float(ll[0, 0]), float(ll[0, 1]))] * 2
    d0, d1 = f0 * total, f1 * total
    inner = (cum > d0) & (cum < d1)
    ends = [np.interp([d0, d1], cum, ll[:, j]) for j in (0, 1)]
    lat = np.concatenate([ends[0][:1], ll[inner, 0], ends[0][1:]])
    lon = np.concatenate([ends[1][:1], ll[inner, 1], ends[1][1:]])
    return [(float(a), float(b)) for a, b in zip(lat, lon, strict=True)]
