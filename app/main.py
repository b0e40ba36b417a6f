"""The CareRoute HTTP API: ``create_app()`` builds it (``careroute serve`` runs it).

The app holds its settings, the database engine, the road graph (loaded in a
background thread; ``/readyz`` says when) and, unless told not to, the
embedded job worker that solves plans and the webhook deliverer.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import db
from app.errors import PROBLEM_RESPONSES, install_error_handlers
from app.graph_source import GraphSource
from app.ops.metrics import HTTP_LATENCY, HTTP_REQUESTS
from app.settings import Settings, get_settings

log = logging.getLogger("careroute")

DESCRIPTION = """\
Home-health visit routing and dispatch.

**Flow of a day.** Send clinicians (`PUT /v1/clinicians/{id}`, their shifts
`PUT /v1/clinicians/{id}/shifts/{date}`) and the day's visit requests
(`POST /v1/visits:batch`, idempotent on visit id and `Idempotency-Key`). Ask for a
plan (`POST /v1/plans` → 202 and a job to poll), read it (`GET /v1/plans/{id}`),
let clinicians fetch their route (`GET /v1/clinicians/{id}/route?date=`), and post
the day's events (`POST /v1/plans/{id}/events`) to re-optimise.

**Notifications.** Follow a plan with server-sent events
(`GET /v1/plans/{id}/stream`; reconnect with `Last-Event-ID` to get every change
missed meanwhile), or have `plan.ready`, `plan.version`,
`plan.failed` and `job.state` POSTed to your URL, HMAC-signed
(`POST /v1/webhooks`, admin; the README has the signature scheme).

**Conventions.** Dates are `YYYY-MM-DD` (the agency's local date). Times of day
are integer seconds from local midnight; durations are seconds, distances metres.
Locations are `{"lat": .., "lon": ..}`.

**Auth.** `Authorization: Bearer <api key>`; each key has one role (admin,
scheduler, dispatcher, clinician). No key: 401; wrong role or another clinician's
data: 403. Access to patient-linked records is audit-logged.

**Errors** are RFC 9457 `application/problem+json`: `type`, `title`, `status`,
`detail`, plus `field` and `value` (or `id`) naming what was wrong.

Travel times use map data © OpenStreetMap contributors (ODbL).
"""

OPENAPI_TAGS = [
    {"name": "clinicians", "description": "Clinicians' profiles and shifts."},
    {"name": "visits", "description": "The day's visit requests (patient-linked: audited)."},
    {"name": "plans", "description": "Plans of a day, their versions and events."},
    {"name": "jobs", "description": "Background work (solving plans)."},
    {"name": "routes", "description": "A clinician's route for the mobile app."},
    {"name": "solve", "description": "Stateless solving of a problem.md problem."},
    {"name": "keys", "description": "API keys (admin)."},
    {"name": "audit", "description": "Who read or wrote patient-linked records (admin)."},
    {"name": "webhooks", "description": "Plan and job notifications POSTed to your URLs, "
                                        "HMAC-signed (admin)."},
    {"name": "ops", "description": "Liveness, readiness and metrics."},
]

#: Routers of the service, in OpenAPI order.
ROUTERS = (
    "app.ops.router", "app.auth.router", "app.audit.router", "app.clinicians.router",
    "app.visits.router", "app.plans.router", "app.events.router", "app.stream.router",
    "app.jobs.router", "app.routes.router", "app.solve.router", "app.webhooks.router",
)


class MetricsMiddleware:
    """Counts requests and their latency by method, route template and status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = [500]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None)
            template = template or "<unmatched>"
            method = scope.get("method", "")
            HTTP_REQUESTS.labels(method, template, str(status[0])).inc()
            HTTP_LATENCY.labels(method, template).observe(time.perf_counter() - began)


def _start_worker(app: FastAPI, settings: Settings) -> None:
    from app.jobs.worker import EmbeddedRunner

    runner = EmbeddedRunner(settings)
    runner.start()
    app.state.runner = runner


def _start_deliverer(app: FastAPI, settings: Settings) -> None:
    from app.webhooks.delivery import Deliverer

    deliverer = Deliverer(app.state.engine, poll_s=settings.webhook_poll_s,
                          timeout_s=settings.webhook_timeout_s)
    deliverer.start()
    app.state.deliverer = deliverer


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    db.require_current_schema(app.state.engine)
    if app.state.start_worker:
        _start_worker(app, settings)
    if app.state.start_deliverer and settings.webhook_delivery:
        _start_deliverer(app, settings)
    graph: GraphSource = app.state.graph
    graph.start_loading()
    try:
        yield
    finally:
        for name in ("runner", "deliverer"):
            background = getattr(app.state, name, None)
            if background is not None:
                background.stop()
                setattr(app.state, name, None)


def create_app(settings: Settings | None = None, *, start_worker: bool = True,
               start_deliverer: bool | None = None) -> FastAPI:
    """The API on ``settings`` (default: from ``CAREROUTE_*``); the worker unless told not to.

    The webhook deliverer runs when ``start_deliverer`` (default: as
    ``start_worker``) and ``settings.webhook_delivery`` are both true.
    """
    settings = settings or get_settings()
    app = FastAPI(
        title="CareRoute",
        version="0.1.0",
        summary="Home-health visit routing and dispatch on OpenStreetMap travel times.",
        description=DESCRIPTION,
        openapi_tags=OPENAPI_TAGS,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = db.engine_for(settings.database_url)
    app.state.graph = GraphSource(settings)
    app.state.start_worker = start_worker
    app.state.runner = None
    app.state.start_deliverer = start_worker if start_deliverer is None else start_deliverer
    app.state.deliverer = None
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware)
    for name in ROUTERS:
        module = importlib.import_module(name)
        responses = None if name == "app.ops.router" else PROBLEM_RESPONSES
        app.include_router(module.router, responses=responses)
    return app
