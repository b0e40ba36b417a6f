"""POST /v1/plans/{id}/events: If-Match, validation, roles, the event log, re-plans from now.

The day is test_plans.py's (3 clinicians, 8 visits on Columbus streets).
Version 1 is solved once per session (:func:`planned`) and stored directly, so
each test pays only for its re-plans; those run in the test process (claim
the job, then :func:`app.jobs.worker.run_job`), with a 1 s search.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

import geo
import routing
from app import db
from app.audit.service import latest
from app.events.schemas import DEFAULT_DISRUPTION, MAX_MOVE_PENALTY
from app.jobs import repository as jobs
from app.jobs.worker import run_job
from app.models import JobRow, PlanEventRow, PlanRow, PlanVersionRow, VisitRow
from app.plans import repository as plans
from app.plans.diff import DEFAULT_TOLERANCE_S
from app.plans.pipeline import ComputedPlan, compute_plan, solution_md
from app.plans.service import new_id
from app.settings import Settings
from tests.app.conftest import assert_migration_matches, auth
from tests.app.test_plans import (  # noqa: F401  (fixtures)
    DATE,
    H,
    columbus,
    fast_settings,
    node_near,
    seed_day,
    stored_version,
)

_version_one: dict[str, ComputedPlan] = {}


@pytest.fixture(autouse=True)
def _graph_cached_first(columbus: geo.RoadGraph) -> None:  # noqa: F811
    """Cache the road graph before any app starts loading it in the background."""


def plan_version_one(app: FastAPI, columbus: geo.RoadGraph) -> str:  # noqa: F811
    """Store the seeded day's plan as version 1 (solved once per session, 1 s); its id."""
    import datetime as dt

    date = dt.date.fromisoformat(DATE)
    with db.transaction(app.state.engine) as session:
        day = plans.day_rows(session, date)
        which = ",".join(v.id for v in day.visits)
        if which not in _version_one:
            _version_one[which] = compute_plan(day, columbus, max_snap_m=500, time_limit=1)
        computed = _version_one[which]
        plan = PlanRow(id=new_id(), date=date, status="ready", version=1)
        session.add(plan)
        session.flush()
        session.add(PlanVersionRow(plan_id=plan.id, version=1, problem=computed.problem,
                                   solution=computed.solution,
                                   location_ids=computed.location_ids))
        return plan.id


@pytest.fixture
def planned(app: FastAPI, client: Any, keys: dict[str, str],
            columbus: geo.RoadGraph) -> str:  # noqa: F811
    """The day seeded through the API and planned (version 1, ready); the plan id."""
    seed_day(client, keys, columbus)
    return plan_version_one(app, columbus)


def post(client: Any, token: str, plan_id: str, events: list[dict[str, Any]], *,
         now: int | None, version: int | str | None = 1, **extra: Any) -> Any:
    """POST the events with ``If-Match: "version"`` (None: no If-Match)."""
    headers = auth(token)
    if version is not None:
        headers["If-Match"] = version if isinstance(version, str) else f'"{version}"'
    body: dict[str, Any] = {"events": events, **extra}
    if now is not None:
        body["now"] = now
    return client.post(f"/v1/plans/{plan_id}/events", headers=headers, json=body)


def replan_now(app: FastAPI, settings: Settings, job_id: str) -> dict[str, Any]:
    """Run a queued re-plan job in this process, as a worker would; its outcome."""
    with db.transaction(app.state.engine) as session:
        attempt = jobs.claim(session, job_id)
    assert attempt is not None
    return run_job(job_id, attempt, fast_settings(settings).model_dump())


def accepted_and_replanned(app: FastAPI, settings: Settings, r: Any) -> None:
    assert r.status_code == 202, r.text
    outcome = replan_now(app, settings, r.json()["job_id"])
    assert outcome["state"] == "succeeded", job_row(app, r.json()["job_id"]).error


def job_row(app: FastAPI, job_id: str) -> JobRow:
    with db.transaction(app.state.engine) as session:
        row = session.get(JobRow, job_id)
        assert row is not None
        session.expunge(row)
        return row


def doc(app: FastAPI, plan_id: str, version: int) -> dict[str, Any]:
    return stored_version(app, plan_id, version).solution


def stops(document: dict[str, Any]) -> dict[str, tuple[str, int, int]]:
    """visit id -> (clinician, start, end) of every stop of a plan document."""
    return {s["visit_id"]: (r["clinician_id"], s["start"], s["end"])
            for r in document["routes"] for s in r["stops"]}


