"""A realistic home-health agency day on real roads, as a routing.Problem (seeded).

    python -m bench.hhday --osm porto --visits 300 --clinicians 50 --seed 1 --out day.json

:func:`make_day` is pure and deterministic: the same graph, sizes and seed give
the same problem, byte for byte. The day it builds:

Clinicians
    A discipline mix of registered nurses (RN), licensed practical nurses
    (LPN), physical, occupational and speech therapists (PT, OT, ST) and home
    health aides, in the shares of :data:`DISCIPLINES`. RNs hold the ``LPN``
    skill too (an RN may do an LPN's visit, not the reverse). Some hold extra
    skills: ``wound_care``, ``infusion``, ``paediatrics``. Each starts and ends
    at home (points spread over the map), works an 8.5 h shift that starts
    between 07:30 and 09:00, with a 30-minute lunch to start 3.5-5 h in, up to
    1 h of overtime, a documentation buffer after each visit, a cap on visits
    and on productivity points. Everyone works a full shift: the workload
    KPIs (max/min seconds of service) compare clinicians as equals.
Visits
    Kinds of :data:`VISIT_KINDS` (start of care, recertification, routine
    nursing, wound care, infusion, therapy evaluations and visits, aide
    visits), each with its skills, length range, acuity mix, productivity
    points and patient-preferred window style. The number of visits per
    discipline follows its staff and its mean visit length, so that every
    discipline's clinicians have about the same service time to fill (about
    six visits per clinician-day, service filling roughly two thirds of the
    shift before travel; :func:`summary` measures both). Most existing
    patients have a preferred clinician (one of the three nearest who may
    serve them: agencies assign cases by territory); a few exclude one.
    Patients are opaque ids; a few are paediatric (``paediatrics`` skill).
Linked visits
    A few two-person transfers (two clinicians at once: ``simultaneous``) and
    ordered pairs (``precedence``): a nurse's visit followed by an aide's
    bath within two hours, or a start of care followed by the physical
    therapy evaluation within three hours.

Sources. Only rules we are sure of are cited; every other figure is an
assumption, marked "assumed" where it is defined.

* 42 CFR 484.55 (Medicare Conditions of Participation, comprehensive
  assessment of patients): a registered nurse makes the initial assessment
  visit when nursing is ordered, within 48 hours of referral or on the
  physician-ordered start-of-care date, and the assessment is updated in the
  last 5 days of every 60 days (the recertification). Hence: start of care is
  an RN visit and mandatory on the day it is scheduled; recertification is
  an RN visit, and mandatory on a share of days (the last allowed day).
* Medicare Benefit Policy Manual (CMS Pub. 100-02), chapter 7: the home
  health disciplines (skilled nursing, physical, occupational and
  speech-language therapy, home health aide).
* Staffing shares, visit lengths, acuity mixes, window styles, skill shares,
  caps, buffers and link counts: assumed (plausible agency practice, in line
  with the demo day in app/demo/day.py), not taken from a published dataset.
  "About six visits per clinician-day, service about two thirds of the
  shift" is the planning rule of issue 7.

Map data © OpenStreetMap contributors (ODbL).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import geo
from bench.instances import shared_data
from routing import problem_to_dict
from routing.model import (
    Break,
    Clinician,
    Link,
    Location,
    Matrix,
    Options,
    Precedence,
    Problem,
    Simultaneous,
    Visit,
)

H = 3600
MIN = 60

#: The road extracts ``--osm`` knows by name (in ../shared/data/osm).
OSM_FILES = {
    "porto": "porto_center_clip.drive.osm.bz2",
    "columbus": "columbus.drive.osm.bz2",
    "aguascalientes": "aguascalientes.drive.osm.bz2",
}

#: Clinicians for the issue's three sizes (about six visits per clinician-day).
CLINICIANS_FOR = {80: 14, 300: 50, 1000: 170}

#: Shift: 8.5 h with a 30-minute lunch (8 h of work), starting at one of these
#: times with these probabilities (assumed).
SHIFT_LENGTH_S = 8 * H + 30 * MIN
SHIFT_STARTS = ((7 * H + 30 * MIN, 0.15), (8 * H, 0.55), (8 * H + 30 * MIN, 0.20), (9 * H, 0.10))
LUNCH_S = 30 * MIN
LUNCH_AFTER_S = (3 * H + 30 * MIN, 5 * H)  # lunch starts 3.5-5 h into the shift (assumed)
MAX_OVERTIME_S = H  # assumed
MAX_WORKLOAD_POINTS = 10  # productivity points per day (assumed)


@dataclass(frozen=True)
class Discipline:
    """A clinician discipline: its staffing share and what its clinicians hold (assumed)."""

    name: str
    prefix: str
    share: float
    skills: tuple[str, ...]
    #: (extra skill, share of this discipline's clinicians holding it)
    extras: tuple[tuple[str, float], ...]
    max_visits: int
    buffer_s: int
    #: which visit pool the discipline serves
    pool: str


#: Staffing mix (assumed; shares sum to 1).
DISCIPLINES: tuple[Discipline, ...] = (
    Discipline("RN", "rn", 0.36, ("RN", "LPN"),
               (("wound_care", 0.45), ("infusion", 0.30), ("paediatrics", 0.12)), 7, 5 * MIN,
               "nursing"),
    Discipline("LPN", "lpn", 0.12, ("LPN",), (("wound_care", 0.35), ("paediatrics", 0.10)),
               8, 5 * MIN, "nursing"),
    Discipline("PT", "pt", 0.22, ("PT",), (("paediatrics", 0.15),), 8, 5 * MIN, "PT"),
    Discipline("OT", "ot", 0.10, ("OT",), (("paediatrics", 0.15),), 8, 5 * MIN, "OT"),
    Discipline("ST", "st", 0.04, ("ST",), (("paediatrics", 0.25),), 8, 5 * MIN, "ST"),
    Discipline("aide", "aide", 0.16, ("aide",), (), 8, 3 * MIN, "aide"),
)


@dataclass(frozen=True)
class VisitKind:
    """A kind of visit: who may do it, how long, how acute, when (figures assumed)."""

    name: str
    pool: str
    skills: tuple[str, ...]
    minutes: tuple[int, int]
    #: weights of acuity 1..5
    acuity: tuple[int, int, int, int, int]
    #: share of its pool's visits
    share: float
    points: int
    #: probability that the visit is mandatory today
    mandatory: float
    #: an existing patient (may have a preferred clinician), not a new admission
    existing: bool
    #: window style, see :func:`_window`
    window: str

    @property
    def mean_minutes(self) -> float:
        return (self.minutes[0] + self.minutes[1]) / 2


def _therapy(pool: str) -> tuple[VisitKind, VisitKind]:
    low = pool.lower()
    return (
        VisitKind(f"{low}_evaluation", pool, (pool,), (60, 75), (0, 40, 45, 15, 0), 0.15, 2,
                  0.0, False, "patient"),
        VisitKind(f"{low}_visit", pool, (pool,), (45, 60), (25, 45, 25, 5, 0), 0.85, 1,
                  0.0, True, "patient"),
    )


#: The visit kinds, by pool (shares within a pool sum to 1).
VISIT_KINDS: tuple[VisitKind, ...] = (
    VisitKind("start_of_care", "nursing", ("RN",), (90, 120), (0, 10, 45, 35, 10), 0.12, 3,
              1.0, False, "soc"),
    VisitKind("recertification", "nursing", ("RN",), (60, 75), (10, 45, 35, 10, 0), 0.10, 2,
              0.2, True, "patient"),
    VisitKind("routine_nursing", "nursing", ("LPN",), (30, 45), (30, 40, 22, 8, 0), 0.42, 1,
              0.0, True, "patient"),
    VisitKind("wound_care", "nursing", ("LPN", "wound_care"), (40, 60), (0, 20, 50, 25, 5),
              0.20, 1, 0.0, True, "patient"),
    VisitKind("infusion", "nursing", ("RN", "infusion"), (45, 90), (0, 0, 10, 50, 40), 0.08, 2,
              1.0, True, "booked"),
    *_therapy("PT"),
    *_therapy("OT"),
    *_therapy("ST"),
    VisitKind("aide_visit", "aide", ("aide",), (40, 70), (50, 40, 10, 0, 0), 1.0, 1,
              0.0, True, "aide"),
)
KIND = {k.name: k for k in VISIT_KINDS}

#: Share of existing patients with a preferred clinician, and of those excluding one (assumed).
PREFERRED_SHARE = 0.8
EXCLUDED_SHARE = 0.02
#: Preferred clinicians are drawn from the nearest few who may serve the patient.
PREFERRED_AMONG_NEAREST = 3
#: Share of nursing and therapy visits for paediatric patients (assumed).
PAEDIATRIC_SHARE = 0.06
#: Linked pairs per visit: simultaneous and precedence (assumed).
SIMULTANEOUS_PER_VISIT = 1 / 100
PRECEDENCE_PER_VISIT = 1 / 75


@dataclass
class Day:
    """One generated day: the problem, and each visit's kind (not part of the problem)."""

    problem: Problem
    kinds: dict[str, str] = field(default_factory=dict)
    disciplines: dict[str, str] = field(default_factory=dict)
    source: str = ""
    seed: int = 0


