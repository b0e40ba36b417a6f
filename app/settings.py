"""Service settings from ``CAREROUTE_*`` environment variables (pydantic-settings).

| variable | default | meaning |
| --- | --- | --- |
| CAREROUTE_DATABASE_URL | sqlite:///./careroute.sqlite3 | SQLAlchemy URL (or postgresql+psycopg) |
| CAREROUTE_OSM_SOURCE | the bundled demo extract | OSM extract (.osm, .osm.bz2, .osm.pbf) |
| CAREROUTE_CACHE_DIR | ~/.cache/careroute | cached road graphs |
| CAREROUTE_MAX_SNAP_M | 500 | farthest a visit may be from a road (m) |
| CAREROUTE_WORKERS | 1 | solver processes of the embedded job pool |
| CAREROUTE_PLAN_TIME_LIMIT | 30 | default seconds of search per plan |
| CAREROUTE_MAX_TIME_LIMIT | 300 | largest time limit a client may ask for |
| CAREROUTE_SOLVE_MAX_TIME_LIMIT | 30 | largest time limit of the synchronous POST /v1/solve |
| CAREROUTE_TIMEZONE | UTC | the agency's time zone (default "now" of events) |
| CAREROUTE_WEBHOOK_DELIVERY | true | POST webhook events from this API process |
| CAREROUTE_WEBHOOK_POLL_S | 2 | seconds between two looks for due webhook deliveries |
| CAREROUTE_WEBHOOK_TIMEOUT_S | 5 | seconds a webhook receiver has to answer one POST |
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_OSM = Path(__file__).resolve().parent / "demo" / "columbus.drive.osm.bz2"


class Settings(BaseSettings):
    """Everything configurable about one CareRoute deployment."""

    model_config = SettingsConfigDict(env_prefix="CAREROUTE_", extra="ignore")

    database_url: str = "sqlite:///./careroute.sqlite3"
    osm_source: str = str(DEMO_OSM)
    cache_dir: str | None = None
    max_snap_m: float = 500.0
    workers: int = 1
    plan_time_limit: float = 30.0
    max_time_limit: float = 300.0
    solve_max_time_limit: float = 30.0
    timezone: str = "UTC"
    webhook_delivery: bool = True
    webhook_poll_s: float = Field(default=2.0, gt=0)
    webhook_timeout_s: float = Field(default=5.0, gt=0, le=60)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