def orders(document: dict[str, Any]) -> dict[str, list[str]]:
    return {r["clinician_id"]: [s["visit_id"] for s in r["stops"]] for r in document["routes"]}


def remaining_day_checks(app: FastAPI, plan_id: str, version: int) -> None:
    """Every stop of the version that starts after its `now` passes the checker's rules.

    (The stored full day may hold actual times that no plan would choose; the
    job itself checked the remaining-day solution against the remaining-day
    problem. Here: no visit twice, every visit accounted for.)
    """
    row = stored_version(app, plan_id, version)
    problem = routing.problem_from_dict(row.problem)
    solution = routing.solution_from_dict(solution_md(row.solution, row.problem))
    codes = {v.code for v in routing.check(problem, solution)}
    assert not codes & {"missing_visit", "duplicate_visit", "unknown_visit", "skill",
                        "excluded", "pinned", "duplicate_route"}, codes


def event_rows(app: FastAPI, plan_id: str) -> list[PlanEventRow]:
    with db.transaction(app.state.engine) as session:
        rows = list(session.scalars(select(PlanEventRow).where(PlanEventRow.plan_id == plan_id)
                                    .order_by(PlanEventRow.seq)))
        session.expunge_all()
        return rows


def plan_row(app: FastAPI, plan_id: str) -> PlanRow:
    with db.transaction(app.state.engine) as session:
        row = session.get(PlanRow, plan_id)
        assert row is not None
        session.expunge(row)
        return row


# -- preconditions: If-Match ----------------------------------------------------------------


def test_stale_if_match_is_412_and_missing_is_428_nothing_stored(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,
) -> None:
    """A stale or weak If-Match: 412 with the current ETag; none: 428; nothing is stored."""
    token = keys["dispatcher"]
    event = [{"type": "clinician_delayed", "clinician_id": "rn-ben", "minutes": 20}]
    r = post(client, token, planned, event, now=10 * H, version=None)
    assert r.status_code == 428 and r.headers["content-type"] == "application/problem+json"
    assert '"1"' in r.json()["detail"]
    for stale in ('"2"', '"0"', 'W/"1"', "banana"):
        r = post(client, token, planned, event, now=10 * H, version=stale)
        assert r.status_code == 412, (stale, r.text)
        assert r.headers["ETag"] == '"1"' and r.json()["version"] == 1
    assert event_rows(app, planned) == []
    assert plan_row(app, planned).status == "ready"
    with db.transaction(app.state.engine) as session:
        assert session.scalars(select(JobRow).where(JobRow.kind == "replan")).first() is None

    r = post(client, token, planned, event, now=10 * H, version='"7", "1"')
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"/v1/jobs/{r.json()['job_id']}"
    # version 1 is being re-planned: a second post against it is stale too, even with *
    again = post(client, token, planned, event, now=10 * H, version="*")
    assert again.status_code == 412 and r.json()["job_id"] in again.json()["detail"]
    again = post(client, token, planned, event, now=10 * H)
    assert again.status_code == 412 and r.json()["job_id"] in again.json()["detail"]
    assert len(event_rows(app, planned)) == 1


def test_no_plan_404_and_unsolved_plan_409(app: FastAPI, client: Any,
                                           keys: dict[str, str]) -> None:
    """Events for an unknown plan: 404; for a plan with no version yet: 409."""
    import datetime as dt

    event = [{"type": "clinician_delayed", "clinician_id": "rn-ben", "minutes": 20}]
    r = post(client, keys["dispatcher"], "plan_nope", event, now=10 * H)
    assert r.status_code == 404 and "plan_nope" in r.json()["detail"]
    with db.transaction(app.state.engine) as session:
        session.add(PlanRow(id="plan_solving", date=dt.date.fromisoformat(DATE),
                            status="solving", version=0))
    r = post(client, keys["dispatcher"], "plan_solving", event, now=10 * H, version=0)
    assert r.status_code == 409 and "no version" in r.json()["detail"]


# -- what is stored ---------------------------------------------------------------------


