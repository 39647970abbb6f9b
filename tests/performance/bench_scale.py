"""`make bench-scale`: the administrator's reads at 1,000,000 users beside the same at 10,000.

Both tables are seeded by COPY (`seed.py`), each served at once by the app under the server the
container ships (the Dockerfile's CMD, or BENCH_SHIPPED_SERVER, as `make bench`); rounds
interleave the two sizes read by read (64 connections), so a change in
the machine's load lands on both, after one unmeasured warm-up run of each. Reported: medians
over the rounds, and the slowdown: the median over the rounds of each round's ratio of a read's
rate at 10,000 users to its rate at 1,000,000, the two measured back to back (the target is at
most 1.5). A ratio of medians would pair runs from different rounds, and a change in the shared
machine's load between rounds would land on one size only.

Environment: BENCH_QUICK=1 (one short round), BENCH_SCALE_USERS (default 1000000),
BENCH_SHIPPED_SERVER, BENCH_PG, BENCH_REDIS (as `make bench`).
"""

from __future__ import annotations

import os
import shlex
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import seed
import servers
from bench import PG, QUICK, app_env, localise, shipped_argv
from servers import Result

ROOT = Path(__file__).resolve().parents[2]
SMALL = 10_000
LARGE = int(os.environ.get("BENCH_SCALE_USERS", "1000000"))
ROUNDS = 1 if QUICK else 3
SECONDS = 3 if QUICK else 5
WARM_SECONDS = 1 if QUICK else 3
CONNECTIONS = 64
READS = {
    "get": "get-by-id",
    "first": "first list page",
    "middle": "middle list page",
    "search": "`q=` search",
    "role": "`role=admin`",
}
TARGET = 1.5


def prepare(users: int, work: Path) -> dict[str, str]:
    """A database of `users` users and the environment of the app and wrk that read it."""
    name = f"bench_scale_{users}"
    database_url = seed.create_database(PG, name)
    env = app_env(database_url)
    # Counts are cached per table: each size its own keys.
    env.update(CACHE_KEY_PREFIX=f"{name}:", RATELIMIT_KEY_PREFIX=f"{name}:rl")
    print(f"seeding {users} users into {name}", flush=True)
    started = time.monotonic()
    directory = work / name
    directory.mkdir(parents=True, exist_ok=True)
    seeded = seed.seed(database_url, env, sys.executable, users, directory)
    print(f"  seeded in {time.monotonic() - started:.0f} s", flush=True)
    env.update(
        BENCH_ADMIN_TOKEN=seeded.admin_token,
        BENCH_USERS=str(users),
        BENCH_PAGES=str(users // 20),
    )
    return env


def paired_slowdown(small: list[Result], large: list[Result]) -> float:
    """The median over rounds of small-rate / large-rate, each pair measured back to back."""
    return statistics.median(
        ten.rps / big.rps if big.rps else float("inf")
        for ten, big in zip(small, large, strict=True)
    )


def render(results: dict[tuple[str, int], list[Result]]) -> str:
    """The scale table: medians per read and size, and the slowdown from 10,000 users."""
    lines = [
        f"| read | {SMALL:,} users req/s | p99 ms | {LARGE:,} users req/s | p99 ms "
        "| slowdown | within 1.5× |",
        "|---|---:|---:|---:|---:|---:|:---:|",
    ]
    for read, label in READS.items():
        small, large = (results[(read, users)] for users in (SMALL, LARGE))
        small_rps, large_rps = (statistics.median(r.rps for r in runs) for runs in (small, large))
        small_p99, large_p99 = (statistics.median(r.p99 for r in runs) for runs in (small, large))
        errors = sum(r.errors for r in small + large)
        slowdown = paired_slowdown(small, large)
        verdict = "yes" if slowdown <= TARGET and not errors else "**no**"
        lines.append(
            f"| {label} | {small_rps:,.0f} | {small_p99:.0f} | {large_rps:,.0f} | {large_p99:.0f} "
            f"| {slowdown:.2f}× | {verdict}{f' ({errors} errors)' if errors else ''} |"
        )
    return "\n".join(lines)


def main() -> int:
    started = time.monotonic()
    work = ROOT / "test-artifacts" / "bench-scale"
    work.mkdir(parents=True, exist_ok=True)
    envs = {users: prepare(users, work) for users in (SMALL, LARGE)}
    bin_dir = Path(sys.executable).parent
    results: dict[tuple[str, int], list[Result]] = {}
    with ExitStack() as stack:
        urls = {}
        for port, (users, env) in enumerate(envs.items(), start=18100):
            url = f"http://127.0.0.1:{port}"
            cmd = localise(shipped_argv(), port, bin_dir)  # the server the container runs
            run_env = {**env, "PORT": str(port), "GRANIAN_PORT": str(port)}
            run_env["GRANIAN_HOST"] = "127.0.0.1"
            log = work / f"app-{users}.log"
            stack.enter_context(servers.running(cmd, run_env, url, ROOT, log))
            servers.wrk(url, "health.lua", 16, 1, env)  # warm-up: connections, pools, caches
            urls[users] = url
        # Once per read and size, unmeasured: what a running service has cached (counts, the
        # deep pages' anchors) it has, as after its first minutes.
        for read in READS:
            for users, env in envs.items():
                servers.wrk(
                    urls[users],
                    "scale.lua",
                    CONNECTIONS,
                    WARM_SECONDS,
                    {**env, "BENCH_SCALE_READ": read},
                )
        for round_number in range(1, ROUNDS + 1):
            print(f"round {round_number}/{ROUNDS}", flush=True)
            for read in READS:
                for users, env in envs.items():
                    result = servers.wrk(
                        urls[users],
                        "scale.lua",
                        CONNECTIONS,
                        SECONDS,
                        {**env, "BENCH_SCALE_READ": read},
                    )
                    results.setdefault((read, users), []).append(result)
                    print(
                        f"  {read:7} {users:>9,} users {result.rps:8.0f} req/s "
                        f"p99 {result.p99:7.1f} ms  errors {result.errors}",
                        flush=True,
                    )
    table = render(results)
    elapsed = time.monotonic() - started
    text = (
        f"`{shlex.join(shipped_argv())}`, {CONNECTIONS} connections, "
        f"{ROUNDS} interleaved round(s) of {SECONDS} s, "
        f"medians; {os.cpu_count()} CPU(s); {elapsed / 60:.0f} min in all.\n\n{table}\n"
    )
    print(text)
    (work / "scale.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
