"""Shared fixtures for the benchmark tests: the small real road graph they generate days on."""

from __future__ import annotations

import pytest

import geo
from bench.instances import shared_data


@pytest.fixture(scope="session")
def graph(tmp_path_factory: pytest.TempPathFactory) -> geo.RoadGraph:
    """The Aguascalientes extract from ../shared/data, loaded once (skips without it)."""
    path = shared_data() / "osm" / "aguascalientes.drive.osm.bz2"
    if not path.is_file():
        pytest.skip(f"needs the shared OSM extract {path} (set CAREROUTE_SHARED_DATA)")
    return geo.load_graph(path, cache_dir=tmp_path_factory.mktemp("graphs"))