def test_events_are_stored_then_replanned_into_version_2(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings, planned: str,
) -> None:
    """202 {plan_id, job_id}; the log holds the events in order; the job makes version 2."""
    v1 = doc(app, planned, 1)
    first = min((r["stops"][0] for r in v1["routes"]), key=lambda s: s["start"])
    actual = (first["start"] + 120, first["end"] + 240)
    now = actual[1] + 600
    events = [
        {"type": "visit_completed", "visit_id": first["visit_id"], "start": actual[0],
         "end": actual[1]},
        {"type": "clinician_delayed", "clinician_id": "pt-gus", "minutes": 15},
    ]
    r = post(client, keys["dispatcher"], planned, events, now=now)
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["plan_id"] == planned and body["job_id"].startswith("job_")
    assert (body["based_on"], body["now"], body["events"]) == (1, now, 2)

    rows = event_rows(app, planned)
    assert [(e.seq, e.type, e.now, e.based_on, e.role, e.job_id) for e in rows] == [
        (1, "visit_completed", now, 1, "dispatcher", body["job_id"]),
        (2, "clinician_delayed", now, 1, "dispatcher", body["job_id"])]
    assert rows[0].body == events[0]
    job = job_row(app, body["job_id"])
    assert (job.kind, job.state, job.payload["now"], job.payload["through_seq"]) == (
        "replan", "queued", now, 2)
    assert plan_row(app, planned).status == "solving"

    outcome = replan_now(app, settings, body["job_id"])
    assert outcome["state"] == "succeeded", job_row(app, body["job_id"]).error
    plan = client.get(f"/v1/plans/{planned}", headers=auth(keys["scheduler"]))
    assert plan.headers["ETag"] == '"2"'
    out = plan.json()
    assert (out["version"], out["status"]) == (2, "ready")
    v2 = doc(app, planned, 2)
    assert stops(v2)[first["visit_id"]][1:] == actual
    assert v2["replan"]["based_on"] == 1 and first["visit_id"] in v2["replan"]["locked"]
    for route in out["routes"]:  # the extras of version 1 are there
        for stop in route["stops"]:
            assert stop["patient_id"] == f"p-{stop['visit_id'][2:]}"
            assert stop["location"] and stop["polyline"]
    remaining_day_checks(app, planned, 2)
    with db.transaction(app.state.engine) as session:
        audit = [(a.action, list(a.record_ids)) for a in latest(session, limit=20)]
    assert ("plan.events", [planned, first["visit_id"]]) in audit


# -- validation and roles -------------------------------------------------------------------


def test_invalid_events_are_422_naming_the_field(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,
) -> None:
    """Dated after now, unknown visits or clinicians, bad shapes: 422 naming the field."""
    v1 = doc(app, planned, 1)
    routed = next(iter(stops(v1)))
    now = 10 * H
    near = node_near_plan(v1)
    cases: list[tuple[list[dict[str, Any]], str]] = [
        ([{"type": "visit_completed", "visit_id": routed, "start": now - 600,
           "end": now + 60}], "events[0].end"),
        ([{"type": "visit_started", "visit_id": routed, "at": now + 1}], "events[0].at"),
        ([{"type": "clinician_position", "clinician_id": "rn-ana", "lat": near["lat"],
           "lon": near["lon"], "at": now + 5}], "events[0].at"),
        ([{"type": "clinician_unavailable", "clinician_id": "rn-ana", "from": now + 60}],
         "events[0].from"),
        ([{"type": "visit_cancelled", "visit_id": "v-nope"}], "events[0].visit_id"),
        ([{"type": "clinician_delayed", "clinician_id": "rn-zed", "minutes": 5}],
         "events[0].clinician_id"),
        ([{"type": "clinician_delayed", "clinician_id": "rn-ana", "minutes": 0}],
         "events[0].clinician_delayed.minutes"),
        ([{"type": "visit_completed", "visit_id": routed, "start": 9 * H, "end": 8 * H}],
         "events[0].visit_completed"),
        ([{"type": "visit_added", "visit": {"id": "v-1", "location": near, "duration": 600}}],
         "events[0].visit.id"),
        ([{"type": "visit_added", "visit": {
            "id": "v-new", "location": near, "duration": 600,
            "preferred_clinicians": ["rn-ana"], "excluded_clinicians": ["rn-ana"]}}],
         "events[0].visit.preferred_clinicians"),
        ([{"type": "teleported", "visit_id": routed}], "events[0]"),
        ([], "events"),
    ]
    for events, field in cases:
        r = post(client, keys["dispatcher"], planned, events, now=now)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["field"] == field, (field, r.json())
    r = post(client, keys["dispatcher"], planned,
             [{"type": "clinician_delayed", "clinician_id": "rn-ana", "minutes": 5}],
             now=now, time_limit=10_000)
    assert r.status_code == 422 and r.json()["field"] == "time_limit"
    assert event_rows(app, planned) == [] and plan_row(app, planned).status == "ready"


