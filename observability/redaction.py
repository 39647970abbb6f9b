"""Scrubbing secrets out of log records: passwords, tokens, cookies, `Authorization` values.

Two layers: values under a sensitive key (in `extra=` fields, dicts and lists) are replaced
whole, and free text (the rendered message, exception and stack texts) is searched for
`key=value`/`"key": "value"` pairs with a sensitive key, `Cookie:`/`Authorization:` header
lines, `Bearer`/`Basic` credentials, JWT-shaped strings and passwords inside URLs.
"""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "[REDACTED]"

_KEYWORDS = (
    r"pass(?:word|wd|phrase)?|pwd|secret|token|authori[sz]ation|cookie|session|csrf|xsrf"
    r"|api[_-]?key|access[_-]?key|private[_-]?key|credential|signature|otp|jwt|dsn"
)
SENSITIVE_KEY = re.compile(_KEYWORDS, re.IGNORECASE)

_QUOTED = r"\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*'"
_TEXT_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host
    (
        re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/\s@]+:)[^@\s/]+(@)", re.IGNORECASE),
        rf"\1{REDACTED}\2",
    ),
    # Authorization / Cookie header lines and JSON/dict entries: the whole value.
    (
        re.compile(
            rf"((?:proxy-)?authori[sz]ation|(?:set-)?cookie)(\"|')?(\s*[:=]\s*+)(?!\[REDACTED\])(?:{_QUOTED}|[^\r\n]*)",
            re.IGNORECASE,
        ),
        rf"\1\2\3{REDACTED}",
    ),
    # Credentials after an auth scheme, wherever they appear.
    (re.compile(r"\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+", re.IGNORECASE), rf"\1 {REDACTED}"),
    # JWT-shaped strings (three base64url parts, the first a JSON object).
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    # key=value, key: value, "key": "value" with a sensitive key.
    (
        re.compile(
            rf"([\w.-]*(?:{_KEYWORDS})[\w.-]*(?:\"|')?\s*[:=]\s*+)(?!\[REDACTED\])(?:{_QUOTED}|[^\s,;&}})\]]+)",
            re.IGNORECASE,
        ),
        rf"\1{REDACTED}",
    ),
    # ('key', 'value') pairs, as in a repr of header tuples.
    (
        re.compile(
            rf"((?:\"|')[\w.-]*(?:{_KEYWORDS})[\w.-]*(?:\"|')\s*,\s*)(?:{_QUOTED})", re.IGNORECASE
        ),
        rf"\1{REDACTED}",
    ),
)

# Attributes every LogRecord has; anything else arrived through `extra=`.
STANDARD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "request_id",
    "user_id",
}


# Matches wherever any rule above could: each rule needs one of these (case aside). Most log text
# (an access line's method, path, status) has none, and one search is cheaper than six rules.
_ANY_RULE_COULD_MATCH = re.compile(rf"://|bearer|basic|eyJ|{_KEYWORDS}", re.IGNORECASE)
# The same search, case-sensitive, over lowercased ASCII text: a tenth of the time. (Only for
# ASCII: IGNORECASE also folds letters such as the long s (U+017F) or the Kelvin sign (U+212A)
# that `lower` keeps.)
_ANY_RULE_COULD_MATCH_LOWERCASE = re.compile(rf"://|bearer|basic|eyj|{_KEYWORDS}")


def could_hold_secrets(text: str) -> bool:
    """False when no rule can match `text`, nor any part of it (the test has no anchors)."""
    if text.isascii():
        return _ANY_RULE_COULD_MATCH_LOWERCASE.search(text.lower()) is not None
    return _ANY_RULE_COULD_MATCH.search(text) is not None


def scrub_text(text: str) -> str:
    """The text with every recognisable secret replaced by `[REDACTED]`."""
    if not could_hold_secrets(text):
        return text
    for pattern, replacement in _TEXT_RULES:
        text = pattern.sub(replacement, text)
    return text


def scrub_value(value: Any) -> Any:
    """A copy of a JSON-like value with sensitive keys blanked and strings scrubbed."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {
            key: REDACTED if SENSITIVE_KEY.search(str(key)) else scrub_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set):
        return [scrub_value(item) for item in value]
    return value


class RedactionFilter(logging.Filter):
    """A handler filter that scrubs each record in place before any formatter sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the message, its arguments and every `extra=` field; never drop a record."""
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the line
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = scrub_text(message), None
        for key in [k for k in vars(record) if k not in STANDARD_ATTRIBUTES]:
            value = getattr(record, key)
            setattr(record, key, REDACTED if SENSITIVE_KEY.search(key) else scrub_value(value))
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info)
        return True
