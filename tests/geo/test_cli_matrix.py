"""``careroute matrix``: CSV in, JSON out, bad input as exit 2 with one line on stderr."""

from __future__ import annotations

import json

import pytest

from app.commands import matrix as cmd

from .conftest import AGUASCALIENTES, osm_path


def _run(tmp_path, csv_text: str, *extra: str, osm=None):
    points = tmp_path / "points.csv"
    points.write_text(csv_text)
    osm = osm or osm_path(AGUASCALIENTES)
    argv = ["--osm", str(osm), "--points", str(points), "--cache-dir", str(tmp_path / "c"), *extra]
    return cmd.main(argv)


def test_writes_the_matrix_json(tmp_path, capsys):
    """A good CSV gives exit 0 and the spec's JSON document."""
    out = tmp_path / "m.json"
    rc = _run(tmp_path, "id,lat,lon\na,21.87,-102.28\nb,21.865,-102.27\n", "--out", str(out))
    assert rc == 0
    doc = json.loads(out.read_text())
    assert doc["ids"] == ["a", "b"]
    assert len(doc["durations"]) == len(doc["distances"]) == 2
    assert doc["durations"][0][1] > 0 and len(doc["snap_distances"]) == 2
    assert "reading drivable roads" in capsys.readouterr().err  # first parse reports progress


def test_prints_to_stdout_without_out(tmp_path, capsys):
    """Without --out the JSON goes to stdout."""
    assert _run(tmp_path, "id,lat,lon\na,21.87,-102.28\n") == 0
    assert json.loads(capsys.readouterr().out)["durations"] == [[0]]


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("id,lat,lon\nhome,21.87,-102.28\nboat,0.0,0.0\n", "location 'boat' is"),
        ("id,latitude,lon\na,1,2\n", "header must have id,lat,lon"),
        ("id,lat,lon\na,north,2\n", "point 'a' has lat 'north'"),
        ("id,lat,lon\na,21.87,-102.28\na,21.87,-102.28\n", "duplicate id 'a'"),
        ("id,lat,lon\n", "no points"),
        ("id,lat,lon\nx,95,0\n", "location 'x'"),
    ],
)
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, csv_text, message):
    """Bad points exit 2 with one stderr line naming the culprit, and no traceback."""
    assert _run(tmp_path, csv_text) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("careroute matrix: error:") and message in err
    assert "Traceback" not in err


def test_bad_osm_file_exits_2(tmp_path, capsys):
    """A missing or garbage OSM file is exit 2 naming the file."""
    assert _run(tmp_path, "id,lat,lon\na,1,2\n", osm=tmp_path / "none.osm.pbf") == 2
    assert "none.osm.pbf" in capsys.readouterr().err
    bad = tmp_path / "bad.osm"
    bad.write_text("garbage")
    assert _run(tmp_path, "id,lat,lon\na,1,2\n", osm=bad) == 2
    assert "cannot read OSM extract" in capsys.readouterr().err