def node_near_plan(document: dict[str, Any]) -> dict[str, float]:
    """A place on the map: the first stop's."""
    return dict(document["routes"][0]["stops"][0]["location"])


def test_clinician_key_posts_only_its_own_facts(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,
) -> None:
    """A clinician key (rn-ana) may post started/completed/position about itself only: 403."""
    v1 = doc(app, planned, 1)
    mine = orders(v1)["rn-ana"]
    other = next(vid for cid, vids in orders(v1).items() if cid != "rn-ana" for vid in vids)
    here = node_near_plan(v1)
    me = keys["clinician"]
    forbidden = [
        [{"type": "clinician_position", "clinician_id": "rn-ben", **here, "at": 9 * H}],
        [{"type": "clinician_unavailable", "clinician_id": "rn-ana", "from": 9 * H}],
        [{"type": "clinician_delayed", "clinician_id": "rn-ana", "minutes": 10}],
        [{"type": "visit_cancelled", "visit_id": mine[0]}],
        [{"type": "visit_started", "visit_id": other, "at": 9 * H}],
    ]
    for events in forbidden:
        r = post(client, me, planned, events, now=10 * H)
        assert r.status_code == 403, (events, r.text)
    assert event_rows(app, planned) == [] and plan_row(app, planned).status == "ready"
    r = post(client, keys["scheduler"], planned, forbidden[0], now=10 * H)
    assert r.status_code == 403  # schedulers plan; dispatchers and clinicians post events

    r = post(client, me, planned, [
        {"type": "visit_started", "visit_id": mine[0], "at": 9 * H},
        {"type": "clinician_position", "clinician_id": "rn-ana", **here, "at": 9 * H}],
        now=10 * H, version="*")  # the app need not know the version: any current one
    assert r.status_code == 202, r.text
    assert {e.role for e in event_rows(app, planned)} == {"clinician"}


# -- concurrency ------------------------------------------------------------------------------


def test_two_posts_on_one_version_one_wins(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,
) -> None:
    """Two dispatchers post against version 1 at once: one 202, one 412, one job, one batch."""
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def dispatcher(minutes: int) -> None:
        barrier.wait()
        r = post(client, keys["dispatcher"], planned,
                 [{"type": "clinician_delayed", "clinician_id": "rn-ben", "minutes": minutes}],
                 now=10 * H)
        answers.append(r.status_code)

    threads = [threading.Thread(target=dispatcher, args=(m,)) for m in (10, 20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [202, 412]
    assert len(event_rows(app, planned)) == 1
    with db.transaction(app.state.engine) as session:
        assert len(session.scalars(select(JobRow).where(JobRow.kind == "replan")).all()) == 1


def test_claiming_a_version_waits_for_the_other_transaction(app: FastAPI, planned: str) -> None:
    """The conditional UPDATE: a second claim blocks on the first, then loses (no lost update)."""
    from app.events import repository

    engine = app.state.engine
    second: list[bool] = []
    started = threading.Event()

    def claim_later() -> None:
        started.set()
        with db.transaction(engine) as session:
            second.append(repository.claim_version(session, planned, 1))

    with db.transaction(engine) as session:
        assert repository.claim_version(session, planned, 1)
        t = threading.Thread(target=claim_later)
        t.start()
        started.wait()
        t.join(timeout=0.5)
        assert t.is_alive()  # blocked on the first claim's row (PostgreSQL) or write lock
    t.join(timeout=30)
    assert second == [False]
    assert plan_row(app, planned).status == "solving"


# -- what re-plans do ---------------------------------------------------------------------------


def test_locked_stops_never_change_across_versions(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings, planned: str,
) -> None:
    """Locked stops stay as they were, pushed at most by a reported overrun before them."""
    v1 = doc(app, planned, 1)
    first = min((r["stops"][0] for r in v1["routes"]), key=lambda s: s["start"])
    done = (first["start"] + 300, first["end"] + 300)
    now2 = max(10 * H, done[1])
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], planned, [
        {"type": "visit_completed", "visit_id": first["visit_id"], "start": done[0],
         "end": done[1]}], now=now2))
    v2 = doc(app, planned, 2)
    before, after = stops(v1), stops(v2)
    locked2 = set(v2["replan"]["locked"])
    assert first["visit_id"] in locked2
    assert {vid for vid, (_, start, _) in before.items() if start < now2} <= locked2
    for vid in locked2 - {first["visit_id"]}:  # the overrun pushes the first clinician's
        pushed = 300 if before[vid][0] == before[first["visit_id"]][0] else 0
        assert after[vid][0] == before[vid][0]
        assert before[vid][1] <= after[vid][1] <= before[vid][1] + pushed
        assert after[vid][2] - after[vid][1] == before[vid][2] - before[vid][1]
    assert after[first["visit_id"]] == (before[first["visit_id"]][0], *done)

    now3 = 12 * H + 1800
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], planned, [
        {"type": "clinician_unavailable", "clinician_id": "rn-ben", "from": now3},
        {"type": "clinician_delayed", "clinician_id": "rn-ana", "minutes": 45}],
        now=now3, version=2))
    v3 = doc(app, planned, 3)
    locked3 = set(v3["replan"]["locked"])
    assert locked2 <= locked3
    for vid in locked2:
        assert stops(v3)[vid] == after[vid], vid
    remaining_day_checks(app, planned, 3)


