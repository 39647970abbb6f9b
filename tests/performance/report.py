"""The bench report: Markdown tables with ratios, target checks, and a latency plot."""

from __future__ import annotations

import os
import platform
import re
from dataclasses import dataclass
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


SYSTEMS = ("shipped", "granian", "flask", "express", "raw")
ENDPOINTS = {"get_user": "get-by-id", "list_users": "list page"}


@dataclass
class Run:
    results: Results
    hash_rate: float
    stock_hash_rate: float
    titles: dict[str, str]
    rounds: int
    seconds: float
    connections: int
    users: int
    quick: bool
    elapsed: float

    def get(self, label: str, endpoint: str, connections: int | None = None) -> Result | None:
        return self.results.get((label, endpoint, connections or self.connections))


def _ratio(value: float, reference: float | None) -> str:
    return f"{value / reference:.2f}×" if reference else "—"


def systems_table(run: Run) -> list[str]:
    """Every system on both reads: the figures behind the ratios."""
    lines = [
        "| System | get-by-id req/s | p50 ms | p99 ms | RSS MiB | list page req/s | p50 ms "
        "| p99 ms | RSS MiB | errors |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label in SYSTEMS:
        cells, errors = [], 0
        for endpoint in ENDPOINTS:
            r = run.get(label, endpoint) or Result()
            cells.append(f"{r.rps:,.0f} | {r.p50:.1f} | {r.p99:.1f} | {r.rss_mib:.0f}")
            errors += r.errors
        lines.append(f"| {run.titles.get(label, label)} | {' | '.join(cells)} | {errors} |")
    return lines


def ratios_table(run: Run) -> list[str]:
    """The app (as shipped, and under granian) divided by each reference, per endpoint."""
    lines = [
        "| Endpoint | App | req/s | p50 ms | p99 ms | RSS MiB | errors | ÷ bare Flask | ÷ Express "
        "| ÷ raw WSGI |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for endpoint, name in ENDPOINTS.items():
        references = [run.get(label, endpoint) for label in ("flask", "express", "raw")]
        for label in ("shipped", "granian"):
            app = run.get(label, endpoint)
            if app is None:
                continue
            ratios = " | ".join(_ratio(app.rps, r.rps if r else None) for r in references)
            lines.append(
                f"| {name} | {label} | {app.rps:,.0f} | {app.p50:.1f} | {app.p99:.1f} "
                f"| {app.rss_mib:.0f} | {app.errors} | {ratios} |"
            )
    return lines


def shipped_table(run: Run) -> list[str]:
    """What only the shipped server is asked: sign-in, refresh, a thousand connections."""
    lines = [
        "| Shipped app | Conns | req/s | p50 ms | p99 ms | errors | compared with |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    rows = [
        ("login", 16, f"{_ratio_of(run, 'login', 16, run.hash_rate)} bare argon2id"),
        ("refresh", run.connections, ""),
        ("health", 1000, ""),
        ("get_user", 1000, ""),
    ]
    for endpoint, conns, compared in rows:
        r = run.get("shipped", endpoint, conns)
        if r is not None:
            lines.append(
                f"| {endpoint} | {conns} | {r.rps:,.1f} | {r.p50:.1f} | {r.p99:.1f} "
                f"| {r.errors} | {compared} |"
            )
    return lines


def _ratio_of(run: Run, endpoint: str, conns: int, reference: float) -> str:
    r = run.get("shipped", endpoint, conns)
    return _ratio(r.rps, reference) if r else "—"


def targets(run: Run) -> list[str]:
    """The issue's targets, on the shipped server at 64 connections."""
    checks = []

    def rps(label: str, endpoint: str) -> float:
        r = run.get(label, endpoint)
        return r.rps if r else 0.0

    user, page = run.get("shipped", "get_user") or Result(), run.get("shipped", "list_users")
    page = page or Result()
    flask, node = rps("flask", "get_user"), rps("express", "get_user")
    checks.append(("get-by-id ≥ 0.8× bare Flask", flask > 0 and user.rps >= 0.8 * flask))
    checks.append(("get-by-id ≥ 0.75× Express", node > 0 and user.rps >= 0.75 * node))
    checks.append(("get-by-id p99 ≤ 50 ms", 0 < user.p99 <= 50))
    node = rps("express", "list_users")
    checks.append(("list page ≥ 1.0× Express", node > 0 and page.rps >= node))
    checks.append(("list page p99 ≤ 50 ms", 0 < page.p99 <= 50))
    login = run.get("shipped", "login", 16) or Result()
    checks.append(("login ≥ 0.9× bare argon2id", login.rps >= 0.9 * run.hash_rate))
    thousand = [run.get("shipped", e, 1000) for e in ("health", "get_user")]
    checks.append(
        (
            "no errors at 1,000 connections",
            all(r is not None and r.errors == 0 and r.requests > 0 for r in thousand),
        )
    )
    return [f"- {'met' if ok else '**missed**'}: {name}" for name, ok in checks]


def render(run: Run) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rounds = "round" if run.rounds == 1 else "rounds"
    parts = [
        f"Recorded {when}{' (quick mode)' if run.quick else ''} in {run.elapsed:.0f} s on "
        f"{machine()}. {run.rounds} interleaved {rounds} (every system once per round, "
        f"{run.seconds:g}-second runs, medians), {run.connections} connections, "
        f"{run.users:,} users, one database. Bare argon2id (t=3, m=64 MiB, p=4) verifications "
        f"on every core, with the shipped server's malloc settings: **{run.hash_rate:.1f}/s** "
        f"(without them: {run.stock_hash_rate:.1f}/s). RSS is all of a server's processes added "
        "up, the largest over the rounds; errors add up over the rounds. The references run "
        "`count(*)` on every list request; the app answers the count its own way "
        "(docs/performance.md).",
        "",
        *systems_table(run),
        "",
        *ratios_table(run),
        "",
        *shipped_table(run),
        "",
        "Targets (the shipped app, 64 connections):",
        "",
        *targets(run),
    ]
    return "\n".join(parts)


def write(text: str, run: Run, docs: Path) -> None:
    """Replace the recorded run in docs/performance.md and redraw the plot."""
    page = docs / "performance.md"
    current = page.read_text() if page.exists() else f"# Performance\n\n{START}\n{END}\n"
    if START not in current:
        current += f"\n{START}\n{END}\n"
    head, rest = current.split(START, 1)
    tail = rest.split(END, 1)[1]
    page.write_text(f"{head}{START}\n{text}\n\n![latency](performance-latency.png)\n{END}{tail}")
    plot(run, docs / "performance-latency.png")


def plot(run: Run, path: Path) -> None:
    """p50 and p99 latency of every system on both reads, its rate in the label."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for axis, (endpoint, name) in zip(axes, ENDPOINTS.items(), strict=True):
        labels, p50s, p99s = [], [], []
        for label in SYSTEMS:
            r = run.get(label, endpoint)
            if r is not None:
                labels.append(f"{label}\n{r.rps:,.0f}/s")
                p50s.append(r.p50)
                p99s.append(r.p99)
        xs = range(len(labels))
        axis.bar([x - 0.2 for x in xs], p50s, width=0.4, label="p50")
        axis.bar([x + 0.2 for x in xs], p99s, width=0.4, label="p99")
        axis.set_xticks(list(xs), labels)
        axis.set(title=f"{name}, {run.connections} connections: latency", ylabel="ms")
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