# -- places -------------------------------------------------------------------


def street_points(graph: geo.RoadGraph) -> np.ndarray:
    """(lat, lon) of points on ordinary streets: edge midpoints, no motorways or ramps."""
    speed_kph = graph.length_m / np.maximum(graph.travel_time_s, 1e-9) * 3.6
    ptr = graph.geometry_ptr
    ok = np.flatnonzero((speed_kph <= 70) & (graph.length_m >= 30))
    if len(ok) == 0:  # a tiny or odd graph: any edge will do
        ok = np.arange(len(graph.length_m))
    mid = (ptr[ok] + ptr[ok + 1] - 1) // 2
    return np.column_stack([graph.geometry_lat[mid], graph.geometry_lon[mid]])


def _xy_km(points: np.ndarray) -> np.ndarray:
    lat0 = math.radians(float(points[:, 0].mean()))
    return np.column_stack([points[:, 0] * 111.2, points[:, 1] * 111.2 * math.cos(lat0)])


def _spread(rng: random.Random, points: np.ndarray, n: int) -> list[int]:
    """Indices of ``n`` points spread over the map (a minimum spacing, relaxed as needed)."""
    xy = _xy_km(points)
    span = xy.max(axis=0) - xy.min(axis=0)
    min_km = 0.6 * math.sqrt(max(span[0] * span[1], 1e-6) / max(n, 1))
    chosen: list[int] = []
    while len(chosen) < n:
        for _ in range(200):
            i = rng.randrange(len(points))
            if not chosen or np.min(np.hypot(*(xy[chosen] - xy[i]).T)) >= min_km:
                chosen.append(i)
                break
        else:
            min_km *= 0.8
    return chosen


