"""Plan endpoints: ask for a plan, read one, list a date's (thin: rules in service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Path, Query, Request, Response

from app.deps import Principal, SessionDep, SettingsDep, require
from app.plans import service
from app.plans.schemas import PlanAccepted, PlanIn, PlanList, PlanOut
from app.routes.service import not_modified
from app.schemas import IsoDate

router = APIRouter(tags=["plans"])

PlanId = Annotated[str, Path(min_length=1, max_length=32, description="The plan's id.")]
Planner = Annotated[Principal, Depends(require("scheduler", "dispatcher"))]


def _submit(request: Request, job_id: str) -> None:
    runner = getattr(request.app.state, "runner", None)
    if runner is not None:  # the job is committed: a runner polling the queue finds it anyway
        runner.submit(job_id)


@router.post(
    "/v1/plans",
    status_code=202,
    response_model=PlanAccepted,
    responses={422: {"description": "Nothing to plan that date, or a bad time limit."}},
)
def create_plan(
    body: PlanIn, session: SessionDep, settings: SettingsDep, request: Request,
    response: Response, background: BackgroundTasks, who: Planner,
) -> PlanAccepted:
    """Plan a date: 202 with the plan and the job solving it (poll the job's `Location`)."""
    out = service.create_plan(session, body, who, settings)
    response.headers["Location"] = f"/v1/jobs/{out.job_id}"
    background.add_task(_submit, request, out.job_id)
    return out


@router.get("/v1/plans", response_model=PlanList)
def list_plans(
    session: SessionDep, _who: Planner,
    date: Annotated[IsoDate | None, Query(description="Only plans of this date.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> PlanList:
    """List plans, newest first (of one date with `date=`)."""
    return PlanList(plans=service.list_plans(session, date, limit))


@router.get(
    "/v1/plans/{plan_id}",
    response_model=PlanOut,
    responses={304: {"description": "`If-None-Match` holds the current version."}},
)
def get_plan(
    plan_id: PlanId, session: SessionDep, response: Response, who: Planner,
    if_none_match: Annotated[str | None, Header()] = None,
) -> PlanOut | Response:
    """Read a plan at its newest version; the version is its strong `ETag` ("3")."""
    out = service.get_plan(session, plan_id, who)
    tag = service.etag(out.version)
    if not_modified(if_none_match, tag):
        return Response(status_code=304, headers={"ETag": tag})
    response.headers["ETag"] = tag
    return out
