"""Readers that turn the shared benchmark instances into CareRoute problems.

Solomon VRPTW (../shared/data/vrptw/solomon/txt): the depot is every clinician's
start and end, customers are visits with one time window, demand becomes
workload points against the vehicle capacity (``max_workload_points``).
Integer convention of the peers (see ../shared/data/README.md): every arc
distance, which is also its travel time, is ``floor(10 * euclid)``, and windows
and service times are scaled by 10; divide a total by 10 to compare with the
``distance_only_trunc1`` best-known values.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

from routing.model import Clinician, Location, Matrix, Options, Problem, Visit

SCALE = 10


def shared_data() -> Path:
    """The ../shared/data folder (or $CAREROUTE_SHARED_DATA)."""
    env = os.environ.get("CAREROUTE_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1].parent / "shared" / "data"


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    xy: list[tuple[float, float]]
    demand: list[int]
    ready: list[int]
    due: list[int]
    service: list[int]

    def int_matrix(self) -> list[list[int]]:
        """Arc distances = travel times, ``floor(10 * euclid)`` (the trunc-1 convention x10)."""
        pts = self.xy
        return [[int(math.floor(SCALE * math.dist(a, b) + 1e-9)) for b in pts] for a in pts]


def read_solomon(path: Path) -> SolomonInstance:
    """Parse a Solomon .txt instance."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    vehicles, capacity = int(lines[3][0]), int(lines[3][1])
    rows = [r for r in lines[4:] if r[0].isdigit() and len(r) == 7]
    xy, demand, ready, due, service = [], [], [], [], []
    for r in rows:
        xy.append((float(r[1]), float(r[2])))
        demand.append(int(r[3]))
        ready.append(int(r[4]))
        due.append(int(r[5]))
        service.append(int(r[6]))
    return SolomonInstance(path.stem, vehicles, capacity, xy, demand, ready, due, service)


def solomon_problem(inst: SolomonInstance, time_limit: float = 10.0) -> Problem:
    """The instance as a CareRoute problem: distance-only objective, no balancing."""
    m = inst.int_matrix()
    horizon = inst.due[0] * SCALE
    clinicians = tuple(
        Clinician(
            id=f"vehicle-{k + 1}", start_location=0, shift_start=inst.ready[0] * SCALE,
            shift_end=horizon, max_workload_points=inst.capacity,
        )
        for k in range(inst.vehicles)
    )
    visits = tuple(
        Visit(
            id=f"c{i}", location=i, duration=inst.service[i] * SCALE,
            time_windows=((inst.ready[i] * SCALE, inst.due[i] * SCALE),),
            workload_points=inst.demand[i], acuity=1,
        )
        for i in range(1, len(inst.xy))
    )
    options = Options(
        time_limit=time_limit, balance_weight=0, preference_penalty=0,
        drop_penalty=10**7, mandatory_penalty=10**8, overtime_weight=0,
    )
    return Problem(
        locations=tuple(Location() for _ in inst.xy),
        matrix=Matrix(tuple(map(tuple, m)), tuple(map(tuple, m))),
        clinicians=clinicians, visits=visits, options=options,
    )


def solomon_bks(data: Path, family: str = "solomon") -> dict[str, float]:
    """Best-known distance under the ``distance_only_trunc1`` convention, by instance.

    ``family``: ``solomon`` or ``gh200`` (Gehring and Homberger, 200 customers).
    """
    out = {}
    with open(data / "vrptw" / family / "bks.csv") as fh:
        for row in csv.DictReader(fh):
            if row["convention"] == "distance_only_trunc1":
                out[row["instance"]] = float(row["distance"])
    return out
