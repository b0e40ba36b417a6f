"""Liveness, readiness (database and road graph), Prometheus metrics, start-up checks."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine

from app import db
from app.main import create_app

from .conftest import TestClient, auth

GRAPH_WAIT_S = 300  # the first load of the Columbus extract parses it (then it is cached)


def test_healthz_is_always_200(client):
    """/healthz answers 200 without auth, whatever the graph is doing."""
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


def test_readyz_once_database_and_graph_are_up(app, client):
    """/readyz is 200 when the database answers and the graph is loaded."""
    app.state.graph.get(timeout=GRAPH_WAIT_S)
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    assert r.json()["checks"] == {"database": {"ok": True}, "graph": {"ok": True}}


def test_readyz_503_names_the_missing_database(app, client):
    """/readyz is 503 naming the database when it does not answer."""
    app.state.graph.get(timeout=GRAPH_WAIT_S)
    dead = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none",
                         connect_args={"connect_timeout": 2})
    app.state.engine = dead
    try:
        r = client.get("/readyz")
    finally:
        dead.dispose()
    assert r.status_code == 503
    checks = r.json()["checks"]
    assert checks["graph"] == {"ok": True}
    assert checks["database"]["ok"] is False and "database" in checks["database"]["detail"]
    assert "nobody" not in r.text  # no URL (and so no credentials) in the answer


def test_readyz_503_names_a_graph_that_failed(settings, tmp_path):
    """A missing OSM extract leaves the API up but not ready, and says why."""
    broken = settings.model_copy(update={"osm_source": str(tmp_path / "missing.osm.pbf")})
    app = create_app(broken, start_worker=False)
    with TestClient(app) as client:
        with pytest.raises(ValueError):
            app.state.graph.get(timeout=30)
        r = client.get("/readyz")
        assert r.status_code == 503
        graph = r.json()["checks"]["graph"]
        assert graph["ok"] is False and "missing.osm.pbf" in graph["detail"]
        assert r.json()["checks"]["database"] == {"ok": True}
        assert client.get("/healthz").status_code == 200


def test_unmigrated_database_is_refused_at_start(tmp_path, settings):
    """The app will not start on an un-migrated database, and says to run db upgrade."""
    fresh = settings.model_copy(update={"database_url": f"sqlite:///{tmp_path / 'empty.db'}"})
    app = create_app(fresh, start_worker=False)
    with pytest.raises(db.SchemaNotCurrent, match="careroute db upgrade"):
        with TestClient(app):
            pass
    db.engine_for(fresh.database_url).dispose()


def test_metrics_by_route_template_not_raw_path(client, keys):
    """/metrics counts requests by route template and status; ids never become labels."""
    h = auth(keys["scheduler"])
    client.put("/v1/clinicians/rn-metrics-77", json={"home": {"lat": 40, "lon": -83}}, headers=h)
    client.get("/v1/clinicians/rn-metrics-404", headers=h)
    client.get("/v1/no-such-thing/123")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert ('careroute_http_requests_total{method="PUT",route="/v1/clinicians/{clinician_id}",'
            'status="201"}') in text
    assert 'route="/v1/clinicians/{clinician_id}",status="404"' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "careroute_http_request_duration_seconds_bucket" in text
    assert "rn-metrics-77" not in text and "/v1/no-such-thing/123" not in text
    assert "careroute_job_duration_seconds" in text
    assert "careroute_solver_gap_to_baseline" in text


def test_metrics_registry_for_other_areas():
    """The job and solver metrics are importable and settable by the worker."""
    from app.ops.metrics import JOB_DURATION, SOLVER_GAP_TO_BASELINE

    JOB_DURATION.labels(kind="plan", state="succeeded").observe(1.5)
    SOLVER_GAP_TO_BASELINE.labels(kind="plan").set(0.12)


def test_openapi_documents_every_route_of_part_a(app):
    """Each route has a one-line imperative description and an auth error documented."""
    spec = app.openapi()
    assert spec["info"]["title"] == "CareRoute" and "problem+json" in spec["info"]["description"]
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if not set(op.get("tags", [])) & {"clinicians", "visits", "keys", "audit", "ops"}:
                continue  # part B's areas test their own
            text = op.get("description", "")
            assert text and "\n" not in text.strip(), (method, path)
            if not path.startswith(("/healthz", "/readyz", "/metrics")):
                assert "401" in op["responses"] and "403" in op["responses"], (method, path)

