"""Usual care against CareRoute on the same generated agency days (bench.hhday).

    python -m bench.usual_care [--sizes 80,300,1000] [--time-limits 5,30,120] [--osm porto]
    python -m bench.usual_care --quick        # 80 visits, 5 s: a smoke check
    python -m bench.usual_care --sizes 300 --time-limits 30 --travel-first \
        --weights preference_penalty=300 --weights preference_penalty=300,balance_weight=30

For each size, one seeded day on real roads (:mod:`bench.hhday`) is planned by
the usual-care dispatcher (``routing.solve_baseline``: most acute first, each
visit to the nearest eligible clinician who can still take it) and by
CareRoute (``routing.solve``) at each time limit. Every solution is re-checked
by ``routing.check``; one with violations is reported as infeasible. KPIs come
from ``routing.compute_kpis``. The KPI table is printed side by side, then the
issue-7 targets (300-visit day at 30 s) met or missed, and by how much, then
how the gap moves with the time limit and the size.

``--weights K=V[,K=V]`` (repeatable) also plans each day at each time limit
with those objective weights (:class:`routing.Options` fields) in place of
the defaults; each such plan is measured on the real day, so its objective
column counts what it gave up. ``--travel-first`` is
``--weights preference_penalty=0,balance_weight=0``: continuity and balance
out, travel, overtime and leaving visits out still in, which shows how much
travel the day's hard rules (skills, windows, shifts, breaks, links) leave
to cut. Writes
bench/results/usual_care.json. Map data © OpenStreetMap contributors.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import fields, replace
from pathlib import Path
from typing import Any

from bench.hhday import load_day, osm_path, summary
from routing import (
    Options,
    Problem,
    Solution,
    SolverParams,
    check,
    objective,
    solve,
    solve_baseline,
)

RESULTS = Path(__file__).resolve().parent / "results"

#: Issue 7's targets, judged on the 300-visit day at 30 s.
TARGET_SIZE, TARGET_TIME_LIMIT = 300, 30.0
TRAVEL_CUT_MIN = 0.25
WORKLOAD_RATIO_MAX = 1.3


def measure(problem: Problem, solution: Solution, seconds: float) -> dict[str, Any]:
    """KPIs, checker verdict and objective of one plan."""
    violations = check(problem, solution)
    k: dict[str, Any] = dict(solution.kpis)
    served = k["visits_assigned"]
    critical = sum(1 for u in solution.unassigned
                   if problem.visit(u.visit_id).mandatory or problem.visit(u.visit_id).acuity == 5)
    return {
        "feasible": not violations,
        "violations": [f"{v.code}: {v.message}" for v in violations[:5]],
        "violation_count": len(violations),
        "objective": objective(problem, solution),
        "seconds": round(seconds, 2),
        "travel_per_visit_s": round(k["travel_time"] / served, 1) if served else None,
        "critical_unassigned": critical,
        "kpis": k,
    }


def run_size(osm: str, visits: int, seed: int, time_limits: list[float],
             variants: Sequence[Mapping[str, int]] = (), say: Any = print) -> dict[str, Any]:
    """One day of ``visits`` visits: usual care once, CareRoute at each time limit."""
    began = time.monotonic()
    day = load_day(osm, visits, seed=seed)
    problem = day.problem
    info = summary(day)
    say(f"\n== {visits} visits, {info['clinicians']} clinicians ({info['source']}, seed {seed}; "
        f"day built in {time.monotonic() - began:.0f} s)")
    runs: dict[str, Any] = {}
    began = time.monotonic()
    runs["usual_care"] = measure(problem, solve_baseline(problem), time.monotonic() - began)
    for t in time_limits:
        began = time.monotonic()
        solution = solve(problem, SolverParams(time_limit=t))
        runs[_name(t)] = measure(problem, solution, time.monotonic() - began)
        say(f"   careroute {t:g} s done ({runs[_name(t)]['seconds']:.0f} s)", flush=True)
    for weights in variants:
        weighted = replace(problem, options=replace(problem.options, **weights))
        for t in time_limits:
            began = time.monotonic()
            solution = solve(weighted, SolverParams(time_limit=t))
            # Measured on the real day, so its objective counts what it gave up.
            name = _name(t, _prefix(weights))
            runs[name] = measure(problem, solution, time.monotonic() - began)
            say(f"   {_head(name)} done", flush=True)
    return {"visits": visits, "clinicians": info["clinicians"], "day": info, "runs": runs,
            "targets": {_name(t): targets(runs["usual_care"], runs[_name(t)])
                        for t in time_limits}}


#: Name prefix of CareRoute's runs with the default weights.
CAREROUTE = "careroute_"
#: Short names of objective weights in column heads.
SHORT = {"preference_penalty": "pref", "balance_weight": "bal", "overtime_weight": "ot",
         "travel_weight": "trav", "drop_penalty": "drop", "distance_weight": "dist"}
TRAVEL_FIRST = {"preference_penalty": 0, "balance_weight": 0}


def _prefix(weights: Mapping[str, int]) -> str:
    return "w:" + ",".join(f"{SHORT.get(k, k)}={v}" for k, v in weights.items()) + "_"


def parse_weights(text: str) -> dict[str, int]:
    """``preference_penalty=300,balance_weight=30`` -> a dict of Options fields."""
    known = {f.name for f in fields(Options)} - {"time_limit", "seed"}
    out = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in known:
            raise argparse.ArgumentTypeError(
                f"{part!r} is not KEY=VALUE with KEY one of {', '.join(sorted(known))}")
        try:
            out[key] = int(value)
        except ValueError:
            out[key] = -1
        if out[key] < 0:
            raise argparse.ArgumentTypeError(
                f"{key}={value!r} is not an integer >= 0")
    return out


def _name(t: float, prefix: str = CAREROUTE) -> str:
    return f"{prefix}{t:g}s"


def _head(name: str) -> str:
    if name == "usual_care":
        return "usual care"
    if name.startswith("w:"):
        weights, _, limit = name[2:].rpartition("_")
        return f"{weights} {limit}"
    return name.replace(CAREROUTE, "CareRoute ")


def targets(usual: dict[str, Any], ours: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 7's four targets for one CareRoute plan against usual care on the same day."""
    u, c = usual["kpis"], ours["kpis"]
    cut = 1 - c["travel_time"] / u["travel_time"] if u["travel_time"] else 0.0
    critical = ours["critical_unassigned"]  # mandatory or acuity 5, each visit once
    over = (c["overtime"] - u["overtime"]) / 60
    ratio = c["workload_ratio"]
    return [
        {"target": f"travel >= {TRAVEL_CUT_MIN:.0%} below usual care",
         "value": round(cut, 4), "shown": f"{100 * cut:.1f} %", "met": cut >= TRAVEL_CUT_MIN,
         "short_by": None if cut >= TRAVEL_CUT_MIN else f"{100 * (TRAVEL_CUT_MIN - cut):.1f} pp"},
        {"target": "no mandatory or acuity-5 visit unassigned",
         "value": critical, "met": critical == 0,
         "short_by": None if critical == 0 else f"{critical} visit(s)"},
        {"target": "overtime not above usual care",
         "value": round(over, 1), "shown": f"{over:+.0f} min", "met": over <= 0,
         "short_by": None if over <= 0 else f"{over:.0f} min more"},
        {"target": f"workload max/min <= {WORKLOAD_RATIO_MAX}",
         "value": None if ratio is None else round(ratio, 3),
         "met": ratio is not None and ratio <= WORKLOAD_RATIO_MAX,
         "short_by": "unbounded" if ratio is None else (
             None if ratio <= WORKLOAD_RATIO_MAX else f"{ratio - WORKLOAD_RATIO_MAX:.2f} over")},
        {"target": "passes the checker", "value": ours["violation_count"],
         "met": ours["feasible"], "short_by": None if ours["feasible"] else "infeasible"},
    ]


