"""Webhook endpoints, for admins: subscribe, list, delete, read the delivery log (thin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from app.deps import Principal, SessionDep, require
from app.webhooks import service
from app.webhooks.schemas import (
    DeliveryList,
    DeliveryState,
    WebhookCreated,
    WebhookIn,
    WebhookList,
    WebhookOut,
)

router = APIRouter(tags=["webhooks"])

Admin = Annotated[Principal, Depends(require("admin"))]
WebhookId = Annotated[str, Path(min_length=1, max_length=32, description="The webhook's id.")]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such webhook."}}


@router.post("/v1/webhooks", status_code=201, response_model=WebhookCreated)
def create_webhook(body: WebhookIn, session: SessionDep, response: Response,
                   who: Admin) -> WebhookCreated:
    """Subscribe a URL to events; the answer holds the signing secret, never shown again."""
    out = service.create_webhook(session, body, who)
    response.headers["Location"] = f"/v1/webhooks/{out.id}"
    return out


@router.get("/v1/webhooks", response_model=WebhookList)
def list_webhooks(session: SessionDep, _who: Admin) -> WebhookList:
    """List the webhooks (URLs and events; never the secrets)."""
    return WebhookList(webhooks=service.list_webhooks(session))


@router.get("/v1/webhooks/{webhook_id}", response_model=WebhookOut, responses=NOT_FOUND)
def get_webhook(webhook_id: WebhookId, session: SessionDep, _who: Admin) -> WebhookOut:
    """Read a webhook (never its secret)."""
    return service.get_webhook(session, webhook_id)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, responses=NOT_FOUND)
def delete_webhook(webhook_id: WebhookId, session: SessionDep, _who: Admin) -> Response:
    """Delete a webhook with its delivery log; nothing more is sent to it."""
    service.delete_webhook(session, webhook_id)
    return Response(status_code=204)


@router.get("/v1/webhooks/{webhook_id}/deliveries", response_model=DeliveryList,
            responses=NOT_FOUND)
def list_deliveries(
    webhook_id: WebhookId, session: SessionDep, _who: Admin,
    state: Annotated[DeliveryState | None, Query(description="Only deliveries in this "
                                                             "state.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryList:
    """List a webhook's deliveries, newest first, each with its log of attempts."""
    return DeliveryList(deliveries=service.list_deliveries(session, webhook_id, state=state,
                                                           limit=limit))
