"""Visit requests: the all-or-nothing batch, idempotency, reads, cancel, audit, roles."""

from __future__ import annotations

import logging

import pytest

from app import db
from app.models import AuditLog, PlanRow

from .conftest import auth

DATE = "2026-11-23"


def visit(vid: str, **fields) -> dict:
    base = {"id": vid, "patient_id": f"p-{vid}", "location": {"lat": 39.96, "lon": -83.0},
            "duration": 2700, "time_windows": [[32400, 43200]], "required_skills": ["RN"],
            "acuity": 4, "mandatory": False, "workload_points": 1,
            "preferred_clinicians": ["rn-ana"], "excluded_clinicians": [],
            "pinned_clinician": None}
    return {**base, **fields}


def batch(*visits: dict, links: list | None = None, date: str = DATE) -> dict:
    body: dict = {"date": date, "visits": list(visits)}
    if links is not None:
        body["links"] = links
    return body


@pytest.fixture
def h(keys):
    return auth(keys["scheduler"])


def listed(client, keys, date: str = DATE, **params) -> list[dict]:
    r = client.get("/v1/visits", params={"date": date, **params}, headers=auth(keys["admin"]))
    assert r.status_code == 200, r.text
    return r.json()["visits"]


def test_batch_counts_created_updated_unchanged(client, keys, h):
    """The batch upserts by visit id and counts what it created, changed and left alone."""
    r = client.post("/v1/visits:batch", json=batch(visit("v-1"), visit("v-2")), headers=h)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in ("created", "updated", "unchanged")} == {
        "created": 2, "updated": 0, "unchanged": 0}
    r = client.post("/v1/visits:batch",
                    json=batch(visit("v-1"), visit("v-2", acuity=5), visit("v-3")), headers=h)
    assert {k: r.json()[k] for k in ("created", "updated", "unchanged")} == {
        "created": 1, "updated": 1, "unchanged": 1}
    got = {v["id"]: v for v in listed(client, keys)}
    assert sorted(got) == ["v-1", "v-2", "v-3"]
    assert got["v-2"]["acuity"] == 5
    assert {k: got["v-1"][k] for k in visit("v-1")} == visit("v-1")
    assert got["v-1"]["status"] == "requested" and got["v-1"]["date"] == DATE


def test_minimal_visit_gets_documented_defaults(client, keys, h):
    """Only id, location and duration are required; the rest take problem.md defaults."""
    v = {"id": "v-min", "location": {"lat": 39.96, "lon": -83.0}, "duration": 1800}
    assert client.post("/v1/visits:batch", json=batch(v), headers=h).status_code == 200
    got = listed(client, keys)[0]
    assert (got["acuity"], got["mandatory"], got["workload_points"], got["time_windows"],
            got["patient_id"]) == (1, False, 1, [], None)


def test_idempotency_key_replays_the_first_answer(client, keys, h):
    """The same Idempotency-Key and body replay the stored answer without re-applying it."""
    body = batch(visit("v-1"), visit("v-2"))
    headers = {**h, "Idempotency-Key": "sync-2026-11-23-a"}
    first = client.post("/v1/visits:batch", json=body, headers=headers)
    assert first.status_code == 200 and "idempotent-replayed" not in first.headers
    again = client.post("/v1/visits:batch", json=body, headers=headers)
    assert again.status_code == 200 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    # without the key the same body is processed afresh: nothing changes
    fresh = client.post("/v1/visits:batch", json=body, headers=h).json()
    assert (fresh["created"], fresh["unchanged"]) == (0, 2)


def test_idempotency_key_with_another_body_is_422(client, keys, h):
    """Reusing an Idempotency-Key for a different body is a 422 and changes nothing."""
    headers = {**h, "Idempotency-Key": "k-1"}
    client.post("/v1/visits:batch", json=batch(visit("v-1")), headers=headers)
    r = client.post("/v1/visits:batch", json=batch(visit("v-1", acuity=1)), headers=headers)
    assert r.status_code == 422
    assert r.json()["field"] == "Idempotency-Key" and r.json()["value"] == "k-1"
    assert listed(client, keys)[0]["acuity"] == 4


