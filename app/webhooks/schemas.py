"""Bodies of the webhook endpoints: a subscription, and its deliveries with their attempts."""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, Field, HttpUrl, field_validator

from app.plans.schemas import UtcDatetime
from app.schemas import RequestModel

#: What a webhook can subscribe to (the server-sent stream's names, plus two).
WebhookEvent = Literal["plan.ready", "plan.version", "plan.failed", "job.state"]
EVENTS: tuple[str, ...] = get_args(WebhookEvent)

DeliveryState = Literal["pending", "delivered", "failed"]


class WebhookIn(RequestModel):
    """A webhook to create: where to POST, which events, and optionally its signing secret."""

    url: HttpUrl = Field(
        max_length=2083, examples=["https://scheduling.example.org/careroute/hooks"],
        description="An `http` or `https` URL; each event is POSTed to it as JSON.")
    events: list[WebhookEvent] = Field(
        min_length=1, max_length=20, examples=[["plan.ready", "plan.version", "plan.failed"]],
        description="`plan.ready` (version 1 stored), `plan.version` (a later version "
                    "stored), `plan.failed` (a solve or re-plan failed), `job.state` (a job "
                    "changed state).")
    secret: Annotated[str, Field(min_length=16, max_length=200, pattern=r"^\S+$")] | None = Field(
        default=None, description="Signs each body (HMAC-SHA256). Leave it out and the server "
                                  "makes one, returned once in the answer.")

    @field_validator("events")
    @classmethod
    def _once_each(cls, events: list[str]) -> list[str]:
        return list(dict.fromkeys(events))


class WebhookOut(BaseModel):
    """A webhook subscription (never its secret)."""

    id: str
    url: str
    events: list[WebhookEvent]
    created_by: str | None = Field(description="The id of the API key that created it.")
    created_at: UtcDatetime


class WebhookCreated(WebhookOut):
    """A new webhook: ``secret`` signs its deliveries and is shown this once."""

    secret: str


class WebhookList(BaseModel):
    webhooks: list[WebhookOut]


class AttemptOut(BaseModel):
    """One attempt to deliver: when, how long, the receiver's status code or the error."""

    attempt: int
    started_at: UtcDatetime
    duration_ms: int
    status_code: int | None = Field(description="The receiver's HTTP status; null if none came.")
    error: str | None = Field(description="Why the attempt failed (a non-2xx status, a timeout, "
                                          "a refused connection); null when delivered.")
    next_retry_at: UtcDatetime | None = Field(
        description="When the next attempt is due; null when delivered or given up.")


class DeliveryOut(BaseModel):
    """One event sent (or being sent) to a webhook, with every attempt so far."""

    id: str = Field(description="The `X-CareRoute-Delivery` header: the same on every attempt.")
    webhook_id: str
    event: WebhookEvent
    state: DeliveryState = Field(description="`pending` (due at `next_attempt_at`), "
                                             "`delivered` (a 2xx came back) or `failed` (gave "
                                             "up after the last attempt).")
    attempts: int
    payload: dict[str, Any] = Field(description="The JSON body POSTed (ids only, no patient).")
    created_at: UtcDatetime
    next_attempt_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    last_status_code: int | None
    last_error: str | None
    log: list[AttemptOut] = Field(description="The attempts, first first.")


class DeliveryList(BaseModel):
    deliveries: list[DeliveryOut]
