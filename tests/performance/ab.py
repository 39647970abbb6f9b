"""Interleaved A/B of the shipped server under wrk, with each server's and PostgreSQL's CPU time
per request: what the in-process harness (`inprocess.py`) cannot see (threads queueing for the
GIL, writes to stdout, garbage collections, work done per process such as session stamps).

Every system is started with `python serve.py` from its own checkout (or from this one with extra
environment variables), warmed up, and driven by wrk for `AB_SECONDS`, once per round, in
alternating order; the bare Flask reference runs beside them with the same thread count. The
figure per system is the median over `AB_ROUNDS` of req/s, p99, and the CPU seconds the server's
process tree and all PostgreSQL processes used during the run, divided by the requests answered.
Decisions 0140-0142 were measured with it.

    python tests/performance/ab.py                                  # this checkout vs bare Flask
    AB_CHECKOUTS=/tmp/before,. python tests/performance/ab.py       # two checkouts (git worktree)
    AB_VARIANTS="t4:GRANIAN_BLOCKING_THREADS=4;quiet:LOG_LEVEL=WARNING" python ...   # env variants
    AB_SCRIPT=list_users.lua AB_CONNECTIONS=64 AB_ROUNDS=4 AB_SECONDS=6 ...

It reseeds the `bench` database (10,000 users, as `make bench`), and sends loopback traffic only.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "performance")]

from tests.performance import bench, seed, servers  # noqa: E402

ROUNDS = int(os.environ.get("AB_ROUNDS", "3"))
SECONDS = int(os.environ.get("AB_SECONDS", "6"))
SCRIPT = os.environ.get("AB_SCRIPT", "get_user.lua")
CONNECTIONS = int(os.environ.get("AB_CONNECTIONS", "64"))


@dataclass
class System:
    name: str
    command: Callable[[int], list[str]]
    cwd: Path
    env: dict[str, str] = field(default_factory=dict)
    runs: list[tuple[float, float, float, float]] = field(default_factory=list)


def cpu_seconds(pids: list[int]) -> float:
    """User and system CPU time the processes have used so far."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def rate(rps: float) -> str:
    """Requests a second, with a decimal below 100 (sign-ins: ~12 a second)."""
    return f"{rps:7.0f}" if rps >= 100 else f"{rps:7.1f}"


def postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().startswith("postgres"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def serve_py(python: Path, checkout: Path) -> Callable[[int], list[str]]:
    """The container's command run from `checkout` (the port comes from the environment)."""
    return lambda _port: [str(python), str(checkout / "serve.py")]


def bare_flask(bin_dir: Path) -> Callable[[int], list[str]]:
    return lambda port: servers.command(
        "granian", "reference.bare_flask:create_app", port, bin_dir, factory=True
    )


def systems(bin_dir: Path) -> list[System]:
    """The checkouts and variants asked for, then the bare Flask reference."""
    python = bin_dir / "python"
    chosen = []
    for checkout in filter(None, os.environ.get("AB_CHECKOUTS", ".").split(",")):
        path = (ROOT / checkout).resolve()
        chosen.append(System(path.name, serve_py(python, path), path))
    for spec in filter(None, os.environ.get("AB_VARIANTS", "").split(";")):
        name, _, assignments = spec.partition(":")
        env = dict(item.split("=", 1) for item in assignments.split(",") if item)
        chosen.append(System(name, serve_py(python, ROOT), ROOT, env))
    chosen.append(System("bare", bare_flask(bin_dir), ROOT / "tests" / "performance"))
    return chosen


def main() -> int:
    database_url = f"{bench.PG}/{bench.DATABASE}"
    seed.create_database(bench.PG, bench.DATABASE)
    env = bench.app_env(database_url)
    work = Path(tempfile.mkdtemp(prefix="ab-"))
    seeded = seed.seed(database_url, env, sys.executable, bench.USERS, work)
    env.update(
        BENCH_USER_TOKENS=str(seeded.user_tokens_file),
        BENCH_ADMIN_TOKEN=seeded.admin_token,
        BENCH_PAGES=str(bench.PAGES),
        BENCH_USERS=str(bench.USERS),
        BENCH_PASSWORD=seed.PASSWORD,
    )
    chosen = systems(Path(sys.executable).parent)
    port = 8700
    for round_number in range(ROUNDS):
        order = chosen if round_number % 2 == 0 else chosen[::-1]
        for system in order:
            port += 1
            url = f"http://127.0.0.1:{port}"
            run_env = {**env, "PORT": str(port), "GRANIAN_PORT": str(port), **system.env}
            run_env["GRANIAN_HOST"] = "127.0.0.1"
            log = work / f"{system.name}.log"
            with servers.running(system.command(port), run_env, url, system.cwd, log) as pid:
                servers.wrk(url, "health.lua", 16, 1, env)
                servers.wrk(url, SCRIPT, CONNECTIONS, 2, env)  # pools, caches, stamps
                servers.settle(url)
                tree, database = [pid, *servers.descendants(pid)], postgres_pids()
                server_before, database_before = cpu_seconds(tree), cpu_seconds(database)
                result = servers.wrk(url, SCRIPT, CONNECTIONS, SECONDS, env)
                answered = max(result.requests, 1)
                server = (cpu_seconds(tree) - server_before) / answered * 1e6
                postgres = (cpu_seconds(database) - database_before) / answered * 1e6
            system.runs.append((result.rps, result.p99, server, postgres))
            print(
                f"round {round_number + 1} {system.name:10} {rate(result.rps)} req/s "
                f"p99 {result.p99:6.1f} ms  server {server:5.0f} µs  PostgreSQL {postgres:4.0f} µs"
                f"  errors {result.errors}",
                flush=True,
            )
    floor = statistics.median(run[0] for run in chosen[-1].runs)
    for system in chosen:
        rps, p99, server, postgres = (
            statistics.median(column) for column in zip(*system.runs, strict=True)
        )
        print(
            f"{system.name:10} {rate(rps)} req/s ({rps / floor:.2f}× bare Flask)  p99 {p99:6.1f} ms"
            f"  server {server:5.0f} µs  PostgreSQL {postgres:4.0f} µs a request"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
