"""Load a road graph from an OSM extract, through an on-disk cache of compact arrays.

The first load of a file parses it (seconds to a minute) and writes
``<cache_dir>/graphs/<name>.<sha256>.<settings>.npz``; later loads read that
file in well under a second. The key holds the SHA-256 of the file's bytes and
a hash of every setting that shapes the graph, so an edited extract or a new
speed table never reuses an old graph. A cache that cannot be read or does not
match is rebuilt, never trusted.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

import networkx as nx
import numpy as np
import osmnx as ox

from . import _cch
from .exceptions import BadOsmFile, GraphCacheError
from .graph import CACHE_FORMAT, RoadGraph, from_networkx, load_npz, save_npz
from .osm import (
    DEFAULT_SPEED_KPH,
    DRIVE_HIGHWAYS,
    EXCLUDED_SERVICE,
    FALLBACK_SPEED_KPH,
    Progress,
    add_travel_times,
    graph_from_osm_file,
)


def default_cache_dir() -> Path:
    """Graph cache folder: ``$CAREROUTE_CACHE_DIR`` if set, else ``~/.cache/careroute``."""
    env = os.environ.get("CAREROUTE_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "careroute"


def settings_hash() -> str:
    """Hash of everything besides the file that shapes a built graph (12 hex digits)."""
    settings = {
        "cache_format": CACHE_FORMAT,
        "drive_highways": sorted(DRIVE_HIGHWAYS),
        "excluded_service": sorted(EXCLUDED_SERVICE),
        "fallback_speed_kph": dict(sorted(FALLBACK_SPEED_KPH.items())),
        "default_speed_kph": DEFAULT_SPEED_KPH,
        # another osmnx may simplify or impute speeds differently
        "osmnx": ".".join(version("osmnx").split(".")[:2]),
        # a graph cached without a CCH order is rebuilt once pyroutingkit is installed
        "cch_order": _cch.available(),
    }
    blob = json.dumps(settings, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def cache_path(
    path: str | Path,
    cache_dir: str | Path | None = None,
    *,
    sha256: str | None = None,
    settings: str | None = None,
) -> Path:
    """Where the cached graph of the OSM file ``path`` lives (the cache file need not exist).

    ``sha256`` and ``settings`` default to :func:`file_sha256` of the file and
    :func:`settings_hash`; pass them when already known.
    """
    path = Path(path)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.name.split(".osm")[0])[:60]
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    sha256 = sha256 or file_sha256(path)
    settings = settings or settings_hash()
    return folder / "graphs" / f"{stem}.{sha256[:16]}.{settings}.npz"


def load_graph(
    path: str | Path,
    *,
    cache_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> RoadGraph:
    """Load the drivable road graph of an OSM extract (times in s, lengths in m), cached on disk.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2``, ``.osm.gz`` or ``.osm.pbf`` file. Only drivable
        ways are kept (:func:`geo.osm.is_drivable`), and only the largest
        strongly connected part, so every pair of nodes has a path.
    cache_dir
        Cache folder; default :func:`default_cache_dir`.
    progress
        Called with a human-readable line before each slow step (parsing a
        large extract the first time takes tens of seconds).

    Returns
    -------
    RoadGraph

    Raises
    ------
    BadOsmFile
        The file is missing, truncated, not OSM, or holds no drivable road.
    """
    say = progress or (lambda _msg: None)
    path = Path(path)
    if not path.is_file():
        raise BadOsmFile(path, "no such file")
    sha = file_sha256(path)
    settings = settings_hash()
    target = cache_path(path, cache_dir, sha256=sha, settings=settings)
    expect = {"source_sha256": sha, "settings": settings}
    if target.exists():
        try:
            return load_npz(target, expect_meta=expect)
        except GraphCacheError as exc:
            say(f"ignoring graph cache ({exc}); rebuilding")

    G = graph_from_osm_file(path, progress=say)
    meta = {"source": path.name, **expect}
    graph = _finish(G, meta, say)
    try:
        save_npz(graph, target)
        say(f"cached the graph in {target}")
    except OSError as exc:  # a read-only cache folder must not stop the load
        say(f"could not write the graph cache {target}: {exc}")
    return graph


def graph_from_networkx(G: nx.MultiDiGraph, *, source: str = "networkx") -> RoadGraph:
    """Turn an osmnx graph into a RoadGraph, adding speeds and times if it has none.

    For graphs made elsewhere, e.g. ``ox.graph_from_place(..., network_type="drive")``
    on a host with internet (an optional source: tests and the CLI read files).
    """
    if not all("travel_time" in d for _, _, d in G.edges(data=True)):
        G = add_travel_times(G)
    else:
        G = ox.truncate.largest_component(G, strongly=True)
    return _finish(G, {"source": source}, lambda _msg: None)


def graph_from_place(query: str, *, progress: Progress | None = None) -> RoadGraph:
    """Download the drivable roads of a named place with osmnx (needs internet; not cached here).

    osmnx keeps its own HTTP cache of Overpass responses.
    """
    say = progress or (lambda _msg: None)
    say(f"downloading drivable roads of {query!r} from the Overpass API")
    G = ox.graph_from_place(query, network_type="drive", simplify=True)
    return _finish(add_travel_times(G, progress=say), {"source": f"place:{query}"}, say)


def graph_from_bbox(
    bbox: tuple[float, float, float, float], *, progress: Progress | None = None
) -> RoadGraph:
    """Download the drivable roads in ``(west, south, east, north)`` degrees (needs internet)."""
    say = progress or (lambda _msg: None)
    say(f"downloading drivable roads in {bbox} from the Overpass API")
    G = ox.graph_from_bbox(bbox, network_type="drive", simplify=True)
    return _finish(add_travel_times(G, progress=say), {"source": f"bbox:{list(bbox)}"}, say)


def _finish(G: nx.MultiDiGraph, meta: Mapping[str, object], say: Progress) -> RoadGraph:
    if len(G) == 0:
        raise BadOsmFile(str(meta.get("source")), "no drivable road left")
    graph = from_networkx(G, meta=dict(meta, nodes=len(G), edges=G.number_of_edges()))
    if _cch.available():
        say(f"ordering {graph.node_count:,} nodes for the contraction hierarchy")
        order = _cch.compute_order(graph.edge_tail, graph.edge_head, graph.node_lat, graph.node_lon)
        graph = dataclasses.replace(graph, cch_order=order.astype(np.uint32))
    return graph
