"""GET /v1/plans/{id}/versions/{n}/diff and the pure diff of two plan documents."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

import geo
from app import db
from app.audit.service import latest
from app.plans.diff import diff_documents
from app.settings import Settings
from tests.app.conftest import auth
from tests.app.test_events import (  # noqa: F401  (fixtures)
    accepted_and_replanned,
    doc,
    orders,
    planned,
    post,
    stops,
)
from tests.app.test_plans import H, columbus, node_near  # noqa: F401  (fixtures)


@pytest.fixture(autouse=True)
def _graph_cached_first(columbus: geo.RoadGraph) -> None:  # noqa: F811
    """Cache the road graph before any app starts loading it in the background."""


def _doc(routes: dict[str, list[tuple[str, int]]], unassigned: tuple[str, ...] = ()
         ) -> dict[str, Any]:
    """A plan document: clinician -> [(visit id, start)]; patients are p-<visit number>."""
    return {
        "routes": [{"clinician_id": cid, "stops": [
            {"visit_id": vid, "start": start, "patient_id": "p" + vid[1:]}
            for vid, start in visits]} for cid, visits in routes.items()],
        "unassigned": [{"visit_id": vid, "reason": "capacity", "detail": "",
                        "patient_id": "p" + vid[1:]} for vid in unassigned],
    }


def test_diff_of_a_small_day_by_hand() -> None:
    """Moved, reordered, shifted, unassigned, cancelled and new visits, and whom to call."""
    before = _doc({"ana": [("v-1", 9 * H), ("v-2", 10 * H), ("v-3", 11 * H)],
                   "ben": [("v-4", 9 * H), ("v-5", 10 * H)]}, unassigned=("v-6",))
    after = _doc({"ana": [("v-2", 10 * H - 900), ("v-1", 10 * H + 1200)],  # reordered
                  "ben": [("v-4", 9 * H), ("v-3", 13 * H), ("v-6", 14 * H)]},  # v-3 moved
                 unassigned=("v-5", "v-7"))  # v-5 lost, v-7 new
    d = diff_documents(before, after)
    ana, ben = d["clinicians"]
    assert (ana["clinician_id"], ana["added"], ana["removed"], ana["reordered"]) == (
        "ana", [], ["v-3"], True)
    assert [s["visit_id"] for s in ana["shifted"]] == ["v-1"]  # v-2 moved exactly 900 s
    assert ana["shifted"][0]["delta"] == H + 1200
    assert (ben["added"], ben["removed"], ben["reordered"]) == (["v-3", "v-6"], ["v-5"], False)
    assert [(s["visit_id"], s["clinician_before"]) for s in ben["shifted"]] == [("v-3", "ana")]
    assert d["unassigned"] == {"added": ["v-5", "v-7"], "removed": ["v-6"]}
    assert d["cancelled"] == [] and d["new_visits"] == ["v-7"]
    assert [(c["visit_id"], c["reason"]) for c in d["calls"]] == [
        ("v-1", "time_changed"), ("v-3", "time_changed"), ("v-5", "unassigned")]
    assert d["patients_to_call"] == ["p-1", "p-3", "p-5"]

    gone = diff_documents(before, _doc({"ana": [("v-1", 9 * H)]}), tolerance_s=0)
    assert "v-2" in gone["cancelled"] and {"visit_id": "v-2", "patient_id": "p-2",
                                           "reason": "cancelled", "before": 10 * H,
                                           "after": None} in gone["calls"]
    assert diff_documents(before, before)["patients_to_call"] == []
    assert not any(c["changed"] for c in diff_documents(before, before)["clinicians"])


def test_diff_matches_the_two_versions(
    app: FastAPI, client: Any, keys: dict[str, str], settings: Settings,
    planned: str,  # noqa: F811
    columbus: geo.RoadGraph,  # noqa: F811
) -> None:
    """After a sick call and a new visit, the diff of version 2 is what the versions say."""
    v1 = doc(app, planned, 1)
    now = 10 * H
    sick = max(orders(v1), key=lambda cid: len(orders(v1)[cid]))
    accepted_and_replanned(app, settings, post(client, keys["dispatcher"], planned, [
        {"type": "clinician_unavailable", "clinician_id": sick, "from": now},
        {"type": "visit_added", "visit": {
            "id": "v-new", "patient_id": "p-new", "location": node_near(columbus, -0.5, 0.5),
            "duration": 1800, "required_skills": ["RN"], "acuity": 4}}], now=now))
    v2 = doc(app, planned, 2)
    h = auth(keys["dispatcher"])
    r = client.get(f"/v1/plans/{planned}/versions/2/diff", headers=h)
    assert r.status_code == 200, r.text
    d = r.json()
    assert (d["plan_id"], d["version"], d["against"], d["tolerance_s"]) == (planned, 2, 1, 900)
    o1, o2 = orders(v1), orders(v2)
    for c in d["clinicians"]:
        cid = c["clinician_id"]
        assert c["order_before"] == o1.get(cid, []) and c["order_after"] == o2.get(cid, [])
        assert set(c["added"]) == set(o2.get(cid, [])) - set(o1.get(cid, []))
        assert set(c["removed"]) == set(o1.get(cid, [])) - set(o2.get(cid, []))
    s1, s2 = stops(v1), stops(v2)
    moved = {vid for vid in s1 if vid in s2 and abs(s2[vid][1] - s1[vid][1]) > 900}
    lost = {vid for vid in s1 if vid not in s2}
    assert {c["visit_id"] for c in d["calls"]} == moved | lost
    assert set(d["patients_to_call"]) == {f"p-{vid[2:]}" for vid in moved | lost}
    assert d["new_visits"] == ["v-new"]
    sick_diff = next(c for c in d["clinicians"] if c["clinician_id"] == sick)
    assert sick_diff["changed"] == (o1[sick] != o2.get(sick, []))

    loose = client.get(f"/v1/plans/{planned}/versions/2/diff", headers=h,
                       params={"tolerance_s": 86_400}).json()
    assert {c["reason"] for c in loose["calls"]} <= {"unassigned", "cancelled"}
    first = client.get(f"/v1/plans/{planned}/versions/1/diff", headers=h).json()
    assert first["against"] == 0 and set(first["new_visits"]) == set(s1) | {
        u["visit_id"] for u in v1["unassigned"]}
    with db.transaction(app.state.engine) as session:
        audit = [(a.action, a.role, list(a.record_ids)) for a in latest(session, limit=5)]
    assert any(action == "plan.diff" and ids[0] == planned for action, _, ids in audit)


def test_diff_errors_and_roles(
    client: Any, keys: dict[str, str], planned: str,  # noqa: F811
) -> None:
    """No such version or plan: 404; version 0 or a negative tolerance: 422; clinician: 403."""
    h = auth(keys["scheduler"])
    r = client.get(f"/v1/plans/{planned}/versions/2/diff", headers=h)
    assert r.status_code == 404 and "1..1" in r.json()["detail"]
    assert client.get("/v1/plans/plan_nope/versions/1/diff", headers=h).status_code == 404
    r = client.get(f"/v1/plans/{planned}/versions/0/diff", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "number"
    r = client.get(f"/v1/plans/{planned}/versions/1/diff", headers=h,
                   params={"tolerance_s": -1})
    assert r.status_code == 422 and r.json()["field"] == "tolerance_s"
    r = client.get(f"/v1/plans/{planned}/versions/1/diff", headers=auth(keys["clinician"]))
    assert r.status_code == 403
    assert client.get(f"/v1/plans/{planned}/versions/1/diff").status_code == 401
