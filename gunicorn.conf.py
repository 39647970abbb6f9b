"""Gunicorn settings: the seed's values, each overridable from the environment.

    gunicorn --config gunicorn.conf.py app:application

The image runs granian (serve.py, docs/decisions/0040-server-granian.md); gunicorn is the
supported alternative, tested like it (tests/integration/test_servers.py).

Every setting reads `GUNICORN_<NAME>` (e.g. `GUNICORN_WORKERS=8`); `PORT` alone changes the port
of the default bind. `user`/`group` are applied only when set, so the file runs where no
`flaskuser` account exists (the container already runs as a non-root user). On SIGTERM the master
stops accepting connections and each worker finishes its in-flight requests within
`graceful_timeout` before it exits.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def _env(name: str, default: str) -> str:
    return os.environ.get(f"GUNICORN_{name}", "").strip() or default


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _bool(name: str, default: bool) -> bool:
    return _env(name, str(default)).lower() in {"1", "true", "yes", "on"}


def _optional(name: str) -> str | None:
    return os.environ.get(f"GUNICORN_{name}", "").strip() or None


# Server socket
bind = _env("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
backlog = _int("BACKLOG", 2048)

# Worker processes
workers = _int("WORKERS", 4)
# gthread with 4 threads, not the seed's sync: sync workers close every connection and serve one
# request each; in `make bench` they were the slowest (docs/performance.md, decision 0043).
worker_class = _env("WORKER_CLASS", "gthread")
threads = _int("THREADS", 4)
worker_connections = _int("WORKER_CONNECTIONS", 1000)
timeout = _int("TIMEOUT", 30)
graceful_timeout = _int("GRACEFUL_TIMEOUT", 30)
keepalive = _int("KEEPALIVE", 5)

# Request handling. No recycling of healthy workers by default (0): restarting one every 1,000
# requests cost about a restart a second under load (issue 18). Set GUNICORN_MAX_REQUESTS only
# against a memory leak.
max_requests = _int("MAX_REQUESTS", 0)
max_requests_jitter = _int("MAX_REQUESTS_JITTER", 0)
preload_app = _bool("PRELOAD_APP", True)

# Logging: the application writes one JSON access line per request itself, so gunicorn's own
# access log is off unless asked for (GUNICORN_ACCESSLOG=-).
loglevel = _env("LOGLEVEL", "info")
accesslog = _optional("ACCESSLOG")
errorlog = _env("ERRORLOG", "-")
access_log_format = _env(
    "ACCESS_LOG_FORMAT", '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(D)s'
)

# Process management: no user switch and no pid file unless configured.
user = _optional("USER")
group = _optional("GROUP")
pidfile = _optional("PIDFILE")
proc_name = _env("PROC_NAME", "flask-backend-app")
# Heartbeat files in memory, not on a possibly slow container disk.
SHARED_MEMORY = Path("/dev/shm")  # noqa: S108 - gunicorn's documented heartbeat location
worker_tmp_dir = _optional("WORKER_TMP_DIR") or (
    str(SHARED_MEMORY) if SHARED_MEMORY.is_dir() else None
)

# TLS, when terminated here rather than at the load balancer.
keyfile = _optional("KEYFILE")
certfile = _optional("CERTFILE")

# Prometheus multiprocess mode. This file runs before the (preloaded) application imports
# prometheus_client, so the directory is set and emptied of metric files here: once per master
# process (not again on a HUP reload), since stale files from an earlier run would be summed in.
# Only `*.db` files are removed, whatever directory the variable names.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR", "").strip():
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(
        Path(tempfile.gettempdir()) / f"prometheus-{os.getpid()}"
    )
metrics_dir = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
metrics_dir.mkdir(parents=True, exist_ok=True)
if os.environ.get("GUNICORN_METRICS_DIR_OWNER") != str(os.getpid()):
    os.environ["GUNICORN_METRICS_DIR_OWNER"] = str(os.getpid())
    for stale in metrics_dir.glob("*.db"):
        stale.unlink(missing_ok=True)


# gunicorn drains at most this much of a request body the application left unread (a 413 is
# answered without reading it) before it reuses the connection, and closes the connection beyond
# that although the response announced keep-alive: the client's next request on it then fails.
DRAINED_BODY_LIMIT = 64 * 1024


def pre_request(worker: Any, req: Any) -> None:
    """Announce `Connection: close` (and close) after a request whose body gunicorn might not
    drain: chunked, or longer than DRAINED_BODY_LIMIT. Smaller bodies keep the connection."""
    headers = dict(req.headers)  # upper-case names; gunicorn refuses duplicate framing headers
    if "TRANSFER-ENCODING" in headers or int(headers.get("CONTENT-LENGTH", 0)) > DRAINED_BODY_LIMIT:
        req.force_close()


def child_exit(server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges (in-flight requests, pool connections)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]


def on_exit(server: Any) -> None:
    """Leave no metric files behind (the directory itself stays)."""
    for leftover in metrics_dir.glob("*.db"):
        leftover.unlink(missing_ok=True)
