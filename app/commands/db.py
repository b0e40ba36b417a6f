"""``careroute db upgrade``: apply the Alembic migrations to CAREROUTE_DATABASE_URL."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``db`` sub-command (``db upgrade``)."""
    p = subparsers.add_parser("db", help="database schema (migrations)")
    sub = p.add_subparsers(dest="db_command", required=True)
    up = sub.add_parser("upgrade", help="apply migrations up to the newest (or --revision)",
                        description="Apply the Alembic migrations to CAREROUTE_DATABASE_URL.")
    up.add_argument("--revision", default="head", help="target revision (default %(default)s)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Upgrade; print where the schema is now."""
    from sqlalchemy.exc import SQLAlchemyError

    from app import db
    from app.settings import get_settings

    url = get_settings().database_url
    try:
        db.upgrade(url, args.revision)
        revision = db.current_revision(db.engine_for(url))
    except SQLAlchemyError as exc:
        print(f"careroute db upgrade: error: cannot migrate the database "
              f"({type(exc).__name__}: {str(exc).splitlines()[0]})", file=sys.stderr)
        return 2
    print(f"database schema at revision {revision}")
    return 0
