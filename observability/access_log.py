"""The access-log line: one per request, logger `app.access` at INFO (the shipped `LOG_LEVEL`).

Through `logging`, the line cost about a tenth of a cached read (a record, the request-context
factory, the redaction filter over every field, python-json-logger's formatter, the handler's
lock): more than the rest of the after-request work together. In the shipped set-up (JSON lines
to stdout, nothing else listening) the line is written straight to that handler's stream instead,
as the JSON formatter would write it: the same fields in the same order, the same JSON text, the
method, path and message scrubbed by the same rules (`redaction.scrub_text`), under the handler's
lock. Anything else (text format, log files, another handler on the root logger such as a test's
capture, tracing's ids on every line) goes through `logging` as before. Decision 0137;
`tests/integration/test_access_log.py` holds the two paths to the same line.

Lines written straight during a request are buffered, as nginx's `access_log ... buffer= flush=`
does: `services.deferred` writes them out once a second (not when the worker falls idle: under
load a worker falls idle every few requests, and that write cost ~5 % of a get-by-id, decision
0143), a buffer past 64 KiB is written at once, and the rest at exit. A write (a system call that
lets the other threads take the GIL) cost about a tenth of a get-by-id under load when each line
had its own (decision 0141). So a line reaches stdout within about a second, and a worker killed
outright (SIGKILL, out of memory) loses at most that second of access lines; other log lines are
never held back.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import NamedTuple, TextIO

from observability import logs
from observability.redaction import could_hold_secrets, scrub_text
from services import deferred

access_logger = logging.getLogger("app.access")
# What a stream raises when it refuses a write (closed: ValueError; a broken pipe: OSError).
REFUSED = (OSError, ValueError)
# Set on the one stdout handler configure_logging installs with the JSON format.
DIRECT_JSON = "_direct_json"


class Access(NamedTuple):
    """What the access line says of one answered request."""

    method: str
    path: str
    status: int
    duration_ms: float
    request_id: str
    user_id: int | None


def log_access(access: Access) -> None:
    """The request's access-log line, when `app.access` logs at INFO."""
    if not access_logger.isEnabledFor(logging.INFO):
        return
    handler = direct_handler()
    if handler is not None:
        if deferred.PROCESS.in_flight:
            BUFFER.add(handler, json_line(access))
            return
        if written(handler, json_line(access) + handler.terminator):
            return
    method, path, status, duration_ms = access[:4]
    record = access_logger.makeRecord(
        access_logger.name,
        logging.INFO,
        __file__,
        0,
        "%s %s %s %.1fms",
        (method, path, status, duration_ms),
        None,
        extra={
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(duration_ms, 2),
        },
    )
    # The ids are the request's, whatever context the line is written in.
    record.request_id, record.user_id = access.request_id, access.user_id
    access_logger.handle(record)


def direct_handler() -> logging.StreamHandler[TextIO] | None:
    """The stdout JSON handler when it alone would see the line, else None."""
    handlers = logging.root.handlers
    if len(handlers) != 1 or access_logger.handlers or logs.tracing_ids_active():
        return None
    handler = handlers[0]
    if not getattr(handler, DIRECT_JSON, False) or handler.level > logging.INFO:
        return None
    return handler  # type: ignore[return-value]


def json_line(access: Access) -> str:
    """The line as the JSON formatter writes it: its fields (`logs.JSON_FIELDS`, renamed), the
    extras, then the time; text scrubbed as `RedactionFilter` scrubs it.

    Spelled out as `json.dumps` would write that dict (its separators, `ensure_ascii=False`
    string escaping, `repr` of numbers), not built as one: a third of the cost.
    """
    method, path, status, duration_ms, request_id, user_id = access
    message = f"{method} {path} {status} {duration_ms:.1f}ms"
    if could_hold_secrets(message):  # else neither can the method or the path, its parts
        message, method, path = scrub_text(message), scrub_text(method), scrub_text(path)
    timestamp = datetime.fromtimestamp(time.time(), tz=UTC).isoformat()
    return (
        f'{{"level": "INFO", "logger": {_LOGGER}, "message": {_string(message)}, '
        f'"request_id": {_string(request_id)}, '
        f'"user_id": {"null" if user_id is None else int(user_id)}, "process": {_process[0]}, '
        f'"method": {_string(method)}, "path": {_string(path)}, "status": {int(status)}, '
        f'"duration_ms": {float(round(duration_ms, 2))!r}, "timestamp": "{timestamp}"}}'
    )


# This process's id (`os.getpid()` is a system call; a forked child notes its own).
_process = [os.getpid()]
os.register_at_fork(after_in_child=lambda: _process.__setitem__(0, os.getpid()))
# json.dumps's own escaping of a string with ensure_ascii=False (quotes included).
_string: Callable[[str], str] = json.encoder.encode_basestring
_LOGGER = _string(access_logger.name)


def written(handler: logging.StreamHandler[TextIO], text: str) -> bool:
    """`write`, answering False when the stream refused it (closed, broken pipe)."""
    try:
        write(handler, text)
    except REFUSED:
        return False
    return True


def write(handler: logging.StreamHandler[TextIO], text: str) -> None:
    """Write `text` (whole lines) on `handler`'s stream, as `StreamHandler.emit` writes a record."""
    handler.acquire()
    try:
        handler.stream.write(text)
        handler.flush()
    finally:
        handler.release()


class LineBuffer:
    """Access lines waiting to be written to one handler's stream."""

    LIMIT = 64 * 1024  # characters

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[str] = []
        self._size = 0
        self._handler: logging.StreamHandler[TextIO] | None = None

    def add(self, handler: logging.StreamHandler[TextIO], line: str) -> None:
        """Keep `line` for `handler`; write everything kept once past `LIMIT` (or before a line
        for another handler, which a test may swap in)."""
        if handler is not self._handler:
            self.flush()
        with self._lock:
            self._handler = handler
            self._lines.append(line + handler.terminator)
            self._size += len(line)
            full = self._size >= self.LIMIT
        if full:
            self.flush()

    def flush(self) -> None:
        """Write every kept line; lines the stream refuses are reported as logging reports a
        failed write (`Handler.handleError`) and dropped."""
        with self._lock:
            if not self._lines or self._handler is None:
                return
            lines, handler = self._lines, self._handler
            self._lines, self._size = [], 0
        try:
            write(handler, "".join(lines))
        except REFUSED:
            record = access_logger.makeRecord(
                access_logger.name,
                logging.ERROR,
                __file__,
                0,
                "%d access lines not written",
                (len(lines),),
                None,
            )
            # Within the `except`: logging's report prints the exception being handled.
            handler.handleError(record)


BUFFER = LineBuffer()
deferred.PROCESS.every_second(BUFFER.flush, on_idle=False)
atexit.register(BUFFER.flush)
