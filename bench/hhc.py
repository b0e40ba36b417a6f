"""The home-health research benchmark: Mankowska et al. (2014) and Italian real-city instances.

    python -m bench.hhc [--set mankowska|italian|all] [--max-patients 25] [--time-limit 10]
                        [--only NAME,PREFIX] [--extra NAME,...]

Each instance of ../shared/data/hhc (iolab-uniud/hhcrsp, MIT) is adapted to a
CareRoute problem, solved by ``routing.solve``, re-checked by ``routing.check``,
converted back to the authors' solution format and judged by the authors'
unchanged validator (``hhc/validator/validator.py check-solution``, run in a
subprocess on gunzipped copies). The gap is to the best-known total cost in
``best.csv``: ``(distance + total tardiness + max tardiness) / 3``.

The adaptation
--------------
* The depot is location 0 and every caregiver's start and end; patients are
  locations 1..n in file order (the instances' matrix order). Each required
  service is a visit (id ``<patient>:<service>``) needing the skill named by
  the service id; caregivers hold their abilities as skills.
* A patient with two services gives two visits tied by a link:
  ``simultaneous`` stays simultaneous (different caregivers, same start),
  ``sequential [min, max]`` becomes a precedence from the first listed
  service to the second with ``min_gap``/``max_gap`` (start to start, as the
  validator measures it).
* Times are scaled by :data:`SCALE` to integers. The matrix's durations are
  ``ceil(SCALE * d)`` (never shorter than the true travel, so every schedule
  we build is feasible in the exact data) and its distances
  ``round(SCALE * d)``. The objective is distance only
  (``travel_weight=0, distance_weight=1``), every other weight off, and
  leaving a visit out costs far more than any route (the validator requires
  every patient served). Shifts are [0, horizon] (the instances' depot has no
  closing time).
* Time windows. HHC windows are soft at the end (a late start costs its
  tardiness) and hard at the start; ours are hard, and our objective cannot
  price lateness. So each instance is solved once per allowed lateness in
  :data:`LATENESS_STEPS` (0, 10, 30, 60 minutes added to every window end),
  and the plan with the lowest authors' cost wins. An attempt that leaves
  patients out (the validator needs every patient served) widens just those
  patients' windows further (:data:`FALLBACK_STEPS`: +30, +60, +120, then
  to the horizon) and re-solves from its plan until all are served. Within a
  window our solver treats lateness as free, and it never trades lateness
  for distance the way the best-known solutions do, so the gap mixes the
  routing quality with this modelling gap (bench/README.md, results).
* Converting back, each caregiver's visit order is kept and the service
  starts are recomputed on the exact (unscaled) data as the earliest
  schedule that meets the travel times, window starts and link gaps (a
  fixed-point over difference constraints). Every start only moves earlier,
  which can only lower tardiness; the routes and assignments are ours.

Cite D. S. Mankowska, F. Meisel, C. Bierwirth, Health Care Management Science
17 (2014) and S. Ceschia, L. Di Gaspero, R. M. Rosati, A. Schaerf, ITOR 2024
(doi:10.1111/itor.13585) when reporting these results.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.instances import shared_data
from routing import (
    Clinician,
    Location,
    Matrix,
    Options,
    Precedence,
    Problem,
    Route,
    Simultaneous,
    Solution,
    SolverParams,
    Stop,
    Unassigned,
    Visit,
    check,
    solve,
)
from routing.model import Link

RESULTS = Path(__file__).resolve().parent / "results"

#: Instance minutes become integers: every time and distance is multiplied by this.
SCALE = 10
#: Lateness allowed on every window (instance minutes), one solve each; the cheapest plan wins.
LATENESS_STEPS: tuple[int, ...] = (0, 10, 30, 60)
#: For patients still left out: more lateness (minutes on top), warm-started; None: horizon.
FALLBACK_STEPS: tuple[int | None, ...] = (30, 60, 120, None)
#: Cost of leaving a visit out: far above any route (the validator wants every patient served).
DROP_PENALTY = 10**8

#: A few instances beyond the default Mankowska sizes, run by default ("a few larger").
DEFAULT_EXTRA = (
    "InstanzCPLEX_HCSRP_50_1",
    "InstanzCPLEX_HCSRP_75_1",
    "InstanzVNS_HCSRP_100_1",
    "InstanzVNS_HCSRP_200_1",
    "instance_025-cesena-r18-p45-s5-sim18.9-seq12.6",
    "instance_009-reggio-emilia-r15-p55-s2-sim21.7-seq7.6",
    "instance_023-udine-r15-p75-s3-sim8.1-seq23.0",
    "instance_010-milan-r15-p76-s2-sim17.7-seq13.7",
    "instance_020-cesena-r15-p78-s3-sim23.4-seq24.3",
    "instance_017-rome-r26-p101-s3-sim9.8-seq3.7",
)


# -- reading --------------------------------------------------------------------------


def hhc_dir() -> Path:
    """The ../shared/data/hhc folder."""
    return shared_data() / "hhc"


def read_instance(path: str | Path) -> dict[str, Any]:
    """An HHC instance (``.json`` or ``.json.gz``) as its JSON object."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt") as fh:  # type: ignore[operator]
        return json.load(fh)