def test_sick_clinician_visits_go_to_others_or_are_explained(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings, planned: str,
) -> None:
    """After a sick call at 10:00 the clinician starts nothing new; their visits move or are
    unassigned with a reason."""
    v1 = doc(app, planned, 1)
    sick = max(orders(v1), key=lambda cid: len(orders(v1)[cid]))
    now = 10 * H
    theirs = [s["visit_id"] for r in v1["routes"] if r["clinician_id"] == sick
              for s in r["stops"] if s["start"] >= now]
    assert theirs, "the test day gives the busiest clinician visits after 10:00"
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], planned, [
        {"type": "clinician_unavailable", "clinician_id": sick, "from": now}], now=now))
    v2 = doc(app, planned, 2)
    after = stops(v2)
    unassigned = {u["visit_id"]: u for u in v2["unassigned"]}
    for vid in theirs:
        if vid in after:
            assert after[vid][0] != sick, vid
        else:
            assert unassigned[vid]["reason"] in routing.model.REASONS
            assert unassigned[vid]["detail"] and unassigned[vid]["patient_id"]
    for cid, start, _ in after.values():
        if cid == sick:
            assert start < now
    remaining_day_checks(app, planned, 2)


def test_a_sick_clinicians_pins_and_preferences_do_not_break_the_replan(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings,
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """Visits preferring or pinned to a clinician who called in sick: re-planned or unassigned
    (pinned_clinician_unavailable), never a failed job."""
    late = [[14 * H, 16 * H]]
    seed_day(client, keys, columbus, extra_visits=[
        {"id": "v-pref", "patient_id": "p-pref", "location": node_near(columbus, -1.0, 0.8),
         "duration": 1800, "time_windows": late, "required_skills": ["RN"], "acuity": 3,
         "preferred_clinicians": ["rn-ben", "rn-ana"]},
        {"id": "v-pin", "patient_id": "p-pin", "location": node_near(columbus, -0.6, 1.2),
         "duration": 1800, "time_windows": late, "required_skills": ["RN"], "acuity": 2,
         "pinned_clinician": "rn-ben"}])
    plan_id = plan_version_one(app, columbus)
    assert stops(doc(app, plan_id, 1))["v-pin"][0] == "rn-ben"
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], plan_id, [
        {"type": "clinician_unavailable", "clinician_id": "rn-ben", "from": 10 * H}],
        now=10 * H))
    v2 = doc(app, plan_id, 2)
    unassigned = {u["visit_id"]: u for u in v2["unassigned"]}
    assert unassigned["v-pin"]["reason"] == "pinned_clinician_unavailable"
    assert unassigned["v-pin"]["patient_id"] == "p-pin"
    assert stops(v2).get("v-pref", ("rn-ana",))[0] != "rn-ben"
    row = stored_version(app, plan_id, 2)
    assert "v-pin" not in {v["id"] for v in row.problem["visits"]}
    assert next(v for v in row.problem["visits"] if v["id"] == "v-pref")[
        "preferred_clinicians"] == ["rn-ana"]
    # a delay that ends rn-ana's day: the re-plan leaves her out too, and still succeeds
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], plan_id, [
        {"type": "clinician_delayed", "clinician_id": "rn-ana", "minutes": 600}],
        now=10 * H + 600, version=2))
    v3 = doc(app, plan_id, 3)
    assert all(start < 10 * H + 600 for cid, start, _ in stops(v3).values() if cid != "pt-gus")


