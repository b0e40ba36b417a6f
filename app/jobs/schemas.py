"""Bodies of the job endpoints: `{"id", "state", "progress", "error", "plan_id"}` and more."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from app.plans.schemas import UtcDatetime

JobState = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobOut(BaseModel):
    """A background job: solving a plan."""

    id: str
    state: JobState
    progress: float = Field(description="0..1: elapsed share of the search, 1 when done.")
    error: str | None = Field(description="Why the job failed or was cancelled; else null.")
    plan_id: str | None
    kind: str = Field(description="What the job does: `plan` (solve a new plan).")
    attempts: int = Field(description="Times a worker started it (a restart re-runs it).")
    cancel_requested: bool = Field(
        description="A cancel arrived while it was running: it ends `cancelled` without "
                    "storing its result (unless it had already finished).")
    violations: list[dict[str, Any]] | None = Field(
        default=None, description="The independent checker's findings when it failed on them.")
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
