"""`make bench`: the app as shipped, the app under granian and three references, interleaved.

Every system serves the same seeded database in turn, once per round, and the report takes each
figure's median over the rounds: a change in the machine's load lands on every system alike.

Environment: BENCH_QUICK=1 (one 3-second round), BENCH_SHIPPED_SERVER (the command line the
container runs; default: the Dockerfile's CMD), BENCH_PG (PostgreSQL server URL), BENCH_DATABASE
(the throwaway database's name, default `bench`), BENCH_REDIS (Redis URL for the app).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import resource
import secrets
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from argon2 import PasswordHasher

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parents[2]))  # serve.py

import report
import seed
import servers
from servers import Result

import serve  # the shipped server's defaults

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
ROUNDS = 1 if QUICK else 3
SECONDS = 3 if QUICK else 8
CONNECTIONS = 64
MANY = 1000
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
DATABASE = os.environ.get("BENCH_DATABASE", "bench")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/7")
USERS = 10_000
PAGES = USERS // 20
READS = {"get_user": "get_user.lua", "list_users": "list_users.lua"}
Samples = dict[tuple[str, str, int], list[Result]]


@dataclass
class System:
    """One server under test: how to start it, and what else to measure while it runs."""

    label: str
    title: str
    command: Callable[[int], list[str]]
    cwd: Path = ROOT
    env: dict[str, str] = field(default_factory=dict)
    also: Callable[[str, int, Samples], None] | None = None


def app_env(database_url: str) -> dict[str, str]:
    """Production settings with generated secrets, as a deployment would set them. Everything
    else keeps the defaults the container image ships."""
    return {
        **os.environ,
        "FLASK_CONFIG": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "JWT_SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": database_url,
        "REDIS_URL": REDIS,
        "CACHE_KEY_PREFIX": "bench:",
        "RATELIMIT_KEY_PREFIX": "bench:rl",
        "MAIL_BACKEND": "none",
        "PUBLIC_BASE_URL": "http://127.0.0.1",
        # One client address sends every refresh here: lift the per-address limit for the run.
        "RATELIMIT_REFRESH": "1000000/minute",
        # One worker per core, whichever server reads which variable.
        "GUNICORN_WORKERS": str(servers.WORKERS),
        "GRANIAN_WORKERS": str(servers.WORKERS),
        "WEB_CONCURRENCY": str(servers.WORKERS),
        # A launcher script finds this virtualenv's servers.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def dockerfile_command(dockerfile: Path) -> list[str]:
    """The Dockerfile's last CMD, exec (JSON) or shell form."""
    text = dockerfile.read_text().replace("\\\n", " ")
    commands = re.findall(r"^CMD\s+(.+?)\s*$", text, re.MULTILINE)
    if not commands:
        raise RuntimeError(f"no CMD in {dockerfile}")
    line = commands[-1]
    if line.startswith("["):
        argv: list[str] = json.loads(line)
        return argv
    return ["/bin/sh", "-c", line]


def shipped_argv() -> list[str]:
    """What the container runs: BENCH_SHIPPED_SERVER if set, else the Dockerfile's CMD."""
    configured = os.environ.get("BENCH_SHIPPED_SERVER", "").strip()
    return shlex.split(configured) if configured else dockerfile_command(ROOT / "Dockerfile")


def localise(argv: list[str], port: int, bin_dir: Path) -> list[str]:
    """The container's command line run from this checkout on 127.0.0.1:`port`: /app/ paths
    point here, programs come from this virtualenv, and an explicit port or bind is replaced
    (the environment carries PORT and GRANIAN_PORT for commands that read those)."""
    local = [str(ROOT / a.removeprefix("/app/")) if a.startswith("/app/") else a for a in argv]
    if "/" not in local[0] and (bin_dir / local[0]).exists():
        local[0] = str(bin_dir / local[0])
    for i, arg in enumerate(local[:-1]):
        if arg in ("--port", "-p"):
            local[i + 1] = str(port)
        elif arg in ("--host",):
            local[i + 1] = "127.0.0.1"
        elif arg in ("-b", "--bind"):
            local[i + 1] = f"127.0.0.1:{port}"
    return [
        f"--port={port}"
        if a.startswith("--port=")
        else f"--bind=127.0.0.1:{port}"
        if a.startswith("--bind=")
        else a
        for a in local
    ]


