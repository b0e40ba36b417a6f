"""Solver quality on the 56 Solomon VRPTW instances, against PyVRP and pyvroom in the same run.

    python -m bench.solomon [--time-limit 10] [--only R1,RC101] [--peers pyvrp,vroom]
                            [--family solomon|gh200]

``--family gh200`` runs the 54 Gehring and Homberger 200-customer instances
of ../shared/data instead (classes C1 ... RC2 from names such as RC2_2_7).

Every CareRoute solution (optimiser and usual-care baseline) is re-checked by
routing.check; a solution with violations is reported as infeasible. Gaps are
to the ``distance_only_trunc1`` best-known values (../shared/data/vrptw):
arc costs ``floor(10 * euclid)``, totals divided by 10. Each solver gets one
core and the same time limit (vroom: exploration level 5 with that timeout).
Writes bench/results/solomon.json and prints a table with per-class means.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.instances import SCALE, read_solomon, shared_data, solomon_bks, solomon_problem
from routing import SolverParams, check, sisr, solve, solve_baseline

RESULTS = Path(__file__).resolve().parent / "results"


def run_careroute(inst: Any, time_limit: float, baseline: bool = False) -> dict[str, Any]:
    problem = solomon_problem(inst, time_limit)
    began = time.monotonic()
    solution = solve_baseline(problem) if baseline else solve(problem, SolverParams())
    seconds = time.monotonic() - began
    violations = check(problem, solution)
    return {
        "cost": sum(r.distance or 0 for r in solution.routes) / SCALE,
        "routes": len(solution.routes),
        "feasible": not violations and not solution.unassigned,
        "unassigned": len(solution.unassigned),
        "violations": [v.code for v in violations][:5],
        "seconds": round(seconds, 2),
    }


def run_pyvrp(name: str, data_dir: Path, time_limit: float,
              family: str = "solomon") -> dict[str, Any]:
    from pyvrp import read
    from pyvrp import solve as pyvrp_solve
    from pyvrp.stop import MaxRuntime

    data = read(data_dir / "vrptw" / family / "vrplib" / f"{name}.vrp", round_func="dimacs")
    began = time.monotonic()
    result = pyvrp_solve(data, stop=MaxRuntime(time_limit), seed=1, display=False)
    return {
        "cost": result.best.distance() / SCALE,
        "routes": result.best.num_routes(),
        "feasible": result.is_feasible(),
        "seconds": round(time.monotonic() - began, 2),
    }


def run_vroom(inst: Any, time_limit: float) -> dict[str, Any]:
    from datetime import timedelta

    import vroom

    m = inst.int_matrix()
    vi = vroom.Input()
    vi.set_durations_matrix(profile="car", matrix_input=m)
    horizon = inst.due[0] * SCALE
    for k in range(inst.vehicles):
        vi.add_vehicle(vroom.Vehicle(
            id=k + 1, start=0, end=0, capacity=[inst.capacity],
            time_window=vroom.TimeWindow(inst.ready[0] * SCALE, horizon)))
    for i in range(1, len(m)):
        vi.add_job(vroom.Job(
            id=i, location=i, default_service=inst.service[i] * SCALE,
            delivery=[inst.demand[i]],
            time_windows=[vroom.TimeWindow(inst.ready[i] * SCALE, inst.due[i] * SCALE)]))
    began = time.monotonic()
    sol = vi.solve(exploration_level=5, nb_threads=1, timeout=timedelta(seconds=time_limit))
    routes = sol.routes
    cost = 0
    for _, r in routes.groupby("vehicle_id"):
        locs = list(r["location_index"])
        cost += sum(m[a][b] for a, b in zip(locs, locs[1:], strict=False))
    return {
        "cost": cost / SCALE,
        "routes": int(routes["vehicle_id"].nunique()),
        "feasible": int(sol.summary.unassigned) == 0,
        "seconds": round(time.monotonic() - began, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--only", help="comma-separated instance names or prefixes (R1, C101)")
    parser.add_argument("--peers", default="pyvrp,vroom",
                        help="peers to run beside CareRoute: pyvrp, vroom, or none")
    parser.add_argument("--family", choices=("solomon", "gh200"), default="solomon")
    parser.add_argument("--out", help="default: bench/results/FAMILY.json")
    args = parser.parse_args(argv)
    data = shared_data()
    txt = data / "vrptw" / args.family / "txt"
    if not txt.is_dir():
        print(f"no {args.family} instances at {txt} (set CAREROUTE_SHARED_DATA)",
              file=sys.stderr)
        return 2
    bks = solomon_bks(data, args.family)
    names = sorted(p.stem for p in txt.glob("*.txt"))
    if args.only:
        wanted = [w.strip() for w in args.only.split(",")]
        names = [n for n in names if any(n.startswith(w) for w in wanted)]
    peers = [p for p in args.peers.split(",") if p and p != "none"]
    solvers = ["careroute", "usual_care", *peers]
    sisr.warm_up()  # a one-off compile, not part of any instance's time
    rows = []
    header = f"{'instance':9} {'BKS':>8} " + " ".join(f"{s:>19}" for s in solvers)
    print(header)
    for name in names:
        inst = read_solomon(txt / f"{name}.txt")
        row: dict[str, Any] = {"instance": name, "bks": bks[name]}
        row["careroute"] = run_careroute(inst, args.time_limit)
        row["usual_care"] = run_careroute(inst, args.time_limit, baseline=True)
        if "pyvrp" in peers:
            row["pyvrp"] = run_pyvrp(name, data, args.time_limit, args.family)
        if "vroom" in peers:
            row["vroom"] = run_vroom(inst, args.time_limit)
        for s in solvers:
            r = row[s]
            r["gap_pct"] = round(100 * (r["cost"] / bks[name] - 1), 3) if r["feasible"] else None
        rows.append(row)
        cells = " ".join(
            f"{row[s]['cost']:9.1f} {_gap(row[s]['gap_pct']):>9}" for s in solvers)
        print(f"{name:9} {bks[name]:8.1f} {cells}", flush=True)
    summary = _summary(rows, solvers)
    print()
    print(f"{'class':9} " + " ".join(f"{s:>12}" for s in solvers))
    for cls, means in summary.items():
        print(f"{cls:9} " + " ".join(f"{_gap(means[s]):>12}" for s in solvers))
    out = Path(args.out or RESULTS / f"{args.family}.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": args.family, "time_limit_s": args.time_limit, "threads": 1,
        "convention": "distance_only_trunc1", "rows": rows, "mean_gap_pct": summary,
    }, indent=1))
    print(f"\nwrote {out}")
    return 0


def _gap(value: float | None) -> str:
    return "infeas." if value is None else f"{value:.2f}%"


def instance_class(name: str) -> str:
    """C1, C2, R1, R2, RC1 or RC2, from a Solomon (RC105) or a GH name (RC1_2_5)."""
    if "_" in name:
        return name.split("_")[0]
    letters = name.rstrip("0123456789")
    return letters + name[len(letters)]


def _summary(rows: list[dict[str, Any]], solvers: list[str]) -> dict[str, dict[str, Any]]:
    by_class: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_class[instance_class(row["instance"])].append(row)
        by_class["all"].append(row)
    out: dict[str, dict[str, Any]] = {}
    for cls in sorted(by_class, key=lambda c: (c == "all", c)):
        out[cls] = {}
        for s in solvers:
            gaps = [r[s]["gap_pct"] for r in by_class[cls]]
            out[cls][s] = None if any(g is None for g in gaps) else round(
                statistics.fmean(gaps), 3)
    return out


if __name__ == "__main__":
    sys.exit(main())