# -- printing ---------------------------------------------------------------------------


def _h(s: float) -> str:
    return f"{s / 3600:.1f} h"


def _min(s: float | None) -> str:
    return "-" if s is None else f"{s / 60:.0f}"


def kpi_rows(run: dict[str, Any]) -> dict[str, str]:
    """The table's cells for one plan, in display order."""
    k = run["kpis"]
    vpc = k["visits_per_clinician"]
    ratio = k["workload_ratio"]
    cells = {
        "feasible (checker)": "yes" if run["feasible"] else f"NO ({run['violation_count']})",
        "visits served": f"{k['visits_assigned']}",
        "unassigned a1/a2/a3/a4/a5": "/".join(
            str(k["unassigned_by_acuity"][a]) for a in "12345"),
        "unassigned mandatory": f"{k['unassigned_mandatory']}",
        "travel time": _h(k["travel_time"]),
        "travel share": f"{100 * k['travel_share']:.1f} %",
        "travel per visit (min)": _min(run["travel_per_visit_s"]),
        "distance": f"{k.get('distance', 0) / 1000:.0f} km",
        "visits/clinician mean (min-max)": f"{vpc['mean']:.1f} ({vpc['min']}-{vpc['max']})",
        "clinicians used": f"{k['clinicians_used']}",
        "overtime (min)": _min(k["overtime"]),
        "waiting": _h(k["waiting"]),
    }
    for a in "12345":
        t = k["time_to_visit_by_acuity"].get(a)
        cells[f"time to visit a{a} (min)"] = _min(t)
    cells["workload max / min"] = (
        f"{_h(k['workload_max_s'])} / {_h(k['workload_min_s'])}")
    cells["workload max/min ratio"] = "unbounded" if ratio is None else f"{ratio:.2f}"
    cont = k["continuity"]
    cells["continuity"] = "-" if cont is None else f"{100 * cont:.0f} %"
    cells["objective"] = f"{run['objective']:,}"
    cells["seconds"] = f"{run['seconds']:.0f}"
    return cells


