"""Road travel times from OpenStreetMap: load, cache, snap, matrix, leg geometry.

Reads like osmnx: plain functions, the graph first::

    import geo

    graph = geo.load_graph("porto_center_clip.drive.osm.bz2")   # cached after the first load
    m = geo.travel_matrix(graph, [(41.15, -8.61), (41.16, -8.63)], ids=["v-1", "v-2"])
    m.durations_s, m.distances_m, m.snap_distances_m
    legs = geo.leg_geometry(graph, [(41.15, -8.61), (41.16, -8.63)])
    legs[0].polyline, legs[0].geojson()

Map data © OpenStreetMap contributors (ODbL): anything that shows matrices or
routes built from it must say so. :mod:`geo` imports nothing from ``app`` or
``routing``.
"""

from .exceptions import (
    BadLocation,
    BadOsmFile,
    GeoError,
    GraphCacheError,
    SnapTooFar,
    UnreachableLocation,
)
from .geometry import Leg, leg_geometry
from .graph import RoadGraph
from .load import (
    default_cache_dir,
    graph_from_bbox,
    graph_from_networkx,
    graph_from_place,
    load_graph,
)
from .matrix import TravelMatrix, travel_matrix
from .snap import DEFAULT_MAX_SNAP_M, Snaps, snap_points

#: Credit line required by the ODbL wherever results are shown.
ATTRIBUTION = "© OpenStreetMap contributors"

__all__ = [
    "ATTRIBUTION",
    "DEFAULT_MAX_SNAP_M",
    "BadLocation",
    "BadOsmFile",
    "GeoError",
    "GraphCacheError",
    "Leg",
    "RoadGraph",
    "SnapTooFar",
    "Snaps",
    "TravelMatrix",
    "UnreachableLocation",
    "default_cache_dir",
    "graph_from_bbox",
    "graph_from_networkx",
    "graph_from_place",
    "leg_geometry",
    "load_graph",
    "snap_points",
    "travel_matrix",
]
