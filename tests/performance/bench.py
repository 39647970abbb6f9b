"""`make bench`: the app, the raw WSGI limit and the Express baseline, side by side, one run.

Environment: BENCH_QUICK=1 (short runs, 64 connections only), BENCH_SERVER (the app's server,
default granian), BENCH_PG (PostgreSQL server URL), BENCH_REDIS (Redis URL for the app).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import secrets
import subprocess
import sys
import time
from pathlib import Path

from argon2 import PasswordHasher

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report
import seed
import servers
from servers import Result

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
QUICK = os.environ.get("BENCH_QUICK") == "1"
SECONDS = 3 if QUICK else 5
CONNECTIONS = [64] if QUICK else [16, 64, 256]
SERVER = os.environ.get("BENCH_SERVER", "granian")
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/7")
USERS = 10_000
PAGES = USERS // 20
READS = {"health": "health.lua", "get_user": "get_user.lua", "list_users": "list_users.lua"}
Results = dict[tuple[str, str, int], Result]


def app_env(database_url: str) -> dict[str, str]:
    """Production settings with generated secrets, as a deployment would set them."""
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
        "LOG_LEVEL": "WARNING",
        # One client address sends every refresh here: lift the per-address limit for the run.
        "RATELIMIT_REFRESH": "1000000/minute",
        "SQLALCHEMY_POOL_SIZE": str(servers.THREADS + 2),
        "SQLALCHEMY_MAX_OVERFLOW": "0",
        "SQLALCHEMY_POOL_PRE_PING": "false",
    }


def argon2_limit(seconds: float) -> float:
    """Password verifications per second the bare argon2id hash allows on every core."""
    workers = os.cpu_count() or 1
    with multiprocessing.Pool(workers) as pool:
        counts = pool.starmap(_verify_for, [(seconds,)] * workers)
    return sum(counts) / seconds


def _verify_for(seconds: float) -> int:
    hasher = PasswordHasher(time_cost=3, memory_cost=64 * 1024, parallelism=4)
    hashed, done = hasher.hash(seed.PASSWORD), 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        hasher.verify(hashed, seed.PASSWORD)
        done += 1
    return done


def drive(
    label: str,
    url: str,
    pid: int,
    scripts: dict[str, str],
    conns: list[int],
    env: dict[str, str],
    results: Results,
) -> None:
    """Every script at every connection count against one running server."""
    servers.wrk(url, "health.lua", 16, 1, env)  # warm-up: connections, pools, caches
    for endpoint, script in scripts.items():
        for connections in conns:
            seconds = max(SECONDS, 10) if script == "login.lua" else SECONDS
            result = servers.wrk(url, script, connections, seconds, env)
            result.rss_mib = servers.worker_rss_mib(pid)
            results[(label, endpoint, connections)] = result
            print(
                f"  {label:18} {endpoint:10} c={connections:<5} {result.rps:9.0f} req/s "
                f"p99 {result.p99:7.1f} ms  errors {result.errors}",
                flush=True,
            )


def serve_and_drive(
    label: str,
    cmd: list[str],
    env: dict[str, str],
    port: int,
    scripts: dict[str, str],
    conns: list[int],
    results: Results,
    work: Path,
    cwd: Path = ROOT,
) -> None:
    url = f"http://127.0.0.1:{port}"
    with servers.running(cmd, env, url, cwd, work / f"{label.replace('/', '-')}.log") as pid:
        drive(label, url, pid, scripts, conns, env, results)


def refresh_files(database_url: str, work: Path, conns: list[int]) -> dict[int, Path]:
    sessions = _sessions(database_url)
    return {
        c: seed.refresh_tokens(database_url, sessions, 6000 * SECONDS, work / f"rt{c}.txt")
        for c in conns
    }


def _sessions(database_url: str) -> dict[int, str]:
    import psycopg

    with psycopg.connect(database_url) as conn:
        return dict(conn.execute("SELECT user_id, id FROM auth_sessions LIMIT 1000").fetchall())


def main() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    started = time.monotonic()
    work = ROOT / "test-artifacts" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    bin_dir = Path(sys.executable).parent
    database_url = seed.create_database(PG, "bench")
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
    refresh = refresh_files(database_url, work, CONNECTIONS)
    results: Results = {}
    port = 18000

    print("servers compared with the real app (64 connections)", flush=True)
    compared = ["gunicorn-sync", "gunicorn-gthread", "gunicorn-gevent", "granian"]
    for server in compared:
        port += 1
        cmd = servers.command(server, "app:application", port, bin_dir)
        scripts = {k: READS[k] for k in ("get_user", "list_users")}
        serve_and_drive(f"app/{server}", cmd, env, port, scripts, [64], results, work)

    print(f"the app under {SERVER}", flush=True)
    port += 1
    url = f"http://127.0.0.1:{port}"
    cmd = servers.command(SERVER, "app:application", port, bin_dir)
    with servers.running(cmd, env, url, ROOT, work / "app.log") as pid:
        drive("app", url, pid, READS, CONNECTIONS, env, results)
        drive("app", url, pid, {"login": "login.lua"}, [16], env, results)
        for connections, path in refresh.items():
            drive(
                "app",
                url,
                pid,
                {"refresh": "refresh.lua"},
                [connections],
                {**env, "BENCH_REFRESH_TOKENS": str(path)},
                results,
            )
        for endpoint in ("health", "get_user"):
            result = servers.wrk(url, READS[endpoint], 1000, 3 if QUICK else 5, env)
            result.rss_mib = servers.worker_rss_mib(pid)
            results[("app", endpoint, 1000)] = result
            print(f"  app c=1000 {endpoint:10} {result.rps:9.0f} req/s errors {result.errors}")

    print(f"raw WSGI limit under {SERVER}", flush=True)
    port += 1
    cmd = servers.command(SERVER, "reference.raw_wsgi:application", port, bin_dir)
    serve_and_drive("raw", cmd, env, port, READS, CONNECTIONS, results, work, cwd=HERE)

    print("Express baseline", flush=True)
    port += 1
    express = HERE / "reference" / "express"
    if not (express / "node_modules").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=express, check=True)
    serve_and_drive(
        "express",
        ["node", "server.js"],
        {**env, "PORT": str(port)},
        port,
        READS,
        CONNECTIONS,
        results,
        work,
        cwd=express,
    )

    print("bare argon2id verification limit", flush=True)
    hash_rate = argon2_limit(SECONDS)
    elapsed = time.monotonic() - started
    text = report.render(results, hash_rate, SERVER, compared, CONNECTIONS, QUICK, elapsed)
    print(text)
    report.write(text, results, CONNECTIONS, ROOT / "docs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
