"""Read OSM extracts (``.osm``, ``.osm.bz2``, ``.osm.gz``, ``.osm.pbf``) into an osmnx graph.

osmnx 2.x ``graph_from_xml`` turns every way of a file into edges (buildings,
footways, fences) and cannot read PBF at all, so the file is read here with
pyosmium (libosmium, C++), only drivable ways are kept, and osmnx builds,
simplifies and times the graph from those. See shared/data/osm/README.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import networkx as nx
import osmium
import osmnx as ox

from .exceptions import BadOsmFile

#: ``highway`` values a car may use ("*_link" ramps of the first five included).
DRIVE_HIGHWAYS = frozenset(
    {
        "motorway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "unclassified",
        "residential",
        "living_street",
        "service",
        "road",
        "motorway_link",
        "trunk_link",
        "primary_link",
        "secondary_link",
        "tertiary_link",
    }
)

#: ``service=*`` values dropped: car parks and private driveways are not through
#: roads (osmnx's "drive_service" filter drops the same, plus driveways here).
EXCLUDED_SERVICE = frozenset(
    {"parking_aisle", "parking", "driveway", "private", "emergency_access"}
)

#: Speed (km/h) for a highway type that has no ``maxspeed`` tag anywhere in the
#: extract. Types with some tagged edges get the mean of those instead (osmnx's
#: imputation), so this table only fills gaps, e.g. West Oakland has no tag at all.
#: Values are typical urban free-flow speeds, not legal limits.
FALLBACK_SPEED_KPH: Mapping[str, float] = {
    "motorway": 100.0,
    "motorway_link": 60.0,
    "trunk": 80.0,
    "trunk_link": 50.0,
    "primary": 60.0,
    "primary_link": 45.0,
    "secondary": 50.0,
    "secondary_link": 40.0,
    "tertiary": 40.0,
    "tertiary_link": 35.0,
    "unclassified": 30.0,
    "residential": 30.0,
    "road": 30.0,
    "living_street": 10.0,
    "service": 15.0,
}

#: Speed (km/h) for any highway type missing from :data:`FALLBACK_SPEED_KPH`.
DEFAULT_SPEED_KPH = 30.0

Progress = Callable[[str], None]


def is_drivable(tags: Mapping[str, str] | osmium.osm.TagList) -> bool:
    """Return True for a way a car may use (mirrors osmnx's drive filter)."""
    highway = tags.get("highway")
    if highway not in DRIVE_HIGHWAYS:
        return False
    if highway == "service" and tags.get("service") in EXCLUDED_SERVICE:
        return False
    if tags.get("area") == "yes" or "private" in (tags.get("access") or ""):
        return False
    return tags.get("motor_vehicle") != "no" and tags.get("motorcar") != "no"


def read_drivable_elements(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """Read the drivable ways of an OSM file and the nodes they use, as Overpass-style JSON.

    Parameters
    ----------
    path
        An OSM extract; the format follows the suffix (``.osm``, ``.osm.bz2``,
        ``.osm.gz``, ``.osm.pbf``), as in every osmium tool.

    Returns
    -------
    dict
        ``{"elements": [...]}`` with one ``node`` element per node a kept way
        uses and one ``way`` element per kept way, the shape osmnx builds graphs from.

    Raises
    ------
    BadOsmFile
        Missing, truncated or garbage file, or one without any drivable way.
    """
    path = Path(path)
    if not path.is_file():
        raise BadOsmFile(path, "no such file")
    useful_way_tags = set(ox.settings.useful_tags_way)
    nodes: dict[int, tuple[float, float]] = {}
    ways: list[dict[str, Any]] = []
    try:
        # with_locations() keeps every node's location in an index and hands it
        # to the ways, so one pass suffices even for unsorted files (Columbus)
        fp = osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY).with_locations()
        for obj in fp:
            if not isinstance(obj, osmium.osm.Way) or not is_drivable(obj.tags):
                continue
            refs = []
            for n in obj.nodes:
                # a clipped extract may reference nodes outside its box: skip those
                if n.location.valid():
                    refs.append(n.ref)
                    nodes[n.ref] = (n.location.lat, n.location.lon)
            if len(refs) < 2:
                continue
            tags = {t.k: t.v for t in obj.tags if t.k in useful_way_tags}
            ways.append({"type": "way", "id": obj.id, "nodes": refs, "tags": tags})
    except Exception as exc:  # osmium reports every parse problem as RuntimeError & co.
        raise BadOsmFile(path, f"{type(exc).__name__}: {exc}") from exc
    if not ways:
        raise BadOsmFile(path, "no drivable road in the file")
    elements: list[dict[str, Any]] = [
        {"type": "node", "id": i, "lat": lat, "lon": lon} for i, (lat, lon) in nodes.items()
    ]
    elements.extend(ways)
    return {"elements": elements}


def graph_from_osm_file(path: str | Path, *, progress: Progress | None = None) -> nx.MultiDiGraph:
    """Build the simplified, timed, strongly connected drivable osmnx graph of an OSM file.

    Parameters
    ----------
    path
        The OSM extract (see :func:`read_drivable_elements`).
    progress
        Called with a human-readable line before each slow step.

    Returns
    -------
    networkx.MultiDiGraph
        Edges carry ``length`` (m), ``speed_kph`` and ``travel_time`` (s).
    """
    say = progress or (lambda _msg: None)
    say(f"reading drivable roads from {Path(path).name}")
    data = read_drivable_elements(path)
    n_ways = sum(1 for e in data["elements"] if e["type"] == "way")
    say(f"building the road graph from {len(data['elements']) - n_ways:,} nodes, {n_ways:,} ways")
    G = _create_graph(data)
    G = ox.truncate.largest_component(G, strongly=False)
    say(f"simplifying {len(G):,} nodes")
    G = ox.simplify_graph(G)
    return add_travel_times(G, progress=say)


def add_travel_times(G: nx.MultiDiGraph, *, progress: Progress | None = None) -> nx.MultiDiGraph:
    """Add ``speed_kph`` and ``travel_time`` (s) to every edge and keep the largest SCC.

    Speeds: the way's ``maxspeed``; else the mean tagged speed of its highway
    type in this graph (osmnx); else :data:`FALLBACK_SPEED_KPH` for its type;
    else :data:`DEFAULT_SPEED_KPH`.
    """
    say = progress or (lambda _msg: None)
    say(f"adding speeds and travel times to {G.number_of_edges():,} edges")
    tagged: set[str] = set()
    types: set[str] = set()
    for _u, _v, data in G.edges(data=True):
        # osmnx keeps the first highway type of a simplified edge; do the same
        hwy = data.get("highway")
        hwy = str(hwy[0] if isinstance(hwy, list) else hwy)
        types.add(hwy)
        if data.get("maxspeed") is not None:
            tagged.add(hwy)
    hwy_speeds = {t: FALLBACK_SPEED_KPH.get(t, DEFAULT_SPEED_KPH) for t in types - tagged}
    G = ox.add_edge_speeds(G, hwy_speeds=hwy_speeds or None, fallback=DEFAULT_SPEED_KPH)
    G = ox.add_edge_travel_times(G)
    say("keeping the largest strongly connected part")
    return ox.truncate.largest_component(G, strongly=True)


def _create_graph(data: dict[str, list[dict[str, Any]]]) -> nx.MultiDiGraph:
    """Let osmnx turn Overpass-style elements into a MultiDiGraph (one-way rules, lengths)."""
    # osmnx's graph_from_xml does exactly this after parsing XML; calling its
    # builder directly skips writing and re-parsing a filtered XML file
    return ox.graph._create_graph([data], bidirectional=False)