def test_urgent_visit_added_at_eleven_is_served_today(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings, planned: str,
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """An acuity-5 visit added at 11:00 is served today, starting after 11:00; it is requested."""
    urgent = {"id": "v-urgent", "patient_id": "p-urgent", "location": node_near(columbus, 0.3, 0.4),
              "duration": 1800, "time_windows": [[11 * H, 16 * H]], "required_skills": ["RN"],
              "acuity": 5}
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], planned, [
        {"type": "visit_added", "visit": urgent}], now=11 * H))
    v2 = doc(app, planned, 2)
    cid, start, _ = stops(v2)["v-urgent"]
    assert start >= 11 * H and cid.startswith("rn-")
    stop = next(s for r in v2["routes"] for s in r["stops"] if s["visit_id"] == "v-urgent")
    assert stop["patient_id"] == "p-urgent" and stop["polyline"]
    row = stored_version(app, planned, 2)
    assert "v-urgent" in {v["id"] for v in row.problem["visits"]}
    assert len(row.problem["locations"]) == len(row.location_ids)
    with db.transaction(app.state.engine) as session:
        visit = session.get(VisitRow, "v-urgent")
        assert visit is not None and visit.status == "requested"
    remaining_day_checks(app, planned, 2)


def test_cancelling_a_visit_leaves_other_routes_and_their_etags_alone(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings, planned: str,
) -> None:
    """A cancelled visit leaves the plan; other clinicians' routes and route ETags stay."""
    v1 = doc(app, planned, 1)
    now = 9 * H
    victim_cid, victim = next((r["clinician_id"], s["visit_id"]) for r in v1["routes"]
                              for s in r["stops"] if s["start"] >= now)
    h = auth(keys["dispatcher"])
    tags = {cid: client.get(f"/v1/clinicians/{cid}/route", headers=h,
                            params={"date": DATE}).headers["ETag"] for cid in orders(v1)}
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], planned, [
        {"type": "visit_cancelled", "visit_id": victim}], now=now))
    v2 = doc(app, planned, 2)
    assert victim not in stops(v2) and victim not in {u["visit_id"] for u in v2["unassigned"]}
    before, after = orders(v1), orders(v2)
    for cid, order in before.items():
        r = client.get(f"/v1/clinicians/{cid}/route", headers={**h, "If-None-Match": tags[cid]},
                       params={"date": DATE})
        if cid != victim_cid:
            assert after.get(cid) == order, cid
            assert r.status_code == 304 and r.headers["ETag"] == tags[cid], cid
        else:
            assert r.status_code == 200 and r.headers["ETag"] != tags[cid]
            assert r.json()["version"] == 2
    with db.transaction(app.state.engine) as session:
        row = session.get(VisitRow, victim)
        assert row is not None and row.status == "cancelled"


def test_a_position_moves_the_route_start(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings, planned: str,
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """A reported position is where the clinician's remaining route starts (leg and time)."""
    v1 = doc(app, planned, 1)
    now = 8 * H  # shifts start now; every first stop a little later
    cid = "rn-ben"
    assert all(r["stops"][0]["start"] > now for r in v1["routes"])
    where = node_near(columbus, -2.5, 2.5)
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], planned, [
        {"type": "clinician_position", "clinician_id": cid, **where, "at": now - 60}],
        now=now))
    row = stored_version(app, planned, 2)
    moved = next(r for r in row.solution["routes"] if r["clinician_id"] == cid)
    assert moved["start_location"] == where
    assert moved["start_time"] >= now
    at = row.problem["locations"].index(where)
    assert row.location_ids[at] == f"{cid}:position@{now - 60}"
    first = moved["stops"][0]
    visit = next(v for v in row.problem["visits"] if v["id"] == first["visit_id"])
    assert first["travel_time"] == row.problem["matrix"]["durations"][at][visit["location"]]
    import polyline

    path = polyline.decode(first["polyline"], 5)
    assert abs(path[0][0] - where["lat"]) < 5e-4 and abs(path[0][1] - where["lon"]) < 5e-4
    # the clinician's own route reflects it
    r = client.get(f"/v1/clinicians/{cid}/route", headers=auth(keys["dispatcher"]),
                   params={"date": DATE})
    assert r.json()["start_location"] == where and r.json()["version"] == 2


