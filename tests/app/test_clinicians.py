"""Clinicians' profiles and shifts: create/replace, read, validation, shifts by date."""

from __future__ import annotations

import pytest

from .conftest import auth

PROFILE = {"skills": ["RN", "wound_care"], "home": {"lat": 39.96, "lon": -83.0},
           "max_visits": 8, "max_workload_points": 10, "buffer_after_visit": 300}
SHIFT = {"start": 28800, "end": 59400, "max_overtime": 1800,
         "breaks": [{"earliest_start": 41400, "latest_start": 48600, "duration": 1800}],
         "start_location": {"lat": 39.97, "lon": -83.01}, "end_location": None}


@pytest.fixture
def h(keys):
    return auth(keys["scheduler"])


def test_put_creates_then_replaces(client, h):
    """PUT answers 201 with Location when it creates, 200 when it replaces; GET reads it."""
    r = client.put("/v1/clinicians/rn-ana", json=PROFILE, headers=h)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/v1/clinicians/rn-ana"
    assert {k: r.json()[k] for k in PROFILE} == PROFILE
    changed = {**PROFILE, "skills": ["LPN"], "max_visits": None}
    r = client.put("/v1/clinicians/rn-ana", json=changed, headers=h)
    assert r.status_code == 200
    got = client.get("/v1/clinicians/rn-ana", headers=h).json()
    assert got["skills"] == ["LPN"] and got["max_visits"] is None and got["id"] == "rn-ana"


def test_profile_defaults(client, h):
    """Only `home` is required: no skills, no limits, no buffer."""
    r = client.put("/v1/clinicians/pt-bo", json={"home": {"lat": 40, "lon": -83}}, headers=h)
    assert r.status_code == 201
    body = r.json()
    assert (body["skills"], body["max_visits"], body["max_workload_points"],
            body["buffer_after_visit"]) == ([], None, None, 0)


def test_list_is_sorted_by_id(client, h):
    """GET /v1/clinicians lists every profile by id."""
    for cid in ("rn-zed", "lpn-amy", "pt-bo"):
        client.put(f"/v1/clinicians/{cid}", json=PROFILE, headers=h)
    r = client.get("/v1/clinicians", headers=h)
    assert [c["id"] for c in r.json()["clinicians"]] == ["lpn-amy", "pt-bo", "rn-zed"]


def test_unknown_clinician_is_404_problem(client, h):
    """Reading a clinician that does not exist is a 404 problem naming it."""
    r = client.get("/v1/clinicians/nobody", headers=h)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["clinician_id"] == "nobody"


@pytest.mark.parametrize(("patch", "field", "value"), [
    ({"home": {"lat": 91, "lon": -83}}, "home.lat", 91),
    ({"home": {"lat": 40, "lon": -181.5}}, "home.lon", -181.5),
    ({"home": {"lat": "40", "lon": -83}}, "home.lat", "40"),
    ({"max_visits": -1}, "max_visits", -1),
    ({"buffer_after_visit": 2.5}, "buffer_after_visit", 2.5),
    ({"skills": ["RN", "RN"]}, "skills", "['RN', 'RN']"),
    ({"skills": "RN"}, "skills", "RN"),
    ({"colour": "blue"}, "colour", "blue"),
])
def test_bad_profile_names_field_and_stores_nothing(client, h, patch, field, value):
    """A bad profile is a 422 naming the field and the value, and nothing is stored."""
    r = client.put("/v1/clinicians/rn-ana", json={**PROFILE, **patch}, headers=h)
    assert r.status_code == 422, r.text
    body = r.json()
    assert r.headers["content-type"] == "application/problem+json"
    assert body["field"] == field and body["value"] == value
    assert field in body["detail"]
    assert client.get("/v1/clinicians/rn-ana", headers=h).status_code == 404


