"""Stateless solving endpoint (thin: the rules are in service.py)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request

from app.deps import Principal, SettingsDep, require
from app.solve import service

router = APIRouter(tags=["solve"])

Solver = Annotated[Principal, Depends(require("scheduler", "dispatcher"))]

_EXAMPLE = {
    "locations": [{"lat": 39.96, "lon": -83.0}, {"lat": 39.98, "lon": -82.98}],
    "matrix": {"durations": [[0, 600], [620, 0]], "distances": [[0, 5100], [5200, 0]]},
    "clinicians": [{"id": "rn-ana", "skills": ["RN"], "start_location": 0,
                    "shift_start": 28800, "shift_end": 61200}],
    "visits": [{"id": "v-1001", "location": 1, "duration": 2700,
                "time_windows": [[32400, 43200]], "required_skills": ["RN"], "acuity": 4}],
    "options": {"time_limit": 2},
}


@router.post(
    "/v1/solve",
    responses={200: {"description": "A spec/problem.md solution.",
                     "content": {"application/json": {"example": {
                         "routes": [], "unassigned": [], "kpis": {}}}}},
               422: {"description": "The problem breaks problem.md (names the field)."}},
)
def solve(
    data: Annotated[dict[str, Any], Body(openapi_examples={"two locations": {
        "summary": "one nurse, one visit", "value": _EXAMPLE}})],
    settings: SettingsDep, request: Request, _who: Solver,
) -> dict[str, Any]:
    """Solve a spec/problem.md problem now (no matrix: road times from the server's map)."""
    return service.solve(data, settings, request.app.state.graph)
