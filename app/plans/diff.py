"""What changed between two versions of a plan, per clinician, and whom to call about it.

Pure: it compares two stored plan documents (``PlanVersionRow.solution``) and
knows nothing of the database. A visit *moved* to another clinician is
``removed`` from one route and ``added`` to the other. A route is
``reordered`` when the visits it keeps (in both versions) come in another
order. A visit is ``shifted`` when its start moved by more than the
tolerance, wherever it is served. A patient needs a call when their visit
was shifted, or when they lost it (served before, now unassigned or gone
from the plan).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from routing.solver import Disruption

#: Default tolerance (s): a start that moves less than this needs no call. It is
#: the re-plan's own default ``shift_tolerance_s`` (moving a promised start by
#: that much costs nothing), so the two cannot drift apart.
DEFAULT_TOLERANCE_S = Disruption(previous={}).shift_tolerance_s


@dataclass(frozen=True)
class _Stop:
    clinician_id: str
    start: int
    patient_id: str | None


def _stops(doc: dict[str, Any]) -> dict[str, _Stop]:
    return {s["visit_id"]: _Stop(r["clinician_id"], s["start"], s.get("patient_id"))
            for r in doc.get("routes", []) for s in r["stops"]}


def _orders(doc: dict[str, Any]) -> dict[str, list[str]]:
    return {r["clinician_id"]: [s["visit_id"] for s in r["stops"]]
            for r in doc.get("routes", [])}


def _unassigned(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {u["visit_id"]: u for u in doc.get("unassigned", [])}


def tolerance_of(doc: dict[str, Any]) -> int:
    """The shift tolerance (s) a plan document was re-planned with, else the default.

    A re-plan stores its disruption weights in ``replan.disruption``; version 1,
    and versions stored before the weights were recorded, have none.
    """
    weights = (doc.get("replan") or {}).get("disruption") or {}
    return int(weights.get("shift_tolerance_s", DEFAULT_TOLERANCE_S))


def diff_documents(before: dict[str, Any], after: dict[str, Any], *,
                   tolerance_s: int = DEFAULT_TOLERANCE_S) -> dict[str, Any]:
    """The changes from plan document ``before`` to ``after`` (``{}`` for version 0).

    Returns a dict with ``clinicians`` (one entry per clinician routed in
    either version: ``added``, ``removed``, ``reordered``, ``order_before``,
    ``order_after``, ``shifted``, ``changed``), ``unassigned`` (``added``,
    ``removed``), ``cancelled`` (visits gone from the plan), ``new_visits``
    (visits not in ``before`` at all), ``calls`` and ``patients_to_call``.
    """
    s0, s1 = _stops(before), _stops(after)
    o0, o1 = _orders(before), _orders(after)
    u0, u1 = _unassigned(before), _unassigned(after)
    known0, known1 = set(s0) | set(u0), set(s1) | set(u1)

    shifted: dict[str, dict[str, Any]] = {}
    for vid, new in s1.items():
        old = s0.get(vid)
        if old is not None and abs(new.start - old.start) > tolerance_s:
            shifted[vid] = {"visit_id": vid, "patient_id": new.patient_id or old.patient_id,
                            "before": old.start, "after": new.start,
                            "delta": new.start - old.start,
                            "clinician_before": old.clinician_id}

    clinicians = []
    for cid in sorted(set(o0) | set(o1)):
        before_ids, after_ids = o0.get(cid, []), o1.get(cid, [])
        kept = set(before_ids) & set(after_ids)
        kept_before = [v for v in before_ids if v in kept]
        kept_after = [v for v in after_ids if v in kept]
        added = [v for v in after_ids if v not in kept]
        removed = [v for v in before_ids if v not in kept]
        moved = [shifted[v] for v in after_ids if v in shifted]
        reordered = kept_before != kept_after
        clinicians.append({
            "clinician_id": cid, "added": added, "removed": removed, "reordered": reordered,
            "order_before": before_ids, "order_after": after_ids, "shifted": moved,
            "changed": bool(added or removed or reordered or moved),
        })

    calls: list[dict[str, Any]] = []
    for vid, old in s0.items():
        if vid in shifted:
            entry = shifted[vid]
            calls.append({"patient_id": entry["patient_id"], "visit_id": vid,
                          "reason": "time_changed", "before": old.start,
                          "after": entry["after"]})
        elif vid not in s1:
            gone = vid not in known1
            patient = old.patient_id or (u1.get(vid) or {}).get("patient_id")
            calls.append({"patient_id": patient, "visit_id": vid,
                          "reason": "cancelled" if gone else "unassigned",
                          "before": old.start, "after": None})
    patients = sorted({c["patient_id"] for c in calls if c["patient_id"] is not None})
    return {
        "tolerance_s": tolerance_s,
        "clinicians": clinicians,
        "unassigned": {"added": sorted(set(u1) - set(u0)), "removed": sorted(set(u0) - set(u1))},
        "cancelled": sorted(known0 - known1),
        "new_visits": sorted(known1 - known0),
        "calls": calls,
        "patients_to_call": patients,
    }
