"""The contract's JSON envelopes: one builder for success, one for errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Response, jsonify

DEFAULT_MESSAGE = "Operation completed successfully"
# orjson writes an aware UTC datetime as `iso_timestamp` does (decision 0145).
UTC_TIMESTAMPS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS


def iso_timestamp(moment: datetime | None = None) -> str:
    """RFC 3339 in UTC with a `Z` suffix, to the second: `2026-01-01T00:00:00Z` (the year in
    four digits, `0999-…`, as RFC 3339 and orjson write it)."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:-6] + "Z"


def success(
    data: Any = None, message: str = DEFAULT_MESSAGE, status: int = 200
) -> tuple[Response, int]:
    """A success envelope: `{"success": true, "data", "message", "timestamp"}`."""
    body = {"success": True, "data": data, "message": message, "timestamp": iso_timestamp()}
    return jsonify(body), status


def success_response(data: Any, message: str = DEFAULT_MESSAGE, status: int = 200) -> Response:
    """`success_bytes` as a response: for reads whose shape is fixed, which skip the response
    model's validation and dump (decision 0123)."""
    return Response(success_bytes(data, message), status=status, mimetype="application/json")


def success_bytes(data: Any, message: str = DEFAULT_MESSAGE) -> bytes:
    """The body `success` answers for data that is JSON-ready but for its datetimes, in one
    orjson call. The datetimes must be aware and in UTC, as `UTCDateTime` reads every stored
    one: orjson writes those as `iso_timestamp` does (another zone would keep its offset)."""
    body = {"success": True, "data": data, "message": message, "timestamp": iso_timestamp()}
    return orjson.dumps(body, option=UTC_TIMESTAMPS)


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error envelope body: `{"success": false, "error": {code, message, details}, ...}`."""
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": details or {}},
        "timestamp": iso_timestamp(),
    }
