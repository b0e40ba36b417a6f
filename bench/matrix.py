"""Benchmark: road travel matrices on the Porto clip and Columbus (not a test).

For each extract: cold load (parse + build + cache write), warm (cached) load,
then for 100/500/1000 random points near the roads: snapping, the full matrix
(durations + distances along the fastest paths) on the contraction hierarchy
and on scipy csgraph, the CCH preparation, and networkx per-source Dijkstra
(timed on a sample of sources and scaled to all), all in the same run.

    python bench/matrix.py                 # the full run (~2-3 minutes on 2 cores)
    python bench/matrix.py --quick         # Porto, 100 points: a smoke run

Prints a table and writes bench/results/matrix.json (gitignored).
Map data © OpenStreetMap contributors (ODbL).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
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


def bench_extract(name: str, file: Path, sizes: list[int], repeat: int) -> dict:
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
    for n in sizes:
        pts = random_points(graph, n, seed=n)
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
    return row


def print_table(rows: list[dict]) -> None:
    print()
    for row in rows:
        print(
            f"{row['extract']}: {row['nodes']:,} nodes, {row['edges']:,} edges | "
            f"cold load {row['cold_load_s']:.1f} s | warm load {row['warm_load_s']:.3f} s "
            f"(+ snap index {row['snap_index_s']:.3f} s on first use) | "
            f"CCH order (cached with graph) {row.get('cch_order_s', float('nan')):.2f} s"
        )
    head = (
        f"{'extract':<18}{'n':>6}{'snap':>8}{'CCH prep':>10}{'CCH dur':>9}{'CCH full':>10}"
        f"{'1 thread':>10}"
        f"{'scipy dur':>11}{'scipy full':>12}{'networkx':>10}{'speedup':>9}{'same':>6}"
    )
    print()
    print(
        "seconds; 'dur' = one durations table; 'full' = durations + distances incl. snapping "
        "(two tables on two threads; '1 thread' = one after the other); networkx scaled from "
        f"{NX_SAMPLE_SOURCES} sources; speedup = networkx / CCH full"
    )
    print(head)
    print("-" * len(head))
    for row in rows:
        for r in row["points"]:
            print(
                f"{row['extract']:<18}{r['n']:>6}{r['snap_s']:>8.3f}"
                f"{r.get('cch_prep_s', float('nan')):>10.3f}"
                f"{r.get('cch_durations_table_s', float('nan')):>9.3f}"
                f"{r.get('cch_matrix_s', float('nan')):>10.3f}"
                f"{r.get('cch_matrix_1thread_s', float('nan')):>10.3f}"
                f"{r['scipy_durations_table_s']:>11.3f}{r['scipy_matrix_s']:>12.3f}"
                f"{r['networkx_matrix_s_scaled']:>10.1f}{r['speedup_vs_networkx']:>8.0f}x"
                f"{str(r.get('cch_equals_scipy', '-')):>6}"
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="Porto clip, 100 points, 1 repeat")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500, 1000])
    parser.add_argument("--extracts", nargs="+", choices=sorted(EXTRACTS), default=list(EXTRACTS))
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "matrix.json")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.extracts, args.repeat = [100], ["porto_center_clip"], 1
    rows = []
    for name in args.extracts:
        file = DATA / EXTRACTS[name]
        if not file.is_file():
            print(f"skipping {name}: {file} not found", file=sys.stderr)
            continue
        rows.append(bench_extract(name, file, args.sizes, args.repeat))
    print_table(rows)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\nload average at the end (1, 5, 15 min): {load} on {os.cpu_count()} CPUs")
    result = {
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "pyroutingkit": _cch.available(),
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
