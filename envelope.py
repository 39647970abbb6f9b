"""The contract's JSON envelopes: one builder for success, one for errors."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from flask import Response, jsonify

DEFAULT_MESSAGE = "Operation completed successfully"
FOUR_DIGIT_YEARS = 1000


def iso_timestamp(moment: datetime | None = None) -> str:
    """ISO 8601 in UTC with a `Z` suffix, to the second: `2026-01-01T00:00:00Z`."""
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    if moment.year < FOUR_DIGIT_YEARS:  # isoformat pads years to four digits, strftime not
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    # What strftime("%Y-%m-%dT%H:%M:%SZ") writes, in a quarter less time (a list page writes 60).
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
    """The body `success` answers for data that is JSON-ready but for its datetimes (written as
    `iso_timestamp` writes them), in one orjson call."""
    body = {"success": True, "data": data, "message": message, "timestamp": iso_timestamp()}
    return orjson.dumps(body, default=_timestamp, option=orjson.OPT_PASSTHROUGH_DATETIME)


def _timestamp(value: object) -> str:
    if isinstance(value, datetime):
        return iso_timestamp(value)
    raise TypeError(f"{type(value).__name__} is not JSON-ready")


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error envelope body: `{"success": false, "error": {code, message, details}, ...}`."""
    return {
        "success": False,
        "error": {"code": code, "message": message, "details": details or {}},
        "timestamp": iso_timestamp(),
    }
