"""Errors raised by :mod:`routing`.

The tree::

    RoutingError
     ├── InvalidProblem(RoutingError, ValueError)   a problem that breaks the contract
     └── InvalidSolution(RoutingError, ValueError)  a solution document that cannot be read

Every message names the field (a JSON path such as ``visits[2].time_windows[0]``)
and, where there is one, the id of the clinician or visit it belongs to.
"""

from __future__ import annotations


class RoutingError(Exception):
    """Base class of every error raised by :mod:`routing`."""


class _FieldError(RoutingError, ValueError):
    def __init__(self, field: str, message: str, *, obj_id: str | None = None) -> None:
        self.field = field
        self.obj_id = obj_id
        where = f"{field} (id {obj_id!r})" if obj_id is not None else field
        super().__init__(f"{where}: {message}")


class InvalidProblem(_FieldError):
    """The problem breaks spec/problem.md: the message names the field and id."""


class InvalidSolution(_FieldError):
    """A solution document is malformed (not: infeasible; that is the checker's job)."""
