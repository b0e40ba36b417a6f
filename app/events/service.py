"""Post events: authorise, take the plan's version (If-Match), validate, store, queue a re-plan.

The order matters and is the contract of ``POST /v1/plans/{id}/events``:

1. a clinician key may post only ``visit_started``, ``visit_completed`` and
   ``clinician_position`` about itself, and no ``disruption`` weights (403
   otherwise; visits are checked against its route once the version is
   known);
2. no ``If-Match``: 428; one naming another version than the plan's: 412;
3. the plan goes ``ready -> solving`` with one conditional UPDATE
   (``WHERE version = :if_match AND status = 'ready'``): of two posts against
   the same version exactly one wins, the other gets 412 (also while the
   winner's re-plan runs: a version is revised once, retry against the next);
4. the events are validated against that version (422 naming the field,
   e.g. an event dated after ``now``), then appended to the plan's event log
   with the queued ``replan`` job, in one transaction: nothing is applied
   before they are stored, and a rejected post stores nothing. The job's
   payload carries the post's ``time_limit`` and ``disruption`` weights, so
   a job run again after a restart re-plans with the same ones.

The job (:mod:`app.replan_job`) applies every event stored for the plan so
far. A ``visit_added`` also upserts the visit request (status requested) and
a ``visit_cancelled`` cancels it, so the date's visits stay in step.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from app.audit.service import record
from app.deps import Principal
from app.errors import ApiError
from app.events import repository
from app.events.schemas import (
    CLINICIAN_EVENT_TYPES,
    ClinicianDelayed,
    ClinicianPosition,
    ClinicianUnavailable,
    DiffOut,
    Event,
    EventsAccepted,
    EventsIn,
    VisitAdded,
    VisitCancelled,
    VisitCompleted,
    VisitStarted,
)
from app.jobs.service import new_id as new_job_id
from app.models import JobRow, PlanEventRow, PlanRow, PlanVersionRow, VisitRow
from app.plans.diff import diff_documents, tolerance_of
from app.settings import Settings
from app.visits.schemas import VisitIn
from app.visits.service import visit_rule_error
from app.webhooks import service as webhooks

#: Latest time of day the API accepts (s): a night shift may end the next day.
LAST_SECOND = 172_800


def default_now(settings: Settings, date: dt.date) -> int:
    """Seconds from ``date``'s local midnight (``settings.timezone``) to the server's clock.

    Clamped to 0 (a plan of a later day: nothing has happened yet) and to
    48 h (a plan of a past day: everything has).
    """
    zone = ZoneInfo(settings.timezone)
    midnight = dt.datetime.combine(date, dt.time(0), tzinfo=zone)
    seconds = int((dt.datetime.now(zone) - midnight).total_seconds())
    return max(0, min(LAST_SECOND, seconds))


def etag(version: int) -> str:
    return f'"{version}"'


def not_found(plan_id: str) -> ApiError:
    return ApiError(404, "Plan not found", f"no plan {plan_id!r}", plan_id=plan_id)


def matched_version(if_match: str, current: int) -> int | None:
    """The version ``If-Match`` names if it is ``current`` (``*`` is), else None.

    Entity tags compare strongly (RFC 9110): a weak tag ``W/"3"`` never matches.
    A bare number (``3``) is read as ``"3"``.
    """
    for tag in (t.strip() for t in if_match.split(",")):
        if tag == "*":
            return current
        if tag.startswith("W/"):
            continue
        value = tag[1:-1] if len(tag) >= 2 and tag[0] == tag[-1] == '"' else tag
        if value.isdigit() and int(value) == current:
            return current
    return None


def _stale(plan: PlanRow, if_match: str, job_id: str | None = None) -> ApiError:
    if plan.status == "solving" and plan.version > 0:
        detail = (f"version {plan.version} of plan {plan.id} is being re-planned "
                  f"(job {job_id}); when the job ends, read the plan and post against "
                  "its new version")
    else:
        detail = (f"If-Match {if_match} does not name the plan's current version "
                  f"{plan.version}; read the plan (GET /v1/plans/{plan.id}), then post "
                  f"with If-Match: {etag(plan.version)}")
    return ApiError(412, "Precondition failed", detail, headers={"ETag": etag(plan.version)},
                    plan_id=plan.id, version=plan.version, job_id=job_id)


def _invalid(field: str, detail: str, value: Any = None, **fields: Any) -> ApiError:
    return ApiError(422, "Invalid event", f"{field}: {detail}", field=field, value=value,
                    **fields)


def _forbidden(detail: str, field: str) -> ApiError:
    return ApiError(403, "Forbidden", detail, field=field)


def _check_clinician_may_post(who: Principal, events: list[Event]) -> None:
    """What a clinician key may post without knowing the plan: its own kinds of event."""
    if who.role != "clinician":
        return
    for i, ev in enumerate(events):
        if ev.type not in CLINICIAN_EVENT_TYPES:
            raise _forbidden(f"events[{i}].type: a clinician key may post only "
                             f"{', '.join(sorted(CLINICIAN_EVENT_TYPES))} events, not "
                             f"{ev.type}", f"events[{i}].type")
        if isinstance(ev, ClinicianPosition) and ev.clinician_id != who.clinician_id:
            raise _forbidden(f"events[{i}].clinician_id: this key belongs to "
                             f"{who.clinician_id}, not to {ev.clinician_id}",
                             f"events[{i}].clinician_id")


def post_events(
    session: Session, plan_id: str, body: EventsIn, who: Principal, if_match: str | None,
    settings: Settings,
) -> EventsAccepted:
    """Store the events and queue the re-plan (module docstring: the order of checks)."""
    plan = repository.plan(session, plan_id)
    if plan is None:
        raise not_found(plan_id)
    _check_clinician_may_post(who, body.events)
    if who.role == "clinician" and body.disruption is not None:
        raise _forbidden("disruption: a clinician key may not set the re-plan's weights "
                         "(a dispatcher's decision)", "disruption")
    if not if_match:
        raise ApiError(428, "Precondition required",
                       f"send If-Match: {etag(plan.version)} with the plan version the events "
                       "were decided on (the plan's ETag)", headers={"ETag": etag(plan.version)},
                       plan_id=plan.id, version=plan.version)
    if body.time_limit is not None and body.time_limit > settings.max_time_limit:
        raise _invalid("time_limit", f"at most {settings.max_time_limit:g} s, got "
                       f"{body.time_limit:g}", body.time_limit)
    if plan.version == 0:
        raise ApiError(409, "Plan not ready",
                       f"plan {plan.id} has no version yet ({plan.status}): events revise a "
                       "solved plan", plan_id=plan.id, plan_status=plan.status)
    expected = matched_version(if_match, plan.version)
    if expected is None or not repository.claim_version(session, plan.id, expected):
        current = repository.fresh_plan(session, plan.id)
        assert current is not None  # plans are never deleted
        job = repository.newest_job(session, plan.id)
        raise _stale(current, if_match, job.id if job is not None else None)

    version = repository.version(session, plan.id, expected)
    assert version is not None  # a plan at version n has its row n
    now = body.now if body.now is not None else default_now(settings, plan.date)
    log = repository.events(session, plan.id)
    touched = _validate(body.events, version, log, now, who)

    first = repository.last_seq(session, plan.id) + 1
    through = first + len(body.events) - 1
    payload: dict[str, Any] = {"requested_by": who.key_id, "now": now, "based_on": expected,
                               "through_seq": through}
    if body.time_limit is not None:
        payload["time_limit"] = body.time_limit
    if body.disruption is not None:  # every weight, so a re-run uses exactly these
        payload["disruption"] = body.disruption.model_dump()
    job = JobRow(id=new_job_id(), kind="replan", plan_id=plan.id, state="queued",
                 progress=0.0, attempts=0, payload=payload)
    rows = [PlanEventRow(plan_id=plan.id, seq=first + k, key_id=who.key_id, role=who.role,
                         now=now, based_on=expected, job_id=job.id, type=ev.type,
                         body=ev.model_dump(mode="json", by_alias=True))
            for k, ev in enumerate(body.events)]
    repository.add_all(session, [job, *rows])
    webhooks.job_state(session, job.id, "queued")
    _update_visit_rows(session, plan, body.events)
    record(session, who, "plan.events", "plan", [plan.id, *touched])
    return EventsAccepted(plan_id=plan.id, job_id=job.id, based_on=expected, now=now,
                          events=len(rows))


def _validate(
    events: list[Event], version: PlanVersionRow, log: list[PlanEventRow], now: int,
    who: Principal,
) -> list[str]:
    """422 (or 403 for a clinician's visit on another route) for events the plan cannot take.

    Returns the visit ids the events name (for the audit log).
    """
    problem, doc = version.problem, version.solution
    previous_now = (doc.get("replan") or {}).get("now")
    if previous_now is not None and now < previous_now:
        raise _invalid("now", f"{now} is before {previous_now}, the moment version "
                       f"{version.version} was re-planned from: events come in time order", now)
    in_problem = {v["id"] for v in problem["visits"]}
    unassigned = {u["visit_id"] for u in doc.get("unassigned", [])}
    route_of = {s["visit_id"]: r["clinician_id"] for r in doc.get("routes", [])
                for s in r["stops"]}
    clinicians = {c["id"] for c in problem["clinicians"]}
    known = in_problem | unassigned
    cancelled: set[str] = set()
    begun: set[str] = set()
    for e in log:  # a re-plan that failed still leaves its events in the log
        if e.type == "visit_added":
            known.add(e.body["visit"]["id"])
            cancelled.discard(e.body["visit"]["id"])
        elif e.type == "visit_cancelled":
            known.discard(e.body["visit_id"])
            cancelled.add(e.body["visit_id"])
        elif e.type in ("visit_started", "visit_completed"):
            begun.add(e.body["visit_id"])
    touched: list[str] = []

    for i, ev in enumerate(events):
        at = f"events[{i}]"
        for name, value in _times(ev):
            if value > now:
                raise _invalid(f"{at}.{name}", f"{value} is after now ({now}): an event "
                               "cannot be dated after the moment the re-plan starts from",
                               value)
        if isinstance(ev, VisitStarted | VisitCompleted):
            vid = ev.visit_id
            if vid not in route_of:
                why = ("is not on any route of version " f"{version.version}" if vid in known
                       else "is not in the plan")
                raise _invalid(f"{at}.visit_id", f"visit {vid!r} {why}", vid, id=vid)
            if who.role == "clinician" and route_of[vid] != who.clinician_id:
                raise _forbidden(f"{at}.visit_id: visit {vid!r} is not on the route of "
                                 f"{who.clinician_id} (this key's clinician)",
                                 f"{at}.visit_id")
            begun.add(vid)
            touched.append(vid)
        elif isinstance(ev, VisitCancelled):
            vid = ev.visit_id
            if vid in begun:
                raise _invalid(f"{at}.visit_id", f"visit {vid!r} has started or been "
                               "completed: it cannot be cancelled", vid, id=vid)
            if vid not in known and vid not in cancelled:
                raise _invalid(f"{at}.visit_id", f"visit {vid!r} is not in the plan", vid,
                               id=vid)
            known.discard(vid)
            cancelled.add(vid)
            touched.append(vid)
        elif isinstance(ev, VisitAdded):
            vid = ev.visit.id
            if vid in known:
                raise _invalid(f"{at}.visit.id", f"visit {vid!r} is already in the plan", vid,
                               id=vid)
            check_visit_rules(f"{at}.visit", ev.visit)
            known.add(vid)
            cancelled.discard(vid)
            touched.append(vid)
        elif isinstance(ev, ClinicianUnavailable | ClinicianDelayed | ClinicianPosition):
            if ev.clinician_id not in clinicians:
                raise _invalid(f"{at}.clinician_id", f"clinician {ev.clinician_id!r} is not "
                               f"in plan version {version.version}", ev.clinician_id,
                               id=ev.clinician_id)
    return touched


def _times(ev: Event) -> list[tuple[str, int]]:
    """The times an event is dated by (none may be after ``now``)."""
    if isinstance(ev, VisitCompleted):
        return [("start", ev.start), ("end", ev.end)]
    if isinstance(ev, VisitStarted | ClinicianPosition):
        return [("at", ev.at)]
    if isinstance(ev, ClinicianUnavailable):
        return [("from", ev.from_)]
    return []


def check_visit_rules(at: str, v: VisitIn) -> None:
    """The routing model's own checks, so the API and the solver agree."""
    broken = visit_rule_error(v)
    if broken is not None:
        raise _invalid(f"{at}.{broken[0]}", broken[1], id=v.id)


def _update_visit_rows(session: Session, plan: PlanRow, events: list[Event]) -> None:
    """Keep the date's visit requests in step: added visits requested, cancelled ones not."""
    ids = [ev.visit.id if isinstance(ev, VisitAdded) else ev.visit_id
           for ev in events if isinstance(ev, VisitAdded | VisitCancelled)]
    if not ids:
        return
    rows = repository.visits(session, ids)
    new = []
    for i, ev in enumerate(events):
        if isinstance(ev, VisitCancelled):
            row = rows.get(ev.visit_id)
            if row is not None:
                row.status = "cancelled"
        elif isinstance(ev, VisitAdded):
            v = ev.visit
            row = rows.get(v.id)
            if row is not None and row.date != plan.date:
                raise ApiError(
                    409, "Visit belongs to another date",
                    f"events[{i}].visit.id: visit {v.id!r} is requested for "
                    f"{row.date.isoformat()}, not {plan.date.isoformat()}; visit ids are "
                    "unique across dates", field=f"events[{i}].visit.id", id=v.id)
            values = _visit_values(plan.date, v)
            if row is None:
                row = VisitRow(id=v.id, **values)
                rows[v.id] = row
                new.append(row)
            else:
                for name, value in values.items():
                    setattr(row, name, value)
    repository.add_all(session, new)


def _visit_values(date: dt.date, v: VisitIn) -> dict[str, Any]:
    return {
        "date": date, "patient_id": v.patient_id, "lat": v.location.lat,
        "lon": v.location.lon, "duration": v.duration,
        "time_windows": [[lo, hi] for lo, hi in v.time_windows],
        "required_skills": list(v.required_skills), "acuity": v.acuity,
        "mandatory": v.mandatory, "workload_points": v.workload_points,
        "preferred_clinicians": list(v.preferred_clinicians),
        "excluded_clinicians": list(v.excluded_clinicians),
        "pinned_clinician": v.pinned_clinician, "status": "requested",
    }


def version_diff(session: Session, plan_id: str, number: int, tolerance_s: int | None,
                 who: Principal) -> DiffOut:
    """What changed from version ``number - 1`` to ``number`` (audited: it names patients).

    ``tolerance_s`` None: the shift tolerance version ``number`` was re-planned
    with (:func:`app.plans.diff.tolerance_of`), so the patients to call are
    those whose start moved more than the re-plan treated as free.
    """
    plan = repository.plan(session, plan_id)
    if plan is None:
        raise not_found(plan_id)
    after = repository.version(session, plan.id, number) if number >= 1 else None
    if after is None:
        raise ApiError(404, "Version not found", f"plan {plan.id} has no version {number} "
                       f"(its versions are 1..{plan.version})", plan_id=plan.id,
                       version=number)
    before = repository.version(session, plan.id, number - 1) if number > 1 else None
    if tolerance_s is None:
        tolerance_s = tolerance_of(after.solution)
    changes = diff_documents(before.solution if before is not None else {}, after.solution,
                             tolerance_s=tolerance_s)
    out = DiffOut(plan_id=plan.id, version=number, against=number - 1, **changes)
    named = {vid for c in out.clinicians for vid in (*c.order_before, *c.order_after)}
    named |= {c.visit_id for c in out.calls} | set(out.cancelled) | set(out.new_visits)
    record(session, who, "plan.diff", "plan", [plan.id, *sorted(named)])
    return out
