"""The bench report: Markdown tables with ratios, target checks, and a latency plot."""

from __future__ import annotations

import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

from servers import Result

START, END = "<!-- bench:start -->", "<!-- bench:end -->"
Results = dict[tuple[str, str, int], Result]


def machine() -> str:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    memory = re.search(r"MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text())
    gib = int(memory.group(1)) / 1024 / 1024 if memory else 0
    return (
        f"{os.cpu_count()} CPUs ({model.group(1).strip() if model else 'unknown'}), "
        f"{gib:.0f} GiB RAM, Linux {platform.release()}, Python {platform.python_version()}; "
        "PostgreSQL, Redis, wrk and the servers share these cores"
    )


def _ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:.2f}×" if reference else "—"


def _row(endpoint: str, conns: int, app: Result, raw: float | None, node: float | None) -> str:
    return (
        f"| {endpoint} | {conns} | {app.rps:,.0f} | {app.p50:.1f} | {app.p90:.1f} | "
        f"{app.p99:.1f} | {app.errors} | {app.rss_mib:.0f} | "
        f"{f'{raw:,.0f}' if raw else '—'} | {f'{node:,.0f}' if node else '—'} | "
        f"{_ratio(app.rps, raw)} | {_ratio(app.rps, node)} |"
    )


def _rps(results: Results, label: str, endpoint: str, conns: int) -> float | None:
    result = results.get((label, endpoint, conns))
    return result.rps if result else None


def main_table(results: Results, hash_rate: float, connections: list[int]) -> list[str]:
    lines = [
        "| Endpoint | Conns | App req/s | p50 ms | p90 ms | p99 ms | Errors | Worker RSS MiB "
        "| Raw req/s | Express req/s | × raw | × Express |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for endpoint in ("health", "get_user", "list_users", "login", "refresh"):
        for conns in [*connections, 1000]:
            app = results.get(("app", endpoint, conns))
            if app is None:
                continue
            if endpoint == "login":
                raw, node = hash_rate, None
            else:
                raw = _rps(results, "raw", endpoint, conns)
                node = _rps(results, "express", endpoint, conns)
            lines.append(_row(endpoint, conns, app, raw, node))
    return lines


def server_table(results: Results, compared: list[str]) -> list[str]:
    lines = [
        "| Server (app, 64 conns) | get_user req/s | p99 ms | list_users req/s | p99 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for server in compared:
        user = results.get((f"app/{server}", "get_user", 64), Result())
        page = results.get((f"app/{server}", "list_users", 64), Result())
        lines.append(
            f"| {server} | {user.rps:,.0f} | {user.p99:.1f} | {page.rps:,.0f} | {page.p99:.1f} |"
        )
    return lines


def targets(results: Results, hash_rate: float) -> list[str]:
    checks = []
    for endpoint in ("get_user", "list_users"):
        app = results.get(("app", endpoint, 64), Result())
        raw = _rps(results, "raw", endpoint, 64) or 0
        node = _rps(results, "express", endpoint, 64) or 0
        checks.append((f"{endpoint} ≥ 1.0× Express at 64", node > 0 and app.rps >= node))
        checks.append((f"{endpoint} ≥ 0.6× raw at 64", raw > 0 and app.rps >= 0.6 * raw))
        checks.append((f"{endpoint} p99 ≤ 50 ms at 64", 0 < app.p99 <= 50))
    login = results.get(("app", "login", 64)) or results.get(("app", "login", 16)) or Result()
    checks.append(("login ≥ 0.9× bare argon2id", login.rps >= 0.9 * hash_rate))
    thousand = [r for (label, _, c), r in results.items() if label == "app" and c == 1000]
    checks.append(
        (
            "no errors at 1,000 connections",
            bool(thousand) and all(r.errors == 0 and r.requests > 0 for r in thousand),
        )
    )
    return [f"- {'met' if ok else '**missed**'}: {name}" for name, ok in checks]


def render(
    results: Results,
    hash_rate: float,
    server: str,
    compared: list[str],
    connections: list[int],
    quick: bool,
    elapsed: float,
) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    parts = [
        f"Recorded {when}{' (quick mode)' if quick else ''} in {elapsed:.0f} s on {machine()}. "
        f"App and raw WSGI under **{server}**; Express as a cluster of one worker per CPU. "
        f"Bare argon2id (t=3, m=64 MiB, p=4) verifications on every core: "
        f"**{hash_rate:.1f}/s** (the login row's raw column).",
        "",
        *main_table(results, hash_rate, connections),
        "",
        *server_table(results, compared),
        "",
        "Targets:",
        "",
        *targets(results, hash_rate),
    ]
    return "\n".join(parts)


def write(text: str, results: Results, connections: list[int], docs: Path) -> None:
    """Replace the recorded run in docs/performance.md and redraw the plot."""
    page = docs / "performance.md"
    current = page.read_text() if page.exists() else f"# Performance\n\n{START}\n{END}\n"
    if START not in current:
        current += f"\n{START}\n{END}\n"
    head, rest = current.split(START, 1)
    tail = rest.split(END, 1)[1]
    page.write_text(f"{head}{START}\n{text}\n\n![latency](performance-latency.png)\n{END}{tail}")
    plot(results, connections, docs / "performance-latency.png")


def plot(results: Results, connections: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    for axis, endpoint in zip(axes, ("get_user", "list_users"), strict=True):
        for label in ("app", "raw", "express"):
            points = [
                (c, results[(label, endpoint, c)].p99)
                for c in connections
                if (label, endpoint, c) in results
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                axis.plot(xs, ys, marker="o", label=label)
        axis.set(
            title=f"{endpoint}: p99 latency", xlabel="connections", ylabel="p99 ms", xscale="log"
        )
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
