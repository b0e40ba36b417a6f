"""Tiny hand-checkable days for the solver tests.

Geography: location ``i`` sits at kilometre ``i`` on one straight road; a
drive takes 60 s per km and distance is 1000 m per km. The office is
location 0. So a drive from 2 to 5 takes 180 s, and anyone can check a plan
by hand.
"""

from __future__ import annotations

from typing import Any

from routing.model import Clinician, Link, Location, Matrix, Options, Problem, Visit

H = 3600  # one hour in seconds


def line_matrix(n: int, seconds_per_km: int = 60) -> Matrix:
    """Durations/distances for ``n`` locations on a straight road."""
    return Matrix(
        tuple(tuple(abs(i - j) * seconds_per_km for j in range(n)) for i in range(n)),
        tuple(tuple(abs(i - j) * 1000 for j in range(n)) for i in range(n)),
    )


def nurse(cid: str, *, skills: tuple[str, ...] = ("RN",), start: int = 0,
          shift: tuple[int, int] = (8 * H, 16 * H), **kw: Any) -> Clinician:
    """A clinician at location ``start`` with an 08:00-16:00 shift by default."""
    return Clinician(id=cid, skills=frozenset(skills), start_location=start,
                     shift_start=shift[0], shift_end=shift[1], **kw)


def visit(vid: str, loc: int, *, duration: int = 1800, skills: tuple[str, ...] = ("RN",),
          windows: tuple[tuple[int, int], ...] = (), **kw: Any) -> Visit:
    """A 30-minute RN visit at ``loc`` by default."""
    return Visit(id=vid, location=loc, duration=duration, required_skills=frozenset(skills),
                 time_windows=windows, **kw)


def day(clinicians: list[Clinician], visits: list[Visit], *, n: int = 30,
        links: tuple[Link, ...] = (), seconds_per_km: int = 60, **options: Any) -> Problem:
    """A problem on the straight road; options default to a 1 s search."""
    options.setdefault("time_limit", 1.0)
    return Problem(
        locations=tuple(Location() for _ in range(n)),
        matrix=line_matrix(n, seconds_per_km),
        clinicians=tuple(clinicians),
        visits=tuple(visits),
        links=links,
        options=Options(**options),
    )