def argon2_limit(seconds: float, malloc_tunables: str = "") -> float:
    """Password verifications per second the bare argon2id hash allows on every core, in
    processes started with glibc's `malloc_tunables` (the shipped server's, or none)."""
    workers = os.cpu_count() or 1
    saved = os.environ.get("GLIBC_TUNABLES")
    os.environ["GLIBC_TUNABLES"] = malloc_tunables  # read by each new interpreter as it starts
    try:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            counts = pool.starmap(_verify_for, [(seconds,)] * workers)
    finally:
        if saved is None:
            del os.environ["GLIBC_TUNABLES"]
        else:
            os.environ["GLIBC_TUNABLES"] = saved
    return sum(counts) / seconds


def _verify_for(seconds: float) -> int:
    hasher = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
    hashed, done = hasher.hash(seed.PASSWORD), 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        hasher.verify(hashed, seed.PASSWORD)
        done += 1
    return done


def measure(
    label: str,
    endpoint: str,
    script: str,
    url: str,
    pid: int,
    connections: int,
    seconds: float,
    env: dict[str, str],
    samples: Samples,
) -> None:
    servers.settle(url)  # every run starts on an idle server, whatever the last one left queued
    result = servers.wrk(url, script, connections, seconds, env)
    result.rss_mib = servers.rss_mib(pid)
    samples.setdefault((label, endpoint, connections), []).append(result)
    print(
        f"  {label:8} {endpoint:10} c={connections:<5} {result.rps:9.0f} req/s "
        f"p50 {result.p50:6.1f} p99 {result.p99:7.1f} ms  errors {result.errors}  "
        f"RSS {result.rss_mib:5.0f} MiB",
        flush=True,
    )
    if result.requests == 0:
        print(f"  no request completed; wrk said:\n{result.output}", flush=True)


def turn(system: System, port: int, env: dict[str, str], samples: Samples, work: Path) -> None:
    """Start one system, warm it up, measure the reads (and what else it is asked), stop it."""
    url = f"http://127.0.0.1:{port}"
    run_env = {**env, **system.env, "PORT": str(port), "GRANIAN_PORT": str(port)}
    run_env["GRANIAN_HOST"] = "127.0.0.1"
    log = work / f"{system.label}.log"
    with servers.running(system.command(port), run_env, url, system.cwd, log) as pid:
        servers.wrk(url, "health.lua", 16, 1, env)  # connections, pools, caches
        servers.wrk(url, "get_user.lua", CONNECTIONS, 1, env)
        for endpoint, script in READS.items():
            measure(system.label, endpoint, script, url, pid, CONNECTIONS, SECONDS, env, samples)
        if system.also:
            system.also(url, pid, samples)


def median(results: list[Result]) -> Result:
    """The median of every figure over the rounds; errors add up, memory is the largest."""
    return Result(
        requests=sum(r.requests for r in results),
        rps=statistics.median(r.rps for r in results),
        p50=statistics.median(r.p50 for r in results),
        p90=statistics.median(r.p90 for r in results),
        p99=statistics.median(r.p99 for r in results),
        errors=sum(r.errors for r in results),
        rss_mib=max(r.rss_mib for r in results),
    )


