"""The plan notification stream (thin: the stream itself is in service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import StreamingResponse

from app.deps import Principal, SessionDep, require
from app.stream import service

router = APIRouter(tags=["plans"])

PlanId = Annotated[str, Path(min_length=1, max_length=32, description="The plan's id.")]
Reader = Annotated[Principal, Depends(require("scheduler", "dispatcher"))]


@router.get(
    "/v1/plans/{plan_id}/stream",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}},
                     "description": "Server-sent events: `plan.version`, `job.state`; each "
                                    "logged change has an `id` to resume after."},
               404: {"description": "No such plan."},
               422: {"description": "`Last-Event-ID` is not an event id of this plan's "
                                    "stream (or a query parameter is out of range)."}},
)
def stream_plan(
    plan_id: PlanId, request: Request, session: SessionDep, _who: Reader,
    timeout_s: Annotated[float, Query(gt=0, le=3600, description=(
        "End the stream after this many seconds (the client reconnects)."))] = 300,
    until_version: Annotated[int | None, Query(ge=1, description=(
        "End the stream once the plan has reached this version."))] = None,
    last_event_id: Annotated[str | None, Header(description=(
        "Resume: send every change after this event id (EventSource sends it when it "
        "reconnects), instead of the plan as it is first."))] = None,
) -> StreamingResponse:
    """Follow a plan: server-sent events on each new version and job state change."""
    after = service.resume_from(session, plan_id, last_event_id)
    body = service.events(request.app.state.engine, plan_id, timeout_s=timeout_s,
                          until_version=until_version, last_event_id=after,
                          disconnected=request.is_disconnected)
    return StreamingResponse(body, media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