def instance_name(path: Path) -> str:
    return path.name.removesuffix(".gz").removesuffix(".json")


def instance_paths(root: Path | None = None) -> dict[str, Path]:
    """Every Mankowska and Italian instance, by name."""
    root = root or hhc_dir()
    paths = sorted(root.glob("mankowska/instances/*.json.gz")) + sorted(
        root.glob("italian/instances/*.json.gz"))
    return {instance_name(p): p for p in paths}


def best_known(root: Path | None = None) -> dict[str, dict[str, float]]:
    """Best-known values (distance, tardiness, cost) by instance, from both best.csv files."""
    root = root or hhc_dir()
    out: dict[str, dict[str, float]] = {}
    for group in ("mankowska", "italian"):
        path = root / group / "best.csv"
        if not path.is_file():
            continue
        with open(path) as fh:
            for row in csv.DictReader(fh):
                out[row["instance"]] = {
                    k: float(row[k]) for k in (
                        "distance_traveled", "max_tardiness", "total_tardiness", "total_cost")}
    return out


# -- adapting -------------------------------------------------------------------------


@dataclass(frozen=True)
class Adapted:
    """A CareRoute problem made from an HHC instance, and the way back."""

    problem: Problem
    #: visit id -> (patient id, service id)
    service_of: Mapping[str, tuple[str, str]]
    #: patient id -> its location index (1..n)
    location_of: Mapping[str, int]
    scale: int


def visit_id(patient: str, service: str) -> str:
    return f"{patient}:{service}"


def horizon(inst: Mapping[str, Any]) -> float:
    """A closing time (instance minutes) late enough for any route."""
    dmax = max(max(row) for row in inst["distances"])
    latest = max(p["time_window"][1] for p in inst["patients"])
    longest = max(rc["duration"] for p in inst["patients"] for rc in p["required_caregivers"])
    return 2 * (latest + longest + dmax) + sum(
        rc["duration"] for p in inst["patients"] for rc in p["required_caregivers"]
    ) / max(1, len(inst["caregivers"]))