def test_idempotency_keys_are_per_api_key(client, keys, h):
    """Two clients picking the same Idempotency-Key do not see each other's answers."""
    body = batch(visit("v-1"))
    client.post("/v1/visits:batch", json=body, headers={**h, "Idempotency-Key": "same"})
    other = {**auth(keys["admin"]), "Idempotency-Key": "same"}
    r = client.post("/v1/visits:batch", json=batch(visit("v-9")), headers=other)
    assert r.status_code == 200 and r.json()["created"] == 1


def test_failed_batch_is_not_remembered_by_its_key(client, keys, h):
    """A rejected batch stores no answer: the corrected batch may reuse the key."""
    headers = {**h, "Idempotency-Key": "retry-me"}
    bad = client.post("/v1/visits:batch", json=batch(visit("v-1", acuity=9)), headers=headers)
    assert bad.status_code == 422
    good = client.post("/v1/visits:batch", json=batch(visit("v-1")), headers=headers)
    assert good.status_code == 200 and good.json()["created"] == 1


@pytest.mark.parametrize(("bad", "field", "value"), [
    (visit("v-2", acuity=7), "visits[1].acuity", 7),
    (visit("v-2", acuity=0), "visits[1].acuity", 0),
    (visit("v-2", duration=-5), "visits[1].duration", -5),
    (visit("v-2", time_windows=[[43200, 32400]]), "visits[1].time_windows", None),
    (visit("v-2", time_windows=[[1, 2, 3]]), "visits[1].time_windows[0]", None),
    (visit("v-2", location={"lat": 39.9, "lon": 200}), "visits[1].location.lon", 200),
    (visit("v-2", location={"lat": -90.5, "lon": 0}), "visits[1].location.lat", -90.5),
    (visit("v-2", mandatory="yes"), "visits[1].mandatory", "yes"),
    (visit("v-2", id=""), "visits[1].id", ""),
    (visit("v-2", diagnosis="flu"), "visits[1].diagnosis", "flu"),
    (visit("v-1"), "visits[1].id", "v-1"),
    (visit("v-2", preferred_clinicians=["rn-ana"], excluded_clinicians=["rn-ana"]),
     "visits[1].preferred_clinicians", None),
    (visit("v-2", pinned_clinician="rn-bo", excluded_clinicians=["rn-bo"]),
     "visits[1].pinned_clinician", None),
])
def test_bad_visit_rejects_whole_batch(client, keys, h, bad, field, value):
    """One bad visit: 422 naming its field (and value), and not even the good one is stored."""
    r = client.post("/v1/visits:batch", json=batch(visit("v-1"), bad), headers=h)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["field"] == field, body
    if value is not None:
        assert body["value"] == value
    assert field in body["detail"]
    assert listed(client, keys) == []


def test_routing_rule_errors_name_the_visit(client, h):
    """A rule checked by the routing model names the visit id too."""
    bad = visit("v-2", preferred_clinicians=["rn-ana"], excluded_clinicians=["rn-ana"])
    r = client.post("/v1/visits:batch", json=batch(bad), headers=h)
    assert r.status_code == 422 and r.json()["id"] == "v-2"
    assert "rn-ana" in r.json()["detail"]


@pytest.mark.parametrize("date", ["2026-02-30", "2026-11-23T00:00:00", "", "tomorrow", 20261123])
def test_bad_batch_date_is_named(client, h, date):
    """A batch date that is not an ISO calendar date is a 422 naming `date` and the value."""
    r = client.post("/v1/visits:batch", json=batch(visit("v-1"), date=date), headers=h)
    assert r.status_code == 422
    assert r.json()["field"] == "date" and r.json()["value"] == date


