"""``careroute serve``: run the API with uvicorn on the configured database and OSM source.

Usage::

    careroute serve [--host 127.0.0.1] [--port 8000]

Configuration comes from ``CAREROUTE_*`` variables (app/settings.py). The
database must be migrated first (``careroute db upgrade``): an un-migrated
one is refused at start-up with that advice.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``serve`` sub-command."""
    p = subparsers.add_parser(
        "serve", help="run the HTTP API (uvicorn)",
        description="Run the CareRoute HTTP API on CAREROUTE_DATABASE_URL and "
        "CAREROUTE_OSM_SOURCE (run `careroute db upgrade` first).")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default %(default)s)")
    p.add_argument("--port", type=int, default=8000, help="port (default %(default)s)")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted; exit 2 if the database is not migrated."""
    import uvicorn

    from app import db
    from app.main import create_app
    from app.settings import get_settings

    settings = get_settings()
    try:
        db.require_current_schema(db.engine_for(settings.database_url))
    except db.SchemaNotCurrent as exc:
        print(f"careroute serve: error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level=args.log_level)
    return 0
