"""The production server: granian (WSGI), with this service's defaults, in one place.

    python serve.py                     # serves app:application
    python serve.py tests.wsgi_slow:application

granian reads every option from a `GRANIAN_<OPTION>` variable itself (`granian --help` lists
them); this launcher only fills in the defaults below for the variables left unset or empty, then
replaces itself with granian (`exec`, so granian runs as PID 1 and receives SIGTERM directly).

- GRANIAN_HOST=0.0.0.0, GRANIAN_PORT=$PORT (8000).
- GRANIAN_WORKERS: one worker process per CPU this process may run on; GRANIAN_BLOCKING_THREADS=2
  threads each run the application (decision 0140: 4 gave no more throughput and twice the p99,
  the threads queueing for the GIL).
- GRANIAN_BACKLOG=2048 connections waiting to be accepted.
- GRANIAN_RESPAWN_FAILED_WORKERS=true: a worker that dies (killed, out of memory) is replaced.
- No recycling of healthy workers: GRANIAN_WORKERS_LIFETIME and GRANIAN_WORKERS_MAX_RSS stay
  unset unless you set them.
- GLIBC_TUNABLES=glibc.malloc.hugetlb=1: glibc's malloc backs its large blocks with transparent
  huge pages. Each password hash takes 64 MiB; in 4 KiB pages that is 16,384 page faults, whose
  zeroing and unmapping cost about a fifth of the hash's CPU time (decision 0147).
- On SIGTERM granian stops accepting and lets each worker finish its in-flight requests;
  GRANIAN_WORKERS_KILL_TIMEOUT=30 seconds later a worker still busy is killed. Orchestrators must
  wait longer than that before their own SIGKILL (k8s terminationGracePeriodSeconds: 45).

Prometheus multiprocess mode: every worker writes its metric values to files in
PROMETHEUS_MULTIPROC_DIR (default: a fresh directory under the temporary directory). The files of
an earlier run are deleted here, once, before any worker starts; the live gauges of a worker that
died are dropped at the next scrape (observability/metrics.py).
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

DEFAULT_TARGET = "app:application"


def cpus_available() -> int:
    """The CPUs this process may run on (the container's cpuset, not the host's count)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


MALLOC_TUNABLES = "glibc.malloc.hugetlb=1"


def defaults(env: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """The GRANIAN_* (and glibc) values used where the environment sets none."""
    return {
        "GRANIAN_INTERFACE": "wsgi",
        "GRANIAN_HOST": "0.0.0.0",  # noqa: S104 - the container's port is the service
        "GRANIAN_PORT": env.get("PORT", "").strip() or "8000",
        "GRANIAN_WORKERS": str(cpus_available()),
        "GRANIAN_BLOCKING_THREADS": "2",
        "GRANIAN_BACKLOG": "2048",
        "GRANIAN_RESPAWN_FAILED_WORKERS": "true",
        "GRANIAN_WORKERS_KILL_TIMEOUT": "30",
        "GLIBC_TUNABLES": MALLOC_TUNABLES,  # read when granian starts: it is exec'd below
    }


def server_environment(env: dict[str, str] | os._Environ[str]) -> dict[str, str]:
    """`env` with the defaults filled in (a variable set to an empty string counts as unset)."""
    result = dict(env)
    for name, value in defaults(env).items():
        if not result.get(name, "").strip():
            result[name] = value
    return result


def prepare_metrics_dir(env: dict[str, str]) -> Path:
    """Name (when unset) and create PROMETHEUS_MULTIPROC_DIR, and delete the metric files an
    earlier run left in it: they would be summed in. Only `*.db` files, whatever the directory."""
    if not env.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
        env["PROMETHEUS_MULTIPROC_DIR"] = str(
            Path(tempfile.gettempdir()) / f"prometheus-{os.getpid()}"
        )
    directory = Path(env["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    return directory


def main(argv: list[str]) -> None:
    target = argv[0] if argv else DEFAULT_TARGET
    env = server_environment(os.environ)
    prepare_metrics_dir(env)
    os.execve(sys.executable, [sys.executable, "-m", "granian", target], env)  # noqa: S606


if __name__ == "__main__":
    main(sys.argv[1:])
