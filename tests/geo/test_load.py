"""Loading OSM extracts: formats, drivable filter, speeds, connectivity, the disk cache."""

from __future__ import annotations

import bz2
import shutil
from pathlib import Path

import numpy as np
import osmnx as ox
import pytest
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

import geo
from geo import load as geo_load
from geo.graph import from_networkx, load_npz, save_npz
from geo.osm import FALLBACK_SPEED_KPH, add_travel_times

from .conftest import AGUASCALIENTES, PLANET, WEST_OAKLAND, osm_path


def _same_graph(a: geo.RoadGraph, b: geo.RoadGraph) -> bool:
    return (
        a.node_count == b.node_count
        and a.edge_count == b.edge_count
        and np.array_equal(np.sort(a.node_osmid), np.sort(b.node_osmid))
        and np.isclose(a.travel_time_s.sum(), b.travel_time_s.sum())
    )


def test_pbf_raw_xml_and_drive_copy_give_the_same_graph(aguascalientes, cache_dir):
    """PBF, the raw .osm.bz2 (buildings, footways) and the drive-only copy load alike."""
    raw = geo.load_graph(osm_path("aguascalientes.osm.bz2"), cache_dir=cache_dir)
    drive = geo.load_graph(osm_path("aguascalientes.drive.osm.bz2"), cache_dir=cache_dir)
    assert _same_graph(aguascalientes, raw)
    assert _same_graph(aguascalientes, drive)
    assert aguascalientes.node_count == 771  # the SCC size in shared/data/osm/README.md


def test_raw_west_oakland_drops_non_road_ways(west_oakland, cache_dir):
    """The raw West Oakland file (buildings, relations) keeps only its drivable roads."""
    raw = geo.load_graph(osm_path("West-Oakland.osm.bz2"), cache_dir=cache_dir)
    assert _same_graph(raw, west_oakland)
    assert west_oakland.node_count == 22


def test_graph_is_strongly_connected(aguascalientes):
    """Every node reaches every other (largest strongly connected component kept)."""
    g = aguascalientes
    adj = csr_matrix((np.ones(g.edge_count), (g.edge_tail, g.edge_head)), shape=(g.node_count,) * 2)
    n_comp, _ = connected_components(adj, directed=True, connection="strong")
    assert n_comp == 1


def test_fallback_speeds_where_no_maxspeed(west_oakland):
    """West Oakland has no maxspeed tag: every edge runs at a speed of the fallback table."""
    speed_kph = west_oakland.length_m / west_oakland.travel_time_s * 3.6
    allowed = np.array(sorted(set(FALLBACK_SPEED_KPH.values())))
    nearest = allowed[np.abs(speed_kph[:, None] - allowed[None, :]).argmin(axis=1)]
    assert np.allclose(speed_kph, nearest, rtol=1e-3)


def test_edge_twins_are_mutual_and_reverse_geometry(aguascalientes):
    """An edge's twin runs the same road backwards; one-way streets have none."""
    g = aguascalientes
    has = np.flatnonzero(g.edge_twin >= 0)
    assert 0 < len(has) < g.edge_count  # both two-way and one-way streets
    assert np.array_equal(g.edge_twin[g.edge_twin[has]], has)
    for e in has[:50]:
        t = g.edge_twin[e]
        assert np.allclose(g.edge_coordinates(e), g.edge_coordinates(t)[::-1])


def test_tiny_degenerate_graph_loads(cache_dir):
    """The four-node planet_… extract loads."""
    g = geo.load_graph(osm_path(PLANET), cache_dir=cache_dir)
    assert g.node_count == 4


