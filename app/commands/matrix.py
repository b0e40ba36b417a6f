"""``careroute matrix``: road travel durations and distances between points of a CSV file.

Usage::

    careroute matrix --osm FILE --points POINTS.csv [--out M.json]

POINTS.csv has the header ``id,lat,lon``. The output is
``{"ids": [...], "durations": [[s]], "distances": [[m]], "snap_distances": [m]}``
(spec/api.md). Bad input (a missing or unreadable file, a malformed row, a
point too far from any road, an unreachable pair) exits with status 2 and one
line on stderr naming the culprit.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

import geo

PROG = "careroute matrix"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``matrix`` sub-command to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "matrix",
        help="travel-time/distance matrix for points of a CSV file",
        description=(
            "Road travel durations (s) and distances (m) between the points of a CSV "
            "file (header id,lat,lon), from an OSM extract. Map data (c) OpenStreetMap "
            "contributors."
        ),
    )
    p.add_argument("--osm", required=True, type=Path, help=".osm, .osm.bz2 or .osm.pbf extract")
    p.add_argument("--points", required=True, type=Path, help="CSV file with header id,lat,lon")
    p.add_argument("--out", type=Path, help="write the JSON here (default: stdout)")
    p.add_argument(
        "--max-snap-m",
        type=float,
        default=geo.DEFAULT_MAX_SNAP_M,
        help="largest distance from a point to its road, metres (default %(default)s)",
    )
    p.add_argument(
        "--cache-dir", type=Path, help="graph cache folder (default: CAREROUTE_CACHE_DIR)"
    )
    p.set_defaults(func=run)
    return p


def read_points_csv(path: Path) -> tuple[list[str], list[tuple[float, float]]]:
    """Read ``id,lat,lon`` rows; raise ValueError naming the line and id of a bad row."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        missing = {"id", "lat", "lon"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: the header must have id,lat,lon (missing {sorted(missing)})")
        ids: list[str] = []
        points: list[tuple[float, float]] = []
        seen: set[str] = set()
        for row in reader:
            where = f"{path} line {reader.line_num}"
            pid = (row.get("id") or "").strip()
            if not pid:
                raise ValueError(f"{where}: empty id")
            if pid in seen:
                raise ValueError(f"{where}: duplicate id {pid!r}")
            try:
                lat, lon = float(row["lat"]), float(row["lon"])
            except (TypeError, ValueError):
                raise ValueError(
                    f"{where}: point {pid!r} has lat {row.get('lat')!r} / lon {row.get('lon')!r}, "
                    "not numbers"
                ) from None
            if not (math.isfinite(lat) and math.isfinite(lon)):
                raise ValueError(f"{where}: point {pid!r} has a non-finite lat/lon")
            seen.add(pid)
            ids.append(pid)
            points.append((lat, lon))
    if not ids:
        raise ValueError(f"{path}: no points")
    return ids, points


def run(args: argparse.Namespace) -> int:
    """Compute the matrix; exit 0 on success, 2 on bad input (one line on stderr)."""

    def progress(message: str) -> None:
        print(f"{PROG}: {message}", file=sys.stderr, flush=True)

    try:
        ids, points = read_points_csv(args.points)
        graph = geo.load_graph(args.osm, cache_dir=args.cache_dir, progress=progress)
        matrix = geo.travel_matrix(graph, points, ids=ids, max_snap_m=args.max_snap_m)
        text = json.dumps(matrix.to_json(), separators=(",", ":"))
        if args.out is None:
            sys.stdout.write(text + "\n")
        else:
            args.out.write_text(text + "\n", encoding="utf-8")
    except (geo.GeoError, ValueError, OSError) as exc:
        message = " ".join(str(exc).split())  # one line, whatever the error held
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``careroute matrix`` on its own (``python -m app.commands.matrix``)."""
    parser = argparse.ArgumentParser(prog="careroute")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["matrix", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