# -- staff --------------------------------------------------------------------


def allocate(total: int, shares: Sequence[float]) -> list[int]:
    """Split ``total`` into integer parts proportional to ``shares`` (largest remainder)."""
    weight = sum(shares)
    if total <= 0 or weight <= 0:
        return [0] * len(shares)
    exact = [total * s / weight for s in shares]
    counts = [math.floor(x) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: (counts[i] - exact[i], i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    r = rng.random() * sum(w for _, w in weighted)
    for value, w in weighted:
        r -= w
        if r < 0:
            return value
    return weighted[-1][0]


def _staff(rng: random.Random, n: int, homes: list[int]) -> list[tuple[Discipline, Clinician]]:
    counts = allocate(n, [d.share for d in DISCIPLINES])
    staff: list[tuple[Discipline, Clinician]] = []
    home = iter(homes)
    for disc, count in zip(DISCIPLINES, counts, strict=True):
        holders: dict[str, set[int]] = {}
        for skill, share in disc.extras:
            k = min(count, max(1, round(share * count))) if count else 0
            holders[skill] = set(rng.sample(range(count), k))
        for j in range(count):
            start = _pick(rng, SHIFT_STARTS)
            skills = set(disc.skills) | {s for s, who in holders.items() if j in who}
            loc = next(home)
            staff.append((disc, Clinician(
                id=f"{disc.prefix}-{j + 1:03d}",
                skills=frozenset(skills),
                start_location=loc,
                end_location=loc,
                shift_start=start,
                shift_end=start + SHIFT_LENGTH_S,
                max_overtime=MAX_OVERTIME_S,
                max_visits=disc.max_visits,
                max_workload_points=MAX_WORKLOAD_POINTS,
                breaks=(Break(start + LUNCH_AFTER_S[0], start + LUNCH_AFTER_S[1], LUNCH_S),),
                buffer_after_visit=disc.buffer_s,
            )))
    return staff


# -- visits -------------------------------------------------------------------


def _window(rng: random.Random, style: str, duration: int) -> tuple[tuple[int, int], ...]:
    """Patient-preferred service-start window(s) for a window style (shares assumed)."""
    latest = 16 * H - max(0, duration - H)  # late starts only for short visits
    if style == "booked":  # infusion: a booked two-hour slot
        start = rng.choice((8 * H + 30 * MIN, 9 * H, 10 * H, 11 * H, 13 * H, 14 * H))
        return ((start, start + 2 * H),)
    if style == "soc":  # admission after discharge: a wide window, or any time
        return ((10 * H, 14 * H + 30 * MIN),) if rng.random() < 0.5 else ()
    if style == "aide" and rng.random() < 0.35:  # bathing and dressing: mornings
        return ((8 * H, 12 * H),)
    r = rng.random()
    if r < 0.40:
        return ()
    if r < 0.62:
        return ((8 * H + 30 * MIN, 11 * H + 30 * MIN),)  # "mornings, please"
    if r < 0.77:
        return ((12 * H + 30 * MIN, min(15 * H, latest)),)  # afternoons
    start = rng.choice((9 * H, 10 * H, 11 * H, 13 * H, 14 * H))
    return ((start, min(start + 2 * H, max(start, latest))),)  # a two-hour slot


@dataclass
class _Builder:
    rng: random.Random
    staff: list[tuple[Discipline, Clinician]]
    xy: np.ndarray  # km coordinates of every location (homes first)
    n_homes: int
    locations: list[int] = field(default_factory=list)  # point index of each location
    visits: list[Visit] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)

    def eligible(self, skills: frozenset[str]) -> list[Clinician]:
        return [c for _, c in self.staff if skills <= c.skills]

    def new_patient(self, point: int) -> tuple[str, int]:
        self.locations.append(point)
        return f"p-{self.rng.getrandbits(40):010x}", len(self.locations) - 1

    def visit(self, kind: VisitKind, patient: tuple[str, int], *,
              windows: tuple[tuple[int, int], ...] | None = None, preferred: bool = True,
              duration: int | None = None) -> Visit:
        """Add a visit of ``kind`` at ``patient``; ``windows`` None draws the patient's."""
        rng = self.rng
        pid, loc = patient
        skills = set(kind.skills)
        if kind.pool != "aide" and rng.random() < PAEDIATRIC_SHARE:
            if self.eligible(frozenset(skills | {"paediatrics"})):
                skills.add("paediatrics")
        skills_f = frozenset(skills)
        if duration is None:
            duration = rng.randrange(kind.minutes[0], kind.minutes[1] + 1, 5) * MIN
        acuity = _pick(rng, list(zip(range(1, 6), kind.acuity, strict=True)))
        mandatory = rng.random() < kind.mandatory
        chosen: tuple[str, ...] = ()
        excluded: tuple[str, ...] = ()
        if preferred and kind.existing and rng.random() < PREFERRED_SHARE:
            near = self._nearest(skills_f, loc)[:PREFERRED_AMONG_NEAREST]
            if near:
                chosen = (rng.choice(near).id,)
        if kind.existing and rng.random() < EXCLUDED_SHARE:
            others = [c for c in self._nearest(skills_f, loc) if c.id not in chosen]
            if len(others) > 1:
                excluded = (rng.choice(others[:5]).id,)
        v = Visit(
            id=f"v-{len(self.visits) + 1:05d}",
            patient_id=pid,
            location=self.n_homes + loc,
            duration=duration,
            time_windows=_window(rng, kind.window, duration) if windows is None else windows,
            required_skills=skills_f,
            acuity=acuity,
            mandatory=mandatory,
            workload_points=kind.points,
            preferred_clinicians=chosen,
            excluded_clinicians=excluded,
        )
        self.visits.append(v)
        self.kinds[v.id] = kind.name
        return v

    def _nearest(self, skills: frozenset[str], loc: int) -> list[Clinician]:
        pool = self.eligible(skills)
        here = self.xy[self.n_homes + loc]
        return sorted(pool, key=lambda c: (float(np.hypot(*(self.xy[c.start_location] - here))),
                                           c.id))


def _pool_counts(visits: int, staff: list[tuple[Discipline, Clinician]]) -> dict[str, int]:
    """Visits per pool: each pool's staff gets about the same minutes of service."""
    pools = sorted({d.pool for d in DISCIPLINES}, key=[d.pool for d in DISCIPLINES].index)
    heads = Counter(d.pool for d, _ in staff)
    mean = {p: sum(k.share * k.mean_minutes for k in VISIT_KINDS if k.pool == p) for p in pools}
    counts = allocate(visits, [heads[p] / mean[p] for p in pools])
    return dict(zip(pools, counts, strict=True))


def make_day(graph: geo.RoadGraph, *, visits: int = 80, clinicians: int | None = None,
             seed: int = 1, time_limit: float = 30.0, source: str = "") -> Day:
    """A seeded agency day on ``graph``: ``visits`` visits for ``clinicians`` clinicians.

    Parameters
    ----------
    graph
        The road graph; homes and patients are placed on its streets and the
        matrix (s, m) is computed on it.
    visits, clinicians
        Sizes; ``clinicians`` defaults to :data:`CLINICIANS_FOR` or about one
        per six visits.
    seed
        The same graph, sizes and seed give the same day.
    time_limit
        ``options.time_limit`` of the problem (s).
    """
    if visits < 1:
        raise ValueError(f"visits must be >= 1, got {visits}")
    if clinicians is None:
        clinicians = CLINICIANS_FOR.get(visits, max(1, round(visits / 5.9)))
    if clinicians < 1:
        raise ValueError(f"clinicians must be >= 1, got {clinicians}")
    rng = random.Random(seed)
    streets = street_points(graph)
    homes = _spread(rng, streets, clinicians)
    staff = _staff(rng, clinicians, list(range(clinicians)))
    points = list(homes)

    # Patients: uniform over the street midpoints (street density follows housing).
    patient_points = [rng.randrange(len(streets)) for _ in range(visits)]
    xy = _xy_km(streets[points + patient_points])
    b = _Builder(rng, staff, xy, n_homes=clinicians)
    next_point = iter(patient_points)

    counts = _pool_counts(visits, staff)
    heads = Counter(d.name for d, _ in staff)
    # Linked pairs, taken out of their pools' counts.
    n_sim = max(1, round(visits * SIMULTANEOUS_PER_VISIT)) if visits >= 20 else 0
    n_prec = max(1, round(visits * PRECEDENCE_PER_VISIT)) if visits >= 20 else 0
    for _ in range(n_sim):
        if heads["aide"] >= 2 and counts["aide"] >= 2:
            pair = (KIND["aide_visit"], KIND["aide_visit"])
        elif heads["aide"] and heads["PT"] and counts["aide"] and counts["PT"]:
            pair = (KIND["pt_visit"], KIND["aide_visit"])
        else:
            continue
        for k in pair:
            counts[k.pool] -= 1
        patient = b.new_patient(next(next_point))
        # a two-person transfer: both at once, a fixed length, a midday window
        window = ((10 * H, 14 * H),)
        first = b.visit(pair[0], patient, windows=window, preferred=False, duration=45 * MIN)
        second = b.visit(pair[1], patient, windows=window, preferred=False, duration=45 * MIN)
        b.links.append(Simultaneous((first.id, second.id)))
    for i in range(n_prec):
        soc_then_pt = i % 2 == 1 and heads["PT"] and counts["PT"] and counts["nursing"]
        if soc_then_pt:
            kinds = (KIND["start_of_care"], KIND["pt_evaluation"])
            max_after = 3 * H
        elif heads["aide"] and counts["aide"] and counts["nursing"]:
            kinds = (KIND["routine_nursing"], KIND["aide_visit"])
            max_after = 2 * H
        else:
            continue
        for k in kinds:
            counts[k.pool] -= 1
        patient = b.new_patient(next(next_point))
        first = b.visit(kinds[0], patient)
        then = b.visit(kinds[1], patient, windows=())
        # the second starts after the first ends, within max_after of it
        b.links.append(Precedence(first.id, then.id, min_gap=first.duration,
                                  max_gap=first.duration + max_after))

    # The rest of each pool, by kind shares, in shuffled order.
    rest: list[VisitKind] = []
    for pool, n in counts.items():
        in_pool = [k for k in VISIT_KINDS if k.pool == pool]
        for k, c in zip(in_pool, allocate(n, [k.share for k in in_pool]), strict=True):
            rest += [k] * c
    rng.shuffle(rest)
    for kind in rest:
        b.visit(kind, b.new_patient(next(next_point)))

    locs = points + b.locations  # homes, then patients in creation order
    latlon = streets[locs]
    ids = [c.id for _, c in staff] + [f"patient-{i}" for i in range(len(b.locations))]
    m = geo.travel_matrix(graph, latlon, ids=ids)
    problem = Problem(
        locations=tuple(Location(round(float(a), 6), round(float(o), 6)) for a, o in latlon),
        matrix=Matrix(tuple(map(tuple, m.durations_s.tolist())),
                      tuple(map(tuple, m.distances_m.tolist()))),
        clinicians=tuple(c for _, c in staff),
        visits=tuple(b.visits),
        links=tuple(b.links),
        options=day_options(time_limit),
    )
    return Day(problem, b.kinds, {c.id: d.name for d, c in staff}, source, seed)


def day_options(time_limit: float) -> Options:
    """Objective weights of a generated day: the documented defaults (see README)."""
    return Options(time_limit=time_limit)


# -- description -----------------------------------------------------------------


def summary(day: Day) -> dict[str, Any]:
    """What the day holds: sizes, mixes, and the planning ratios (service / shift)."""
    p = day.problem
    work_s = sum(c.shift_end - c.shift_start - sum(b.duration for b in c.breaks)
                 for c in p.clinicians)
    service_s = sum(v.duration for v in p.visits)
    buffers_s = sum(
        min(c.buffer_after_visit for c in p.clinicians if p.can_serve(c, v))
        if any(p.can_serve(c, v) for c in p.clinicians) else 0
        for v in p.visits)
    n = len(p.visits)
    existing = [v for v in p.visits if KIND[day.kinds[v.id]].existing]
    return {
        "source": day.source,
        "seed": day.seed,
        "visits": n,
        "clinicians": len(p.clinicians),
        "visits_per_clinician": round(n / len(p.clinicians), 2),
        "service_share_of_shift": round(service_s / work_s, 3),
        "service_and_buffer_share_of_shift": round((service_s + buffers_s) / work_s, 3),
        "mean_visit_min": round(service_s / n / MIN, 1),
        "disciplines": dict(Counter(day.disciplines.values())),
        "kinds": dict(sorted(Counter(day.kinds.values()).items())),
        "acuity": {str(a): sum(1 for v in p.visits if v.acuity == a) for a in range(1, 6)},
        "mandatory": sum(1 for v in p.visits if v.mandatory),
        "with_window": round(sum(1 for v in p.visits if v.time_windows) / n, 3),
        "existing_with_preferred": round(
            sum(1 for v in existing if v.preferred_clinicians) / max(1, len(existing)), 3),
        "paediatric": sum(1 for v in p.visits if "paediatrics" in v.required_skills),
        "links": dict(Counter(link.type for link in p.links)),
    }


def osm_path(name: str) -> Path:
    """The OSM extract for ``--osm``: a known name (porto, columbus) or a file path."""
    if name in OSM_FILES:
        return shared_data() / "osm" / OSM_FILES[name]
    return Path(name)


def load_day(osm: str, visits: int, clinicians: int | None = None, seed: int = 1,
             time_limit: float = 30.0) -> Day:
    """Load the graph of ``osm`` (cached by geo) and make the day on it."""
    path = osm_path(osm)
    graph = geo.load_graph(path)
    return make_day(graph, visits=visits, clinicians=clinicians, seed=seed,
                    time_limit=time_limit, source=path.name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", default="porto",
                        help="porto, columbus, aguascalientes, or an OSM extract path")
    parser.add_argument("--visits", type=int, default=80)
    parser.add_argument("--clinicians", type=int, default=None,
                        help="default: 14 / 50 / 170 for 80 / 300 / 1000 visits, else visits/5.9")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=30.0,
                        help="options.time_limit written into the problem (s)")
    parser.add_argument("--out", help="write the problem JSON here")
    args = parser.parse_args(argv)
    path = osm_path(args.osm)
    if not path.is_file():
        print(f"no OSM extract at {path} (set CAREROUTE_SHARED_DATA)", file=sys.stderr)
        return 2
    day = load_day(args.osm, args.visits, args.clinicians, args.seed, args.time_limit)
    print(json.dumps(summary(day), indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(problem_to_dict(day.problem)))
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
