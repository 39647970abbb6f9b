"""serve.py, the image's command: granian's settings with the service's defaults."""

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import serve
from serve import defaults, prepare_metrics_dir, server_environment
from services.password_service import DEFAULT_MEMORY_COST

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


HASH_IN_A_THREAD = """
import resource, threading
from argon2 import PasswordHasher
from services.password_service import DEFAULT_MEMORY_COST, DEFAULT_PARALLELISM, DEFAULT_TIME_COST
hasher = PasswordHasher(DEFAULT_TIME_COST, DEFAULT_MEMORY_COST, DEFAULT_PARALLELISM)
hashed = hasher.hash("a password")
faults = []
def verify():  # on a thread, as granian's blocking threads run the app
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    hasher.verify(hashed, "a password")
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
thread = threading.Thread(target=verify)
thread.start()
thread.join()
print(faults[0])
"""


def _page_faults_of_a_hash(tunables: str | None) -> int:
    env = {key: value for key, value in os.environ.items() if key != "GLIBC_TUNABLES"}
    if tunables is not None:
        env["GLIBC_TUNABLES"] = tunables
    done = subprocess.run(
        [sys.executable, "-c", HASH_IN_A_THREAD],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


def test_a_password_hash_in_the_server_takes_its_memory_in_huge_pages():
    """Decision 0147: glibc reads the tunable (a misspelt one is ignored without a word) and
    the 64 MiB of a hash arrive in a few dozen faults, not one per 4 KiB page."""
    thp = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not thp.exists() or "[never]" in thp.read_text():
        pytest.skip("this kernel gives no transparent huge pages")
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    tunables = server_environment({})["GLIBC_TUNABLES"]
    assert tunables == serve.MALLOC_TUNABLES
    stock, served = _page_faults_of_a_hash(None), _page_faults_of_a_hash(tunables)
    assert stock >= DEFAULT_MEMORY_COST // 4  # one a 4 KiB page, at least
    assert served < stock // 4
