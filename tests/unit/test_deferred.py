"""services.deferred: the tasks run when the process falls idle, a failing one is logged and the
others still run, and each task runs once however often it was added."""

from __future__ import annotations

import logging
import os

import pytest

from services.deferred import Deferred

pytestmark = pytest.mark.unit


def test_the_last_request_out_runs_the_tasks():
    process, runs = Deferred(), []
    process.every_second(lambda: runs.append("ran"))
    process.started()
    process.started()
    process.finished()
    assert runs == [], "a request is still in flight"
    process.finished()
    assert runs == ["ran"]


def test_a_task_added_twice_runs_once():
    process, runs = Deferred(), []

    def task() -> None:
        runs.append(1)

    process.every_second(task)
    process.every_second(task)
    process.run()
    assert runs == [1]


def test_a_failing_task_is_logged_and_the_others_still_run(caplog):
    process, runs = Deferred(), []

    def broken() -> None:
        raise RuntimeError("boom")

    process.every_second(broken)
    process.every_second(lambda: runs.append("after"))
    caplog.set_level(logging.ERROR)
    process.run()
    assert runs == ["after"]
    assert "deferred task" in caplog.text and "broken" in caplog.text


def test_a_task_for_each_second_only_is_left_out_when_the_process_falls_idle():
    process, runs = Deferred(), []
    process.every_second(lambda: runs.append("idle too"))
    process.every_second(lambda: runs.append("each second"), on_idle=False)
    process.started()
    process.finished()
    assert runs == ["idle too"]
    process.run()  # what the ticker runs each second
    assert runs == ["idle too", "idle too", "each second"]


def test_a_forked_child_starts_its_own_ticker():
    process = Deferred()
    process.started()  # this process's ticker
    try:
        child = os.fork()
        if child == 0:  # pragma: no cover - the child's verdict is its exit status
            inherited = process._ticking
            process.started()
            os._exit(0 if not inherited and process._ticking else 1)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
    finally:
        process.finished()
