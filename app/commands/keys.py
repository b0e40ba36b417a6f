"""``careroute keys create``: create an API key and print it once (only its hash is kept).

Usage::

    careroute keys create --role ROLE [--clinician ID] [--name NAME]
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

ROLES = ("admin", "scheduler", "dispatcher", "clinician")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add the ``keys`` sub-command (``keys create``)."""
    p = subparsers.add_parser("keys", help="API keys")
    sub = p.add_subparsers(dest="keys_command", required=True)
    create = sub.add_parser(
        "create", help="create an API key and print it once",
        description="Create an API key in CAREROUTE_DATABASE_URL. The key is printed on "
        "stdout once; only its SHA-256 is stored.")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--clinician", help="the clinician id a clinician key belongs to")
    create.add_argument("--name", default="", help="a note: who or what uses the key")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Create the key; exit 2 on bad arguments or an un-migrated database."""
    from app import db
    from app.auth.service import create_key
    from app.settings import get_settings

    if args.role == "clinician" and not args.clinician:
        print("careroute keys create: error: --clinician ID is required for --role clinician",
              file=sys.stderr)
        return 2
    if args.role != "clinician" and args.clinician:
        print("careroute keys create: error: --clinician is only for --role clinician",
              file=sys.stderr)
        return 2
    engine = db.engine_for(get_settings().database_url)
    try:
        db.require_current_schema(engine)
    except db.SchemaNotCurrent as exc:
        print(f"careroute keys create: error: {exc}", file=sys.stderr)
        return 2
    with db.transaction(engine) as session:
        created = create_key(session, args.role, clinician_id=args.clinician, name=args.name)
    print(created.key)
    who = f" for clinician {created.clinician_id}" if created.clinician_id else ""
    print(f"created {created.role} key {created.id}{who}; it is shown only this once",
          file=sys.stderr)
    return 0
