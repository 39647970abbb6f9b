"""The access line written straight to the stdout JSON handler is the line `logging` writes
(decision 0137), and anything but that one handler still goes through `logging`."""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask

from observability import access_log
from observability.access_log import DIRECT_JSON, Access, log_access
from observability.logs import remove_app_handlers
from services import deferred
from tests.ops_support import throwaway_app

pytestmark = pytest.mark.integration

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl"
TIMESTAMP = re.compile(r'"timestamp": "[^"]+"')


@pytest.fixture
def json_app(database, monkeypatch) -> Iterator[Flask]:
    """An app logging JSON lines at INFO to stdout only: the shipped set-up."""
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    monkeypatch.setenv("LOG_FORMAT", "json")
    monkeypatch.setenv("LOG_FILE_ENABLED", "false")
    with throwaway_app(database.url) as application:
        yield application
    remove_app_handlers()


@contextmanager
def app_handlers_alone() -> Iterator[list[logging.Handler]]:
    """The app's handlers alone on the root logger, as deployed (pytest adds its capture
    handlers for every test phase); yields them."""
    root = logging.getLogger()
    saved = root.handlers[:]
    root.handlers[:] = [h for h in saved if getattr(h, "_app_handler", False)]
    try:
        yield root.handlers
    finally:
        root.handlers[:] = saved


def stdout_handler() -> logging.StreamHandler[io.StringIO]:
    (handler,) = logging.getLogger().handlers
    assert isinstance(handler, logging.StreamHandler)
    return handler


def line_written(*, direct: bool, path: str = "/api/v1/users/7", user_id: int | None = 7) -> str:
    """What one access line puts on stdout, straight (`direct`) or through `logging`."""
    handler = stdout_handler()
    buffer = io.StringIO()
    handler.setStream(buffer)
    setattr(handler, DIRECT_JSON, direct)
    try:
        log_access(Access("GET", path, 200, 12.3456, "req-1", user_id))
    finally:
        setattr(handler, DIRECT_JSON, True)
    return buffer.getvalue()


def test_the_shipped_set_up_writes_the_line_straight(json_app):
    with app_handlers_alone():
        assert access_log.direct_handler() is stdout_handler()


@pytest.mark.parametrize(
    ("path", "user_id"),
    [
        ("/api/v1/users/7", 7),
        ("/health", None),
        ("/auth/verify-email/" + JWT, None),  # a token in the path is scrubbed on both
        ("/über/ñ?token=abc", 3),  # non-ASCII kept as is, like the formatter's ensure_ascii=False
    ],
)
def test_the_straight_line_is_the_logging_line(json_app, path, user_id):
    with app_handlers_alone():
        straight = line_written(direct=True, path=path, user_id=user_id)
        through_logging = line_written(direct=False, path=path, user_id=user_id)
    assert straight.endswith("\n") and straight.count("\n") == 1
    assert TIMESTAMP.sub("", straight) == TIMESTAMP.sub("", through_logging)
    fields = json.loads(straight)
    assert fields["user_id"] == user_id and fields["request_id"] == "req-1"
    assert fields["logger"] == "app.access" and fields["duration_ms"] == 12.35
    assert JWT not in straight and "c2lnbmF0dXJl" not in straight


def test_another_handler_on_the_root_logger_gets_the_record(json_app):
    records: list[logging.LogRecord] = []
    listener = logging.Handler()
    listener.emit = records.append  # type: ignore[method-assign]
    with app_handlers_alone() as handlers:
        handlers.append(listener)
        assert access_log.direct_handler() is None
        log_access(Access("GET", "/health", 200, 1.0, "req-2", None))
    assert [r.getMessage() for r in records] == ["GET /health 200 1.0ms"]


def test_above_info_nothing_is_written(json_app):
    with app_handlers_alone():
        logging.getLogger().setLevel(logging.WARNING)
        assert line_written(direct=True) == ""