def print_size(result: dict[str, Any], say: Any = print) -> None:
    runs = result["runs"]
    names = list(runs)
    cols = {n: kpi_rows(runs[n]) for n in names}
    labels = list(next(iter(cols.values())))
    width = max(len(x) for x in labels)
    heads = [_head(n) for n in names]
    say(f"\n{'KPI':{width}}  " + "  ".join(f"{h:>16}" for h in heads))
    for label in labels:
        say(f"{label:{width}}  " + "  ".join(f"{cols[n][label]:>16}" for n in names))


def print_targets(results: list[dict[str, Any]], say: Any = print) -> None:
    """The targets on the 300-visit day at 30 s (or the nearest run there is)."""
    pick = _target_run(results)
    if pick is None:
        return
    result, name = pick
    official = result["visits"] == TARGET_SIZE and name == _name(TARGET_TIME_LIMIT)
    where = f"{result['visits']} visits, {name.replace(CAREROUTE, '')}"
    say(f"\nTargets (issue 7: 300 visits at 30 s){'' if official else '; measured on ' + where}")
    for t in result["targets"][name]:
        mark = "met" if t["met"] else f"NOT met (short by {t['short_by']})"
        say(f"  {t['target']:44} {t.get('shown', str(t['value'])):>8}  {mark}")


def _target_run(results: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
    if not results:
        return None
    by_size = {r["visits"]: r for r in results}
    result = by_size.get(TARGET_SIZE) or min(
        results, key=lambda r: abs(r["visits"] - TARGET_SIZE))
    names = [n for n in result["runs"] if n.startswith(CAREROUTE)]
    if not names:
        return None
    want = _name(TARGET_TIME_LIMIT)
    name = want if want in names else min(
        names, key=lambda n: abs(float(n[len(CAREROUTE):-1]) - TARGET_TIME_LIMIT))
    return result, name


def print_gaps(results: list[dict[str, Any]], say: Any = print) -> None:
    """How the gap to usual care moves with the time limit and the size."""
    say("\nGap to usual care by size and time limit "
        "(travel cut; served visits; overtime; workload ratio)")
    say(f"{'visits':>6} {'run':>17} {'travel cut':>10} {'served +/-':>10} "
        f"{'overtime +/- min':>16} {'ratio':>6} {'critical unassigned':>19}")
    for r in results:
        u = r["runs"]["usual_care"]["kpis"]
        for name, run in r["runs"].items():
            if name == "usual_care":
                continue
            k = run["kpis"]
            cut = 1 - k["travel_time"] / u["travel_time"] if u["travel_time"] else 0.0
            ratio = k["workload_ratio"]
            say(f"{r['visits']:>6} {_head(name):>17} {100 * cut:>9.1f}% "
                f"{k['visits_assigned'] - u['visits_assigned']:>+10d} "
                f"{(k['overtime'] - u['overtime']) / 60:>+16.0f} "
                f"{'-' if ratio is None else f'{ratio:.2f}':>6} "
                f"{run['critical_unassigned']:>19d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="80,300,1000", help="visits per day, comma-separated")
    parser.add_argument("--time-limits", default="5,30,120", help="seconds, comma-separated")
    parser.add_argument("--osm", default="porto", help="porto, columbus, or an OSM extract path")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="80 visits at 5 s (smoke check)")
    parser.add_argument("--weights", type=parse_weights, action="append", default=[],
                        metavar="K=V[,K=V]",
                        help="also plan with these objective weights (repeatable)")
    parser.add_argument("--travel-first", action="store_true",
                        help="also plan with continuity and balance out of the objective")
    parser.add_argument("--out", default=str(RESULTS / "usual_care.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.time_limits = "80", "5"
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    limits = [float(t) for t in args.time_limits.split(",") if t.strip()]
    variants = ([TRAVEL_FIRST] if args.travel_first else []) + args.weights
    if not osm_path(args.osm).is_file():
        print(f"no OSM extract at {osm_path(args.osm)} (set CAREROUTE_SHARED_DATA)",
              file=sys.stderr)
        return 2
    results = []
    for size in sizes:
        result = run_size(args.osm, size, args.seed, limits, variants)
        print_size(result)
        results.append(result)
    print_targets(results)
    print_gaps(results)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "usual_care", "osm": osm_path(args.osm).name, "seed": args.seed,
        "sizes": sizes, "time_limits_s": limits,
        "targets_on": {"visits": TARGET_SIZE, "time_limit_s": TARGET_TIME_LIMIT},
        "results": results,
    }, indent=1))
    print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
