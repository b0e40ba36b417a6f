"""geo stays a leaf package: it imports nothing from app, routing, FastAPI or SQLAlchemy."""

from __future__ import annotations

import subprocess
import sys


def test_geo_imports_no_app_routing_or_web_stack():
    """Importing geo (and running its modules) loads none of the forbidden packages."""
    code = (
        "import sys, geo, geo.matrix, geo.geometry, geo.load;"
        "bad = {'app', 'routing', 'fastapi', 'sqlalchemy', 'pydantic_settings'};"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