def test_missing_home_is_named(client, h):
    """A profile without `home` is a 422 naming `home`."""
    r = client.put("/v1/clinicians/rn-ana", json={"skills": ["RN"]}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "home"


def test_bad_clinician_id_in_path(client, h):
    """An id with spaces or longer than 100 characters is a 422 naming it."""
    r = client.put("/v1/clinicians/" + "x" * 101, json=PROFILE, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "clinician_id"
    r = client.put("/v1/clinicians/rn%20ana", json=PROFILE, headers=h)
    assert r.status_code == 422 and r.json()["value"] == "rn ana"


def test_shift_create_replace_read_delete(client, h):
    """A shift is PUT (201, then 200), read, listed by date and deleted (204, then 404)."""
    client.put("/v1/clinicians/rn-ana", json=PROFILE, headers=h)
    url = "/v1/clinicians/rn-ana/shifts/2026-11-23"
    r = client.put(url, json=SHIFT, headers=h)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == url
    body = r.json()
    assert body["date"] == "2026-11-23" and body["clinician_id"] == "rn-ana"
    assert {k: body[k] for k in SHIFT} == SHIFT
    r = client.put(url, json={"start": 25200, "end": 54000}, headers=h)
    assert r.status_code == 200
    got = client.get(url, headers=h).json()
    assert (got["start"], got["end"], got["breaks"], got["start_location"]) == (
        25200, 54000, [], None)
    client.put("/v1/clinicians/rn-ana/shifts/2026-11-22", json=SHIFT, headers=h)
    listed = client.get("/v1/clinicians/rn-ana/shifts", headers=h).json()["shifts"]
    assert [s["date"] for s in listed] == ["2026-11-22", "2026-11-23"]
    listed = client.get("/v1/clinicians/rn-ana/shifts?from=2026-11-23", headers=h).json()
    assert [s["date"] for s in listed["shifts"]] == ["2026-11-23"]
    assert client.delete(url, headers=h).status_code == 204
    r = client.delete(url, headers=h)
    assert r.status_code == 404 and r.json()["date"] == "2026-11-23"
    assert client.get(url, headers=h).status_code == 404


def test_shift_of_unknown_clinician_is_404(client, h):
    """A shift needs its clinician's profile first."""
    r = client.put("/v1/clinicians/ghost/shifts/2026-11-23", json=SHIFT, headers=h)
    assert r.status_code == 404 and r.json()["clinician_id"] == "ghost"


@pytest.mark.parametrize("date", ["2026-02-30", "23.11.2026", "2026-11-23T08:00", "20261123"])
def test_shift_bad_date_is_named(client, h, date):
    """A date that is not YYYY-MM-DD, or not on the calendar, is a 422 naming it."""
    client.put("/v1/clinicians/rn-ana", json=PROFILE, headers=h)
    r = client.put(f"/v1/clinicians/rn-ana/shifts/{date}", json=SHIFT, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "date" and r.json()["value"] == date


@pytest.mark.parametrize(("patch", "field"), [
    ({"end": 20000}, "end"),
    ({"start": -1}, "start"),
    ({"max_overtime": -60}, "max_overtime"),
    ({"breaks": [{"earliest_start": 48600, "latest_start": 41400, "duration": 1800}]},
     "breaks[0].latest_start"),
    ({"breaks": [{"earliest_start": 41400, "latest_start": 48600}]}, "breaks[0].duration"),
    ({"start_location": {"lat": 39.9}}, "start_location.lon"),
    ({"end_location": {"lat": -95, "lon": 0}}, "end_location.lat"),
])
def test_bad_shift_names_field_and_stores_nothing(client, h, patch, field):
    """A bad shift is a 422 naming the field; no shift is stored."""
    client.put("/v1/clinicians/rn-ana", json=PROFILE, headers=h)
    r = client.put("/v1/clinicians/rn-ana/shifts/2026-11-23", json={**SHIFT, **patch}, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert client.get("/v1/clinicians/rn-ana/shifts/2026-11-23", headers=h).status_code == 404
