"""Fixtures for geo tests: the shared OSM extracts (skipped where absent) and graphs.

The extracts live in ``../shared/data/osm`` beside the repository (override
with ``CAREROUTE_SHARED_DATA``). Graphs are cached in a per-session temporary
folder, never in the user's cache.
"""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import numpy as np
import pytest

import geo


def shared_data() -> Path:
    env = os.environ.get("CAREROUTE_SHARED_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2].parent / "shared" / "data"


def osm_path(name: str) -> Path:
    """Path of a shared OSM extract, or skip the test with the reason."""
    path = shared_data() / "osm" / name
    if not path.is_file():
        pytest.skip(f"needs the shared OSM extract {path} (set CAREROUTE_SHARED_DATA)")
    return path


AGUASCALIENTES = "aguascalientes.osm.pbf"
WEST_OAKLAND = "West-Oakland.drive.osm.bz2"
PLANET = "planet_10.068,48.135_10.071,48.137.drive.osm.bz2"


@pytest.fixture(autouse=True)
def _no_user_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    # a test that forgets cache_dir must still not write to ~/.cache
    monkeypatch.setenv("CAREROUTE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "default"))


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("graph-cache")


@pytest.fixture(scope="session")
def aguascalientes(cache_dir: Path) -> geo.RoadGraph:
    return geo.load_graph(osm_path(AGUASCALIENTES), cache_dir=cache_dir)


@pytest.fixture(scope="session")
def west_oakland(cache_dir: Path) -> geo.RoadGraph:
    return geo.load_graph(osm_path(WEST_OAKLAND), cache_dir=cache_dir)


def oracle(graph: geo.RoadGraph) -> nx.DiGraph:
    """An independent networkx view of the same graph: fastest parallel edge per node pair."""
    G = nx.DiGraph()
    G.add_nodes_from(range(graph.node_count))
    for e in np.argsort(-graph.travel_time_s):  # slowest first, so the fastest wins
        u, v = int(graph.edge_tail[e]), int(graph.edge_head[e])
        G.add_edge(u, v, travel_time=float(graph.travel_time_s[e]), length=float(graph.length_m[e]))
    return G


def node_point(graph: geo.RoadGraph, i: int) -> tuple[float, float]:
    return float(graph.node_lat[i]), float(graph.node_lon[i])
