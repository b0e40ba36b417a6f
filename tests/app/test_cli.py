"""The ``careroute`` command offline: solve and check (spec/api.md, "CLI").

Exit codes are the contract: 0 success, 1 the checker found violations, 2 bad
input with a one-line message naming the field and value, never a traceback.
Most tests call ``app.cli.main`` in-process; one runs the installed script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from routing.io import problem_to_dict
from tests.routing.days import day, nurse, visit

SPEC_EXAMPLE = Path(__file__).parents[1] / "routing" / "data" / "spec_example.json"
CAREROUTE = Path(sys.executable).parent / "careroute"
FAST = ["--time-limit", "0.3"]


def spec_problem() -> dict[str, Any]:
    return json.loads(SPEC_EXAMPLE.read_text())


def write(path: Path, data: Any) -> str:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def solved(tmp_path: Path, *extra: str) -> Path:
    """Solve the spec example into a file and return its path."""
    out = tmp_path / "solution.json"
    assert main(["solve", str(SPEC_EXAMPLE), *FAST, "--out", str(out), *extra]) == 0
    return out


def assert_bad_input(capsys: pytest.CaptureFixture[str], code: int, *fragments: str) -> str:
    """Exit 2, nothing on stdout, one ``careroute: error:`` line naming ``fragments``."""
    err = capsys.readouterr()
    assert code == 2
    assert err.out == ""
    lines = err.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("careroute: error: "), err.err
    assert "Traceback" not in err.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def test_solve_prints_a_solution_that_checks(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """`solve` writes the solution JSON to stdout; `check` accepts it with exit 0."""
    assert main(["solve", str(SPEC_EXAMPLE), *FAST]) == 0
    out = capsys.readouterr().out
    solution = json.loads(out)
    assert [s["visit_id"] for s in solution["routes"][0]["stops"]] == ["v-1001"]
    path = write(tmp_path / "solution.json", out)
    assert main(["check", str(SPEC_EXAMPLE), path]) == 0
    assert capsys.readouterr().out.startswith("ok")


@pytest.mark.parametrize("solver", ["ortools", "baseline"])
def test_solve_out_file_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                               solver: str) -> None:
    """`solve --out` with either solver writes a file (not stdout) that `check` accepts."""
    out = solved(tmp_path, "--solver", solver)
    assert capsys.readouterr().out == ""
    assert json.loads(out.read_text())["kpis"]["visits_assigned"] == 1
    assert main(["check", str(SPEC_EXAMPLE), str(out)]) == 0


def test_installed_script_solves(tmp_path: Path) -> None:
    """The installed `careroute` script solves the spec example into --out, exit 0."""
    if not CAREROUTE.exists():
        pytest.skip(f"no console script at {CAREROUTE}")
    out = tmp_path / "solution.json"
    done = subprocess.run(
        [str(CAREROUTE), "solve", str(SPEC_EXAMPLE), *FAST, "--out", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert main(["check", str(SPEC_EXAMPLE), str(out)]) == 0


def test_tampered_solution_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A solution whose stop start was moved exits 1 and prints the violation codes."""
    out = solved(tmp_path)
    solution = json.loads(out.read_text())
    solution["routes"][0]["stops"][0]["start"] += 60
    path = write(tmp_path / "tampered.json", solution)
    capsys.readouterr()
    assert main(["check", str(SPEC_EXAMPLE), path]) == 1
    captured = capsys.readouterr()
    printed = {line.split(":")[0] for line in captured.out.splitlines()}
    assert {"wait_mismatch", "end_mismatch"} <= printed
    assert "v-1001" in captured.out and "violation(s)" in captured.err


@pytest.mark.parametrize(
    ("edits", "fragments"),
    [
        pytest.param({"acuity": 9}, ("acuity", "'v-1001'", "9"), id="acuity"),
        pytest.param({"duration": "45 min"}, ("visits[0].duration", "'45 min'"), id="type"),
        pytest.param({"colour": "red"}, ("visits[0].colour", "unknown field"), id="unknown"),
        pytest.param({"location": 5}, ("location", "'v-1001'", "5"), id="location"),
    ],
)
@pytest.mark.parametrize("command", ["solve", "check"])
def test_bad_problem_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str,
                             edits: dict[str, Any], fragments: tuple[str, ...]) -> None:
    """A problem that breaks the contract exits 2 with one line naming the field, no traceback."""
    data = spec_problem()
    data["visits"][0].update(edits)
    problem = write(tmp_path / "problem.json", data)
    solution = write(tmp_path / "solution.json", {"routes": [], "unassigned": []})
    args = [problem, *FAST] if command == "solve" else [problem, solution]
    assert_bad_input(capsys, main([command, *args]), *fragments)


