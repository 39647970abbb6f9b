"""serve.py, the image's command: granian's settings with the service's defaults."""

import tempfile

import pytest

from serve import defaults, prepare_metrics_dir, server_environment

pytestmark = pytest.mark.unit


def test_unset_and_empty_variables_get_the_defaults_and_set_ones_win():
    env = server_environment({"GRANIAN_WORKERS": "", "GRANIAN_BACKLOG": "4096", "PORT": "9000"})
    assert env["GRANIAN_WORKERS"] == defaults({})["GRANIAN_WORKERS"] != ""
    assert env["GRANIAN_BACKLOG"] == "4096"
    assert env["GRANIAN_PORT"] == "9000"
    assert env["GRANIAN_INTERFACE"] == "wsgi"
    assert server_environment({})["GRANIAN_PORT"] == "8000"


def test_no_healthy_worker_is_recycled_and_a_dead_one_is_replaced():
    env = server_environment({})
    assert "GRANIAN_WORKERS_LIFETIME" not in env
    assert "GRANIAN_WORKERS_MAX_RSS" not in env
    assert env["GRANIAN_RESPAWN_FAILED_WORKERS"] == "true"
    assert env["GRANIAN_BLOCKING_THREADS"] == "2"
    assert env["GRANIAN_BACKLOG"] == "2048"


def test_the_metrics_directory_loses_only_an_earlier_runs_metric_files(tmp_path, monkeypatch):
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_123.db").write_bytes(b"old")
    (directory / "notes.txt").write_text("kept")
    env = {"PROMETHEUS_MULTIPROC_DIR": str(directory)}
    assert prepare_metrics_dir(env) == directory
    assert sorted(path.name for path in directory.iterdir()) == ["notes.txt"]
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    named: dict[str, str] = {}
    assert prepare_metrics_dir(named).parent == tmp_path
    assert named["PROMETHEUS_MULTIPROC_DIR"].startswith(str(tmp_path / "prometheus-"))


def test_the_benchmarks_serve_the_references_with_the_shipped_thread_count():
    from tests.performance import servers

    assert str(servers.THREADS) == server_environment({})["GRANIAN_BLOCKING_THREADS"]
