"""Travel matrices: against a networkx oracle, one-way asymmetry, partial edges, engines."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import shapely

import geo
from geo import _cch
from geo.graph import RoadGraph

from .conftest import PLANET, node_point, oracle, osm_path

needs_cch = pytest.mark.skipif(not _cch.available(), reason="pyroutingkit is not installed")


def _path_length_m(G: nx.DiGraph, path: list[int]) -> float:
    return sum(G[a][b]["length"] for a, b in zip(path[:-1], path[1:], strict=True))


def test_matrix_matches_networkx_oracle(aguascalientes):
    """Durations equal networkx's fastest-path times (to 1 s); distances its path lengths."""
    g = aguascalientes
    G = oracle(g)
    rng = np.random.default_rng(7)
    nodes = rng.choice(g.node_count, 25, replace=False)
    m = geo.travel_matrix(g, [node_point(g, i) for i in nodes])
    assert m.snap_distances_m.max() < 0.01
    for a, src in enumerate(nodes):
        times, paths = nx.single_source_dijkstra(G, int(src), weight="travel_time")
        for b, dst in enumerate(nodes):
            assert abs(m.durations_s[a, b] - times[int(dst)]) <= 1.0, (a, b)
            length = _path_length_m(G, paths[int(dst)])
            # each arc counts whole metres (a few m per path), and a route tying
            # to the millisecond may be another one
            assert abs(m.distances_m[a, b] - length) <= max(5.0, 0.01 * length), (a, b)


def test_one_way_street_makes_the_matrix_asymmetric(aguascalientes):
    """Where one-way streets force a detour, A->B differs from B->A, both as networkx says."""
    g = aguascalientes
    G = oracle(g)
    one_way = np.flatnonzero(g.edge_twin < 0)
    # the one-way edge whose reverse detour is longest
    best, pair = -1.0, (0, 0)
    for e in one_way[:200]:
        u, v = int(g.edge_tail[e]), int(g.edge_head[e])
        back = nx.shortest_path_length(G, v, u, weight="travel_time")
        fwd = nx.shortest_path_length(G, u, v, weight="travel_time")
        if back - fwd > best:
            best, pair = back - fwd, (u, v)
    u, v = pair
    assert best > 30.0
    m = geo.travel_matrix(g, [node_point(g, u), node_point(g, v)], ids=["A", "B"])
    fwd = nx.shortest_path_length(G, u, v, weight="travel_time")
    back = nx.shortest_path_length(G, v, u, weight="travel_time")
    assert abs(m.durations_s[0, 1] - fwd) <= 1
    assert abs(m.durations_s[1, 0] - back) <= 1
    assert m.durations_s[1, 0] - m.durations_s[0, 1] > 30
    assert m.distances_m[1, 0] > m.distances_m[0, 1]


def _mid_edge_point(g: RoadGraph, e: int, fraction: float) -> tuple[float, float]:
    p = shapely.line_interpolate_point(g.edge_lines[e], fraction, normalized=True)
    lat, lon = g.to_latlon(np.array([p.x]), np.array([p.y]))
    return float(lat[0]), float(lon[0])


def test_partial_edge_is_counted(aguascalientes):
    """From a node to the middle of its long two-way edge takes half the edge's time."""
    g = aguascalientes
    two_way = np.flatnonzero((g.edge_twin >= 0) & (g.travel_time_s > 20))
    e = int(two_way[np.argmax(g.travel_time_s[two_way])])
    u = int(g.edge_tail[e])
    m = geo.travel_matrix(g, [node_point(g, u), _mid_edge_point(g, e, 0.5)])
    half_t = 0.5 * g.travel_time_s[e]
    assert abs(m.durations_s[0, 1] - half_t) <= 1
    assert abs(m.distances_m[0, 1] - 0.5 * g.length_m[e]) <= 2
    # coming back drives the twin's half
    assert abs(m.durations_s[1, 0] - 0.5 * g.travel_time_s[g.edge_twin[e]]) <= 1


def test_partial_one_way_edge_cannot_be_driven_backwards(aguascalientes):
    """From mid one-way edge back to its tail means driving on to the head and around."""
    g = aguascalientes
    G = oracle(g)
    one_way = np.flatnonzero((g.edge_twin < 0) & (g.travel_time_s > 5))
    e = int(one_way[np.argmax(g.travel_time_s[one_way])])
    u, v = int(g.edge_tail[e]), int(g.edge_head[e])
    m = geo.travel_matrix(g, [_mid_edge_point(g, e, 0.5), node_point(g, u)])
    around = 0.5 * g.travel_time_s[e] + nx.shortest_path_length(G, v, u, weight="travel_time")
    assert abs(m.durations_s[0, 1] - around) <= 1
    assert abs(m.durations_s[1, 0] - 0.5 * g.travel_time_s[e]) <= 1


def test_two_points_on_one_edge(aguascalientes):
    """Two points on the same two-way edge drive straight along it, both ways."""
    g = aguascalientes
    two_way = np.flatnonzero((g.edge_twin >= 0) & (g.travel_time_s > 20))
    e = int(two_way[0])
    m = geo.travel_matrix(g, [_mid_edge_point(g, e, 0.2), _mid_edge_point(g, e, 0.7)])
    assert abs(m.durations_s[0, 1] - 0.5 * g.travel_time_s[e]) <= 1
    assert abs(m.distances_m[0, 1] - 0.5 * g.length_m[e]) <= 2
    assert abs(m.distances_m[1, 0] - 0.5 * g.length_m[g.edge_twin[e]]) <= 2


