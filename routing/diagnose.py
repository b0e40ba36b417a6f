"""Why a visit is left unassigned: a real diagnosis behind each stable reason code.

Before the search, :func:`screen` takes out visits that no plan can serve
(nobody has the skills, every eligible clinician is excluded, no window fits
any eligible shift, ...). After it, :func:`explain_dropped` tells a capacity
problem (every eligible clinician's day is full) from an optimiser's choice
(the visit fits somewhere, but serving it costs more than its penalty).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .model import Clinician, Precedence, Problem, Unassigned, Visit
from .schedule import RouteTimer


def eligible_clinicians(problem: Problem, visit: Visit) -> list[Clinician]:
    """Clinicians allowed to serve ``visit``: skills, exclusions, pin."""
    return [c for c in problem.clinicians if problem.can_serve(c, visit)]


def screen(problem: Problem, timer: RouteTimer) -> tuple[list[Visit], list[Unassigned]]:
    """Split the visits into those some plan may serve and those none can, with reasons.

    Returns
    -------
    (candidates, unassigned)
        ``candidates`` keep the problem's order; ``unassigned`` holds one
        entry per visit that cannot be served even alone, and the linked
        partners of such visits (they are assigned together or not at all).
    """
    out: dict[str, Unassigned] = {}
    for visit in problem.visits:
        reason = _alone_reason(problem, timer, visit)
        if reason is not None:
            out[visit.id] = reason
    for link_ids in linked_groups(problem):
        blocked = [vid for vid in link_ids if vid in out]
        if blocked:
            for vid in link_ids:
                if vid not in out:
                    out[vid] = Unassigned(
                        vid, "linked_visit_unassigned",
                        f"linked visit {blocked[0]} cannot be served ({out[blocked[0]].reason})",
                    )
    candidates = [v for v in problem.visits if v.id not in out]
    return candidates, [out[v.id] for v in problem.visits if v.id in out]


def _alone_reason(problem: Problem, timer: RouteTimer, visit: Visit) -> Unassigned | None:
    skilled = [c for c in problem.clinicians if visit.required_skills <= c.skills]
    if not skilled:
        held = set().union(*(c.skills for c in problem.clinicians)) if problem.clinicians else set()
        missing = sorted(visit.required_skills - held) or sorted(visit.required_skills)
        who = "nobody has them all" if not missing else "nobody has it"
        return Unassigned(
            visit.id, "no_clinician_with_skills",
            f"needs {', '.join(missing) or 'a clinician'}; {who}",
        )
    if visit.pinned_clinician is not None:
        pinned = problem.clinician(visit.pinned_clinician)
        if not problem.can_serve(pinned, visit):
            return Unassigned(
                visit.id, "pinned_clinician_unavailable",
                f"pinned to {pinned.id}, who lacks "
                f"{', '.join(sorted(visit.required_skills - pinned.skills))}",
            )
    eligible = eligible_clinicians(problem, visit)
    if not eligible:
        return Unassigned(
            visit.id, "excluded_everywhere",
            f"every clinician with {', '.join(sorted(visit.required_skills)) or 'the skills'}"
            " is excluded",
        )
    if any(timer.time_route(c, [visit]) is not None for c in eligible):
        return None
    if all(c.max_visits == 0 or (c.max_workload_points is not None
                                 and visit.workload_points > c.max_workload_points)
           for c in eligible):
        return Unassigned(visit.id, "capacity",
                          "its workload points exceed every eligible clinician's limit")
    if visit.time_windows and not any(_window_reachable(timer, c, visit) for c in eligible):
        windows = ", ".join(f"[{_hhmm(lo)}-{_hhmm(hi)}]" for lo, hi in visit.windows)
        return Unassigned(
            visit.id, "time_window_unreachable",
            f"no eligible clinician can arrive inside {windows}",
        )
    reason = "pinned_clinician_unavailable" if visit.pinned_clinician else "shift_too_short"
    return Unassigned(
        visit.id, reason,
        "the visit does not fit between shift start and shift end (plus overtime)"
        + (f" of {visit.pinned_clinician}" if visit.pinned_clinician else
           " of any eligible clinician"),
    )


def _window_reachable(timer: RouteTimer, clinician: Clinician, visit: Visit) -> bool:
    earliest = clinician.shift_start + timer.leg(clinician.start_location, visit.location).travel_s
    return any(hi >= earliest and lo <= clinician.latest_end for lo, hi in visit.windows)


def explain_dropped(
    problem: Problem,
    timer: RouteTimer,
    routes: Mapping[str, Sequence[Visit]],
    visit: Visit,
    fixed_starts: Mapping[str, int] | None = None,
) -> Unassigned:
    """Reason for a visit the plan left out although it could be served alone."""
    for clinician in eligible_clinicians(problem, visit):
        route = list(routes.get(clinician.id, ()))
        for pos in range(len(route) + 1):
            trial = route[:pos] + [visit] + route[pos:]
            if timer.time_route(clinician, trial, fixed_starts=fixed_starts) is not None:
                return Unassigned(
                    visit.id, "not_worth_it",
                    f"fits {clinician.id}'s day, but serving it costs more than leaving it "
                    f"out (acuity {visit.acuity}); raise its acuity or mark it mandatory",
                )
    return Unassigned(
        visit.id, "capacity",
        "every eligible clinician's day is full (time, visits or workload points)",
    )


def linked_groups(problem: Problem) -> list[list[str]]:
    """Visit ids tied by links, as connected groups (each assigned together or not)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in problem.links:
        ids = link.visit_ids
        for other in ids[1:]:
            parent[find(other)] = find(ids[0])
    groups: dict[str, list[str]] = {}
    for vid in parent:
        groups.setdefault(find(vid), []).append(vid)
    return [sorted(g) for g in groups.values()]


def precedence_links(problem: Problem) -> list[Precedence]:
    """The precedence links of ``problem``."""
    return [link for link in problem.links if isinstance(link, Precedence)]


def _hhmm(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}"
