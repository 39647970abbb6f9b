"""Strict JSON in, compact JSON out.

Python's `json` accepts `NaN`/`Infinity` and raises `RecursionError` (not `ValueError`) on deeply
nested input, which a stock Flask app turns into a 500. Here both are ordinary parse failures,
which `AppRequest` reports as 400 `BAD_REQUEST`.
"""

from __future__ import annotations

import json
from typing import Any, NoReturn

from flask import Request
from flask.json.provider import DefaultJSONProvider

from errors import BadRequest, UnsupportedMediaType


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONProvider(DefaultJSONProvider):
    """Rejects non-standard constants and runaway nesting; keeps key order in output."""

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("parse_constant", _reject_constant)
        try:
            return json.loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply") from exc


class AppRequest(Request):
    """A request whose unparseable JSON body is the contract's `BAD_REQUEST`, and a body of
    another content type where JSON was expected `UNSUPPORTED_MEDIA_TYPE`."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:  # Flask's signal for "not JSON at all"
            raise UnsupportedMediaType()
        raise BadRequest()
