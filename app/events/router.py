"""The day's endpoints: post events (re-plan), what-if insertions, diff of two versions.

Thin: the rules are in service.py (events, diffs) and whatif.py.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Header, Path, Query, Request, Response

from app.deps import Principal, SessionDep, SettingsDep, require
from app.events import service, whatif
from app.events.schemas import DiffOut, EventsAccepted, EventsIn, InsertionIn, InsertionsOut
from app.graph_source import GraphSource
from app.plans.diff import DEFAULT_TOLERANCE_S

router = APIRouter(tags=["plans"])

PlanId = Annotated[str, Path(min_length=1, max_length=32, description="The plan's id.")]
Poster = Annotated[Principal, Depends(require("dispatcher", "clinician"))]
Dispatcher = Annotated[Principal, Depends(require("scheduler", "dispatcher"))]

#: Longest wait (s) for the road graph before a what-if answers 503.
GRAPH_WAIT_S = 30.0


def _submit(request: Request, job_id: str) -> None:
    runner = getattr(request.app.state, "runner", None)
    if runner is not None:  # the job is committed: a runner polling the queue finds it anyway
        runner.submit(job_id)


@router.post(
    "/v1/plans/{plan_id}/events",
    status_code=202,
    response_model=EventsAccepted,
    responses={
        403: {"description": "A clinician key posting about another clinician, an event "
                             "type other than visit_started, visit_completed, "
                             "clinician_position, or `disruption` weights."},
        404: {"description": "No such plan."},
        409: {"description": "The plan has no version yet."},
        412: {"description": "`If-Match` is not the plan's version, or that version is "
                             "already being re-planned: nothing was stored."},
        422: {"description": "An invalid event (e.g. dated after `now`): nothing was stored."},
        428: {"description": "No `If-Match`."},
    },
)
def post_events(
    plan_id: PlanId, body: EventsIn, session: SessionDep, settings: SettingsDep,
    request: Request, response: Response, background: BackgroundTasks, who: Poster,
    if_match: Annotated[str | None, Header(description='The plan version read, as its '
                                                       'ETag: `"3"`.')] = None,
) -> EventsAccepted:
    """Post the day's events: 202 and the job re-planning the rest of the day from `now`."""
    out = service.post_events(session, plan_id, body, who, if_match, settings)
    response.headers["Location"] = f"/v1/jobs/{out.job_id}"
    background.add_task(_submit, request, out.job_id)
    return out


@router.post(
    "/v1/plans/{plan_id}/insertions",
    response_model=InsertionsOut,
    responses={404: {"description": "No such plan."},
               409: {"description": "The plan has no version yet."}},
)
def post_insertions(
    plan_id: PlanId, body: InsertionIn, session: SessionDep, settings: SettingsDep,
    request: Request, who: Dispatcher,
) -> InsertionsOut:
    """Ask where one more visit would fit today: the best `k` insertions, no re-plan."""
    source: GraphSource = request.app.state.graph
    graph = source.get(timeout=GRAPH_WAIT_S)
    return whatif.insertions(session, plan_id, body, who, settings, graph)


@router.get(
    "/v1/plans/{plan_id}/versions/{number}/diff",
    response_model=DiffOut,
    responses={404: {"description": "No such plan or version."}},
)
def get_diff(
    plan_id: PlanId, session: SessionDep, who: Dispatcher,
    number: Annotated[int, Path(ge=1, description="The version n, compared with n - 1.")],
    tolerance_s: Annotated[int | None, Query(ge=0, le=86_400, description=(
        "A start that moved by at most this many seconds is not a change. Default: the "
        "`shift_tolerance_s` version n was re-planned with (the events' `disruption`), "
        f"else {DEFAULT_TOLERANCE_S}."))] = None,
) -> DiffOut:
    """Read what changed from version n - 1 to n, per clinician, and which patients to call."""
    return service.version_diff(session, plan_id, number, tolerance_s, who)
