"""A believable home-health agency day on the roads of a graph (the demo's data).

:func:`make_day` is seeded and pure: the same graph, date and seed give the
same day. Everything is in the API's body shapes (spec/api.md "Bodies"), so
the day can be sent to a server as it is, or stored directly.

The agency: 14 clinicians of mixed disciplines (RNs, some with wound care or
infusion certification, LPNs, physical and occupational therapists, home
health aides), each starting from a home spread over the map, on an
08:00-16:30 shift with up to 30 min of overtime and a 30-minute lunch to
start between 11:30 and 13:00. About 80 visits on real streets: nursing
assessments, wound care, infusions (acute, mandatory, booked appointments),
medication checks, therapy sessions and aide visits, 30-75 min long, some
with morning/afternoon or two-hour windows, some with a preferred clinician
(continuity of care), one two-person transfer (a simultaneous pair) and one
nurse assessment that must precede an aide's bath within two hours. Patients
are opaque ids.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import geo

H = 3600
SHIFT_START, SHIFT_END = 8 * H, 16 * H + 1800  # 08:00-16:30
LUNCH = {"earliest_start": 11 * H + 1800, "latest_start": 13 * H, "duration": 1800}

#: id, skills, max visits, buffer after each visit (s).
STAFF: tuple[tuple[str, tuple[str, ...], int, int], ...] = (
    ("rn-ana", ("RN", "LPN", "wound_care"), 7, 300),
    ("rn-ben", ("RN", "LPN", "infusion"), 7, 300),
    ("rn-cho", ("RN", "LPN", "wound_care", "infusion"), 7, 300),
    ("rn-dev", ("RN", "LPN"), 7, 300),
    ("lpn-eli", ("LPN",), 8, 300),
    ("lpn-fay", ("LPN", "wound_care"), 8, 300),
    ("pt-gus", ("PT",), 7, 180),
    ("pt-hana", ("PT",), 7, 180),
    ("pt-ivo", ("PT",), 7, 180),
    ("ot-jun", ("OT",), 7, 180),
    ("ot-kai", ("OT",), 7, 180),
    ("aide-lea", ("aide",), 8, 180),
    ("aide-mo", ("aide",), 8, 180),
    ("aide-nia", ("aide",), 8, 180),
)

#: kind: (required skills, duration range in minutes, acuity choices, visits in an 80-visit day
#: besides the four linked ones).
VISIT_KINDS: dict[str, tuple[tuple[str, ...], tuple[int, int], tuple[int, ...], int]] = {
    "nursing_assessment": (("RN",), (45, 60), (2, 3, 3, 4), 12),
    "wound_care": (("RN", "wound_care"), (45, 60), (3, 3, 4), 6),
    "infusion": (("RN", "infusion"), (60, 75), (4, 5), 4),
    "medication_check": (("LPN",), (30, 45), (1, 2, 2, 3), 14),
    "physical_therapy": (("PT",), (45, 60), (1, 2, 2, 3), 15),
    "occupational_therapy": (("OT",), (45, 60), (1, 2, 2), 9),
    "aide_visit": (("aide",), (30, 60), (1, 1, 2), 16),
}


@dataclass
class DemoDay:
    """One agency day in API body shapes."""

    date: str
    #: ``PUT /v1/clinicians/{id}`` bodies, by clinician id.
    clinicians: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``PUT /v1/clinicians/{id}/shifts/{date}`` bodies, by clinician id.
    shifts: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: ``POST /v1/visits:batch`` visit objects.
    visits: list[dict[str, Any]] = field(default_factory=list)
    #: ``POST /v1/visits:batch`` links.
    links: list[dict[str, Any]] = field(default_factory=list)

    def batch(self) -> dict[str, Any]:
        """The ``POST /v1/visits:batch`` body."""
        return {"date": self.date, "visits": self.visits, "links": self.links}


def _street_points(graph: geo.RoadGraph) -> np.ndarray:
    """(lat, lon) of points on ordinary streets (not motorways or ramps above 70 km/h)."""
    speed_kph = graph.length_m / np.maximum(graph.travel_time_s, 1e-9) * 3.6
    ptr = graph.geometry_ptr
    ok_edges = np.flatnonzero((speed_kph <= 70) & (graph.length_m >= 30))
    # the middle geometry point of each edge: on the street, away from junctions
    mid = (ptr[ok_edges] + ptr[ok_edges + 1] - 1) // 2
    return np.column_stack([graph.geometry_lat[mid], graph.geometry_lon[mid]])


def _km(a: tuple[float, float], b: tuple[float, float]) -> float:
    dlat = (a[0] - b[0]) * 111.2
    dlon = (a[1] - b[1]) * 111.2 * math.cos(math.radians(a[0]))
    return math.hypot(dlat, dlon)


def _spread(
    rng: random.Random, points: np.ndarray, n: int, min_km: float
) -> list[tuple[float, float]]:
    """``n`` points at least ``min_km`` apart where possible (relaxed when the map is small)."""
    chosen: list[tuple[float, float]] = []
    while len(chosen) < n:
        for _ in range(400):
            p = tuple(map(float, points[rng.randrange(len(points))]))
            if all(_km(p, q) >= min_km for q in chosen):  # type: ignore[arg-type]
                chosen.append(p)  # type: ignore[arg-type]
                break
        else:
            min_km *= 0.8
    return chosen


def _window(rng: random.Random, kind: str, duration: int) -> list[list[int]]:
    latest = SHIFT_END - duration - 15 * 60
    if kind == "infusion":  # booked appointments: a two-hour window
        start = rng.choice([9, 10, 11, 13]) * H
        return [[start, start + 2 * H]]
    r = rng.random()
    if r < 0.20:
        return [[SHIFT_START + 1800, 12 * H]]  # "mornings, please"
    if r < 0.35:
        return [[12 * H + 1800, latest]]  # afternoons
    if r < 0.55:
        start = rng.choice([9, 10, 11, 13, 14]) * H
        return [[start, min(start + 2 * H, latest)]]
    return []


def make_day(graph: geo.RoadGraph, *, date: str, seed: int = 7, visits: int = 80) -> DemoDay:
    """An agency day on ``graph`` (homes and visits on its streets), reproducible by ``seed``."""
    rng = random.Random(seed)
    streets = _street_points(graph)
    day = DemoDay(date=date)

    homes = _spread(rng, streets, len(STAFF), min_km=2.5)
    for (cid, skills, max_visits, buffer), home in zip(STAFF, homes, strict=True):
        day.clinicians[cid] = {
            "skills": list(skills),
            "home": {"lat": round(home[0], 6), "lon": round(home[1], 6)},
            "max_visits": max_visits,
            "max_workload_points": 10,
            "buffer_after_visit": buffer,
        }
        day.shifts[cid] = {
            "start": SHIFT_START, "end": SHIFT_END, "max_overtime": 1800,
            "breaks": [dict(LUNCH)], "start_location": None, "end_location": None,
        }

    def eligible(skills: tuple[str, ...]) -> list[str]:
        return [cid for cid, held, _, _ in STAFF if set(skills) <= set(held)]

    counter = iter(range(1001, 10_000))

    def visit(kind: str, where: tuple[float, float], patient: str, **extra: Any) -> dict[str, Any]:
        skills, (lo, hi), acuities, _count = VISIT_KINDS[kind]
        duration = rng.randrange(lo, hi + 1, 5) * 60
        acuity = rng.choice(acuities)
        v: dict[str, Any] = {
            "id": f"v-{next(counter)}",
            "patient_id": patient,
            "location": {"lat": round(where[0], 6), "lon": round(where[1], 6)},
            "duration": duration,
            "time_windows": _window(rng, kind, duration),
            "required_skills": list(skills),
            "acuity": acuity,
            "mandatory": kind == "infusion",
            "workload_points": 2 if acuity >= 4 else 1,
            "preferred_clinicians": [],
            "excluded_clinicians": [],
            "pinned_clinician": None,
        }
        if kind != "infusion" and rng.random() < 0.25:  # continuity of care
            v["preferred_clinicians"] = [rng.choice(eligible(skills))]
        v.update(extra)
        return v

    def patient() -> str:
        return f"p-{rng.getrandbits(40):010x}"

    def place() -> tuple[float, float]:
        return tuple(map(float, streets[rng.randrange(len(streets))]))  # type: ignore[return-value]

    # a two-person transfer: two aides at the same patient, starting together
    where, who = place(), patient()
    a = visit("aide_visit", where, who, duration=2700, time_windows=[[10 * H, 14 * H]],
              acuity=2, preferred_clinicians=[])
    b = visit("aide_visit", where, who, duration=2700, time_windows=[[10 * H, 14 * H]],
              acuity=2, preferred_clinicians=[])
    day.links.append({"type": "simultaneous", "visits": [a["id"], b["id"]]})
    # the nurse assesses, then the aide bathes within two hours
    where, who = place(), patient()
    first = visit("nursing_assessment", where, who, duration=2700, time_windows=[[9 * H, 12 * H]])
    then = visit("aide_visit", where, who, duration=2700, time_windows=[])
    day.links.append({"type": "precedence", "first": first["id"], "then": then["id"],
                      "min_gap": 2700, "max_gap": 2 * H})
    day.visits += [a, b, first, then]

    # the mix of a typical day, scaled to ``visits``; shuffled so ids don't give kinds away
    rest = max(0, visits - len(day.visits))
    base = sum(k[3] for k in VISIT_KINDS.values())
    kinds = [kind for kind, spec in VISIT_KINDS.items()
             for _ in range(round(spec[3] * rest / base))]
    kinds = (kinds + ["aide_visit"] * rest)[:rest]
    rng.shuffle(kinds)
    day.visits += [visit(kind, place(), patient()) for kind in kinds]
    return day
