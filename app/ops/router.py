"""Liveness, readiness and Prometheus metrics (no auth: for the orchestrator and scraper)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from app.ops import service

router = APIRouter(tags=["ops"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """Report that the process is alive (always 200)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "Not ready: the body says which part is missing."}},
)
def readyz(request: Request) -> JSONResponse:
    """Report whether the database answers and the road graph is loaded (200), else 503."""
    checks = service.readiness(request.app.state.engine, request.app.state.graph)
    ready = all(c["ok"] for c in checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response)
def metrics() -> Response:
    """Export the Prometheus metrics in the text exposition format."""
    body, content_type = service.metrics_text()
    return Response(body, media_type=content_type)
