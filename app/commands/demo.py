"""``careroute demo``: a demo agency day on the bundled Columbus map, solved and served.

Usage::

    careroute demo [--db FILE] [--port 8000] [--time-limit 10] [--no-serve]

Works on a fresh clone with no network: it starts a fresh SQLite file
(default ``./careroute-demo.sqlite3``), migrates it, loads the bundled
OpenStreetMap extract of Columbus, Ohio (the first load parses it, ~15 s;
later ones read the graph cache), stores a seeded day of 14 clinicians and
~80 visits on its streets (:mod:`app.demo.day`), creates one API key per
role, solves the plan (printing progress), prints the docs URL, the keys and
example requests, and serves the API with uvicorn. ``--no-serve`` stops after
the set-up (tests use it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_DB = "careroute-demo.sqlite3"
PROG = "careroute demo"


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``demo`` sub-command to an argparse ``subparsers`` object."""
    p = subparsers.add_parser(
        "demo", help="set up a demo agency day on the bundled map and serve it",
        description="Create a fresh SQLite database with a demo agency day on the bundled "
        "Columbus, Ohio map (no network needed), solve it, print API keys and example "
        "requests, and serve the API. Map data (c) OpenStreetMap contributors.")
    p.add_argument("--db", default=DEFAULT_DB,
                   help="SQLite file to (re)create (default %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    p.add_argument("--time-limit", type=float, default=10.0,
                   help="seconds of search for the demo plan (default %(default)s)")
    p.add_argument("--date", help="the plan date, YYYY-MM-DD (default: today)")
    p.add_argument("--seed", type=int, default=7, help="seed of the demo day (default 7)")
    p.add_argument("--osm", help="OSM extract (default: the bundled Columbus extract)")
    p.add_argument("--no-serve", action="store_true", help="stop after setting up")
    p.set_defaults(func=run)
    return p


def _say(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def _fresh_sqlite(path: Path) -> str:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path.resolve()}"


def setup(args: argparse.Namespace) -> dict[str, Any]:
    """Create the database, the day, the keys and the solved plan; what to print."""
    from app import db
    from app.auth.service import create_key
    from app.clinicians import service as clinicians
    from app.clinicians.schemas import ClinicianIn, ShiftIn
    from app.demo.day import make_day
    from app.deps import Principal
    from app.jobs import repository as jobs
    from app.jobs.worker import road_graph, run_job
    from app.plans import repository as plans
    from app.plans import service as plan_service
    from app.plans.schemas import PlanIn
    from app.settings import DEMO_OSM, Settings
    from app.visits import service as visits
    from app.visits.schemas import VisitBatchIn

    if not args.time_limit > 0:
        raise ValueError(f"--time-limit: must be > 0, got {args.time_limit}")
    base = Settings()
    date = (dt.date.fromisoformat(args.date) if args.date
            else dt.datetime.now(ZoneInfo(base.timezone)).date())
    path = Path(args.db)
    url = _fresh_sqlite(path)
    settings = Settings(**{**base.model_dump(), "database_url": url,
                           "osm_source": str(args.osm or DEMO_OSM),
                           "max_time_limit": max(base.max_time_limit, args.time_limit)})
    _say(f"fresh database {path}; migrating")
    db.upgrade(url)
    engine = db.engine_for(url)

    _say(f"loading the road graph from {Path(settings.osm_source).name} "
         "(the first time takes ~15 s)")
    graph = road_graph(settings)
    day = make_day(graph, date=date.isoformat(), seed=args.seed)

    with db.transaction(engine) as session:
        made = {role: create_key(session, role, name=f"demo {role}",
                                 clinician_id="rn-ana" if role == "clinician" else None)
                for role in ("admin", "scheduler", "dispatcher", "clinician")}
        admin = Principal(key_id=made["admin"].id, role="admin", clinician_id=None)
        for cid, body in day.clinicians.items():
            clinicians.put_clinician(session, cid, ClinicianIn.model_validate(body))
            clinicians.put_shift(session, cid, date, ShiftIn.model_validate(day.shifts[cid]))
        visits.upsert_batch(session, admin, VisitBatchIn.model_validate(day.batch()))
        accepted = plan_service.create_plan(
            session, PlanIn(date=date, time_limit=args.time_limit), admin, settings)
    _say(f"{len(day.clinicians)} clinicians and {len(day.visits)} visits on {date}; "
         f"solving for {args.time_limit:g} s")

    with db.transaction(engine) as session:
        attempt = jobs.claim(session, accepted.job_id)
    assert attempt is not None
    began = time.monotonic()
    run_job(accepted.job_id, attempt, settings.model_dump(),
            echo=lambda p: _say(f"solving: {p:4.0%} ({time.monotonic() - began:4.1f} s)"))
    with db.transaction(engine) as session:
        job = jobs.get(session, accepted.job_id)
        plan = plans.get(session, accepted.plan_id)
        assert job is not None and plan is not None
        if job.state != "succeeded":
            raise RuntimeError(f"the demo plan failed: {job.error}")
        version = plans.version(session, plan.id, plan.version)
        assert version is not None
        kpis = version.solution["kpis"]
    return {"settings": settings, "keys": {r: k.key for r, k in made.items()},
            "plan_id": accepted.plan_id, "date": date.isoformat(), "kpis": kpis}


def report(out: dict[str, Any], host: str, port: int) -> str:
    """What the demo prints: the docs URL, a key per role, three example requests."""
    base = f"http://{host}:{port}"
    keys, k = out["keys"], out["kpis"]
    gap = k.get("gap_to_baseline")
    lines = [
        "",
        f"CareRoute demo: plan {out['plan_id']} for {out['date']} is ready: "
        f"{k['visits_assigned']} visits assigned, {k['visits_unassigned']} unassigned, "
        f"{k['travel_time'] / 3600:.1f} h of driving"
        + (f", objective {gap:.0%} better than usual-care dispatching" if gap else "") + ".",
        "",
        f"API docs (OpenAPI):  {base}/docs",
        "",
        "API keys (one per role; the clinician key belongs to rn-ana):",
        *(f"  {role:<10}  {key}" for role, key in keys.items()),
        "",
        "Try:",
        f"  curl -H 'Authorization: Bearer {keys['scheduler']}' {base}/v1/plans/{out['plan_id']}",
        f"  curl -H 'Authorization: Bearer {keys['clinician']}' "
        f"'{base}/v1/clinicians/rn-ana/route?date={out['date']}'",
        f"  curl -s -H 'Authorization: Bearer {keys['dispatcher']}' "
        f"{base}/v1/plans/{out['plan_id']} | python3 -c "
        "'import json,sys; print(json.dumps(json.load(sys.stdin)[\"kpis\"], indent=2))'",
        "",
        "Map data (c) OpenStreetMap contributors (ODbL).",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Set up the demo and serve it (until Ctrl-C); exit 2 on bad arguments."""
    try:
        out = setup(args)
    except (ValueError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    print(report(out, args.host, args.port), flush=True)
    if args.no_serve:
        return 0
    import uvicorn

    from app.main import create_app

    uvicorn.run(create_app(out["settings"]), host=args.host, port=args.port, log_level="info")
    return 0