def to_problem(inst: Mapping[str, Any], *, extra_end: Mapping[str, int | None] | None = None,
               scale: int = SCALE, time_limit: float = 10.0) -> Adapted:
    """The instance as a CareRoute problem (see the module docstring).

    Parameters
    ----------
    inst
        The instance's JSON object.
    extra_end
        Patient id -> instance minutes added to the end of its visits' windows
        (None: up to the horizon). Patients not listed keep their windows.
    scale
        Integer scale of times and distances.
    time_limit
        ``options.time_limit`` (s).
    """
    extra_end = extra_end or {}
    eps = 1e-6
    d = inst["distances"]
    n = len(d)
    if n != len(inst["patients"]) + 1:
        raise ValueError(f"distances has {n} rows, expected 1 + {len(inst['patients'])} patients")
    durations = tuple(tuple(math.ceil(scale * x - eps) for x in row) for row in d)
    distances = tuple(tuple(round(scale * x) for x in row) for row in d)
    end = math.ceil(scale * horizon(inst))
    clinicians = tuple(
        Clinician(id=c["id"], start_location=0, shift_start=0, shift_end=end,
                  skills=frozenset(c["abilities"]))
        for c in inst["caregivers"])
    visits: list[Visit] = []
    links: list[Link] = []
    service_of: dict[str, tuple[str, str]] = {}
    location_of: dict[str, int] = {}
    for i, p in enumerate(inst["patients"], start=1):
        pid = p["id"]
        location_of[pid] = i
        lo = math.ceil(scale * p["time_window"][0] - eps)
        hi = math.floor(scale * p["time_window"][1] + eps)
        if pid in extra_end:
            extra = extra_end[pid]
            hi = end if extra is None else min(end, hi + round(scale * extra))
        ids = []
        for rc in p["required_caregivers"]:
            vid = visit_id(pid, rc["service"])
            ids.append(vid)
            service_of[vid] = (pid, rc["service"])
            visits.append(Visit(
                id=vid, patient_id=pid, location=i,
                duration=math.ceil(scale * rc["duration"] - eps),
                time_windows=((lo, max(lo, hi)),),
                required_skills=frozenset({rc["service"]}),
            ))
        if len(ids) == 2:
            sync = p.get("synchronization", {})
            if sync.get("type") == "sequential":
                gap_lo, gap_hi = sync["distance"]
                links.append(Precedence(
                    first=ids[0], then=ids[1], min_gap=math.ceil(scale * gap_lo - eps),
                    max_gap=math.floor(scale * gap_hi + eps)))
            else:
                links.append(Simultaneous((ids[0], ids[1])))
        elif len(ids) > 2:
            raise ValueError(f"patient {pid} needs {len(ids)} caregivers; at most 2 supported")
    options = Options(
        time_limit=time_limit, travel_weight=0, distance_weight=1, overtime_weight=0,
        drop_penalty=DROP_PENALTY, preference_penalty=0, balance_weight=0)
    problem = Problem(
        locations=tuple(Location() for _ in range(n)),
        matrix=Matrix(durations, distances),
        clinicians=clinicians, visits=tuple(visits), links=tuple(links), options=options)
    return Adapted(problem, service_of, location_of, scale)


# -- converting back ------------------------------------------------------------------


def earliest_starts(inst: Mapping[str, Any], orders: Mapping[str, list[tuple[str, str]]],
                    fallback: Mapping[tuple[str, str], float]) -> dict[tuple[str, str], float]:
    """Earliest service starts (instance minutes) for these visit orders, on the exact data.

    The least solution of the difference constraints: travel and service
    along each route from time 0 at the depot, window starts, link gaps
    (simultaneous: equal; sequential: ``min <= b - a <= max``). It minimises
    every start at once, hence every tardiness. ``fallback`` (our own starts)
    is returned if the iteration does not settle.
    """
    d = inst["distances"]
    patients = {p["id"]: (i, p) for i, p in enumerate(inst["patients"], start=1)}
    dur = {(p["id"], rc["service"]): rc["duration"]
           for p in inst["patients"] for rc in p["required_caregivers"]}
    x = {key: float(patients[key[0]][1]["time_window"][0]) for key in fallback}
    pairs = []
    for pid, (_, p) in patients.items():
        rcs = p["required_caregivers"]
        if len(rcs) == 2 and all((pid, rc["service"]) in x for rc in rcs):
            a, b = (pid, rcs[0]["service"]), (pid, rcs[1]["service"])
            sync = p.get("synchronization", {})
            gap = (sync["distance"] if sync.get("type") == "sequential" else (0, 0))
            pairs.append((a, b, float(gap[0]), float(gap[1])))
    for _ in range(10 * (len(x) + 2)):
        changed = False
        for route in orders.values():
            t, prev = 0.0, 0
            for key in route:
                loc = patients[key[0]][0]
                lb = t + d[prev][loc]
                if x[key] < lb:
                    x[key], changed = lb, True
                t, prev = x[key] + dur[key], loc
        for a, b, lo, hi in pairs:
            if x[b] < x[a] + lo:
                x[b], changed = x[a] + lo, True
            if x[a] < x[b] - hi:
                x[a], changed = x[b] - hi, True
        if not changed:
            return x
    return dict(fallback)


