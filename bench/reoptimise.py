"""Re-optimisation during the day: seeded disruptions, re-planned with the disruption cost.

    python -m bench.reoptimise [--visits 300] [--events 20] [--seeds 1,2,3] [--time-limit 3]
                               [--scratch-time-limit S] [--plan-time-limit 30] [--osm porto]
    python -m bench.reoptimise --quick     # 80 visits, 5 events, 1 s re-plans: a smoke check

One seeded agency day on real roads (:mod:`bench.hhday`, Porto clip by
default) is planned once by ``routing.solve`` (``--plan-time-limit``, 30 s).
Then ``--events`` seeded disruptions (:func:`make_disruptions`) arrive at
times spread over 08:30-16:00, a mix of sick calls (``clinician_unavailable``
from the time of the call), urgent visits added (acuity 4-5, RN or LPN, at a
random node of the road graph, to start within three hours), cancellations
of a visit not yet started, and clinicians running 20-60 minutes late. Each
one is applied to the day as the service's re-plan job does
(:mod:`app.replan_job`), cumulatively: every re-plan starts from the
previous re-plan's result, and everything before the event's time has
happened as planned (a stop that ended by then is completed at its planned
times, one under way has started; those of a late clinician planned to start
in the late minutes have not). The steps, all from :mod:`routing.replan`:
:func:`~routing.replan.without_visits` (a cancellation),
:func:`~routing.replan.without_clinicians` (who cannot work on),
:func:`~routing.replan.replan` with the disruption cost and the previous
plan as warm start, then :func:`~routing.replan.keep_unchanged_routes`.

Per event, the re-plan is compared with re-solving the same remaining day
from scratch (``replan(..., from_scratch=True)``: no disruption cost, no
"not earlier than promised" windows, no warm start; the same time limit
unless ``--scratch-time-limit`` says otherwise).
The from-scratch plan is a reference only; the day goes on from the re-plan.
Both searches run to their time limit (``--time-limit``, 3 s by default, so
that the latency target can be met at all; the service's re-plan job uses the
job's ``time_limit``, else ``plan_time_limit``, 30 s).
Measured for both:

latency
    Wall seconds of the routing work for the event: ``without_clinicians``
    + ``replan`` + ``keep_unchanged_routes`` for the re-plan, ``replan``
    for the from-scratch one: the time limit plus building the model and
    the warm start (more when OR-Tools spends the limit on reading the warm
    start before searching).
untouched routes changed
    The event *names* clinicians: the sick or late clinician, or the one
    whose route held the cancelled visit (an added visit names nobody). The
    *untouched* clinicians are the others who are still on duty in the
    remaining day (``remaining_problem.clinicians``). A clinician's
    *remaining sequence* is the visit ids of their route that are not
    locked by this re-plan, in order, leaving out visits no longer in the
    day. An untouched route *changed* when its remaining sequence before
    (the previous plan) and after differ in any way: a visit gained, lost
    or reordered (so the clinician who takes an added visit counts as
    changed). The share is changed / untouched. Times are not compared here.
promised-time shifts
    Every visit the previous plan had promised (not locked, still in the
    day) that the new plan serves: how far its service start moved. Counted
    when it moved more than ``Disruption.shift_tolerance_s`` (15 min), with
    the mean and largest move in minutes; promised visits the new plan
    leaves unassigned are counted apart.
travel
    Travel seconds of the remaining day (``remaining_solution``, the trip
    home included) and visits served in it. The ratio is re-plan /
    from-scratch, judged on the total over all events; read it with the
    visits served (a plan that serves fewer visits can travel less).
continuity
    Of the served visits that have preferred clinicians (among those still
    working), the share served by one of them, pooled over events. Both sides
    pay ``preference_penalty`` for each one missed, so a plan that keeps more
    of them may drive more: read the travel ratio with it.
objective
    :func:`routing.objective` of each remaining-day plan, the disruption cost
    left out: the same measure for both sides, so a re-plan that travels more
    but serves more, or keeps continuity and balance better, shows it. Given
    as the median over events of re-plan / from scratch and the number of
    events where the re-plan's is lower (a total would be swamped by any
    event that leaves a mandatory visit out).
what-if
    For each added (urgent) visit, before its re-plan, the dispatcher's
    question "who can take it, when?": :func:`routing.replan.what_if` on the
    current plan, k = 5, as ``POST /v1/plans/{id}/insertions`` answers it.
    Its latency counts adding the visit's place (snapping and matrix rows)
    and the insertion search; also whether it found a feasible place, and
    whether the re-plan then gave the visit to its first choice.
checker
    ``routing.check`` of each remaining-day solution against its
    remaining-day problem, and :func:`routing.replan.check_day` of the merged
    day (history + re-plan) against the whole day: the check the service's
    re-plan job passes before it stores a version (it leaves out only what
    history made so, such as a linked partner that can no longer follow a
    visit already done). Violations are counted and listed, never hidden.

With ``--seeds 1,2,3`` each seed is a day of its own (its own agency day and
disruptions), printed as above, and the targets are judged once more on all
the days' events pooled: one day's travel ratio moves by several points from
seed to seed (its morning plan and its disruptions decide much of it), so
one day alone says little about the re-planner.

Targets (issue 6): latency p95 <= 5 s; <= 10 % of untouched routes changed
(mean over events); re-plan travel within 3 % of the from-scratch re-solve;
every what-if answered in under a second.
Writes bench/results/reoptimise.json. Map data © OpenStreetMap contributors.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import geo
from bench.hhday import MIN, H, allocate, load_day, osm_path, summary
from routing import (
    Location,
    Matrix,
    Problem,
    Solution,
    SolverParams,
    Visit,
    check,
    objective,
    solve,
)
from routing.replan import (
    DayState,
    ReplanResult,
    cannot_work_on,
    check_day,
    keep_unchanged_routes,
    locked_visits,
    replan,
    what_if,
    without_clinicians,
    without_visits,
)
from routing.solver import Disruption

RESULTS = Path(__file__).resolve().parent / "results"

#: Issue 6's targets.
LATENCY_P95_MAX_S = 5.0
UNTOUCHED_CHANGED_MAX = 0.10
TRAVEL_RATIO_MAX = 1.03
WHAT_IF_MAX_S = 1.0

#: Event types and their shares of the day's disruptions (assumed).
EVENT_MIX = (("clinician_unavailable", 0.20), ("visit_added", 0.25),
             ("visit_cancelled", 0.25), ("clinician_delayed", 0.30))
FIRST_EVENT_S, LAST_EVENT_S = 8 * H + 30 * MIN, 16 * H
DELAY_MINUTES = (20, 60)
#: An urgent visit must start within this long of the call (assumed).
URGENT_WITHIN_S = 3 * H
TOLERANCE_S = Disruption(previous={}).shift_tolerance_s


# -- the disruptions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One seeded disruption, before it meets the plan (times in s from midnight).

    ``pick`` in [0, 1) chooses the target when the event is applied: the
    clinician or visit at that fraction of the sorted candidates then (see
    :func:`apply_event`), so the same seed gives the same events whatever
    the plan looks like by then.
    """

    at: int
    type: str
    pick: float
    minutes: int = 0
    place: int = -1
    acuity: int = 0
    skill: str = ""
    duration: int = 0


