"""Logging set up once per application: JSON or text lines to stdout, optional rotating files.

Every line carries the request id and the user id of the request it belongs to (`-` and null
outside one) and, while tracing is on and a span is active, its `trace_id` and `span_id`. Every
handler scrubs secrets first (`redaction.RedactionFilter`), and the formatters scrub exception and
stack texts, which the filter cannot reach.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Any

from flask import Flask, has_request_context, request
from pythonjsonlogger.json import JsonFormatter

from observability.redaction import RedactionFilter, scrub_text

TEXT_FORMAT = "%(asctime)s %(levelname)s [%(request_id)s] [user=%(user_id)s] %(name)s: %(message)s"
JSON_FIELDS = ("levelname", "name", "message", "request_id", "user_id", "process")
APP_LOG_FILE = "flask_app.log"
ERROR_LOG_FILE = "error.log"

_base_record_factory = logging.getLogRecordFactory()
# The active span's (trace id, span id), set by observability.tracing while tracing is on.
_span_ids: Callable[[], tuple[str, str] | None] | None = None


def use_span_ids(reader: Callable[[], tuple[str, str] | None] | None) -> None:
    """Stamp records with what `reader` answers (None: no trace fields, nothing called)."""
    global _span_ids
    _span_ids = reader


# Where the request middleware keeps the request's id, and the request's code its caller's id
# (observability/request_context.py): in the WSGI environ, which outlives the request context.
REQUEST_ID_KEY = "app.request_id"
USER_ID_KEY = "app.user_id"


def current_request_id() -> str | None:
    """The id of the request being handled (None outside one)."""
    return request.environ.get(REQUEST_ID_KEY) if has_request_context() else None


def identify(user_id: int) -> None:
    """Name the request's caller, for its log lines and its access line."""
    request.environ[USER_ID_KEY] = user_id


def tracing_ids_active() -> bool:
    """True while records are stamped with the active span's ids (tracing on)."""
    return _span_ids is not None


def _record_with_request_context(*args: Any, **kwargs: Any) -> logging.LogRecord:
    """Stamp every record with the current request's id and user (`-`/None outside one)."""
    record = _base_record_factory(*args, **kwargs)
    environ = request.environ if has_request_context() else {}
    record.request_id = environ.get(REQUEST_ID_KEY, "-")
    record.user_id = environ.get(USER_ID_KEY)
    if _span_ids is not None and (ids := _span_ids()) is not None:
        record.trace_id, record.span_id = ids
    return record


class RedactingTextFormatter(logging.Formatter):
    """The text format, with exception and stack texts scrubbed."""

    def formatException(self, ei: Any) -> str:  # noqa: N802 - logging's name
        """The traceback text, scrubbed."""
        return scrub_text(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str:  # noqa: N802 - logging's name
        """The stack text, scrubbed."""
        return scrub_text(super().formatStack(stack_info))


class RedactingJsonFormatter(JsonFormatter):
    """One JSON object per line, with exception and stack texts scrubbed."""

    def formatException(self, ei: Any) -> str | list[str]:  # type: ignore[override]  # noqa: N802
        """The traceback text, scrubbed."""
        return _scrub_lines(super().formatException(ei))

    def formatStack(self, stack_info: str) -> str | list[str]:  # type: ignore[override]  # noqa: N802
        """The stack text, scrubbed."""
        return _scrub_lines(super().formatStack(stack_info))


def _scrub_lines(text: str | list[str]) -> str | list[str]:
    return scrub_text(text) if isinstance(text, str) else [scrub_text(line) for line in text]


def build_formatter(log_format: str) -> logging.Formatter:
    """The JSON formatter (`timestamp`, `level`, `logger`, `message`, ids, extras) or text."""
    if log_format == "text":
        return RedactingTextFormatter(TEXT_FORMAT)
    return RedactingJsonFormatter(
        list(JSON_FIELDS),
        rename_fields={"levelname": "level", "name": "logger"},
        timestamp=True,
        json_ensure_ascii=False,
    )


def _app_handler(handler: logging.Handler, formatter: logging.Formatter) -> logging.Handler:
    handler._app_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(formatter)
    handler.addFilter(RedactionFilter())
    return handler


def file_handlers(app: Flask, formatter: logging.Formatter) -> list[logging.Handler]:
    """`LOG_DIR/flask_app.log` (everything) and `LOG_DIR/error.log` (ERROR and up), rotated."""
    log_dir = Path(app.config["LOG_DIR"])
    log_dir.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = []
    for name, level in ((APP_LOG_FILE, logging.NOTSET), (ERROR_LOG_FILE, logging.ERROR)):
        handler = RotatingFileHandler(
            log_dir / name,
            maxBytes=app.config["LOG_FILE_MAX_BYTES"],
            backupCount=app.config["LOG_FILE_BACKUP_COUNT"],
            encoding="utf-8",
        )
        handler.setLevel(level)
        handlers.append(handler)
    return handlers


def remove_app_handlers() -> None:
    """Detach (and close) every handler a previous `configure_logging` installed."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "_app_handler", False)]:
        root.removeHandler(handler)
        handler.close()


def install_handler(handler: logging.Handler, app: Flask) -> None:
    """Attach a handler to the root logger with the app's formatter and the redaction filter."""
    formatter = build_formatter(app.config["LOG_FORMAT"])
    logging.getLogger().addHandler(_app_handler(handler, formatter))


def configure_logging(app: Flask) -> None:
    """Log to stdout (and to rotating files when enabled) at `LOG_LEVEL`, secrets scrubbed."""
    logging.setLogRecordFactory(_record_with_request_context)
    remove_app_handlers()
    stdout = logging.StreamHandler(sys.stdout)
    # The access line may be written straight to it (access_log.direct_handler).
    stdout._direct_json = app.config["LOG_FORMAT"] != "text"  # type: ignore[attr-defined]
    handlers: list[logging.Handler] = [stdout]
    if app.config["LOG_FILE_ENABLED"]:
        handlers += file_handlers(app, build_formatter(app.config["LOG_FORMAT"]))
    for handler in handlers:
        install_handler(handler, app)
    logging.getLogger().setLevel(app.config["LOG_LEVEL"])
    # Werkzeug's own access log would duplicate ours; SQL text only when asked for.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if not app.config["SQLALCHEMY_ECHO"]:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
