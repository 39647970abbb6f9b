"""MongoDB documents on disk: mongoexport JSON (lines or array; Extended JSON v2 canonical or
relaxed, v1 too) and mongodump BSON, read and written with pymongo's `bson` (no server needed)."""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import bson
from bson import json_util
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.errors import BSONError
from bson.json_util import JSONMode, JSONOptions

# Aware UTC datetimes; dates outside Python's range stay `DatetimeMS` instead of failing.
CANONICAL = JSONOptions(
    json_mode=JSONMode.CANONICAL,
    tz_aware=True,
    tzinfo=UTC,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)
RELAXED = JSONOptions(
    json_mode=JSONMode.RELAXED,
    tz_aware=True,
    tzinfo=UTC,
    datetime_conversion=DatetimeConversion.DATETIME_AUTO,
)
CODEC_OPTIONS: CodecOptions[dict[str, Any]] = CodecOptions(
    tz_aware=True, tzinfo=UTC, datetime_conversion=DatetimeConversion.DATETIME_AUTO
)


class UnreadableFile(Exception):
    """The file as a whole cannot be read (a broken JSON array)."""


@dataclass(frozen=True)
class SourceDocument:
    """One document of a source file and where it was (`line` for JSON lines, else `index`)."""

    position: dict[str, int]
    document: dict[str, Any] | None
    error: str | None = None

    def describe(self) -> str:
        """`line 12` or `index 3`, for messages."""
        return ", ".join(f"{key} {value}" for key, value in self.position.items())


def read_documents(path: Path) -> Iterator[SourceDocument]:
    """Every document of a `.bson` dump or a mongoexport JSON file, in file order."""
    if path.suffix == ".bson":
        yield from _read_bson(path)
        return
    with path.open(encoding="utf-8") as stream:
        first = stream.read(4096).lstrip()[:1]
        stream.seek(0)
        if first == "[":
            yield from _read_json_array(stream.read())
        else:
            yield from _read_json_lines(stream)


def _read_json_lines(lines: Iterator[str] | Any) -> Iterator[SourceDocument]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        position = {"line": number}
        try:
            document = json.loads(line, object_hook=_object_hook)
        except (ValueError, TypeError, BSONError) as exc:
            yield SourceDocument(position, None, f"not valid Extended JSON: {exc}")
            continue
        yield _as_document(position, document)


def _read_json_array(text: str) -> Iterator[SourceDocument]:
    try:
        documents = json.loads(text, object_hook=_object_hook)
    except (ValueError, TypeError, BSONError) as exc:
        raise UnreadableFile(f"not a valid Extended JSON array: {exc}") from exc
    for index, document in enumerate(documents):
        yield _as_document({"index": index}, document)


def _object_hook(value: dict[str, Any]) -> Any:
    """json_util's hook, with a fast path for relaxed `$date` strings (mongoexport's default),
    which json_util parses with the much slower strptime."""
    if len(value) == 1 and isinstance(value.get("$date"), str):
        with contextlib.suppress(ValueError):  # an unusual form: json_util knows them all
            moment = datetime.fromisoformat(value["$date"])
            if moment.tzinfo is not None and moment.microsecond % 1000 == 0:
                return moment.astimezone(UTC)
    return json_util.object_hook(value, json_options=CANONICAL)


def _read_bson(path: Path) -> Iterator[SourceDocument]:
    with path.open("rb") as stream:
        index = 0
        try:
            for document in bson.decode_file_iter(stream, codec_options=CODEC_OPTIONS):
                yield SourceDocument({"index": index}, document)
                index += 1
        except BSONError as exc:
            # A BSON stream cannot be resynchronised after a corrupt document.
            yield SourceDocument({"index": index}, None, f"corrupt BSON, reading stopped: {exc}")


def _as_document(position: dict[str, int], value: Any) -> SourceDocument:
    if isinstance(value, dict):
        return SourceDocument(position, value)
    return SourceDocument(position, None, "not a document (JSON object)")


def to_json_line(document: dict[str, Any], *, relaxed: bool = False) -> str:
    """One mongoimport-ready Extended JSON line (canonical unless `relaxed`)."""
    return json_util.dumps(document, json_options=RELAXED if relaxed else CANONICAL)


def to_stored(value: dict[str, Any]) -> dict[str, Any]:
    """Plain JSON for a JSON column that keeps every BSON type (canonical Extended JSON)."""
    stored: dict[str, Any] = _to_canonical(value)
    return stored


def _to_canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _to_canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_to_canonical(item) for item in value]
    if value is None or isinstance(value, str | bool):
        return value
    return _to_canonical(json_util.default(value, json_options=CANONICAL))


def from_stored(value: dict[str, Any]) -> dict[str, Any]:
    """The BSON values `to_stored` kept."""
    restored: dict[str, Any] = _from_canonical(value)
    return restored


def _from_canonical(value: Any) -> Any:
    # Innermost first, as json.loads applies json_util's object hook.
    if isinstance(value, dict):
        children = {key: _from_canonical(item) for key, item in value.items()}
        return json_util.object_hook(children, json_options=CANONICAL)
    if isinstance(value, list):
        return [_from_canonical(item) for item in value]
    return value


def same_value(left: Any, right: Any) -> bool:
    """True when two BSON values are identical, type included (1, Int64(1), 1.0 and True
    differ); datetimes compare to the millisecond, as BSON stores them."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict):
        return left.keys() == right.keys() and all(same_value(left[k], right[k]) for k in left)
    if isinstance(left, list):
        return len(left) == len(right) and all(map(same_value, left, right))
    if isinstance(left, datetime):
        return bool(_milliseconds(left) == _milliseconds(right))
    if isinstance(left, float) and math.isnan(left):
        return math.isnan(right)
    return bool(left == right) and (not isinstance(left, float) or _sign(left) == _sign(right))


def _milliseconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


def _sign(number: float) -> float:
    return math.copysign(1.0, number)
