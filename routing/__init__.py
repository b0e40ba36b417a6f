"""Home-health visit routing: the problem, the OR-Tools solver, the checker, the baseline.

Build a :class:`Problem` (or read one with :func:`load_problem`), call
:func:`solve` (or :func:`solve_baseline` for the usual-care dispatcher), and
judge any solution with :func:`check`. Pure Python + OR-Tools; never imports
``app`` or ``geo``.
"""

from typing import TYPE_CHECKING, Any

from .check import Violation, check
from .exceptions import InvalidProblem, InvalidSolution, RoutingError
from .io import (
    load_problem,
    load_solution,
    problem_from_dict,
    problem_to_dict,
    solution_from_dict,
    solution_to_dict,
)
from .kpis import compute_kpis
from .model import (
    Break,
    BreakTaken,
    Clinician,
    Location,
    Matrix,
    Options,
    Precedence,
    Problem,
    Route,
    Simultaneous,
    Solution,
    Stop,
    Unassigned,
    Visit,
)

if TYPE_CHECKING:
    from .baseline import solve_baseline
    from .solver import SolverParams, objective, solve

# The solver and the baseline load OR-Tools; import them on first use so that
# reading, writing and checking solutions stays light.
_LAZY = {"solve": "solver", "SolverParams": "solver", "objective": "solver",
         "solve_baseline": "baseline"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Break", "BreakTaken", "Clinician", "InvalidProblem", "InvalidSolution", "Location",
    "Matrix", "Options", "Precedence", "Problem", "Route", "RoutingError", "Simultaneous",
    "Solution", "SolverParams", "Stop", "Unassigned", "Violation", "Visit", "check",
    "compute_kpis", "load_problem", "load_solution", "objective", "problem_from_dict",
    "problem_to_dict", "solution_from_dict", "solution_to_dict", "solve", "solve_baseline",
]