def test_links_are_stored_once_and_listed(client, keys, h):
    """Links are upserted by their canonical form and listed with the date's visits."""
    links = [{"type": "simultaneous", "visits": ["v-1", "v-2"]},
             {"type": "precedence", "first": "v-1", "then": "v-3", "min_gap": 600}]
    r = client.post("/v1/visits:batch", json=batch(visit("v-1"), visit("v-2"), visit("v-3"),
                                                   links=links), headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["links"] == {"created": 2, "updated": 0, "unchanged": 0}
    again = [{"type": "simultaneous", "visits": ["v-2", "v-1"]},
             {"type": "precedence", "first": "v-1", "then": "v-3", "min_gap": 900}]
    r = client.post("/v1/visits:batch", json=batch(links=again), headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["links"] == {"created": 0, "updated": 1, "unchanged": 1}
    got = client.get("/v1/visits", params={"date": DATE}, headers=h).json()["links"]
    assert {"type": "precedence", "first": "v-1", "then": "v-3", "min_gap": 900} in got
    assert len(got) == 2


def test_link_may_reference_visits_stored_for_the_date(client, h):
    """A link may name visits sent in an earlier batch of the same date."""
    client.post("/v1/visits:batch", json=batch(visit("v-1")), headers=h)
    links = [{"type": "simultaneous", "visits": ["v-1", "v-2"]}]
    r = client.post("/v1/visits:batch", json=batch(visit("v-2"), links=links), headers=h)
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(("link", "field"), [
    ({"type": "simultaneous", "visits": ["v-1", "v-404"]}, "links[0].visits[1]"),
    ({"type": "precedence", "first": "v-404", "then": "v-1"}, "links[0].first"),
    ({"type": "simultaneous", "visits": ["v-1", "v-1"]}, "links[0]"),
    ({"type": "simultaneous", "visits": ["v-1"]}, "links[0].simultaneous.visits"),
    ({"type": "precedence", "first": "v-1", "then": "v-2", "min_gap": 600, "max_gap": 60},
     "links[0].precedence.max_gap"),
    ({"type": "sometime", "visits": ["v-1", "v-2"]}, "links[0]"),
])
def test_bad_link_rejects_whole_batch(client, keys, h, link, field):
    """A link to an unknown visit (or otherwise malformed) is a 422; nothing is stored."""
    r = client.post("/v1/visits:batch",
                    json=batch(visit("v-1"), visit("v-2"), links=[link]), headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert listed(client, keys) == []


def test_link_to_visit_of_another_date_is_422(client, h):
    """A link may not reach a visit requested for another date."""
    client.post("/v1/visits:batch", json=batch(visit("v-1"), date="2026-11-22"), headers=h)
    links = [{"type": "simultaneous", "visits": ["v-1", "v-2"]}]
    r = client.post("/v1/visits:batch", json=batch(visit("v-2"), links=links), headers=h)
    assert r.status_code == 422 and r.json()["id"] == "v-1"


def test_visit_id_of_another_date_is_409(client, keys, h):
    """Visit ids are unique across dates: reusing one for another date is a 409."""
    client.post("/v1/visits:batch", json=batch(visit("v-1"), date="2026-11-22"), headers=h)
    r = client.post("/v1/visits:batch", json=batch(visit("v-1")), headers=h)
    assert r.status_code == 409
    assert r.json()["field"] == "visits[0].id" and r.json()["date"] == "2026-11-22"
    assert listed(client, keys) == []


def test_get_one_and_404(client, h):
    """GET /v1/visits/{id} reads a visit; an unknown id is a 404 problem naming it."""
    client.post("/v1/visits:batch", json=batch(visit("v-1")), headers=h)
    r = client.get("/v1/visits/v-1", headers=h)
    assert r.status_code == 200 and r.json()["patient_id"] == "p-v-1"
    r = client.get("/v1/visits/v-404", headers=h)
    assert r.status_code == 404 and r.json()["id"] == "v-404"


@pytest.mark.parametrize("query", ["", "?date=", "?date=2026-13-01", "?date=11/23/2026"])
def test_list_needs_a_valid_date(client, h, query):
    """GET /v1/visits without a valid ISO date is a 422 naming `date`."""
    r = client.get(f"/v1/visits{query}", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "date"


def test_cancel_sets_status_and_is_repeatable(client, keys, h):
    """DELETE cancels (status cancelled, still readable); cancelling again changes nothing."""
    client.post("/v1/visits:batch", json=batch(visit("v-1"), visit("v-2")), headers=h)
    r = client.delete("/v1/visits/v-1", headers=h)
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.delete("/v1/visits/v-1", headers=h).json()["status"] == "cancelled"
    assert [v["id"] for v in listed(client, keys, status="requested")] == ["v-2"]
    assert [v["id"] for v in listed(client, keys, status="cancelled")] == ["v-1"]
    assert client.delete("/v1/visits/v-404", headers=h).status_code == 404


def test_resending_a_cancelled_visit_requests_it_again(client, keys, h):
    """A cancelled visit sent again in a batch is requested again (counted as updated)."""
    client.post("/v1/visits:batch", json=batch(visit("v-1")), headers=h)
    client.delete("/v1/visits/v-1", headers=h)
    r = client.post("/v1/visits:batch", json=batch(visit("v-1")), headers=h)
    assert r.json()["updated"] == 1
    assert listed(client, keys)[0]["status"] == "requested"


def test_cancel_after_planning_is_409(app, client, h):
    """Once the date has a ready plan, cancelling goes through plan events: 409 says where."""
    client.post("/v1/visits:batch", json=batch(visit("v-1")), headers=h)
    import datetime as dt

    with db.transaction(app.state.engine) as session:
        session.add(PlanRow(id="plan-1", date=dt.date(2026, 11, 23), status="ready", version=1))
    r = client.delete("/v1/visits/v-1", headers=h)
    assert r.status_code == 409
    assert r.json()["plan_id"] == "plan-1" and "/v1/plans/plan-1/events" in r.json()["detail"]
    assert client.get("/v1/visits/v-1", headers=h).json()["status"] == "requested"


def test_every_access_is_audited(app, client, keys, h):
    """Batch, list, read and cancel each write an audit row: key, role, action, ids."""
    client.post("/v1/visits:batch", json=batch(visit("v-1"), visit("v-2")), headers=h)
    disp = auth(keys["dispatcher"])
    client.get("/v1/visits", params={"date": DATE}, headers=disp)
    client.get("/v1/visits/v-2", headers=disp)
    client.delete("/v1/visits/v-1", headers=h)
    client.post("/v1/visits:batch", json=batch(visit("v-3", acuity=9)), headers=h)  # rejected
    r = client.get("/v1/audit", headers=auth(keys["admin"]))
    assert r.status_code == 200
    rows = [(e["role"], e["action"], e["record_type"], e["record_ids"])
            for e in reversed(r.json()["entries"])]
    assert rows == [
        ("scheduler", "visits.batch", "visit", ["v-1", "v-2"]),
        ("dispatcher", "visits.list", "visit", ["v-1", "v-2"]),
        ("dispatcher", "visits.read", "visit", ["v-2"]),
        ("scheduler", "visits.cancel", "visit", ["v-1"]),
    ]
    entries = r.json()["entries"]
    assert all(e["key_id"] and e["at"] for e in entries)
    only_v2 = client.get("/v1/audit?record_id=v-2", headers=auth(keys["admin"])).json()
    assert [e["action"] for e in only_v2["entries"]] == [
        "visits.read", "visits.list", "visits.batch"]
    with db.transaction(app.state.engine) as session:
        assert session.query(AuditLog).count() == 4


def test_no_patient_data_in_logs(client, keys, h, caplog):
    """Application logs never carry patient ids or locations, on success or on error."""
    caplog.set_level(logging.DEBUG)
    secret = visit("v-1", patient_id="p-SECRET-77", location={"lat": 39.123456, "lon": -83.654321})
    client.post("/v1/visits:batch", json=batch(secret), headers=h)
    client.post("/v1/visits:batch", json=batch({**secret, "acuity": 9}), headers=h)
    client.get("/v1/visits", params={"date": DATE}, headers=h)
    client.get("/v1/visits/v-1", headers=h)
    text = caplog.text
    assert "p-SECRET-77" not in text and "39.123456" not in text and "83.654321" not in text


def test_roles_on_visits(client, keys, h):
    """Dispatchers read but do not write visits; clinicians do neither."""
    client.post("/v1/visits:batch", json=batch(visit("v-1")), headers=h)
    assert client.get("/v1/visits/v-1", headers=auth(keys["dispatcher"])).status_code == 200
    assert client.delete("/v1/visits/v-1", headers=auth(keys["dispatcher"])).status_code == 403
    assert client.get("/v1/visits/v-1", headers=auth(keys["clinician"])).status_code == 403
    r = client.post("/v1/visits:batch", json=batch(visit("v-2")), headers=auth(keys["clinician"]))
    assert r.status_code == 403
