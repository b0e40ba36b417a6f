"""Every error the API answers, as RFC 9457 problem details (``application/problem+json``).

One table, :data:`PROBLEMS`, maps an exception type to its status and title;
:func:`install_error_handlers` registers it. A problem body is::

    {"type": "about:blank", "title": "Invalid request", "status": 422,
     "detail": "visits[0].acuity: Input should be less than or equal to 5 (got 7)",
     "field": "visits[0].acuity", "value": 7}

plus fields such as ``id`` (the visit or clinician the error is about). Bad
input always gets a 4xx naming the field and the value, never a 500. Bodies
and values are never logged here: they may hold patient ids and locations.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

import pydantic
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

import geo
from app.graph_source import GraphNotReady
from routing.exceptions import InvalidProblem, InvalidSolution, RoutingError

PROBLEM_JSON = "application/problem+json"

log = logging.getLogger("careroute.errors")


class ApiError(Exception):
    """An error answer chosen by the service: ``status``, ``title``, ``detail`` and fields.

    ``fields`` become extra members of the problem body (``visit_id=...``);
    ``headers`` (keyword only) are sent with it (``WWW-Authenticate``, ``ETag``).
    """

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        type_: str = "about:blank",
        headers: dict[str, str] | None = None,
        **fields: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.headers = headers
        self.fields = fields


class ProblemDetails(pydantic.BaseModel):
    """RFC 9457 problem details; extra members (``field``, ``value``, ``id``) name the culprit."""

    model_config = pydantic.ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = None
    value: Any = None


def _doc(description: str) -> dict[str, Any]:
    return {"description": description,
            "content": {PROBLEM_JSON: {"schema": ProblemDetails.model_json_schema()}}}


#: The error answers every authenticated endpoint may give (for the OpenAPI document).
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: _doc("No, unknown or revoked API key (`WWW-Authenticate: Bearer`)."),
    403: _doc("The key's role may not do this, or the data is another clinician's."),
    422: _doc("Invalid input: `field` and `value` name what was wrong; nothing was stored."),
}


#: Exception type -> (status, title). Looked up along the exception's MRO, so the
#: most specific entry wins (SnapTooFar before GeoError).
PROBLEMS: dict[type[BaseException], tuple[int, str]] = {
    RequestValidationError: (422, "Invalid request"),
    pydantic.ValidationError: (422, "Invalid request"),
    InvalidProblem: (422, "Invalid problem"),
    InvalidSolution: (422, "Invalid solution"),
    RoutingError: (422, "Invalid problem"),
    geo.BadLocation: (422, "Invalid location"),
    geo.SnapTooFar: (422, "Location too far from a road"),
    geo.UnreachableLocation: (422, "Location unreachable by road"),
    geo.BadOsmFile: (503, "Road graph unavailable"),
    GraphNotReady: (503, "Road graph not loaded yet"),
    geo.GeoError: (422, "Invalid location"),
    OperationalError: (503, "Database unavailable"),
    IntegrityError: (409, "Conflict"),
    StarletteHTTPException: (0, ""),  # status and title from the exception itself
    ApiError: (0, ""),  # status and title from the exception itself
}

# Attributes of routing/geo exceptions copied into the problem body, renamed.
_ATTRIBUTE_FIELDS = {
    "field": "field",
    "obj_id": "id",
    "location_id": "id",
    "from_id": "from_id",
    "to_id": "to_id",
    "distance_m": "distance_m",
    "max_snap_m": "max_snap_m",
}


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **fields: Any,
) -> JSONResponse:
    """A problem+json response (fields with value None are left out)."""
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in fields.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _lookup(exc: BaseException) -> tuple[int, str]:
    for klass in type(exc).__mro__:
        if klass in PROBLEMS:
            return PROBLEMS[klass]
    return 500, "Internal server error"


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# -- validation errors: name the field and the value ------------------------------

def field_path(loc: Sequence[str | int]) -> str:
    """``("body", "visits", 0, "acuity")`` -> ``visits[0].acuity``."""
    parts = list(loc)
    if len(parts) > 1 and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        else:
            out += f".{p}" if out else str(p)
    return out or "body"


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def validation_problem(errors: Sequence[Any]) -> JSONResponse:
    """422 for pydantic/FastAPI errors: the first one in ``detail``, all in ``errors``."""
    items = []
    for err in errors:
        message = str(err.get("msg", "is not valid")).removeprefix("Value error, ")
        if err.get("type") == "json_invalid":
            reason = (err.get("ctx") or {}).get("error", "")
            items.append({"field": "body", "message": f"is not valid JSON ({reason})".replace(
                " ()", "")})
            continue
        item: dict[str, Any] = {"field": field_path(err.get("loc", ())), "message": message}
        if err.get("type") != "missing" and "input" in err:
            value = err["input"]
            item["value"] = value if _scalar(value) else _short(value)
        items.append(item)
    if not items:
        return problem_response(422, "Invalid request", "the request is not valid")
    first = items[0]
    detail = f"{first['field']}: {first['message']}"
    if "value" in first and str(first["value"]) not in first["message"]:
        detail += f" (got {_short(first['value'])})"
    if len(items) > 1:
        detail += f"; and {len(items) - 1} more error(s)"
    return problem_response(
        422, "Invalid request", detail, field=first["field"], value=first.get("value"),
        errors=items,
    )


# -- handlers -----------------------------------------------------------------------

def _fields_of(exc: BaseException) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for attr, name in _ATTRIBUTE_FIELDS.items():
        value = getattr(exc, attr, None)
        if value is not None and name not in fields:
            fields[name] = value if _scalar(value) else str(value)
    return fields


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ApiError):
        return problem_response(exc.status, exc.title, exc.detail, type_=exc.type,
                                headers=exc.headers, **exc.fields)
    if isinstance(exc, RequestValidationError | pydantic.ValidationError):
        return validation_problem(exc.errors())
    if isinstance(exc, StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else _phrase(exc.status_code)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no endpoint {request.method} {request.url.path}"
        elif exc.status_code == 405 and detail == "Method Not Allowed":
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(exc.status_code, _phrase(exc.status_code), detail,
                                headers=getattr(exc, "headers", None))
    status, title = _lookup(exc)
    if status >= 500:
        # A class name only: the message of a database error can hold row values.
        log.error("%s on %s %s", type(exc).__name__, request.method, request.scope.get("path"))
        detail = "the server failed to answer; the error was logged"
        if isinstance(exc, geo.BadOsmFile):
            detail = "the road graph cannot be loaded from the configured OSM source"
        elif isinstance(exc, GraphNotReady):
            detail = "the road graph is still loading; retry in a few seconds"
        elif isinstance(exc, OperationalError):
            detail = "the database is unreachable; retry later"
        headers = {"Retry-After": "5"} if status == 503 else None
        return problem_response(status, title, detail, headers=headers)
    if isinstance(exc, SQLAlchemyError):  # its text holds SQL and row values: never echo it
        return problem_response(status, title, "a concurrent request changed the same "
                                "records; retry")
    return problem_response(status, title, str(exc), **_fields_of(exc))


async def _handle_unexpected(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, SQLAlchemyError):
        # A database error's text carries the statement's parameters (patient data).
        log.error("unhandled %s on %s %s (database error; parameters not logged)",
                  type(exc).__name__, request.method, request.scope.get("path"))
    else:
        log.exception("unhandled %s on %s %s", type(exc).__name__, request.method,
                      request.scope.get("path"))
    return problem_response(500, "Internal server error",
                            "the server failed to answer; the error was logged")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every exception of :data:`PROBLEMS` (and any other) as problem+json."""
    for exc_type in PROBLEMS:
        app.add_exception_handler(exc_type, _handle)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _handle_unexpected)
