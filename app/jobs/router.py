"""Job endpoints: poll a job, cancel it (thin: the rules are in service.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from app.deps import Principal, SessionDep, require
from app.jobs import service
from app.jobs.schemas import JobOut

router = APIRouter(tags=["jobs"])

JobId = Annotated[str, Path(min_length=1, max_length=32, description="The job's id.")]
Reader = Annotated[Principal, Depends(require("scheduler", "dispatcher"))]


@router.get("/v1/jobs/{job_id}", response_model=JobOut)
def get_job(job_id: JobId, session: SessionDep, _who: Reader) -> JobOut:
    """Read a job: its state (queued, running, succeeded, failed, cancelled) and progress."""
    return service.get_job(session, job_id)


@router.post(
    "/v1/jobs/{job_id}:cancel",
    response_model=JobOut,
    responses={202: {"model": JobOut, "description": "Running: it will end cancelled."},
               409: {"description": "The job has already finished."}},
)
def cancel_job(job_id: JobId, session: SessionDep, response: Response, who: Reader) -> JobOut:
    """Cancel a job: a queued one at once (200), a running one when it finishes (202)."""
    out, done = service.cancel_job(session, job_id, who)
    if not done:
        response.status_code = 202
    return out
