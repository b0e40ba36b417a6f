"""Benchmark: road travel matrices on the Porto clip and Columbus (not a test).

For each extract: cold load (parse + build + cache write), warm (cached) load,
then for 100/500/1000 random points near the roads: snapping, the full matrix
(durations + distances along the fastest paths) on the contraction hierarchy
and on scipy csgraph, the CCH preparation, and networkx per-source Dijkstra
(timed on a sample of sources and scaled to all), all in the same run. With
--osrm-python (a Python 3.12 interpreter with osrm-bindings), OSRM's CH table on the same
points too, through bench/osrm_table.py in a subprocess.

    python bench/matrix.py                 # the full run (~2-3 minutes on 2 cores)
    python bench/matrix.py --quick         # Porto, 100 points: a smoke run
    python bench/matrix.py --osrm-python /work/osrm312/bin/python   # + OSRM (~1 min more)

Prints a table and writes bench/results/matrix.json (gitignored).
Map data © OpenStreetMap contributors (ODbL).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import networkx as nx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import geo  # noqa: E402
from geo import _cch  # noqa: E402
from geo import matrix as gm  # noqa: E402

DATA = Path(os.environ.get("CAREROUTE_SHARED_DATA") or ROOT.parent / "shared" / "data") / "osm"
EXTRACTS = {
    "porto_center_clip": "porto_center_clip.drive.osm.bz2",
    "columbus": "columbus.drive.osm.bz2",
}
NX_SAMPLE_SOURCES = 20
OSRM_SCRIPT = Path(__file__).with_name("osrm_table.py")


def timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def best_of(k: int, fn, *args, **kwargs):
    """Fastest of k runs (the machine is shared: the minimum is the least noisy)."""
    results = [timed(fn, *args, **kwargs) for _ in range(k)]
    return results[0][0], min(t for _, t in results)


def random_points(graph: geo.RoadGraph, n: int, seed: int) -> np.ndarray:
    """n points up to ~50 m beside random nodes: homes, not junctions."""
    rng = np.random.default_rng(seed)
    i = rng.choice(graph.node_count, n, replace=False)
    pts = np.column_stack([graph.node_lat[i], graph.node_lon[i]])
    return pts + rng.normal(0.0, 2e-4, pts.shape)


def networkx_graph(graph: geo.RoadGraph, split: gm.SplitGraph) -> nx.DiGraph:
    G = nx.DiGraph()
    w = split.time_ms()
    for a in np.argsort(-w):
        G.add_edge(int(split.tail[a]), int(split.head[a]), weight=int(w[a]))
    return G


def cch_prep(graph: geo.RoadGraph, pts: np.ndarray) -> float:
    """Per-matrix CCH preparation: split edges at the points, build from the cached order,
    customize the two metrics."""
    snaps = geo.snap_points(graph, pts, max_snap_m=2000)
    t0 = time.perf_counter()
    split = gm.split_graph(graph, snaps)
    eng = gm.make_engine(split, "cch")
    w = split.time_ms()
    eng.metric(w)
    eng.metric(w * 2)
    return time.perf_counter() - t0


def check_osrm_python(python: str) -> None:
    """Fail before the long run if ``python`` cannot import osrm."""
    proc = subprocess.run([python, "-c", "import osrm"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(
            f"--osrm-python {python!r} cannot import osrm (pip install osrm-bindings in a "
            f"Python 3.12 venv, see bench/README.md):\n{proc.stderr.strip()}"
        )


def run_osrm(python: str, file: Path, points: dict[int, np.ndarray], repeat: int) -> dict:
    """OSRM prep and table timings on the same points, from bench/osrm_table.py under
    ``python``."""
    with tempfile.TemporaryDirectory(prefix="careroute_osrm_") as tmp:
        pts_file, out = Path(tmp) / "points.json", Path(tmp) / "osrm.json"
        pts_file.write_text(json.dumps({str(n): p.tolist() for n, p in points.items()}))
        cmd = [python, str(OSRM_SCRIPT), str(file), str(pts_file), str(Path(tmp) / "osrm")]
        subprocess.run([*cmd, "--out", str(out), "--repeat", str(repeat)], check=True)
        return json.loads(out.read_text())


def compare_durations(osrm_s: list, ours_s: np.ndarray) -> dict:
    """Median relative difference of OSRM's durations from ours, off the diagonal.

    The speed models differ (OSRM's car profile vs osmnx speeds, OSRM's turn penalties),
    so this is a sanity check of the same points and scale, not a correctness test.
    """
    theirs = np.array(osrm_s, dtype=float)  # None (no route) -> nan
    ours = ours_s.astype(float)
    ok = ~np.eye(len(ours), dtype=bool) & np.isfinite(theirs) & (ours > 0)
    rel = (theirs[ok] - ours[ok]) / ours[ok]
    return {
        "median_rel_diff": float(np.median(rel)),
        "median_abs_rel_diff": float(np.median(np.abs(rel))),
        "pairs": int(ok.sum()),
        "osrm_unreachable_pairs": int(np.isnan(theirs).sum()),
    }


def add_osrm(row: dict, osrm: dict, ours: dict[int, np.ndarray]) -> None:
    row["osrm"] = {k: v for k, v in osrm.items() if k != "sets"}
    row["osrm_prep_s"] = osrm["prep"]["total_s"]
    for r in row["points"]:
        o = osrm["sets"][str(r["n"])]
        r["osrm_durations_table_s"] = o["durations_table_s"]
        r["osrm_table_s"] = o["table_s"]
        r["osrm_table_shape"] = o["distances_shape"]
        ref = r.get("cch_matrix_s", r["scipy_matrix_s"])
        # > 1: our durations + distances (incl. snapping) beat OSRM's table on the same points
        r["vs_osrm"] = o["table_s"] / ref
        if "cch_matrix_1thread_s" in r:
            r["vs_osrm_1thread"] = o["table_s"] / r["cch_matrix_1thread_s"]
        r["osrm_durations"] = compare_durations(o["durations_s"], ours[r["n"]])


def bench_extract(
    name: str, file: Path, sizes: list[int], repeat: int, osrm_python: str | None = None
) -> dict:
    row: dict = {"extract": name, "file": file.name}
    with tempfile.TemporaryDirectory() as cache:
        graph, row["cold_load_s"] = timed(geo.load_graph, file, cache_dir=cache)
        _, row["warm_load_s"] = best_of(repeat, geo.load_graph, file, cache_dir=cache)
    row["nodes"], row["edges"] = graph.node_count, graph.edge_count
    # the first snap after a load builds the STRtree of edges (not cached on disk)
    _, row["snap_index_s"] = timed(geo.snap_points, graph, [(graph.node_lat[0], graph.node_lon[0])])
    if _cch.available():
        _, row["cch_order_s"] = timed(
            _cch.compute_order, graph.edge_tail, graph.edge_head, graph.node_lat, graph.node_lon
        )
    row["points"] = []
    points, durations = {}, {}
    for n in sizes:
        pts = points[n] = random_points(graph, n, seed=n)
        r: dict = {"n": n}
        snaps, r["snap_s"] = best_of(repeat, geo.snap_points, graph, pts, max_snap_m=2000)
        r["snap_max_m"] = round(float(snaps.distance_m.max()), 1)
        if _cch.available():
            m, r["cch_matrix_s"] = best_of(
                repeat, geo.travel_matrix, graph, pts, max_snap_m=2000, engine="cch"
            )
            gm.TABLE_THREADS = 1
            _, r["cch_matrix_1thread_s"] = best_of(
                repeat, geo.travel_matrix, graph, pts, max_snap_m=2000, engine="cch"
            )
            gm.TABLE_THREADS = 2
            r["cch_prep_s"] = min(cch_prep(graph, pts) for _ in range(repeat))
            # one table of durations alone, the figure RoutingKit/OSRM tables report
            split = gm.split_graph(graph, snaps)
            metric = gm.make_engine(split, "cch").metric(split.time_ms())
            _, r["cch_durations_table_s"] = best_of(
                repeat, metric.table, split.point_node, split.point_node
            )
        ref, r["scipy_matrix_s"] = timed(
            geo.travel_matrix, graph, pts, max_snap_m=2000, engine="scipy"
        )
        durations[n] = ref.durations_s
        split = gm.split_graph(graph, snaps)
        metric = gm.make_engine(split, "scipy").metric(split.time_ms())
        _, r["scipy_durations_table_s"] = timed(metric.table, split.point_node, split.point_node)
        if _cch.available():
            r["cch_equals_scipy"] = bool(
                np.array_equal(m.durations_s, ref.durations_s)
                and np.array_equal(m.distances_m, ref.distances_m)
            )
        # networkx: per-source Dijkstra on the same split graph, sampled and scaled
        G = networkx_graph(graph, split)
        sample = split.point_node[: min(NX_SAMPLE_SOURCES, n)]
        t0 = time.perf_counter()
        for s in sample:
            nx.single_source_dijkstra_path_length(G, int(s), weight="weight")
        r["networkx_matrix_s_scaled"] = (time.perf_counter() - t0) / len(sample) * n
        best = r.get("cch_matrix_s", r["scipy_matrix_s"])
        r["speedup_vs_networkx"] = r["networkx_matrix_s_scaled"] / best
        row["points"].append(r)
        print(f"  {name} n={n} done", file=sys.stderr, flush=True)
    if osrm_python:
        add_osrm(row, run_osrm(osrm_python, file, points, repeat), durations)
    return row


def _cell(value: float | None, width: int, fmt: str, unit: str = "") -> str:
    """Right-aligned ``value`` with its unit, or '-' when it was not measured."""
    return f"{'-' if value is None else format(value, fmt) + unit:>{width}}"


def print_table(rows: list[dict]) -> None:
    print()
    for row in rows:
        osrm = (
            f" | OSRM prep (extract {row['osrm']['prep']['extract_s']:.1f} s + contract "
            f"{row['osrm']['prep']['contract_s']:.1f} s, {row['osrm']['threads_prep']} threads)"
            if "osrm" in row
            else ""
        )
        print(
            f"{row['extract']}: {row['nodes']:,} nodes, {row['edges']:,} edges | "
            f"cold load {row['cold_load_s']:.1f} s | warm load {row['warm_load_s']:.3f} s "
            f"(+ snap index {row['snap_index_s']:.3f} s on first use) | "
            f"CCH order (cached with graph) {row.get('cch_order_s', float('nan')):.2f} s{osrm}"
        )
    head = (
        f"{'extract':<18}{'n':>6}{'snap':>8}{'CCH prep':>10}{'CCH dur':>9}{'CCH full':>10}"
        f"{'1 thread':>10}"
        f"{'scipy dur':>11}{'scipy full':>12}{'networkx':>10}{'speedup':>9}{'same':>6}"
        f"{'OSRM prep':>11}{'OSRM table':>12}{'vs OSRM':>9}{'OSRM Δdur':>11}"
    )
    print()
    print(
        "seconds; 'dur' = one durations table; 'full' = durations + distances incl. snapping "
        "(two tables on two threads; '1 thread' = one after the other); networkx scaled from "
        f"{NX_SAMPLE_SOURCES} sources; speedup = networkx / CCH full"
    )
    if any("osrm" in row for row in rows):
        print(
            "OSRM: CH, car profile, prep = osrm-extract + osrm-contract; table = one Table "
            "call for durations + distances incl. snapping (one thread); vs OSRM = OSRM "
            "table / CCH full (>= 1: ours no slower); OSRM Δdur = median (OSRM - ours) / ours "
            "over the durations (different speed models: a sanity check, not a test)"
        )
    else:
        print("OSRM: not timed: pass --osrm-python (a Python 3.12 with osrm-bindings)")
    print(head)
    print("-" * len(head))
    for row in rows:
        for r in row["points"]:
            osrm_delta = r.get("osrm_durations", {}).get("median_rel_diff")
            print(
                f"{row['extract']:<18}{r['n']:>6}{r['snap_s']:>8.3f}"
                f"{r.get('cch_prep_s', float('nan')):>10.3f}"
                f"{r.get('cch_durations_table_s', float('nan')):>9.3f}"
                f"{r.get('cch_matrix_s', float('nan')):>10.3f}"
                f"{r.get('cch_matrix_1thread_s', float('nan')):>10.3f}"
                f"{r['scipy_durations_table_s']:>11.3f}{r['scipy_matrix_s']:>12.3f}"
                f"{r['networkx_matrix_s_scaled']:>10.1f}{r['speedup_vs_networkx']:>8.0f}x"
                f"{str(r.get('cch_equals_scipy', '-')):>6}"
                f"{_cell(row.get('osrm_prep_s'), 11, '.1f')}"
                f"{_cell(r.get('osrm_table_s'), 12, '.3f')}"
                f"{_cell(r.get('vs_osrm'), 9, '.2f', 'x')}"
                f"{_cell(None if osrm_delta is None else 100 * osrm_delta, 11, '+.0f', '%')}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Porto clip, 100 points, 1 repeat")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--extracts", nargs="+", choices=sorted(EXTRACTS), default=list(EXTRACTS))
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "matrix.json")
    parser.add_argument(
        "--osrm-python",
        default=os.environ.get("CAREROUTE_OSRM_PYTHON"),
        help="a Python 3.12 with osrm-bindings: also time OSRM's CH table on the same points "
        "(default: $CAREROUTE_OSRM_PYTHON; unset: OSRM not timed)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.extracts, args.repeat = [100], ["porto_center_clip"], 1
    if args.osrm_python:
        check_osrm_python(args.osrm_python)
    rows = []
    for name in args.extracts:
        file = DATA / EXTRACTS[name]
        if not file.is_file():
            print(f"skipping {name}: {file} not found", file=sys.stderr)
            continue
        rows.append(bench_extract(name, file, args.sizes, args.repeat, args.osrm_python))
    print_table(rows)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average at the end (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")
    result = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "pyroutingkit": _cch.available(),
            "osrm_python": args.osrm_python,
            # the machine is shared: a high load average means noisy timings
            "load_average_1_5_15": list(os.getloadavg()),
        },
        "extracts": rows,
        "attribution": geo.ATTRIBUTION,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
