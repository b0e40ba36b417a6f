"""Visit requests: the all-or-nothing batch upsert, reads and cancellation.

A batch is validated whole before anything is written: field ranges by the
schema, the cross-field rules of :class:`routing.model.Visit` (so the API and
the solver agree), duplicate ids, and links whose visits must be in the batch
or already requested for that date. Then visits and links are upserted by id
(links by their canonical form) and counted as created, updated or unchanged.
Every read or write of visits is audited (they are patient-linked).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.audit import service as audit
from app.deps import Principal
from app.errors import ApiError
from app.models import IdempotencyKey, LinkRow, VisitRow
from app.schemas import Location
from app.visits import repository
from app.visits.schemas import (
    Counts,
    LinkIn,
    PrecedenceLink,
    VisitBatchIn,
    VisitBatchOut,
    VisitIn,
    VisitOut,
)
from routing import model as rm
from routing.exceptions import InvalidProblem

IDEMPOTENCY_SCOPE = "visits:batch"
#: Plans in these states hold a date's visits: cancel through plan events instead.
LOCKING_PLAN_STATES = ("solving", "ready")


# -- validation -------------------------------------------------------------------

def _invalid(
    field: str, detail: str, *, visit_id: str | None = None, value: Any = None
) -> ApiError:
    return ApiError(422, "Invalid visit batch", f"{field}: {detail}", field=field,
                    id=visit_id, value=value)


def visit_rule_error(v: VisitIn) -> tuple[str, str] | None:
    """(field, message) of the routing model's first rule ``v`` breaks, or None.

    The API runs the model's own checks (preferred vs excluded, pinned vs
    excluded, ...) so that the API and the solver agree.
    """
    try:
        rm.Visit(
            id=v.id, location=0, duration=v.duration,
            time_windows=tuple((lo, hi) for lo, hi in v.time_windows),
            required_skills=frozenset(v.required_skills), acuity=v.acuity,
            mandatory=v.mandatory, workload_points=v.workload_points,
            preferred_clinicians=tuple(v.preferred_clinicians),
            excluded_clinicians=tuple(v.excluded_clinicians),
            pinned_clinician=v.pinned_clinician, patient_id=v.patient_id,
        )
    except InvalidProblem as exc:
        return exc.field, str(exc).split(": ", 1)[-1]
    return None


def _check_visit_rules(index: int, v: VisitIn) -> None:
    broken = visit_rule_error(v)
    if broken is not None:
        raise _invalid(f"visits[{index}].{broken[0]}", broken[1], visit_id=v.id)


def _link_visit_ids(link: LinkIn) -> list[str]:
    return [link.first, link.then] if isinstance(link, PrecedenceLink) else list(link.visits)


def _check_link(index: int, link: LinkIn, known: set[str]) -> None:
    ids = _link_visit_ids(link)
    if len(set(ids)) != len(ids):
        raise _invalid(f"links[{index}]", f"needs different visits, got {ids}")
    for k, vid in enumerate(ids):
        if vid not in known:
            where = f"links[{index}].{('first', 'then')[k]}" if isinstance(
                link, PrecedenceLink) else f"links[{index}].visits[{k}]"
            raise _invalid(where, f"unknown visit {vid!r}: it is neither in this batch nor "
                           "requested for this date", visit_id=vid, value=vid)


def link_key(link: LinkIn) -> str:
    """The canonical form of a link: the same link sent twice is stored once."""
    if isinstance(link, PrecedenceLink):
        key = f"precedence:{link.first}>{link.then}"
    else:
        key = "simultaneous:" + ",".join(sorted(link.visits))
    if len(key) > 400:
        key = "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def link_data(link: LinkIn) -> dict[str, Any]:
    """The link as spec/problem.md writes it (no null members; simultaneous visits sorted)."""
    data = {k: v for k, v in link.model_dump(mode="json").items() if v is not None}
    if data["type"] == "simultaneous":
        data["visits"] = sorted(data["visits"])
    return data


# -- the batch ----------------------------------------------------------------------

_FIELDS = ("patient_id", "duration", "required_skills", "acuity", "mandatory",
           "workload_points", "preferred_clinicians", "excluded_clinicians", "pinned_clinician")


def _values(date: dt.date, v: VisitIn) -> dict[str, Any]:
    values: dict[str, Any] = {name: getattr(v, name) for name in _FIELDS}
    values.update(
        date=date, lat=v.location.lat, lon=v.location.lon,
        time_windows=[[lo, hi] for lo, hi in v.time_windows],
        required_skills=list(v.required_skills),
        preferred_clinicians=list(v.preferred_clinicians),
        excluded_clinicians=list(v.excluded_clinicians),
        status="requested",
    )
    return values


def _same(row: VisitRow, values: dict[str, Any]) -> bool:
    for name, value in values.items():
        stored = getattr(row, name)
        if name == "time_windows":
            stored = [list(w) for w in stored]
        if stored != value:
            return False
    return True


def _request_hash(body: VisitBatchIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _storage_key(principal: Principal, key: str) -> str:
    # Keys are per client (API key): two clients may pick the same Idempotency-Key.
    raw = f"{IDEMPOTENCY_SCOPE}\0{principal.key_id}\0{key}"
    return hashlib.sha256(raw.encode()).hexdigest()


def replay(
    session: Session, principal: Principal, body: VisitBatchIn, key: str
) -> tuple[int, dict[str, Any]] | None:
    """The stored answer to an earlier request with this Idempotency-Key, if any.

    The same key with a different body is a 422 (the key was reused by mistake).
    """
    row = repository.idempotency_key(session, _storage_key(principal, key))
    if row is None:
        return None
    if row.scope != IDEMPOTENCY_SCOPE or row.request_hash != _request_hash(body):
        raise ApiError(
            422, "Idempotency-Key reused",
            "this Idempotency-Key was already used with a different request body; "
            "send a new key for a new request", field="Idempotency-Key", value=key)
    return row.status_code, dict(row.response)


def upsert_batch(
    session: Session, principal: Principal, body: VisitBatchIn,
    idempotency_key: str | None = None,
) -> tuple[int, dict[str, Any], bool]:
    """Validate the whole batch, then upsert it: (status, answer, replayed)."""
    if idempotency_key is not None:
        stored = replay(session, principal, body, idempotency_key)
        if stored is not None:
            return stored[0], stored[1], True

    seen: dict[str, int] = {}
    for i, v in enumerate(body.visits):
        if v.id in seen:
            raise _invalid(f"visits[{i}].id", f"duplicate visit id {v.id!r} (also visits"
                           f"[{seen[v.id]}])", visit_id=v.id, value=v.id)
        seen[v.id] = i
        _check_visit_rules(i, v)

    existing = repository.get_many(session, seen)
    for vid, other in existing.items():
        if other.date != body.date:
            i = seen[vid]
            raise ApiError(
                409, "Visit belongs to another date",
                f"visits[{i}].id: visit {vid!r} is requested for {other.date.isoformat()}, "
                f"not {body.date.isoformat()}; visit ids are unique across dates",
                field=f"visits[{i}].id", id=vid, date=other.date.isoformat())

    if body.links:
        known = set(seen) | {r.id for r in repository.of_date(session, body.date, "requested")}
        for i, link in enumerate(body.links):
            _check_link(i, link, known)

    counts = VisitBatchOut()
    for v in body.visits:
        values = _values(body.date, v)
        row = existing.get(v.id)
        if row is None:
            repository.add(session, VisitRow(id=v.id, **values))
            counts.created += 1
        elif _same(row, values):
            counts.unchanged += 1
        else:
            for name, value in values.items():
                setattr(row, name, value)
            counts.updated += 1
    _upsert_links(session, body, counts.links)

    audit.record(session, principal, "visits.batch", "visit", list(seen))
    answer = counts.model_dump(mode="json")
    if idempotency_key is not None:
        repository.add(session, IdempotencyKey(
            key=_storage_key(principal, idempotency_key), scope=IDEMPOTENCY_SCOPE,
            request_hash=_request_hash(body), status_code=200, response=answer))
    try:
        repository.flush(session)
    except IntegrityError:
        raise ApiError(
            409, "Concurrent change",
            "another request changed the same visits (or used the same Idempotency-Key) "
            "at the same time; retry") from None
    return 200, answer, False


def _upsert_links(session: Session, body: VisitBatchIn, counts: Counts) -> None:
    stored = {r.key: r for r in repository.links_of_date(session, body.date)}
    for link in body.links:
        key, data = link_key(link), link_data(link)
        row = stored.get(key)
        if row is None:
            row = LinkRow(date=body.date, key=key, data=data)
            repository.add(session, row)
            stored[key] = row
            counts.created += 1
        elif row.data == data:
            counts.unchanged += 1
        else:
            row.data = data
            counts.updated += 1


# -- reads and cancel -------------------------------------------------------------------

def to_out(row: VisitRow) -> VisitOut:
    return VisitOut(
        id=row.id, date=row.date, status=row.status,  # type: ignore[arg-type]
        patient_id=row.patient_id, location=Location(lat=row.lat, lon=row.lon),
        duration=row.duration, time_windows=[(w[0], w[1]) for w in row.time_windows],
        required_skills=list(row.required_skills), acuity=row.acuity, mandatory=row.mandatory,
        workload_points=row.workload_points,
        preferred_clinicians=list(row.preferred_clinicians),
        excluded_clinicians=list(row.excluded_clinicians),
        pinned_clinician=row.pinned_clinician, created_at=row.created_at,
        updated_at=row.updated_at,
    )


def not_found(visit_id: str) -> ApiError:
    return ApiError(404, "Visit not found", f"no visit {visit_id!r}", id=visit_id)


def list_visits(
    session: Session, principal: Principal, date: dt.date, status: str | None
) -> tuple[list[VisitOut], list[dict[str, Any]]]:
    """The visits of ``date`` (optionally of one status) and its links; audited."""
    rows = repository.of_date(session, date, status)
    audit.record(session, principal, "visits.list", "visit", [r.id for r in rows])
    links = [dict(r.data) for r in repository.links_of_date(session, date)]
    return [to_out(r) for r in rows], links


def get_visit(session: Session, principal: Principal, visit_id: str) -> VisitOut:
    row = repository.get(session, visit_id)
    if row is None:
        raise not_found(visit_id)
    audit.record(session, principal, "visits.read", "visit", [visit_id])
    return to_out(row)


def cancel_visit(session: Session, principal: Principal, visit_id: str) -> VisitOut:
    """Cancel a visit before its date is planned (again: no change); audited.

    Once a plan of the date is solving or ready, cancelling here would leave the
    plan stale: that is a 409 pointing at the plan's events instead.
    """
    row = repository.get(session, visit_id)
    if row is None:
        raise not_found(visit_id)
    if row.status != "cancelled":
        plans = repository.plans_of_date(session, row.date, LOCKING_PLAN_STATES)
        if plans:
            plan = plans[0]
            raise ApiError(
                409, "Date already planned",
                f"visit {visit_id!r} is in plan {plan.id} ({plan.status}) of "
                f"{row.date.isoformat()}; post a visit_cancelled event to "
                f"/v1/plans/{plan.id}/events instead", id=visit_id, plan_id=plan.id)
        row.status = "cancelled"
        repository.flush(session)
    audit.record(session, principal, "visits.cancel", "visit", [visit_id])
    return to_out(row)
