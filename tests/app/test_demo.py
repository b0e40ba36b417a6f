"""``careroute demo``: a fresh database, a believable day, keys, a ready plan, no network."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

import geo
from app import db
from app.cli import main
from app.demo.day import make_day
from app.main import create_app
from app.models import ClinicianRow, PlanRow, VisitRow
from app.settings import Settings
from tests.app.conftest import TestClient, auth
from tests.app.test_plans import columbus  # noqa: F401  (fixture)


def test_demo_day_is_believable_and_seeded(columbus: geo.RoadGraph) -> None:  # noqa: F811
    """14 clinicians of mixed disciplines, 80 visits of 30-75 min on streets, both links."""
    day = make_day(columbus, date="2026-11-23", seed=7)
    assert make_day(columbus, date="2026-11-23", seed=7) == day
    assert make_day(columbus, date="2026-11-23", seed=8) != day
    assert len(day.clinicians) == 14 and len(day.visits) == 80
    held = Counter(s for c in day.clinicians.values() for s in c["skills"])
    assert {"RN", "LPN", "PT", "OT", "aide", "wound_care", "infusion"} <= set(held)
    assert all(30 * 60 <= v["duration"] <= 75 * 60 for v in day.visits)
    assert {v["acuity"] for v in day.visits} == {1, 2, 3, 4, 5}
    assert any(v["preferred_clinicians"] for v in day.visits)
    assert any(v["time_windows"] for v in day.visits) and any(
        not v["time_windows"] for v in day.visits)
    assert sorted(link["type"] for link in day.links) == ["precedence", "simultaneous"]
    assert all(re.fullmatch(r"p-[0-9a-f]{10}", v["patient_id"]) for v in day.visits)
    for shift in day.shifts.values():
        assert (shift["start"], shift["end"]) == (8 * 3600, 16 * 3600 + 1800)
        assert shift["breaks"][0]["duration"] == 1800
    points = [(v["location"]["lat"], v["location"]["lon"]) for v in day.visits]
    points += [(c["home"]["lat"], c["home"]["lon"]) for c in day.clinicians.values()]
    snaps = geo.snap_points(columbus, points, max_snap_m=25)  # on the streets
    assert len(snaps) == 94


def test_demo_sets_up_a_ready_plan_and_prints_keys(
    tmp_path: Path, graph_cache_dir: Path, columbus: geo.RoadGraph,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """`demo --no-serve` on a tmp file: docs URL, a key per role, curl lines, a ready plan."""
    monkeypatch.setenv("CAREROUTE_CACHE_DIR", str(graph_cache_dir))
    path = tmp_path / "demo.sqlite3"
    path.write_text("not a database: the demo starts afresh")
    code = main(["demo", "--db", str(path), "--no-serve", "--time-limit", "1",
                 "--date", "2026-11-23", "--port", "8123"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "http://127.0.0.1:8123/docs" in out.out
    keys = dict(re.findall(r"^\s+(admin|scheduler|dispatcher|clinician)\s+(cr_\S+)$",
                           out.out, re.MULTILINE))
    assert set(keys) == {"admin", "scheduler", "dispatcher", "clinician"}
    curls = [line for line in out.out.splitlines() if line.strip().startswith("curl")]
    assert len(curls) == 3 and "/route?date=2026-11-23" in curls[1] and "kpis" in curls[2]
    assert "solving:" in out.err

    url = f"sqlite:///{path.resolve()}"
    with db.transaction(db.engine_for(url)) as session:
        assert session.scalar(select(func.count()).select_from(ClinicianRow)) == 14
        assert session.scalar(select(func.count()).select_from(VisitRow)) == 80
        [plan] = session.scalars(select(PlanRow)).all()
        assert (plan.status, plan.version) == ("ready", 1)

    # the printed keys work against the demo database
    settings = Settings(database_url=url, cache_dir=str(graph_cache_dir))
    with TestClient(create_app(settings, start_worker=False)) as client:
        r = client.get("/v1/clinicians/rn-ana/route", headers=auth(keys["clinician"]),
                       params={"date": "2026-11-23"})
        assert r.status_code == 200, r.text
        route: dict[str, Any] = r.json()
        assert route["plan_id"] == plan.id and route["stops"]
        r = client.get(f"/v1/plans/{plan.id}", headers=auth(keys["dispatcher"]))
        assert r.status_code == 200 and r.json()["kpis"]["visits_assigned"] >= 60
    db.engine_for(url).dispose()
