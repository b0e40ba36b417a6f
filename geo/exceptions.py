"""Errors raised by :mod:`geo`.

The tree::

    GeoError
     ├── BadOsmFile(GeoError, ValueError)           the extract cannot be read (missing,
     │                                              truncated, garbage, no drivable road)
     ├── BadLocation(GeoError, ValueError)          a lat/lon that is not a coordinate
     ├── SnapTooFar(GeoError, ValueError)           a location is farther from every road
     │                                              than the allowed snap distance
     ├── UnreachableLocation(GeoError, ValueError)  no road path from one location to another
     └── GraphCacheError(GeoError)                  a cache file is stale or corrupt; caught
                                                    inside :func:`geo.load_graph`, which
                                                    rebuilds the graph instead of trusting it

Every error about a location names it: its id when the caller gave ids, else
its index in the input sequence.
"""

from __future__ import annotations

from pathlib import Path


class GeoError(Exception):
    """Base class of every error raised by :mod:`geo`."""


class BadOsmFile(GeoError, ValueError):
    """An OSM extract that cannot be turned into a road graph."""

    def __init__(self, path: str | Path, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"cannot read OSM extract {self.path}: {reason}")


class BadLocation(GeoError, ValueError):
    """A location whose lat/lon is missing, not finite or out of range."""

    def __init__(self, location_id: object, reason: str) -> None:
        self.location_id = location_id
        super().__init__(f"location {location_id!r}: {reason}")


class SnapTooFar(GeoError, ValueError):
    """A location lies farther than ``max_snap_m`` from every road of the graph."""

    def __init__(self, location_id: object, distance_m: float, max_snap_m: float) -> None:
        self.location_id = location_id
        self.distance_m = float(distance_m)
        self.max_snap_m = float(max_snap_m)
        super().__init__(
            f"location {location_id!r} is {self.distance_m:,.0f} m from the nearest road "
            f"(the limit is {self.max_snap_m:,.0f} m): is it outside the map extract?"
        )


class UnreachableLocation(GeoError, ValueError):
    """No road path leads from one location to another (one-way dead end, island)."""

    def __init__(self, from_id: object, to_id: object) -> None:
        self.from_id = from_id
        self.to_id = to_id
        super().__init__(f"no road path from location {from_id!r} to location {to_id!r}")


class GraphCacheError(GeoError):
    """A cached graph file is unreadable or does not match its source and settings."""