def test_same_place_twice_is_zero(aguascalientes):
    """Two locations at the same spot are 0 s and 0 m apart; the diagonal is 0."""
    p = (21.8700, -102.2800)
    m = geo.travel_matrix(aguascalientes, [p, p, (21.865, -102.27)])
    assert m.durations_s[0, 1] == m.durations_s[1, 0] == 0
    assert m.distances_m[0, 1] == 0
    assert np.all(np.diag(m.durations_s) == 0) and np.all(np.diag(m.distances_m) == 0)


def _random_points(g: RoadGraph, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    i = rng.integers(0, g.node_count, n)
    pts = np.column_stack([g.node_lat[i], g.node_lon[i]])
    return pts + rng.normal(0, 3e-4, pts.shape)


@needs_cch
@pytest.mark.parametrize("graph_name", ["aguascalientes", "west_oakland"])
def test_cch_equals_scipy_reference(graph_name, request):
    """The contraction hierarchy returns exactly the scipy csgraph matrices."""
    g = request.getfixturevalue(graph_name)
    pts = _random_points(g, 60, seed=11)
    a = geo.travel_matrix(g, pts, engine="cch", max_snap_m=5000)
    b = geo.travel_matrix(g, pts, engine="scipy", max_snap_m=5000)
    assert np.array_equal(a.durations_s, b.durations_s)
    assert np.array_equal(a.distances_m, b.distances_m)
    assert (a.durations_s != a.durations_s.T).any()  # one-way streets in both extracts


def test_matrix_shape_types_and_json(aguascalientes):
    """Integer (n, n) arrays, snap distances per point, and the CLI's JSON shape."""
    pts = _random_points(aguascalientes, 5, seed=2)
    m = geo.travel_matrix(aguascalientes, pts, ids=list("abcde"))
    assert m.durations_s.shape == m.distances_m.shape == (5, 5)
    assert m.durations_s.dtype.kind == m.distances_m.dtype.kind == "i"
    assert m.snap_distances_m.shape == (5,)
    doc = m.to_json()
    assert doc["ids"] == list("abcde")
    assert set(doc) == {"ids", "durations", "distances", "snap_distances"}
    assert all(isinstance(x, int) for row in doc["durations"] for x in row)


def test_unsnappable_point_names_its_id(aguascalientes):
    """A matrix with a point in the sea fails naming that point."""
    with pytest.raises(geo.SnapTooFar, match="'v-9'"):
        geo.travel_matrix(aguascalientes, [(21.87, -102.28), (0.0, -100.0)], ids=["v-1", "v-9"])


def _island_graph() -> RoadGraph:
    """Two nodes 1.1 km apart joined by one one-way edge A -> B."""
    lat = np.array([48.0, 48.01])
    lon = np.array([10.0, 10.0])
    return RoadGraph(
        node_lat=lat,
        node_lon=lon,
        node_osmid=np.array([1, 2]),
        indptr=np.array([0, 1, 1]),
        edge_head=np.array([1], dtype=np.int32),
        travel_time_s=np.array([80.0]),
        length_m=np.array([1112.0]),
        edge_twin=np.array([-1], dtype=np.int32),
        geometry_ptr=np.array([0, 2]),
        geometry_lat=lat.copy(),
        geometry_lon=lon.copy(),
    )


@pytest.mark.parametrize("engine", ["scipy", pytest.param("cch", marks=needs_cch)])
def test_unreachable_pair_names_both_locations(engine):
    """With no road back from B to A, the error names both, in travel order."""
    g = _island_graph()
    with pytest.raises(geo.UnreachableLocation) as info:
        geo.travel_matrix(g, [(48.0, 10.0), (48.01, 10.0)], ids=["A", "B"], engine=engine)
    assert (info.value.from_id, info.value.to_id) == ("B", "A")
    assert "'B'" in str(info.value) and "'A'" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_empty_and_single_point(aguascalientes):
    """No points give an empty matrix; one point a 1x1 zero."""
    assert geo.travel_matrix(aguascalientes, []).durations_s.shape == (0, 0)
    one = geo.travel_matrix(aguascalientes, [(21.87, -102.28)])
    assert one.durations_s.tolist() == [[0]]


def test_tiny_four_node_graph(cache_dir):
    """The degenerate planet_… graph still gives a full matrix."""
    g = geo.load_graph(osm_path(PLANET), cache_dir=cache_dir)
    m = geo.travel_matrix(g, [node_point(g, i) for i in range(g.node_count)])
    assert m.durations_s.shape == (4, 4)
    assert (m.durations_s + np.eye(4, dtype=int) > 0).all()


@pytest.mark.slow
@needs_cch
def test_columbus_unsorted_pbf_end_to_end(cache_dir):
    """Columbus (an unsorted PBF, 10k nodes) loads and CCH agrees with scipy."""
    g = geo.load_graph(osm_path("columbus.osm.pbf"), cache_dir=cache_dir)
    assert g.node_count > 10_000
    pts = _random_points(g, 40, seed=5)
    a = geo.travel_matrix(g, pts, engine="cch", max_snap_m=5000)
    b = geo.travel_matrix(g, pts, engine="scipy", max_snap_m=5000)
    assert np.array_equal(a.durations_s, b.durations_s)
    assert np.array_equal(a.distances_m, b.distances_m)