def main() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    started = time.monotonic()
    work = ROOT / "test-artifacts" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    database_url = seed.create_database(PG, DATABASE)
    env = app_env(database_url)
    print(f"seeding {USERS} users into {database_url.rsplit('@', 1)[-1]}", flush=True)
    seeded = seed.seed(database_url, env, sys.executable, USERS, work)
    env.update(
        BENCH_USER_TOKENS=str(seeded.user_tokens_file),
        BENCH_ADMIN_TOKEN=seeded.admin_token,
        BENCH_PAGES=str(PAGES),
        BENCH_USERS=str(USERS),
        BENCH_PASSWORD=seed.PASSWORD,
    )
    sessions = _sessions(database_url)
    express = HERE / "reference" / "express"
    if not (express / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=express, check=True)

    def shipped_also(url: str, pid: int, samples: Samples) -> None:
        """A thousand connections, refreshes and sign-ins, on the server users run (sign-ins
        last: the hashes they leave queued would slow whatever came next)."""
        for endpoint in ("health", "get_user"):
            measure("shipped", endpoint, f"{endpoint}.lua", url, pid, MANY, SECONDS, env, samples)
        tokens = seed.refresh_tokens(database_url, sessions, 6000 * SECONDS, work / "rt.txt")
        refresh_env = {**env, "BENCH_REFRESH_TOKENS": str(tokens)}
        measure("shipped", "refresh", "refresh.lua", url, pid, 64, SECONDS, refresh_env, samples)
        measure("shipped", "login", "login.lua", url, pid, 16, max(SECONDS, 10), env, samples)

    argv = shipped_argv()
    systems = [
        System(
            "shipped",
            f"the app as the container ships it (`{shlex.join(argv)}`)",
            lambda port: localise(argv, port, bin_dir),
            also=shipped_also,
        ),
        System(
            "granian",
            f"the app under granian ({servers.WORKERS} workers, "
            f"{servers.THREADS} blocking threads)",
            lambda port: servers.command("granian", "app:application", port, bin_dir),
        ),
        System(
            "express",
            f"Express + pg, cluster of {servers.WORKERS} (no token check)",
            lambda port: ["node", "server.js"],
            cwd=express,
            env={"WORKERS": str(servers.WORKERS)},
        ),
        System(
            "raw",
            "bare WSGI callable + psycopg pool, granian",
            lambda port: servers.command(
                "granian", "reference.raw_wsgi:create_app", port, bin_dir, factory=True
            ),
            cwd=HERE,
        ),
        System(
            "flask",
            "bare Flask app + psycopg pool, no extensions, granian (token not checked)",
            lambda port: servers.command(
                "granian", "reference.bare_flask:create_app", port, bin_dir, factory=True
            ),
            cwd=HERE,
        ),
    ]
    samples: Samples = {}
    hash_rates: list[float] = []
    stock_hash_rates: list[float] = []
    served_tunables = serve.server_environment(os.environ)["GLIBC_TUNABLES"]  # as serve.py would
    port = 18100
    for round_no in range(ROUNDS):
        # Each round starts one system later, so no system always follows the same one.
        order = systems[round_no % len(systems) :] + systems[: round_no % len(systems)]
        print(f"round {round_no + 1} of {ROUNDS}: {', '.join(s.label for s in order)}", flush=True)
        for system in order:
            port += 1
            turn(system, port, env, samples, work)
        hash_rates.append(argon2_limit(SECONDS, served_tunables))
        stock_hash_rates.append(argon2_limit(SECONDS))
        print(
            f"  bare argon2id {hash_rates[-1]:.1f} verifications/s with the server's malloc "
            f"settings, {stock_hash_rates[-1]:.1f}/s without",
            flush=True,
        )
    results = {key: median(runs) for key, runs in samples.items()}
    run = report.Run(
        results=results,
        hash_rate=statistics.median(hash_rates),
        stock_hash_rate=statistics.median(stock_hash_rates),
        titles={s.label: s.title for s in systems},
        rounds=ROUNDS,
        seconds=SECONDS,
        connections=CONNECTIONS,
        users=USERS,
        quick=QUICK,
        elapsed=time.monotonic() - started,
    )
    text = report.render(run)
    print(text)
    report.write(text, run, ROOT / "docs")
    return 0


def _sessions(database_url: str) -> dict[int, str]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return dict(conn.execute("SELECT user_id, id FROM auth_sessions LIMIT 1000").fetchall())


if __name__ == "__main__":
    sys.exit(main())
