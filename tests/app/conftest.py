"""Fixtures for API tests: a migrated database (SQLite and PostgreSQL), the app, keys.

Every test using ``db_url`` runs twice: on a SQLite file and on PostgreSQL.
PostgreSQL comes from ``CAREROUTE_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); the session works in
its own schema ``t_<random>``, dropped at the end. Unreachable PostgreSQL
skips those tests, unless ``CAREROUTE_REQUIRE_SERVICES=1`` (CI), then fails.
Tables are emptied before each test, so tests never see each other's rows.

Part B of issue 5 reuses these names: db_url, settings, app, client, keys, auth.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import db
from app.graph_source import GraphSource
from app.main import create_app
from app.models import Base
from app.settings import DEMO_OSM, Settings

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CLINICIAN_ID = "rn-ana"


def _require_services() -> bool:
    return os.environ.get("CAREROUTE_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def _postgres_url() -> Iterator[str]:
    base = os.environ.get("CAREROUTE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    admin = create_engine(base, connect_args={"connect_timeout": 5})
    schema = f"t_{secrets.token_hex(6)}"
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # psycopg OperationalError, wrapped by SQLAlchemy
        admin.dispose()
        reason = (f"PostgreSQL at {make_url(base).render_as_string(hide_password=True)} "
                  f"is unreachable ({type(exc).__name__}); set CAREROUTE_TEST_POSTGRES_URL")
        if _require_services():
            pytest.fail(f"{reason} (CAREROUTE_REQUIRE_SERVICES=1)")
        pytest.skip(reason)
    sep = "&" if "?" in base else "?"
    url = f"{base}{sep}options=-csearch_path%3D{schema}"
    try:
        db.upgrade(url)
        yield url
    finally:
        db.engine_for(url).dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def _sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'careroute.sqlite3'}"
    db.upgrade(url)
    yield url
    db.engine_for(url).dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: each test runs on SQLite and on PostgreSQL."""
    url: str = request.getfixturevalue(f"_{request.param}_url")
    engine = db.engine_for(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(table.delete())
    return url


@pytest.fixture(scope="session")
def graph_cache_dir() -> Path:
    """Where test graphs are cached: CAREROUTE_TEST_CACHE_DIR, else one temp folder.

    Kept between runs (the cache is keyed by the extract's hash and settings, so
    it is never stale): parsing the Columbus extract takes ~15 s, reading it
    back ~0.01 s. Never the user's cache.
    """
    env = os.environ.get("CAREROUTE_TEST_CACHE_DIR")
    path = Path(env) if env else Path(tempfile.gettempdir()) / "careroute-test-graph-cache"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def _graph_loaded(graph_cache_dir: Path) -> None:
    # Load once, in the foreground, before any app exists: every app's background
    # load then finds it done, so no loader thread runs beside other tests (an
    # OR-Tools solve with Python callbacks next to it has aborted the process).
    GraphSource(Settings(osm_source=str(DEMO_OSM), cache_dir=str(graph_cache_dir))).get()


@pytest.fixture
def settings(db_url: str, graph_cache_dir: Path, _graph_loaded: None) -> Settings:
    return Settings(database_url=db_url, osm_source=str(DEMO_OSM), cache_dir=str(graph_cache_dir))


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings, start_worker=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def keys(app: FastAPI) -> dict[str, str]:
    """Bearer tokens by role; the clinician key belongs to clinician ``rn-ana``."""
    from app.auth.service import create_key

    out = {}
    with db.transaction(app.state.engine) as session:
        for role in ("admin", "scheduler", "dispatcher", "clinician"):
            clinician = CLINICIAN_ID if role == "clinician" else None
            out[role] = create_key(session, role, clinician_id=clinician, name=f"test {role}").key
    return out


def auth(token: str) -> dict[str, str]:
    """Headers carrying ``token`` as a bearer key."""
    return {"Authorization": f"Bearer {token}"}


def assert_migration_matches(db_url: str, sqlite_dir: Path, revision: str, previous: str,
                             tables: str) -> None:
    """The tables named by ``tables`` (a substring) as migrated on ``db_url`` are the
    models', and ``revision`` downgrades to ``previous`` and upgrades again on a new SQLite."""
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    with db.engine_for(db_url).connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert [d for d in diffs if tables in repr(d)] == []
    url = f"sqlite:///{sqlite_dir / 'm.sqlite3'}"
    db.upgrade(url, revision)
    assert db.current_revision(db.engine_for(url)) == revision
    command.downgrade(db.alembic_config(url), previous)
    assert db.current_revision(db.engine_for(url)) == previous
    db.upgrade(url, revision)
    assert db.current_revision(db.engine_for(url)) == revision
    db.engine_for(url).dispose()