@pytest.mark.parametrize(
    ("busy", "reported_as"),
    [
        (False, "GET /health 200 1.0ms"),  # written at once: it falls back to `logging`
        (True, "1 access lines not written"),  # buffered, then refused as a batch
    ],
)
def test_lines_a_closed_stream_refuses_are_reported(json_app, monkeypatch, busy, reported_as):
    reported: list[logging.LogRecord] = []
    with app_handlers_alone():
        handler = stdout_handler()
        closed = io.StringIO()
        closed.close()
        handler.setStream(closed)
        monkeypatch.setattr(handler, "handleError", reported.append)
        if busy:
            deferred.PROCESS.started()
        log_access(Access("GET", "/health", 200, 1.0, "req-3", None))  # nothing reaches the request
        if busy:
            deferred.PROCESS.finished()
            deferred.PROCESS.run()  # the next second's run
    assert [r.getMessage() for r in reported] == [reported_as]


def test_a_batch_the_stream_refuses_is_reported_as_logging_reports_it(json_app, capsys):
    """Logging's own report of a failed write (to stderr, with the exception) is printed, and
    nothing is raised: the batch may be written by a request that fills the buffer."""
    with app_handlers_alone():
        handler = stdout_handler()
        closed = io.StringIO()
        closed.close()
        handler.setStream(closed)
        deferred.PROCESS.started()
        try:
            log_access(Access("GET", "/health", 200, 1.0, "req-9", None))
        finally:
            deferred.PROCESS.finished()
        access_log.BUFFER.flush()
    report = capsys.readouterr().err
    assert "--- Logging error ---" in report
    assert "ValueError: I/O operation on closed file" in report
    assert "Message: '%d access lines not written'\nArguments: (1,)" in report


def test_lines_wait_for_the_next_second(json_app):
    """Buffered, written by the run each second, not when the worker falls idle (decisions 0141,
    0143)."""
    with app_handlers_alone():
        handler = stdout_handler()
        stream = io.StringIO()
        handler.setStream(stream)
        deferred.PROCESS.started()  # a request in flight
        try:
            log_access(Access("GET", "/health", 200, 1.0, "req-4", None))
            log_access(Access("GET", "/health", 200, 1.0, "req-5", None))
            assert stream.getvalue() == ""
        finally:
            deferred.PROCESS.finished()
        assert stream.getvalue() == "", "falling idle writes nothing"
        deferred.PROCESS.run()
    assert [json.loads(line)["request_id"] for line in stream.getvalue().splitlines()] == [
        "req-4",
        "req-5",
    ]


def test_a_full_buffer_is_written_at_once(json_app, monkeypatch):
    monkeypatch.setattr(access_log.LineBuffer, "LIMIT", 10)
    with app_handlers_alone():
        handler = stdout_handler()
        stream = io.StringIO()
        handler.setStream(stream)
        deferred.PROCESS.started()
        try:
            log_access(Access("GET", "/health", 200, 1.0, "req-6", None))
            assert json.loads(stream.getvalue())["request_id"] == "req-6"
        finally:
            deferred.PROCESS.finished()


@pytest.mark.parametrize(
    ("log_format", "files", "handlers"), [("text", "false", 1), ("json", "true", 3)]
)
def test_text_format_and_log_files_go_through_logging(
    database, tmp_path, monkeypatch, log_format, files, handlers
):
    monkeypatch.setenv("LOG_LEVEL", "INFO")
    monkeypatch.setenv("LOG_FORMAT", log_format)
    monkeypatch.setenv("LOG_FILE_ENABLED", files)
    monkeypatch.setenv("LOG_DIR", str(tmp_path))
    with throwaway_app(database.url), app_handlers_alone() as installed:
        assert len(installed) == handlers
        assert access_log.direct_handler() is None
    remove_app_handlers()


def test_a_forked_worker_writes_its_own_process_id():
    """The line's `process` is kept per process (`os.getpid()` is a system call a line)."""
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        line = access_log.json_line(Access("GET", "/health", 200, 1.0, "req-8", None))
        os.write(write, json.dumps([os.getpid(), json.loads(line)["process"]]).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as answer:
        reported = json.loads(answer.read())
    os.waitpid(child, 0)
    assert reported == [child, child]
    assert (
        json.loads(access_log.json_line(Access("GET", "/", 200, 1.0, "r", None)))["process"]
        == os.getpid()
    )
