"""Snapping locations onto the nearest point of a road edge."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

import geo
from geo.graph import haversine_m


def _point_on_edge(graph: geo.RoadGraph, e: int, fraction: float, offset_m: float = 0.0):
    """(lat, lon) at ``fraction`` along edge ``e``, moved ``offset_m`` to its left."""
    line = graph.edge_lines[e]
    p = shapely.line_interpolate_point(line, fraction, normalized=True)
    q = shapely.line_interpolate_point(line, min(fraction + 0.01, 1.0), normalized=True)
    dx, dy = q.x - p.x, q.y - p.y
    norm = np.hypot(dx, dy)
    x, y = p.x - dy / norm * offset_m, p.y + dx / norm * offset_m
    lat, lon = graph.to_latlon(np.array([x]), np.array([y]))
    return float(lat[0]), float(lon[0])


def _long_straight_edge(graph: geo.RoadGraph) -> int:
    """A long two-point edge, so a perpendicular offset stays nearest to it."""
    straight = np.diff(graph.geometry_ptr) == 2
    candidates = np.flatnonzero(straight & (graph.length_m > 150))
    return int(candidates[np.argmax(graph.length_m[candidates])])


def test_point_on_a_road_snaps_mid_edge(aguascalientes):
    """A point in the middle of a road snaps there: distance 0, half way along."""
    e = _long_straight_edge(aguascalientes)
    snaps = geo.snap_points(aguascalientes, [_point_on_edge(aguascalientes, e, 0.5)])
    assert snaps.distance_m[0] < 0.5
    assert snaps.edge[0] in (e, aguascalientes.edge_twin[e])
    assert snaps.fraction[0] == pytest.approx(0.5, abs=0.01)  # the middle either way


def test_point_beside_a_road_reports_its_distance(aguascalientes):
    """A point 30 m beside a road snaps to the road point abeam, 30 m away."""
    g = aguascalientes
    straight = np.flatnonzero((np.diff(g.geometry_ptr) == 2) & (g.length_m > 150))
    # a road with no other road within 60 m of the offset point, on either side
    for e in straight:
        on_road = _point_on_edge(g, e, 0.5)
        beside = _point_on_edge(g, e, 0.5, offset_m=30.0)
        x, y = g.to_xy(np.array([beside[0]]), np.array([beside[1]]))
        near = g.snap_index[1].query(shapely.points(x, y)[0].buffer(60.0))
        if len(near) == 1:
            break
    else:
        pytest.fail("no isolated straight road in the extract")
    snaps = geo.snap_points(g, [beside], ids=["p-1"])
    assert snaps.distance_m[0] == pytest.approx(30.0, abs=1.0)
    assert haversine_m(snaps.lat[0], snaps.lon[0], *on_road) < 2.0
    assert snaps.ids == ("p-1",)


def test_nearest_edge_not_nearest_node(aguascalientes):
    """Mid-way along a long edge, the snap is much closer than the nearest node."""
    e = _long_straight_edge(aguascalientes)
    lat, lon = _point_on_edge(aguascalientes, e, 0.5, offset_m=10.0)
    node_d = haversine_m(lat, lon, aguascalientes.node_lat, aguascalientes.node_lon).min()
    snaps = geo.snap_points(aguascalientes, [(lat, lon)])
    assert snaps.distance_m[0] < 11.0 < node_d


def test_point_in_the_sea_names_the_location(aguascalientes):
    """A point far outside the extract is SnapTooFar naming its id and distance."""
    points = [(21.87, -102.28), (0.0, 0.0)]
    with pytest.raises(geo.SnapTooFar, match=r"'sea-1' is [\d,]+ m from the nearest road") as info:
        geo.snap_points(aguascalientes, points, ids=["home", "sea-1"])
    assert info.value.location_id == "sea-1"
    assert info.value.distance_m > 1_000_000
    assert isinstance(info.value, ValueError)


def test_max_snap_distance_is_configurable(aguascalientes):
    """The same point passes with a generous limit and fails with a tight one."""
    e = _long_straight_edge(aguascalientes)
    beside = _point_on_edge(aguascalientes, e, 0.5, offset_m=40.0)
    geo.snap_points(aguascalientes, [beside], max_snap_m=100.0)
    with pytest.raises(geo.SnapTooFar, match="limit is 20 m"):
        geo.snap_points(aguascalientes, [beside], max_snap_m=20.0)


def test_without_ids_errors_name_the_index(aguascalientes):
    """Without ids, the error names the location's index."""
    with pytest.raises(geo.SnapTooFar) as info:
        geo.snap_points(aguascalientes, [(21.87, -102.28), (21.87, -102.28), (10.0, 10.0)])
    assert info.value.location_id == 2


@pytest.mark.parametrize("bad", [(91.0, 0.0), (0.0, 181.0), (float("nan"), 1.0)])
def test_invalid_coordinates(aguascalientes, bad):
    """A lat/lon that is not a coordinate is BadLocation naming the id."""
    with pytest.raises(geo.BadLocation, match="'x'"):
        geo.snap_points(aguascalientes, [bad], ids=["x"])


def test_ids_must_match_points(aguascalientes):
    """Giving a different number of ids than points is a ValueError."""
    with pytest.raises(ValueError, match="2 ids for 1 points"):
        geo.snap_points(aguascalientes, [(21.87, -102.28)], ids=["a", "b"])


def test_snapping_is_vectorised_over_many_points(aguascalientes):
    """Thousands of points snap in one call, each within the extract."""
    rng = np.random.default_rng(3)
    i = rng.integers(0, aguascalientes.node_count, 5000)
    pts = np.column_stack([aguascalientes.node_lat[i], aguascalientes.node_lon[i]])
    snaps = geo.snap_points(aguascalientes, pts + rng.normal(0, 1e-4, pts.shape))
    assert len(snaps) == 5000
    assert np.all((snaps.fraction >= 0) & (snaps.fraction <= 1))