def test_second_load_hits_the_cache(tmp_path, monkeypatch):
    """A second load reads the .npz, without parsing the file again."""
    src = osm_path(AGUASCALIENTES)
    first = geo.load_graph(src, cache_dir=tmp_path)
    (cached,) = (tmp_path / "graphs").glob("*.npz")

    def no_parse(*_a, **_k):
        raise AssertionError("parsed the extract despite a valid cache")

    monkeypatch.setattr(geo_load, "graph_from_osm_file", no_parse)
    second = geo.load_graph(src, cache_dir=tmp_path)
    assert _same_graph(first, second)
    assert np.array_equal(first.cch_order, second.cch_order)
    assert second.meta["source_sha256"] == geo_load.file_sha256(src)
    assert cached.exists()


def test_cache_invalidated_when_the_file_changes(tmp_path):
    """Changing the extract's bytes gives a new cache key and a new graph."""
    src = tmp_path / "area.osm.bz2"
    shutil.copy(osm_path(WEST_OAKLAND), src)
    before = geo.load_graph(src, cache_dir=tmp_path / "cache")
    shutil.copy(osm_path(PLANET), src)
    after = geo.load_graph(src, cache_dir=tmp_path / "cache")
    assert (before.node_count, after.node_count) == (22, 4)
    assert len(list((tmp_path / "cache" / "graphs").glob("*.npz"))) == 2


@pytest.mark.parametrize("damage", ["garbage", "truncated", "stale_meta"])
def test_bad_cache_is_rebuilt_not_trusted(tmp_path, monkeypatch, damage):
    """A corrupt, truncated or mismatching cache file is rebuilt and overwritten."""
    src = osm_path(WEST_OAKLAND)
    good = geo.load_graph(src, cache_dir=tmp_path)
    target = geo_load.cache_path(src, tmp_path)
    if damage == "garbage":
        target.write_bytes(b"not a numpy file")
    elif damage == "truncated":
        target.write_bytes(target.read_bytes()[:500])
    else:
        planet = geo.load_graph(osm_path(PLANET), cache_dir=tmp_path / "other")
        save_npz(planet, target)  # valid file, but of another source
    parses = []
    real = geo_load.graph_from_osm_file
    monkeypatch.setattr(
        geo_load, "graph_from_osm_file", lambda *a, **k: parses.append(1) or real(*a, **k)
    )
    lines: list[str] = []
    rebuilt = geo.load_graph(src, cache_dir=tmp_path, progress=lines.append)
    assert parses == [1]
    assert any("ignoring graph cache" in line for line in lines)
    assert _same_graph(good, rebuilt)
    assert _same_graph(good, load_npz(target))  # the bad file was replaced


def test_npz_round_trip_keeps_every_array(aguascalientes, tmp_path):
    """save_npz / load_npz give back identical arrays and meta."""
    save_npz(aguascalientes, tmp_path / "g.npz")
    back = load_npz(tmp_path / "g.npz")
    for name in ("node_lat", "indptr", "edge_head", "travel_time_s", "geometry_lat", "cch_order"):
        assert np.array_equal(getattr(back, name), getattr(aguascalientes, name)), name
    assert back.meta["source"] == AGUASCALIENTES


def test_progress_lines_on_first_parse(tmp_path):
    """A first (uncached) load reports its steps; a cached one stays quiet."""
    lines: list[str] = []
    geo.load_graph(osm_path(WEST_OAKLAND), cache_dir=tmp_path, progress=lines.append)
    assert any(line.startswith("reading drivable roads") for line in lines)
    quiet: list[str] = []
    geo.load_graph(osm_path(WEST_OAKLAND), cache_dir=tmp_path, progress=quiet.append)
    assert quiet == []


