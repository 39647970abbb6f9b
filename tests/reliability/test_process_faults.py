"""A worker killed mid-load, under granian (the image's server) and gunicorn: the other worker
keeps serving, the main process replaces it."""

import os
import signal
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.ops_support import granian_servers, gunicorn_servers

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def worker_pids(master_pid):
    children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text().split()
    return sorted(int(pid) for pid in children)


def wait_until_serving(base, count):
    """Until `count` different worker processes have answered (a started process may not listen
    yet: granian binds each worker's own socket)."""
    answered = set()
    deadline = time.monotonic() + 20
    with httpx.Client(timeout=5) as client:
        while len(answered) < count:
            assert time.monotonic() < deadline, f"only workers {answered} answered"
            # a fresh connection each time, so that any worker may take it
            response = client.get(f"{base}/_test/slow?seconds=0", headers={"Connection": "close"})
            answered.add(response.json()["pid"])
    return answered


SERVERS = {
    "granian": (granian_servers, "GRANIAN_WORKERS"),
    "gunicorn": (gunicorn_servers, "GUNICORN_WORKERS"),
}


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_killed_worker_is_replaced_while_the_other_serves(tmp_path, server):
    servers, workers = SERVERS[server]
    with servers(tmp_path) as start:
        master, port = start(**{workers: "2"})
        base = f"http://127.0.0.1:{port}"
        assert wait_until_serving(base, 2) == set(worker_pids(master.pid))
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
        stop.set()  # granian respawns after GRANIAN_RESPAWN_INTERVAL (3.5 s)
        for thread in threads:
            thread.join(15)

        served = statuses.count(200)
        dropped = statuses.count("dropped")
        assert served > 50, "the surviving worker kept serving"
        assert dropped <= 4, "only requests in flight on the killed worker may be lost"
        assert set(statuses) <= {200, "dropped"}

        deadline = time.monotonic() + 20
        while True:
            pids = worker_pids(master.pid)
            if len(pids) == 2 and victim not in pids:
                break
            assert time.monotonic() < deadline, f"the master did not replace the worker: {pids}"
            time.sleep(0.2)
        assert master.poll() is None
        assert httpx.get(f"{base}/api/v1/health").status_code == 200
