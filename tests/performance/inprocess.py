"""get-by-id in-process: the app's WSGI callable against the bare Flask reference, CPU a request.

No server, no wrk: each system's callable is called directly with a prebuilt environ (a random
signed-in user reading themself with their Bearer token), on a freshly seeded `bench` database
(10,000 users, 1,000 sessions), in interleaved rounds; the figure is the process's CPU time a
request, median over the rounds. It isolates what the app's own layers cost from the server and
the machine's load, so a change to the request path can be measured in a minute on a busy
machine (docs/performance.md, "Issue 18, continued"). `make bench` is what the targets are
judged by.

    python tests/performance/inprocess.py        # BENCH_ROUNDS (5), BENCH_CALLS (2000) a round
    BENCH_PROFILE=1 python tests/performance/inprocess.py   # cProfile of the app instead
    BENCH_PROFILE=1 BENCH_SORT=tottime BENCH_LINES=80 ...   # sorted by own time, 80 lines
"""

from __future__ import annotations

import cProfile
import io
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "performance")]

from tests.performance import bench, seed  # noqa: E402

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
CALLS = int(os.environ.get("BENCH_CALLS", "2000"))
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ(path: str, token: str) -> dict[str, Any]:
    """A loopback GET of `path` with `token`, as granian would hand it over."""
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_ACCEPT": "*/*",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def caller(application: WSGIApp, tokens: list[tuple[str, str]]) -> Callable[[int], str]:
    """Call `application` for the `i`-th signed-in user; answers the status line."""
    answered: list[str] = []

    def start_response(status: str, _headers: Any, _exc_info: Any = None) -> None:
        answered.append(status)

    def call(i: int) -> str:
        user_id, token = tokens[i % len(tokens)]
        body = application(environ(f"/api/v1/users/{user_id}", token), start_response)
        b"".join(body)
        return answered.pop()

    return call


def cpu_per_call(call: Callable[[int], str], calls: int) -> float:
    started = time.process_time()
    for i in range(calls):
        call(i)
    return (time.process_time() - started) / calls * 1e6


def main() -> int:
    database_url = f"{bench.PG}/{bench.DATABASE}"
    seed.create_database(bench.PG, bench.DATABASE)
    env = bench.app_env(database_url)
    work = Path(tempfile.mkdtemp(prefix="inprocess-"))
    seeded = seed.seed(database_url, env, sys.executable, 10_000, work)
    os.environ.update(env)
    lines = seeded.user_tokens_file.read_text().split("\n")
    tokens = [(user_id, token) for user_id, token in (line.split() for line in lines if line)]

    import app as app_module
    from tests.performance.reference.bare_flask import create_app

    # Open until the process exits: the access lines still buffered are written at exit.
    discarded = open(os.devnull, "w")  # noqa: SIM115
    for handler in logging.getLogger().handlers:  # the access lines, but not a terminal's cost
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(discarded)
    return measure(app_module.application, create_app(), tokens)


def measure(application: WSGIApp, floor: WSGIApp, tokens: list[tuple[str, str]]) -> int:
    """Print the two systems' CPU a get-by-id, interleaved rounds (or the app's profile)."""
    systems = {"app": caller(application, tokens), "bare Flask": caller(floor, tokens)}
    for name, call in systems.items():  # every session stamped, every token verified once
        statuses = {call(i) for i in range(len(tokens) + 100)}
        if statuses != {"200 OK"}:
            raise SystemExit(f"{name} answered {statuses}")
    if os.environ.get("BENCH_PROFILE"):
        profile = cProfile.Profile()
        profile.runcall(cpu_per_call, systems["app"], CALLS)
        order, lines = (
            os.environ.get("BENCH_SORT", "cumulative"),
            os.environ.get("BENCH_LINES", "60"),
        )
        pstats.Stats(profile).sort_stats(order).print_stats(int(lines))
        return 0
    figures: dict[str, list[float]] = {name: [] for name in systems}
    for round_number in range(ROUNDS):
        order = list(systems) if round_number % 2 == 0 else list(reversed(systems))
        for name in order:
            figures[name].append(cpu_per_call(systems[name], CALLS))
    app_cpu, floor_cpu = (statistics.median(figures[name]) for name in systems)
    for name, values in figures.items():
        median, best = statistics.median(values), min(values)
        print(f"{name:10} CPU µs a get-by-id: median {median:.0f}, best {best:.0f}")
    print(f"bare Flask ÷ app: {floor_cpu / app_cpu:.2f}× ({ROUNDS} rounds of {CALLS} calls)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
