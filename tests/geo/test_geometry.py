"""Leg geometry: road paths between consecutive locations as coordinates, polyline, GeoJSON."""

from __future__ import annotations

import json

import numpy as np
import polyline
import pytest

import geo
from geo.graph import haversine_m
from geo.matrix import NODE_SNAP_M


@pytest.fixture(scope="module")
def route(aguascalientes):
    """Four stops across Aguascalientes, with their legs and their matrix."""
    g = aguascalientes
    # beside four junctions spread over the graph, so the legs start mid-edge
    pts = [(g.node_lat[i] + 1e-4, g.node_lon[i] + 1e-4) for i in (10, 250, 500, 750)]
    ids = ["depot", "v-1", "v-2", "v-3"]
    legs = geo.leg_geometry(aguascalientes, pts, ids=ids)
    matrix = geo.travel_matrix(aguascalientes, pts, ids=ids)
    return pts, ids, legs, matrix


def test_one_leg_per_consecutive_pair(route):
    """n stops give n - 1 legs, named by their ends."""
    _pts, ids, legs, _m = route
    assert [(leg.from_id, leg.to_id) for leg in legs] == list(zip(ids[:-1], ids[1:], strict=True))


def test_legs_start_and_end_at_the_snapped_road_points(route):
    """Each leg runs from the first stop's road point to the next stop's."""
    _pts, _ids, legs, m = route
    snaps = m.snaps
    for i, leg in enumerate(legs):
        start, end = leg.coordinates[0], leg.coordinates[-1]
        assert haversine_m(*start, snaps.lat[i], snaps.lon[i]) < NODE_SNAP_M + 0.01
        assert haversine_m(*end, snaps.lat[i + 1], snaps.lon[i + 1]) < NODE_SNAP_M + 0.01


def test_leg_time_and_length_agree_with_matrix_and_shape(route):
    """A leg's duration is the matrix's; its length is that of its own coordinates."""
    _pts, _ids, legs, m = route
    for i, leg in enumerate(legs):
        assert leg.duration_s == m.durations_s[i, i + 1]
        assert abs(leg.distance_m - m.distances_m[i, i + 1]) <= max(5, 0.01 * leg.distance_m)
        c = np.array(leg.coordinates)
        along = haversine_m(c[:-1, 0], c[:-1, 1], c[1:, 0], c[1:, 1]).sum()
        assert along == pytest.approx(leg.distance_m, rel=0.01, abs=2)


def test_polyline_decodes_to_the_coordinates(route):
    """The encoded polyline (precision 5) decodes back to the leg's coordinates."""
    for leg in route[2]:
        decoded = np.array(polyline.decode(leg.polyline, 5))
        assert decoded.shape == (len(leg.coordinates), 2)
        assert np.abs(decoded - np.array(leg.coordinates)).max() < 1e-5


def test_geojson_is_a_lon_lat_linestring_feature(route):
    """GeoJSON puts lon before lat (RFC 7946) and carries the leg's ids and totals."""
    leg = route[2][0]
    feature = json.loads(json.dumps(leg.geojson()))
    assert feature["type"] == "Feature"
    assert feature["geometry"]["type"] == "LineString"
    lon, lat = feature["geometry"]["coordinates"][0]
    assert (lat, lon) == pytest.approx(leg.coordinates[0])
    assert feature["properties"] == {
        "from": "depot",
        "to": "v-1",
        "duration_s": leg.duration_s,
        "distance_m": leg.distance_m,
    }


def test_leg_to_the_same_place_is_empty(aguascalientes):
    """Two consecutive stops at one spot give a zero leg of two equal points."""
    p = (21.8700, -102.2800)
    (leg,) = geo.leg_geometry(aguascalientes, [p, p])
    assert leg.duration_s == leg.distance_m == 0
    assert leg.coordinates[0] == leg.coordinates[-1]


def test_fewer_than_two_points_give_no_legs(aguascalientes):
    """Zero or one stop means no leg."""
    assert geo.leg_geometry(aguascalientes, []) == []
    assert geo.leg_geometry(aguascalientes, [(21.87, -102.28)]) == []


def test_scipy_engine_gives_the_same_legs(aguascalientes, route):
    """The scipy reference finds legs of the same duration."""
    pts, ids, legs, _m = route
    ref = geo.leg_geometry(aguascalientes, pts, ids=ids, engine="scipy")
    assert [leg.duration_s for leg in ref] == [leg.duration_s for leg in legs]
