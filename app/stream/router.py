"""The plan notification stream (thin: the stream itself is in service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import StreamingResponse

from app.deps import Principal, SessionDep, require
from app.errors import ApiError
from app.events import repository
from app.stream import service

router = APIRouter(tags=["plans"])

PlanId = Annotated[str, Path(min_length=1, max_length=32, description="The plan's id.")]
Reader = Annotated[Principal, Depends(require("scheduler", "dispatcher"))]


@router.get(
    "/v1/plans/{plan_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "Server-sent events: `plan.version`, `job.state`."},
               404: {"description": "No such plan."}},
)
def stream_plan(
    plan_id: PlanId, request: Request, session: SessionDep, _who: Reader,
    timeout_s: Annotated[float, Query(gt=0, le=3600, description=(
        "End the stream after this many seconds (the client reconnects)."))] = 300,
    until_version: Annotated[int | None, Query(ge=1, description=(
        "End the stream once the plan has reached this version."))] = None,
) -> StreamingResponse:
    """Follow a plan: server-sent events on each new version and job state change."""
    if repository.plan(session, plan_id) is None:
        raise ApiError(404, "Plan not found", f"no plan {plan_id!r}", plan_id=plan_id)
    body = service.events(request.app.state.engine, plan_id, timeout_s=timeout_s,
                          until_version=until_version, disconnected=request.is_disconnected)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
