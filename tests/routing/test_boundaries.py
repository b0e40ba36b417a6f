"""routing stays pure: no import of app, geo, FastAPI, SQLAlchemy or pydantic-settings."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROUTING = Path(__file__).resolve().parents[2] / "routing"
FORBIDDEN = {"app", "geo", "fastapi", "sqlalchemy", "pydantic_settings", "starlette"}


def test_routing_source_names_no_forbidden_package():
    """No module of routing/ has an import statement of a forbidden package."""
    for path in ROUTING.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{path.name} imports {name}"


def test_only_solver_imports_ortools():
    """OR-Tools' moving API is confined to routing/solver.py."""
    for path in ROUTING.glob("*.py"):
        if path.name != "solver.py":
            assert "ortools" not in path.read_text(), path.name


def test_importing_routing_loads_no_forbidden_package():
    """Importing routing and solving loads none of the forbidden packages."""
    code = (
        "import sys, routing; from routing import solve, solve_baseline;"
        f"bad = {sorted(FORBIDDEN)!r};"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
