"""Plans: accept a request (plan row + queued job), read plans and their versions."""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from sqlalchemy.orm import Session

from app.audit.service import record
from app.deps import Principal
from app.errors import ApiError
from app.jobs import repository as jobs_repository
from app.jobs import service as jobs
from app.models import PlanRow, PlanVersionRow
from app.plans import repository
from app.plans.schemas import PlanAccepted, PlanIn, PlanOut, PlanSummary
from app.settings import Settings


def new_id() -> str:
    return "plan_" + secrets.token_hex(8)


def not_found(plan_id: str) -> ApiError:
    return ApiError(404, "Plan not found", f"no plan {plan_id!r}", plan_id=plan_id)


def create_plan(session: Session, body: PlanIn, who: Principal,
                settings: Settings) -> PlanAccepted:
    """Store a plan (status solving) and the queued job that will solve it.

    422 when the date has nothing to plan (no shift, or no requested visit)
    or the time limit is above the server's maximum.
    """
    if body.time_limit is not None and body.time_limit > settings.max_time_limit:
        raise ApiError(422, "Invalid request",
                       f"time_limit: at most {settings.max_time_limit:g} s, got "
                       f"{body.time_limit:g}", field="time_limit", value=body.time_limit)
    day = body.date.isoformat()
    if repository.count_shifts(session, body.date) == 0:
        raise ApiError(422, "Nothing to plan",
                       f"date {day}: no clinician has a shift that day "
                       f"(PUT /v1/clinicians/{{id}}/shifts/{day})", field="date", value=day)
    if repository.count_requested_visits(session, body.date) == 0:
        raise ApiError(422, "Nothing to plan",
                       f"date {day}: no visit is requested that day (POST /v1/visits:batch)",
                       field="date", value=day)
    plan = PlanRow(id=new_id(), date=body.date, status="solving", version=0)
    repository.add(session, plan)
    payload: dict[str, Any] = {"requested_by": who.key_id}
    if body.time_limit is not None:
        payload["time_limit"] = body.time_limit
    job = jobs.create_plan_job(session, plan.id, payload)
    record(session, who, "plan.create", "plan", [plan.id])
    return PlanAccepted(plan_id=plan.id, job_id=job.id)


def _latest_job_id(session: Session, plan_id: str) -> str | None:
    rows = jobs_repository.for_plan(session, plan_id)
    return rows[0].id if rows else None


def plan_out(plan: PlanRow, version: PlanVersionRow | None, job_id: str | None) -> PlanOut:
    doc: dict[str, Any] = version.solution if version is not None else {}
    return PlanOut(
        id=plan.id, date=plan.date, version=plan.version, status=plan.status,  # type: ignore[arg-type]
        routes=doc.get("routes", []), unassigned=doc.get("unassigned", []),
        kpis=doc.get("kpis", {}), warnings=doc.get("warnings", []), job_id=job_id,
        attribution=doc.get("attribution"), created_at=plan.created_at,
        updated_at=plan.updated_at,
    )


def get_plan(session: Session, plan_id: str, who: Principal) -> PlanOut:
    """The plan at its newest version (audited: it names visits and patients)."""
    plan = repository.get(session, plan_id)
    if plan is None:
        raise not_found(plan_id)
    version = repository.version(session, plan.id, plan.version) if plan.version else None
    out = plan_out(plan, version, _latest_job_id(session, plan.id))
    visit_ids = [s.visit_id for r in out.routes for s in r.stops]
    visit_ids += [u.visit_id for u in out.unassigned]
    record(session, who, "plan.read", "plan", [plan.id, *visit_ids])
    return out


def list_plans(session: Session, date: dt.date | None, limit: int) -> list[PlanSummary]:
    """Plans of a date (or all), newest first; summaries name no patient."""
    out = []
    for plan in repository.of_date(session, date, limit=limit):
        version = repository.version(session, plan.id, plan.version) if plan.version else None
        doc = version.solution if version is not None else {}
        out.append(PlanSummary(
            id=plan.id, date=plan.date, version=plan.version, status=plan.status,  # type: ignore[arg-type]
            job_id=_latest_job_id(session, plan.id),
            visits_assigned=doc.get("kpis", {}).get("visits_assigned") if doc else None,
            visits_unassigned=len(doc.get("unassigned", [])) if doc else None,
            created_at=plan.created_at,
        ))
    return out


def etag(version: int) -> str:
    """The plan's strong ETag: its version, quoted."""
    return f'"{version}"'
