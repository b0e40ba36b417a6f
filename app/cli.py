"""The ``careroute`` command: solve, check and matrix offline (spec/api.md, "CLI").

Exit codes: 0 success, 1 a check found violations, 2 bad input (the message
names the field and value; no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from routing import Problem, SolverParams

EXIT_OK, EXIT_VIOLATIONS, EXIT_BAD_INPUT = 0, 1, 2

#: Modules of app/commands, each with ``add_parser(subparsers)`` that sets ``func``.
COMMAND_MODULES = ("matrix", "serve", "demo", "db", "keys")


def _fail(message: str) -> int:
    print(f"careroute: error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _write_json(data: Any, out: str | None) -> None:
    text = json.dumps(data, indent=2)
    if out:
        Path(out).write_text(text + "\n")
    else:
        print(text)


def _read_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not valid JSON ({exc})") from None


def _fill_matrix(data: dict[str, Any], osm: str) -> dict[str, Any]:
    """Add the road matrix for the problem's lat/lon locations (careroute solve --osm)."""
    import geo

    locations = data.get("locations") or []
    points = []
    for i, loc in enumerate(locations):
        if not isinstance(loc, dict) or loc.get("lat") is None or loc.get("lon") is None:
            raise ValueError(f"locations[{i}]: needs lat and lon to compute the matrix")
        points.append((loc["lat"], loc["lon"]))
    graph = geo.load_graph(osm, progress=lambda line: print(line, file=sys.stderr))
    tm = geo.travel_matrix(graph, points, ids=[f"locations[{i}]" for i in range(len(points))])
    return {**data, "matrix": {"durations": tm.durations_s.tolist(),
                               "distances": tm.distances_m.tolist()}}


def _prepare_search(problem: Problem, params: SolverParams) -> None:
    """Compile the ruin and recreate if this day uses it, saying so when it takes a while."""
    from routing import sisr
    from routing.solver import resolve_strategy

    if resolve_strategy(problem, params) != "sisr":
        return
    notice = threading.Timer(1.0, print, ("preparing the search: the first solve after an "
                                          "install compiles it (~15 s, not part of the time "
                                          "limit)",), {"file": sys.stderr})
    notice.start()
    try:
        sisr.warm_up()
    finally:
        notice.cancel()


def cmd_solve(args: argparse.Namespace) -> int:
    from routing import SolverParams, problem_from_dict, solution_to_dict, solve, solve_baseline

    data = _read_json(args.problem)
    if args.osm and isinstance(data, dict) and data.get("matrix") is None:
        data = _fill_matrix(data, args.osm)
    problem = problem_from_dict(data)
    problem.require_matrix()
    if args.time_limit is not None:
        if args.time_limit <= 0:
            return _fail(f"--time-limit: must be > 0, got {args.time_limit}")
        problem = replace(problem, options=replace(problem.options, time_limit=args.time_limit))
    began = time.monotonic()
    if args.solver == "baseline":
        solution = solve_baseline(problem)
    else:
        last = [0.0]

        def progress(elapsed: float, cost: int) -> None:
            if elapsed - last[0] >= 1.0:
                last[0] = elapsed
                print(f"solving: {elapsed:5.1f}/{problem.options.time_limit:g} s, "
                      f"objective {cost}", file=sys.stderr)

        params = SolverParams(progress=progress)
        _prepare_search(problem, params)
        solution = solve(problem, params)
    k = solution.kpis
    print(f"solved in {time.monotonic() - began:.1f} s: {k.get('visits_assigned')} visits "
          f"assigned, {k.get('visits_unassigned')} unassigned, travel "
          f"{k.get('travel_time')} s", file=sys.stderr)
    _write_json(solution_to_dict(solution), args.out)
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    from routing import check, problem_from_dict, solution_from_dict

    problem = problem_from_dict(_read_json(args.problem))
    solution = solution_from_dict(_read_json(args.solution))
    problem.require_matrix()
    violations = check(problem, solution)
    if not violations:
        print("ok: the solution is feasible and its totals add up")
        return EXIT_OK
    for v in violations:
        print(f"{v.code}: {v.message}")
    print(f"{len(violations)} violation(s)", file=sys.stderr)
    return EXIT_VIOLATIONS


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="careroute", description="Home-health visit routing and dispatch.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("solve", help="solve a problem JSON offline")
    p.add_argument("problem", help="problem JSON (spec/problem.md)")
    p.add_argument("--time-limit", type=float, help="seconds of search (default: options)")
    p.add_argument("--solver", choices=["ortools", "baseline"], default="ortools")
    p.add_argument("--osm", help="OSM extract to compute a missing matrix from lat/lon")
    p.add_argument("--out", help="write the solution here (default: stdout)")
    p.set_defaults(func=cmd_solve)

    p = sub.add_parser("check", help="check a solution against its problem")
    p.add_argument("problem")
    p.add_argument("solution")
    p.set_defaults(func=cmd_check)

    import importlib

    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"app.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"app.commands.{name}":
                raise
            continue
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as exc:  # InvalidProblem, InvalidSolution and geo errors subclass it
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
