"""Strict JSON in, compact JSON out, both through orjson.

orjson refuses `NaN`/`Infinity` and input nested deeper than 1024 levels with a `ValueError`
(where Python's `json` accepts the constants and raises `RecursionError`, which a stock Flask app
turns into a 500), so `AppRequest` reports every one as 400 `BAD_REQUEST`. Output keeps key
order; types orjson does not know natively go through Flask's own `default`.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Request, Response
from flask.json.provider import DefaultJSONProvider

from errors import BadRequest, UnsupportedMediaType

# Datetimes and dataclasses keep Flask's rendering (HTTP dates, dataclasses.asdict).
DUMP_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


class StrictJSONProvider(DefaultJSONProvider):
    """Rejects non-standard constants and runaway nesting; keeps key order in output."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return self.dump_bytes(obj).decode()

    def dump_bytes(self, obj: Any) -> bytes:
        """The compact UTF-8 encoding of `obj`."""
        return orjson.dumps(obj, default=DefaultJSONProvider.default, option=DUMP_OPTIONS)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return orjson.loads(s)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        """`jsonify`: serialise straight to bytes, skipping the str round trip."""
        obj = self._prepare_response_obj(args, kwargs)
        return Response(self.dump_bytes(obj), mimetype=self.mimetype)


class AppRequest(Request):
    """A request whose unparseable JSON body is the contract's `BAD_REQUEST`, and a body of
    another content type where JSON was expected `UNSUPPORTED_MEDIA_TYPE`."""

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        if e is None:  # Flask's signal for "not JSON at all"
            raise UnsupportedMediaType()
        raise BadRequest()
