"""A clinician's route of a date from the newest ready plan; ETag / If-None-Match.

The route's ETag is a hash of that clinician's route in the plan (and the
plan's id), not of the plan version: a re-plan that leaves a clinician's
route as it was leaves their ETag as it was, so their app's polling stays a
304 while other clinicians' routes change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from typing import Any

from sqlalchemy.orm import Session

from app.audit.service import record
from app.deps import Principal
from app.errors import ApiError
from app.plans import repository as plans
from app.routes.schemas import ClinicianRoute


def may_read(who: Principal, clinician_id: str) -> None:
    """A clinician key reads only its own route: 403 otherwise."""
    if who.role == "clinician" and who.clinician_id != clinician_id:
        raise ApiError(403, "Forbidden",
                       f"a clinician key may read only its own route: this key belongs "
                       f"to {who.clinician_id}, not to {clinician_id}",
                       clinician_id=clinician_id)


def route_etag(plan_id: str, clinician_id: str, route: dict[str, Any] | None) -> str:
    """Strong ETag of a clinician's route: a hash of the plan id and the route's content."""
    content = json.dumps([plan_id, clinician_id, route], sort_keys=True, separators=(",", ":"))
    return f'"{hashlib.sha256(content.encode()).hexdigest()[:32]}"'


#: (plan id, version, clinician id) -> ETag: a stored version never changes.
_etags: dict[tuple[str, int, str], str] = {}
_etags_lock = threading.Lock()
_ETAGS_MAX = 4096


def _route_of(doc: dict[str, Any], clinician_id: str) -> dict[str, Any] | None:
    return next((r for r in doc.get("routes", []) if r["clinician_id"] == clinician_id), None)


def _etag_of(plan_id: str, version: int, clinician_id: str, doc: dict[str, Any]) -> str:
    key = (plan_id, version, clinician_id)
    with _etags_lock:
        tag = _etags.get(key)
    if tag is None:
        tag = route_etag(plan_id, clinician_id, _route_of(doc, clinician_id))
        with _etags_lock:
            if len(_etags) >= _ETAGS_MAX:
                _etags.clear()
            _etags[key] = tag
    return tag


def not_modified(if_none_match: str | None, etag: str) -> bool:
    """True when ``If-None-Match`` (a list of tags, or ``*``) already holds ``etag``."""
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag in tags or f"W/{etag}" in tags


def current_etag(session: Session, clinician_id: str, date: dt.date, who: Principal) -> str:
    """The ETag the route would have (no audit: it reveals no patient data); 404 if no plan."""
    may_read(who, clinician_id)
    plan = plans.newest_with_version(session, date)
    if plan is None:
        raise _no_plan(date)
    with _etags_lock:
        tag = _etags.get((plan.id, plan.version, clinician_id))
    if tag is not None:
        return tag
    version = plans.version(session, plan.id, plan.version)
    if version is None:  # a ready plan always has its version row
        raise _no_plan(date)
    return _etag_of(plan.id, plan.version, clinician_id, version.solution)


def _no_plan(date: dt.date) -> ApiError:
    return ApiError(404, "No plan", f"no ready plan for {date.isoformat()} (POST /v1/plans)",
                    date=date.isoformat())


def get_route(session: Session, clinician_id: str, date: dt.date,
              who: Principal) -> tuple[ClinicianRoute, str]:
    """The clinician's route and its ETag (audited: stops name visits and patients)."""
    may_read(who, clinician_id)
    plan = plans.newest_with_version(session, date)
    if plan is None:
        raise _no_plan(date)
    version = plans.version(session, plan.id, plan.version)
    if version is None:  # a ready plan always has its version row
        raise _no_plan(date)
    doc: dict[str, Any] = version.solution
    in_plan = {c["id"] for c in version.problem.get("clinicians", [])}
    route = _route_of(doc, clinician_id)
    if route is None and clinician_id not in in_plan:
        left_out = next((w for w in doc.get("warnings", [])
                         if w.get("clinician_id") == clinician_id), None)
        detail = (left_out["detail"] if left_out else
                  f"clinician {clinician_id!r} has no shift in plan {plan.id} of "
                  f"{date.isoformat()}")
        raise ApiError(404, "No route", detail, clinician_id=clinician_id,
                       date=date.isoformat(), plan_id=plan.id)
    route = route or {}
    out = ClinicianRoute(
        clinician_id=clinician_id, date=date, plan_id=plan.id, version=plan.version,
        start_time=route.get("start_time"), end_time=route.get("end_time"),
        start_location=route.get("start_location"), end_location=route.get("end_location"),
        stops=route.get("stops", []), breaks=route.get("breaks", []),
        travel_time=route.get("travel_time", 0), distance=route.get("distance"),
        overtime=route.get("overtime", 0), end_leg=route.get("end_leg"),
        attribution=doc.get("attribution"),
    )
    record(session, who, "route.read", "route",
           [plan.id, clinician_id, *(s.visit_id for s in out.stops)])
    return out, _etag_of(plan.id, plan.version, clinician_id, doc)
