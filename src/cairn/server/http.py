"""JSON in, JSON out, and every failure as MLflow's error JSON with MLflow's HTTP status.

Route modules use :func:`read_json` and :func:`json_response` and raise :class:`CairnError`;
they never build error responses themselves. Floats that JSON cannot carry (NaN, ±inf) travel as
the strings MLflow's protobuf JSON uses: ``"NaN"``, ``"Infinity"``, ``"-Infinity"``.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import msgspec
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from cairn.errors import (
    BAD_REQUEST,
    ENDPOINT_NOT_FOUND,
    INTERNAL_ERROR,
    INVALID_PARAMETER_VALUE,
    CairnError,
)

_log = logging.getLogger("cairn.server")
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()
MAX_JSON_BODY = 16 * 1024 * 1024


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return _encoder.encode(content)


def json_response(content: Any = None, status_code: int = 200) -> JSONResponse:
    return JSONResponse({} if content is None else content, status_code=status_code)


def wire_float(value: float) -> float | str:
    """A float as MLflow's JSON carries it."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def parse_float(value: Any, field: str) -> float:
    """A double from JSON: a number, or one of the strings protobuf JSON allows for one."""
    if type(value) is float or (type(value) is int):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)  # also "NaN", "Infinity", "-Infinity", "1e3"
        except ValueError:
            pass
    raise CairnError.invalid(f"Invalid value {value!r} for parameter '{field}': expected a number.")


def parse_int(value: Any, field: str) -> int:
    """An int64 from JSON: a number, or a string of digits (protobuf JSON allows both)."""
    if type(value) is int:
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if type(value) is float and value.is_integer():
        return int(value)
    raise CairnError.invalid(
        f"Invalid value {value!r} for parameter '{field}': expected an integer."
    )


async def read_json(request: Request) -> dict[str, Any]:
    """The request's JSON object; GET requests' query parameters become one."""
    if request.method in ("GET", "HEAD"):
        return _query_dict(request)
    body = await request.body()
    if len(body) > MAX_JSON_BODY:
        raise CairnError(
            f"Request body is {len(body)} bytes; the limit is {MAX_JSON_BODY}.", BAD_REQUEST
        )
    if not body.strip():
        return _query_dict(request)
    try:
        data = _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise CairnError(f"Malformed JSON in the request body: {exc}", BAD_REQUEST) from None
    if not isinstance(data, dict):
        raise CairnError("The request body must be a JSON object.", BAD_REQUEST)
    return data


def _query_dict(request: Request) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in request.query_params.multi_items():
        if key in data:
            existing = data[key]
            data[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            data[key] = value
    return data


def require(data: dict[str, Any], field: str, kind: type = str) -> Any:
    """A required field of the given JSON type (str, list, dict, bool)."""
    value = data.get(field)
    if value is None or (value == "" and kind is str):
        raise CairnError.invalid(f"Missing value for required parameter '{field}'.")
    if not isinstance(value, kind):
        raise CairnError.invalid(
            f"Invalid value {value!r} for parameter '{field}': expected {kind.__name__}."
        )
    return value


def optional(data: dict[str, Any], field: str, kind: type = str, default: Any = None) -> Any:
    value = data.get(field)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise CairnError.invalid(
            f"Invalid value {value!r} for parameter '{field}': expected {kind.__name__}."
        )
    return value


def as_list(value: Any) -> list[Any]:
    """Query strings repeat a key for lists; JSON sends a list. Accept both."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


# ------------------------------------------------------------------ exception handlers


async def cairn_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CairnError)
    if exc.http_status >= 500:
        _log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
    return json_response(exc.to_json(), exc.http_status)


async def http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = {404: ENDPOINT_NOT_FOUND, 405: BAD_REQUEST}.get(exc.status_code, BAD_REQUEST)
    if exc.status_code >= 500:
        code = INTERNAL_ERROR
    message = exc.detail if exc.status_code != 404 else f"No endpoint at {request.url.path}"
    return json_response({"error_code": code, "message": message}, exc.status_code)


async def unexpected_error_handler(request: Request, exc: Exception) -> Response:
    _log.exception("Unexpected error in %s %s", request.method, request.url.path)
    return json_response(
        {"error_code": INTERNAL_ERROR, "message": f"Internal error: {type(exc).__name__}"}, 500
    )


EXCEPTION_HANDLERS = {
    CairnError: cairn_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}

__all__ = [
    "INVALID_PARAMETER_VALUE",
    "json_response",
    "optional",
    "parse_float",
    "parse_int",
    "read_json",
    "require",
    "wire_float",
]