def to_hhc_solution(inst: Mapping[str, Any], adapted: Adapted, solution: Solution,
                    *, retime: bool = True) -> dict[str, Any]:
    """Our solution in the authors' format: a route for every caregiver, starts in minutes."""
    s = adapted.scale
    orders: dict[str, list[tuple[str, str]]] = {c["id"]: [] for c in inst["caregivers"]}
    ours: dict[tuple[str, str], float] = {}
    for route in solution.routes:
        for stop in route.stops:
            key = adapted.service_of[stop.visit_id]
            orders[route.clinician_id].append(key)
            ours[key] = stop.start / s
    starts = earliest_starts(inst, orders, ours) if retime else ours
    dur = {(p["id"], rc["service"]): rc["duration"]
           for p in inst["patients"] for rc in p["required_caregivers"]}
    return {"routes": [
        {"caregiver_id": cid, "locations": [
            {"patient_id": pid, "service_id": sid, "arrival_time": starts[(pid, sid)],
             "departure_time": starts[(pid, sid)] + dur[(pid, sid)]}
            for pid, sid in route]}
        for cid, route in orders.items()]}


def from_hhc_solution(inst: Mapping[str, Any], adapted: Adapted,
                      hhc: Mapping[str, Any]) -> Solution:
    """An authors'-format solution as a CareRoute solution of ``adapted.problem``."""
    p, s = adapted.problem, adapted.scale
    m = p.require_matrix()
    dist = m.distances
    assert dist is not None
    routes = []
    served: set[str] = set()
    for r in hhc["routes"]:
        clinician = p.clinician(r.get("caregiver_id") or r["caregiver"])
        stops, prev, ready, travel, distance = [], 0, clinician.shift_start, 0, 0
        for step in r.get("locations", []):
            vid = visit_id(step.get("patient_id") or step["patient"],
                           step.get("service_id") or step["service"])
            v = p.visit(vid)
            leg = m.durations[prev][v.location]
            arrival = ready + leg
            start = round(step["arrival_time"] * s)
            stops.append(Stop(vid, arrival, start, start + v.duration, leg,
                              dist[prev][v.location], start - arrival))
            travel += leg
            distance += dist[prev][v.location]
            prev, ready = v.location, start + v.duration
            served.add(vid)
        if not stops:
            continue
        travel += m.durations[prev][clinician.end]
        distance += dist[prev][clinician.end]
        routes.append(Route(clinician.id, clinician.shift_start,
                            ready + m.durations[prev][clinician.end], tuple(stops), (),
                            travel, distance, 0))
    unassigned = tuple(Unassigned(v.id, "not_worth_it") for v in p.visits if v.id not in served)
    return Solution(tuple(routes), unassigned)


def hhc_cost(inst: Mapping[str, Any], hhc: Mapping[str, Any]) -> dict[str, float]:
    """The authors' cost of a solution (as the validator computes it, without its checks)."""
    d = inst["distances"]
    index = {p["id"]: (i, p) for i, p in enumerate(inst["patients"], start=1)}
    distance, tardiness = 0.0, []
    for r in hhc["routes"]:
        prev = 0
        for step in r["locations"]:
            i, p = index[step["patient_id"]]
            distance += d[prev][i]
            tardiness.append(max(0.0, step["arrival_time"] - p["time_window"][1]))
            prev = i
        distance += d[prev][0]
    total, worst = sum(tardiness), max(tardiness, default=0.0)
    return {"distance_traveled": distance, "total_tardiness": total, "max_tardiness": worst,
            "total_cost": (distance + total + worst) / 3}


# -- solving ------------------------------------------------------------------------


def solve_instance(inst: Mapping[str, Any], time_limit: float,
                   lateness: tuple[int, ...] = LATENESS_STEPS,
                   ) -> tuple[Adapted, Solution, dict[str, Any], list[dict[str, Any]]]:
    """Solve once per allowed lateness and keep the cheapest plan (module docstring).

    Returns the winning adapted problem, its solution, its authors'-format
    solution and one record per attempt.
    """
    best: tuple[float, Adapted, Solution, dict[str, Any]] | None = None
    attempts = []
    for late in lateness:
        extra: dict[str, int | None] = {p["id"]: late for p in inst["patients"]}
        adapted = to_problem(inst, extra_end=extra, time_limit=time_limit)
        solution = solve(adapted.problem, SolverParams(time_limit=time_limit))
        record: dict[str, Any] = {"lateness_min": late, "left_out": len(solution.unassigned)}
        for step in FALLBACK_STEPS:
            if not solution.unassigned:
                break
            # the patients left out may be later still; start from this plan
            for u in solution.unassigned:
                extra[adapted.service_of[u.visit_id][0]] = None if step is None else late + step
            warm = {r.clinician_id: [s.visit_id for s in r.stops] for r in solution.routes}
            adapted = to_problem(inst, extra_end=extra, time_limit=time_limit)
            solution = solve(adapted.problem, SolverParams(
                time_limit=time_limit / len(FALLBACK_STEPS), initial_routes=warm))
        record["widened"] = sum(1 for v in extra.values() if v != late)
        record["to_horizon"] = sum(1 for v in extra.values() if v is None)
        hhc = to_hhc_solution(inst, adapted, solution)
        cost = hhc_cost(inst, hhc)["total_cost"] if not solution.unassigned else math.inf
        record["cost"] = None if math.isinf(cost) else round(cost, 3)
        attempts.append(record)
        if best is None or cost < best[0]:
            best = (cost, adapted, solution, hhc)
    assert best is not None
    return best[1], best[2], best[3], attempts


