"""Visit endpoints: the batch upsert, reads and cancellation (thin: see service.py)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse

from app.deps import Principal, SessionDep, require
from app.schemas import IsoDate
from app.visits import service
from app.visits.schemas import VisitBatchIn, VisitBatchOut, VisitList, VisitOut

router = APIRouter(tags=["visits"])

VisitId = Annotated[str, Path(min_length=1, max_length=100, description="The visit's id.")]
Writer = Annotated[Principal, Depends(require("scheduler"))]
Reader = Annotated[Principal, Depends(require("scheduler", "dispatcher"))]


@router.post(
    "/v1/visits:batch",
    response_model=VisitBatchOut,
    responses={
        409: {"description": "A visit id belongs to another date, or a concurrent change."},
        422: {"description": "Invalid batch (nothing stored), or a reused Idempotency-Key."},
    },
)
def post_visits_batch(
    body: VisitBatchIn,
    session: SessionDep,
    who: Writer,
    idempotency_key: Annotated[str | None, Header(
        min_length=1, max_length=200,
        description="Retry-safe key: the same key and body replays the first answer.",
    )] = None,
) -> JSONResponse:
    """Upsert the visit requests (and links) of a date, all or nothing."""
    status, answer, replayed = service.upsert_batch(session, who, body, idempotency_key)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(answer, status_code=status, headers=headers)


@router.get("/v1/visits", response_model=VisitList)
def list_visits(
    date: Annotated[IsoDate, Query(description="The visits' date, YYYY-MM-DD.")],
    session: SessionDep,
    who: Reader,
    status: Annotated[Literal["requested", "cancelled"] | None, Query()] = None,
) -> VisitList:
    """List the visit requests of a date (and the links between them)."""
    visits, links = service.list_visits(session, who, date, status)
    return VisitList(date=date, visits=visits, links=links)


@router.get("/v1/visits/{visit_id}", response_model=VisitOut)
def get_visit(visit_id: VisitId, session: SessionDep, who: Reader) -> VisitOut:
    """Read one visit request."""
    return service.get_visit(session, who, visit_id)


@router.delete(
    "/v1/visits/{visit_id}",
    response_model=VisitOut,
    responses={409: {"description": "The date is planned: post a visit_cancelled event."}},
)
def cancel_visit(visit_id: VisitId, session: SessionDep, who: Writer) -> VisitOut:
    """Cancel a visit request before its date is planned."""
    return service.cancel_visit(session, who, visit_id)
