"""Time OSRM's CH table on given point sets (runs under a Python 3.12 venv with osrm-bindings).

Not part of the repository's packages and imports none of them: the osrm-bindings wheel on
PyPI is abi3 for Python >= 3.12 only, while CareRoute runs on 3.11. bench/matrix.py calls this
with ``--osrm-python``; it can also run alone:

    /work/osrm312/bin/python bench/osrm_table.py porto.drive.osm.bz2 points.json /tmp/osrm_work \\
        --out osrm.json

points.json is ``{"name": [[lat, lon], ...], ...}``. The script prepares a CH dataset once
(``osrm-extract`` with the wheel's car profile, then ``osrm-contract``, both timed), loads it,
then for each point set times the n x n ``table`` call (best of --repeat) for durations alone
and for durations + distances, and writes JSON: seconds, the matrices' shapes and the
durations (seconds; null where OSRM found no route) for a sanity comparison. Progress goes
to stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import osrm

PROFILES = Path(osrm.__file__).parent / "share" / "profiles"


def run_tool(tool: str, *args: str, log: Path) -> float:
    """Run ``python -m osrm TOOL ARGS`` (the wheel's bundled executable); wall seconds."""
    t0 = time.perf_counter()
    with log.open("w") as f:
        proc = subprocess.run(
            [sys.executable, "-m", "osrm", tool, *args], stdout=f, stderr=subprocess.STDOUT
        )
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = "".join(log.read_text().splitlines(keepends=True)[-20:])
        raise RuntimeError(f"osrm-{tool} exited with {proc.returncode}; log {log}:\n{tail}")
    return elapsed


def prepare(osm_file: Path, work_dir: Path, profile: Path, threads: int) -> tuple[Path, dict]:
    """Extract and contract ``osm_file`` into ``work_dir``; the .osrm base path and timings."""
    work_dir.mkdir(parents=True, exist_ok=True)
    base = work_dir / (osm_file.name.split(".")[0] + ".osrm")
    t = str(threads)
    extract_s = run_tool(
        "extract", "-p", str(profile), "-t", t, "-o", str(base), str(osm_file),
        log=work_dir / "extract.log",
    )  # fmt: skip
    contract_s = run_tool("contract", "-t", t, str(base), log=work_dir / "contract.log")
    prep = {"extract_s": extract_s, "contract_s": contract_s, "total_s": extract_s + contract_s}
    return base, prep


def best_table(engine: osrm.OSRM, params: osrm.TableParameters, repeat: int):
    """Fastest of ``repeat`` Table calls (the machine is shared); the last result and seconds."""
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = engine.Table(params)
        best = min(best, time.perf_counter() - t0)
    if result["code"] != "Ok":
        raise RuntimeError(f"OSRM table answered {result['code']}")
    return result, best


def bench_points(engine: osrm.OSRM, latlon: list[list[float]], repeat: int) -> dict:
    coords = [(lon, lat) for lat, lon in latlon]  # OSRM wants (lon, lat)
    out: dict = {"n": len(coords)}
    for key, wanted in (
        ("durations_table_s", ["duration"]),
        ("table_s", ["duration", "distance"]),
    ):
        params = osrm.TableParameters(coordinates=coords, annotations=wanted, generate_hints=False)
        res, out[key] = best_table(engine, params, repeat)
    # converting OSRM's JSON-like result to Python lists is binding overhead, not table work
    t0 = time.perf_counter()
    durations = [list(row) for row in res["durations"]]
    distances = [list(row) for row in res["distances"]]
    out["to_python_s"] = time.perf_counter() - t0
    out["durations_shape"] = [len(durations), len(durations[0]) if durations else 0]
    out["distances_shape"] = [len(distances), len(distances[0]) if distances else 0]
    out["unreachable_pairs"] = sum(x is None for row in durations for x in row)
    out["durations_s"] = durations
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("osm_file", type=Path, help=".osm, .osm.bz2 or .osm.pbf")
    parser.add_argument("points", type=Path, help='JSON {"name": [[lat, lon], ...]}')
    parser.add_argument("work_dir", type=Path, help="where the .osrm files go")
    parser.add_argument("--out", type=Path, required=True, help="JSON results")
    parser.add_argument("--profile", type=Path, default=PROFILES / "car.lua")
    parser.add_argument(
        "--threads", type=int, default=os.cpu_count() or 1, help="for extract and contract"
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of this many table calls")
    args = parser.parse_args(argv)

    point_sets = json.loads(args.points.read_text())
    print(f"osrm: preparing {args.osm_file.name} (extract + contract)", file=sys.stderr)
    base, prep = prepare(args.osm_file, args.work_dir, args.profile, args.threads)
    print(f"osrm: prepared in {prep['total_s']:.1f} s", file=sys.stderr, flush=True)
    # the files are read lazily: best of --repeat keeps the first call's page faults out
    engine = osrm.OSRM(algorithm="CH", storage_config=str(base), use_shared_memory=False)
    sets = {}
    for name, latlon in point_sets.items():
        sets[name] = bench_points(engine, latlon, args.repeat)
        print(f"osrm: {name} ({len(latlon)} points) done", file=sys.stderr, flush=True)
    result = {
        "osrm_bindings": _version(),
        "algorithm": "CH",
        "profile": args.profile.name,
        "threads_prep": args.threads,
        "table_threads": 1,  # libosrm answers one request on the calling thread
        "prep": prep,
        "sets": sets,
    }
    args.out.write_text(json.dumps(result))
    return 0


def _version() -> str:
    from importlib.metadata import version

    return version("osrm-bindings")


if __name__ == "__main__":
    sys.exit(main())