def validator_path(root: Path | None = None) -> Path:
    return (root or hhc_dir()) / "validator" / "validator.py"


def validate(instance_json: Path, hhc: Mapping[str, Any], *,
             validator: Path | None = None) -> dict[str, Any]:
    """Run the authors' validator on a plain-JSON instance and a solution; its verdict."""
    validator = validator or validator_path()
    with tempfile.TemporaryDirectory() as tmp:
        sol = Path(tmp) / "solution.json"
        sol.write_text(json.dumps(hhc))
        done = subprocess.run(
            [sys.executable, str(validator), "check-solution", str(instance_json), str(sol)],
            capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        return {"valid": False, "error": lines[-1] if lines else f"exit {done.returncode}"}
    try:
        cost = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"valid": False, "error": f"unreadable validator output: {done.stdout[-200:]}"}
    return {"valid": True, "cost": {k: cost[k] for k in (
        "distance_traveled", "total_tardiness", "max_tardiness", "total_cost")}}


def plain_copy(path: Path, folder: Path) -> Path:
    """A gunzipped copy of an instance in ``folder`` (the validator reads plain JSON only)."""
    out = folder / f"{instance_name(path)}.json"
    if path.suffix == ".gz":
        with gzip.open(path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        shutil.copy(path, out)
    return out


def run_instance(name: str, path: Path, best: Mapping[str, float] | None, time_limit: float,
                 folder: Path) -> dict[str, Any]:
    """Adapt, solve, check, convert back, validate and compare one instance."""
    inst = read_instance(path)
    began = time.monotonic()
    adapted, solution, hhc, attempts = solve_instance(inst, time_limit)
    seconds = time.monotonic() - began
    violations = check(adapted.problem, solution)
    verdict = validate(plain_copy(path, folder), hhc)
    row: dict[str, Any] = {
        "instance": name,
        "patients": len(inst["patients"]),
        "caregivers": len(inst["caregivers"]),
        "visits": len(adapted.problem.visits),
        "links": len(adapted.problem.links),
        "seconds": round(seconds, 1),
        "attempts": attempts,
        "careroute_check": [v.code for v in violations[:5]],
        "left_out": len(solution.unassigned),
        "valid": verdict["valid"],
        "ours": hhc_cost(inst, hhc),
        "validator": verdict.get("cost"),
        "error": verdict.get("error"),
        "best": dict(best) if best else None,
        "gap_pct": None,
    }
    if verdict["valid"] and best:
        row["gap_pct"] = round(100 * (verdict["cost"]["total_cost"] / best["total_cost"] - 1), 2)
    return row


def select(names: list[str], *, which: str, max_patients: int, only: list[str],
           extra: list[str]) -> list[str]:
    """The instances to run: by set and size, or by name/prefix, plus the extras."""
    def patients(name: str) -> int:
        if name.startswith("Instanz"):
            return int(name.split("_")[-2])
        return int(next(part[1:] for part in name.split("-") if part[:1] == "p"
                        and part[1:].isdigit()))

    if only:
        return [n for n in names if any(n.startswith(o) for o in only)]
    out = []
    for n in names:
        group = "mankowska" if n.startswith("Instanz") else "italian"
        if which in (group, "all") and patients(n) <= max_patients:
            out.append(n)
    out += [n for n in extra if n in names and n not in out]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="which", default="mankowska",
                        choices=("mankowska", "italian", "all"))
    parser.add_argument("--max-patients", type=int, default=25)
    parser.add_argument("--only", default="", help="comma-separated names or prefixes")
    parser.add_argument("--extra", default=",".join(DEFAULT_EXTRA),
                        help="more instances by name (default: a few larger and Italian ones)")
    parser.add_argument("--time-limit", type=float, default=10.0,
                        help="seconds per solve (one per lateness step; a fallback gets half)")
    parser.add_argument("--out", default=str(RESULTS / "hhc.json"))
    args = parser.parse_args(argv)
    root = hhc_dir()
    if not validator_path(root).is_file():
        print(f"no HHC data at {root} (set CAREROUTE_SHARED_DATA)", file=sys.stderr)
        return 2
    paths = instance_paths(root)
    names = select(list(paths), which=args.which, max_patients=args.max_patients,
                   only=[o for o in args.only.split(",") if o],
                   extra=[e for e in args.extra.split(",") if e])
    best = best_known(root)
    rows = []
    print(f"{'instance':52} {'pat':>4} {'valid':>5} {'distance':>9} {'tard':>7} "
          f"{'maxT':>6} {'cost':>9} {'best':>9} {'gap':>8} {'late':>5} {'s':>5}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            row = run_instance(name, paths[name], best.get(name), args.time_limit, Path(tmp))
            rows.append(row)
            c = row["validator"] or row["ours"]
            b = row["best"]["total_cost"] if row["best"] else None
            gap = "-" if row["gap_pct"] is None else f"{row['gap_pct']:.2f}%"
            print(f"{name[:52]:52} {row['patients']:>4} {'yes' if row['valid'] else 'NO':>5} "
                  f"{c['distance_traveled']:>9.1f} {c['total_tardiness']:>7.1f} "
                  f"{c['max_tardiness']:>6.1f} {c['total_cost']:>9.2f} "
                  f"{'-' if b is None else f'{b:.2f}':>9} {gap:>8} "
                  f"{_chosen(row):>5} {row['seconds']:>5.0f}",
                  flush=True)
            if not row["valid"]:
                print(f"   validator: {row['error']}")
    summary = summarise(rows)
    print()
    for group, s in summary.items():
        mean = "-" if s["mean_gap_pct"] is None else f"{s['mean_gap_pct']:.2f}%"
        worst = "-" if s["max_gap_pct"] is None else f"{s['max_gap_pct']:.2f}%"
        print(f"{group:22} instances {s['instances']:>3}  valid {s['valid']:>3}  "
              f"mean gap {mean:>8}  max gap {worst:>8}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "hhc", "time_limit_s": args.time_limit, "scale": SCALE,
        "lateness_steps_min": list(LATENESS_STEPS),
        "fallback_steps_min": [("horizon" if x is None else x) for x in FALLBACK_STEPS],
        "objective": "(distance + total tardiness + max tardiness) / 3",
        "rows": rows, "summary": summary,
    }, indent=1))
    print(f"\nwrote {out}")
    return 0