def test_default_cache_dir_from_environment(monkeypatch, tmp_path):
    """CAREROUTE_CACHE_DIR sets the default cache folder."""
    monkeypatch.setenv("CAREROUTE_CACHE_DIR", str(tmp_path))
    assert geo.default_cache_dir() == tmp_path
    geo.load_graph(osm_path(PLANET))
    assert list((tmp_path / "graphs").glob("planet_*.npz"))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("truncated.osm.bz2", "truncate:aguascalientes.drive.osm.bz2"),
        ("truncated.osm.pbf", "truncate:aguascalientes.osm.pbf"),
        ("garbage.osm", b"this is not OSM XML <<<"),
        ("garbage.osm.pbf", b"\x00\x01garbage" * 100),
        (
            "unclosed.osm",
            b'<?xml version="1.0"?>\n<osm version="0.6"><node id="1" lat="1" lon="1"/>',
        ),
        ("empty.osm.bz2", bz2.compress(b"")),
    ],
)
def test_bad_osm_file_is_a_clear_error(tmp_path, name, content):
    """A truncated or garbage extract raises BadOsmFile (a ValueError) naming the file."""
    path = tmp_path / name
    if isinstance(content, str):
        data = osm_path(content.split(":")[1]).read_bytes()
        content = data[: len(data) // 2]
    path.write_bytes(content)
    with pytest.raises(geo.BadOsmFile, match="cannot read OSM extract .*" + name) as info:
        geo.load_graph(path, cache_dir=tmp_path / "cache")
    assert isinstance(info.value, ValueError)
    assert not list((tmp_path / "cache").glob("**/*.npz"))


def test_file_without_drivable_roads(tmp_path):
    """An extract with only a footway and a building is refused, not turned into an empty graph."""
    path = tmp_path / "paths.osm"
    path.write_text(
        '<?xml version="1.0"?><osm version="0.6">'
        '<node id="1" lat="48.0" lon="10.0"/><node id="2" lat="48.001" lon="10.0"/>'
        '<node id="3" lat="48.001" lon="10.001"/>'
        '<way id="10"><nd ref="1"/><nd ref="2"/><tag k="highway" v="footway"/></way>'
        '<way id="11"><nd ref="1"/><nd ref="2"/><nd ref="3"/><nd ref="1"/>'
        '<tag k="building" v="yes"/></way></osm>'
    )
    with pytest.raises(geo.BadOsmFile, match="no drivable road"):
        geo.load_graph(path, cache_dir=tmp_path / "cache")


def test_missing_file(tmp_path):
    """A path that does not exist is a BadOsmFile, not a FileNotFoundError traceback."""
    with pytest.raises(geo.BadOsmFile, match="no such file"):
        geo.load_graph(tmp_path / "nope.osm.pbf", cache_dir=tmp_path)


def test_cache_dir_that_cannot_be_written(tmp_path):
    """A cache folder that cannot be created only costs the cache, not the load."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    lines: list[str] = []
    g = geo.load_graph(osm_path(PLANET), cache_dir=blocker / "sub", progress=lines.append)
    assert g.node_count == 4
    assert any("could not write the graph cache" in line for line in lines)


def test_unused_path_type_is_accepted(cache_dir):
    """load_graph takes str paths too."""
    g = geo.load_graph(str(osm_path(PLANET)), cache_dir=str(cache_dir))
    assert isinstance(g, geo.RoadGraph)
    assert isinstance(Path(g.meta["source"]).name, str)


def test_pyosmium_reader_matches_osmnx_xml_reader(aguascalientes):
    """Reading the drive-only XML with osmnx's own parser gives the same graph."""
    G = ox.graph_from_xml(osm_path("aguascalientes.drive.osm.bz2"), retain_all=False)
    via_osmnx = from_networkx(add_travel_times(G))
    assert _same_graph(via_osmnx, aguascalientes)
    assert np.isclose(via_osmnx.length_m.sum(), aguascalientes.length_m.sum())


def test_place_download_is_wired_through_osmnx(monkeypatch):
    """graph_from_place hands osmnx's drive graph to the same timing and SCC steps (offline)."""
    calls = []

    def fake_place(query, network_type, simplify):
        calls.append((query, network_type))
        return ox.graph_from_xml(osm_path(WEST_OAKLAND))

    monkeypatch.setattr(ox, "graph_from_place", fake_place)
    g = geo.graph_from_place("West Oakland, California")
    assert calls == [("West Oakland, California", "drive")]
    assert g.node_count == 22 and g.meta["source"] == "place:West Oakland, California"