@pytest.mark.parametrize("command", ["solve", "check"])
def test_problem_without_matrix_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        command: str) -> None:
    """Without a matrix (and no --osm) the message says the matrix is missing."""
    data = spec_problem()
    del data["matrix"]
    problem = write(tmp_path / "problem.json", data)
    solution = write(tmp_path / "solution.json", {"routes": [], "unassigned": []})
    args = [problem] if command == "solve" else [problem, solution]
    assert_bad_input(capsys, main([command, *args]), "matrix")


def test_malformed_solution_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check` of a solution document with a wrong type exits 2 naming the field."""
    solution = json.loads(solved(tmp_path).read_text())
    solution["routes"][0]["stops"][0]["start"] = "09:00"
    path = write(tmp_path / "bad.json", solution)
    capsys.readouterr()
    code = main(["check", str(SPEC_EXAMPLE), path])
    assert_bad_input(capsys, code, "routes[0].stops[0].start", "'09:00'")


@pytest.mark.parametrize(
    "command",
    [pytest.param("solve", id="solve"),
     pytest.param("check-problem", id="check-problem"),
     pytest.param("check-solution", id="check-solution")],
)
def test_missing_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              command: str) -> None:
    """A path that does not exist exits 2 with a message naming it."""
    missing = str(tmp_path / "nowhere.json")
    args = {
        "solve": ["solve", missing],
        "check-problem": ["check", missing, str(SPEC_EXAMPLE)],
        "check-solution": ["check", str(SPEC_EXAMPLE), missing],
    }[command]
    assert_bad_input(capsys, main(args), "nowhere.json")


@pytest.mark.parametrize("command", ["solve", "check-problem", "check-solution"])
def test_invalid_json_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              command: str) -> None:
    """A file that is not JSON exits 2 with a message naming it."""
    broken = write(tmp_path / "broken.json", '{"locations": [')
    args = {
        "solve": ["solve", broken],
        "check-problem": ["check", broken, str(SPEC_EXAMPLE)],
        "check-solution": ["check", str(SPEC_EXAMPLE), broken],
    }[command]
    assert_bad_input(capsys, main(args), "broken.json", "JSON")


@pytest.mark.parametrize(
    "limit",
    ["0", "-1", "nan", "inf"],
)
def test_time_limit_must_be_positive(capsys: pytest.CaptureFixture[str], limit: str) -> None:
    """`--time-limit` of 0, a negative, NaN or infinity exits 2 naming the time limit."""
    code = main(["solve", str(SPEC_EXAMPLE), "--time-limit", limit])
    assert "time" in assert_bad_input(capsys, code).lower()


def test_unknown_solver_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown --solver is rejected by the argument parser with exit 2."""
    with pytest.raises(SystemExit) as info:
        main(["solve", str(SPEC_EXAMPLE), "--solver", "magic"])
    assert info.value.code == 2
    assert "magic" in capsys.readouterr().err


def test_a_first_solve_says_it_is_compiling_the_search(tmp_path: Path) -> None:
    """On a cold numba cache, `solve` of a day for the ruin and recreate says why it pauses."""
    plain = day([nurse("west", start=0), nurse("east", start=20)],
                [visit(f"v{loc}", loc, duration=600) for loc in (2, 4, 16, 18)], n=21,
                balance_weight=0, preference_penalty=0)
    path = write(tmp_path / "day.json", problem_to_dict(plain))
    out = tmp_path / "solution.json"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}  # nothing compiled yet
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from app.cli import main; sys.exit(main())",
         "solve", path, *FAST, "--out", str(out)],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "preparing the search" in done.stderr.splitlines()[0], done.stderr
    assert main(["check", path, str(out)]) == 0