def _chosen(row: dict[str, Any]) -> str:
    """The winning attempt's lateness allowance, '+h' if patients went to the horizon."""
    costs = [a["cost"] for a in row["attempts"]]
    if all(c is None for c in costs):
        return "-"
    a = row["attempts"][min(range(len(costs)), key=lambda i: math.inf if costs[i] is None
                            else costs[i])]
    return f"{a['lateness_min']}{'+h' if a['to_horizon'] else '+' if a['widened'] else ''}"


def summarise(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Validity and gap by group (Mankowska by size, Italian) and overall."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["instance"].startswith("Instanz"):
            key = f"mankowska {r['patients']}"
            if r["patients"] <= 25:
                groups.setdefault("mankowska <= 25", []).append(r)
        else:
            key = "italian"
        groups.setdefault(key, []).append(r)
        groups.setdefault("all", []).append(r)
    out = {}
    for key in sorted(groups, key=lambda k: (k == "all", k.split()[0], "<=" in k, _num(k))):
        rs = groups[key]
        gaps = [r["gap_pct"] for r in rs if r["gap_pct"] is not None]
        out[key] = {
            "instances": len(rs),
            "valid": sum(1 for r in rs if r["valid"]),
            "mean_gap_pct": round(statistics.fmean(gaps), 2) if gaps else None,
            "max_gap_pct": round(max(gaps), 2) if gaps else None,
        }
    return out


def _num(key: str) -> int:
    last = key.split()[-1]
    return int(last) if last.isdigit() else 0


if __name__ == "__main__":
    sys.exit(main())
