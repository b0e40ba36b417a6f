"""Readiness checks and the metrics exposition."""

from __future__ import annotations

from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from app.graph_source import GraphSource
from app.ops.metrics import GRAPH_READY


def check_database(engine: Engine) -> dict[str, Any]:
    """Whether ``SELECT 1`` answers (the message never holds the URL's password)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return {"ok": False, "detail": f"database unreachable ({type(exc).__name__})"}
    return {"ok": True}


def check_graph(graph: GraphSource) -> dict[str, Any]:
    """Whether the road graph is loaded, still loading, or failed."""
    GRAPH_READY.set(1 if graph.ready else 0)
    if graph.ready:
        return {"ok": True}
    if graph.error is not None:
        return {"ok": False, "detail": f"road graph failed to load: {graph.error}"}
    return {"ok": False, "detail": "road graph still loading"}


def readiness(engine: Engine, graph: GraphSource) -> dict[str, dict[str, Any]]:
    """Each check by name: ``{"database": {"ok": ...}, "graph": {"ok": ...}}``."""
    return {"database": check_database(engine), "graph": check_graph(graph)}


def metrics_text() -> tuple[bytes, str]:
    """The default registry in the Prometheus text format, and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