def test_a_cancelled_replan_releases_the_version_and_its_events_still_count(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings, planned: str,
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """Cancel a queued re-plan: version 1 takes events again; the next re-plan applies both
    posts (every event stored so far)."""
    v1 = doc(app, planned, 1)
    now = 9 * H
    victim = next(s["visit_id"] for r in v1["routes"] for s in r["stops"] if s["start"] >= now)
    h = auth(keys["dispatcher"])
    r = post(client, keys["dispatcher"], planned,
             [{"type": "visit_cancelled", "visit_id": victim}], now=now)
    assert r.status_code == 202
    assert client.post(f"/v1/jobs/{r.json()['job_id']}:cancel", headers=h).json()[
        "state"] == "cancelled"
    assert plan_row(app, planned).status == "ready"
    extra = {"id": "v-late", "patient_id": "p-late", "location": node_near(columbus, 0.5, -0.5),
             "duration": 1200, "required_skills": ["RN"], "acuity": 3}
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], planned, [
        {"type": "visit_added", "visit": extra}], now=now + 600))
    v2 = doc(app, planned, 2)
    placed = set(stops(v2)) | {u["visit_id"] for u in v2["unassigned"]}
    assert victim not in placed and "v-late" in placed
    assert [e.seq for e in event_rows(app, planned)] == [1, 2]


def test_now_defaults_to_the_clock_and_cannot_go_back(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings, planned: str,
) -> None:
    """Without `now` the server's clock is used (clamped to the day); `now` never goes back."""
    import datetime as dt

    from app.events.service import default_now

    today = dt.date.today()
    assert default_now(settings, today + dt.timedelta(days=1)) == 0
    assert default_now(settings, today - dt.timedelta(days=3)) == 172_800
    assert 0 <= default_now(settings, today) <= 86_400 + 3600
    r = post(client, keys["dispatcher"], planned,
             [{"type": "clinician_delayed", "clinician_id": "rn-ben", "minutes": 10}], now=None)
    assert r.status_code == 202, r.text
    assert r.json()["now"] == default_now(settings, dt.date.fromisoformat(DATE))
    # version 2 re-planned from 11:00: a post dated 10:00 against it is refused
    with db.transaction(app.state.engine) as session:
        v1 = session.get(PlanVersionRow, (planned, 1))
        assert v1 is not None
        session.add(PlanVersionRow(plan_id=planned, version=2, problem=v1.problem,
                                   solution={**v1.solution, "replan": {"now": 11 * H}},
                                   location_ids=v1.location_ids))
        plan = session.get(PlanRow, planned)
        assert plan is not None
        plan.version, plan.status = 2, "ready"
    r = post(client, keys["dispatcher"], planned,
             [{"type": "clinician_delayed", "clinician_id": "rn-ben", "minutes": 10}],
             now=10 * H, version=2)
    assert r.status_code == 422 and r.json()["field"] == "now"


# -- disruption weights ----------------------------------------------------------------------


def test_bad_disruption_weights_are_422_naming_the_field_nothing_stored(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,
) -> None:
    """Unknown, negative, too large or non-integer weights: 422 naming the field and the
    value (a clinician key's: 403); the plan stays at version 1, ready, no event, no job."""
    event = [{"type": "clinician_delayed", "clinician_id": "rn-ben", "minutes": 20}]
    cases: list[tuple[Any, str, Any]] = [
        ({"move_penalty": 10, "moves": 3}, "disruption.moves", 3),
        ({"move_penalty": -1}, "disruption.move_penalty", -1),
        ({"shift_tolerance_s": -900}, "disruption.shift_tolerance_s", -900),
        ({"shift_penalty_per_s": 1.5}, "disruption.shift_penalty_per_s", 1.5),
        ({"move_penalty": "1800"}, "disruption.move_penalty", "1800"),
        ({"move_penalty": True}, "disruption.move_penalty", True),
        ({"move_penalty": MAX_MOVE_PENALTY + 1}, "disruption.move_penalty",
         MAX_MOVE_PENALTY + 1),
        ({"shift_tolerance_s": None}, "disruption.shift_tolerance_s", None),
        (1800, "disruption", 1800),
    ]
    for weights, field, value in cases:
        r = post(client, keys["dispatcher"], planned, event, now=10 * H, disruption=weights)
        assert r.status_code == 422, (weights, r.text)
        body = r.json()
        assert body["field"] == field and body.get("value") == value, (weights, body)
        assert field in body["detail"]
    v1 = doc(app, planned, 1)
    mine = orders(v1)["rn-ana"][0]
    r = post(client, keys["clinician"], planned,  # weights are the dispatcher's decision
             [{"type": "visit_started", "visit_id": mine, "at": 9 * H}], now=10 * H,
             disruption={"move_penalty": 0})
    assert r.status_code == 403 and r.json()["field"] == "disruption"
    assert event_rows(app, planned) == []
    assert (plan_row(app, planned).version, plan_row(app, planned).status) == (1, "ready")
    with db.transaction(app.state.engine) as session:
        assert session.scalars(select(JobRow).where(JobRow.kind == "replan")).first() is None


