"""API keys: bearer auth, roles, hashing, revocation and the ``careroute keys`` CLI."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from app import db
from app.auth.service import KEY_PREFIX, authenticate, create_key, hash_key
from app.cli import main as cli_main
from app.models import ApiKey
from app.settings import get_settings

from .conftest import auth

CLINICIAN = {"skills": ["RN"], "home": {"lat": 39.96, "lon": -83.0}}


def test_missing_key_is_401_with_challenge(client):
    """No Authorization header: 401 problem+json with WWW-Authenticate: Bearer."""
    r = client.get("/v1/clinicians")
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["status"] == 401


@pytest.mark.parametrize("header", [
    "Bearer cr_not-a-real-key", "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer ",
])
def test_unknown_or_malformed_key_is_401(client, keys, header):
    """A key that is unknown, or not a bearer key at all, gets 401."""
    r = client.get("/v1/clinicians", headers={"Authorization": header})
    assert r.status_code == 401
    assert "www-authenticate" in r.headers


def test_revoked_key_is_refused(client, keys):
    """A key revoked by an admin is refused from the next request on."""
    r = client.post("/v1/keys", json={"role": "dispatcher", "name": "tablet"},
                    headers=auth(keys["admin"]))
    assert r.status_code == 201
    new = r.json()
    assert client.get("/v1/clinicians", headers=auth(new["key"])).status_code == 200
    assert client.delete(f"/v1/keys/{new['id']}", headers=auth(keys["admin"])).status_code == 204
    assert client.get("/v1/clinicians", headers=auth(new["key"])).status_code == 401
    listed = client.get("/v1/keys", headers=auth(keys["admin"])).json()["keys"]
    assert [k["revoked_at"] is not None for k in listed if k["id"] == new["id"]] == [True]
    assert all("key" not in k and "key_hash" not in k for k in listed)


@pytest.mark.parametrize(("role", "method", "path", "expected"), [
    ("scheduler", "PUT", "/v1/clinicians/rn-x", 201),
    ("admin", "PUT", "/v1/clinicians/rn-x", 201),
    ("dispatcher", "PUT", "/v1/clinicians/rn-x", 403),
    ("clinician", "PUT", "/v1/clinicians/rn-x", 403),
    ("dispatcher", "GET", "/v1/clinicians", 200),
    ("scheduler", "GET", "/v1/clinicians", 200),
    ("clinician", "GET", "/v1/clinicians", 403),
    ("dispatcher", "GET", "/v1/visits?date=2026-11-23", 200),
    ("clinician", "GET", "/v1/visits?date=2026-11-23", 403),
    ("dispatcher", "POST", "/v1/visits:batch", 403),
    ("scheduler", "GET", "/v1/keys", 403),
    ("admin", "GET", "/v1/keys", 200),
    ("scheduler", "GET", "/v1/audit", 403),
])
def test_roles(client, keys, role, method, path, expected):
    """Each role may do what spec/api.md says and gets 403 for the rest."""
    body = {"date": "2026-11-23", "visits": []} if path.endswith(":batch") else CLINICIAN
    r = client.request(method, path, headers=auth(keys[role]),
                       json=body if method in ("PUT", "POST") else None)
    assert r.status_code == expected, r.text
    if expected == 403:
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["role"] == role


def test_only_the_hash_is_stored(app):
    """The database holds the SHA-256 of a key, never the key itself."""
    with db.transaction(app.state.engine) as session:
        created = create_key(session, "scheduler", name="ehr sync")
    assert created.key.startswith(KEY_PREFIX) and len(created.key) > 40
    with db.transaction(app.state.engine) as session:
        row = session.scalars(select(ApiKey).where(ApiKey.id == created.id)).one()
        assert row.key_hash == hashlib.sha256(created.key.encode()).hexdigest()
        assert created.key not in {row.id, row.name, row.key_hash}
        assert authenticate(session, created.key).role == "scheduler"
        assert authenticate(session, created.key + "x") is None


def test_keys_are_unique_and_random(app):
    """Two keys never share a secret or a hash."""
    with db.transaction(app.state.engine) as session:
        a = create_key(session, "admin")
        b = create_key(session, "admin")
    assert a.key != b.key and hash_key(a.key) != hash_key(b.key) and a.id != b.id


@pytest.mark.parametrize(("role", "clinician_id"), [
    ("clinician", None), ("scheduler", "rn-ana"), ("root", None),
])
def test_create_key_rejects_bad_role_binding(app, role, clinician_id):
    """A clinician key needs its clinician; other roles take none; roles are fixed."""
    with db.transaction(app.state.engine) as session, pytest.raises(ValueError):
        create_key(session, role, clinician_id=clinician_id)


def test_post_key_validates_body(client, keys):
    """POST /v1/keys names the bad field: an unknown role, a clinician key without clinician."""
    r = client.post("/v1/keys", json={"role": "root"}, headers=auth(keys["admin"]))
    assert r.status_code == 422 and r.json()["field"] == "role"
    r = client.post("/v1/keys", json={"role": "clinician"}, headers=auth(keys["admin"]))
    assert r.status_code == 422 and r.json()["field"] == "clinician_id"


def test_cli_keys_create_prints_a_working_key(app, client, settings, monkeypatch, capsys):
    """`careroute keys create` prints a key once; the API accepts it with its role."""
    monkeypatch.setenv("CAREROUTE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        code = cli_main(["keys", "create", "--role", "clinician", "--clinician", "rn-bo",
                         "--name", "phone"])
        out, err = capsys.readouterr()
        assert code == 0
        key = out.strip()
        assert key.startswith(KEY_PREFIX) and "rn-bo" in err
        with db.transaction(app.state.engine) as session:
            who = authenticate(session, key)
        assert (who.role, who.clinician_id) == ("clinician", "rn-bo")
        assert cli_main(["keys", "create", "--role", "clinician"]) == 2
        assert "--clinician" in capsys.readouterr().err
    finally:
        get_settings.cache_clear()


def test_cli_db_upgrade_and_unmigrated_refusal(tmp_path, monkeypatch, capsys):
    """`careroute db upgrade` migrates an empty database; keys refuse one that is not."""
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    monkeypatch.setenv("CAREROUTE_DATABASE_URL", url)
    get_settings.cache_clear()
    try:
        assert cli_main(["keys", "create", "--role", "admin"]) == 2
        assert "careroute db upgrade" in capsys.readouterr().err
        assert cli_main(["db", "upgrade"]) == 0
        assert f"revision {db.head_revision(url)}" in capsys.readouterr().out
        assert cli_main(["keys", "create", "--role", "admin"]) == 0
    finally:
        get_settings.cache_clear()
        db.engine_for(url).dispose()
