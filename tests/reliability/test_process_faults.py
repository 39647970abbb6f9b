"""A gunicorn worker killed mid-load: the other worker keeps serving, the master replaces it."""

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.ops_support import gunicorn_servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def worker_pids(master_pid):
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def test_killed_worker_is_replaced_while_the_other_serves(tmp_path):
    with gunicorn_servers(tmp_path) as start:
        master, port = start(GUNICORN_WORKERS="2")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while len(worker_pids(master.pid)) < 2:
            assert time.monotonic() < deadline, "workers did not start"
            time.sleep(0.1)
        victim = worker_pids(master.pid)[0]

        statuses, stop = [], threading.Event()

        def load():
            with httpx.Client(timeout=10) as client:
                while not stop.is_set():
                    try:
                        statuses.append(client.get(f"{base}/api/v1/health").status_code)
                    except httpx.TransportError:
                        statuses.append("dropped")

        threads = [threading.Thread(target=load) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        os.kill(victim, signal.SIGKILL)
        time.sleep(2)
        stop.set()
        for thread in threads:
            thread.join(15)

        served = statuses.count(200)
        dropped = statuses.count("dropped")
        assert served > 50, "the surviving worker kept serving"
        assert dropped <= 4, "only requests in flight on the killed worker may be lost"
        assert set(statuses) <= {200, "dropped"}

        deadline = time.monotonic() + 15
        while True:
            pids = worker_pids(master.pid)
            if len(pids) == 2 and victim not in pids:
                break
            assert time.monotonic() < deadline, f"the master did not replace the worker: {pids}"
            time.sleep(0.2)
        assert master.poll() is None
        assert httpx.get(f"{base}/api/v1/health").status_code == 200