def make_disruptions(events: int, seed: int, n_places: int) -> list[Event]:
    """``events`` seeded disruptions spread over 08:30-16:00, in time order.

    Types follow :data:`EVENT_MIX` (largest remainder, shuffled); times are
    distinct whole minutes drawn uniformly. ``n_places`` is the number of road
    graph nodes an added visit's ``place`` is drawn from.
    """
    rng = random.Random(seed)
    kinds = [t for (t, _), k in zip(EVENT_MIX, allocate(events, [s for _, s in EVENT_MIX]),
                                    strict=True) for _ in range(k)]
    rng.shuffle(kinds)
    minutes = sorted(rng.sample(range(FIRST_EVENT_S // MIN, LAST_EVENT_S // MIN + 1), events))
    out = []
    for kind, at in zip(kinds, minutes, strict=True):
        d = Event(at=at * MIN, type=kind, pick=rng.random())
        if kind == "clinician_delayed":
            d = replace(d, minutes=rng.randint(*DELAY_MINUTES))
        elif kind == "visit_added":
            d = replace(d, place=rng.randrange(n_places), acuity=rng.choice((4, 4, 5)),
                        skill=rng.choice(("RN", "RN", "LPN")),
                        duration=rng.choice((30, 45, 60)) * MIN)
        out.append(d)
    return out


# -- the day as the service sees it ----------------------------------------------------


@dataclass
class Day:
    """The day so far: its problem, the current plan, and what has happened."""

    problem: Problem
    plan: Solution
    completed: dict[str, tuple[int, int]]
    unavailable: dict[str, int]
    delays: list[tuple[str, int, int]]  # (clinician, posted at, seconds late then)
    added: int = 0


@dataclass(frozen=True)
class Applied:
    """An event applied to the day: what it did, and the state to re-plan from."""

    event: dict[str, Any]
    named: frozenset[str]
    state: DayState
    problem: Problem
    previous: Solution
    #: The visit a ``visit_added`` event adds, and the seconds its place took to add
    #: (snapping and matrix rows, as the service does for a what-if too).
    added: Visit | None = None
    place_s: float = 0.0


def _pick(items: Sequence[str], pick: float) -> str | None:
    return items[int(pick * len(items))] if items else None


def _open_stops(plan: Solution, now: int) -> dict[str, list[str]]:
    """Clinician id -> visit ids of their stops that start at or after ``now``."""
    return {r.clinician_id: [s.visit_id for s in r.stops if s.start >= now]
            for r in plan.routes}


def _with_place(problem: Problem, graph: geo.RoadGraph, node: int) -> tuple[Problem, int]:
    """``problem`` with the graph node as one more location (matrix rows as the job adds)."""
    lat, lon = float(graph.node_lat[node]), float(graph.node_lon[node])
    points = [(loc.lat, loc.lon) for loc in problem.locations] + [(lat, lon)]
    m = geo.travel_matrix(graph, points)
    old = problem.require_matrix()
    n = len(problem.locations)
    durations = tuple(row + (int(m.durations_s[i, n]),) for i, row in enumerate(old.durations))
    durations += (tuple(int(x) for x in m.durations_s[n]),)
    distances = None
    if old.distances is not None:
        distances = tuple(row + (int(m.distances_m[i, n]),)
                          for i, row in enumerate(old.distances))
        distances += (tuple(int(x) for x in m.distances_m[n]),)
    return replace(problem, locations=problem.locations + (Location(round(lat, 6),
                                                                    round(lon, 6)),),
                   matrix=Matrix(durations, distances)), n


def _without_stops(plan: Solution, visit_ids: Collection[str]) -> Solution:
    """The plan's routes without stops of ``visit_ids`` (as the job reads a version)."""
    if not visit_ids:
        return plan
    return replace(plan, routes=tuple(
        replace(r, stops=tuple(s for s in r.stops if s.visit_id not in visit_ids))
        for r in plan.routes))


def apply_event(day: Day, d: Event, graph: geo.RoadGraph | None) -> Applied:
    """Apply one disruption at ``d.at`` to the day; what to re-plan (``day`` is updated).

    The target is the ``d.pick`` fraction of the candidates (sorted ids):
    sick calls and delays among on-duty clinicians, not yet sick, with a stop
    still to start; cancellations among visits on a route, still to start.
    Then history: every stop of the plan that ended by ``now`` is completed at
    its planned times, one under way has started, except the stops a late
    clinician planned to start in the minutes they are late.
    """
    now = d.at
    problem, plan = day.problem, day.plan
    on_duty = {c.id for c in problem.clinicians} - cannot_work_on(
        problem, DayState(now=now, unavailable=day.unavailable))
    open_stops = _open_stops(plan, now)
    busy = sorted(cid for cid, vids in open_stops.items()
                  if vids and cid in on_duty and cid not in day.unavailable)
    event: dict[str, Any] = {"at": now, "type": d.type}
    named: set[str] = set()
    added, place_s = None, 0.0
    if d.type == "clinician_unavailable":
        cid = _pick(busy, d.pick)
        if cid is not None:
            day.unavailable[cid] = now
            named.add(cid)
        event["clinician_id"] = cid
    elif d.type == "clinician_delayed":
        cid = _pick(busy, d.pick)
        if cid is not None:
            day.delays.append((cid, now, d.minutes * MIN))
            named.add(cid)
        event |= {"clinician_id": cid, "minutes": d.minutes}
    elif d.type == "visit_cancelled":
        owner = {vid: cid for cid, vids in open_stops.items() for vid in vids}
        vid = _pick(sorted(owner), d.pick)
        if vid is not None:
            problem = without_visits(problem, {vid})
            named.add(owner[vid])
            event["clinician_id"] = owner[vid]
        event["visit_id"] = vid
    elif d.type == "visit_added":
        if graph is None:
            raise ValueError("a visit_added event needs the road graph")
        began = time.monotonic()
        problem, loc = _with_place(problem, graph, d.place)
        place_s = time.monotonic() - began
        day.added += 1
        vid = f"urgent-{day.added}"
        added = Visit(id=vid, patient_id=f"p-urgent-{day.added}", location=loc,
                      duration=d.duration, time_windows=((now, now + URGENT_WITHIN_S),),
                      required_skills=frozenset({d.skill}), acuity=d.acuity)
        problem = replace(problem, visits=problem.visits + (added,))
        event |= {"visit_id": vid, "acuity": d.acuity, "skill": d.skill,
                  "duration_min": d.duration // MIN}
    else:
        raise ValueError(f"unknown event type {d.type!r}")

    # What has happened by now, as the job's day_state reads the events.
    delayed: dict[str, int] = {}
    for cid, posted, late in day.delays:
        left = late - (now - posted)
        if left > 0:
            delayed[cid] = max(left, delayed.get(cid, 0))
    in_day = {v.id for v in problem.visits}
    started: dict[str, int] = {}
    not_started: set[str] = set()
    for r in plan.routes:
        for s in r.stops:
            if s.visit_id not in in_day or s.visit_id in day.completed:
                continue
            if r.clinician_id in delayed and now - delayed[r.clinician_id] <= s.start < now:
                not_started.add(s.visit_id)
            elif s.end <= now:
                day.completed[s.visit_id] = (s.start, s.end)
            elif s.start < now:
                started[s.visit_id] = s.start
    state = DayState(now=now, completed=dict(day.completed), started=started,
                     unavailable=dict(day.unavailable), delayed=delayed,
                     not_started=frozenset(not_started))
    previous = _without_stops(plan, {s.visit_id for r in plan.routes for s in r.stops
                                     if s.visit_id not in in_day})
    return Applied(event, frozenset(named), state, problem, previous, added, place_s)


# -- the measures --------------------------------------------------------------------------


def remaining_sequence(solution: Solution, clinician_id: str, *, locked: Collection[str],
                       visits: Collection[str]) -> list[str]:
    """The clinician's visit ids in route order, leaving out ``locked`` ones and any not in
    ``visits``."""
    route = next((r for r in solution.routes if r.clinician_id == clinician_id), None)
    if route is None:
        return []
    return [s.visit_id for s in route.stops if s.visit_id not in locked and s.visit_id in visits]


def routes_changed(before: Solution, after: Solution, clinicians: Collection[str], *,
                   locked: Collection[str], visits: Collection[str]) -> list[str]:
    """Which of ``clinicians`` have another remaining sequence after than before (sorted)."""
    return sorted(cid for cid in clinicians
                  if remaining_sequence(before, cid, locked=locked, visits=visits)
                  != remaining_sequence(after, cid, locked=locked, visits=visits))


def promise_shifts(before: Solution, after: Solution, *, locked: Collection[str],
                   visits: Collection[str], tolerance_s: int = TOLERANCE_S) -> dict[str, Any]:
    """How far the promised starts of ``before`` moved in ``after`` (minutes).

    Promised: a stop of ``before`` not in ``locked`` whose visit is in ``visits``.
    """
    start_after = {s.visit_id: s.start for r in after.routes for s in r.stops}
    moves, dropped = [], 0
    for r in before.routes:
        for s in r.stops:
            if s.visit_id in locked or s.visit_id not in visits:
                continue
            if s.visit_id in start_after:
                moves.append(abs(start_after[s.visit_id] - s.start))
            else:
                dropped += 1
    return {
        "promised": len(moves) + dropped,
        "shifted": sum(1 for m in moves if m > tolerance_s),
        "mean_min": round(statistics.fmean(moves) / 60, 1) if moves else 0.0,
        "max_min": round(max(moves, default=0) / 60, 1),
        "unassigned": dropped,
    }


def _violations(problem: Problem, solution: Solution) -> list[str]:
    return [f"{v.code}: {v.message}" for v in check(problem, solution)]


def measure(applied: Applied, before: Solution, result: ReplanResult, seconds: float,
            problem: Problem) -> dict[str, Any]:
    """One plan of the remaining day against the plan it revises (module docstring)."""
    in_day = {v.id for v in problem.visits}
    untouched = sorted({c.id for c in result.remaining_problem.clinicians} - applied.named)
    changed = routes_changed(before, result.solution, untouched, locked=result.locked,
                             visits=in_day)
    k = result.remaining_solution.kpis
    remaining = _violations(result.remaining_problem, result.remaining_solution)
    whole = [f"{v.code}: {v.message}" for v in check_day(problem, result)]
    preferred = {v.id: v.preferred_clinicians for v in result.remaining_problem.visits
                 if v.preferred_clinicians}
    with_preferred = [(s.visit_id, r.clinician_id) for r in result.remaining_solution.routes
                      for s in r.stops if s.visit_id in preferred]
    return {
        "latency_s": round(seconds, 3),
        "untouched": len(untouched),
        "untouched_changed": len(changed),
        "changed_share": round(len(changed) / len(untouched), 4) if untouched else 0.0,
        "changed": changed,
        "shifts": promise_shifts(before, result.solution, locked=result.locked, visits=in_day),
        "travel_s": k["travel_time"],
        "objective": objective(result.remaining_problem, result.remaining_solution),
        "served": k["visits_assigned"],
        "unassigned": k["visits_unassigned"],
        "served_with_preferred": len(with_preferred),
        "kept_preferred": sum(1 for vid, cid in with_preferred if cid in preferred[vid]),
        "violations": len(remaining),
        "violations_list": remaining[:10],
        "day_violations": len(whole),
        "day_violations_list": whole[:10],
    }


# -- the run -------------------------------------------------------------------------------


def run_day(problem: Problem, graph: geo.RoadGraph | None, *, events: int, seed: int,
            time_limit: float, plan_time_limit: float, scratch_time_limit: float | None = None,
            disruption: Disruption | None = None, say: Any = print) -> dict[str, Any]:
    """Plan ``problem``, then apply and re-plan each disruption (module docstring).

    ``graph`` is the road graph the problem's matrix came from: added visits
    are placed on its nodes (None: no ``visit_added`` events may occur).
    ``disruption`` holds the re-plans' weights (None: the defaults).
    """
    began = time.monotonic()
    plan = solve(problem, SolverParams(time_limit=plan_time_limit))
    plan_s = time.monotonic() - began
    plan_violations = _violations(problem, plan)
    say(f"   plan: {plan.kpis['visits_assigned']} served, travel "
        f"{plan.kpis['travel_time'] / 3600:.1f} h, {len(plan_violations)} checker violations, "
        f"{plan_s:.0f} s", flush=True)
    day = Day(problem, plan, completed={}, unavailable={}, delays=[])
    rows = []
    disruptions = make_disruptions(events, seed, len(graph.node_lat) if graph else 1)
    for k, d in enumerate(disruptions):
        applied = apply_event(day, d, graph)
        asked = _ask_what_if(applied)
        started = time.monotonic()
        off = cannot_work_on(applied.problem, applied.state)
        problem, pinned = without_clinicians(
            applied.problem, off, locked=locked_visits(applied.previous, applied.state),
            now=applied.state.now)
        previous = _without_stops(applied.previous, {u.visit_id for u in pinned})
        result = replan(problem, previous, applied.state, time_limit=time_limit,
                        disruption=disruption)
        result, kept = keep_unchanged_routes(problem, day.plan, result, now=applied.state.now,
                                             quiet={c.id for c in problem.clinicians}
                                             - applied.named)
        replan_s = time.monotonic() - started
        started = time.monotonic()
        scratch = replan(problem, previous, applied.state, from_scratch=True,
                         time_limit=time_limit if scratch_time_limit is None
                         else scratch_time_limit)
        scratch_s = time.monotonic() - started
        row = {"event": k + 1, **applied.event, "kept_verbatim": len(kept),
               "locked": len(result.locked),
               "replan": measure(applied, day.plan, result, replan_s, problem),
               "scratch": measure(applied, day.plan, scratch, scratch_s, problem)}
        if asked is not None:
            asked["replan_clinician"] = next(
                (r.clinician_id for r in result.solution.routes
                 for st in r.stops if st.visit_id == applied.event["visit_id"]), None)
            row["what_if"] = asked
        rows.append(row)
        asked_s = f", what-if {asked['seconds']:.2f} s" if asked is not None else ""
        say(f"   event {k + 1}/{len(disruptions)} {_row(row)[3:48].strip()}: re-plan "
            f"{replan_s:.1f} s, from scratch {scratch_s:.1f} s{asked_s}", flush=True)
        day.problem, day.plan = problem, result.solution
    return {"plan": {"seconds": round(plan_s, 1), "kpis": plan.kpis,
                     "violations": plan_violations},
            "final": {"kpis": day.plan.kpis,
                      "violations": _violations(day.problem, day.plan)},
            "disruptions": [asdict(d) for d in disruptions],
            "events": rows, "summary": summarise(rows)}


def _ask_what_if(applied: Applied, k: int = 5) -> dict[str, Any] | None:
    """A dispatcher's what-if for the added visit, before the re-plan: its latency and answer.

    ``seconds`` counts adding the place (snapping and matrix rows) and
    :func:`routing.replan.what_if` on the current plan, the routing work of
    ``POST /v1/plans/{id}/insertions``.
    """
    if applied.added is None:
        return None
    began = time.monotonic()
    options = what_if(applied.problem, applied.previous, applied.added,
                      now=applied.state.now, k=k)
    insert_s = time.monotonic() - began
    return {"seconds": round(applied.place_s + insert_s, 3),
            "place_s": round(applied.place_s, 3), "insert_s": round(insert_s, 3),
            "options": len(options), "best": asdict(options[0]) if options else None}


def _percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile by linear interpolation between closest ranks."""
    xs = sorted(values)
    if not xs:
        return 0.0
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """p50/p95 latency, mean share of untouched routes changed, travel ratio; the targets."""
    out: dict[str, Any] = {}
    for side in ("replan", "scratch"):
        ms = [r[side] for r in rows]
        travel = sum(m["travel_s"] for m in ms)
        out[side] = {
            "latency_p50_s": round(_percentile([m["latency_s"] for m in ms], 0.5), 2),
            "latency_p95_s": round(_percentile([m["latency_s"] for m in ms], 0.95), 2),
            "changed_share_mean": round(statistics.fmean(m["changed_share"] for m in ms), 4)
            if ms else 0.0,
            "changed_share_max": max((m["changed_share"] for m in ms), default=0.0),
            "shifted_total": sum(m["shifts"]["shifted"] for m in ms),
            "shift_mean_min": round(statistics.fmean(m["shifts"]["mean_min"] for m in ms), 1)
            if ms else 0.0,
            "shift_max_min": max((m["shifts"]["max_min"] for m in ms), default=0.0),
            "travel_s": travel,
            "objective": sum(m["objective"] for m in ms),
            "served": sum(m["served"] for m in ms),
            "unassigned": sum(m["unassigned"] for m in ms),
            "travel_per_served_s": round(travel / max(1, sum(m["served"] for m in ms)), 1),
            "continuity": round(sum(m["kept_preferred"] for m in ms)
                                / max(1, sum(m["served_with_preferred"] for m in ms)), 4),
            "violations": sum(m["violations"] for m in ms),
            "day_violations": sum(m["day_violations"] for m in ms),
        }
    r, s = out["replan"], out["scratch"]
    ratio = r["travel_s"] / s["travel_s"] if s["travel_s"] else 1.0
    per_event = [x["replan"]["travel_s"] / x["scratch"]["travel_s"]
                 for x in rows if x["scratch"]["travel_s"]]
    out["travel_ratio"] = round(ratio, 4)
    ratios = [x["replan"]["objective"] / x["scratch"]["objective"]
              for x in rows if x["scratch"]["objective"]]
    # A median over events: one mandatory visit left out (10^7) swamps a total.
    out["objective_ratio_median"] = round(statistics.median(ratios), 4) if ratios else 1.0
    out["events"] = len(rows)
    out["objective_lower_events"] = sum(
        1 for x in rows if x["replan"]["objective"] < x["scratch"]["objective"])
    out["served_difference"] = r["served"] - s["served"]
    out["travel_ratio_worst"] = round(max(per_event, default=1.0), 4)
    asked = [x["what_if"] for x in rows if "what_if" in x]
    out["what_if"] = {
        "asked": len(asked),
        "p50_s": round(_percentile([a["seconds"] for a in asked], 0.5), 3),
        "max_s": max((a["seconds"] for a in asked), default=0.0),
        "answered": sum(1 for a in asked if a["options"]),
        "replan_took_first_choice": sum(
            1 for a in asked if a["best"] and a["replan_clinician"] == a["best"]["clinician_id"]),
    }
    out["targets"] = [
        {"target": f"latency p95 <= {LATENCY_P95_MAX_S:g} s", "value": r["latency_p95_s"],
         "shown": f"{r['latency_p95_s']:.2f} s", "met": r["latency_p95_s"] <= LATENCY_P95_MAX_S,
         "by": f"{r['latency_p95_s'] - LATENCY_P95_MAX_S:+.2f} s"},
        {"target": f"<= {UNTOUCHED_CHANGED_MAX:.0%} of untouched routes changed (mean)",
         "value": r["changed_share_mean"], "shown": f"{100 * r['changed_share_mean']:.1f} %",
         "met": r["changed_share_mean"] <= UNTOUCHED_CHANGED_MAX,
         "by": f"{100 * (r['changed_share_mean'] - UNTOUCHED_CHANGED_MAX):+.1f} pp"},
        {"target": f"travel within {TRAVEL_RATIO_MAX - 1:.0%} of from-scratch (total)",
         "value": out["travel_ratio"], "shown": f"{100 * (ratio - 1):+.1f} %",
         "met": ratio <= TRAVEL_RATIO_MAX,
         "by": f"{100 * (ratio - TRAVEL_RATIO_MAX):+.1f} pp",
         "note": f"re-plan serves {out['served_difference']:+d} visits against from scratch"},
        {"target": "every remaining-day plan passes the checker",
         "value": r["violations"] + s["violations"],
         "shown": f"{r['violations'] + s['violations']}",
         "met": r["violations"] + s["violations"] == 0,
         "by": f"re-plan {r['violations']} in {sum(1 for x in rows if x['replan']['violations'])}"
               f" events, from scratch {s['violations']} in "
               f"{sum(1 for x in rows if x['scratch']['violations'])}"},
    ]
    if asked:
        w = out["what_if"]
        out["targets"].append(
            {"target": f"what-if insertion < {WHAT_IF_MAX_S:g} s (slowest)", "value": w["max_s"],
             "shown": f"{w['max_s']:.2f} s", "met": w["max_s"] < WHAT_IF_MAX_S,
             "by": f"{w['max_s'] - WHAT_IF_MAX_S:+.2f} s",
             "note": f"{w['asked']} urgent visits asked, {w['answered']} with a feasible place"})
    return out


# -- printing ------------------------------------------------------------------------------

HEAD = (f"{'#':>2} {'time':>5} {'event':<22} {'target':<14} | {'lat s':>5} {'chg':>7} "
        f"{'shift>15':>8} {'mean/max min':>12} {'travel h':>8} {'srv':>4} {'viol':>4} | "
        f"{'lat s':>5} {'chg':>7} {'shift>15':>8} {'mean/max min':>12} {'travel h':>8} "
        f"{'srv':>4} {'viol':>4} | {'ratio':>6}")


def _cells(m: dict[str, Any]) -> str:
    sh = m["shifts"]
    viol = f"{m['violations']}" + (f"/{m['day_violations']}" if m["day_violations"] else "")
    return (f"{m['latency_s']:>5.1f} {m['untouched_changed']:>3}/{m['untouched']:<3} "
            f"{sh['shifted']:>8} {sh['mean_min']:>5.1f}/{sh['max_min']:<6.0f} "
            f"{m['travel_s'] / 3600:>8.2f} {m['served']:>4} {viol:>4}")


def _row(row: dict[str, Any]) -> str:
    at = f"{row['at'] // H:02d}:{row['at'] % H // MIN:02d}"
    target = row.get("visit_id") or row.get("clinician_id") or "-"
    if row["type"] == "clinician_delayed":
        target = f"{target} +{row['minutes']}'"
    ratio = (row["replan"]["travel_s"] / row["scratch"]["travel_s"]
             if row["scratch"]["travel_s"] else 1.0)
    return (f"{row['event']:>2} {at:>5} {row['type']:<22} {target:<14} | "
            f"{_cells(row['replan'])} | {_cells(row['scratch'])} | {ratio:>6.3f}")


def print_result(result: dict[str, Any], say: Any = print) -> None:
    """The per-event table, the summary and the targets."""
    say("\n" + " " * 48 + "| re-plan (disruption cost, warm start)" + " " * 30
        + "| from scratch (same remaining day)")
    say(HEAD)
    for row in result["events"]:
        say(_row(row))
    say("\n(chg: untouched routes changed / untouched; shift>15: promised starts moved more "
        "than 15 min;\n viol: checker violations on the remaining day[/whole day])")
    print_summary(result["summary"], say)
    final = result["final"]
    say(f"\nEnd of day: {final['kpis']['visits_assigned']} served, "
        f"{final['kpis']['visits_unassigned']} unassigned, "
        f"{len(final['violations'])} checker violation"
        f"{'' if len(final['violations']) == 1 else 's'} on the whole day")


def print_summary(s: dict[str, Any], say: Any = print) -> None:
    """The summary of one day's events (or of several days' pooled) and the targets."""
    say(f"\n{'':34} {'re-plan':>12} {'from scratch':>14}")
    for label, key, fmt in (
            ("latency p50 (s)", "latency_p50_s", "{:.2f}"),
            ("latency p95 (s)", "latency_p95_s", "{:.2f}"),
            ("untouched routes changed, mean", "changed_share_mean", "{:.1%}"),
            ("untouched routes changed, max", "changed_share_max", "{:.1%}"),
            ("promised starts moved > 15 min", "shifted_total", "{}"),
            ("mean move per event (min)", "shift_mean_min", "{:.1f}"),
            ("largest move (min)", "shift_max_min", "{:.0f}"),
            ("travel, all events (h)", "travel_s", "{:.1f}"),
            ("visits served, all events", "served", "{}"),
            ("visits unassigned, all events", "unassigned", "{}"),
            ("travel per visit served (min)", "travel_per_served_s", "{:.1f}"),
            ("continuity (preferred kept)", "continuity", "{:.1%}"),
            ("checker violations, remaining day", "violations", "{}"),
            ("checker violations, whole day", "day_violations", "{}")):
        a, b = s["replan"][key], s["scratch"][key]
        if key == "travel_s":
            a, b = a / 3600, b / 3600
        elif key == "travel_per_served_s":
            a, b = a / 60, b / 60
        say(f"{label:34} {fmt.format(a):>12} {fmt.format(b):>14}")
    say(f"{'travel ratio re-plan / scratch':34} {s['travel_ratio']:>12.3f}   "
        f"(worst event {s['travel_ratio_worst']:.3f})")
    say(f"{'objective re-plan / scratch, median':34} {s['objective_ratio_median']:>12.3f}   "
        f"(lower in {s['objective_lower_events']} of {s['events']} events; "
        "disruption cost left out)")
    w = s.get("what_if")
    if w and w["asked"]:
        say(f"{'what-if insertion p50 / slowest (s)':34} {w['p50_s']:>5.2f} / {w['max_s']:<5.2f}  "
            f"(before the re-plan, {w['asked']} urgent visits; the re-plan gave "
            f"{w['replan_took_first_choice']} of them to the what-if's first choice)")
    say("\nTargets (issue 6)")
    for t in s["targets"]:
        mark = "met" if t["met"] else f"NOT met ({t['by']})"
        note = f"; {t['note']}" if t.get("note") else ""
        say(f"  {t['target']:52} {t['shown']:>9}  {mark}{note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--osm", default="porto", help="porto, columbus, or an OSM extract path")
    parser.add_argument("--visits", type=int, default=300)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--seeds", default="1",
                        help="comma-separated seeds: one day each, targets judged on all "
                             "their events pooled")
    parser.add_argument("--seed", type=int, default=None, help="one seed (same as --seeds N)")
    parser.add_argument("--time-limit", type=float, default=3.0,
                        help="seconds of search per re-plan (and per from-scratch re-solve)")
    parser.add_argument("--scratch-time-limit", type=float, default=None,
                        help="seconds for each from-scratch re-solve (default: --time-limit)")
    parser.add_argument("--plan-time-limit", type=float, default=30.0,
                        help="seconds of search for the morning plan")
    defaults = Disruption(previous={})
    parser.add_argument("--move-penalty", type=int, default=defaults.move_penalty,
                        help="re-plans' cost of moving a visit to another clinician")
    parser.add_argument("--shift-tolerance", type=int, default=defaults.shift_tolerance_s,
                        help="seconds a promised start may move for free")
    parser.add_argument("--shift-penalty", type=int, default=defaults.shift_penalty_per_s,
                        help="cost per second a promised start moves beyond the tolerance")
    parser.add_argument("--quick", action="store_true",
                        help="80 visits, 5 events, 5 s plan, 1 s re-plans (smoke check)")
    parser.add_argument("--out", default=str(RESULTS / "reoptimise.json"))
    args = parser.parse_args(argv)
    if args.quick:
        args.visits, args.events, args.plan_time_limit, args.time_limit = 80, 5, 5.0, 1.0
    if not osm_path(args.osm).is_file():
        print(f"no OSM extract at {osm_path(args.osm)} (set CAREROUTE_SHARED_DATA)",
              file=sys.stderr)
        return 2
    for flag in ("move_penalty", "shift_tolerance", "shift_penalty"):
        if getattr(args, flag) < 0:
            parser.error(f"--{flag.replace('_', '-')} must be >= 0, got {getattr(args, flag)}")
    disruption = Disruption(previous={}, move_penalty=args.move_penalty,
                            shift_tolerance_s=args.shift_tolerance,
                            shift_penalty_per_s=args.shift_penalty)
    seeds = [args.seed] if args.seed is not None else [int(x) for x in args.seeds.split(",")]
    began = time.monotonic()
    days = []
    for seed in seeds:
        loaded = load_day(args.osm, args.visits, seed=seed)
        graph = geo.load_graph(osm_path(args.osm))  # cached by load_day
        info = summary(loaded)
        print(f"== {args.visits} visits, {info['clinicians']} clinicians ({info['source']}, "
              f"seed {seed}); day built in {time.monotonic() - began:.0f} s", flush=True)
        result = run_day(loaded.problem, graph, events=args.events, seed=seed,
                         time_limit=args.time_limit, plan_time_limit=args.plan_time_limit,
                         scratch_time_limit=args.scratch_time_limit, disruption=disruption)
        result = {"seed": seed, "clinicians": info["clinicians"], "day": info, **result}
        print_result(result)
        days.append(result)
    pooled = days[0]["summary"] if len(days) == 1 else summarise(
        [row for day in days for row in day["events"]])
    if len(days) > 1:
        print(f"\n== all {len(days)} days pooled (seeds {','.join(map(str, seeds))}; "
              "per-day travel ratios "
              + ", ".join(f"{100 * (d['summary']['travel_ratio'] - 1):+.1f} %" for d in days)
              + ")")
        print_summary(pooled)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "benchmark": "reoptimise", "osm": osm_path(args.osm).name, "seeds": seeds,
        "visits": args.visits, "events": args.events, "time_limit_s": args.time_limit,
        "scratch_time_limit_s": args.scratch_time_limit or args.time_limit,
        "plan_time_limit_s": args.plan_time_limit,
        "disruption": {"move_penalty": disruption.move_penalty,
                       "shift_tolerance_s": disruption.shift_tolerance_s,
                       "shift_penalty_per_s": disruption.shift_penalty_per_s},
        "seconds": round(time.monotonic() - began, 1), "summary": pooled, "days": days,
    }, indent=1))
    print(f"\nwrote {out} ({time.monotonic() - began:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