def test_disruption_weights_reach_the_solver(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings, planned: str,
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """rn-ben 3 h late at 08:00: with move_penalty 0 one of his visits goes to a colleague;
    with the largest move_penalty every planned visit stays with its clinician (later)."""
    free = plan_version_one(app, columbus)  # the same version 1, as a second plan
    v1 = doc(app, planned, 1)
    assert orders(v1) == orders(doc(app, free, 1))
    late = [{"type": "clinician_delayed", "clinician_id": "rn-ben", "minutes": 180}]
    r = post(client, keys["dispatcher"], free, late, now=8 * H,
             disruption={"move_penalty": 0})
    assert job_row(app, r.json()["job_id"]).payload["disruption"] == {
        "move_penalty": 0, "shift_tolerance_s": DEFAULT_DISRUPTION.shift_tolerance_s,
        "shift_penalty_per_s": DEFAULT_DISRUPTION.shift_penalty_per_s}
    accepted_and_replanned(app, settings, r)
    sticky = {"move_penalty": MAX_MOVE_PENALTY, "shift_tolerance_s": 1200}
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], planned, late,
                                               now=8 * H, disruption=sticky))

    before = stops(v1)
    moved = {vid for vid, (cid, _, _) in stops(doc(app, free, 2)).items()
             if vid in before and cid != before[vid][0]}
    assert moved & set(orders(v1)["rn-ben"]), "move_penalty 0: a late visit moves"
    kept = doc(app, planned, 2)
    assert {vid: cid for vid, (cid, _, _) in stops(kept).items()} == {
        vid: cid for vid, (cid, _, _) in before.items()}
    assert kept["unassigned"] == []
    assert kept["replan"]["disruption"] == {**sticky, "shift_penalty_per_s": 1}
    # the diff calls patients by the tolerance the re-plan used, unless told otherwise
    h = auth(keys["dispatcher"])
    diff = client.get(f"/v1/plans/{planned}/versions/2/diff", headers=h).json()
    assert diff["tolerance_s"] == 1200
    assert client.get(f"/v1/plans/{planned}/versions/2/diff", headers=h,
                      params={"tolerance_s": 60}).json()["tolerance_s"] == 60
    assert client.get(f"/v1/plans/{free}/versions/2/diff", headers=h).json()[
        "tolerance_s"] == DEFAULT_TOLERANCE_S == DEFAULT_DISRUPTION.shift_tolerance_s


def test_a_replan_without_weights_uses_routings_defaults(
    app: FastAPI, client: Any, keys: dict[str, str], planned: str,
) -> None:
    """No `disruption`: the job's payload has none, and the job runs with routing's defaults."""
    from app.replan_job import disruption_of

    r = post(client, keys["dispatcher"], planned,
             [{"type": "clinician_delayed", "clinician_id": "rn-ben", "minutes": 20}],
             now=10 * H)
    assert r.status_code == 202, r.text
    payload = job_row(app, r.json()["job_id"]).payload
    assert "disruption" not in payload
    assert disruption_of(payload) == DEFAULT_DISRUPTION
    assert disruption_of({"disruption": {"move_penalty": 7}}) == routing.solver.Disruption(
        previous={}, move_penalty=7)


# -- the schema -----------------------------------------------------------------------------


def test_migration_0002_matches_the_model(db_url: str, tmp_path: Any) -> None:
    """plan_events as migrated (SQLite and PostgreSQL) is the model's; 0002 downgrades."""
    assert_migration_matches(db_url, tmp_path, "0002", "0001", "plan_events")
