"""Problem details (RFC 9457): one mapping table, the field and value named, never a 500."""

from __future__ import annotations

import pydantic
import pytest
from fastapi import FastAPI, HTTPException
from sqlalchemy.exc import IntegrityError, OperationalError

import geo
from app.errors import PROBLEM_JSON, PROBLEMS, ApiError, field_path, install_error_handlers
from app.graph_source import GraphNotReady
from routing import problem_from_dict
from routing.exceptions import InvalidProblem

from .conftest import TestClient, auth


class _Body(pydantic.BaseModel):
    n: int


def _raising_app(exc: BaseException) -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    def boom() -> None:
        raise exc

    @app.get("/query")
    def query(n: int) -> dict:
        return {"n": n}

    @app.get("/model")
    def model() -> None:
        _Body.model_validate({"n": "x"})

    return TestClient(app, raise_server_exceptions=False)


def _problem(client: TestClient, path: str = "/boom") -> tuple[int, dict, dict]:
    r = client.get(path)
    assert r.headers["content-type"] == PROBLEM_JSON
    body = r.json()
    assert body["status"] == r.status_code
    assert {"type", "title", "status", "detail"} <= set(body)
    return r.status_code, body, dict(r.headers)


def test_api_error_carries_fields_and_headers():
    """ApiError becomes its status, title, detail, extra fields and headers."""
    exc = ApiError(409, "Conflict", "plan p-1 changed", type_="https://careroute.dev/conflict",
                   headers={"ETag": '"3"'}, plan_id="p-1")
    status, body, headers = _problem(_raising_app(exc))
    assert status == 409
    assert body == {"type": "https://careroute.dev/conflict", "title": "Conflict",
                    "status": 409, "detail": "plan p-1 changed", "plan_id": "p-1"}
    assert headers["etag"] == '"3"'


def test_invalid_problem_names_field_and_id():
    """routing.InvalidProblem is a 422 with `field` and `id`."""
    exc = InvalidProblem("visits[2].acuity", "must be within 1..5, got 9", obj_id="v-7")
    status, body, _ = _problem(_raising_app(exc))
    assert status == 422
    assert (body["field"], body["id"]) == ("visits[2].acuity", "v-7")
    assert "got 9" in body["detail"]


def test_real_routing_error_is_422():
    """An InvalidProblem raised by routing's own reader maps the same way."""
    try:
        problem_from_dict({"locations": [], "clinicians": [], "visits": [], "colour": 1})
    except InvalidProblem as exc:
        status, body, _ = _problem(_raising_app(exc))
    assert status == 422 and body["field"] == "colour"


@pytest.mark.parametrize(("exc", "status", "fields"), [
    (geo.SnapTooFar("v-9", 1234.5, 500), 422,
     {"id": "v-9", "distance_m": 1234.5, "max_snap_m": 500.0}),
    (geo.BadLocation("v-3", "lat is not finite"), 422, {"id": "v-3"}),
    (geo.UnreachableLocation("v-1", "v-2"), 422, {"from_id": "v-1", "to_id": "v-2"}),
    (geo.BadOsmFile("/data/x.osm", "truncated"), 503, {}),
    (GraphNotReady("still loading"), 503, {}),
    (OperationalError("SELECT 1", {}, Exception("password=hunter2")), 503, {}),
    (IntegrityError("INSERT INTO visits", {"patient_id": "p-hunter2"}, Exception("dup")),
     409, {}),
])
def test_geo_and_backing_service_errors(exc, status, fields):
    """Geo errors about a location are 422 naming it; an unavailable graph or DB is 503."""
    got, body, headers = _problem(_raising_app(exc))
    assert got == status
    assert {k: body.get(k) for k in fields} == fields
    assert "hunter2" not in body["detail"] and "/data/x.osm" not in body["detail"]
    if status == 503:
        assert headers["retry-after"] == "5"


def test_request_validation_names_field_and_value():
    """FastAPI's validation error is a 422 naming the parameter and its value."""
    status, body, _ = _problem(_raising_app(ValueError()), "/query?n=abc")
    assert status == 422 and body["field"] == "n" and body["value"] == "abc"
    assert "abc" in body["detail"] and body["errors"][0]["field"] == "n"


def test_missing_parameter_is_named():
    """A missing required parameter is named, with no value."""
    status, body, _ = _problem(_raising_app(ValueError()), "/query")
    assert status == 422 and body["field"] == "n" and "value" not in body


def test_pydantic_error_inside_a_handler_is_422():
    """A pydantic ValidationError raised by service code is a 422 too."""
    status, body, _ = _problem(_raising_app(ValueError()), "/model")
    assert status == 422 and body["field"] == "n" and body["value"] == "x"


def test_http_exceptions_become_problems():
    """404/405 and HTTPException answer problem+json with their own status."""
    client = _raising_app(HTTPException(418, "short and stout"))
    status, body, _ = _problem(client)
    assert (status, body["detail"]) == (418, "short and stout")
    status, body, _ = _problem(client, "/nowhere")
    assert status == 404 and "/nowhere" in body["detail"]
    r = client.post("/boom")
    assert r.status_code == 405 and r.headers["content-type"] == PROBLEM_JSON
    assert "GET" in r.headers["allow"]


def test_unexpected_error_is_a_500_problem_without_internals():
    """A bug is a 500 problem+json that does not leak the exception text."""
    status, body, _ = _problem(_raising_app(RuntimeError("secret internals")))
    assert status == 500 and "secret internals" not in body["detail"]


def test_mapping_table_is_the_single_source():
    """Every mapped status is an error status, and bad-input types never map to 5xx."""
    for exc_type, (status, _title) in PROBLEMS.items():
        assert status == 0 or 400 <= status < 600, exc_type
    for exc_type in (InvalidProblem, geo.BadLocation, geo.SnapTooFar, pydantic.ValidationError):
        assert 400 <= PROBLEMS[exc_type][0] < 500


@pytest.mark.parametrize(("loc", "path"), [
    (("body", "visits", 0, "acuity"), "visits[0].acuity"),
    (("query", "date"), "date"),
    (("body",), "body"),
    (("links", 2, "precedence", "max_gap"), "links[2].precedence.max_gap"),
])
def test_field_path(loc, path):
    """Locations become JSON paths like visits[0].acuity."""
    assert field_path(loc) == path


def test_wrong_content_and_broken_json_are_422_not_500(client, keys):
    """A body that is not JSON, or JSON of the wrong shape, is a 422 naming the body."""
    h = {**auth(keys["scheduler"]), "content-type": "application/json"}
    r = client.post("/v1/visits:batch", content=b'{"date": "2026-11-23", "visits": [', headers=h)
    assert r.status_code == 422 and r.json()["field"] == "body"
    r = client.post("/v1/visits:batch", json=[1, 2, 3], headers=auth(keys["scheduler"]))
    assert r.status_code == 422
    r = client.post("/v1/visits:batch", json={"date": "2026-11-23", "visits": "all"},
                    headers=auth(keys["scheduler"]))
    assert r.status_code == 422 and r.json()["field"] == "visits"
    r = client.put("/v1/clinicians/rn-ana", content=b"\xff\xfe", headers=h)
    assert r.status_code == 422
